"""Call recordings: an answered call of the simulated carrier becomes a GSM 6.10 WAV
recording with its metadata and a multichannel structure of PCM segments; erasing
really deletes the files; a voice interaction's step is recorded too; several workers
make each recording once; and every error a caller can cause."""

from __future__ import annotations

import asyncio
import io
import struct
import time
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile
from sqlalchemy import select

from switchboard.campaigns.models import DAYS
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.dialer.engine import get_dialer
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.recordings import actions as rec_actions
from switchboard.recordings.models import Recording
from switchboard.services.models import Service
from switchboard.users.actions import create_user, generate_api_secret
from switchboard.users.models import User
from switchboard.users.schemas import UserCreate
from tests.conftest import PASSWORD, TenantInfo, get_token

API = "/configapi/v2"
AGENT = "/agentapi/v1"
METADATA_KEYS = {
    "Start Time",
    "Agent loginId",
    "Agent First Name",
    "Agent Last Name",
    "Customer phone",
    "Direction",
    "Service",
    "Disposition",
    "Notes",
    "Voice Signature",
    "Flagged",
    "Talk Time",
    "RecordingId",
    "Global Interaction ID",
    "Review URL",
    "Screen Recording",
}


def wav_format_tag(data: bytes) -> int:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and data[12:16] == b"fmt "
    return int(struct.unpack("<H", data[20:22])[0])


