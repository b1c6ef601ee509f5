"""Campaigns through the Configuration API: the seed's ``campaign/getAll``, our management
extension, and the response codes."""

from __future__ import annotations

import httpx

from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_outbound_lists import token_of

API = "/configapi/v2"


async def test_seed_get_all(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for path in ("/campaign/getAll/", "/campaign/getAll"):
        r = await client.get(API + path, headers=admin_headers)
        assert r.status_code == 200, r.text
        assert r.json() == [
            {"name": "Outbound Campaign", "state": "STOPPED", "lists": ["list.csv"]}
        ]


async def test_get_all_hides_disabled_campaigns(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.put(f"{API}/campaign/Outbound Campaign", json={"enabled": False}, headers=h)
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/campaign/getAll/", headers=h)
    assert r.json() == []
    r = await client.post(f"{API}/campaign/Outbound Campaign/start", headers=h)
    assert r.status_code == 409


async def test_get_all_privileges(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    r = await client.get(f"{API}/campaign/getAll/")
    assert r.status_code == 401
    r = await client.get(f"{API}/campaign/getAll/", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    agent = await token_of(client, rt, tenant, "agent1")
    r = await client.get(f"{API}/campaign/getAll/", headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 403
    r = await client.post(
        f"{API}/campaign", json={"name": "X"}, headers={"Authorization": f"Bearer {agent}"}
    )
    assert r.status_code == 403


async def test_create_configure_start_stop(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    body = {
        "name": "Renewals",
        "mode": "progressive",
        "service": "Outbound Service",
        "requiredSkills": {"English": 50},
        "maxAttempts": 4,
        "callingHours": {"mon": [["09:00", "17:30"]], "sat": [["22:00", "02:00"]]},
        "timeZone": "America/New_York",
        "callerId": "+14155550000",
        "retryMinutes": {"busy": 5},
        "lists": ["list.csv"],
        "dncLists": ["DNC_List"],
        "dncTargetList": "DNC_List",
    }
    r = await client.post(f"{API}/campaign", json=body, headers=h)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["state"] == "STOPPED"
    assert c["lists"] == ["list.csv"]
    assert c["dncLists"] == ["DNC_List"]
    assert c["retryMinutes"]["busy"] == 5
    assert c["retryMinutes"]["no_answer"] == 60
    assert {d["name"]: d["outcome"] for d in c["dispositions"]}["Do not call"] == "do_not_call"
    r = await client.post(f"{API}/campaign", json=body, headers=h)
    assert r.status_code == 409

    r = await client.post(f"{API}/campaign/Renewals/start", headers=h)
    assert r.status_code == 200
    assert r.json()["state"] == "RUNNING"
    r = await client.get(f"{API}/campaign/getAll/", headers=h)
    assert {"name": "Renewals", "state": "RUNNING", "lists": ["list.csv"]} in r.json()
    r = await client.delete(f"{API}/campaign/Renewals", headers=h)
    assert r.status_code == 409  # running
    r = await client.post(f"{API}/campaign/Renewals/stop", headers=h)
    assert r.json()["state"] == "STOPPED"

    r = await client.delete(f"{API}/campaign/Renewals/lists/list.csv", headers=h)
    assert r.json()["lists"] == []
    r = await client.post(f"{API}/campaign/Renewals/start", headers=h)
    assert r.status_code == 409  # no calling list
    r = await client.put(f"{API}/campaign/Renewals/lists/list.csv", headers=h)
    assert r.json()["lists"] == ["list.csv"]
    r = await client.get(f"{API}/campaign/Renewals/statistics", headers=h)
    assert r.status_code == 200
    assert r.json()["dialed"] == 0
    r = await client.delete(f"{API}/campaign/Renewals", headers=h)
    assert r.status_code == 204
    r = await client.get(f"{API}/campaign/Renewals", headers=h)
    assert r.status_code == 404


async def test_validation_and_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    for body in (
        {"name": "A", "mode": "predictive"},
        {"name": "A", "maxAttempts": 0},
        {"name": "A", "callingHours": {"monday": [["09:00", "17:00"]]}},
        {"name": "A", "callingHours": {"mon": [["9", "17:00"]]}},
        {"name": "A", "callingHours": {"mon": [["09:00", "09:00"]]}},
        {"name": "A", "timeZone": "Mars/Olympus"},
        {"name": "A", "retryMinutes": {"sometimes": 3}},
        {"name": "A", "unknown": 1},
        {"name": ""},
    ):
        r = await client.post(f"{API}/campaign", json=body, headers=h)
        assert r.status_code == 400, body
    for body in (
        {"name": "A", "lists": ["nope.csv"]},
        {"name": "A", "dncLists": ["nope"]},
        {"name": "A", "service": "Nope"},
    ):
        r = await client.post(f"{API}/campaign", json=body, headers=h)
        assert r.status_code == 404, body
    for method, path in (
        ("GET", "/campaign/Nope"),
        ("PUT", "/campaign/Nope"),
        ("POST", "/campaign/Nope/start"),
        ("POST", "/campaign/Nope/stop"),
        ("PUT", "/campaign/Outbound Campaign/lists/nope.csv"),
        ("GET", "/campaign/Nope/statistics"),
    ):
        r = await client.request(method, API + path, json={}, headers=h)
        assert r.status_code == 404, path
