"""Messaging load: simulated customers holding long polls while agents' messages flow.

    python -m bench messaging_load                      # defaults below
    python -m bench.messaging_load --customers 10000 --active 1000 --seconds 20

What it does:
1. migrates a scratch database (SQLite in a temporary folder, or ``--database-url``),
   creates a demo tenant and starts ``uvicorn switchboard.asgi:app`` (``--workers``);
2. creates ``--customers`` chats through ``POST chats`` and has every customer hold a
   ``GET chats/{id}/events`` long poll (raw keep-alive HTTP/1.1 connections); reports
   how many polls the server holds at once and its RSS;
3. connects an agent to ``--active`` of those chats and posts agents' messages to them
   (the engine's ``post_party_event``, from this process, as the agent desktop does) as
   fast as ``--senders`` concurrent senders can, for ``--seconds``; every customer
   re-polls at once after each answer. Reports delivered msg/s, p50/p99 delivery
   latency (post -> the customer's poll answer) and the server's RSS.

A poll held in the server is woken by a message posted from another process through
Redis: without ``--redis-url`` (or a Redis on 127.0.0.1:6379) messages arrive only at
the end of each hold. Numbers depend on the machine: the load generator, the server and
the database share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TENANT_PASSWORD = "Bench-pass-123"


# ---- a minimal keep-alive HTTP/1.1 client (10,000 of them must be cheap) -------------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        reused = self.writer is not None
        try:
            return await self._request(method, path, headers, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            if not reused:
                raise
            # the server closed an idle keep-alive connection: once more on a new one
            return await self._request(method, path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        out: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                out[k.strip().lower()] = v.strip()
        length = int(out.get("content-length", "0"))
        data = await self.reader.readexactly(length) if length else b""
        return status, out, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.reader = None


# ---- the server under test ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """RSS of the process and its children (uvicorn's workers), in KiB."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pids += [int(x) for x in f.read().split()]
    for p in pids:
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def redis_reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def setup_tenant(settings: Any) -> tuple[Any, str, str]:
    from switchboard.core.bus import make_bus
    from switchboard.core.db import Database
    from switchboard.core.runtime import Runtime
    from switchboard.core.security import configure_hashing
    from switchboard.tenants.demo import create_demo_tenant

    configure_hashing(settings.argon2_time_cost, settings.argon2_memory_kib)
    # a small pool: the database's connections are shared with the server under test
    rt = Runtime(
        settings=settings,
        db=Database(settings.database_url, pool_size=4),
        bus=make_bus(settings.redis_url, settings.bus_prefix),
    )
    await rt.start()
    domain = f"bench{secrets.token_hex(4)}.example.test"
    creds = await create_demo_tenant(
        rt, domain=domain, admin_secret="S" + secrets.token_hex(20), password=TENANT_PASSWORD
    )
    return rt, domain, creds.tenant_id


def prepare(args: argparse.Namespace) -> tuple[Any, Path]:
    """Settings for a scratch database, migrated (outside any event loop)."""
    from switchboard.core.registry import import_models
    from switchboard.core.settings import Settings
    from switchboard.migrations import upgrade

    import_models()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    redis_url = args.redis_url
    if redis_url is None and redis_reachable("redis://127.0.0.1:6379/0"):
        redis_url = "redis://127.0.0.1:6379/0"
    if redis_url == "none":
        redis_url = None
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        bus_prefix=f"sbbench-{secrets.token_hex(3)}",
        data_dir=workdir / "data",
        long_poll_seconds=args.hold,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    upgrade(settings)
    return settings, workdir


async def run(args: argparse.Namespace, settings: Any, workdir: Path) -> dict[str, Any]:
    database_url: str = settings.database_url
    redis_url: str | None = settings.redis_url
    prefix: str = settings.bus_prefix
    rt, domain, tenant_id = await setup_tenant(settings)

    port = free_port()
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=database_url,
        SWITCHBOARD_DATA_DIR=str(workdir / "data"),
        SWITCHBOARD_BUS_PREFIX=prefix,
        SWITCHBOARD_LONG_POLL_SECONDS=str(args.hold),
        SWITCHBOARD_LOG_LEVEL="WARNING",
        # the bench's customers poll continuously; a long abandon timeout is harmless
        SWITCHBOARD_CHAT_POLL_ABANDON_SECONDS="600",
    )
    if not args.with_workers:
        # the Messaging API alone: the routing engine (which would register and route
        # every queued chat) and the other background workers are off
        env["SWITCHBOARD_RUN_BACKGROUND_WORKERS"] = "false"
    if args.async_cursor_commit:
        env["SWITCHBOARD_CHAT_ASYNC_CURSOR_COMMIT"] = "true"
    if redis_url:
        env["SWITCHBOARD_REDIS_URL"] = redis_url
    else:
        env.pop("SWITCHBOARD_REDIS_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "switchboard.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--backlog",
            "4096",
            "--timeout-graceful-shutdown",
            "1",
            "--timeout-keep-alive",
            "120",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    result: dict[str, Any] = {
        "database": database_url.split(":", 1)[0],
        "bus": "redis" if redis_url else "in-process",
        "workers": args.workers,
        "hold_seconds": args.hold,
        "async_cursor_commit": args.async_cursor_commit,
        "background_workers": args.with_workers,
    }
    try:
        await wait_ready(port)
        result["rss_idle_mib"] = round(rss_kib(server.pid) / 1024, 1)
        await exercise(args, rt, port, domain, tenant_id, server.pid, result)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        await rt.stop()
    return result


async def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        conn = Conn("127.0.0.1", port)
        try:
            status, _, _ = await conn.request("GET", "/health", {})
            if status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not start")


class Customer:
    def __init__(self, port: int, domain: str, index: int) -> None:
        self.conn = Conn("127.0.0.1", port)
        self.query = f"tenantUrl={domain}"
        self.headers = {
            "Authorization": f"MOBILE-API-140-327-PLAIN appId=test, clientId=bench-{index}",
            "UserAgent": "MobileClient",
        }
        self.chat_id = ""
        self.in_flight = False

    async def start(self) -> None:
        status, _, body = await self.conn.request(
            "POST",
            f"/clientweb/api/v2/chats?{self.query}",
            {**self.headers, "Content-Type": "application/json"},
            b'{"parameters":{"FIRST_NAME":"Bench"}}',
        )
        if status != 200:
            raise RuntimeError(f"POST chats: {status} {body[:200]!r}")
        self.chat_id = json.loads(body)["chat_id"]

    async def poll(self) -> list[dict[str, Any]]:
        self.in_flight = True
        try:
            status, _, body = await self.conn.request(
                "GET", f"/clientweb/api/v2/chats/{self.chat_id}/events?{self.query}", self.headers
            )
        finally:
            self.in_flight = False
        if status != 200:
            raise RuntimeError(f"poll: {status} {body[:200]!r}")
        events: list[dict[str, Any]] = json.loads(body)["events"]
        return events


async def bulk_create(rt: Any, tenant_id: str, customers: list[Customer]) -> None:
    """Queued chats written straight to the database (what ``POST chats`` stores), so
    that setting up 10,000 customers does not dominate the run."""
    from sqlalchemy import insert, select

    from switchboard.chats.actions import scenario_party_id
    from switchboard.chats.models import ChatEvent, ChatParty, ChatSession
    from switchboard.core.db import new_id, utcnow
    from switchboard.scenarios.models import ScenarioEntry

    async with rt.db.read() as s:
        entry = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant_id, ScenarioEntry.app_id == "test"
                )
            )
        ).scalar_one()
    for start in range(0, len(customers), 500):
        batch = customers[start : start + 500]
        now = utcnow()
        sessions, parties, events = [], [], []
        for c in batch:
            c.chat_id = new_id()
            key = c.headers["Authorization"].rsplit("clientId=", 1)[1]
            sessions.append(
                {
                    "id": c.chat_id,
                    "tenant_id": tenant_id,
                    "giid": new_id(),
                    "entry_id": entry.id,
                    "service_id": entry.service_id,
                    "client_key": key,
                    "active_client_key": key,
                    "state": "queued",
                    "priority": 0,
                    "requested_skills": {},
                    "parameters": {"FIRST_NAME": "Bench"},
                    "last_seq": 1,
                    "client_cursor": 0,
                    "created_at": now,
                    "queued_at": now,
                    "last_client_activity_at": now,
                    "last_poll_at": now,
                    "poll_abandon_seconds": 600,
                    "inactivity_warning_seconds": entry.inactivity_warning_seconds,
                    "inactivity_timeout_seconds": entry.inactivity_timeout_seconds,
                }
            )
            for pid, kind in ((c.chat_id, "customer"), (scenario_party_id(c.chat_id), "scenario")):
                parties.append(
                    {
                        "id": pid,
                        "chat_id": c.chat_id,
                        "tenant_id": tenant_id,
                        "type": kind,
                        "display_name": kind,
                        "joined_at": now,
                    }
                )
            events.append(
                {
                    "chat_id": c.chat_id,
                    "tenant_id": tenant_id,
                    "seq": 1,
                    "direction": "server",
                    "event_type": "chat_session_status",
                    "party_id": scenario_party_id(c.chat_id),
                    "payload": {"event": "chat_session_status", "state": "queued", "ewt": "0"},
                    "created_at": now,
                }
            )
        async with rt.db.write() as s:
            await s.execute(insert(ChatSession), sessions)
            await s.execute(insert(ChatParty), parties)
            await s.execute(insert(ChatEvent), events)


