"""Outbound statistics from the dialer's attempts: a progressive campaign on the
simulated carrier (scripted outcomes), then ``out_calls_*`` per service, in totals and
per agent."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from switchboard.campaigns.models import DAYS
from switchboard.core.runtime import Runtime
from switchboard.dialer.engine import get_dialer
from tests.conftest import TenantInfo
from tests.test_stats_support import AGENT, bearer, data, fast_stats, stats_login, subscribe

API = "/configapi/v2"


async def test_out_calls_statistics(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    rt: Runtime,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rt.settings, "telephony_sim_ring_seconds", 0.0)
    monkeypatch.setattr(rt.settings, "telephony_sim_outcomes", {"answer": 1.0})
    monkeypatch.setattr(
        rt.settings,
        "telephony_sim_script",
        {"+14155550202": ["busy"], "+14155550203": ["no_answer"]},
    )
    h = admin_headers
    r = await client.post(
        f"{API}/callinglist",
        json={
            "name": "stats.csv",
            "fields": ["ID", "Phone"],
            "keys": ["ID"],
            "phoneFields": ["Phone"],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    rows = [{"ID": str(i), "Phone": f"415555020{i}"} for i in (1, 2, 3)]
    r = await client.post(f"{API}/callinglist/addAll/stats.csv", json=rows, headers=h)
    assert r.json() == {"added": 3}
    window = [["00:00", "24:00"]]  # whatever the records' time zone
    r = await client.post(
        f"{API}/campaign",
        json={
            "name": "Stats",
            "mode": "progressive",
            "service": "Outbound Service",
            "maxAttempts": 1,
            "callingHours": {d: window for d in DAYS},
            "lists": ["stats.csv"],
            "callerId": "+16505550000",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{AGENT}/login",
        json={
            "tenant": tenant.domain,
            "loginId": "agent1",
            "password": tenant.password,
            "state": "ready",
        },
    )
    assert r.status_code == 200, r.text
    agent = bearer(r.json()["access_token"])
    r = await client.post(f"{API}/campaign/Stats/start", headers=h)
    assert r.json()["state"] == "RUNNING"
    handled = 0
    deadline = time.monotonic() + 20
    while True:
        await get_dialer(rt).tick()
        r = await client.get(f"{AGENT}/outbound/current", headers=agent)
        for a in r.json():
            if a["state"] == "connected":
                d = await client.post(
                    f"{AGENT}/outbound/{a['attemptId']}/disposition",
                    json={"disposition": "Resolved"},
                    headers=agent,
                )
                assert d.status_code == 200, d.text
                handled += 1
        r = await client.post(
            f"{API}/callinglist/getCompleted/stats.csv/Stats",
            json={"fromTime": "2000-01-01T00:00:00", "maxSize": 100},
            headers=h,
        )
        if len(r.json()) == 3 and handled == 1:
            break
        assert time.monotonic() < deadline, "the campaign did not finish"
        await asyncio.sleep(0.05)
    await client.post(f"{API}/campaign/Stats/stop", headers=h)

    sup = await stats_login(client, tenant)
    client.cookies.clear()
    names = ["out_calls_dialed_per_day", "out_calls_answered_per_day", "out_calls_handled_per_day"]
    await subscribe(
        client,
        sup,
        {
            "o": {
                "stats_totals": names,
                "service_grids": [
                    {
                        "id": "s",
                        "columns": [{"id": "n", "stat_name": "name"}]
                        + [{"id": n, "stat_name": n} for n in names],
                    }
                ],
                "agent_grids": [
                    {
                        "id": "a",
                        "columns": [
                            {"id": "l", "stat_name": "login_id"},
                            {"id": "h", "stat_name": "out_calls_handled_per_day"},
                        ],
                    }
                ],
            }
        },
    )
    async with fast_stats(rt):
        out = (await data(client, sup, after=time.time()))["o"]
    # three numbers dialed: one answered (and handled by agent1), one busy, one no answer
    assert out["stats_totals"] == dict(zip(names, ["3", "1", "1"], strict=True))
    grid = {r["n"]: r for r in out["service_grids"][0]["values"]}
    assert grid["Outbound Service"] == {
        "n": "Outbound Service",
        "out_calls_dialed_per_day": "3",
        "out_calls_answered_per_day": "1",
        "out_calls_handled_per_day": "1",
    }
    assert grid["Chat Service"]["out_calls_dialed_per_day"] == "0"
    agents = {r["l"]: r["h"] for r in out["agent_grids"][0]["values"]}
    assert agents["agent1"] == "1" and agents["agent2"] == "0"
