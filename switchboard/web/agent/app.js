// Switchboard agent desktop: plain JavaScript, no build step.
// REST: /agentapi/v1/...   Realtime: WebSocket /agentapi/v1/ws?access_token=..&cursor=..
// The cursor of the last frame handled is kept in sessionStorage, so a reload or a
// reconnect resumes exactly where the desktop left off.
"use strict";

const API = "/agentapi/v1";
const $ = (id) => document.getElementById(id);
const S = {
  token: sessionStorage.getItem("sb.token") || "",
  cursor: sessionStorage.getItem("sb.cursor") || "",
  me: null,
  chats: new Map(), // interaction_id -> chat view
  active: null,
  ws: null,
  retry: 0,
};

// ---- helpers -------------------------------------------------------------------------
async function call(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + S.token } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : {};
  if (r.status === 401) { logoutLocal(); throw new Error(data.message || "session expired"); }
  if (!r.ok) throw new Error(data.message || r.statusText);
  return data;
}
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3000);
}
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}
function saveCursor(c) {
  if (c) { S.cursor = c; sessionStorage.setItem("sb.cursor", c); }
}
function beep() {
  try {
    const ctx = beep.ctx || (beep.ctx = new (window.AudioContext || window.webkitAudioContext)());
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.frequency.value = 880; g.gain.value = 0.1;
    o.connect(g); g.connect(ctx.destination);
    o.start(); o.stop(ctx.currentTime + 0.25);
  } catch (_) { /* no audio: the visual cue remains */ }
}

// ---- login and state -----------------------------------------------------------------
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const r = await fetch(API + "/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant: $("tenant").value.trim(), loginId: $("login").value.trim(), password: $("password").value }),
    });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || "login failed");
    S.token = data.access_token;
    sessionStorage.setItem("sb.token", S.token);
    sessionStorage.setItem("sb.tenant", $("tenant").value.trim());
    saveCursor(data.cursor);
    await start();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

function showState(a) {
  const pill = $("state");
  pill.className = "pill " + a.state;
  let text = a.state.replace(/_/g, " ");
  if (a.reason) text += " · " + a.reason;
  if (a.next_state && a.next_state !== "ready") text += " → not ready";
  pill.textContent = text;
  pill.dataset.state = a.state;
  const sel = $("state-select");
  const want = a.state === "ready" || a.next_state === "ready" ? "ready" : "not_ready:" + (a.reason || a.next_reason || "");
  if ([...sel.options].some((o) => o.value === want)) sel.value = want;
}

$("state-select").addEventListener("change", async () => {
  const [state, reason] = $("state-select").value.split(":");
  try {
    showState(await call("PUT", "/state", reason ? { state, reason } : { state }));
  } catch (e) { toast(e.message); }
});

$("logout-btn").addEventListener("click", async () => {
  try { await call("POST", "/logout"); logoutLocal(); } catch (e) { toast(e.message); }
});

function logoutLocal() {
  sessionStorage.removeItem("sb.token");
  sessionStorage.removeItem("sb.cursor");
  S.token = ""; S.cursor = "";
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  S.chats.clear(); S.active = null;
  $("offers").replaceChildren(); $("tabs").replaceChildren();
  $("desk").hidden = true; $("login-view").hidden = false;
  $("state-select").hidden = true; $("logout-btn").hidden = true;
  $("state").textContent = "logged out"; $("state").className = "pill";
  $("conn").className = "pill off"; $("conn").textContent = "offline";
}

async function start() {
  const me = await call("GET", "/me");
  S.me = me;
  if (!S.cursor) saveCursor(me.cursor);
  $("who").textContent = me.user.display_name + " (" + me.user.login_id + ")";
  const reasons = await call("GET", "/reasons");
  const sel = $("state-select");
  sel.replaceChildren(el("option", { value: "ready", textContent: "Ready" }), el("option", { value: "not_ready:", textContent: "Not ready" }));
  for (const r of reasons.items) sel.append(el("option", { value: "not_ready:" + r.name, textContent: "Not ready · " + r.name }));
  showState(me.agent);
  const services = await call("GET", "/services");
  $("transfer-service").replaceChildren(...services.items.map((s) => el("option", { value: s.name, textContent: s.name })));
  $("login-view").hidden = true; $("desk").hidden = false;
  sel.hidden = false; $("logout-btn").hidden = false;
  const list = await call("GET", "/interactions");
  for (const it of list.interactions) {
    if (it.mine.phase === "offered") addOffer({ interaction_id: it.id, chat_id: it.chat_id, service: it.service, customer: it.customer, expires_at: it.mine.deadline });
    else openChat(it.id, it);
  }
  connect();
}

