// Switchboard wallboard: plain JavaScript over the Real-Time Statistics API.
// Signs in with POST /statsapi/auth (session cookies), subscribes once, polls
// /statsapi/subscription/data every second and /statsapi/history for the day chart.
"use strict";

const API = "/statsapi";
const POLL_MS = 1000;
const CHART_MS = 15000;
const $ = (sel) => document.querySelector(sel);

const TOTALS = [
  ["in_calls_waiting", "Waiting"],
  ["in_max_wait_time", "Longest wait", "dur"],
  ["service_level", "Service level", "pct"],
  ["in_average_speed_of_answer", "Avg speed of answer", "dur"],
  ["in_calls_received_per_day", "Received today"],
  ["in_calls_answered_per_day", "Answered today"],
  ["in_calls_abandoned_in_queue_per_day", "Abandoned today"],
  ["calls_average_handling_time_per_day", "Avg handling time", "dur"],
  ["agents_logged", "Agents logged in"],
  ["agents_ready", "Ready"],
  ["agents_busy", "Busy"],
  ["agents_acw", "After-call work"],
  ["agents_not_ready", "Not ready"],
];
const SERVICE_COLS = [
  ["name", "text"], ["in_calls_waiting", "n"], ["in_max_wait_time", "dur"],
  ["agents_ready", "n"], ["agents_busy", "n"], ["service_level", "pct"],
  ["in_calls_received_per_day", "n"], ["in_calls_answered_per_day", "n"],
  ["in_calls_abandoned_in_queue_per_day", "n"], ["in_average_speed_of_answer", "dur"],
];
const AGENT_COLS = [
  ["first_last_name", "text"], ["team_name", "text"], ["acd_state", "state"],
  ["state_duration", "dur"], ["active_items", "n"], ["active_item_talk_duration", "dur"],
  ["in_calls_handled_per_day", "n"], ["calls_average_handling_time_per_day", "dur"],
  ["agent_total_ready_time", "dur"], ["agent_total_break_time", "dur"],
];
const HIDDEN_AGENT_COLS = ["reason", "acd_next_state", "login_id"];
const STATE_NAMES = {
  ready: "Ready", busy: "Busy", after_call_work: "After-call work",
  not_ready: "Not ready", logged_out: "Logged out",
};

// thresholds per service (kept in this browser): amber from the first number, red from
// the second; service level: amber below the first, red below the second
const DEFAULT_THRESHOLDS = { waiting: [1, 5], wait: [60, 180], sl: [80, 60] };
const THRESHOLD_STATS = { in_calls_waiting: "waiting", in_max_wait_time: "wait", service_level: "sl" };
let services = []; // [{id, name}]
let reasons = null;
let pollTimer = null;
let chartTimer = null;
let targets = {};

function show(view) {
  $("#login-view").hidden = view !== "login";
  $("#board").hidden = view !== "board";
}

function fmtDuration(value) {
  if (value === "" || value === undefined) return "–";
  let s = Math.max(0, parseInt(value, 10) || 0);
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const pad = (x) => String(x).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function fmt(value, kind) {
  if (kind === "dur") return fmtDuration(value);
  if (value === "" || value === undefined) return "–";
  if (kind === "pct") return `${value}%`;
  return value;
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(API + path, init);
}

async function errorText(r) {
  try { return (await r.json()).error_message || r.statusText; } catch { return r.statusText; }
}

// ---- thresholds ---------------------------------------------------------------------

function thresholds(serviceId) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("wallboard.thresholds") || "{}"); } catch { saved = {}; }
  return { ...DEFAULT_THRESHOLDS, ...(saved[""] || {}), ...(saved[serviceId || ""] || {}) };
}

function level(stat, value, serviceId) {
  const kind = THRESHOLD_STATS[stat];
  if (!kind || value === "" || value === undefined) return null;
  const v = parseFloat(value);
  if (isNaN(v)) return null;
  const [warn, alert] = thresholds(serviceId)[kind];
  if (kind === "sl") return v < alert ? "alert" : v < warn ? "warn" : "ok";
  return v >= alert ? "alert" : v >= warn ? "warn" : "ok";
}

