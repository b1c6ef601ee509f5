"""The recordings of a call in a chat with the server in the media path (issue 14), as
the seed's recordings APIs serve them (tests/test_recordings_api.py calls the same on
an outbound call): the regular recording (both voices mixed, a WAV with sound in it, in
either format), the multichannel structure and each party's PCM segment by number, and
erasure, which deletes every file and leaves the metadata as its trace."""

from __future__ import annotations

import asyncio
import contextlib
import io
import wave
from pathlib import Path
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
from tests.conftest import TenantInfo
from tests.test_calls_media import Tone, loud_frames
from tests.test_calls_signaling import signal, started

aiortc = pytest.importorskip("aiortc")

CONFIG = "/configapi/v2"
# the format tags of a WAV file's "fmt " chunk
PCM, GSM610 = 1, 0x31


async def server_call(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> Recording:
    """A customer calls from a chat; the agent answers through the server, which relays
    a tone each way (440 Hz from the agent, 660 Hz from the customer) until both have
    heard a second of the other; the agent hangs up. The recording the server stores."""
    agent_pc = aiortc.RTCPeerConnection()
    customer_pc = aiortc.RTCPeerConnection()
    try:
        c, seat, channel = await started(client, rt, tenant)
        await c.send(signal({"type": "REQUEST_CALL"}, seat.party_id))
        assert (await channel.until("call_ringing"))["media_path"] == "server"
        heard: asyncio.Queue[Any] = asyncio.Queue()
        agent_pc.on("track", heard.put_nowait)
        customer_pc.on("track", heard.put_nowait)
        agent_pc.addTrack(Tone(440.0))
        await agent_pc.setLocalDescription(await agent_pc.createOffer())
        r = await seat.post(
            "signaling", {"data": {"type": "OFFER_CALL", "sdp": agent_pc.localDescription.sdp}}
        )
        assert r.status_code == 200, r.text
        answer = await channel.until("call_signal")
        await agent_pc.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=answer["data"]["sdp"], type="answer")
        )
        offer = None
        for _ in range(20):
            offer = next(
                (e for e in await c.poll() if e["event"] == "chat_session_signaling"), None
            )
            if offer is not None:
                break
        assert offer is not None and offer["data"]["type"] == "OFFER_CALL"
        await customer_pc.setRemoteDescription(
            aiortc.RTCSessionDescription(sdp=offer["data"]["sdp"], type="offer")
        )
        customer_pc.addTrack(Tone(660.0))
        await customer_pc.setLocalDescription(await customer_pc.createAnswer())
        r = await c.send(
            signal({"type": "ANSWER_CALL", "sdp": customer_pc.localDescription.sdp}, seat.party_id)
        )
        assert r.status_code == 200, r.text
        await channel.until("call_connected")
        tracks = [await asyncio.wait_for(heard.get(), 20) for _ in range(2)]
        await asyncio.gather(*(loud_frames(t, 50) for t in tracks))
        r = await seat.post("signaling", {"data": {"type": "END_CALL"}})
        assert r.status_code == 200, r.text
        await channel.until("call_ended")
    finally:
        await agent_pc.close()
        await customer_pc.close()
    async with rt.db.read() as s:
        call = (await s.execute(select(Call).where(Call.chat_id == c.chat_id))).scalar_one()
    assert call.step_id and call.media_path == "server"
    for _ in range(200):  # the media thread writes the files, then the row
        async with rt.db.read() as s:
            rec = (
                await s.execute(select(Recording).where(Recording.source_id == call.step_id))
            ).scalar_one_or_none()
        if rec is not None:
            assert rec.source == "webrtc" and rec.giid == seat.interaction_id
            return rec
        await asyncio.sleep(0.05)
    raise AssertionError("no recording of the call")


def loudest(pcm: np.ndarray[Any, Any]) -> int:
    return int(np.abs(pcm.astype(np.int32)).max())


