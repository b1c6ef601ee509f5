"""GET /metrics (Prometheus text; summed over worker processes; database values that move
with chats and agents), the start page, and readiness with Redis down."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import LiveServer, TenantInfo, free_port
from tests.test_agent_support import agent_login, mobile_headers

MSG = "/clientweb/api/v2"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of ``name{labels...}`` in a Prometheus text body (None when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


async def test_requests_counted_per_route_template(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    assert (await client.get("/health")).status_code == 200
    await client.get("/no/such/page")
    await client.get("/configapi/v2/user/nobody")  # 401, templated route
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text

    def delta(**labels: str) -> float:
        name = "switchboard_http_requests_total"
        return (sample(text, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert delta(method="GET", route="/health", status="200") == 1
    assert delta(method="GET", route="unmatched", status="404") == 1
    assert delta(method="GET", route="/configapi/v2/user/{username}", status="401") == 1
    assert sample(text, "switchboard_http_request_duration_seconds_count", route="/health")
    for name in (
        "switchboard_bus_publishes_total",
        "switchboard_bus_wakeup_lag_seconds_count",
        "switchboard_held_polls",
        "switchboard_db_pool_connections_in_use",
        "switchboard_processes",
    ):
        assert f"# TYPE {name.removesuffix('_count')}" in text or name in text, name


async def test_database_values_move_with_chats_and_agents(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    def values(text: str) -> tuple[float, float, float]:
        return (
            sample(text, "switchboard_queue_length", tenant=tenant.domain, service="Chat Service")
            or 0,
            sample(text, "switchboard_chats", tenant=tenant.domain, state="queued") or 0,
            sample(text, "switchboard_agents", tenant=tenant.domain, state="not_ready") or 0,
        )

    assert values((await client.get("/metrics")).text) == (0, 0, 0)
    r = await client.post(
        MSG + "/chats",
        params={"tenantUrl": tenant.domain},
        json={"parameters": {"FIRST_NAME": "Mo"}},
        headers=mobile_headers("metrics-cust"),
    )
    assert r.status_code == 200, r.text
    await agent_login(client, tenant, "agent3")  # not ready
    text = (await client.get("/metrics")).text
    assert values(text) == (1, 1, 1)
    wait = sample(
        text, "switchboard_queue_longest_wait_seconds", tenant=tenant.domain, service="Chat Service"
    )
    assert wait is not None and 0 <= wait < 60


async def test_metrics_token(
    rt: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rt.settings, "metrics_token", "scrape-me")
    assert (await client.get("/metrics")).status_code == 401
    r = await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert r.status_code == 200


def test_two_workers_sum_their_counts(
    live_server_factory: Callable[..., LiveServer], tenant: TenantInfo
) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        first = http.get("/metrics").text
        n = 40
        for _ in range(n):
            assert http.get("/ready").status_code == 200
        # a request on a new connection may land on either process
        seen_pids = set()
        totals = []
        for _ in range(6):
            with httpx.Client(base_url=server.base_url, timeout=10) as fresh:
                text = fresh.get("/metrics").text
            totals.append(
                (sample(text, "switchboard_http_requests_total", route="/ready", status="200") or 0)
                - (
                    sample(first, "switchboard_http_requests_total", route="/ready", status="200")
                    or 0
                )
            )
            seen_pids.add(sample(text, "switchboard_processes"))
        # every scrape, whichever process answers, counts the requests of both processes
        assert totals == [n] * len(totals), totals
        assert seen_pids == {2.0}
        # the database values are the same from every process
        r = http.post(
            MSG + "/chats",
            params={"tenantUrl": tenant.domain},
            json={"parameters": {}},
            headers=mobile_headers("metrics-2w"),
        )
        assert r.status_code == 200, r.text
        for _ in range(4):
            with httpx.Client(base_url=server.base_url, timeout=10) as fresh:
                text = fresh.get("/metrics").text
            assert sample(text, "switchboard_chats", tenant=tenant.domain, state="queued") == 1


async def test_start_page_leads_to_the_pages(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for href in ('href="/agent/"', 'href="/wallboard/"', 'href="/chat/"', 'href="/docs"'):
        assert href in r.text


def test_ready_with_redis_down(live_server_factory: Callable[..., LiveServer]) -> None:
    """A server pointed at a closed Redis port is alive but not ready (503 naming Redis)."""
    closed = free_port()  # nothing listens there
    server = live_server_factory(redis_url=f"redis://127.0.0.1:{closed}/0")
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        assert http.get("/health").status_code == 200
        r = http.get("/ready")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