function markLevel(node, lvl) {
  node.classList.remove("lvl-ok", "lvl-warn", "lvl-alert");
  if (!lvl) return;
  node.classList.add("lvl-" + lvl);
  node.dataset.level = lvl;
  if (lvl !== "ok") {
    const sr = document.createElement("span");
    sr.className = "sr-only";
    sr.textContent = lvl === "alert" ? " (over the alert threshold)" : " (over the warning threshold)";
    node.append(sr);
  }
}

function renderThresholds() {
  const body = $("#thresholds-table tbody");
  body.replaceChildren();
  for (const svc of [{ id: "", name: "All services (totals and defaults)" }, ...services]) {
    const th = thresholds(svc.id);
    const row = document.createElement("tr");
    row.dataset.service = svc.id;
    const name = document.createElement("td");
    name.textContent = svc.name;
    row.append(name);
    for (const kind of ["waiting", "wait", "sl"]) {
      const cell = document.createElement("td");
      ["amber", "red"].forEach((color, i) => {
        const input = document.createElement("input");
        input.type = "number"; input.min = "0"; input.step = "1";
        input.value = th[kind][i];
        input.dataset.kind = kind; input.dataset.i = i;
        input.setAttribute("aria-label", `${svc.name}: ${kind === "sl" ? "service level" : kind === "wait" ? "longest wait" : "waiting chats"}, ${color}`);
        cell.append(input, " ");
      });
      row.append(cell);
    }
    body.append(row);
  }
}

$("#thresholds-btn").addEventListener("click", () => {
  const form = $("#thresholds");
  form.hidden = !form.hidden;
  $("#thresholds-btn").setAttribute("aria-expanded", String(!form.hidden));
  if (!form.hidden) renderThresholds();
});

$("#thresholds").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const saved = {};
  for (const row of $("#thresholds-table tbody").children) {
    const th = { waiting: [0, 0], wait: [0, 0], sl: [0, 0] };
    for (const input of row.querySelectorAll("input")) th[input.dataset.kind][Number(input.dataset.i)] = Number(input.value);
    saved[row.dataset.service] = th;
  }
  localStorage.setItem("wallboard.thresholds", JSON.stringify(saved));
  $("#thresholds").hidden = true;
  $("#thresholds-btn").setAttribute("aria-expanded", "false");
  schedule(0);
});

$("#thresholds-reset").addEventListener("click", () => {
  localStorage.removeItem("wallboard.thresholds");
  renderThresholds();
  schedule(0);
});

// ---- sign in / out --------------------------------------------------------------------

async function boot() {
  // the last tenant used here, else the server's hint (the tenant of this host, the demo
  // tenant when it exists, the only tenant), else the configured demo tenant
  let tenant = new URLSearchParams(location.search).get("tenant") || localStorage.getItem("wallboard.tenant") || "";
  for (const url of ["/agentapi/v1/login-hints", "/wallboard/config.json"]) {
    if (tenant) break;
    try {
      const cfg = await (await fetch(url, { cache: "no-store" })).json();
      tenant = cfg.tenant || cfg.default_tenant || "";
    } catch { /* no defaults */ }
  }
  $("#tenant").value = tenant;
  $("#login").value = localStorage.getItem("wallboard.login") || "";
  const r = await api("GET", "/cfg/teams");
  if (r.ok) start(); else show("login");
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  const body = {
    tenant_url: $("#tenant").value.trim(),
    username: $("#login").value.trim(),
    password: $("#password").value,
  };
  const r = await api("POST", "/auth", body);
  if (!r.ok) { $("#login-error").textContent = await errorText(r); return; }
  localStorage.setItem("wallboard.tenant", body.tenant_url);
  localStorage.setItem("wallboard.login", body.username);
  $("#password").value = "";
  start();
});

$("#logout-btn").addEventListener("click", async () => {
  stop();
  await api("DELETE", "/subscription/active").catch(() => {});
  await api("DELETE", "/auth").catch(() => {});
  show("login");
});

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

// ---- the subscription -----------------------------------------------------------------

