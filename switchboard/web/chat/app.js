// The demo customer chat: a plain client of the Mobile/Web Messaging API v2.
// It is identified by a cookie (clientId "WebChat") and resumes its active chat after a
// reload. It polls with `cursor` (the X-Switchboard-Cursor of the previous answer), so no
// event is shown twice or missed, even when an answer is lost on the way.
"use strict";

const query = new URLSearchParams(location.search);
const TENANT = query.get("tenantUrl") || document.body.dataset.demoTenant;
const APP_ID = query.get("appId") || "test";
const API = "/clientweb/api/v2";
const AUTH = `MOBILE-API-140-327-PLAIN appId="${APP_ID}", clientId="WebChat"`;

const $ = (id) => document.getElementById(id);
const state = { chatId: null, cursor: 0, polling: false, parties: {}, typingAt: 0,
  typingTimer: null, theirTypingTimer: null, ended: false };

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function url(path) {
  const sep = path.includes("?") ? "&" : "?";
  return `${API}${path}${sep}tenantUrl=${encodeURIComponent(TENANT)}`;
}

async function call(method, path, body) {
  const headers = { Authorization: AUTH };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url(path), { method, headers, body: payload,
    credentials: "include", cache: "no-store" });
  const isJson = (response.headers.get("content-type") || "").includes("json");
  const data = isJson ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(response.status, data && data.error_code,
      (data && data.error_message) || response.statusText);
  }
  const cursor = response.headers.get("X-Switchboard-Cursor");
  return { data, cursor: cursor === null ? null : Number(cursor) };
}

function show(id) {
  for (const panel of ["closed", "prechat", "chat", "ended"]) $(panel).hidden = panel !== id;
  $("end").hidden = id !== "chat";
}

function setStatus(text) { $("status").textContent = text; }

function line(kind, text, who) {
  const li = document.createElement("li");
  li.className = kind;
  if (who) {
    const span = document.createElement("span");
    span.className = "who";
    span.textContent = who;
    li.append(span);
  }
  if (text instanceof Node) li.append(text); else li.append(document.createTextNode(text));
  $("log").append(li);
  $("log").scrollTop = $("log").scrollHeight;
  return li;
}

async function fileNode(fileId, name, type) {
  // downloads need the Authorization header: fetch, then show a blob URL
  const response = await fetch(url(`/chats/${state.chatId}/files/${fileId}`),
    { headers: { Authorization: AUTH }, credentials: "include" });
  if (!response.ok) return document.createTextNode(`📎 ${name} (unavailable)`);
  const href = URL.createObjectURL(await response.blob());
  if (type === "image") {
    const img = document.createElement("img");
    img.src = href;
    img.alt = name;
    return img;
  }
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.textContent = `📎 ${name}`;
  return a;
}

function partyName(id) { return state.parties[id] || "Agent"; }

function showForm(event) {
  const form = document.createElement("form");
  const label = document.createElement("label");
  label.textContent = `${event.form_name}`;
  const input = document.createElement("input");
  input.name = "value";
  label.append(input);
  const button = document.createElement("button");
  button.textContent = "Send";
  form.append(label, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await send([{ event: "chat_session_form_data", form_request_id: String(event.form_request_id),
      form_name: event.form_name, data: { value: input.value } }]);
    form.replaceWith(document.createTextNode("Form sent."));
  });
  line("info", form);
}

const read = [];
let readTimer = null;
function markRead(msgId) {
  if (!msgId || document.hidden) return;
  read.push(msgId);
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    const events = read.splice(0).map((id) => ({ event: "chat_session_message_read", ref_msg_id: id }));
    if (events.length) send(events).catch(() => {});
  }, 300);
}

function render(event, live) {
  const mine = event.party_id === state.chatId;
  switch (event.event) {
    case "chat_session_status":
      if (event.state === "queued") {
        const ewt = Number(event.ewt || 0);
        setStatus("waiting for an agent");
        line("info", ewt > 0 ? `Waiting for an agent (about ${Math.ceil(ewt / 60)} min)` : "Waiting for an agent…");
      } else if (event.state === "connecting") {
        setStatus("connecting to an agent");
      } else if (event.state === "connected") {
        setStatus("connected");
      } else if (event.state === "failed") {
        finish("The chat could not be served.");
      }
      break;
    case "chat_session_party_joined":
      state.parties[event.party_id] = event.display_name || event.first_name || "Agent";
      line("info", `${state.parties[event.party_id]} joined the chat`);
      break;
    case "chat_session_party_left":
      line("info", `${partyName(event.party_id)} left the chat`);
      break;
    case "chat_session_message":
      if (mine) line("me", event.msg);
      else {
        $("typing").hidden = true;
        line("them", event.msg, partyName(event.party_id));
        if (live) markRead(event.msg_id);
      }
      break;
    case "chat_session_file": {
      const li = line(mine ? "me" : "them", "…", mine ? null : partyName(event.party_id));
      fileNode(event.file_id, event.file_name || "file", event.file_type).then((node) => {
        li.lastChild.replaceWith(node);
      });
      break;
    }
    case "chat_session_typing":
      if (!mine && live) {
        $("typing").textContent = `${partyName(event.party_id)} is typing…`;
        $("typing").hidden = false;
        // typing is repeated while it goes on: a stale one (the sender left, or a
        // not-typing was lost) goes away on its own
        clearTimeout(state.theirTypingTimer);
        state.theirTypingTimer = setTimeout(() => { $("typing").hidden = true; }, 8000);
      }
      break;
    case "chat_session_not_typing":
      if (!mine) $("typing").hidden = true;
      break;
    case "chat_session_form_show":
      if (live) showForm(event); else line("info", `Form requested: ${event.form_name}`);
      break;
    case "chat_session_timeout_warning":
      line("info", event.msg);
      break;
    case "chat_session_inactivity_timeout":
      line("info", event.msg);
      break;
    case "chat_session_case_set":
      line("info", `Case ${event.case_id}`);
      break;
    case "chat_session_location":
      line(mine ? "me" : "them", `📍 ${event.latitude}, ${event.longitude}`);
      break;
    case "chat_session_ended":
      finish("The chat has ended.");
      break;
    case "chat_session_signaling":
      if (window.sbCall) window.sbCall.signal(event, live);
      break;
    default:
      break;
  }
}

