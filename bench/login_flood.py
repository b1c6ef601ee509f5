"""A customer's message latency, quiet and under a flood of bad logins.

    python -m bench.login_flood [--seconds 10] [--clients 8] [--rate 20]

One server (one worker, production argon2 settings: every failed login costs one
verification in the hashing threads, a dummy hash for unknown accounts). A customer posts
chat messages (``POST /clientweb/api/v2/chats/{id}/events``) at ``--rate`` per second,
first alone, then while ``--clients`` clients, each from its own loopback address
(127.0.0.11, .12...), send bad logins (unknown accounts) to ``POST
/configapi/v2/oauth/token`` as fast as they are answered. Twice: with the default
``SWITCHBOARD_HASH_WORKERS`` (2 hashing threads) and with 1 (a core left to the event
loop on a 2-core machine). Printed: p50/p99 of the customer's posts, their ratio to the
quiet figures, and the flood's rate and answers (429: a source over its limits).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from bench._kit import (
    Conn,
    Server,
    demo_tenant,
    percentile,
    print_table,
    scratch,
    start_server,
    use_uvloop,
    wait_ready,
)

# what `Settings` holds by default: the cost a production login pays
PRODUCTION_ARGON2 = {"SWITCHBOARD_ARGON2_TIME_COST": "3", "SWITCHBOARD_ARGON2_MEMORY_KIB": "65536"}


class BoundConn(Conn):
    """A connection from a chosen loopback address (the server throttles per source)."""

    def __init__(self, host: str, port: int, source: str) -> None:
        super().__init__(host, port)
        self.source = source

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(self.source, 0)
        )


class Customer:
    def __init__(self, server: Server, domain: str) -> None:
        self.conn = Conn("127.0.0.1", server.port)
        self.query = urlencode({"tenantUrl": domain})
        self.headers = {"Authorization": "MOBILE-API-140-327-PLAIN appId=test, clientId=bench-c1"}
        self.chat_id = ""
        self.sent = 0

    async def start(self) -> None:
        status, body = await self.conn.json(
            "POST",
            f"/clientweb/api/v2/chats?{self.query}",
            self.headers,
            {"parameters": {"FIRST_NAME": "Bench"}},
        )
        if status != 200:
            raise RuntimeError(f"request chat: {status} {body}")
        self.chat_id = body["chat_id"]

    async def post(self) -> float:
        self.sent += 1
        t0 = time.perf_counter()
        status, body = await self.conn.json(
            "POST",
            f"/clientweb/api/v2/chats/{self.chat_id}/events?{self.query}",
            self.headers,
            {"events": [{"event": "chat_session_message", "msg": f"message {self.sent}"}]},
        )
        elapsed = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"post: {status} {body}")
        return elapsed

    async def run(self, seconds: float, rate: float) -> list[float]:
        out: list[float] = []
        interval = 1.0 / rate
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            out.append(await self.post())
            n += 1
            # an open-loop pace: the next post at its slot, not after a fixed pause
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        return out


async def flood(
    server: Server, domain: str, clients: int, stop: asyncio.Event
) -> tuple[Counter[int], int]:
    answers: Counter[int] = Counter()
    attempts = 0

    async def client(i: int) -> None:
        nonlocal attempts
        conn = BoundConn("127.0.0.1", server.port, f"127.0.0.{11 + i}")
        n = 0
        try:
            while not stop.is_set():
                n += 1
                form = urlencode(
                    {
                        "client_id": f"ghost{i}-{n}",
                        "client_secret": "wrong",
                        "scope": domain,
                        "grant_type": "client_credentials",
                    }
                ).encode()
                status, _, _ = await conn.request(
                    "POST",
                    "/configapi/v2/oauth/token",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    form,
                )
                answers[status] += 1
                attempts += 1
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return answers, attempts


def _figures(name: str, latencies: list[float], quiet: dict[str, Any] | None) -> dict[str, Any]:
    p50 = percentile(latencies, 50) * 1000
    p99 = percentile(latencies, 99) * 1000
    row: dict[str, Any] = {
        "phase": name,
        "posts": len(latencies),
        "p50 ms": round(p50, 2),
        "p99 ms": round(p99, 2),
        "p50 x": "",
        "p99 x": "",
        "logins/s": "",
        "401": "",
        "429": "",
    }
    if quiet is not None:
        row["p50 x"] = round(p50 / max(quiet["p50 ms"], 1e-9), 2)
        row["p99 x"] = round(p99 / max(quiet["p99 ms"], 1e-9), 2)
    return row


async def measure(
    label: str, env: dict[str, str], domain: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    server = start_server(f"login-flood-{label}", "switchboard.asgi:app", env=env)
    try:
        await wait_ready(server)
        await asyncio.sleep(1.0)  # let start-up work settle
        customer = Customer(server, domain)
        await customer.start()
        await customer.run(2.0, args.rate)  # warm-up
        quiet = _figures(f"{label}: quiet", await customer.run(args.seconds, args.rate), None)
        stop = asyncio.Event()
        flooding = asyncio.create_task(flood(server, domain, args.clients, stop))
        await asyncio.sleep(1.0)  # the flood is under way before measuring
        latencies = await customer.run(args.seconds, args.rate)
        stop.set()
        answers, attempts = await flooding
        loud = _figures(f"{label}: {args.clients} flooding", latencies, quiet)
        loud["logins/s"] = round(attempts / (args.seconds + 1.0))
        loud["401"] = answers.get(401, 0)
        loud["429"] = answers.get(429, 0)
        customer.conn.close()
        return [quiet, loud]
    finally:
        server.stop()


async def amain(args: argparse.Namespace, env: dict[str, str], domain: str) -> None:
    base = {**env, **PRODUCTION_ARGON2}
    rows = await measure("hash_workers=2", base, domain, args)
    rows += await measure("hash_workers=1", {**base, "SWITCHBOARD_HASH_WORKERS": "1"}, domain, args)
    print_table("customer message POST latency under a bad-login flood", rows)
    # the machine may be shared: the figures mean little without its load
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rate", type=float, default=20.0, help="customer posts per second")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    sc = scratch(None, None)
    domain, _tenant_id, _secret = asyncio.run(demo_tenant(sc.settings))
    use_uvloop()
    asyncio.run(amain(args, sc.env, domain))


if __name__ == "__main__":
    main()
