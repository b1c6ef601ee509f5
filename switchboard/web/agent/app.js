// Switchboard agent desktop: plain JavaScript, no build step.
// REST: /agentapi/v1/...   Realtime: WebSocket /agentapi/v1/ws?cursor=.. (the token goes
// in the first frame, never in a URL). The cursor of the last frame handled is kept in
// sessionStorage, so a reload or a reconnect resumes exactly where the desktop left off.
"use strict";

const API = "/agentapi/v1";
const $ = (id) => document.getElementById(id);
const S = {
  token: sessionStorage.getItem("sb.token") || "",
  cursor: sessionStorage.getItem("sb.cursor") || "",
  me: null,
  chats: new Map(), // interaction_id -> chat view (all per-chat state lives here)
  offers: new Map(), // interaction_id -> offer frame
  active: null,
  ws: null,
  retry: 0,
  session: 0, // bumped at every login/logout: loops of an old session stop
  outbound: null, // the current outbound attempt (preview flow)
  teamCursor: "",
};

// ---- helpers -------------------------------------------------------------------------
async function call(method, path, body, raw) {
  const opts = { method, headers: { Authorization: "Bearer " + S.token } };
  if (raw !== undefined) opts.body = raw;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : {};
  if (r.status === 401) { logoutLocal("Your session ended: log in again."); throw new Error(data.message || "session expired"); }
  if (!r.ok) throw new Error(data.message || r.statusText);
  return data;
}
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 4000);
}
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
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
function hhmm(seconds) {
  const d = new Date(Number(seconds) * 1000);
  if (isNaN(d)) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
function safeUrl(u) {
  try { const x = new URL(String(u), location.href); return x.protocol === "http:" || x.protocol === "https:" ? x.href : null; } catch (_) { return null; }
}
function link(href, text) {
  return el("a", { href, textContent: text, target: "_blank", rel: "noopener noreferrer" });
}
// text with its http(s) links clickable (text nodes only: nothing is parsed as HTML)
function linkify(text) {
  const frag = document.createDocumentFragment();
  const re = /\b(https?:\/\/[^\s<>"']+|www\.[^\s<>"']+)/gi;
  let last = 0, m;
  while ((m = re.exec(text))) {
    let url = m[0].replace(/[.,;:!?)\]]+$/, "");
    frag.append(text.slice(last, m.index));
    const href = safeUrl(url.startsWith("www.") ? "https://" + url : url);
    frag.append(href ? link(href, url) : url);
    last = m.index + url.length;
    re.lastIndex = last;
  }
  frag.append(text.slice(last));
  return frag;
}
function customerName(params) {
  const p = params || {};
  return [p.FIRST_NAME || p.first_name, p.LAST_NAME || p.last_name].filter(Boolean).join(" ") || "Customer";
}

// ---- background: tab title and browser notifications ---------------------------------
function background() { return document.visibilityState !== "visible"; }
function unreadTotal() { let n = 0; for (const c of S.chats.values()) n += c.unread; return n; }
function updateTitle() {
  const offers = S.offers.size + (S.outbound && S.outbound.state === "offered" ? 1 : 0);
  const unread = unreadTotal();
  const base = "Switchboard · Agent desktop";
  if (offers) document.title = `(${offers + unread}) New chat offer · ${base}`;
  else if (unread) document.title = `(${unread}) New message · ${base}`;
  else document.title = base;
}
function notify(title, body, tag) {
  if (!background() || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => { window.focus(); n.close(); };
  } catch (_) { /* not allowed here */ }
}

// ---- login and state -----------------------------------------------------------------
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  // asked on a user gesture: offers and messages notify while the desktop is in the background
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  const tenant = $("tenant").value.trim();
  try {
    const r = await fetch(API + "/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant, loginId: $("login").value.trim(), password: $("password").value }),
    });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || "login failed");
    S.token = data.access_token;
    sessionStorage.setItem("sb.token", S.token);
    localStorage.setItem("sb.tenant", tenant);
    $("password").value = "";
    saveCursor(data.cursor);
    await start();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

function showState(a) {
  if (a.state === "logged_out") {
    if (S.token) logoutLocal("You were logged out (by a supervisor, or after your desktop was disconnected).");
    return;
  }
  const pill = $("state");
  pill.className = "pill " + a.state;
  let text = a.state.replace(/_/g, " ");
  if (a.reason) text += " · " + a.reason;
  if (a.next_state === "not_ready") text += " → not ready" + (a.next_reason ? " · " + a.next_reason : "");
  pill.textContent = text;
  pill.dataset.state = a.state;
  const sel = $("state-select");
  const want = a.state === "ready" || a.next_state === "ready" ? "ready" : "not_ready:" + (a.reason || a.next_reason || "");
  if (![...sel.options].some((o) => o.value === want) && want.startsWith("not_ready:")) {
    sel.append(el("option", { value: want, textContent: "Not ready · " + want.slice(10) }));
  }
  sel.value = want;
}

$("state-select").addEventListener("change", async () => {
  const v = $("state-select").value;
  const i = v.indexOf(":");
  const state = i < 0 ? v : v.slice(0, i), reason = i < 0 ? "" : v.slice(i + 1);
  try {
    showState(await call("PUT", "/state", reason ? { state, reason } : { state }));
  } catch (e) { toast(e.message); }
});