function definition() {
  const columns = (list) => list.map(([name]) => ({ id: name, stat_name: name }));
  return {
    wallboard: {
      stats_totals: TOTALS.map(([name]) => name).concat(["service_level_target"]),
      service_grids: [{
        id: "services",
        columns: columns(SERVICE_COLS).concat([{ id: "service_id", stat_name: "service_id" },
          { id: "service_level_target", stat_name: "service_level_target" }]),
        order_by: "name", order_dir: "ASC",
      }],
      agent_grids: [{
        id: "agents",
        columns: columns(AGENT_COLS).concat(HIDDEN_AGENT_COLS.map((n) => ({ id: n, stat_name: n }))),
        order: [{ by: "acd_state", dir: "ASC" }, { by: "first_last_name", dir: "ASC" }],
        logged_in_agents_only: $("#logged-only").checked,
      }],
      chat_messages: { filter: "", limit: 20 },
    },
  };
}

async function subscribe() {
  const r = await api("POST", "/subscription", definition());
  if (r.status === 401) { stop(); show("login"); return false; }
  if (!r.ok) { setConn("off", await errorText(r)); return false; }
  return true;
}

function setConn(cls, text) {
  const el = $("#conn");
  el.className = "conn " + cls;
  el.textContent = text;
}

async function start() {
  show("board");
  $("#tenant-name").textContent = cookie("X-STATSAPI-TENANT");
  $("#who").textContent = cookie("X-STATSAPI-LOGIN");
  await loadServices();
  if (await subscribe()) { schedule(0); refreshChart(); }
}

function stop() {
  clearTimeout(pollTimer); pollTimer = null;
  clearTimeout(chartTimer); chartTimer = null;
}

function schedule(ms) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, ms);
}

async function poll() {
  let r;
  try {
    r = await api("GET", "/subscription/data");
  } catch {
    setConn("off", "offline"); schedule(3000); return;
  }
  if (r.status === 204) { schedule(300); return; }
  if (r.status === 401) { stop(); show("login"); return; }
  if (r.status === 404) { await subscribe(); schedule(300); return; }
  if (!r.ok) { setConn("off", await errorText(r)); await subscribe(); schedule(3000); return; }
  const data = (await r.json()).wallboard;
  render(data);
  setConn("on", "live");
  $("#updated").textContent = new Date().toLocaleTimeString();
  schedule(POLL_MS);
}

$("#logged-only").addEventListener("change", async () => { if (await subscribe()) schedule(0); });

// ---- rendering ------------------------------------------------------------------------

function render(data) {
  renderTotals(data.stats_totals || {});
  const grid = (data.service_grids || []).find((g) => g.id === "services");
  if (grid) renderTable("#services tbody", grid.values, SERVICE_COLS, decorateService);
  targets = {};
  for (const row of (grid ? grid.values : [])) targets[row.service_id] = row.service_level_target;
  targets[""] = (data.stats_totals || {}).service_level_target;
  const agents = (data.agent_grids || []).find((g) => g.id === "agents");
  if (agents) renderTable("#agents tbody", agents.values, AGENT_COLS, decorateAgent);
  renderMessages(data.chat_messages || []);
}

function renderTotals(totals) {
  const box = $("#totals");
  box.replaceChildren();
  for (const [name, label, kind] of TOTALS) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.stat = name;
    const v = document.createElement("div");
    v.className = "v";
    v.textContent = fmt(totals[name], kind);
    const k = document.createElement("div");
    k.className = "k";
    k.textContent = label;
    tile.append(v, k);
    markLevel(tile, level(name, totals[name], ""));
    box.append(tile);
  }
}

function renderTable(selector, rows, cols, decorate) {
  const body = $(selector);
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const [name, kind] of cols) {
      const td = document.createElement("td");
      td.dataset.stat = name;
      if (kind === "state") {
        const badge = document.createElement("span");
        badge.className = "state " + row[name];
        let text = STATE_NAMES[row[name]] || row[name];
        if (row.reason) text += ` (${row.reason})`;
        if (row.acd_next_state) text += ` → ${STATE_NAMES[row.acd_next_state] || row.acd_next_state}`;
        badge.textContent = text;
        td.append(badge);
      } else {
        if (kind !== "text") td.className = "n";
        td.textContent = fmt(row[name], kind);
      }
      tr.append(td);
    }
    if (decorate) decorate(tr, row);
    body.append(tr);
  }
}

function decorateService(tr, row) {
  tr.dataset.service = row.service_id;
  for (const td of tr.children) markLevel(td, level(td.dataset.stat, row[td.dataset.stat], row.service_id));
}