async def answered_call(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    talk_seconds: float,
) -> dict[str, Any]:
    """A progressive campaign dials one number; agent1 talks, hangs up, disposes."""
    monkeypatch.setattr(rt.settings, "telephony_sim_ring_seconds", 0.0)
    monkeypatch.setattr(rt.settings, "telephony_sim_outcomes", {"answer": 1.0})
    monkeypatch.setattr(rt.settings, "telephony_sim_script", {})
    r = await client.post(
        f"{API}/callinglist",
        json={
            "name": "rec.csv",
            "fields": ["ID", "Phone"],
            "keys": ["ID"],
            "phoneFields": ["Phone"],
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{API}/callinglist/addAll/rec.csv",
        json=[{"ID": "1", "Phone": "4155550301"}],
        headers=headers,
    )
    assert r.json() == {"added": 1}
    r = await client.post(
        f"{API}/campaign",
        json={
            "name": "Renewals",
            "mode": "progressive",
            "service": "Outbound Service",
            "maxAttempts": 1,
            "callingHours": {d: [["00:00", "24:00"]] for d in DAYS},
            "lists": ["rec.csv"],
            "callerId": "+16505550000",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{AGENT}/login",
        json={"tenant": tenant.domain, "loginId": "agent1", "password": PASSWORD, "state": "ready"},
    )
    assert r.status_code == 200, r.text
    agent = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.post(f"{API}/campaign/Renewals/start", headers=headers)
    assert r.json()["state"] == "RUNNING"
    deadline = time.monotonic() + 20
    while True:
        await get_dialer(rt).tick()
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        live = [a for a in r.json() if a["state"] == "connected"]
        if live:
            break
        assert time.monotonic() < deadline, "the call was not answered"
        await asyncio.sleep(0.05)
    call = live[0]
    await asyncio.sleep(talk_seconds)
    r = await client.post(f"{AGENT}/outbound/{call['attemptId']}/hangup", headers=agent)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{AGENT}/outbound/{call['attemptId']}/disposition",
        json={"disposition": "Resolved", "notes": "renewed for a year"},
        headers=agent,
    )
    assert r.status_code == 200, r.text
    await client.post(f"{API}/campaign/Renewals/stop", headers=headers)
    return dict(call)


async def recordings_of(rt: Runtime, source_id: str) -> list[Recording]:
    async with rt.db.read() as s:
        rows = await s.execute(select(Recording).where(Recording.source_id == source_id))
        return list(rows.scalars().all())


async def test_outbound_call_recording_metadata_multichannel_and_erase(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = await answered_call(client, rt, tenant, admin_headers, monkeypatch, talk_seconds=2.2)
    giid, step = call["globalInteractionID"], call["attemptId"]
    # the server's worker and three more processes race: one recording
    others = [Runtime.create(rt.settings) for _ in range(3)]
    try:
        await asyncio.gather(
            rec_actions.record_finished(rt), *(rec_actions.record_finished(o) for o in others)
        )
    finally:
        for o in others:
            await o.stop()
    rows = await recordings_of(rt, step)
    assert len(rows) == 1
    q = {"giid": giid, "stepid": step}

    r = await client.get(f"{API}/recordings/metadata", params=q, headers=admin_headers)
    assert r.status_code == 200, r.text
    meta = r.json()
    assert set(meta) == METADATA_KEYS | {"Erased"}
    assert meta == {
        **meta,
        "Agent loginId": "agent1",
        "Agent First Name": "Alice",
        "Agent Last Name": "Agent",
        "Customer phone": "+14155550301",
        "Direction": "OUTBOUND",
        "Service": "Renewals",
        "Disposition": "Resolved",
        "Notes": "renewed for a year",
        "Voice Signature": "0",
        "Flagged": "0",
        "Global Interaction ID": giid,
        "Screen Recording": "0",
        "Erased": "0",
    }
    talk = int(meta["Talk Time"].split(":")[1])
    assert meta["Talk Time"].startswith("0:") and 2 <= talk <= 6
    assert meta["Start Time"].endswith(" UTC +00:00")  # the tenant's time zone is UTC
    name = meta["RecordingId"]
    assert name.endswith(f"_14155550301_agent1_{step.replace('-', '').upper()}.wav")
    assert meta["Review URL"].endswith(f"/configapi/v2/recordings/audio?giid={giid}&stepid={step}")

    # the regular recording: GSM 6.10 in WAV, as long as the talk
    r = await client.get(
        f"{API}/recordings/audio",
        params={"giid": giid.upper(), "stepid": step.upper()},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert name in r.headers["content-disposition"]
    assert wav_format_tag(r.content) == 0x31  # WAVE_FORMAT_GSM610
    info = soundfile.info(io.BytesIO(r.content))
    assert info.subtype == "GSM610" and info.samplerate == 8000
    assert abs(info.duration - talk) <= 0.6  # whole seconds vs. GSM blocks of 40 ms
    pcm, _ = soundfile.read(io.BytesIO(r.content), dtype="int16")
    assert abs(pcm).max() > 1000  # voices, not silence

    # the multichannel structure and its PCM segments
    r = await client.get(
        f"{API}/multi_channel_recordings", params={"giid": giid}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    shape = r.json()
    assert set(shape) == {"_id", "tenant_id", "global_interaction_id", "interaction_id", "parties"}
    assert len(shape["_id"]["$oid"]) == 24
    assert shape["tenant_id"] == tenant.tenant_id and shape["global_interaction_id"] == giid
    customer, agent = shape["parties"]
    assert customer["party_type"] == "CONTACT" and customer["phone"] == "+14155550301"
    assert agent["party_type"] == "USER" and agent["first_name"] == "Alice"
    assert agent["last_name"] == "Agent" and agent["user_id"]
    for party in shape["parties"]:
        assert party["party_id"].isdigit()
        (segment,) = party["recordings"]
        assert segment["duration"] == str(talk) and isinstance(segment["start_time"]["$date"], int)
    seg = {"giid": giid, "iid": shape["interaction_id"], "party": agent["party_id"]}
    for params in (seg, {**seg, "recid": "0"}):
        r = await client.get(
            f"{API}/multi_channel_recordings/audio", params=params, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        assert wav_format_tag(r.content) == 1  # PCM
        with wave.open(io.BytesIO(r.content)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
            assert w.getnframes() >= 8000 * 2
    for params, status in (
        ({**seg, "recid": "1"}, 404),
        ({**seg, "recid": "x"}, 400),
        ({**seg, "recid": "-1"}, 400),
        ({**seg, "party": "1"}, 404),
        ({**seg, "iid": "nope"}, 404),
        ({k: v for k, v in seg.items() if k != "iid"}, 400),
        ({k: v for k, v in seg.items() if k != "party"}, 400),
    ):
        r = await client.get(
            f"{API}/multi_channel_recordings/audio", params=params, headers=admin_headers
        )
        assert r.status_code == status, (params, r.text)

    # erasing deletes every file of the GIID; the row stays as the trace
    files = [Path(rt.settings.data_dir) / rows[0].path] if rows[0].path else []
    files += [
        Path(rt.settings.data_dir) / s["path"] for p in rows[0].parties for s in p["recordings"]
    ]
    assert len(files) == 3 and all(f.is_file() for f in files)
    r = await client.delete(
        f"{API}/recordings/audio",
        params={"giid": giid, "reason": "GDPR request"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"giid": giid, "erased": 1}
    assert not any(f.exists() for f in files)
    r = await client.get(f"{API}/recordings/audio", params=q, headers=admin_headers)
    assert r.status_code == 410 and "GDPR request" in r.json()["message"]
    r = await client.get(f"{API}/multi_channel_recordings/audio", params=seg, headers=admin_headers)
    assert r.status_code == 410
    r = await client.get(f"{API}/recordings/metadata", params=q, headers=admin_headers)
    assert r.status_code == 200 and r.json()["Erased"] == "1"
    r = await client.delete(f"{API}/recordings/audio", params={"giid": giid}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["erased"] == 0
    # the worker does not make it again
    await rec_actions.record_finished(rt)
    (row,) = await recordings_of(rt, step)
    assert row.erased_at is not None and row.erased_by == "admin"
    assert row.erase_reason == "GDPR request" and row.path is None


async def test_voice_interaction_step_is_recorded(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A voice interaction in the interaction records (as a voice channel would write
    them): the customer is recorded from the start, the agent from the answer."""
    monkeypatch.setattr(rt.settings, "recordings_format", "wav")
    t0 = utcnow() - timedelta(minutes=1)
    async with rt.db.write() as s:
        service = (
            await s.execute(
                select(Service).where(
                    Service.tenant_id == tenant.tenant_id, Service.name == "Voice Service"
                )
            )
        ).scalar_one()
        agent = (
            await s.execute(
                select(User).where(User.tenant_id == tenant.tenant_id, User.login_id == "agent2")
            )
        ).scalar_one()
        inter = Interaction(
            tenant_id=tenant.tenant_id,
            media="voice",
            direction="inbound",
            external_id="+442071234567",
            service_id=service.id,
            state="completed",
            created_at=t0,
            answered_at=t0,
            ended_at=t0 + timedelta(seconds=12),
            completed_at=t0 + timedelta(seconds=20),
        )
        s.add(inter)
        await s.flush()
        step = InteractionStep(
            interaction_id=inter.id,
            tenant_id=tenant.tenant_id,
            user_id=agent.id,
            media="voice",
            phase="done",
            outcome="completed",
            offered_at=t0,
            answered_at=t0 + timedelta(seconds=2),
            ended_at=t0 + timedelta(seconds=12),
            disposition="Resolved",
            notes="billing question",
        )
        s.add(step)
        giid, step_id = inter.id, step.id
    await rec_actions.record_finished(rt)
    q = {"giid": giid, "stepid": step_id}
    r = await client.get(f"{API}/recordings/metadata", params=q, headers=admin_headers)
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["Direction"] == "INBOUND" and meta["Service"] == "Voice Service"
    assert meta["Agent loginId"] == "agent2" and meta["Agent First Name"] == "Bob"
    assert meta["Customer phone"] == "+442071234567" and meta["Talk Time"] == "0:12"
    assert (meta["Disposition"], meta["Notes"]) == ("Resolved", "billing question")
    r = await client.get(f"{API}/recordings/audio", params={"giid": giid}, headers=admin_headers)
    assert r.status_code == 200
    assert wav_format_tag(r.content) == 1  # recordings_format = "wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getnframes() == 12 * 8000
    r = await client.get(
        f"{API}/multi_channel_recordings", params={"giid": giid}, headers=admin_headers
    )
    customer, agent_party = r.json()["parties"]
    assert (
        customer["party_type"] == "UNIDENTIFIED" and customer["recordings"][0]["duration"] == "12"
    )
    assert agent_party["recordings"][0]["duration"] == "10"
    starts = [p["recordings"][0]["start_time"]["$date"] for p in (customer, agent_party)]
    assert starts[1] - starts[0] == 2000


async def test_recording_errors(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
    rt: Runtime,
) -> None:
    giid = "A44B62DE-75FB-47CD-A103-8F778CD1032A"
    paths = [
        ("GET", "/recordings/audio"),
        ("GET", "/recordings/metadata"),
        ("DELETE", "/recordings/audio"),
        ("GET", "/multi_channel_recordings"),
    ]
    for method, path in paths:
        r = await client.request(method, API + path, params={"giid": giid})
        assert r.status_code == 401, (path, r.text)
        r = await client.request(method, API + path, params={"giid": giid}, headers=admin_headers)
        assert r.status_code == 404, (path, r.text)
        r = await client.request(method, API + path, headers=admin_headers)
        assert r.status_code == 400 and "giid" in r.json()["message"], (path, r.text)
        r = await client.request(method, API + path, params={"giid": " "}, headers=admin_headers)
        assert r.status_code == 400
    r = await client.get(
        f"{API}/multi_channel_recordings/audio",
        params={"giid": giid, "iid": giid, "party": "1"},
        headers=admin_headers,
    )
    assert r.status_code == 404
    # a user without "Access recordings" (an agent with an API secret)
    await create_user(
        rt,
        tenant_id=tenant.tenant_id,
        data=UserCreate(
            login_id="plain1",
            password=PASSWORD,
            first_name="P",
            last_name="L",
            team="Support Team",
            roles=["Agent"],
        ),
    )
    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="plain1")
    token = await get_token(
        client, TenantInfo(tenant.domain, tenant.tenant_id, secret, PASSWORD), "plain1"
    )
    for method, path in paths:
        r = await client.request(
            method, API + path, params={"giid": giid}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 403, (path, r.text)
        assert "Access recordings" in r.json()["message"]


async def test_other_tenants_recordings_are_invisible(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
    rt: Runtime,
) -> None:
    now = utcnow()
    async with rt.db.write() as s:
        s.add(
            Recording(
                tenant_id=other_tenant.tenant_id,
                giid="theirs-giid",
                step_id="theirs-step",
                interaction_id="theirs-step",
                source="outbound",
                source_id=other_tenant.tenant_id,
                file_name="x.wav",
                path=None,
                started_at=now,
                ended_at=now,
                parties=[],
            )
        )
    for method, path in (
        ("GET", "/recordings/metadata"),
        ("GET", "/recordings/audio"),
        ("DELETE", "/recordings/audio"),
        ("GET", "/multi_channel_recordings"),
    ):
        r = await client.request(
            method, API + path, params={"giid": "theirs-giid"}, headers=admin_headers
        )
        assert r.status_code == 404, (path, r.text)
    theirs = {"Authorization": f"Bearer {await get_token(client, other_tenant)}"}
    r = await client.get(
        f"{API}/recordings/metadata", params={"giid": "THEIRS-GIID"}, headers=theirs
    )
    assert r.status_code == 200 and r.json()["RecordingId"] == "x.wav"