$("logout-btn").addEventListener("click", async () => {
  try { await call("POST", "/logout"); logoutLocal(); } catch (e) { toast(e.message); }
});
$("shortcuts-btn").addEventListener("click", () => {
  const p = $("shortcuts");
  p.hidden = !p.hidden;
  $("shortcuts-btn").setAttribute("aria-expanded", String(!p.hidden));
});

function logoutLocal(message) {
  S.session++;
  sessionStorage.removeItem("sb.token");
  sessionStorage.removeItem("sb.cursor");
  S.token = ""; S.cursor = "";
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  clearInterval(connect.ping);
  S.chats.clear(); S.offers.clear(); S.active = null; S.outbound = null;
  $("offers").replaceChildren(); $("tabs").replaceChildren(); $("team-messages").replaceChildren();
  $("desk").hidden = true; $("login-view").hidden = false; $("outbound").hidden = true;
  $("state-select").hidden = true; $("logout-btn").hidden = true; $("shortcuts-btn").hidden = true; $("shortcuts").hidden = true;
  $("state").textContent = "logged out"; $("state").className = "pill";
  $("conn").className = "pill off"; $("conn").textContent = "offline";
  $("who").textContent = "";
  $("login-error").textContent = message || "";
  updateTitle();
}

async function start() {
  const session = ++S.session;
  const me = await call("GET", "/me");
  S.me = me;
  if (!S.cursor) saveCursor(me.cursor);
  $("who").textContent = me.user.display_name + " (" + me.user.login_id + ")";
  const reasons = await call("GET", "/reasons");
  const sel = $("state-select");
  sel.replaceChildren(el("option", { value: "ready", textContent: "Ready" }), el("option", { value: "not_ready:", textContent: "Not ready" }));
  for (const r of reasons.items) sel.append(el("option", { value: "not_ready:" + r.name, textContent: "Not ready · " + r.name }));
  const services = await call("GET", "/services");
  $("transfer-service").replaceChildren(...services.items.map((s) => el("option", { value: s.name, textContent: s.name })));
  $("login-view").hidden = true; $("desk").hidden = false;
  sel.hidden = false; $("logout-btn").hidden = false; $("shortcuts-btn").hidden = false;
  $("login-error").textContent = "";
  showState(me.agent);
  const list = await call("GET", "/interactions");
  for (const it of list.interactions) {
    if (it.mine.phase === "offered") addOffer({ interaction_id: it.id, chat_id: it.chat_id, service: it.service, customer: it.customer, kind: it.mine.kind, expires_at: it.mine.deadline });
    else openChat(it.id, it);
  }
  call("GET", "/outbound/current").then((items) => { for (const a of items || []) outboundFrame({ type: "outbound_" + a.state, ...a }); }).catch(() => {});
  connect();
  teamMessages(session);
}

// ---- realtime channel ----------------------------------------------------------------
function connect() {
  if (!S.token) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams();
  if (S.cursor) q.set("cursor", S.cursor);
  const ws = new WebSocket(`${proto}//${location.host}${API}/ws?${q}`);
  S.ws = ws;
  ws.onopen = () => { ws.send(JSON.stringify({ type: "auth", access_token: S.token })); };
  ws.onmessage = (m) => {
    const f = JSON.parse(m.data);
    if (f.type === "hello") { S.retry = 0; $("conn").className = "pill on"; $("conn").textContent = "online"; }
    try { handle(f); } finally { saveCursor(f.cursor); }
  };
  ws.onclose = (ev) => {
    if (S.ws !== ws) return;
    $("conn").className = "pill off"; $("conn").textContent = "offline";
    if (ev.code === 4401) { logoutLocal("Your session ended: log in again."); return; }
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
    default:
      if (f.type && f.type.startsWith("outbound_")) outboundFrame(f);
      break;
  }
}

