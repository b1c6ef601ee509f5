// Calls in the demo chat (issue 14): the seed's chat_session_signaling with the
// browser's own WebRTC. The customer asks (REQUEST_CALL), the other side offers
// (OFFER_CALL: the agent's browser, or the server when it is in the media path), the
// customer answers (ANSWER_CALL), candidates go both ways (ICE_CANDIDATE), either side
// ends it (END_CALL, CALL_REJECTED). Loaded after app.js: it uses its `state`, `call`
// and `send`, and app.js hands it every live signaling event (sbCall.signal).
"use strict";

const sbCall = (() => {
  const C = { pc: null, local: null, video: false, answered: false, pending: [],
    startedAt: 0, timer: null, videoEnabled: false, iceServers: null, busy: false };
  const $c = (id) => document.getElementById(id);

  function status(text) { $c("call-status").textContent = text; }
  function agentParty() {
    const ids = Object.keys(state.parties);
    return ids.length ? ids[ids.length - 1] : undefined;
  }
  async function signal(data) {
    const event = { event: "chat_session_signaling", data };
    const to = agentParty();
    if (to) event.destination_party_id = to;
    const { data: answer, cursor } = await send([event]);
    // the POST answers with what was pending: hand it to the chat as a poll would
    if (cursor !== null) state.cursor = cursor;
    for (const e of (answer && answer.events) || []) render(e, true);
  }
  async function iceServers() {
    if (C.iceServers) return C.iceServers;
    try {
      const { data } = await call("GET", "/iceservers");
      C.iceServers = (data.servers || []).map((s) => {
        const out = { urls: s.url };
        if (s.username) { out.username = s.username; out.credential = s.credential; }
        return out;
      });
    } catch (_) { C.iceServers = []; }
    return C.iceServers;
  }
  function gathered(pc, ms) {
    // the whole description at once (servers without trickle ICE), at most `ms`
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, ms);
    });
  }
  function tick() {
    const s = Math.floor((Date.now() - C.startedAt) / 1000);
    $c("call-time").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
  function ui(active) {
    $c("call-panel").hidden = !active;
    $c("call-btn").hidden = active || !state.chatId || state.ended;
    if (C.videoEnabled) $c("video-btn").hidden = $c("call-btn").hidden;
  }
  function teardown(text) {
    if (C.pc) { C.pc.close(); C.pc = null; }
    if (C.local) { for (const t of C.local.getTracks()) t.stop(); C.local = null; }
    clearInterval(C.timer);
    C.answered = false; C.busy = false; C.pending = [];
    $c("remote-audio").srcObject = null; $c("remote-video").srcObject = null;
    $c("remote-video").hidden = true;
    ui(false);
    if (text) line("info", text);
  }
  async function request(video) {
    if (C.busy || !state.chatId) return;
    C.busy = true; C.video = video;
    ui(true); status(video ? "Requesting a video call…" : "Calling…");
    $c("call-time").textContent = "";
    try { await signal({ type: "REQUEST_CALL", offerVideo: video ? "true" : "false" }); }
    catch (error) { teardown(`The call failed: ${error.message}`); return; }
    // nobody answers within a minute: give up (the server ends the call with it)
    clearTimeout(C.noAnswer);
    C.noAnswer = setTimeout(() => {
      if (C.busy && !C.pc) {
        signal({ type: "END_CALL" }).catch(() => {});
        teardown("Nobody answered the call.");
      }
    }, 60000);
  }
  async function offered(data) {
    const video = String(data.offerVideo) === "true";
    C.busy = true; ui(true); status("Connecting…");
    const pc = new RTCPeerConnection({ iceServers: await iceServers() });
    C.pc = pc;
    pc.ontrack = (e) => {
      const el = e.track.kind === "video" ? $c("remote-video") : $c("remote-audio");
      el.srcObject = e.streams[0] || new MediaStream([e.track]);
      if (e.track.kind === "video") el.hidden = false;
    };
    pc.onicecandidate = (e) => {
      if (e.candidate && C.answered) {
        signal({ type: "ICE_CANDIDATE", candidate: e.candidate.candidate,
          sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }).catch(() => {});
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && !C.startedAt) {
        C.startedAt = Date.now(); tick(); C.timer = setInterval(tick, 1000);
        status(video ? "In a video call" : "In a call");
      } else if (pc.connectionState === "failed") {
        signal({ type: "END_CALL" }).catch(() => {});
        teardown("The call was lost.");
      }
    };
    try {
      C.local = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (error) {
      await signal({ type: "CALL_REJECTED", reason_code: "media", reason: String(error) }).catch(() => {});
      teardown("No microphone: the call was declined.");
      return;
    }
    await pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
    for (const t of C.local.getTracks()) pc.addTrack(t, C.local);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc, 3000);
    await signal({ type: "ANSWER_CALL", sdp: pc.localDescription.sdp });
    C.answered = true;
    for (const c of C.pending.splice(0)) pc.addIceCandidate(c).catch(() => {});
  }
  function candidate(data) {
    if (!data.candidate) return;
    const c = { candidate: data.candidate, sdpMid: data.sdpMid,
      sdpMLineIndex: data.sdpMLineIndex === undefined ? null : Number(data.sdpMLineIndex) };
    if (C.pc && C.pc.remoteDescription) C.pc.addIceCandidate(c).catch(() => {});
    else C.pending.push(c);
  }
  function onSignal(event, live) {
    if (!live || event.party_id === state.chatId) return;
    let data = event.data;
    if (typeof data === "string") { try { data = JSON.parse(data); } catch (_) { return; } }
    if (!data) return;
    switch (data.type) {
      case "OFFER_CALL": C.startedAt = 0; offered(data).catch((e) => teardown(`The call failed: ${e.message}`)); break;
      case "ICE_CANDIDATE": candidate(data); break;
      case "END_CALL": teardown("The call has ended."); break;
      case "CALL_REJECTED": teardown("The call was declined."); break;
      default: break;
    }
  }
  function hangUp() {
    if (state.chatId && !state.ended) signal({ type: "END_CALL" }).catch(() => {});
    teardown("You ended the call.");
  }
  function mute() {
    if (!C.local) return;
    const on = !C.local.getAudioTracks().every((t) => t.enabled);
    for (const t of C.local.getAudioTracks()) t.enabled = on;
    $c("call-mute").textContent = on ? "Mute" : "Unmute";
  }
  async function setup() {
    try {
      const config = (await call("GET", "/configuration")).data.definition;
      C.videoEnabled = Boolean((config.chatWidgetStyling || {}).videoCallEnabled);
    } catch (_) { C.videoEnabled = false; }
    $c("call-btn").addEventListener("click", () => request(false));
    $c("video-btn").addEventListener("click", () => request(true));
    $c("call-hangup").addEventListener("click", hangUp);
    $c("call-mute").addEventListener("click", mute);
    // show the buttons while a chat is open
    setInterval(() => { if (!C.busy) ui(false); }, 500);
    ui(false);
  }
  setup();
  return { signal: onSignal, request, hangUp, get pc() { return C.pc; }, get state() { return C; } };
})();
window.sbCall = sbCall;
