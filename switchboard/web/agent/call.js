// Calls in the agent desktop (issue 14): rings on a customer's REQUEST_CALL, answers with
// the browser's own WebRTC (mute, hold, hang up, the call's duration).
// Self-contained: it reads the session token the desktop keeps (sessionStorage
// "sb.token") and follows the agent's realtime channel as a long poll of its own
// (GET /agentapi/v1/events), so the desktop's other files need no change.
// Frames used: call_ringing, call_connected, call_ended, call_signal (the server's
// answer when it is in the media path), interaction_ended, and chat_event frames with
// the customer's chat_session_signaling (ANSWER_CALL, ICE_CANDIDATE, END_CALL,
// CALL_REJECTED) when the browsers talk directly.
"use strict";

const sbAgentCall = (() => {
  const API = "/agentapi/v1";
  const K = { token: "", cursor: "", call: null, pc: null, local: null, pending: [],
    startedAt: 0, timer: null, muted: false, held: false, running: false };
  const bar = document.getElementById("call-bar");

  function h(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    Object.assign(e, props);
    for (const c of children) e.append(c);
    return e;
  }
  const ui = {
    status: h("strong", { id: "call-status" }),
    time: h("span", { id: "call-time", className: "muted" }),
    answer: h("button", { id: "call-answer", type: "button", textContent: "Answer" }),
    decline: h("button", { id: "call-decline", type: "button", className: "danger", textContent: "Decline" }),
    mute: h("button", { id: "call-mute", type: "button", textContent: "Mute" }),
    hold: h("button", { id: "call-hold", type: "button", textContent: "Hold" }),
    hangup: h("button", { id: "call-hangup", type: "button", className: "danger", textContent: "Hang up" }),
    audio: h("audio", { id: "call-remote-audio", autoplay: true }),
    video: h("video", { id: "call-remote-video", autoplay: true, playsInline: true, hidden: true }),
  };
  if (bar) {
    bar.append(h("span", {}, "📞 "), ui.status, " ", ui.time, " ", ui.answer, ui.decline,
      ui.mute, ui.hold, ui.hangup, ui.audio, ui.video);
    bar.hidden = true;
  }

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: "Bearer " + K.token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(API + path, opts);
    const data = r.headers.get("content-type")?.includes("json") ? await r.json() : {};
    if (!r.ok) throw Object.assign(new Error(data.message || r.statusText), { status: r.status });
    return data;
  }
  function signal(data) {
    return api("POST", `/interactions/${K.call.interaction_id}/signaling`, { data });
  }
  function show(state) {
    if (!bar) return;
    bar.hidden = state === "idle";
    bar.style.display = bar.hidden ? "none" : "flex";
    bar.dataset.state = state;
    ui.answer.hidden = ui.decline.hidden = state !== "ringing";
    ui.mute.hidden = ui.hold.hidden = ui.hangup.hidden = !(state === "connecting" || state === "connected");
  }
  function tick() {
    const s = Math.floor((Date.now() - K.startedAt) / 1000);
    ui.time.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
  function ring() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 660; g.gain.value = 0.08; o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.4);
    } catch (_) { /* the bar is the cue */ }
  }
  function teardown(text) {
    if (K.pc) { K.pc.close(); K.pc = null; }
    if (K.local) { for (const t of K.local.getTracks()) t.stop(); K.local = null; }
    clearInterval(K.timer);
    K.pending = []; K.muted = false; K.held = false; K.startedAt = 0;
    ui.mute.textContent = "Mute"; ui.hold.textContent = "Hold";
    ui.audio.srcObject = null; ui.video.srcObject = null; ui.video.hidden = true;
    if (K.call && text) {
      ui.status.textContent = text;
      show("ended");
      setTimeout(() => { if (!K.call) show("idle"); }, 4000);
    }
    K.call = null;
    if (!text) show("idle");
  }
  function gathered(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") resolve();
      });
      setTimeout(resolve, ms);
    });
  }
  async function iceServers() {
    try {
      const { servers } = await api("GET", "/iceservers");
      return servers.map((s) => (s.username ? { urls: s.url, username: s.username, credential: s.credential } : { urls: s.url }));
    } catch (_) { return []; }
  }
  async function answer() {
    const call = K.call;
    if (!call) return;
    show("connecting");
    ui.status.textContent = "Connecting…";
    try {
      K.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: Boolean(call.video) });
    } catch (error) {
      await signal({ type: "CALL_REJECTED", reason_code: "media", reason: "No microphone" }).catch(() => {});
      teardown("No microphone: call declined");
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: await iceServers() });
    K.pc = pc;
    for (const t of K.local.getTracks()) pc.addTrack(t, K.local);
    pc.ontrack = (e) => {
      const el = e.track.kind === "video" ? ui.video : ui.audio;
      el.srcObject = e.streams[0] || new MediaStream([e.track]);
      if (e.track.kind === "video") el.hidden = false;
    };
    pc.onicecandidate = (e) => {
      if (e.candidate && K.sentOffer) {
        signal({ type: "ICE_CANDIDATE", candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
          sdpMLineIndex: e.candidate.sdpMLineIndex }).catch(() => {});
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && !K.startedAt) {
        K.startedAt = Date.now(); tick(); K.timer = setInterval(tick, 1000);
        ui.status.textContent = call.video ? "In a video call" : "In a call";
        show("connected");
      } else if (pc.connectionState === "failed") {
        hangUp("The call was lost");
      }
    };
    K.sentOffer = false;
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 3000);
    await signal({ type: "OFFER_CALL", offerVideo: call.video ? "true" : "false", sdp: pc.localDescription.sdp });
    K.sentOffer = true;
  }
  async function remoteAnswer(sdp) {
    if (!K.pc || K.pc.signalingState !== "have-local-offer") return;
    await K.pc.setRemoteDescription({ type: "answer", sdp });
    for (const c of K.pending.splice(0)) K.pc.addIceCandidate(c).catch(() => {});
  }
  function remoteCandidate(data) {
    if (!data.candidate) return;
    const c = { candidate: data.candidate, sdpMid: data.sdpMid,
      sdpMLineIndex: data.sdpMLineIndex === undefined ? null : Number(data.sdpMLineIndex) };
    if (K.pc && K.pc.remoteDescription) K.pc.addIceCandidate(c).catch(() => {});
    else K.pending.push(c);
  }
  function decline() {
    if (!K.call) return;
    signal({ type: "CALL_REJECTED", reason_code: "declined", reason: "Declined by the agent" }).catch(() => {});
    teardown("Declined");
  }
  function hangUp(text) {
    if (!K.call) return;
    signal({ type: "END_CALL" }).catch(() => {});
    teardown(typeof text === "string" ? text : "Call ended");
  }
  function mute() {
    if (!K.local) return;
    K.muted = !K.muted;
    for (const t of K.local.getAudioTracks()) t.enabled = !K.muted && !K.held;
    ui.mute.textContent = K.muted ? "Unmute" : "Mute";
  }
  function hold() {
    if (!K.local) return;
    K.held = !K.held;
    for (const t of K.local.getTracks()) t.enabled = !K.held && !(t.kind === "audio" && K.muted);
    ui.audio.muted = K.held;
    ui.hold.textContent = K.held ? "Resume" : "Hold";
    ui.status.textContent = K.held ? "On hold" : (K.call && K.call.video ? "In a video call" : "In a call");
  }
  ui.answer.addEventListener("click", () => answer().catch((e) => hangUp(`The call failed: ${e.message}`)));
  ui.decline.addEventListener("click", decline);
  ui.hangup.addEventListener("click", () => hangUp());
  ui.mute.addEventListener("click", mute);
  ui.hold.addEventListener("click", hold);

  function customerSignal(frame) {
    const e = frame.event || {};
    if (e.event !== "chat_session_signaling" || !K.call || frame.chat_id !== K.call.chat_id) return;
    let data = e.data;
    if (typeof data === "string") { try { data = JSON.parse(data); } catch (_) { return; } }
    if (!data) return;
    const fromCustomer = e.party_id === K.call.chat_id;
    if (data.type === "END_CALL" || data.type === "CALL_REJECTED") {
      // the customer's, or the server's when the chat or the agent's part ends
      const text = !fromCustomer ? "Call ended" : data.type === "END_CALL" ? "The customer hung up" : "The customer declined";
      teardown(text);
      return;
    }
    if (!fromCustomer || K.call.media_path === "server") return;
    if (data.type === "ANSWER_CALL") remoteAnswer(data.sdp).catch(() => {});
    else if (data.type === "ICE_CANDIDATE") remoteCandidate(data);
  }
  function handle(f) {
    switch (f.type) {
      case "call_ringing":
        K.call = f;
        ui.status.textContent = f.video ? "Incoming video call" : "Incoming call";
        ui.time.textContent = "";
        show("ringing");
        ring();
        break;
      case "call_signal":
        if (K.call && f.call_id === K.call.call_id && f.data) {
          if (f.data.type === "ANSWER_CALL") remoteAnswer(f.data.sdp).catch(() => {});
          else if (f.data.type === "ICE_CANDIDATE") remoteCandidate(f.data);
        }
        break;
      case "call_connected":
        if (K.call && f.call_id === K.call.call_id) K.call.state = "connected";
        break;
      case "call_ended":
        if (K.call && f.call_id === K.call.call_id) teardown(f.reason === "rejected" ? "Declined" : "Call ended");
        break;
      case "interaction_ended":
        if (K.call && f.interaction_id === K.call.interaction_id) teardown("The chat ended");
        break;
      case "chat_event":
        customerSignal(f);
        break;
      default:
        break;
    }
  }
  async function resumeCalls() {
    // after a reload: a call still ringing rings again; one this page was in is over
    // (its connection went with the page)
    const { interactions } = await api("GET", "/interactions");
    for (const it of interactions) {
      if (it.mine.phase !== "connected") continue;
      const { calls } = await api("GET", `/interactions/${it.id}/calls`);
      for (const c of calls) {
        if (c.state === "ended") continue;
        const frame = { call_id: c.id, interaction_id: it.id, chat_id: c.chat_id, video: c.video,
          media_path: c.media_path, party_id: c.party_id || it.mine.party_id, state: c.state };
        if (c.state === "ringing" || c.state === "waiting") handle({ type: "call_ringing", ...frame });
        else {
          K.call = frame;
          hangUp("The call ended when the desktop reloaded");
        }
      }
    }
  }
  async function follow() {
    if (K.running) return;
    K.running = true;
    while (K.token) {
      try {
        if (!K.cursor) {
          K.cursor = (await api("GET", "/me")).cursor;
          await resumeCalls().catch(() => {});
        }
        const q = new URLSearchParams({ cursor: K.cursor, timeout: "25" });
        const body = await api("GET", `/events?${q}`);
        K.cursor = body.cursor;
        for (const f of body.events) handle(f);
      } catch (error) {
        if (error.status === 401) { K.token = ""; break; }
        if (error.status === 400) K.cursor = "";
        await new Promise((r) => setTimeout(r, 2000));
      }
      const now = sessionStorage.getItem("sb.token") || "";
      if (now !== K.token) { K.token = now; K.cursor = ""; }
    }
    K.running = false;
  }
  // start once the desktop has a session, and again after a new login
  setInterval(() => {
    const token = sessionStorage.getItem("sb.token") || "";
    if (token && token !== K.token) { K.token = token; K.cursor = ""; }
    if (K.token && !K.running) follow();
    if (!token && K.call) teardown();
  }, 500);
  return { get pc() { return K.pc; }, get call() { return K.call; }, answer, decline, hangUp, mute, hold };
})();
window.sbAgentCall = sbAgentCall;