// ---- offers --------------------------------------------------------------------------
function addOffer(o) {
  if (S.offers.has(o.interaction_id)) return;
  S.offers.set(o.interaction_id, o);
  const name = customerName(o.customer && o.customer.parameters);
  const accept = el("button", { type: "button", className: "accept primary", textContent: "Accept", title: "Alt+A" });
  const reject = el("button", { type: "button", className: "reject", textContent: "Reject", title: "Alt+X" });
  let what = o.service || "chat";
  if (o.kind === "transfer") what += " · transfer" + (o.from_name ? " from " + o.from_name : "");
  if (o.kind === "conference") what += " · conference" + (o.from_name ? " with " + o.from_name : "");
  const left = el("span", { className: "countdown muted small" });
  left.setAttribute("aria-hidden", "true");
  const li = el("li", {}, el("div", {}, el("strong", { textContent: name }), " · " + what), el("div", { className: "actions" }, accept, reject, left));
  li.dataset.id = o.interaction_id;
  if (o.expires_at) li.dataset.expires = String(Date.parse(o.expires_at));
  accept.onclick = async () => {
    accept.disabled = true;
    try {
      const r = await call("POST", `/interactions/${o.interaction_id}/accept`);
      removeOffer(o.interaction_id);
      select(openChat(o.interaction_id, null, r.party_id).id);
      $("msg-input").focus();
    } catch (e) { toast(e.message); removeOffer(o.interaction_id); }
  };
  reject.onclick = async () => {
    try { await call("POST", `/interactions/${o.interaction_id}/reject`); } catch (e) { toast(e.message); }
    removeOffer(o.interaction_id);
  };
  $("offers").append(li);
  countdown();
  beep();
  notify("New chat: " + name, what, "offer-" + o.interaction_id);
  updateTitle();
}
// seconds left on each offer, while there are offers
function countdown() {
  const lis = [...document.querySelectorAll("#offers li[data-expires]")];
  for (const li of lis) {
    const secs = Math.max(0, Math.round((Number(li.dataset.expires) - Date.now()) / 1000));
    li.querySelector(".countdown").textContent = secs + " s";
  }
  clearTimeout(countdown.t);
  if (lis.length) countdown.t = setTimeout(countdown, 1000);
}
function removeOffer(id) {
  S.offers.delete(id);
  document.querySelector(`#offers li[data-id="${CSS.escape(id)}"]`)?.remove();
  updateTitle();
}

// ---- chats (one tab each) ------------------------------------------------------------
function newChat(id) {
  return {
    id, party: null, chatId: null, seen: new Set(), items: [], byMsg: new Map(), unread: 0,
    ended: false, info: null, title: "Chat", parties: new Map(), cutSeq: null, endedAt: null,
    draft: "", disposition: "", notes: "", dispositions: null, typing: false, tab: null,
  };
}

function openChat(id, info, partyId) {
  let c = S.chats.get(id);
  if (!c) {
    c = newChat(id);
    S.chats.set(id, c);
    const li = el("li", { role: "tab", tabIndex: 0 }, el("span", { className: "name", textContent: "Chat" }), el("span", { className: "badge", hidden: true }));
    li.setAttribute("aria-selected", "false");
    li.dataset.id = id;
    li.onclick = () => select(id);
    li.onkeydown = (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(id); } };
    $("tabs").append(li);
    c.tab = li;
    if (info) applyInfo(c, info);
    loadChat(c);
  }
  if (partyId) c.party = partyId;
  if (info && info.mine && info.mine.party_id) c.party = info.mine.party_id;
  if (!S.active) select(id);
  return c;
}

function applyInfo(c, info) {
  c.info = info;
  c.chatId = info.chat_id;
  c.party = c.party || info.mine.party_id;
  if (info.mine.phase === "wrap_up" || info.mine.phase === "done") c.ended = true;
  if (["transferred", "left"].includes(info.mine.outcome) && info.mine.ended_at) c.endedAt = Date.parse(info.mine.ended_at) / 1000;
  if (!c.disposition && info.mine.disposition) c.disposition = info.mine.disposition;
  if (!c.notes && info.mine.notes) c.notes = info.mine.notes;
  c.title = customerName(info.customer && info.customer.parameters);
  if (c.chatId) c.parties.set(c.chatId, { name: c.title, type: "customer" });
  c.tab.querySelector(".name").textContent = c.title;
  c.tab.classList.toggle("ended", c.ended);
}

async function loadChat(c) {
  try {
    applyInfo(c, await call("GET", `/interactions/${c.id}`));
    const h = await call("GET", `/interactions/${c.id}/history`);
    for (const item of h.events) addEvent(c, item.chat_seq, item.event, true);
    await loadDispositions(c);
    if (S.active === c.id) render();
  } catch (e) { toast(e.message); }
}

function saveInputs() {
  const c = S.chats.get(S.active);
  if (!c) return;
  c.draft = $("msg-input").value;
  c.disposition = $("disposition").value;
  c.notes = $("notes").value;
}

function select(id) {
  if (S.active && S.active !== id) saveInputs();
  const changed = S.active !== id;
  S.active = id;
  for (const li of $("tabs").children) {
    const on = li.dataset.id === id;
    li.classList.toggle("active", on);
    li.setAttribute("aria-selected", String(on));
  }
  const c = S.chats.get(id);
  if (c) {
    c.unread = 0; c.tab.querySelector(".badge").hidden = true; markRead(c);
    if (changed) {
      $("msg-input").value = c.draft;
      $("notes").value = c.notes;
      fillDispositions(c);
      $("wrap-error").textContent = "";
      closeCanned();
    }
  }
  updateTitle();
  render();
}

function chatEvent(f) {
  // chats open when accepted; what came before is loaded from the history then
  const c = S.chats.get(f.interaction_id);
  if (c) addEvent(c, f.chat_seq, f.event, false);
}

function partyName(c, partyId) {
  if (partyId && partyId === c.party) return "You";
  if (partyId && partyId === c.chatId) return c.title;
  const p = c.parties.get(partyId);
  return p ? p.name : "Agent";
}