async def gather_limited(coros: list[Any], limit: int) -> None:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> None:
        async with sem:
            await c

    await asyncio.gather(*(one(c) for c in coros))


async def exercise(
    args: argparse.Namespace,
    rt: Any,
    port: int,
    domain: str,
    tenant_id: str,
    server_pid: int,
    result: dict[str, Any],
) -> None:
    from sqlalchemy import select

    from switchboard.chats import actions
    from switchboard.users.models import User

    customers = [Customer(port, domain, i) for i in range(args.customers)]
    t0 = time.monotonic()
    http_created = customers[: args.http_chats]
    await gather_limited([c.start() for c in http_created], 64)
    if http_created:
        result["post_chats_per_s"] = round(len(http_created) / (time.monotonic() - t0), 1)
    await bulk_create(rt, tenant_id, customers[args.http_chats :])
    # drain each chat's first events (its queued status) so the next poll is held
    await gather_limited([c.poll() for c in customers], 256)

    # ---- phase 1: every customer holds a poll -----------------------------------------
    stop = asyncio.Event()
    latencies: list[float] = []
    delivered = 0
    errors = 0
    last_delivery = 0.0
    seen: set[str] = set()
    duplicates = 0

    async def poller(c: Customer) -> None:
        nonlocal delivered, errors, last_delivery, duplicates
        while not stop.is_set():
            try:
                events = await c.poll()
            except (RuntimeError, OSError, asyncio.IncompleteReadError):
                errors += 1
                c.conn.close()
                await asyncio.sleep(0.5)
                continue
            now = time.time()
            for e in events:
                if e.get("event") == "chat_session_message":
                    text = str(e["msg"])
                    if text in seen:
                        duplicates += 1
                    seen.add(text)
                    sent = float(text.split("|", 1)[0])
                    latencies.append(now - sent)
                    delivered += 1
                    last_delivery = time.monotonic()

    tasks = []
    step = max(1, args.ramp // 10)
    for i, c in enumerate(customers):
        tasks.append(asyncio.create_task(poller(c)))
        if i % step == step - 1:
            await asyncio.sleep(0.1)  # customers arrive at --ramp per second
    held_max = 0
    rss_max = 0
    deadline = time.monotonic() + max(args.hold * 0.8, 2.0)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        held_max = max(held_max, sum(1 for c in customers if c.in_flight))
        rss_max = max(rss_max, rss_kib(server_pid))
    result["held_polls"] = held_max
    result["rss_with_held_polls_mib"] = round(rss_max / 1024, 1)

    # ---- phase 2: messages flow to the active chats -----------------------------------
    active = customers[: args.active]
    async with rt.db.read() as s:
        agent_ids = [
            row
            for row in (
                await s.execute(
                    select(User.id).where(User.tenant_id == tenant_id, User.login_id.like("agent%"))
                )
            ).scalars()
        ]
    parties: list[tuple[str, str]] = []

    async def join(i: int, c: Customer) -> None:
        await actions.mark_connecting(rt, tenant_id=tenant_id, chat_id=c.chat_id)
        party = await actions.agent_joined(
            rt, tenant_id=tenant_id, chat_id=c.chat_id, user_id=agent_ids[i % len(agent_ids)]
        )
        parties.append((c.chat_id, party))

    await gather_limited([join(i, c) for i, c in enumerate(active)], 32)
    await asyncio.sleep(1.0)
    latencies.clear()
    delivered = 0
    sent = 0
    sending = True

    interval = args.senders / args.rate if args.rate else 0.0
    ids = itertools.count()

    async def sender(k: int) -> None:
        nonlocal sent
        i = k
        next_at = time.monotonic() + k * interval / args.senders
        while sending:
            if interval:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            chat_id, party = parties[i % len(parties)]
            i += args.senders
            await actions.post_party_event(
                rt,
                tenant_id=tenant_id,
                chat_id=chat_id,
                party_id=party,
                event={"event": "chat_session_message", "msg": f"{time.time():.6f}|{next(ids)}"},
            )
            sent += 1

    rss_flow = 0
    started = time.monotonic()
    senders = [asyncio.create_task(sender(k)) for k in range(args.senders)]
    while time.monotonic() - started < args.seconds:
        await asyncio.sleep(0.5)
        rss_flow = max(rss_flow, rss_kib(server_pid))
    sending = False
    await asyncio.gather(*senders)
    sent_elapsed = time.monotonic() - started
    # let the last messages arrive
    wait_until = time.monotonic() + args.hold + 2
    while delivered < sent and time.monotonic() < wait_until:
        await asyncio.sleep(0.1)
    stop.set()
    result["active_chats"] = len(parties)
    result["messages_sent"] = sent
    result["messages_delivered"] = delivered
    result["duplicates"] = duplicates
    result["send_seconds"] = round(sent_elapsed, 1)
    # deliveries over the time from the first post to the last delivery
    result["msg_per_s"] = round(
        delivered / max(sent_elapsed, last_delivery - started) if delivered else 0.0, 1
    )
    result["latency_p50_ms"] = round(percentile(latencies, 50) * 1000, 1)
    result["latency_p99_ms"] = round(percentile(latencies, 99) * 1000, 1)
    result["latency_mean_ms"] = (
        round(statistics.fmean(latencies) * 1000, 1) if latencies else float("nan")
    )
    result["rss_during_flow_mib"] = round(rss_flow / 1024, 1)
    result["poll_errors"] = errors
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in customers:
        c.conn.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", 1000)))
    p.add_argument("--active", type=int, default=int(os.environ.get("BENCH_ACTIVE", 100)))
    p.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    p.add_argument("--senders", type=int, default=32, help="concurrent agent-side senders")
    p.add_argument(
        "--http-chats",
        type=int,
        default=200,
        help="how many chats are created through POST chats (the rest straight in the DB)",
    )
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--hold", type=float, default=10.0, help="long-poll hold (seconds)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="an empty scratch database (default: SQLite in a temporary folder)",
    )
    p.add_argument("--ramp", type=int, default=1000, help="customers starting per second")
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="messages per second to post (0: as fast as possible)",
    )
    p.add_argument(
        "--with-workers",
        action="store_true",
        help="run the server's background workers (routing, timers, statistics) too",
    )
    p.add_argument(
        "--async-cursor-commit",
        action="store_true",
        help="PostgreSQL: cursor claims without WAL flush (SWITCHBOARD_CHAT_ASYNC_CURSOR_COMMIT)",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="default: redis://127.0.0.1:6379/0 when reachable; 'none' for none",
    )
    args = p.parse_args(argv)
    args.active = min(args.active, args.customers)
    args.http_chats = min(args.http_chats, args.customers)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    settings, workdir = prepare(args)
    result = asyncio.run(run(args, settings, workdir))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