// ---- realtime channel ----------------------------------------------------------------
function connect() {
  if (!S.token) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({ access_token: S.token });
  if (S.cursor) q.set("cursor", S.cursor);
  const ws = new WebSocket(`${proto}//${location.host}${API}/ws?${q}`);
  S.ws = ws;
  ws.onopen = () => { S.retry = 0; $("conn").className = "pill on"; $("conn").textContent = "online"; };
  ws.onmessage = (m) => {
    const f = JSON.parse(m.data);
    try { handle(f); } finally { saveCursor(f.cursor); }
  };
  ws.onclose = (ev) => {
    $("conn").className = "pill off"; $("conn").textContent = "offline";
    if (ev.code === 4401) { logoutLocal(); return; }
    if (ev.code === 4400) { sessionStorage.removeItem("sb.cursor"); S.cursor = ""; }
    S.retry = Math.min(S.retry + 1, 6);
    setTimeout(connect, 250 * 2 ** S.retry);
  };
  // keep NATs and proxies open
  clearInterval(connect.ping);
  connect.ping = setInterval(() => { if (ws.readyState === 1) ws.send(JSON.stringify({ type: "ping" })); }, 20000);
}

function handle(f) {
  switch (f.type) {
    case "hello": showState(f.agent); break;
    case "state": showState(f); break;
    case "offer": addOffer(f); break;
    case "offer_revoked": removeOffer(f.interaction_id); if (f.reason === "timeout") toast("Offer missed"); break;
    case "offer_accepted": removeOffer(f.interaction_id); break;
    case "interaction_connected": openChat(f.interaction_id, null, f.party_id); break;
    case "interaction_ended": chatEnded(f); break;
    case "wrap_up_completed": closeChat(f.interaction_id); break;
    case "chat_event": chatEvent(f); break;
    default: break;
  }
}

// ---- offers --------------------------------------------------------------------------
function addOffer(o) {
  if (document.querySelector(`#offers li[data-id="${o.interaction_id}"]`)) return;
  const p = (o.customer && o.customer.parameters) || {};
  const name = [p.FIRST_NAME, p.LAST_NAME].filter(Boolean).join(" ") || "Customer";
  const accept = el("button", { className: "accept primary", textContent: "Accept" });
  const reject = el("button", { className: "reject", textContent: "Reject" });
  const li = el("li", {}, el("div", {}, el("strong", { textContent: name }), " · " + (o.service || "chat") + (o.kind && o.kind !== "route" ? " (" + o.kind + ")" : "")), el("div", { className: "actions" }, accept, reject));
  li.dataset.id = o.interaction_id;
  accept.onclick = async () => {
    accept.disabled = true;
    try {
      const r = await call("POST", `/interactions/${o.interaction_id}/accept`);
      removeOffer(o.interaction_id);
      openChat(o.interaction_id, null, r.party_id);
    } catch (e) { toast(e.message); removeOffer(o.interaction_id); }
  };
  reject.onclick = async () => {
    try { await call("POST", `/interactions/${o.interaction_id}/reject`); } catch (e) { toast(e.message); }
    removeOffer(o.interaction_id);
  };
  $("offers").append(li);
  beep();
  document.title = "● New chat · Switchboard";
}
function removeOffer(id) {
  document.querySelector(`#offers li[data-id="${id}"]`)?.remove();
  if (!$("offers").children.length) document.title = "Switchboard · Agent desktop";
}

// ---- chats (one tab each) ------------------------------------------------------------
function openChat(id, info, partyId) {
  let c = S.chats.get(id);
  if (!c) {
    c = { id, party: partyId || null, seen: new Set(), items: [], unread: 0, ended: false, info: info || null, byMsg: new Map() };
    S.chats.set(id, c);
    const li = el("li", { role: "tab" }, el("span", { className: "name", textContent: "Chat" }), el("span", { className: "badge", hidden: true }));
    li.dataset.id = id;
    li.onclick = () => select(id);
    $("tabs").append(li);
    c.tab = li;
    loadChat(c);
  }
  if (partyId) c.party = partyId;
  if (info && info.mine && info.mine.party_id) c.party = info.mine.party_id;
  if (!S.active) select(id);
  return c;
}

async function loadChat(c) {
  try {
    const info = await call("GET", `/interactions/${c.id}`);
    c.info = info;
    c.party = c.party || info.mine.party_id;
    c.ended = info.mine.phase === "wrap_up" || info.mine.phase === "done";
    const p = info.customer.parameters || {};
    c.title = [p.FIRST_NAME, p.LAST_NAME].filter(Boolean).join(" ") || "Customer";
    c.tab.querySelector(".name").textContent = c.title;
    const h = await call("GET", `/interactions/${c.id}/history`);
    for (const item of h.events) addEvent(c, item.chat_seq, item.event);
    if (S.active === c.id) render();
  } catch (e) { toast(e.message); }
}