function addEvent(c, seq, e, fromHistory) {
  if (c.seen.has(seq)) return;
  // after this agent left the chat (a transfer, a conference left), nothing more of it
  if (c.cutSeq !== null && seq > c.cutSeq) return;
  if (c.endedAt !== null && Number(e.timestamp) > c.endedAt + 1 && e.event !== "chat_session_party_left") return;
  c.seen.add(seq);
  if (e.event === "chat_session_party_joined") {
    const name = e.display_name || [e.first_name, e.last_name].filter(Boolean).join(" ") || "Agent";
    c.parties.set(e.party_id, { name, type: e.type });
  }
  const mine = !!c.party && e.party_id === c.party;
  if (e.event === "chat_session_party_left" && mine) c.cutSeq = seq;
  if (e.event === "chat_session_message_delivered" || e.event === "chat_session_message_read") {
    if (!mine) { const m = c.byMsg.get(e.ref_msg_id); if (m) m.receipt = e.event.endsWith("read") ? "read" : (m.receipt === "read" ? "read" : "delivered"); }
  } else if (e.event === "chat_session_typing" || e.event === "chat_session_not_typing") {
    if (!mine && e.party_id === c.chatId) c.typing = e.event === "chat_session_typing";
  } else if (e.event === "chat_session_signaling") {
    // calls: handled by the voice part of the desktop
  } else {
    const item = { seq, e, mine };
    // in the chat's order, whichever came first: the live frame or the history
    let at = c.items.length;
    while (at > 0 && c.items[at - 1].seq > seq) at--;
    c.items.splice(at, 0, item);
    if (e.msg_id) c.byMsg.set(e.msg_id, item);
    const fromCustomer = !mine && e.party_id === (c.chatId || (c.info && c.info.chat_id));
    // the log is redrawn: new messages are announced once, for screen readers
    if (!fromHistory && !mine && S.active === c.id && e.msg) $("announce").textContent = partyName(c, e.party_id) + ": " + e.msg;
    if (fromCustomer && ["chat_session_message", "chat_session_file", "chat_session_location", "chat_session_navigation", "chat_session_form_data"].includes(e.event)) {
      c.typing = false;
      if (e.event === "chat_session_message" && !c.ended) {
        call("POST", `/interactions/${c.id}/receipts`, { type: "delivered", ref_msg_id: e.msg_id }).catch(() => {});
      }
      if (S.active === c.id && !background()) {
        if (e.event === "chat_session_message" && !c.ended) {
          call("POST", `/interactions/${c.id}/receipts`, { type: "read", ref_msg_id: e.msg_id }).catch(() => {});
        }
        item.readSent = true;
      } else if (!fromHistory) {
        c.unread++;
        const b = c.tab.querySelector(".badge");
        b.hidden = false; b.textContent = c.unread;
        notify(c.title, e.msg || describe(e), "chat-" + c.id);
        updateTitle();
      }
    }
    if (e.event === "chat_session_ended") { c.ended = true; c.tab.classList.add("ended"); }
  }
  if (S.active === c.id) render();
}

function markRead(c) {
  for (const it of c.items) {
    if (!it.mine && !it.readSent && it.e.event === "chat_session_message" && it.e.party_id === c.chatId && !c.ended) {
      it.readSent = true;
      call("POST", `/interactions/${c.id}/receipts`, { type: "read", ref_msg_id: it.e.msg_id }).catch(() => {});
    }
  }
}

function describe(e) {
  switch (e.event) {
    case "chat_session_file": return "File: " + (e.file_name || e.file_id);
    case "chat_session_location": return "Location shared";
    case "chat_session_navigation": return "Visited " + (e.title || e.page);
    case "chat_session_form_data": return "Form data received";
    default: return "";
  }
}

function mapUrl(e) {
  const given = e.url && safeUrl(e.url);
  if (given) return given;
  const lat = encodeURIComponent(e.latitude), lon = encodeURIComponent(e.longitude);
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
}

