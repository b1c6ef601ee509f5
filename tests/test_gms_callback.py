"""GMS callbacks: create (JSON and forms), query by id, list and filter, reschedule,
cancel, expiry, and every user error."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.dialer.engine import get_dialer
from switchboard.gms import actions
from switchboard.gms.values import iso
from switchboard.recordings import actions as rec_actions
from switchboard.tenants.actions import update_settings
from tests.conftest import TenantInfo
from tests.test_carriers_support import Clock, FakeTwilio, agent_login, clock, twilio, until
from tests.test_gms_support import GMS, assert_error, expire_service, host, parse_iso

__all__ = ["clock", "twilio"]  # fixtures

CB = f"{GMS}/service/callback"


async def test_callback_lifecycle(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = host(tenant)
    when = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    r = await client.post(
        f"{GMS}/service/callback",
        json={
            "_customer_number": "+1 650 466 7777",
            "_desired_time": iso(when),
            "reason": "billing",
            "vip": True,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == {"_id", "_text"} and iso(when) in created["_text"]
    cid = created["_id"]
    r = await client.get(f"{CB}/callback/{cid}", headers=h)
    assert r.status_code == 200, r.text
    one = r.json()
    assert one == {
        "_id": cid,
        "_desired_time": iso(when),
        "_service_name": "callback",
        "_callback_state": "SCHEDULED",
        "_expiration_time": iso(when + timedelta(hours=1)),
        "_customer_number": "+1 650 466 7777",
    }
    # user data is kept (JSON scalars as strings)
    status = (await client.post(f"{GMS}/service/{cid}/status", headers=h)).json()
    assert status["_callback_state"] == "SCHEDULED" and status["status"] == "scheduled"
    data = (await client.get(f"{GMS}/storage/{status['_data_id']}", headers=h)).json()
    assert data == {"reason": "billing", "vip": "true"}
    # an immediate callback of another callback service, as a urlencoded form
    r = await client.post(f"{CB}/vip-line", data={"_customer_number": "6504668888"}, headers=h)
    assert r.status_code == 200, r.text
    now_id = r.json()["_id"]
    r = await client.get(f"{CB}/vip-line/{now_id}", headers=h)
    assert r.json()["_callback_state"] == "QUEUED" and r.json()["_service_name"] == "vip-line"
    # listings: by service name, all, and filtered
    ids = [c["_id"] for c in (await client.get(f"{CB}/callback", headers=h)).json()]
    assert ids == [cid]
    everything = (await client.get(CB, headers=h)).json()
    assert {c["_id"] for c in everything} == {cid, now_id}
    r = await client.get(CB, params={"_customer_number": "16504667777"}, headers=h)
    assert [c["_id"] for c in r.json()] == [cid]
    r = await client.get(CB, params={"_callback_state": "queued"}, headers=h)
    assert [c["_id"] for c in r.json()] == [now_id]
    # reschedule, then cancel (idempotent); a cancelled callback cannot move
    later = when + timedelta(days=1)
    r = await client.put(f"{CB}/callback/{cid}", json={"_desired_time": iso(later)}, headers=h)
    assert r.status_code == 200, r.text
    r = await client.get(f"{CB}/callback/{cid}", headers=h)
    assert r.json()["_desired_time"] == iso(later)
    r = await client.delete(f"{CB}/callback/{cid}", headers=h)
    assert r.status_code == 200 and r.json()["_callback_state"] == "CANCELLED"
    r = await client.delete(f"{CB}/callback/{cid}", headers=h)
    assert r.status_code == 200
    r = await client.put(f"{CB}/callback/{cid}", json={"_desired_time": iso(later)}, headers=h)
    assert_error(r, 409)
    r = await client.post(f"{GMS}/service/{now_id}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["_callback_state"] == "CANCELLED"


async def test_callback_expiry(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    h = host(tenant)
    r = await client.post(CB, json={"_customer_number": "6504660000"}, headers=h)
    cid = r.json()["_id"]
    await expire_service(rt, cid)
    r = await client.get(f"{CB}/callback/{cid}", headers=h)
    assert r.json()["_callback_state"] == "EXPIRED"
    await actions.purge(rt)
    r = await client.get(f"{CB}/callback/{cid}", headers=h)
    assert r.json()["_callback_state"] == "EXPIRED"
    assert_error(await client.delete(f"{CB}/callback/{cid}", headers=h), 409)
    r = await client.put(
        f"{CB}/callback/{cid}",
        json={"_desired_time": iso(utcnow() + timedelta(hours=1))},
        headers=h,
    )
    assert_error(r, 409)


async def test_callback_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    h = host(tenant)
    for body in (
        {},
        {"_customer_number": ""},
        {"_customer_number": "not a number"},
        {"_customer_number": "6504661111", "_desired_time": "tomorrow"},
        {"_customer_number": "6504661111", "_desired_time": "2001-01-01T00:00:00Z"},
        {"_customer_number": "6504661111", "_desired_time": "2999-01-01T00:00:00Z"},
        {"_customer_number": ["6504661111"]},
    ):
        assert_error(await client.post(CB, json=body, headers=h), 400)
    r = await client.post(CB, content=b"[1]", headers={**h, "Content-Type": "application/json"})
    assert_error(r, 400)
    r = await client.post(CB, json={"_customer_number": "6504661111"}, headers=h)
    cid = r.json()["_id"]
    ghost = "00000000-0000-0000-0000-000000000000"
    assert_error(await client.get(f"{CB}/callback/{ghost}", headers=h), 404)
    assert_error(await client.get(f"{CB}/other-service/{cid}", headers=h), 404)
    assert_error(await client.delete(f"{CB}/other-service/{cid}", headers=h), 404)
    r = await client.put(
        f"{CB}/other-service/{cid}", json={"_desired_time": iso(utcnow())}, headers=h
    )
    assert_error(r, 404)
    assert_error(await client.put(f"{CB}/callback/{cid}", json={}, headers=h), 400)
    r = await client.put(f"{CB}/callback/{cid}", json={"_desired_time": "soon"}, headers=h)
    assert_error(r, 400)
    assert_error(await client.get(f"{CB}/callback/{cid}", headers=host(other_tenant)), 404)
    assert (await client.get(CB, headers=host(other_tenant))).json() == []
    r = await client.get(CB, params={"_customer_number": "x"}, headers=h)
    assert_error(r, 400)
    # a desired time without an offset is UTC
    naive = (utcnow() + timedelta(minutes=5)).replace(tzinfo=None, microsecond=0)
    r = await client.post(
        CB, json={"_customer_number": "6504662222", "_desired_time": naive.isoformat()}, headers=h
    )
    cid = r.json()["_id"]
    got = (await client.get(f"{CB}/callback/{cid}", headers=h)).json()["_desired_time"]
    assert parse_iso(got).replace(tzinfo=None) == naive


# ---- callbacks that happen (issue 15) ----------------------------------------------------


async def test_callback_is_offered_called_and_completed(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    twilio: FakeTwilio,
    clock: Clock,
) -> None:
    """A due callback goes to an agent with the service's skills; the agent accepts; the
    carrier calls the customer (busy: retried after ``_dial_retry_timeout``), then
    connects the agent's phone; the GMS status follows; the outcome, statistics and the
    recording are there."""
    h, admin = host(tenant), admin_headers
    await update_settings(
        rt,
        domain=tenant.domain,
        changes={
            "gms_callback_caller_id": "+16505550000",
            "gms_callback_target": "Voice Service",
            "gms_callback_dial_retry_seconds": 60,
        },
    )
    r = await client.put(
        "/configapi/v2/user/agent2", json={"mobilePhone": "+16505550122"}, headers=admin
    )
    assert r.status_code == 200, r.text
    agent = await agent_login(client, tenant, "agent2")
    customer = "+14155550401"
    twilio.outcomes = {customer: ["busy", "answer"]}
    r = await client.post(CB, json={"_customer_number": customer, "topic": "invoice"}, headers=h)
    assert r.status_code == 200, r.text
    cid = r.json()["_id"]

    async def offered() -> dict[str, Any] | None:
        r = await client.get("/agentapi/v1/outbound/current", headers=agent)
        found = [a for a in r.json() if a["state"] == "offered"]
        return found[0] if found else None

    async def state() -> dict[str, Any]:
        r = await client.get(f"{CB}/callback/{cid}", headers=h)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # 1st attempt: offered with the callback's data, accepted, busy
    first = await until(offered, rt, pump=twilio.pump)
    assert first["campaign"] == "GMS callback callback"
    assert first["entry"]["ID"] == cid and first["entry"]["Phone"] == customer
    assert json.loads(first["entry"]["UserData"]) == {"topic": "invoice"}
    assert (await state())["_callback_state"] == "ROUTING"
    r = await client.post(f"/agentapi/v1/outbound/{first['attemptId']}/start", headers=agent)
    assert r.status_code == 202, r.text
    assert (await state())["_callback_state"] == "PROCESSING"

    async def retried() -> bool:
        s = await state()
        return bool(s["_callback_state"] == "QUEUED" and s.get("_dial_attempts") == 1)

    await until(retried, rt, pump=twilio.pump)
    assert (await state())["_last_disposition"] == "Busy"
    assert await offered() is None  # not before _dial_retry_timeout
    clock.advance(61)

    # 2nd attempt: answered, bridged to the agent's phone; the customer hangs up
    second = await until(offered, rt, pump=twilio.pump)
    r = await client.post(f"/agentapi/v1/outbound/{second['attemptId']}/start", headers=agent)
    assert r.status_code == 202

    async def connected() -> bool:
        r = await client.get(f"/agentapi/v1/outbound/{second['attemptId']}", headers=agent)
        return bool(r.json()["state"] == "connected")

    await until(connected, rt, pump=twilio.pump)
    call = twilio.call_to(customer)
    assert call.bridged_to == "+16505550122" and call.from_ == "+16505550000"
    assert (await state())["_callback_state"] == "PROCESSING"
    await twilio.hang_up(call.sid)
    r = await client.post(
        f"/agentapi/v1/outbound/{second['attemptId']}/disposition",
        json={"disposition": "Resolved", "notes": "invoice explained"},
        headers=agent,
    )
    assert r.status_code == 200, r.text
    done = await state()
    assert done["_callback_state"] == "COMPLETED" and done["_callback_reason"] == "Resolved"
    status = (await client.post(f"{GMS}/service/{cid}/status", headers=h)).json()
    assert status["status"] == "completed"
    r = await client.get(CB, params={"_callback_state": "COMPLETED"}, headers=h)
    assert [c["_id"] for c in r.json()] == [cid]
    # the expiry keeps the outcome
    await expire_service(rt, cid)
    await actions.purge(rt)
    assert (await state())["_callback_state"] == "COMPLETED"

    # statistics: outbound attempts of the callback campaign, counted for its service
    r = await client.get("/configapi/v2/campaign/GMS callback callback/statistics", headers=admin)
    stats = r.json()
    assert (stats["dialed"], stats["answered"], stats["busy"]) == (2, 1, 1)
    # the recording, served by the recordings API under the attempt's GIID
    await get_dialer(rt).drain()  # the fetch the recording callback started
    await rec_actions.fetch_carrier_recordings(rt)
    r = await client.get(
        "/configapi/v2/recordings/audio",
        params={"giid": second["globalInteractionID"]},
        headers=admin,
    )
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"


async def test_cancelled_callback_is_withdrawn_from_its_agent(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    twilio: FakeTwilio,
    clock: Clock,
) -> None:
    h = host(tenant)
    await client.put(
        "/configapi/v2/user/agent3", json={"mobilePhone": "+16505550133"}, headers=admin_headers
    )
    agent = await agent_login(client, tenant, "agent3")
    r = await client.post(CB, json={"_customer_number": "+14155550402"}, headers=h)
    cid = r.json()["_id"]

    async def offered() -> list[Any]:
        r = await client.get("/agentapi/v1/outbound/current", headers=agent)
        return list(r.json())

    await until(offered, rt, pump=twilio.pump)
    r = await client.put(
        f"{CB}/callback/{cid}",
        json={"_desired_time": iso(utcnow() + timedelta(hours=1))},
        headers=h,
    )
    assert_error(r, 409)  # offered: being processed
    r = await client.delete(f"{CB}/callback/{cid}", headers=h)
    assert r.status_code == 200 and r.json()["_callback_state"] == "CANCELLED"
    assert await offered() == []
    r = await client.get("/agentapi/v1/state", headers=agent)
    assert r.json()["state"] == "ready"
    for _ in range(3):  # never offered again
        await get_dialer(rt).tick()
    assert await offered() == []
    assert not twilio.calls