function decorateAgent(tr, row) {
  const name = row.first_last_name || row.login_id;
  tr.dataset.login = row.login_id;
  const chats = tr.querySelector('td[data-stat="active_items"]');
  if (chats && parseInt(row.active_items || "0", 10) > 0) {
    chats.classList.add("chats");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = row.active_items;
    b.setAttribute("aria-label", `${row.active_items} active: show ${name}'s interactions`);
    b.addEventListener("click", () => openAgent(row));
    chats.replaceChildren(b);
  }
  const td = document.createElement("td");
  if (row.acd_state !== "logged_out") {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small secondary manage";
    b.textContent = "Manage";
    b.setAttribute("aria-label", "Manage " + name);
    b.addEventListener("click", () => openAgent(row));
    td.append(b);
  }
  tr.append(td);
}

// ---- supervisor actions on an agent --------------------------------------------------

let dialogAgent = null;

async function openAgent(row) {
  dialogAgent = row;
  const dlg = $("#agent-dialog");
  $("#agent-dialog-title").textContent = `${row.first_last_name} (${row.login_id})`;
  let text = STATE_NAMES[row.acd_state] || row.acd_state;
  if (row.reason) text += ` (${row.reason})`;
  $("#agent-dialog-state").textContent = "Now: " + text;
  $("#agent-dialog-error").textContent = "";
  $("#agent-dialog-items").replaceChildren();
  if (!dlg.open) dlg.showModal();
  if (reasons === null) {
    try {
      const r = await api("GET", "/not-ready-reasons");
      reasons = r.ok ? (await r.json()).items : [];
    } catch { reasons = []; }
    const sel = $("#act-reason");
    sel.replaceChildren(new Option("(no reason)", ""), ...reasons.map((n) => new Option(n, n)));
  }
  try {
    const r = await api("GET", `/agents/${encodeURIComponent(row.login_id)}/interactions`);
    if (!r.ok) { $("#agent-dialog-error").textContent = await errorText(r); return; }
    const items = (await r.json()).items;
    const list = $("#agent-dialog-items");
    if (!items.length) { const li = document.createElement("li"); li.textContent = "None"; list.append(li); }
    for (const it of items) {
      const li = document.createElement("li");
      const since = it.since ? new Date(it.since).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      li.textContent = `${it.customer} · ${it.service || it.media} · ${it.phase.replace("_", " ")}${since ? " since " + since : ""}`;
      list.append(li);
    }
  } catch { /* the actions still work */ }
}

async function agentAction(body) {
  if (!dialogAgent) return;
  const r = await api("PUT", `/agents/${encodeURIComponent(dialogAgent.login_id)}/state`, body);
  if (!r.ok) { $("#agent-dialog-error").textContent = await errorText(r); return; }
  $("#agent-dialog").close();
  schedule(0);
}

$("#act-ready").addEventListener("click", () => agentAction({ state: "ready" }));
$("#act-not-ready").addEventListener("click", () => {
  const reason = $("#act-reason").value;
  agentAction(reason ? { state: "not_ready", reason } : { state: "not_ready" });
});
$("#act-logout").addEventListener("click", () => agentAction({ state: "logged_out" }));

function renderMessages(messages) {
  const list = $("#msg-list");
  list.replaceChildren();
  for (const m of messages) {
    const li = document.createElement("li");
    if (m.is_urgent === "1") li.className = "urgent-msg";
    const meta = document.createElement("div");
    meta.className = "meta";
    const when = new Date(parseInt(m.send_time, 10) * 1000).toLocaleTimeString();
    meta.textContent = `${m.first_name} ${m.last_name} · ${when}${m.is_urgent === "1" ? " · urgent" : ""}`;
    const text = document.createElement("div");
    text.textContent = m.content;
    li.append(meta, text);
    list.append(li);
  }
}

$("#msg-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const content = $("#msg-input").value.trim();
  if (!content) return;
  const r = await api("POST", "/chat_messages", { content, is_urgent: $("#msg-urgent").checked });
  if (r.ok) { $("#msg-input").value = ""; $("#msg-urgent").checked = false; }
  else alert(await errorText(r));
});

// ---- the day chart --------------------------------------------------------------------