function dataTable(data) {
  const rows = Object.entries(data || {});
  if (!rows.length) return el("span", { textContent: " (empty)" });
  const t = el("table", { className: "form-data" });
  t.append(el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", textContent: k }), el("td", { textContent: typeof v === "object" ? JSON.stringify(v) : String(v) })))));
  return t;
}

function fileLink(c, e) {
  const a = el("a", { href: "#", textContent: e.file_name || "file " + e.file_id, className: "file" });
  a.onclick = async (ev) => {
    ev.preventDefault();
    try {
      const r = await fetch(`${API}/interactions/${c.id}/files/${encodeURIComponent(e.file_id)}`, { headers: { Authorization: "Bearer " + S.token } });
      if (!r.ok) throw new Error("Could not download the file");
      const url = URL.createObjectURL(await r.blob());
      const d = el("a", { href: url, download: e.file_name || e.file_id });
      document.body.append(d); d.click(); d.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) { toast(err.message); }
  };
  return a;
}

function bubble(c, it, ...content) {
  const e = it.e;
  const other = !it.mine && e.party_id !== c.chatId;
  const li = el("li", { className: (it.mine ? "me msg" : "msg") + (other ? " other-agent" : "") });
  li.dataset.seq = it.seq;
  li.append(el("span", { className: "who", textContent: partyName(c, e.party_id) + (e.timestamp ? " · " + hhmm(e.timestamp) : "") }));
  li.append(el("span", { className: "bubble" }, ...content));
  return li;
}

function sys(it, text, ...more) {
  const li = el("li", { className: "sys" }, el("span", { textContent: (it.e.timestamp ? hhmm(it.e.timestamp) + " · " : "") + text }), ...more);
  li.dataset.seq = it.seq;
  return li;
}

function line(c, it) {
  const e = it.e;
  switch (e.event) {
    case "chat_session_message": {
      const li = bubble(c, it, linkify(String(e.msg)));
      if (it.mine && it.receipt) li.append(el("span", { className: "receipt", textContent: it.receipt === "read" ? "✓✓ read" : "✓ delivered" }));
      return li;
    }
    case "chat_session_file": return bubble(c, it, "File: ", fileLink(c, e));
    case "chat_session_location": return bubble(c, it, "Location: ", link(mapUrl(e), `${e.latitude}, ${e.longitude} (map)`));
    case "chat_session_navigation": {
      const href = safeUrl(e.page);
      return bubble(c, it, "Now on page: ", href ? link(href, e.title || e.page) : String(e.title || e.page));
    }
    case "chat_session_form_data": return sys(it, "Form " + (e.form_name || "") + " submitted:", dataTable(e.data));
    case "chat_session_secure_form_data": return sys(it, "Secure form " + (e.form_name || "") + " submitted (content not shown)");
    case "chat_session_secure_form_show": return sys(it, "Secure form requested");
    case "chat_session_secure_form_cancel": return sys(it, "Secure form cancelled by the customer");
    case "chat_session_form_show": return sys(it, "Form requested: " + e.form_name);
    case "chat_session_cobrowsing_requested": return sys(it, "Co-browsing requested");
    case "chat_session_cobrowsing_started": {
      const href = e.cobrowsing_url && safeUrl(e.cobrowsing_url);
      return sys(it, "Co-browsing started ", href ? link(href, "open session") : null);
    }
    case "chat_session_cobrowsing_rejected": return sys(it, "The customer declined co-browsing");
    case "chat_session_cobrowsing_ended": return sys(it, "Co-browsing ended");
    case "chat_session_party_joined": return sys(it, partyName(c, e.party_id) + " joined");
    case "chat_session_party_left": return sys(it, partyName(c, e.party_id) + " left");
    case "chat_session_status": return sys(it, "Status: " + e.state);
    case "chat_session_ended": return sys(it, "Chat ended");
    case "chat_session_end": return sys(it, "Customer ended the chat");
    case "chat_session_disconnect": return sys(it, "Customer disconnected");
    case "chat_session_timeout_warning": return sys(it, "The customer has been inactive: the chat will time out soon");
    case "chat_session_inactivity_timeout": return sys(it, "Chat timed out for inactivity");
    case "chat_session_case_set": return sys(it, "Case " + e.case_id);
    case "chat_session_info": return e.msg ? sys(it, e.msg) : null;
    default: return null;
  }
}

function render() {
  const c = S.chats.get(S.active);
  $("empty").hidden = !!c || !!S.outbound; $("chat").hidden = !c;
  if (!c) return;
  $("chat-title").textContent = c.title || "Chat";
  $("chat-status").textContent = c.ended ? "ended" : (c.info ? c.info.state : "");
  $("chat-service").textContent = (c.info && c.info.service) || "";
  const p = (c.info && c.info.customer && c.info.customer.parameters) || {};
  $("chat-params").textContent = Object.entries(p).map(([k, v]) => k + ": " + v).join(" · ");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.replaceChildren(...c.items.map((it) => line(c, it)).filter(Boolean));
  if (atBottom || log.dataset.chat !== c.id) log.scrollTop = log.scrollHeight;
  log.dataset.chat = c.id;
  $("typing").hidden = !c.typing || c.ended;
  const conf = c.info && c.info.mine && c.info.mine.kind === "conference";
  $("compose").hidden = c.ended;
  $("tools").hidden = c.ended;
  $("end-btn").hidden = c.ended || conf;
  $("leave-btn").hidden = c.ended || !conf;
  $("complete-btn").hidden = !c.ended;
  // the number the customer gave for a callback (Messaging API phone_number)
  const phone = c.info && c.info.customer && c.info.customer.phone_number;
  $("callback-btn").hidden = c.ended || !phone;
  $("callback-btn").textContent = phone ? "Call back " + phone : "Call back";
}

function chatEnded(f) {
  const c = S.chats.get(f.interaction_id);
  if (!c) return;
  c.ended = true;
  c.typing = false;
  c.tab.classList.add("ended");
  if (f.reason === "transferred" || f.reason === "left") c.endedAt = (f.at ? Date.parse(f.at) : Date.now()) / 1000;
  if (!f.wrap_up_until) closeChat(f.interaction_id);
  else if (S.active === c.id) render();
}

function closeChat(id) {
  const c = S.chats.get(id);
  if (!c) return;
  c.tab.remove();
  S.chats.delete(id);
  if (S.active === id) {
    S.active = null;
    $("msg-input").value = ""; $("notes").value = ""; $("disposition").value = "";
    const next = S.chats.keys().next();
    if (!next.done) select(next.value); else render();
  }
  updateTitle();
}

async function loadDispositions(c) {
  const sid = c.info && c.info.service_id;
  const d = await call("GET", "/dispositions" + (sid ? "?service_id=" + encodeURIComponent(sid) : ""));
  c.dispositions = d.items.map((x) => x.name);
  if (S.active === c.id) fillDispositions(c);
}

function fillDispositions(c) {
  const sel = $("disposition");
  sel.replaceChildren(el("option", { value: "", textContent: "— disposition —" }), ...(c.dispositions || []).map((n) => el("option", { value: n, textContent: n })));
  sel.value = c.disposition || "";
}

// ---- actions -------------------------------------------------------------------------
let typingTimer = null;
$("msg-input").addEventListener("input", () => {
  const c = S.chats.get(S.active);
  if (!c || c.ended) return;
  c.draft = $("msg-input").value;
  if (!typingTimer) call("POST", `/interactions/${c.id}/typing`, { typing: true }).catch(() => {});
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { typingTimer = null; call("POST", `/interactions/${c.id}/typing`, { typing: false }).catch(() => {}); }, 2000);
});
$("msg-input").addEventListener("keydown", async (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("compose").requestSubmit(); return; }
  // a canned response's shortcut ("/hello") then Tab: replaced by its text
  const m = ev.key === "Tab" && !ev.shiftKey && /(^|\s)(\/[\w-]+)$/.exec($("msg-input").value);
  const c = S.chats.get(S.active);
  if (!m || !c) return;
  ev.preventDefault();
  try {
    const it = await call("GET", `/canned-responses/${encodeURIComponent(m[2]).replace("%2F", "/")}?interaction=${encodeURIComponent(c.id)}`);
    const v = $("msg-input").value;
    $("msg-input").value = v.slice(0, v.length - m[2].length) + it.text;
    c.draft = $("msg-input").value;
  } catch (e) { toast("No canned response " + m[2]); }
});
$("disposition").addEventListener("change", () => { const c = S.chats.get(S.active); if (c) { c.disposition = $("disposition").value; $("wrap-error").textContent = ""; } });
$("notes").addEventListener("input", () => { const c = S.chats.get(S.active); if (c) c.notes = $("notes").value; });
$("compose").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const c = S.chats.get(S.active);
  const text = $("msg-input").value.trim();
  if (!c || !text) return;
  $("msg-input").value = ""; c.draft = "";
  closeCanned();
  try { await call("POST", `/interactions/${c.id}/messages`, { msg: text }); } catch (e) { toast(e.message); $("msg-input").value = text; c.draft = text; }
});
$("attach-btn").addEventListener("click", () => $("file-input").click());
$("file-input").addEventListener("change", async () => {
  const c = S.chats.get(S.active);
  const file = $("file-input").files[0];
  $("file-input").value = "";
  if (!c || !file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  try { await call("POST", `/interactions/${c.id}/files`, undefined, form); toast("Sent " + file.name); } catch (e) { toast(e.message); }
});
function act(id, fn) {
  $(id).addEventListener("click", async () => {
    const c = S.chats.get(S.active);
    if (!c) return;
    try { await fn(c); } catch (e) { toast(e.message); }
  });
}
const wrapBody = (c) => {
  const b = {};
  if (c.disposition) b.disposition = c.disposition;
  if (c.notes) b.notes = c.notes;
  return b;
};
act("end-btn", async (c) => { saveInputs(); await call("POST", `/interactions/${c.id}/end`, wrapBody(c)); c.ended = true; render(); });
act("leave-btn", async (c) => { await call("POST", `/interactions/${c.id}/leave`); closeChat(c.id); });
act("complete-btn", async (c) => {
  saveInputs();
  if (c.dispositions && c.dispositions.length && !c.disposition) {
    $("wrap-error").textContent = "Choose a disposition before finishing this chat.";
    $("disposition").focus();
    return;
  }
  await call("POST", `/interactions/${c.id}/complete`, wrapBody(c));
  closeChat(c.id);
});
act("transfer-service-btn", async (c) => { await call("POST", `/interactions/${c.id}/transfer`, { service: $("transfer-service").value }); c.ended = true; render(); toast("Transferred"); });
act("transfer-agent-btn", async (c) => { await call("POST", `/interactions/${c.id}/transfer`, { agent: $("transfer-agent").value.trim() }); c.ended = true; render(); toast("Transferred"); });
act("conference-btn", async (c) => { await call("POST", `/interactions/${c.id}/conference`, { agent: $("transfer-agent").value.trim() }); toast("Invited"); });
act("case-btn", async (c) => { await call("PUT", `/interactions/${c.id}/case`, { case_id: $("case-id").value.trim() }); });
act("form-btn", async (c) => { await call("POST", `/interactions/${c.id}/forms`, { form_name: $("form-name").value.trim() }); });
act("callback-btn", async (c) => {
  // the carrier calls the customer and connects this agent: the outbound panel follows it
  await call("POST", `/interactions/${c.id}/callback`);
  toast("Calling the customer back…");
});
act("history-btn", async (c) => {
  const h = await call("GET", `/interactions/${c.id}/client-history`);
  $("client-history").replaceChildren(...(h.chats.length ? h.chats.map((ch) => el("div", { textContent: ch.created_at.slice(0, 16).replace("T", " ") + " · " + ch.events.filter((e) => e.event === "chat_session_message").map((e) => e.msg).join(" / ") })) : [el("div", { textContent: "No earlier chats" })]));
});
$("tools").addEventListener("toggle", async () => {
  if (!$("tools").open) return;
  try {
    const a = await call("GET", "/agents");
    $("agents-list").replaceChildren(...a.agents.filter((x) => !S.me || x.login_id !== S.me.user.login_id).map((x) => el("option", { value: x.login_id, textContent: `${x.display_name} · ${x.state}` })));
  } catch (_) { /* the field still takes a login id */ }
});
document.addEventListener("visibilitychange", () => { const c = S.chats.get(S.active); if (c && !background()) { markRead(c); c.unread = 0; c.tab.querySelector(".badge").hidden = true; } updateTitle(); });
window.addEventListener("focus", () => { const c = S.chats.get(S.active); if (c) { markRead(c); c.unread = 0; c.tab.querySelector(".badge").hidden = true; } updateTitle(); });

// ---- canned responses ----------------------------------------------------------------
function closeCanned() { $("canned").hidden = true; $("canned-btn").setAttribute("aria-expanded", "false"); }
async function searchCanned() {
  const c = S.chats.get(S.active);
  const q = new URLSearchParams({ limit: "20" });
  const text = $("canned-q").value.trim();
  if (text) q.set("q", text);
  if (c) q.set("interaction", c.id);
  const seq = (searchCanned.seq = (searchCanned.seq || 0) + 1);
  let items = [];
  try { items = (await call("GET", "/canned-responses?" + q)).items; } catch (e) { toast(e.message); }
  if (seq !== searchCanned.seq) return;
  const list = $("canned-list");
  list.replaceChildren(...items.map((it, i) => {
    const text = it.text; // the chat's parameters filled in by the server
    const li = el("li", { role: "option", id: "canned-" + i }, el("span", { className: "title", textContent: it.title + (it.shortcut ? " · " + it.shortcut : "") }), el("span", { className: "text", textContent: text }));
    li.setAttribute("aria-selected", String(i === 0));
    li.onclick = () => useCanned(text);
    li.dataset.text = text;
    return li;
  }));
  if (!items.length) list.append(el("li", { className: "muted", textContent: "No canned response matches" }));
}
function useCanned(text) {
  const input = $("msg-input");
  input.value = input.value ? input.value.replace(/\s*$/, " ") + text : text;
  const c = S.chats.get(S.active);
  if (c) c.draft = input.value;
  closeCanned();
  input.focus();
}
function openCanned() {
  if (!S.chats.get(S.active)) return;
  $("canned").hidden = false;
  $("canned-btn").setAttribute("aria-expanded", "true");
  $("canned-q").focus();
  searchCanned();
}
$("canned-btn").addEventListener("click", () => ($("canned").hidden ? openCanned() : closeCanned()));
$("canned-q").addEventListener("input", () => { clearTimeout(searchCanned.t); searchCanned.t = setTimeout(searchCanned, 150); });
$("canned-q").addEventListener("keydown", (ev) => {
  const opts = [...$("canned-list").querySelectorAll("li[role=option]")];
  let i = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    if (!opts.length) return;
    i = (i + (ev.key === "ArrowDown" ? 1 : opts.length - 1)) % opts.length;
    opts.forEach((o, j) => o.setAttribute("aria-selected", String(i === j)));
    opts[i].scrollIntoView({ block: "nearest" });
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    if (opts[i]) useCanned(opts[i].dataset.text);
  } else if (ev.key === "Escape") { closeCanned(); $("msg-input").focus(); }
});