function finish(text) {
  if (state.ended) return;
  state.ended = true;
  state.polling = false;
  $("ended-text").textContent = text;
  $("ended").hidden = false;
  $("compose").hidden = true;
  $("end").hidden = true;
  setStatus("ended");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollLoop() {
  if (state.polling) return;
  state.polling = true;
  while (state.polling && state.chatId) {
    try {
      const { data, cursor } = await call("GET", `/chats/${state.chatId}/events?cursor=${state.cursor}`);
      if (cursor !== null) state.cursor = cursor;
      for (const event of data.events) render(event, true);
    } catch (error) {
      if (error.code === "5005") { finish("The chat has ended."); break; }
      await sleep(error.code === "5509" ? 500 : 2000);
    }
  }
}

async function send(events) {
  return call("POST", `/chats/${state.chatId}/events?cursor=${state.cursor}`, { events });
}

async function resume(chat) {
  state.chatId = chat.chat_id;
  state.ended = false;
  show("chat");
  $("compose").hidden = false;
  const { data, cursor } = await call("GET", `/chats/${state.chatId}/history`);
  for (const event of data.events) render(event, false);
  state.cursor = cursor || 0;
  pollLoop();
}

async function begin() {
  try {
    const config = (await call("GET", "/configuration")).data.definition;
    const styling = config.chatWidgetStyling || {};
    if (styling.title) { $("title").textContent = styling.title; document.title = styling.title; }
    if (styling.color) document.body.style.setProperty("--accent", `#${String(styling.color).replace("#", "")}`);
  } catch (error) {
    setStatus(error.message);
    return;
  }
  try {
    const active = (await call("GET", "/chats/active")).data;
    await resume(active);
    return;
  } catch (error) {
    if (error.code !== "5005") { setStatus(error.message); return; }
  }
  await prechat();
}

async function prechat() {
  state.chatId = null;
  state.cursor = 0;
  state.parties = {};
  $("log").replaceChildren();
  const availability = (await call("GET", "/availability")).data;
  if (availability.chat !== "available") { show("closed"); setStatus("closed"); return; }
  setStatus("available");
  const { parameters } = (await call("GET", "/parameters")).data;
  const fields = $("fields");
  fields.replaceChildren();
  for (const item of parameters) {
    const [name, type] = Object.entries(item)[0];
    const label = document.createElement("label");
    label.textContent = name.replace(/_/g, " ").toLowerCase();
    const input = document.createElement("input");
    input.name = name;
    input.type = type === "EMAIL" ? "email" : type === "PHONE" ? "tel" : "text";
    label.append(input);
    fields.append(label);
  }
  show("prechat");
}

$("prechat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const parameters = {};
  let message = "";
  for (const [key, value] of form.entries()) {
    if (key === "message") message = String(value).trim();
    else if (value) parameters[key] = String(value);
  }
  const body = { parameters };
  if (message) body.initial_message = { event: "chat_session_message", msg: message };
  try {
    const chat = (await call("POST", "/chats", body)).data;
    await resume(chat);
  } catch (error) {
    setStatus(error.message);
  }
});

$("compose").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.chatId) return;
  $("text").value = "";
  line("me", text);
  state.typingAt = 0;
  try {
    await send([{ event: "chat_session_message", msg: text }, { event: "chat_session_not_typing" }]);
  } catch (error) {
    line("info", `Not sent: ${error.message}`);
  }
});

$("text").addEventListener("input", () => {
  const now = Date.now();
  if (now - state.typingAt > 3000) {
    state.typingAt = now;
    send([{ event: "chat_session_typing" }]).catch(() => {});
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => {
    state.typingAt = 0;
    send([{ event: "chat_session_not_typing" }]).catch(() => {});
  }, 4000);
});

$("file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file || !state.chatId) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const uploaded = (await call("POST", "/files", form)).data;
    const fileType = file.type.startsWith("image/") ? "image" : "attachment";
    await send([{ event: "chat_session_file", file_id: uploaded.file_id, file_type: fileType }]);
    const li = line("me", "…");
    fileNode(uploaded.file_id, uploaded.file_name, fileType).then((node) => li.lastChild.replaceWith(node));
  } catch (error) {
    line("info", `File not sent: ${error.message}`);
  }
});

$("end").addEventListener("click", async () => {
  if (!state.chatId || !confirm("Do you want to end the chat session?")) return;
  try { await send([{ event: "chat_session_end" }]); } catch (error) { /* ended anyway */ }
  finish("You ended the chat.");
});

$("again").addEventListener("click", () => { state.ended = false; prechat(); });
$("retry").addEventListener("click", () => prechat());

begin();