async function loadServices() {
  const r = await api("GET", "/cfg/services");
  if (!r.ok) return;
  const select = $("#chart-service");
  const current = select.value;
  select.replaceChildren(new Option("All services", ""));
  services = (await r.json()).map((s) => ({ id: s.id, name: s.name }));
  for (const s of services) select.append(new Option(s.name, s.id));
  select.value = current;
}

$("#chart-service").addEventListener("change", refreshChart);

async function refreshChart() {
  clearTimeout(chartTimer);
  const id = $("#chart-service").value;
  try {
    const r = await api("GET", "/history" + (id ? `?service_id=${encodeURIComponent(id)}` : ""));
    if (r.ok) drawChart(await r.json(), targets[id]);
  } catch { /* next time */ }
  chartTimer = setTimeout(refreshChart, CHART_MS);
}

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawChart(history, target) {
  const box = $("#chart");
  box.replaceChildren();
  const W = 800, H = 220, L = 36, R = 40, T = 10, B = 24;
  const points = history.points;
  const bucket = parseInt(history.bucket_seconds, 10);
  const dayStart = parseInt(history.day_start, 10);
  // zoomed to the hours that have data (at least 3 hours, up to now)
  const withData = points.filter((p) => (parseInt(p.queue_length, 10) || 0) > 0 || p.service_level !== "");
  const nowS = Math.floor(Date.now() / 1000);
  let from = dayStart, to = dayStart + 24 * 3600;
  if (withData.length) {
    const first = Math.min(...withData.map((p) => parseInt(p.time, 10)));
    const last = Math.max(...withData.map((p) => parseInt(p.time, 10))) + bucket;
    from = dayStart + Math.floor((first - dayStart) / 3600) * 3600;
    to = dayStart + Math.ceil((Math.max(last, Math.min(nowS, to)) - dayStart) / 3600) * 3600;
    if (to - from < 3 * 3600) from = Math.max(dayStart, to - 3 * 3600);
    if (to - from < 3 * 3600) to = Math.min(dayStart + 24 * 3600, from + 3 * 3600);
  }
  box.dataset.from = String(from);
  box.dataset.to = String(to);
  const span = to - from;
  const x = (t) => L + ((t - from) / span) * (W - L - R);
  const qMax = Math.max(4, ...points.map((p) => parseInt(p.queue_length, 10) || 0));
  const yQ = (v) => H - B - (v / qMax) * (H - T - B);
  const yS = (v) => H - B - (v / 100) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const y = T + (i * (H - T - B)) / 4;
    box.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
    box.append(svg("text", { class: "axis", x: L - 6, y: y + 4, "text-anchor": "end" },
      String(Math.round(qMax * (1 - i / 4)))));
    box.append(svg("text", { class: "axis", x: W - R + 6, y: y + 4 }, `${100 - i * 25}%`));
  }
  const hours = span / 3600;
  const step = hours <= 6 ? 1 : hours <= 12 ? 2 : 3;
  for (let h = 0; h <= hours; h += step) {
    const t = from + h * 3600;
    const label = new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    box.append(svg("text", { class: "axis", x: x(t), y: H - 6, "text-anchor": "middle" }, label));
  }
  const barW = Math.max(1, x(dayStart + bucket) - x(dayStart) - 0.5);
  let path = "";
  let last = null;
  for (const p of points) {
    const t = parseInt(p.time, 10);
    if (t < from || t >= to) continue;
    const q = parseInt(p.queue_length, 10) || 0;
    if (q > 0) {
      box.append(svg("rect", { class: "queue", x: x(t), y: yQ(q), width: barW, height: H - B - yQ(q) }));
    }
    if (p.service_level !== "") {
      const px = x(t + bucket);
      const py = yS(parseInt(p.service_level, 10));
      path += (path ? " L" : "M") + px.toFixed(1) + " " + py.toFixed(1);
      last = [px, py];
    }
  }
  if (target) {
    const y = yS(parseInt(target, 10));
    box.append(svg("line", { class: "target", x1: L, x2: W - R, y1: y, y2: y }));
  }
  if (path) box.append(svg("path", { class: "sl", d: path }));
  if (last) box.append(svg("circle", { class: "sl-dot", cx: last[0], cy: last[1], r: 3.5 }));
}

boot();
