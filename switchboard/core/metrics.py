"""Prometheus metrics (``GET /metrics``), correct with several worker processes.

Two kinds of values:

- **Per process** (requests, bus, held polls, loops, carriers, database pools): counted in
  each process with ``prometheus_client``'s multiprocess mode. Every worker of one
  deployment writes its samples to files in one directory (``metrics_dir``, default a
  temporary directory named after the database and bus prefix), and a scrape of any
  worker sums them. Files of processes that are gone are removed when a process starts.
- **From the database** (chats by state, queues and their longest wait, agents by state):
  read at scrape time by :func:`render_database`, so every worker answers the same.

Engine-core code reports through the small functions below (``holding_poll``,
``bus_published``, ``bus_wakeup_lag``, ``loop_iteration``, ``carrier_error``); they cost
about a microsecond and never raise.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from switchboard.core.logs import new_request_id, redact_query, request_id

log = logging.getLogger(__name__)
access_log = logging.getLogger("switchboard.access")


def _metrics_dir() -> str:
    # PROMETHEUS_MULTIPROC_DIR is not read: it is set below for prometheus_client, and
    # processes started from this one (tests' servers, tools) must choose their own
    from switchboard.core.settings import get_settings

    settings = get_settings()
    if settings.metrics_dir:
        return str(settings.metrics_dir)
    key = hashlib.sha256(f"{settings.database_url}|{settings.bus_prefix}".encode()).hexdigest()
    return str(Path(tempfile.gettempdir()) / f"switchboard-metrics-{key[:16]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prepare(directory: str) -> None:
    """Create the directory; remove the files of processes that no longer run."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    for f in Path(directory).glob("*.db"):
        m = re.search(r"_(\d+)\.db$", f.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                f.unlink()


METRICS_DIR = _metrics_dir()
_prepare(METRICS_DIR)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR

from prometheus_client import (  # noqa: E402 - the directory must be set first
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

# metric objects made from here on write to the shared directory
values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "switchboard_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer HTTP requests (long polls included), by method and route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HELD_POLLS = Gauge(
    "switchboard_held_polls",
    "Long polls (Messaging API, agent channel) held open now",
    ["kind"],
    multiprocess_mode="livesum",
)
BUS_PUBLISHES = Counter("switchboard_bus_publishes_total", "Topics published on the bus (wake-ups)")
BUS_WAKEUP_LAG = Histogram(
    "switchboard_bus_wakeup_lag_seconds",
    "Time from a publish to the wake-up of a listener (measured by a probe every 15 s, "
    "and by callers of bus_wakeup_lag)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
DB_POOL_IN_USE = Gauge(
    "switchboard_db_pool_connections_in_use",
    "Database connections checked out of the pools of every process (each process: the "
    "most at once since its previous sample)",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "switchboard_db_pool_connections_open",
    "Database connections open in the pools of every process",
    multiprocess_mode="livesum",
)
LOOP_DURATION = Histogram(
    "switchboard_loop_iteration_seconds",
    "Duration of one iteration of a background loop",
    ["loop"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
LOOP_ERRORS = Counter(
    "switchboard_loop_errors_total", "Iterations of a background loop that failed", ["loop"]
)
CARRIER_ERRORS = Counter(
    "switchboard_carrier_errors_total",
    "Failed calls to carriers (SMS, push, telephony), by carrier and kind",
    ["carrier", "kind"],
)
for _kind in ("messaging", "agent"):
    HELD_POLLS.labels(_kind)
PROCESSES = Gauge(
    "switchboard_processes", "Server processes writing metrics", multiprocess_mode="livesum"
)


# ---- what engine-core code calls -------------------------------------------------------


_held: dict[str, Any] = {}


@contextlib.contextmanager
def holding_poll(kind: str = "messaging") -> Iterator[None]:
    """``with holding_poll("messaging"):`` around the wait of a held long poll."""
    gauge = _held.get(kind)
    if gauge is None:
        gauge = _held[kind] = HELD_POLLS.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def bus_published(count: int = 1) -> None:
    """Count ``count`` topics published (call where the bus publishes)."""
    BUS_PUBLISHES.inc(count)


def bus_wakeup_lag(seconds: float) -> None:
    """Record the time between a publish and the wake-up it caused."""
    BUS_WAKEUP_LAG.observe(max(0.0, seconds))


@contextlib.asynccontextmanager
async def loop_iteration(name: str) -> AsyncIterator[None]:
    """``async with loop_iteration("routing"):`` around one pass of a background loop:
    its duration, and its failures (the exception propagates)."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as e:
        if not isinstance(e, (GeneratorExit, KeyboardInterrupt)) and not _cancelled(e):
            LOOP_ERRORS.labels(name).inc()
        raise
    finally:
        LOOP_DURATION.labels(name).observe(time.perf_counter() - started)


def _cancelled(e: BaseException) -> bool:
    import asyncio

    return isinstance(e, asyncio.CancelledError)


def loop_error(name: str) -> None:
    LOOP_ERRORS.labels(name).inc()


def carrier_error(carrier: str, kind: str = "error") -> None:
    """Count a failed request to a carrier (``carrier_error("twilio", "timeout")``)."""
    CARRIER_ERRORS.labels(carrier, kind).inc()


class _PoolUse:
    """Connections checked out of this process's pools, now and at most since the last
    sample (checkouts last milliseconds: a sample of "now" alone would nearly always
    read 0). Pool events come from the event loop and from the SQLite driver's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.pools: dict[int, Any] = {}

    def checkout(self, *_args: Any) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def checkin(self, *_args: Any) -> None:
        with self.lock:
            self.now = max(0, self.now - 1)

    def take_peak(self) -> int:
        with self.lock:
            peak, self.peak = self.peak, self.now
            return peak


_pool_use = _PoolUse()


def watch_pools(*engines: Any) -> None:
    """Count the checkouts of the pools of ``engines`` (sync or async; each pool once)."""
    from sqlalchemy import event

    for engine in engines:
        pool = getattr(getattr(engine, "sync_engine", engine), "pool", None)
        if pool is None or id(pool) in _pool_use.pools:
            continue
        _pool_use.pools[id(pool)] = pool
        event.listen(pool, "checkout", _pool_use.checkout)
        event.listen(pool, "checkin", _pool_use.checkin)


def sample_pool(engine: Any) -> None:
    """Record this process's pool use (the ops worker calls it every few seconds): the
    most connections in use at once since the last sample, and the connections open."""
    watch_pools(engine)
    DB_POOL_IN_USE.set(_pool_use.take_peak())
    opened = 0
    for pool in _pool_use.pools.values():
        checked_out = getattr(pool, "checkedout", None)
        idle = getattr(pool, "checkedin", None)
        if callable(checked_out) and callable(idle):
            opened += int(checked_out()) + int(idle())
    DB_POOL_SIZE.set(opened)


# ---- exposition -----------------------------------------------------------------------


def _forget_dead_gauges() -> None:
    """Drop the live gauges (held polls, pools, processes) of processes that are gone
    (a worker replaced, a server stopped): their last values must not be summed."""
    for f in Path(METRICS_DIR).glob("gauge_live*_*.db"):
        m = re.search(r"_(\d+)\.db$", f.name)
        if m and not _alive(int(m.group(1))):
            pid = int(m.group(1))
            with contextlib.suppress(OSError):
                # untyped in prometheus_client
                multiprocess.mark_process_dead(pid, METRICS_DIR)  # type: ignore[no-untyped-call]


def render_processes() -> bytes:
    """The per-process metrics of every process of this deployment (summed)."""
    _forget_dead_gauges()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=METRICS_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


class _Families:
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self._families


async def render_database(rt: Any) -> bytes:
    """Chats by state, queue length and longest wait per service, agents by state (read
    from the database: the same from every process)."""
    from sqlalchemy import func, select

    from switchboard.agents.models import AgentSession
    from switchboard.chats.models import ACTIVE_STATES, ChatSession
    from switchboard.core.db import utcnow
    from switchboard.services.models import Service
    from switchboard.tenants.models import Tenant

    chats = GaugeMetricFamily(
        "switchboard_chats", "Chats in progress, by tenant and state", labels=["tenant", "state"]
    )
    queue = GaugeMetricFamily(
        "switchboard_queue_length",
        "Chats waiting for an agent, by tenant and service",
        labels=["tenant", "service"],
    )
    wait = GaugeMetricFamily(
        "switchboard_queue_longest_wait_seconds",
        "How long the oldest waiting chat has waited, by tenant and service",
        labels=["tenant", "service"],
    )
    agents = GaugeMetricFamily(
        "switchboard_agents", "Agents by tenant and state", labels=["tenant", "state"]
    )
    now = utcnow()
    async with rt.db.read() as s:
        domains = dict((await s.execute(select(Tenant.id, Tenant.domain))).tuples().all())
        rows = await s.execute(
            select(ChatSession.tenant_id, ChatSession.state, func.count())
            .where(ChatSession.state.in_(ACTIVE_STATES))
            .group_by(ChatSession.tenant_id, ChatSession.state)
        )
        for tid, state, n in rows.tuples().all():
            chats.add_metric([domains.get(tid, tid), state], n)
        rows2 = await s.execute(
            select(
                ChatSession.tenant_id,
                func.coalesce(Service.name, "(none)"),
                func.count(),
                func.min(func.coalesce(ChatSession.queued_at, ChatSession.created_at)),
            )
            .outerjoin(Service, Service.id == ChatSession.service_id)
            .where(ChatSession.state == "queued")
            .group_by(ChatSession.tenant_id, Service.name)
        )
        for tid, service, n, oldest in rows2.tuples().all():
            labels = [domains.get(tid, tid), service]
            queue.add_metric(labels, n)
            if oldest is not None:
                if oldest.tzinfo is None:
                    from datetime import UTC

                    oldest = oldest.replace(tzinfo=UTC)
                wait.add_metric(labels, max(0.0, (now - oldest).total_seconds()))
        rows3 = await s.execute(
            select(AgentSession.tenant_id, AgentSession.state, func.count()).group_by(
                AgentSession.tenant_id, AgentSession.state
            )
        )
        for tid, state, n in rows3.tuples().all():
            agents.add_metric([domains.get(tid, tid), state], n)
    registry = CollectorRegistry()
    registry.register(_Families([chats, queue, wait, agents]))
    return generate_latest(registry)


# ---- the HTTP middleware: request id, metrics, access log -------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _observe(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    pair = _children.get(key)
    if pair is None:
        pair = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_LATENCY.labels(method, route),
        )
        if len(_children) < 10_000:
            _children[key] = pair
    pair[0].inc()
    pair[1].observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template with the prefixes of the routers it is mounted
    under (``/configapi/v2/user/{username}``); "unmatched" when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    full: str = scope.get("path", "")
    params = scope.get("path_params")
    if params:
        try:
            suffix = str(getattr(route, "path_format", path)).format(**params)
        except (KeyError, IndexError, ValueError):
            return str(path)
    else:
        suffix = str(path)
    if full.endswith(suffix):
        return full[: len(full) - len(suffix)] + str(path)
    return str(path)


class ObservabilityMiddleware:
    """Pure ASGI: a request id (``X-Request-Id`` in and out, and in every log line of the
    request), request count and latency per route template, and one access-log line with
    secrets redacted from the query string."""

    def __init__(self, app: ASGIApp, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                break
        rid = new_request_id(offered)
        token = request_id.set(rid)
        if kind == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            method = scope.get("method", "")
            try:
                _observe(method, template, status, elapsed)
            except Exception:  # never fail a request for a metric
                log.debug("metric update failed", exc_info=True)
            if self.access_log_enabled and access_log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                path = scope.get("path", "")
                client = scope.get("client")
                access_log.info(
                    "%s %s%s %d %.1fms",
                    method,
                    path,
                    "?" + redact_query(query) if query else "",
                    status,
                    elapsed * 1000,
                    extra={
                        "http_method": method,
                        "path": path,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": client[0] if client else None,
                        "redacted": True,
                    },
                )
            request_id.reset(token)


PROCESSES.inc()