function select(id) {
  S.active = id;
  for (const li of $("tabs").children) li.classList.toggle("active", li.dataset.id === id);
  const c = S.chats.get(id);
  if (c) { c.unread = 0; c.tab.querySelector(".badge").hidden = true; markRead(c); dispositions(c).catch(() => {}); }
  render();
}

function chatEvent(f) {
  // chats open when accepted; what came before is loaded from the history then
  const c = S.chats.get(f.interaction_id);
  if (c) addEvent(c, f.chat_seq, f.event);
}

function addEvent(c, seq, e) {
  if (c.seen.has(seq)) return;
  c.seen.add(seq);
  const mine = c.party && e.party_id === c.party;
  if (e.event === "chat_session_message_delivered" || e.event === "chat_session_message_read") {
    if (!mine) { const m = c.byMsg.get(e.ref_msg_id); if (m) m.receipt = e.event.endsWith("read") ? "read" : (m.receipt === "read" ? "read" : "delivered"); }
  } else if (e.event === "chat_session_typing" || e.event === "chat_session_not_typing") {
    if (!mine) c.typing = e.event === "chat_session_typing";
  } else {
    const item = { seq, e, mine };
    c.items.push(item);
    if (e.msg_id) c.byMsg.set(e.msg_id, item);
    if (e.event === "chat_session_message" && !mine && e.party_id === (c.info && c.info.chat_id)) {
      c.typing = false;
      call("POST", `/interactions/${c.id}/receipts`, { type: "delivered", ref_msg_id: e.msg_id }).catch(() => {});
      if (S.active === c.id && document.visibilityState === "visible") {
        call("POST", `/interactions/${c.id}/receipts`, { type: "read", ref_msg_id: e.msg_id }).catch(() => {});
        item.readSent = true;
      } else { c.unread++; c.tab.querySelector(".badge").hidden = false; c.tab.querySelector(".badge").textContent = c.unread; }
    }
    if (e.event === "chat_session_ended") c.ended = true;
  }
  if (S.active === c.id) render();
}

function markRead(c) {
  for (const it of c.items) {
    if (!it.mine && !it.readSent && it.e.event === "chat_session_message" && !c.ended) {
      it.readSent = true;
      call("POST", `/interactions/${c.id}/receipts`, { type: "read", ref_msg_id: it.e.msg_id }).catch(() => {});
    }
  }
}

function line(it) {
  const e = it.e;
  switch (e.event) {
    case "chat_session_message": {
      const li = el("li", { className: it.mine ? "me msg" : "msg" }, el("span", { className: "bubble", textContent: e.msg }));
      if (it.mine && it.receipt) li.append(el("span", { className: "receipt", textContent: it.receipt === "read" ? "✓✓ read" : "✓ delivered" }));
      return li;
    }
    case "chat_session_party_joined": return el("li", { className: "sys", textContent: (e.display_name || "Agent") + " joined" });
    case "chat_session_party_left": return el("li", { className: "sys", textContent: "A party left" });
    case "chat_session_status": return el("li", { className: "sys", textContent: "Status: " + e.state });
    case "chat_session_ended": return el("li", { className: "sys", textContent: "Chat ended" });
    case "chat_session_end": return el("li", { className: "sys", textContent: "Customer ended the chat" });
    case "chat_session_case_set": return el("li", { className: "sys", textContent: "Case " + e.case_id });
    case "chat_session_form_show": return el("li", { className: "sys", textContent: "Form sent: " + e.form_name });
    case "chat_session_form_data": return el("li", { className: "sys", textContent: "Form data: " + JSON.stringify(e.data || {}) });
    case "chat_session_file": return el("li", { className: it.mine ? "me msg" : "msg" }, el("span", { className: "bubble", textContent: "📎 " + (e.file_name || e.file_id) }));
    default: return null;
  }
}

function render() {
  const c = S.chats.get(S.active);
  $("empty").hidden = !!c; $("chat").hidden = !c;
  if (!c) return;
  $("chat-title").textContent = c.title || "Chat";
  $("chat-status").textContent = c.ended ? "ended" : (c.info ? c.info.state : "");
  const p = (c.info && c.info.customer && c.info.customer.parameters) || {};
  $("chat-params").textContent = Object.entries(p).map(([k, v]) => k + ": " + v).join(" · ");
  $("log").replaceChildren(...c.items.map(line).filter(Boolean));
  $("log").scrollTop = $("log").scrollHeight;
  $("typing").hidden = !c.typing || c.ended;
  const conf = c.info && c.info.mine && c.info.mine.kind === "conference";
  $("compose").hidden = c.ended;
  $("end-btn").hidden = c.ended || conf;
  $("leave-btn").hidden = c.ended || !conf;
  $("complete-btn").hidden = !c.ended;
}

