"""Issue 16: the process metrics of GET /metrics MOVE with the work, on a live server of
2 worker processes (every scrape sums the processes, whichever answers it): held polls
up while a customer's long poll waits and down when the customer goes away; bus publishes with chat
events; the bus wake-up lag and the pool samples with the operations loop; background
loop durations with routing; carrier errors when the push gateway is unreachable. And
readiness: a database that cannot be reached answers 503 from every worker."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.sms.carriers import HttpCarrier, OutgoingSms
from tests.conftest import LiveServer, TenantInfo, free_port
from tests.test_admin_two_processes import Workers
from tests.test_agent_support import mobile_headers
from tests.test_messaging_support import agent_login, offer_to, set_tenant_setting
from tests.test_metrics import sample

MSG = "/clientweb/api/v2"
AGENT = "/agentapi/v1"
DEADLINE = 20.0  # bounded waits for a sampled value to change (never for an outcome)


@pytest.fixture(scope="module")
def closed_port() -> int:
    return free_port()  # nothing listens there: the push gateway is down


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer], closed_port: int) -> LiveServer:
    return live_server_factory(
        workers=2,
        long_poll_seconds=30,
        ops_interval_seconds=0.1,
        chat_push_webhook_url=f"http://127.0.0.1:{closed_port}/push",
    )


class Scraper:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def text(self) -> str:
        async with httpx.AsyncClient(base_url=str(self.http.base_url), timeout=10) as fresh:
            r = await fresh.get("/metrics")  # a new connection: either process answers
        assert r.status_code == 200
        return r.text

    async def value(self, name: str, **labels: str) -> float:
        return sample(await self.text(), name, **labels) or 0.0

    async def until(self, check: Callable[[float], bool], name: str, **labels: str) -> float:
        deadline = time.monotonic() + DEADLINE
        while True:
            value = await self.value(name, **labels)
            if check(value):
                return value
            assert time.monotonic() < deadline, f"{name}{labels} stayed at {value}"
            await asyncio.sleep(0.05)


async def test_metrics_move_with_chats_polls_and_agents(
    server: LiveServer, rt: Runtime, tenant: TenantInfo
) -> None:
    # the tenant's notifications go to the (unreachable) webhook gateway
    await set_tenant_setting(rt, tenant, "push_provider", "webhook")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=40) as http:
        m = Scraper(http)
        q = {"tenantUrl": tenant.domain}
        customer = mobile_headers("metrics-move")
        routing_passes = await m.value("switchboard_loop_iteration_seconds_count", loop="routing")
        published = await m.value("switchboard_bus_publishes_total")

        # a chat: routing runs (its loop's duration counts), the bus carries wake-ups
        r = await http.post(MSG + "/chats", params=q, json={"parameters": {}}, headers=customer)
        assert r.status_code == 200, r.text
        chat_id = r.json()["chat_id"]
        await m.until(
            lambda v: v > routing_passes, "switchboard_loop_iteration_seconds_count", loop="routing"
        )
        await m.until(lambda v: v > published, "switchboard_bus_publishes_total")

        # a held poll: up while it waits, down once it ends (what the chat has to say
        # so far is read first, by Send Events without events, which holds nothing)
        r = await http.post(
            f"{MSG}/chats/{chat_id}/events", params=q, json={"events": []}, headers=customer
        )
        assert r.status_code == 200, r.text
        held = await m.value("switchboard_held_polls", kind="messaging")
        poll = asyncio.create_task(
            http.get(f"{MSG}/chats/{chat_id}/events", params=q, headers=customer)
        )
        await m.until(lambda v: v == held + 1, "switchboard_held_polls", kind="messaging")

        # the customer goes away: the poll's connection closes, the server lets it go
        # (on SQLite an agent's answer from another process would not wake it: several
        # processes without Redis share configuration changes, not chat wake-ups)
        poll.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poll
        await m.until(lambda v: v == held, "switchboard_held_polls", kind="messaging")

        # an agent answers: the answer is published on the bus
        token = await agent_login(http, tenant, "agent1")
        agent = {"Authorization": f"Bearer {token}"}
        interaction = await offer_to(rt, tenant, chat_id, "agent1")
        r = await http.post(f"{AGENT}/interactions/{interaction}/accept", headers=agent)
        assert r.status_code == 200, r.text
        published = await m.value("switchboard_bus_publishes_total")
        r = await http.post(
            f"{AGENT}/interactions/{interaction}/messages", json={"msg": "Hi"}, headers=agent
        )
        assert r.status_code == 200, r.text
        await m.until(lambda v: v > published, "switchboard_bus_publishes_total")

        # a customer whose app is in the background (no poll) subscribed to
        # notifications; the push gateway is down: the agent's answer is a carrier error
        away = mobile_headers("metrics-move-away")
        r = await http.post(MSG + "/chats", params=q, json={"parameters": {}}, headers=away)
        assert r.status_code == 200, r.text
        away_chat = r.json()["chat_id"]
        r = await http.post(
            f"{MSG}/chats/{away_chat}/notifications",
            params=q,
            json={"android_firebase_device_token": "device-token-1"},
            headers=away,
        )
        assert r.status_code == 200, r.text
        carrier = "push-android_firebase"
        errors = await m.value("switchboard_carrier_errors_total", carrier=carrier)
        interaction = await offer_to(rt, tenant, away_chat, "agent1")
        r = await http.post(f"{AGENT}/interactions/{interaction}/accept", headers=agent)
        assert r.status_code == 200, r.text
        r = await http.post(
            f"{AGENT}/interactions/{interaction}/messages", json={"msg": "Hi"}, headers=agent
        )
        assert r.status_code == 200, r.text
        await m.until(lambda v: v > errors, "switchboard_carrier_errors_total", carrier=carrier)

        # the operations loop of each process: wake-up lag probes and pool samples
        lags = await m.value("switchboard_bus_wakeup_lag_seconds_count")
        await m.until(lambda v: v > lags, "switchboard_bus_wakeup_lag_seconds_count")
        ops = await m.value("switchboard_loop_iteration_seconds_count", loop="ops")
        await m.until(lambda v: v > ops, "switchboard_loop_iteration_seconds_count", loop="ops")
        # database pools: connections in use (the most at once between two samples of a
        # process) rise with requests, and fall back when the processes are idle
        assert await m.value("switchboard_db_pool_connections_open") >= 1
        await m.until(lambda v: v == 0, "switchboard_db_pool_connections_in_use")
        load = asyncio.gather(
            *(
                http.get(f"{MSG}/chats/{chat_id}/history", params=q, headers=customer)
                for _ in range(20)
            )
        )
        in_use = await m.until(lambda v: v >= 1, "switchboard_db_pool_connections_in_use")
        assert all(r.status_code == 200 for r in await load)
        assert in_use >= 1
        await m.until(lambda v: v == 0, "switchboard_db_pool_connections_in_use")
        assert await m.value("switchboard_processes") == 2


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:{port}/switchboard",  # a closed port
        "sqlite+aiosqlite:///{tmp}/no/such/dir/switchboard.db",  # cannot be opened
    ],
    ids=["postgresql-closed-port", "sqlite-unopenable"],
)
def test_not_ready_without_the_database(
    live_server_factory: Callable[..., LiveServer], tmp_path: object, url: str
) -> None:
    """Alive (``/health``) but not ready: 503 naming the database, from every worker."""
    server = live_server_factory(
        workers=2, database_url=url.format(port=free_port(), tmp=tmp_path), redis_url=""
    )
    workers = Workers(server)
    for pid, r in workers.ask_each("GET", "/health").items():
        assert r.status_code == 200, pid
    for pid, r in workers.ask_each("GET", "/ready").items():
        assert r.status_code == 503, (pid, r.text)
        assert r.json()["status"] == "unavailable" and r.json()["database"] == "unreachable"


async def test_sms_carrier_errors_are_counted(
    client: httpx.AsyncClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP SMS carrier counts what fails: a gateway that does not answer."""
    monkeypatch.setattr(rt.settings, "sms_http_url", f"http://127.0.0.1:{free_port()}/sms")
    carrier = HttpCarrier(rt)
    labels = {"carrier": "sms-http", "kind": "unreachable"}

    async def count() -> float:
        text = (await client.get("/metrics")).text
        return sample(text, "switchboard_carrier_errors_total", **labels) or 0.0

    before = await count()
    try:
        result = await carrier.send(
            OutgoingSms("m1", "t1", "+16505550000", "+16505550001", "hello")
        )
    finally:
        await carrier.close()
    assert result.status == "failed" and result.error_code == "30008"
    assert await count() == before + 1
