"""Chat throughput and latency: Switchboard against an in-memory relay, side by side.

    python -m bench chat_relay                       # SQLite, one worker
    python -m bench.chat_relay --database-url postgresql+asyncpg://postgres@127.0.0.1/test \
        --redis-url redis://127.0.0.1:6379/0 --workers 2

Both servers run on the same uvicorn settings and are driven by the same load generator
(this process, on uvloop):

* ``--chats`` customers (1,000) speak the Messaging API v1 as the SDKs do: ``POST chats``,
  then a long poll ``GET chats/{id}/events`` re-sent at once after every answer; their
  messages go out as ``POST chats/{id}/events`` on a second connection;
* ``--agents`` agents (100, each taking ``chats/agents`` chats) log in through the agent
  API, hold its WebSocket, accept the offers routing sends them, and write with
  ``POST /agentapi/v1/interactions/{id}/messages``;
* then messages are offered at increasing rates (``--rates``), half customer -> agent,
  half agent -> customer, each for ``--step-seconds``. A message's latency runs from its
  scheduled send time (open loop: a slow server cannot slow the offered load) to its
  arrival in the agent's WebSocket frame or the customer's poll answer.

Printed per server and rate: delivered msg/s, p50/p99 per direction, server CPU per
message, ``late`` (messages not delivered within 3 s of the step's last send: an
overloaded server's backlog), duplicates; then, per server, the highest offered rate
whose p99 stays under 100 ms both ways, the best throughput, and the engine/relay
ratios. A warm-up (``--warmup-seconds``) at the lowest rate goes first, unreported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from bench._kit import (
    PASSWORD,
    Conn,
    Scratch,
    Server,
    cpu_seconds,
    demo_tenant,
    gather_limited,
    percentile,
    print_table,
    redis_reachable,
    rss_mib,
    scratch,
    set_team_capacity,
    start_server,
    use_uvloop,
    wait_ready,
)

P99_TARGET_MS = 100.0


@dataclass
class Chat:
    index: int
    chat_id: str = ""
    interaction_id: str = ""
    agent: Agent | None = None
    poll: Conn | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Agent:
    login: str
    token: str = ""
    ws: Any = None
    conns: list[Conn] = field(default_factory=list)
    pending_accepts: list[asyncio.Task[None]] = field(default_factory=list)


class Run:
    """The load generator's state for one server."""

    def __init__(self, server: Server, domain: str, args: argparse.Namespace) -> None:
        self.server = server
        self.domain = domain
        self.args = args
        self.query = f"tenantUrl={domain}"
        self.chats: list[Chat] = []
        self.by_chat: dict[str, Chat] = {}
        self.agents: list[Agent] = []
        self.accepted = 0
        self.offers_taken = 0
        self.sent: dict[str, float] = {}
        self.lat: dict[str, list[float]] = {"c2a": [], "a2c": []}
        self.dupes = 0
        self.errors = 0
        # every message delivered so far, whichever step sent it
        self.seen: set[str] = set()
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []
        self.send_pool: asyncio.Queue[Conn] = asyncio.Queue()

    def conn(self) -> Conn:
        return Conn("127.0.0.1", self.server.port)

    # ---- arrivals -------------------------------------------------------------------

    def arrived(self, text: str) -> None:
        if text in self.seen:
            self.dupes += 1  # delivered twice
            return
        self.seen.add(text)
        sent = self.sent.pop(text, None)
        if sent is None:
            return  # a straggler of an earlier step (past its wait): not measured
        self.lat["c2a" if text[0] == "c" else "a2c"].append(time.monotonic() - sent)

    def customer_events(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if e.get("event") == "chat_session_message":
                msg = str(e.get("msg", ""))
                if msg.startswith("a|"):
                    self.arrived(msg)

    # ---- agents ---------------------------------------------------------------------

    async def agent_login(self, agent: Agent) -> None:
        conn = self.conn()
        status, body = await conn.json(
            "POST",
            "/agentapi/v1/login",
            body={
                "tenant": self.domain,
                "loginId": agent.login,
                "password": PASSWORD,
                "state": "ready",
            },
        )
        if status != 200:
            raise RuntimeError(f"agent login {agent.login}: {status} {body}")
        agent.token = body["access_token"]
        agent.conns = [conn] + [self.conn() for _ in range(3)]
        url = f"ws://127.0.0.1:{self.server.port}/agentapi/v1/ws"
        agent.ws = await websockets.connect(
            url,
            additional_headers={"Authorization": f"Bearer {agent.token}"},
            max_size=None,
            ping_interval=None,
        )
        self.tasks.append(asyncio.create_task(self.agent_reader(agent)))

    async def agent_reader(self, agent: Agent) -> None:
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for raw in agent.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "chat_event":
                    event = frame.get("event") or {}
                    if event.get("event") == "chat_session_message":
                        msg = str(event.get("msg", ""))
                        if msg.startswith("c|"):
                            self.arrived(msg)
                elif kind == "offer":
                    if self.offers_taken >= self.args.active:
                        continue  # the relay offers everything; agents take --active
                    self.offers_taken += 1
                    agent.pending_accepts.append(
                        asyncio.create_task(
                            self.accept(agent, frame["chat_id"], frame["interaction_id"])
                        )
                    )

    async def accept(self, agent: Agent, chat_id: str, interaction_id: str) -> None:
        conn = self.conn()
        try:
            status, _body = await conn.json(
                "POST",
                f"/agentapi/v1/interactions/{interaction_id}/accept",
                {"Authorization": f"Bearer {agent.token}"},
            )
        finally:
            conn.close()
        if status != 200:
            self.errors += 1
            return
        for _ in range(200):
            chat = self.by_chat.get(chat_id)
            if chat is not None:
                chat.agent = agent
                chat.interaction_id = interaction_id
                self.accepted += 1
                return
            await asyncio.sleep(0.05)

    # ---- customers ------------------------------------------------------------------

    async def customer_start(self, chat: Chat) -> None:
        chat.headers = {
            "Authorization": f"MOBILE-API-140-327-PLAIN appId=test, clientId=bench-{chat.index}",
            "UserAgent": "MobileClient",
        }
        chat.poll = self.conn()
        status, body = await chat.poll.json(
            "POST",
            f"/clientweb/api/v1/chats?{self.query}",
            chat.headers,
            {"parameters": {"FIRST_NAME": "Bench", "LAST_NAME": str(chat.index)}},
        )
        if status != 200:
            raise RuntimeError(f"POST chats: {status} {body}")
        chat.chat_id = body["chat_id"]
        self.by_chat[chat.chat_id] = chat
        self.tasks.append(asyncio.create_task(self.poller(chat)))

    async def poller(self, chat: Chat) -> None:
        assert chat.poll is not None
        path = f"/clientweb/api/v1/chats/{chat.chat_id}/events?{self.query}"
        while not self.stop.is_set():
            try:
                status, body = await chat.poll.json("GET", path, chat.headers)
            except (OSError, asyncio.IncompleteReadError):
                self.errors += 1
                chat.poll.close()
                await asyncio.sleep(0.5)
                continue
            if status != 200:
                self.errors += 1
                await asyncio.sleep(0.5)
                continue
            self.customer_events(body.get("events") or [])

    # ---- sending --------------------------------------------------------------------

    async def send_customer(self, chat: Chat, text: str) -> None:
        conn = await self.send_pool.get()
        try:
            self.sent[text] = self.sent.get(text) or time.monotonic()
            status, body = await conn.json(
                "POST",
                f"/clientweb/api/v1/chats/{chat.chat_id}/events?{self.query}",
                chat.headers,
                {"events": [{"event": "chat_session_message", "msg": text}]},
            )
            if status != 200:
                self.errors += 1
            elif isinstance(body, dict):
                self.customer_events(body.get("events") or [])
        except (OSError, asyncio.IncompleteReadError):
            self.errors += 1
            conn.close()
        finally:
            self.send_pool.put_nowait(conn)

    async def send_agent(self, chat: Chat, text: str) -> None:
        assert chat.agent is not None
        conn = await self.send_pool.get()
        try:
            status, _ = await conn.json(
                "POST",
                f"/agentapi/v1/interactions/{chat.interaction_id}/messages",
                {"Authorization": f"Bearer {chat.agent.token}"},
                {"msg": text},
            )
            if status != 200:
                self.errors += 1
        except (OSError, asyncio.IncompleteReadError):
            self.errors += 1
            conn.close()
        finally:
            self.send_pool.put_nowait(conn)

    async def idle(self, seconds: float) -> dict[str, Any]:
        """The server's CPU while every customer holds a poll and nobody writes."""
        cpu0 = cpu_seconds(self.server.pid)
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        cores = (cpu_seconds(self.server.pid) - cpu0) / (time.monotonic() - t0)
        return {
            "server": self.server.name,
            "held polls": sum(1 for c in self.chats if c.poll is not None),
            "idle cpu (cores)": round(cores, 3),
            "rss MiB": rss_mib(self.server.pid),
        }

    async def step(self, rate: float, seconds: float, ids: itertools.count[int]) -> dict[str, Any]:
        """Offer ``rate`` messages/s (both directions together, or agent -> customer
        only with ``--direction a2c``) for ``seconds``."""
        live = [c for c in self.chats if c.agent is not None]
        rng = random.Random(int(rate))
        for k in self.lat:
            self.lat[k] = []
        self.sent.clear()
        self.dupes = 0
        errors0 = self.errors
        cpu0 = cpu_seconds(self.server.pid)
        t0 = time.monotonic()
        interval = 1.0 / rate
        n = int(rate * seconds)
        inflight: set[asyncio.Task[None]] = set()
        for i in range(n):
            at = t0 + i * interval
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            chat = live[rng.randrange(len(live))]
            mid = next(ids)
            if i % 2 == 0 and self.args.direction == "both":
                text = f"c|{mid}"
                self.sent[text] = at
                task = asyncio.create_task(self.send_customer(chat, text))
            else:
                text = f"a|{mid}"
                self.sent[text] = at
                task = asyncio.create_task(self.send_agent(chat, text))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        sent_end = time.monotonic()
        # stragglers: up to 3 s (or the poll hold) after the last send
        deadline = sent_end + 3.0
        while self.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        last = time.monotonic()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*inflight, return_exceptions=True)
        cpu = cpu_seconds(self.server.pid) - cpu0
        delivered = len(self.lat["c2a"]) + len(self.lat["a2c"])
        elapsed = max(sent_end - t0, (last if not self.sent else deadline) - t0)
        return {
            "server": self.server.name,
            "offered/s": round(rate),
            "delivered/s": round(delivered / elapsed, 1),
            "late": len(self.sent),
            "dupes": self.dupes,
            "c2a p50 ms": round(percentile(self.lat["c2a"], 50) * 1000, 1),
            "c2a p99 ms": round(percentile(self.lat["c2a"], 99) * 1000, 1),
            "a2c p50 ms": round(percentile(self.lat["a2c"], 50) * 1000, 1),
            "a2c p99 ms": round(percentile(self.lat["a2c"], 99) * 1000, 1),
            "cpu ms/msg": round(cpu * 1000 / max(delivered, 1), 3),
            "errors": self.errors - errors0,
            "rss MiB": rss_mib(self.server.pid),
        }

    async def setup(self, logins: list[str]) -> None:
        self.agents = [Agent(login) for login in logins]
        await gather_limited([self.agent_login(a) for a in self.agents], 16)
        self.chats = [Chat(i) for i in range(self.args.chats)]
        for _ in range(self.args.senders):
            self.send_pool.put_nowait(self.conn())
        t0 = time.monotonic()
        await gather_limited([self.customer_start(c) for c in self.chats], 64)
        self.setup_chats_s = round(time.monotonic() - t0, 1)
        deadline = time.monotonic() + 300
        while self.accepted < self.args.active and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.setup_all_s = round(time.monotonic() - t0, 1)

    async def close(self) -> None:
        self.stop.set()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for a in self.agents:
            if a.ws is not None:
                with contextlib.suppress(Exception):
                    await a.ws.close()
            for c in a.conns:
                c.close()
        for c in self.chats:
            if c.poll is not None:
                c.poll.close()
        while not self.send_pool.empty():
            self.send_pool.get_nowait().close()


