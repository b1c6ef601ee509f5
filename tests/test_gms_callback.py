"""GMS callbacks: create (JSON and forms), query by id, list and filter, reschedule,
cancel, expiry, and every user error."""

from __future__ import annotations

from datetime import timedelta

import httpx

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.gms import actions
from switchboard.gms.values import iso
from tests.conftest import TenantInfo
from tests.test_gms_support import GMS, assert_error, expire_service, host, parse_iso

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
