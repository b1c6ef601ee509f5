"""The dialer end to end on the simulated carrier: a progressive campaign (calling hours,
every DNC type, retries, max attempts, completion) and a preview campaign (skip, start,
hang up, dispositions, offer timeout, withdrawal), driven through the Configuration API
and the agent API.

The carrier's outcomes are made deterministic through settings: ring time 0, a script of
outcomes per number, and "answer" for every other number. Nothing waits on the wall
clock: the tests tick the dialer, wait for the calls it placed (``drain``), and move the
dialer's clock forward for retries and timeouts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchboard.campaigns.models import DAYS
from switchboard.campaigns.service import outbound_totals_by
from switchboard.core.runtime import Runtime
from switchboard.dialer.engine import get_dialer
from switchboard.services.models import Service
from tests.conftest import TenantInfo
from tests.test_carriers_support import Clock, clock, until

__all__ = ["clock"]  # fixture

API = "/configapi/v2"
AGENT = "/agentapi/v1"
EARLY = {"fromTime": "2000-01-01T00:00:00", "maxSize": 1000}


ALL_DAY = {d: [["00:00", "24:00"]] for d in DAYS}


def hours_around_now() -> dict[str, list[list[str]]]:
    """A calling window of now ± 2 hours (UTC), every day (may cross midnight)."""
    now = datetime.now(UTC)
    start = (now - timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    return {d: [[start, end]] for d in DAYS}


@pytest.fixture
def carrier(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], None]:
    """Script the simulated carrier (the shared runtime's settings, restored after)."""
    monkeypatch.setattr(rt.settings, "telephony_sim_ring_seconds", 0.0)
    monkeypatch.setattr(rt.settings, "telephony_sim_outcomes", {"answer": 1.0})
    monkeypatch.setattr(rt.settings, "telephony_sim_script", {})

    def script(numbers: dict[str, list[str]]) -> None:
        monkeypatch.setattr(rt.settings, "telephony_sim_script", numbers)

    return script


async def agent_login(client: httpx.AsyncClient, t: TenantInfo, login: str) -> dict[str, str]:
    r = await client.post(
        f"{AGENT}/login",
        json={"tenant": t.domain, "loginId": login, "password": t.password, "state": "ready"},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_progressive_campaign_end_to_end(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    carrier: Callable[[dict[str, list[str]]], None],
    clock: Clock,
) -> None:
    h = admin_headers
    carrier(
        {
            "+14155550101": ["answer"],
            "+14155550102": ["busy", "answer"],
            "+14155550105": ["no_answer"],
            "+14155550106": ["invalid"],
        }
    )
    r = await client.post(
        f"{API}/callinglist",
        json={
            "name": "progressive.csv",
            "fields": ["ID", "Name", "Phone", "TZ", "Zip"],
            "keys": ["ID"],
            "phoneFields": ["Phone"],
            "timeZoneField": "TZ",
            "postalCodeField": "Zip",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    records = [
        ("1", "answers", "+1 415 555 0101", "UTC", ""),
        ("2", "busy then answers", "4155550102", "UTC", ""),
        ("3", "internal DNC", "4155550103", "UTC", ""),
        ("4", "outside calling hours", "4155550104", "Etc/GMT-12", ""),
        ("5", "never answers", "4155550105", "UTC", ""),
        ("6", "invalid number", "4155550106", "UTC", ""),
        ("7", "area code DNC", "2125550107", "UTC", ""),
        ("8", "excluded record", "4155550108", "UTC", ""),
        ("9", "postal code DNC", "4155550109", "UTC", "94105"),
    ]
    body = [{"ID": i, "Name": n, "Phone": p, "TZ": tz, "Zip": z} for i, n, p, tz, z in records]
    r = await client.post(f"{API}/callinglist/addAll/progressive.csv", json=body, headers=h)
    assert r.json() == {"added": 9}
    await client.post(f"{API}/donotcalllist/add/DNC_List", json=[["4155550103"]], headers=h)
    for name, type_, value in (
        ("Areas", "area_code", "212"),
        ("Accounts", "record_exclusion", "8"),
        ("Zips", "geographic", "94105"),
    ):
        r = await client.post(f"{API}/donotcalllist", json={"name": name, "type": type_}, headers=h)
        assert r.status_code == 201
        r = await client.post(f"{API}/donotcalllist/add/{name}", json=[[value]], headers=h)
        assert r.json() == {"added": 1}
    r = await client.post(
        f"{API}/campaign",
        json={
            "name": "Progressive",
            "mode": "progressive",
            "service": "Outbound Service",
            "maxAttempts": 2,
            "callingHours": hours_around_now(),
            "retryMinutes": {"busy": 0.02, "no_answer": 0},
            "lists": ["progressive.csv"],
            "callerId": "+16505550000",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    agent = await agent_login(client, tenant, "agent1")
    r = await client.post(f"{API}/campaign/Progressive/start", headers=h)
    assert r.json()["state"] == "RUNNING"

    connected: list[str] = []

    async def settled() -> bool:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        assert r.status_code == 200, r.text
        for a in r.json():
            if a["state"] == "connected":
                connected.append(a["entry"]["ID"])
                d = await client.post(
                    f"{AGENT}/outbound/{a['attemptId']}/disposition",
                    json={"disposition": "Resolved", "notes": f"call {len(connected)}"},
                    headers=agent,
                )
                assert d.status_code == 200, d.text
                assert d.json()["state"] == "done"
        r = await client.post(
            f"{API}/callinglist/getCompleted/progressive.csv/Progressive", json=EARLY, headers=h
        )
        return len(r.json()) == 8

    await until(settled, rt, clock=clock, step=2.0)  # retries are due after 1.2 s
    assert sorted(connected) == ["1", "2"]

    r = await client.post(
        f"{API}/callinglist/getCompleted/progressive.csv/Progressive", json=EARLY, headers=h
    )
    completed = r.json()
    assert sorted(c["entry"]["ID"] for c in completed) == ["1", "2", "3", "5", "6", "7", "8", "9"]
    times = [c["completedTime"] for c in completed]
    assert times == sorted(times)
    by_id = {c["entry"]["ID"]: c for c in completed}
    assert by_id["1"]["status"]["lastDisposition"] == "Resolved"
    assert by_id["1"]["status"]["lastAgent"] == "agent1"
    assert by_id["1"]["status"]["lastPhone"] == "+1 415 555 0101"
    assert by_id["5"]["status"]["totalAttempts"] == 2  # max attempts reached
    assert by_id["5"]["status"]["lastDisposition"] == "No answer"
    assert by_id["6"]["status"]["lastDisposition"] == "Invalid number"

    # the updated-records answer carries every attempt; record 4 had none
    r = await client.post(
        f"{API}/callinglist/getChanged/progressive.csv/Progressive", json=EARLY, headers=h
    )
    changed = {c["entry"]["ID"]: c for c in r.json()}
    assert sorted(changed) == ["1", "2", "3", "5", "6", "7", "8", "9"]
    two = changed["2"]
    assert two["completed"] is True
    assert two["recordDisposition"] == "Resolved"
    assert [a["disposition"] for a in two["attempts"]] == ["Busy", "Resolved"]
    assert all(a["call_attempted"] for a in two["attempts"])
    assert two["attempts"][1]["callNotes"].startswith("call ")
    first = datetime.fromisoformat(two["attempts"][0]["date"])
    second = datetime.fromisoformat(two["attempts"][1]["date"])
    assert second - first >= timedelta(seconds=1.2)  # retryMinutes.busy = 0.02
    assert set(two["attempts"][0]) == {
        "call_attempted",
        "disposition",
        "dispositionCode",
        "date",
        "phone",
        "callDuration",
        "dialingDuration",
        "callNotes",
        "agent",
        "globalInteractionID",
        "CPADuration",
    }
    for dnc_id in ("3", "7", "8", "9"):
        (attempt,) = changed[dnc_id]["attempts"]
        assert attempt["call_attempted"] is False, dnc_id
        assert attempt["disposition"] == "Do Not Call"
        assert changed[dnc_id]["recordDisposition"] == "Do Not Call"
    assert [a["disposition"] for a in changed["5"]["attempts"]] == ["No answer", "No answer"]

    # record 4 waits for its calling hours and was never dialed
    r = await client.post(
        f"{API}/callinglist/get/progressive.csv/Progressive", json={"ID": "4"}, headers=h
    )
    assert r.json()["status"] == {"completed": False}

    r = await client.get(f"{API}/campaign/Progressive/statistics", headers=h)
    stats = r.json()
    assert stats["dialed"] == 6
    assert stats["answered"] == 2
    assert stats["handled"] == 2
    assert (stats["busy"], stats["no_answer"], stats["invalid"]) == (1, 2, 1)
    assert stats["dnc_blocked"] == 4
    async with rt.db.read() as s:
        service_id = (
            await s.execute(
                select(Service.id).where(
                    Service.tenant_id == tenant.tenant_id, Service.name == "Outbound Service"
                )
            )
        ).scalar_one()
        since = datetime.now(UTC) - timedelta(hours=1)
        by_service = await outbound_totals_by(
            session=s, tenant_id=tenant.tenant_id, since=since, by="service"
        )
        assert by_service[service_id].dialed == 6
        by_agent = await outbound_totals_by(
            session=s, tenant_id=tenant.tenant_id, since=since, by="agent"
        )
        assert sum(t.handled for t in by_agent.values()) == 2

    # completed records stay completed: more ticks, a restart, an update change nothing
    await client.post(f"{API}/callinglist/update/progressive.csv", json={"ID": "1"}, headers=h)
    await client.post(f"{API}/campaign/Progressive/stop", headers=h)
    await client.post(f"{API}/campaign/Progressive/start", headers=h)
    for _ in range(3):
        await get_dialer(rt).tick()
    r = await client.post(
        f"{API}/callinglist/getChanged/progressive.csv/Progressive", json=EARLY, headers=h
    )
    assert sum(len(c["attempts"]) for c in r.json()) == sum(
        len(c["attempts"]) for c in changed.values()
    )
    r = await client.get(f"{AGENT}/outbound/current", headers=agent)
    assert r.json() == []
    await client.post(f"{API}/campaign/Progressive/stop", headers=h)


async def test_preview_campaign(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    carrier: Callable[[dict[str, list[str]]], None],
    clock: Clock,
) -> None:
    h = admin_headers
    carrier({"+16507777777": ["answer"]})
    r = await client.put(
        f"{API}/campaign/Outbound Campaign",
        json={
            "callingHours": ALL_DAY,
            "retryMinutes": {"skipped": 10, "timeout": 10},
            "previewTimeoutSeconds": 60,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    agent = await agent_login(client, tenant, "agent2")
    r = await client.post(f"{API}/campaign/Outbound Campaign/start", headers=h)
    assert r.status_code == 200

    async def offered() -> dict[str, Any] | None:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        found = [a for a in r.json() if a["state"] == "offered"]
        return found[0] if found else None

    # 1: the agent sees the record and skips it (it comes back after retryMinutes.skipped)
    first = await until(offered, rt)
    assert first["entry"] == {
        "ID": "1",
        "firstName": "Graham",
        "lastName": "Smith",
        "Phone": "16509999999",
        "Status": "Gold",
    }
    assert first["mode"] == "preview"
    r = await client.post(f"{AGENT}/outbound/{first['attemptId']}/skip", headers=agent)
    assert r.status_code == 204
    r = await client.post(f"{AGENT}/outbound/{first['attemptId']}/skip", headers=agent)
    assert r.status_code == 409

    # 2: the agent calls, talks, hangs up, and sets "Do not call"
    second = await until(offered, rt)
    assert second["entry"]["ID"] == "2"
    r = await client.get(f"{AGENT}/outbound/{second['attemptId']}/dispositions", headers=agent)
    assert "Do not call" in [d["name"] for d in r.json()]
    r = await client.post(f"{AGENT}/outbound/{second['attemptId']}/hangup", headers=agent)
    assert r.status_code == 409  # not connected yet
    r = await client.post(f"{AGENT}/outbound/{second['attemptId']}/start", headers=agent)
    assert r.status_code == 202, r.text

    async def connected() -> bool:
        r = await client.get(f"{AGENT}/outbound/{second['attemptId']}", headers=agent)
        return bool(r.json()["state"] == "connected")

    await until(connected, rt)
    r = await client.post(f"{AGENT}/outbound/{second['attemptId']}/hangup", headers=agent)
    assert r.status_code == 200
    assert r.json()["state"] == "wrapup"
    r = await client.get(f"{AGENT}/state", headers=agent)
    assert r.json()["state"] == "after_call_work"
    r = await client.post(
        f"{AGENT}/outbound/{second['attemptId']}/disposition",
        json={"disposition": "No such thing"},
        headers=agent,
    )
    assert r.status_code == 400
    r = await client.post(
        f"{AGENT}/outbound/{second['attemptId']}/disposition",
        json={"disposition": "Do not call", "notes": "asked to be removed"},
        headers=agent,
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/donotcalllist/DNC_List/entries", headers=h)
    assert [e["key"] for e in r.json()] == ["+16507777777"]
    r = await client.post(
        f"{API}/callinglist/get/list.csv/Outbound Campaign", json={"ID": "2"}, headers=h
    )
    status = r.json()["status"]
    assert status["completed"] is True
    assert status["lastDisposition"] == "Do not call"

    # 3: an offer nobody answers expires after previewTimeoutSeconds
    third = await until(offered, rt)
    assert third["entry"]["ID"] == "3"

    async def expired() -> bool:
        r = await client.get(f"{AGENT}/outbound/{third['attemptId']}", headers=agent)
        return bool(r.json()["state"] == "done")

    assert not await expired()
    clock.advance(61)
    await until(expired, rt)
    r = await client.post(
        f"{API}/callinglist/getChanged/list.csv/Outbound Campaign", json=EARLY, headers=h
    )
    dispositions = {c["entry"]["ID"]: [a["disposition"] for a in c["attempts"]] for c in r.json()}
    assert dispositions == {
        "1": ["Skipped"],
        "2": ["Do not call"],
        "3": ["Preview timeout"],
    }

    # stopping the campaign withdraws a pending offer; it never counted as an attempt
    await client.post(
        f"{API}/callinglist/add/list.csv", json={"ID": "7", "Phone": "16505550177"}, headers=h
    )
    fourth = await until(offered, rt)
    assert fourth["entry"]["ID"] == "7"
    await client.post(f"{API}/campaign/Outbound Campaign/stop", headers=h)

    async def withdrawn() -> bool:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        return r.json() == []

    await until(withdrawn, rt)
    r = await client.get(f"{AGENT}/outbound/{fourth['attemptId']}", headers=agent)
    assert r.status_code == 404
    r = await client.get(f"{AGENT}/state", headers=agent)
    assert r.json()["state"] == "ready"


async def test_agent_endpoint_errors(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
    carrier: Callable[[dict[str, list[str]]], None],
) -> None:
    r = await client.get(f"{AGENT}/outbound/current")
    assert r.status_code == 401
    r = await client.get(f"{AGENT}/outbound/current", headers=admin_headers)
    assert r.status_code == 401  # a Configuration API token is not an agent session
    agent = await agent_login(client, tenant, "agent3")
    stranger = await agent_login(client, other_tenant, "agent3")
    await client.put(
        f"{API}/campaign/Outbound Campaign",
        json={"callingHours": ALL_DAY},
        headers=admin_headers,
    )
    await client.post(f"{API}/campaign/Outbound Campaign/start", headers=admin_headers)

    async def offered() -> dict[str, Any] | None:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        return r.json()[0] if r.json() else None

    attempt = (await until(offered, rt))["attemptId"]
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/start", None),
        ("POST", "/skip", None),
        ("POST", "/hangup", None),
        ("POST", "/disposition", {"disposition": "Resolved"}),
    ):
        r = await client.request(
            method, f"{AGENT}/outbound/{attempt}{path}", json=body, headers=stranger
        )
        assert r.status_code == 404, path
    r = await client.post(f"{AGENT}/outbound/{attempt}/disposition", json={}, headers=agent)
    assert r.status_code == 400
    r = await client.post(
        f"{AGENT}/outbound/{attempt}/disposition",
        json={"disposition": "Resolved", "retryMinutes": -1},
        headers=agent,
    )
    assert r.status_code == 400
    r = await client.post(f"{AGENT}/outbound/{attempt}/skip", headers=agent)
    assert r.status_code == 204
    r = await client.post(f"{AGENT}/outbound/{attempt}/start", headers=agent)
    assert r.status_code == 409
    await client.post(f"{API}/campaign/Outbound Campaign/stop", headers=admin_headers)


async def test_no_record_dialed_twice_across_processes(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    live_server_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two server processes and this one dial the same campaign with three agents: every
    record is dialed exactly once (every call is busy; one attempt allowed)."""
    h = admin_headers
    monkeypatch.setattr(rt.settings, "telephony_sim_ring_seconds", 0.0)
    monkeypatch.setattr(rt.settings, "telephony_sim_outcomes", {"busy": 1.0})
    monkeypatch.setattr(rt.settings, "telephony_sim_script", {})
    server = live_server_factory(
        workers=2,
        telephony_sim_outcomes='{"busy": 1}',
        telephony_sim_ring_seconds="0.05",
        dialer_poll_seconds="0.1",
    )
    rows = [{"ID": f"r{i}", "Phone": f"1415555{i:04d}"} for i in range(40)]
    r = await client.post(f"{API}/callinglist/addAll/list.csv", json=rows, headers=h)
    assert r.json() == {"added": 40}
    r = await client.put(
        f"{API}/campaign/Outbound Campaign",
        json={"mode": "progressive", "maxAttempts": 1, "callingHours": ALL_DAY},
        headers=h,
    )
    assert r.status_code == 200
    for login in ("agent1", "agent2", "agent3"):
        await agent_login(client, tenant, login)
    await client.post(f"{API}/campaign/Outbound Campaign/start", headers=h)

    async def all_done() -> bool:
        r = await client.post(
            f"{API}/callinglist/getCompleted/list.csv/Outbound Campaign", json=EARLY, headers=h
        )
        return len(r.json()) == 43

    await until(all_done, rt, other_processes=60)
    server.process.terminate()  # its fast-polling dialers would only slow later tests
    await client.post(f"{API}/campaign/Outbound Campaign/stop", headers=h)
    r = await client.post(
        f"{API}/callinglist/getChanged/list.csv/Outbound Campaign", json=EARLY, headers=h
    )
    attempts = {c["entry"]["ID"]: c["attempts"] for c in r.json()}
    assert len(attempts) == 43
    assert all(len(a) == 1 and a[0]["disposition"] == "Busy" for a in attempts.values()), attempts
    r = await client.get(f"{API}/campaign/Outbound Campaign/statistics", headers=h)
    assert r.json()["dialed"] == 43
    assert r.json()["busy"] == 43


async def test_deleting_records_under_an_offer_frees_the_agent(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    carrier: Callable[[dict[str, list[str]]], None],
) -> None:
    h = admin_headers
    await client.put(f"{API}/campaign/Outbound Campaign", json={"callingHours": ALL_DAY}, headers=h)
    agent = await agent_login(client, tenant, "agent1")
    await client.post(f"{API}/campaign/Outbound Campaign/start", headers=h)

    async def offered() -> bool:
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        return bool(r.json())

    await until(offered, rt)
    r = await client.get(f"{AGENT}/state", headers=agent)
    assert r.json()["state"] == "busy"
    r = await client.post(f"{API}/callinglist/deleteAll/list.csv", headers=h)
    assert r.status_code == 200
    r = await client.get(f"{AGENT}/outbound/current", headers=agent)
    assert r.json() == []
    r = await client.get(f"{AGENT}/state", headers=agent)
    assert r.json()["state"] == "ready"
    await client.post(f"{API}/campaign/Outbound Campaign/stop", headers=h)
    r = await client.delete(f"{API}/campaign/Outbound Campaign", headers=h)
    assert r.status_code == 204
