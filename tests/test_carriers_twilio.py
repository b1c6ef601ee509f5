"""A progressive campaign end to end through Twilio's REST API (a local fake that checks
what Twilio checks): calls created with the campaign's caller id, answering-machine
detection and recording; signed status callbacks on our public URL; the answered call
bridged to the agent's phone; the customer hanging up; the recording fetched into our
store and served by ``/configapi/v2/recordings``; forged callbacks refused."""

from __future__ import annotations

import httpx

from switchboard.campaigns.models import DAYS
from switchboard.core.runtime import Runtime
from switchboard.recordings import actions as rec_actions
from switchboard.telephony.twilio import signature
from tests.conftest import TenantInfo
from tests.test_carriers_support import (
    ACCOUNT,
    PUBLIC,
    TOKEN,
    Clock,
    FakeTwilio,
    agent_login,
    clock,
    twilio,
    until,
)

__all__ = ["clock", "twilio"]  # fixtures

API = "/configapi/v2"
AGENT = "/agentapi/v1"
EARLY = {"fromTime": "2000-01-01T00:00:00", "maxSize": 1000}
AGENT_PHONE = "+16505550111"


async def test_progressive_campaign_through_twilio(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    twilio: FakeTwilio,
    clock: Clock,
) -> None:
    h = admin_headers
    twilio.outcomes = {"+14155550202": "busy", "+14155550203": "machine"}
    r = await client.post(
        f"{API}/callinglist",
        json={
            "name": "twilio.csv",
            "fields": ["ID", "Phone"],
            "keys": ["ID"],
            "phoneFields": ["Phone"],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    rows = [{"ID": str(i), "Phone": f"41555502{i:02d}"} for i in (1, 2, 3)]
    r = await client.post(f"{API}/callinglist/addAll/twilio.csv", json=rows, headers=h)
    assert r.json() == {"added": 3}
    r = await client.post(
        f"{API}/campaign",
        json={
            "name": "Twilio",
            "mode": "progressive",
            "service": "Outbound Service",
            "maxAttempts": 1,
            "callingHours": {d: [["00:00", "24:00"]] for d in DAYS},
            "lists": ["twilio.csv"],
            "callerId": "+16505550000",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"{API}/campaign/Twilio/carrier", headers=h)
    assert r.json() == {"answeringMachineDetection": "off", "record": True}
    r = await client.put(
        f"{API}/campaign/Twilio/carrier", json={"answeringMachineDetection": "bogus"}, headers=h
    )
    assert r.status_code == 400
    r = await client.put(
        f"{API}/campaign/Twilio/carrier", json={"answeringMachineDetection": "enable"}, headers=h
    )
    assert r.json() == {"answeringMachineDetection": "enable", "record": True}
    assert (await client.get(f"{API}/campaign/Nope/carrier", headers=h)).status_code == 404
    r = await client.put(f"{API}/user/agent1", json={"mobilePhone": AGENT_PHONE}, headers=h)
    assert r.status_code == 200, r.text
    agent = await agent_login(client, tenant, "agent1")
    r = await client.post(f"{API}/campaign/Twilio/start", headers=h)
    assert r.json()["state"] == "RUNNING"

    handled: list[str] = []

    async def progress() -> bool:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        for a in r.json():
            if a["state"] == "connected":
                call = twilio.call_to(
                    a["phone"] if a["phone"].startswith("+") else "+1" + a["phone"]
                )
                assert call.bridged_to == AGENT_PHONE  # the agent's leg
                await twilio.hang_up(call.sid)  # the customer hangs up
            elif a["state"] == "wrapup":
                d = await client.post(
                    f"{AGENT}/outbound/{a['attemptId']}/disposition",
                    json={"disposition": "Resolved", "notes": "over the phone"},
                    headers=agent,
                )
                assert d.status_code == 200, d.text
                handled.append(a["globalInteractionID"])
        r = await client.post(
            f"{API}/callinglist/getCompleted/twilio.csv/Twilio", json=EARLY, headers=h
        )
        return len(r.json()) == 3

    await until(progress, rt, pump=twilio.pump)
    assert len(handled) == 1
    r = await client.post(f"{API}/callinglist/getChanged/twilio.csv/Twilio", json=EARLY, headers=h)
    outcome = {c["entry"]["ID"]: c["attempts"][0]["disposition"] for c in r.json()}
    assert outcome == {"1": "Resolved", "2": "Busy", "3": "Answering machine"}

    # what Twilio was asked: one create per record, as documented, then a hang-up of the
    # machine's call
    creates = [dict(f) for m, p, f in twilio.requests if p.endswith("/Calls.json")]
    assert len(creates) == 3 and not twilio.rejected
    first = creates[0]
    assert first["From"] == "+16505550000" and first["MachineDetection"] == "Enable"
    assert first["Record"] == "true" and first["RecordingChannels"] == "dual"
    assert first["StatusCallback"].startswith(PUBLIC + "/carriers/twilio/calls/")
    assert first["Url"].startswith(PUBLIC) and first["Url"].endswith("/answer")
    assert all(code < 300 for code in twilio.callback_answers), twilio.callback_answers
    machine = twilio.call_to("+14155550203")
    assert machine.bridged_to is None and machine.status == "completed"

    # the recording Twilio made is fetched into our store and served by the seed's API
    await rec_actions.fetch_carrier_recordings(rt)
    (giid,) = handled
    r = await client.get(f"{API}/recordings/audio", params={"giid": giid}, headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    meta = await client.get(f"{API}/recordings/metadata", params={"giid": giid}, headers=h)
    assert meta.json()["Disposition"] == "Resolved"
    assert meta.json()["Customer phone"] == "+14155550201"
    r = await client.get(f"{API}/multi_channel_recordings", params={"giid": giid}, headers=h)
    assert r.status_code == 200
    parties = r.json()["parties"] if "parties" in r.json() else r.json()
    assert parties
    # the calls nobody talked on have no recording
    for other in ("+14155550202", "+14155550203"):
        assert not twilio.call_to(other).answered_by == "human"
    await client.post(f"{API}/campaign/Twilio/stop", headers=h)


async def test_callbacks_must_be_signed(
    client: httpx.AsyncClient, rt: Runtime, twilio: FakeTwilio
) -> None:
    path = "/carriers/twilio/calls/00000000-0000-0000-0000-000000000000/status"
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing", "AccountSid": ACCOUNT}
    good = signature(TOKEN, PUBLIC + path, params.items())
    r = await client.post(path, data=params)
    assert r.status_code == 403
    r = await client.post(path, data=params, headers={"X-Twilio-Signature": "bm9wZQ=="})
    assert r.status_code == 403
    forged = {**params, "CallStatus": "completed"}
    r = await client.post(path, data=forged, headers={"X-Twilio-Signature": good})
    assert r.status_code == 403  # the signature covers every parameter
    r = await client.post(path, data=params, headers={"X-Twilio-Signature": good})
    assert r.status_code == 404  # signed, but no such call