function chatEnded(f) {
  const c = S.chats.get(f.interaction_id);
  if (!c) return;
  c.ended = true;
  if (!f.wrap_up_until) closeChat(f.interaction_id);
  else if (S.active === c.id) render();
}

function closeChat(id) {
  const c = S.chats.get(id);
  if (!c) return;
  c.tab.remove();
  S.chats.delete(id);
  if (S.active === id) { S.active = null; const next = S.chats.keys().next(); if (!next.done) select(next.value); else render(); }
}

async function dispositions(c) {
  const sid = c.info && c.info.service_id;
  const d = await call("GET", "/dispositions" + (sid ? "?service_id=" + encodeURIComponent(sid) : ""));
  const sel = $("disposition");
  const keep = sel.value;
  sel.replaceChildren(el("option", { value: "", textContent: "— disposition —" }), ...d.items.map((x) => el("option", { value: x.name, textContent: x.name })));
  sel.value = keep;
}

// ---- actions -------------------------------------------------------------------------
let typingTimer = null;
$("msg-input").addEventListener("input", () => {
  const c = S.chats.get(S.active);
  if (!c || c.ended) return;
  if (!typingTimer) call("POST", `/interactions/${c.id}/typing`, { typing: true }).catch(() => {});
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { typingTimer = null; call("POST", `/interactions/${c.id}/typing`, { typing: false }).catch(() => {}); }, 2000);
});
$("compose").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const c = S.chats.get(S.active);
  const text = $("msg-input").value.trim();
  if (!c || !text) return;
  $("msg-input").value = "";
  try { await call("POST", `/interactions/${c.id}/messages`, { msg: text }); } catch (e) { toast(e.message); $("msg-input").value = text; }
});
function act(id, fn) {
  $(id).addEventListener("click", async () => {
    const c = S.chats.get(S.active);
    if (!c) return;
    try { await fn(c); } catch (e) { toast(e.message); }
  });
}
const wrapBody = () => {
  const b = {};
  if ($("disposition").value) b.disposition = $("disposition").value;
  if ($("notes").value) b.notes = $("notes").value;
  return b;
};
act("end-btn", async (c) => { await call("POST", `/interactions/${c.id}/end`, wrapBody()); c.ended = true; render(); });
act("leave-btn", async (c) => { await call("POST", `/interactions/${c.id}/leave`); closeChat(c.id); });
act("complete-btn", async (c) => { await call("POST", `/interactions/${c.id}/complete`, wrapBody()); $("notes").value = ""; closeChat(c.id); });
act("transfer-service-btn", async (c) => { await call("POST", `/interactions/${c.id}/transfer`, { service: $("transfer-service").value }); c.ended = true; render(); toast("Transferred"); });
act("transfer-agent-btn", async (c) => { await call("POST", `/interactions/${c.id}/transfer`, { agent: $("transfer-agent").value.trim() }); c.ended = true; render(); toast("Transferred"); });
act("conference-btn", async (c) => { await call("POST", `/interactions/${c.id}/conference`, { agent: $("transfer-agent").value.trim() }); toast("Invited"); });
act("case-btn", async (c) => { await call("PUT", `/interactions/${c.id}/case`, { case_id: $("case-id").value.trim() }); });
act("form-btn", async (c) => { await call("POST", `/interactions/${c.id}/forms`, { form_name: $("form-name").value.trim() }); });
act("history-btn", async (c) => {
  const h = await call("GET", `/interactions/${c.id}/client-history`);
  $("client-history").replaceChildren(...(h.chats.length ? h.chats.map((ch) => el("div", { textContent: ch.created_at.slice(0, 16) + " · " + ch.events.filter((e) => e.event === "chat_session_message").map((e) => e.msg).join(" / ") })) : [el("div", { textContent: "No earlier chats" })]));
});
$("tabs").addEventListener("click", () => { const c = S.chats.get(S.active); if (c) dispositions(c).catch(() => {}); });
document.addEventListener("visibilitychange", () => { const c = S.chats.get(S.active); if (c && document.visibilityState === "visible") markRead(c); });

// ---- boot ----------------------------------------------------------------------------
$("tenant").value = sessionStorage.getItem("sb.tenant") || new URLSearchParams(location.search).get("tenant") || location.hostname;
if (S.token) start().catch(() => logoutLocal());
