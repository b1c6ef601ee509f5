"""The server in the media path (issue 14, ``calls_media_path = "server"``): two WebRTC
clients (aiortc, each sending a tone of its own pitch) talk to the server, which answers
the agent's offer, makes its own offer to the customer, relays the audio both ways,
records each party on its own channel and stores the recordings that the recordings
APIs serve."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import os
import time
import wave
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile  # type: ignore[import-untyped]
from sqlalchemy import select

from switchboard.calls import media
from switchboard.calls.models import Call
from switchboard.core.runtime import Runtime
from switchboard.recordings.models import Recording
from tests.conftest import BACKEND, LiveServer, TenantInfo
from tests.test_calls_signaling import AGENT_API, signal, started

aiortc = pytest.importorskip("aiortc")
av = pytest.importorskip("av")

CONFIG = "/configapi/v2"
RATE = 48000


class Tone(aiortc.MediaStreamTrack):  # type: ignore[misc]
    """A sine wave, paced like a microphone (20 ms frames)."""

    kind = "audio"

    def __init__(self, freq: float) -> None:
        super().__init__()
        self.freq = freq
        self.ts = 0
        self.start: float | None = None

    async def recv(self) -> Any:
        samples = 960
        if self.start is None:
            self.start = time.monotonic()
        else:
            self.ts += samples
            wait = self.start + self.ts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(samples) + self.ts) / RATE
        pcm = (8000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.ts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def peak_hz(pcm: np.ndarray[Any, Any], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


async def loud_frames(track: Any, n: int) -> int:
    """Reads frames of a received track until ``n`` carry sound; how many it read."""
    loud = read = 0
    while loud < n:
        frame = await asyncio.wait_for(track.recv(), 20)
        read += 1
        if np.abs(frame.to_ndarray()).max() > 1000:
            loud += 1
    return read


def trickled(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The description without its candidates, and them as ``ICE_CANDIDATE`` messages
    (what a client that trickles ICE, like the SDKs, sends)."""
    lines, found = [], []
    index, mid = -1, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            index, mid = index + 1, None
        elif line.startswith("a=mid:"):
            mid = line[6:]
        if line.startswith("a=candidate:"):
            found.append(
                {
                    "type": "ICE_CANDIDATE",
                    "candidate": line[2:],
                    "sdpMid": mid,
                    "sdpMLineIndex": index,
                }
            )
            continue
        if line.startswith("a=end-of-candidates"):
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n", found