// ---- team messages (long poll) -------------------------------------------------------
async function teamMessages(session) {
  let first = true;
  while (session === S.session && S.token) {
    try {
      const q = new URLSearchParams({ timeout: first ? "0" : "25" });
      if (S.teamCursor) q.set("since", S.teamCursor);
      const r = await call("GET", "/team-messages?" + q);
      if (session !== S.session) return;
      S.teamCursor = r.cursor;
      for (const m of r.items) {
        const li = el("li", { className: m.is_urgent ? "urgent" : "" }, el("div", { className: "meta", textContent: `${m.name} · ${hhmm(Date.parse(m.sent_at) / 1000)}${m.is_urgent ? " · urgent" : ""}` }), el("div", { textContent: m.content }));
        $("team-messages").prepend(li);
        if (!first) { toast(`${m.name}: ${m.content}`); notify("Team message from " + m.name, m.content, "team-" + m.id); }
      }
      while ($("team-messages").children.length > 20) $("team-messages").lastChild.remove();
      first = false;
    } catch (_) {
      await new Promise((res) => setTimeout(res, 5000));
    }
  }
}

// ---- outbound preview flow -----------------------------------------------------------
// outbound frames are applied one after the other, in the order they came: each awaits a
// read of its attempt, and a late "done" of a skipped record must not close the panel of
// the record offered after it
let outboundQueue = Promise.resolve();
function outboundFrame(f) {
  outboundQueue = outboundQueue.then(() => showOutbound(f)).catch(() => {});
  return outboundQueue;
}