async def create_agents(port: int, domain: str, secret: str, count: int) -> list[str]:
    """``count`` agents through the Configuration API (as an administrator would)."""
    conn = Conn("127.0.0.1", port)
    form = (
        f"client_id=admin&client_secret={secret}&scope={domain}&grant_type=client_credentials"
    ).encode()
    status, _, raw = await conn.request(
        "POST",
        "/configapi/v2/oauth/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    if status != 200:
        raise RuntimeError(f"token: {status} {raw[:200]!r}")
    token = json.loads(raw)["access_token"]
    conn.close()
    logins = [f"bench{i:04d}" for i in range(count)]

    async def one(login: str) -> None:
        c = Conn("127.0.0.1", port)
        try:
            st, body = await c.json(
                "POST",
                "/configapi/v2/user",
                {"Authorization": f"Bearer {token}"},
                {
                    "loginId": login,
                    "password": PASSWORD,
                    "firstName": "Bench",
                    "lastName": login,
                    "team": "Support Team",
                    "roles": ["Agent"],
                },
            )
            if st not in (200, 201):
                raise RuntimeError(f"create {login}: {st} {body}")
        finally:
            c.close()

    await gather_limited([one(x) for x in logins], 8)
    return logins


async def measure(
    server: Server, domain: str, logins: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    run = Run(server, domain, args)
    try:
        await run.setup(logins)
        print(
            f"   {server.name}: {len(run.chats)} chats, {run.accepted} accepted "
            f"(chats created in {run.setup_chats_s} s, all accepted after {run.setup_all_s} s), "
            f"RSS {rss_mib(server.pid)} MiB",
            flush=True,
        )
        if args.idle_seconds:
            print_table(f"{server.name}: idle", [await run.idle(args.idle_seconds)])
        ids = itertools.count()
        if args.warmup_seconds > 0:
            # not reported: the first seconds of traffic pay for caches, connections and
            # the collector's first passes
            await run.step(min(args.rates), args.warmup_seconds, ids)
            await asyncio.sleep(1.0)
        rows = []
        for rate in args.rates:
            row = await run.step(rate, args.step_seconds, ids)
            rows.append(row)
            print_table(server.name, [row])
            worst = max(row["c2a p99 ms"], row["a2c p99 ms"])
            if row["late"] > row["offered/s"] * args.step_seconds * 0.2 or worst > 3000:
                break  # saturated
            await asyncio.sleep(1.0)
        return rows
    finally:
        await run.close()


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [
        r["offered/s"]
        for r in rows
        if r["c2a p99 ms"] < P99_TARGET_MS and r["a2c p99 ms"] < P99_TARGET_MS and r["late"] == 0
    ]
    best = max(rows, key=lambda r: r["delivered/s"]) if rows else {}
    good = [r for r in rows if r["late"] == 0] or rows
    return {
        "rate at p99<100ms": max(ok) if ok else 0,
        "best delivered/s": best.get("delivered/s", 0),
        "cpu ms/msg": min((r["cpu ms/msg"] for r in good), default=float("nan")),
    }


def prepare(args: argparse.Namespace) -> Scratch:
    """The scratch database (outside any event loop: migrations run their own)."""
    redis_url = args.redis_url
    if redis_url is None and args.workers > 1 and redis_reachable("redis://127.0.0.1:6379/0"):
        redis_url = "redis://127.0.0.1:6379/0"
    if redis_url == "none":
        redis_url = None
    return scratch(
        args.database_url,
        redis_url,
        long_poll_seconds=args.hold,
        # offers wait for the load generator's accepts however slow the setup is
        offer_timeout_seconds=120,
    )


async def amain(args: argparse.Namespace, sc: Scratch) -> None:
    redis_url = sc.settings.redis_url
    capacity = -(-args.active // args.agents)
    domain, tenant_id, secret = await demo_tenant(sc.settings)
    await set_team_capacity(sc.settings, tenant_id, "Support Team", capacity)

    results: dict[str, list[dict[str, Any]]] = {}
    print(
        f"== chat_relay: {args.chats} customers, {args.active} chats taken by "
        f"{args.agents} agents x {capacity}, "
        f"database {sc.settings.database_url.split(':', 1)[0]}, "
        f"bus {'redis' if redis_url else 'in-process'}, {args.workers} worker(s), "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    targets = [t for t in ("relay", "engine") if t in args.targets]
    for target in targets:
        if target == "engine":
            server = start_server(
                "engine", "switchboard.asgi:app", workers=args.workers, env=sc.env
            )
        else:
            server = start_server("relay", "bench.relay_app:create()", workers=1)
        try:
            await wait_ready(server)
            if target == "engine":
                logins = await create_agents(server.port, domain, secret, args.agents)
            else:
                logins = [f"bench{i:04d}" for i in range(args.agents)]
            results[target] = await measure(server, domain, logins, args)
        finally:
            server.stop()
    print()
    summaries = {name: summary(rows) for name, rows in results.items()}
    table = [{"server": name, **s} for name, s in summaries.items()]
    if "relay" in summaries and "engine" in summaries:
        r, e = summaries["relay"], summaries["engine"]
        table.append(
            {
                "server": "engine/relay",
                "rate at p99<100ms": round(
                    e["rate at p99<100ms"] / max(r["rate at p99<100ms"], 1), 3
                ),
                "best delivered/s": round(e["best delivered/s"] / max(r["best delivered/s"], 1), 3),
                "cpu ms/msg": round(e["cpu ms/msg"] / max(r["cpu ms/msg"], 1e-9), 2),
            }
        )
    print_table("summary", table)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chats", type=int, default=1000, help="customers, each holding a poll")
    p.add_argument("--active", type=int, default=0, help="chats agents take (default: all of them)")
    p.add_argument("--direction", choices=("both", "a2c"), default="both")
    p.add_argument(
        "--idle-seconds", type=float, default=0.0, help="measure idle CPU this long first"
    )
    p.add_argument("--agents", type=int, default=100)
    p.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[50, 100, 200, 300, 400, 600, 800, 1200],
        help="offered messages/s, comma-separated",
    )
    p.add_argument("--step-seconds", type=float, default=8.0)
    p.add_argument(
        "--warmup-seconds", type=float, default=3.0, help="unreported traffic before the steps"
    )
    p.add_argument("--senders", type=int, default=256, help="sending connections")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--hold", type=float, default=10.0, help="long-poll hold (seconds)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    p.add_argument("--targets", default="relay,engine")
    args = p.parse_args(argv)
    args.active = min(args.active or args.chats, args.chats)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sc = prepare(args)
    use_uvloop()
    asyncio.run(amain(args, sc))


if __name__ == "__main__":
    main()