@pytest.mark.parametrize("fmt", ["wav", "gsm"])
async def test_webrtc_call_recording_segments_and_erase(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    monkeypatch.setattr(rt.settings, "calls_media_path", "server")
    monkeypatch.setattr(rt.settings, "recordings_format", fmt)
    server_task = asyncio.create_task(media.run_server(rt))
    await asyncio.sleep(0)
    try:
        rec = await server_call(client, rt, tenant)
    finally:
        server_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server_task
    giid, step = rec.giid, rec.step_id
    q = {"giid": giid, "stepid": step}

    # the regular recording: one WAV, both voices mixed, sound in it
    r = await client.get(f"{CONFIG}/recordings/audio", params=q, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert rec.file_name in r.headers["content-disposition"]
    assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE"
    assert int.from_bytes(r.content[20:22], "little") == (PCM if fmt == "wav" else GSM610)
    mixed, rate = soundfile.read(io.BytesIO(r.content), dtype="int16")
    assert rate == 8000 and len(mixed) >= 8000  # at least the second both sides heard
    assert loudest(mixed) > 1000  # voices, not silence
    r = await client.get(f"{CONFIG}/recordings/metadata", params=q, headers=admin_headers)
    assert r.status_code == 200, r.text
    meta = r.json()
    assert (meta["RecordingId"], meta["Erased"]) == (rec.file_name, "0")
    assert meta["Global Interaction ID"] == giid and meta["Agent loginId"] == "agent1"

    # the multichannel structure: a segment per party, each its own voice
    r = await client.get(
        f"{CONFIG}/multi_channel_recordings", params={"giid": giid}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    shape = r.json()
    assert shape["global_interaction_id"] == giid and shape["tenant_id"] == tenant.tenant_id
    customer, agent = shape["parties"]
    assert (customer["party_type"], agent["party_type"]) == ("UNIDENTIFIED", "USER")
    assert agent["first_name"] == "Alice" and agent["last_name"] == "Agent"
    segments: dict[str, bytes] = {}
    for party in (customer, agent):
        (segment,) = party["recordings"]
        assert int(segment["duration"]) >= 1 and isinstance(segment["start_time"]["$date"], int)
        seg = {"giid": giid, "iid": shape["interaction_id"], "party": party["party_id"]}
        r = await client.get(
            f"{CONFIG}/multi_channel_recordings/audio", params=seg, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        r0 = await client.get(
            f"{CONFIG}/multi_channel_recordings/audio",
            params={**seg, "recid": "0"},
            headers=admin_headers,
        )
        assert r0.status_code == 200 and r0.content == r.content  # recid defaults to 0
        with wave.open(io.BytesIO(r.content)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert loudest(pcm) > 1000 and len(pcm) >= 8000
        segments[party["party_type"]] = r.content
        for params, status in (
            ({**seg, "recid": "1"}, 404),  # one segment per party
            ({**seg, "recid": "-1"}, 400),
            ({**seg, "recid": "x"}, 400),
        ):
            r = await client.get(
                f"{CONFIG}/multi_channel_recordings/audio", params=params, headers=admin_headers
            )
            assert r.status_code == status, (params, r.text)
            assert r.json()["message"], r.text
    assert segments["UNIDENTIFIED"] != segments["USER"]

    # erase: every file of the GIID goes; the row and the metadata stay as the trace
    root = Path(rt.settings.data_dir)
    files = [root / rec.path] if rec.path else []
    files += [root / s["path"] for p in rec.parties for s in p["recordings"]]
    assert len(files) == 3 and all(f.is_file() for f in files), files
    r = await client.delete(
        f"{CONFIG}/recordings/audio",
        params={"giid": giid, "reason": "customer asked"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"giid": giid, "erased": 1}
    assert not any(f.exists() for f in files)
    r = await client.get(f"{CONFIG}/recordings/audio", params=q, headers=admin_headers)
    assert r.status_code == 410 and "customer asked" in r.json()["message"]
    seg = {"giid": giid, "iid": shape["interaction_id"], "party": agent["party_id"]}
    r = await client.get(
        f"{CONFIG}/multi_channel_recordings/audio", params=seg, headers=admin_headers
    )
    assert r.status_code == 410, r.text
    r = await client.get(f"{CONFIG}/recordings/metadata", params=q, headers=admin_headers)
    assert r.status_code == 200 and r.json()["Erased"] == "1"
    r = await client.get(
        f"{CONFIG}/multi_channel_recordings", params={"giid": giid}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert all("path" not in s for p in r.json()["parties"] for s in p["recordings"])
    # erasing again erases nothing more
    r = await client.delete(
        f"{CONFIG}/recordings/audio", params={"giid": giid}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["erased"] == 0
    async with rt.db.read() as s:
        (row,) = (await s.execute(select(Recording).where(Recording.giid == giid))).scalars().all()
    assert row.erased_at is not None and row.erased_by == "admin" and row.path is None
    assert row.erase_reason == "customer asked"