async function showOutbound(f) {
  const id = f.attemptId;
  if (!id) return;
  if (f.type === "outbound_withdrawn") {
    if (S.outbound && S.outbound.attemptId === id) { S.outbound = null; $("outbound").hidden = true; toast("The outbound record was withdrawn"); render(); updateTitle(); }
    return;
  }
  let view = f;
  try { view = await call("GET", "/outbound/" + encodeURIComponent(id)); } catch (_) { /* the frame is enough */ }
  const fresh = !S.outbound || S.outbound.attemptId !== id;
  S.outbound = { ...(S.outbound && !fresh ? S.outbound : {}), ...view, state: view.state || f.state };
  const o = S.outbound;
  $("outbound").hidden = false;
  $("ob-state").textContent = o.state;
  const rows = [["Campaign", o.campaign], ["Phone", o.phone], ...Object.entries(o.entry || {})];
  $("ob-record").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v) })]));
  if (o.state === "done") { S.outbound = null; $("outbound").hidden = true; render(); updateTitle(); return; }
  const preview = o.state === "offered";
  const done = o.state === "wrapup";
  $("ob-start").hidden = !preview; $("ob-skip").hidden = !preview;
  $("ob-hangup").hidden = !(o.state === "connected" || o.state === "dialing");
  $("ob-wrap").hidden = !done;
  if (done && $("ob-disposition").dataset.loaded !== id) {
    try {
      const d = await call("GET", `/outbound/${encodeURIComponent(id)}/dispositions`);
      $("ob-disposition").replaceChildren(el("option", { value: "", textContent: "— disposition —" }), ...d.map((x) => el("option", { value: x.name, textContent: x.name })));
      $("ob-disposition").dataset.loaded = id;
    } catch (_) { /* none */ }
  }
  if (f.type === "outbound_preview" && fresh) { beep(); notify("Outbound preview", o.phone || "", "ob-" + id); }
  render(); updateTitle();
}
async function obAction(path, body) {
  const o = S.outbound;
  if (!o) return;
  try {
    const r = await call("POST", `/outbound/${encodeURIComponent(o.attemptId)}/${path}`, body);
    return r;
  } catch (e) { toast(e.message); }
}
$("ob-start").addEventListener("click", async () => { const r = await obAction("start"); if (r) outboundFrame({ type: "outbound_dialing", ...r }); });
$("ob-skip").addEventListener("click", async () => { await obAction("skip"); S.outbound = null; $("outbound").hidden = true; render(); updateTitle(); });
$("ob-hangup").addEventListener("click", async () => { const r = await obAction("hangup"); if (r) outboundFrame({ type: "outbound_ended", ...r }); });
$("ob-done").addEventListener("click", async () => {
  const body = {};
  if ($("ob-disposition").value) body.disposition = $("ob-disposition").value;
  else { toast("Choose a disposition"); $("ob-disposition").focus(); return; }
  if ($("ob-notes").value) body.notes = $("ob-notes").value;
  if (await obAction("disposition", body)) {
    S.outbound = null; $("outbound").hidden = true; $("ob-notes").value = ""; delete $("ob-disposition").dataset.loaded;
    render(); updateTitle();
  }
});

