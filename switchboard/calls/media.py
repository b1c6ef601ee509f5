"""The server in the media path (``SWITCHBOARD_CALLS_MEDIA_PATH=server``): each call's two
WebRTC connections terminated here with aiortc, media relayed between them, each party
recorded on its own channel, and on hang-up a regular (mixed) and a multichannel
recording stored through ``switchboard.recordings``.

    agent browser --OFFER--> [pc_agent | Session | pc_customer] --OFFER_CALL--> customer
                  <-ANSWER--                                  <--ANSWER_CALL--

All of aiortc (ICE, DTLS, SRTP, Opus/VP8 decoding and encoding) runs on a thread of its
own with its own event loop, so media never stalls the loop that serves chats; what a
session must tell a browser goes back to the main loop (``run_coroutine_threadsafe``) as
one short transaction (``calls.actions.media_to_agent`` / ``media_to_customer``). Each
party's audio is written as it arrives (8 kHz 16-bit mono, a few KB a second) to a
spool file, so a long call costs no memory.

A session lives in the process whose request carried the agent's offer; the signaling
that follows reaches it directly when the same process handles it, and through the bus
topic ``calls-media`` from the other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import json
import logging
import os
import threading
import time
import wave
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from switchboard.calls.models import Call
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

TOPIC = "calls-media"
PROVIDER = "calls.media"
RATE = 8000  # the recordings' rate
_ORIGIN = f"{os.getpid()}-{id(object())}"


_runtimes: list[Runtime] = []


def runtime() -> Runtime | None:
    """The runtime whose media server runs in this process (for the chat engine's hooks,
    which have no runtime at hand)."""
    return _runtimes[-1] if _runtimes else None


def server_of(rt: Runtime) -> MediaServer | None:
    found = rt.providers.get(PROVIDER)
    return found if isinstance(found, MediaServer) else None


async def dispatch(rt: Runtime, call: Call, data: dict[str, Any]) -> None:
    """After the commit of a signaling message of a server-path call: to the local media
    server, and to the other processes' (the one that holds the session answers)."""
    server = server_of(rt)
    if server is not None:
        server.submit(call.id, _call_info(call), data)
    if rt.bus is not None:
        payload = {"origin": _ORIGIN, "call": _call_info(call), "data": data}
        await rt.bus.publish(TOPIC, json.dumps(payload))


def _call_info(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "tenant_id": call.tenant_id,
        "chat_id": call.chat_id,
        "video": bool(call.video),
    }


# ---- the media thread -------------------------------------------------------------------


class Forward:
    """A track sending what the other party's track delivers (restamped)."""

    def __init__(self, kind: str) -> None:
        from aiortc import MediaStreamTrack

        outer = self

        class _Track(MediaStreamTrack):
            def __init__(self) -> None:
                super().__init__()
                self.kind = kind

            async def recv(self) -> Any:
                return await outer.next_frame()

        self.kind = kind
        self.track = _Track()
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=50)
        self.pts = 0
        self.start = time.monotonic()

    def push(self, frame: Any) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(frame)

    async def next_frame(self) -> Any:
        frame = await self.queue.get()
        if self.kind == "audio":
            frame.pts = self.pts
            self.pts += frame.samples
            frame.time_base = fractions.Fraction(1, frame.sample_rate)
        else:
            frame.pts = int((time.monotonic() - self.start) * 90000)
            frame.time_base = fractions.Fraction(1, 90000)
        return frame