@pytest.mark.parametrize(
    ("trickle", "ending"), [(False, "hang_up"), (True, "hang_up"), (False, "chat")]
)
async def test_server_relays_and_records_each_party(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    trickle: bool,
    ending: str,
) -> None:
    """Whole descriptions, or descriptions without candidates followed by the
    candidates one by one (trickle ICE, both sides); the agent hangs up, or ends the
    chat mid-call (the call ends with it, and is recorded all the same)."""
    monkeypatch.setattr(rt.settings, "calls_media_path", "server")
    monkeypatch.setattr(rt.settings, "recordings_format", "wav")
    server_task = asyncio.create_task(media.run_server(rt))
    await asyncio.sleep(0)
    assert media.server_of(rt) is not None
    agent_pc = aiortc.RTCPeerConnection()
    customer_pc = aiortc.RTCPeerConnection()
    try:
        c, seat, channel = await started(client, rt, tenant)
        await c.send(signal({"type": "REQUEST_CALL", "offerVideo": "false"}, seat.party_id))
        ring = await channel.until("call_ringing")
        assert ring["media_path"] == "server"

        # the agent's browser offers; the server answers it on the agent's channel
        agent_tracks: asyncio.Queue[Any] = asyncio.Queue()
        agent_pc.on("track", agent_tracks.put_nowait)
        agent_pc.addTrack(Tone(440.0))
        await agent_pc.setLocalDescription(await agent_pc.createOffer())
        sdp, candidates = agent_pc.localDescription.sdp, []
        if trickle:
            sdp, candidates = trickled(sdp)
            assert candidates
        r = await seat.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": sdp}})
        assert r.status_code == 200, r.text
        for cand in candidates:
            r = await seat.post("signaling", {"data": cand})
            assert r.status_code == 200, r.text
        answer = await channel.until("call_signal")
        assert answer["call_id"] == ring["call_id"] and answer["data"]["type"] == "ANSWER_CALL"
        await agent_pc.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=answer["data"]["sdp"], type="answer")
        )

        # the customer gets the server's own offer (never the agent's SDP) and answers it
        offer = None
        for _ in range(20):
            for e in await c.poll():
                if e["event"] == "chat_session_signaling":
                    assert e["data"]["type"] == "OFFER_CALL", e
                    offer = e
            if offer:
                break
        assert offer is not None and offer["party_id"] == seat.party_id
        assert offer["data"]["sdp"] != agent_pc.localDescription.sdp
        customer_tracks: asyncio.Queue[Any] = asyncio.Queue()
        customer_pc.on("track", customer_tracks.put_nowait)
        await customer_pc.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=offer["data"]["sdp"], type="offer")
        )
        customer_pc.addTrack(Tone(660.0))
        await customer_pc.setLocalDescription(await customer_pc.createAnswer())
        sdp, candidates = customer_pc.localDescription.sdp, []
        if trickle:
            sdp, candidates = trickled(sdp)
        r = await c.send(signal({"type": "ANSWER_CALL", "sdp": sdp}, seat.party_id))
        assert r.status_code == 200, r.text
        for cand in candidates:
            r = await c.send(signal(cand, seat.party_id))
            assert r.status_code == 200, r.text
        await channel.until("call_connected")

        # media both ways, through the server
        heard_by_agent = await asyncio.wait_for(agent_tracks.get(), 20)
        heard_by_customer = await asyncio.wait_for(customer_tracks.get(), 20)
        await asyncio.gather(loud_frames(heard_by_agent, 50), loud_frames(heard_by_customer, 50))

        # the agent hangs up (or ends the chat): the server stores the recordings
        if ending == "chat":
            await seat.end()
            await channel.until("", chat_signal="END_CALL")
        else:
            r = await seat.post("signaling", {"data": {"type": "END_CALL"}})
            assert r.status_code == 200, r.text
            await channel.until("call_ended")
        async with rt.db.read() as s:
            call = (await s.execute(select(Call).where(Call.chat_id == c.chat_id))).scalar_one()
        assert call.step_id
        rec = None
        for _ in range(200):  # the media thread writes the files, then the row
            async with rt.db.read() as s:
                rec = (
                    await s.execute(select(Recording).where(Recording.source_id == call.step_id))
                ).scalar_one_or_none()
            if rec is not None:
                break
            await asyncio.sleep(0.05)
        assert rec is not None and rec.source == "webrtc"
        giid, step = seat.interaction_id, call.step_id

        # the regular recording: both voices mixed
        r = await client.get(
            f"{CONFIG}/recordings/audio",
            params={"giid": giid, "stepid": step},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        mixed, rate = soundfile.read(io.BytesIO(r.content), dtype="int16")
        assert rate == 8000 and np.abs(mixed).max() > 1000
        r = await client.get(
            f"{CONFIG}/recordings/metadata",
            params={"giid": giid, "stepid": step},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["Agent loginId"] == "agent1"

        # the multichannel recording: each party on its own channel, its own pitch
        r = await client.get(
            f"{CONFIG}/multi_channel_recordings", params={"giid": giid}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        shape = r.json()
        customer, agent = shape["parties"]
        assert customer["party_type"] == "UNIDENTIFIED" and agent["party_type"] == "USER"
        pitches = []
        for party in (customer, agent):
            r = await client.get(
                f"{CONFIG}/multi_channel_recordings/audio",
                params={"giid": giid, "iid": shape["interaction_id"], "party": party["party_id"]},
                headers=admin_headers,
            )
            assert r.status_code == 200, r.text
            with wave.open(io.BytesIO(r.content)) as w:
                assert (w.getframerate(), w.getnchannels()) == (8000, 1)
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            assert np.abs(pcm).max() > 1000  # a voice, not silence
            assert len(pcm) >= 8000, len(pcm)  # the second of sound both sides heard
            pitches.append(peak_hz(pcm[np.abs(pcm) > 0], 8000))
        assert abs(pitches[0] - 660) < 30 and abs(pitches[1] - 440) < 30, pitches

        # the interaction shows the call and its recording
        r = await client.get(f"{AGENT_API}/interactions/{giid}/calls", headers=seat.headers)
        [shown] = r.json()["calls"]
        assert shown["recording_id"] == rec.id and shown["outcome"] == "completed"
    finally:
        await agent_pc.close()
        await customer_pc.close()
        server_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server_task


@pytest.mark.skipif(
    BACKEND != "postgres" or not os.environ.get("SWITCHBOARD_TEST_REDIS_URL"),
    reason="several processes need PostgreSQL and Redis",
)
async def test_server_path_across_processes(
    live_server_factory: Callable[..., LiveServer], rt: Runtime, tenant: TenantInfo
) -> None:
    """Two worker processes: the session lives where the agent's offer arrived; the
    customer's answer, taken by either process (a new connection per request), reaches
    it through the bus."""
    server = live_server_factory(
        workers=2, calls_media_path="server", recordings_format="wav", ice_servers="[]"
    )
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=fresh) as http:
        for attempt in range(3):  # three calls: the answers land on both processes
            c, seat, channel = await started(http, rt, tenant, f"agent{attempt + 1}")
            await c.send(signal({"type": "REQUEST_CALL"}, seat.party_id))
            await channel.until("call_ringing")
            agent_pc, customer_pc = aiortc.RTCPeerConnection(), aiortc.RTCPeerConnection()
            try:
                heard: asyncio.Queue[Any] = asyncio.Queue()
                agent_pc.on("track", heard.put_nowait)
                customer_pc.on("track", heard.put_nowait)
                agent_pc.addTrack(Tone(440.0))
                await agent_pc.setLocalDescription(await agent_pc.createOffer())
                r = await seat.post(
                    "signaling",
                    {"data": {"type": "OFFER_CALL", "sdp": agent_pc.localDescription.sdp}},
                )
                assert r.status_code == 200, r.text
                answer = await channel.until("call_signal")
                await agent_pc.setRemoteDescription(
                    aiortc.RTCSessionDescription(sdp=answer["data"]["sdp"], type="answer")
                )
                offer = None
                for _ in range(30):
                    for e in await c.poll():
                        if e["event"] == "chat_session_signaling":
                            offer = e
                    if offer:
                        break
                assert offer is not None
                await customer_pc.setRemoteDescription(
                    aiortc.RTCSessionDescription(sdp=offer["data"]["sdp"], type="offer")
                )
                customer_pc.addTrack(Tone(660.0))
                await customer_pc.setLocalDescription(await customer_pc.createAnswer())
                r = await c.send(
                    signal({"type": "ANSWER_CALL", "sdp": customer_pc.localDescription.sdp})
                )
                assert r.status_code == 200, r.text
                tracks = [await asyncio.wait_for(heard.get(), 20) for _ in range(2)]
                await asyncio.gather(*(loud_frames(t, 25) for t in tracks))
                r = await c.send(signal({"type": "END_CALL"}))
                assert r.status_code == 200, r.text
                ended = await channel.until("call_ended")
                assert ended["outcome"] == "completed"
            finally:
                await agent_pc.close()
                await customer_pc.close()
            # this agent takes no more chats: the next attempt's chat is for the next one
            # (a routing pass of any process would otherwise offer it here first)
            r = await http.put(
                f"{AGENT_API}/state", json={"state": "not_ready"}, headers=seat.headers
            )
            assert r.status_code == 200, r.text