// ---- keyboard shortcuts --------------------------------------------------------------
document.addEventListener("keydown", (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || !S.token) return;
  const k = ev.key.toLowerCase();
  const code = ev.code || "";
  const is = (letter) => k === letter || code === "Key" + letter.toUpperCase();
  const c = S.chats.get(S.active);
  if (is("a")) {
    ev.preventDefault();
    const b = document.querySelector("#offers li button.accept");
    if (b) b.click(); else if (!$("ob-start").hidden && !$("outbound").hidden) $("ob-start").click();
  } else if (is("x")) {
    ev.preventDefault();
    const b = document.querySelector("#offers li button.reject");
    if (b) b.click(); else if (!$("ob-skip").hidden && !$("outbound").hidden) $("ob-skip").click();
  } else if (is("e") && c && !c.ended) { ev.preventDefault(); $("end-btn").click(); }
  else if (is("d") && c && c.ended) { ev.preventDefault(); $("complete-btn").click(); }
  else if (is("c") && c && !c.ended) { ev.preventDefault(); openCanned(); }
  else if (/^Digit[1-9]$/.test(code) || /^[1-9]$/.test(k)) {
    const n = Number(code.startsWith("Digit") ? code.slice(5) : k);
    const li = $("tabs").children[n - 1];
    if (li) { ev.preventDefault(); select(li.dataset.id); }
  }
});

// ---- boot ----------------------------------------------------------------------------
(async () => {
  const given = new URLSearchParams(location.search).get("tenant") || localStorage.getItem("sb.tenant") || "";
  $("tenant").value = given;
  if (!given) {
    try {
      const r = await fetch(API + "/login-hints", { cache: "no-store" });
      if (r.ok && !$("tenant").value) $("tenant").value = (await r.json()).tenant || "";
    } catch (_) { /* type it */ }
  }
  ($("tenant").value ? $("login") : $("tenant")).focus();
  if (S.token) start().catch(() => logoutLocal());
})();