@dataclass
class Spool:
    """One party's audio, 8 kHz mono 16-bit, written as it arrives."""

    path: Path
    started: float | None = None  # monotonic time of the first frame
    samples: int = 0
    fh: Any = None

    def write(self, frame: Any, t0: float) -> None:
        pcm = frame.to_ndarray().astype(np.float64)
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            mono = pcm.reshape(channels, -1).mean(axis=0)
        else:
            mono = pcm.reshape(-1, channels).mean(axis=1)
        if frame.format.name.startswith(("flt", "dbl")):
            mono = mono * 32767.0
        step = max(1, frame.sample_rate // RATE)
        n = len(mono) // step * step
        down = mono[:n].reshape(-1, step).mean(axis=1)
        if self.fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = self.path.open("wb")
            self.started = time.monotonic()
            # silence from the call's start to this party's first frame
            lead = max(0, round((self.started - t0) * RATE))
            self.fh.write(np.zeros(lead, dtype="<i2").tobytes())
            self.samples += lead
        out = np.clip(down, -32767, 32767).astype("<i2")
        self.fh.write(out.tobytes())
        self.samples += len(out)

    def read(self) -> np.ndarray[Any, np.dtype[np.int16]]:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        if not self.path.exists():
            return np.zeros(0, dtype=np.int16)
        data = np.frombuffer(self.path.read_bytes(), dtype="<i2").astype(np.int16)
        with contextlib.suppress(OSError):
            self.path.unlink()
        return data


@dataclass
class Session:
    call_id: str
    info: dict[str, Any]
    spool_dir: Path
    pcs: dict[str, Any] = field(default_factory=dict)  # "agent" / "customer" -> pc
    forwards: dict[tuple[str, str], Forward] = field(default_factory=dict)  # (to, kind)
    spools: dict[str, Spool] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    frames: dict[str, int] = field(default_factory=lambda: {"agent": 0, "customer": 0})
    closed: bool = False

    def forward(self, to: str, kind: str) -> Forward:
        key = (to, kind)
        if key not in self.forwards:
            self.forwards[key] = Forward(kind)
        return self.forwards[key]


class MediaServer:
    """The aiortc thread of one process and its sessions."""

    def __init__(self, rt: Runtime, main_loop: asyncio.AbstractEventLoop) -> None:
        self.rt = rt
        self.main = main_loop
        self.loop = asyncio.new_event_loop()
        self.sessions: dict[str, Session] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.spool_dir = Path(rt.settings.data_dir) / "recordings" / "spool"
        self.thread = threading.Thread(target=self._run, name="calls-media", daemon=True)

    # the main loop's side
    def start(self) -> None:
        self.thread.start()

    def submit(self, call_id: str, info: dict[str, Any], data: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(
            lambda: self.loop.create_task(self._handle(call_id, info, data))
        )

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._close_all(), self.loop)
        with contextlib.suppress(Exception):
            fut.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _on_main(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.main)

    # the media thread's side
    async def _close_all(self) -> None:
        for call_id in list(self.sessions):
            await self._end(call_id, store=False)

    async def _handle(self, call_id: str, info: dict[str, Any], data: dict[str, Any]) -> None:
        # one call's messages in the order they came (a lock is FIFO): a candidate
        # trickled right after an offer waits for the offer's connection
        lock = self.locks.setdefault(call_id, asyncio.Lock())
        async with lock:
            try:
                await self._handle_one(call_id, info, data)
            except Exception:
                log.exception("calls media: %s failed on %s", call_id, data.get("type"))
            if call_id not in self.sessions and data.get("type") != "OFFER_CALL":
                self.locks.pop(call_id, None)

    async def _handle_one(self, call_id: str, info: dict[str, Any], data: dict[str, Any]) -> None:
        kind = data.get("type")
        side = str(data.get("from") or "")
        if kind == "END_CALL" or kind == "CALL_REJECTED":
            await self._end(call_id, store=True)
            return
        session = self.sessions.get(call_id)
        if kind == "OFFER_CALL" and side == "agent":
            if session is None:
                session = Session(call_id, info, self.spool_dir)
                self.sessions[call_id] = session
            await self._agent_offer(session, str(data.get("sdp") or ""))
            return
        if session is None:
            return
        if kind == "ANSWER_CALL" and side == "customer":
            from aiortc import RTCSessionDescription

            pc = session.pcs.get("customer")
            if pc is not None and pc.signalingState == "have-local-offer":
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=str(data.get("sdp") or ""), type="answer")
                )
        elif kind == "ICE_CANDIDATE" and side in ("agent", "customer"):
            await self._candidate(session.pcs.get(side), data)

    async def _candidate(self, pc: Any, data: dict[str, Any]) -> None:
        from aiortc.sdp import candidate_from_sdp

        text = str(data.get("candidate") or "")
        if pc is None or not text:
            return
        cand = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        cand.sdpMid = None if data.get("sdpMid") is None else str(data.get("sdpMid"))
        index = data.get("sdpMLineIndex")
        cand.sdpMLineIndex = int(index) if index not in (None, "") else None
        await pc.addIceCandidate(cand)

    def _pc(self, session: Session, side: str) -> Any:
        from aiortc import RTCConfiguration, RTCPeerConnection

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session.pcs[side] = pc
        other = "customer" if side == "agent" else "agent"

        @pc.on("track")
        def on_track(track: Any) -> None:
            session.tasks.append(asyncio.ensure_future(self._consume(session, side, other, track)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("calls media: %s %s %s", session.call_id, side, pc.connectionState)

        return pc

    async def _consume(self, session: Session, side: str, other: str, track: Any) -> None:
        """Relay a party's track to the other party; record its audio."""
        from aiortc.mediastreams import MediaStreamError

        forward = session.forward(other, track.kind)
        spool = None
        if track.kind == "audio":
            spool = session.spools.setdefault(
                side, Spool(session.spool_dir / f"{session.call_id}-{side}.raw")
            )
        limit = self.rt.settings.calls_max_seconds
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            session.frames[side] += 1
            if spool is not None and spool.samples < limit * RATE:
                spool.write(frame, session.t0)
            forward.push(frame)

    async def _agent_offer(self, session: Session, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        video = bool(session.info.get("video"))
        pc_a = session.pcs.get("agent") or self._pc(session, "agent")
        await pc_a.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in pc_a.getTransceivers():
            kind = transceiver.kind
            if kind in ("audio", "video"):
                pc_a.addTrack(session.forward("agent", kind).track)
        answer = await pc_a.createAnswer()
        await pc_a.setLocalDescription(answer)
        from switchboard.calls import actions

        self._on_main(
            actions.media_to_agent(
                self.rt,
                session.call_id,
                {"type": "ANSWER_CALL", "sdp": pc_a.localDescription.sdp},
            )
        )
        if "customer" in session.pcs:
            return
        pc_c = self._pc(session, "customer")
        pc_c.addTrack(session.forward("customer", "audio").track)
        if video:
            pc_c.addTrack(session.forward("customer", "video").track)
        offer = await pc_c.createOffer()
        await pc_c.setLocalDescription(offer)
        self._on_main(
            actions.media_to_customer(
                self.rt,
                session.call_id,
                {
                    "type": "OFFER_CALL",
                    "offerVideo": "true" if video else "false",
                    "sdp": pc_c.localDescription.sdp,
                },
            )
        )

    async def _end(self, call_id: str, *, store: bool) -> None:
        session = self.sessions.pop(call_id, None)
        if session is None or session.closed:
            return
        session.closed = True
        for pc in session.pcs.values():
            with contextlib.suppress(Exception):
                await pc.close()
        for task in session.tasks:
            task.cancel()
        for task in session.tasks:
            with contextlib.suppress(BaseException):
                await task
        channels = [
            session.spools[s].read() if s in session.spools else np.zeros(0, dtype=np.int16)
            for s in ("customer", "agent")
        ]
        ended_at = datetime.now(UTC)
        log.info(
            "calls media: %s ended, frames %s, samples %s, %.1f s",
            call_id,
            session.frames,
            [len(c) for c in channels],
            time.monotonic() - session.t0,
        )
        if not store or not any(len(c) for c in channels):
            return
        wav = two_channel_wav(channels)
        from switchboard.calls import actions

        self._on_main(actions.store_recording(self.rt, call_id, wav, ended_at))


def two_channel_wav(channels: list[np.ndarray[Any, np.dtype[np.int16]]]) -> bytes:
    """One 16-bit PCM WAV, one channel per party (customer, agent), at ``RATE``."""
    length = max(1, *(len(c) for c in channels))
    frames = np.zeros((length, len(channels)), dtype="<i2")
    for i, c in enumerate(channels):
        frames[: len(c), i] = c
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames.tobytes())
    return out.getvalue()


async def run_server(rt: Runtime) -> None:
    """The media server of this process, while the process runs (``calls.workers``)."""
    server = MediaServer(rt, asyncio.get_running_loop())
    server.start()
    rt.providers[PROVIDER] = server
    _runtimes.append(rt)
    try:
        async with rt.bus.listen([TOPIC]) as waiter:
            while True:
                await waiter.wait(3600.0)
                for _topic, payload in waiter.drain_pairs():
                    try:
                        msg = json.loads(payload)
                    except ValueError:
                        continue
                    if not isinstance(msg, dict) or msg.get("origin") == _ORIGIN:
                        continue
                    call = msg.get("call") or {}
                    data = msg.get("data") or {}
                    # only the process holding the session acts on it
                    if call.get("id") in server.sessions and data.get("type") != "OFFER_CALL":
                        server.submit(str(call["id"]), call, data)
    finally:
        rt.providers.pop(PROVIDER, None)
        with contextlib.suppress(ValueError):
            _runtimes.remove(rt)
        await asyncio.to_thread(server.stop)
