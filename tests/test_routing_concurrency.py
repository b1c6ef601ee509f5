"""Routing across 4 server processes on PostgreSQL + Redis: 50 agents, 2,000 chats that
arrive at once. Every chat is assigned exactly once and no agent ever holds more chats
than its capacity (checked from the interaction steps, over time).

Runs only on the PostgreSQL backend (``SWITCHBOARD_TEST_BACKEND=postgres``): SQLite
serialises writers in one file, so it says nothing about row locks across processes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from switchboard.agents.models import AgentLoad
from switchboard.core.runtime import Runtime
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.users.actions import create_user
from switchboard.users.schemas import UserCreate
from tests.conftest import BACKEND, PASSWORD, LiveServer, TenantInfo
from tests.test_agent_support import API, agent_login, auth, configure, new_chat

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL + Redis only")

AGENTS = 50
# 600 by default keeps the suite short; the property does not depend on the volume (raise
# it for a longer run; bench/routing_bench.py measures throughput)
CHATS = int(os.environ.get("SWITCHBOARD_TEST_ROUTING_CHATS", "600"))
CAPACITY = 3


async def _call(http: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """A client that retries, as a desktop does, when the network or a server hiccups."""
    for attempt in range(8):
        try:
            r = await http.request(method, url, **kw)
        except httpx.TransportError:
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        if r.status_code < 500:
            return r
        await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError(f"{method} {url} kept failing")


async def _bot(
    server: LiveServer,
    http: httpx.AsyncClient,
    token: str,
    stop: asyncio.Event,
    handled: list[str],
) -> None:
    """An agent on the WebSocket who accepts every offer and ends each chat at once; it
    reconnects with its last cursor when the socket drops, like the desktop."""
    rng = random.Random(token)
    cursor = (await _call(http, "GET", API + "/me", headers=auth(token))).json()["cursor"]
    base = server.base_url.replace("http://", "ws://") + f"{API}/ws?access_token={token}"
    while not stop.is_set():
        try:
            async with connect(f"{base}&cursor={cursor}", open_timeout=60) as ws:
                while not stop.is_set():
                    try:
                        async with asyncio.timeout(1):
                            frame = json.loads(await ws.recv())
                    except TimeoutError:
                        continue
                    if frame["type"] == "offer":
                        await _handle(http, token, frame["interaction_id"], rng, handled)
                    cursor = frame.get("cursor", cursor)
        except (ConnectionClosed, OSError, TimeoutError):
            await asyncio.sleep(0.5)


async def _handle(
    http: httpx.AsyncClient, token: str, iid: str, rng: random.Random, handled: list[str]
) -> None:
    r = await _call(http, "POST", f"{API}/interactions/{iid}/accept", headers=auth(token))
    if r.status_code == 409:
        # expired meanwhile (it went to another agent), or accepted by a retried request
        mine = await _call(http, "GET", f"{API}/interactions/{iid}", headers=auth(token))
        if mine.json().get("mine", {}).get("phase") != "connected":
            return
    else:
        assert r.status_code == 200, r.text
    await asyncio.sleep(rng.uniform(0, 0.05))
    r = await _call(
        http,
        "POST",
        f"{API}/interactions/{iid}/end",
        json={"disposition": "Resolved", "complete": True},
        headers=auth(token),
    )
    assert r.status_code in (200, 409), r.text
    handled.append(iid)


@pytest.mark.timeout(1500)
async def test_four_processes_many_chats_50_agents(
    live_server_factory: Callable[..., LiveServer], tenant: TenantInfo, rt: Runtime
) -> None:
    server = live_server_factory(workers=4, long_poll_seconds=2.0)
    await configure(
        rt,
        tenant,
        settings={"offer_timeout_seconds": 120, "chat_poll_abandon_seconds": 3600},
        acw_seconds=0,
    )
    logins = [f"bot{i:02d}" for i in range(AGENTS)]
    for i, login in enumerate(logins):
        await create_user(
            rt,
            tenant_id=tenant.tenant_id,
            data=UserCreate(
                login_id=login,
                password=PASSWORD,
                first_name="Bot",
                last_name=str(i),
                team="Support Team",  # default capacity 3
                roles=["Agent"],
                skills={"English": 50 + i},
            ),
        )
    # few HTTP connections at once: the database server is shared (max_connections)
    limits = httpx.Limits(max_connections=12, max_keepalive_connections=12)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
        tokens = [await agent_login(http, tenant, login, ready=True) for login in logins]
        stop = asyncio.Event()
        handled: list[str] = []
        bots = [asyncio.create_task(_bot(server, http, t, stop, handled)) for t in tokens]
        started = time.monotonic()
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with sem:
                return await new_chat(rt, http, tenant, f"load-{i}")

        chat_ids = await asyncio.gather(*(one(i) for i in range(CHATS)))
        assert len(set(chat_ids)) == CHATS

        async def completed() -> int:
            async with rt.db.read() as s:
                return int(
                    (
                        await s.execute(
                            select(func.count())
                            .select_from(Interaction)
                            .where(
                                Interaction.tenant_id == tenant.tenant_id,
                                Interaction.state == "completed",
                            )
                        )
                    ).scalar_one()
                )

        deadline = time.monotonic() + 1200
        while await completed() < CHATS:
            assert time.monotonic() < deadline, f"only {await completed()} chats completed"
            for b in bots:
                if b.done() and b.exception():
                    raise b.exception()  # type: ignore[misc]
            await asyncio.sleep(1)
        elapsed = time.monotonic() - started
        stop.set()
        await asyncio.gather(*bots)
    print(f"\n{CHATS} chats through {AGENTS} agents on 4 processes in {elapsed:.1f} s")

    async with rt.db.read() as s:
        inters = (
            (await s.execute(select(Interaction).where(Interaction.tenant_id == tenant.tenant_id)))
            .scalars()
            .all()
        )
        steps = (
            (
                await s.execute(
                    select(InteractionStep).where(InteractionStep.tenant_id == tenant.tenant_id)
                )
            )
            .scalars()
            .all()
        )
        loads = (
            (await s.execute(select(AgentLoad).where(AgentLoad.tenant_id == tenant.tenant_id)))
            .scalars()
            .all()
        )
    # every chat assigned (answered) exactly once, never offered to two agents at once
    assert sorted(i.chat_id or "" for i in inters) == sorted(chat_ids)
    by_inter: dict[str, list[InteractionStep]] = defaultdict(list)
    for st in steps:
        by_inter[st.interaction_id].append(st)
    assert len(by_inter) == CHATS
    reoffers = 0
    for iid, its in by_inter.items():
        answered = [st for st in its if st.answered_at is not None]
        assert len(answered) == 1, f"{iid} was answered {len(answered)} times"
        assert answered[0].outcome == "completed"
        # offers of one chat never overlap: each ended before the next began
        its.sort(key=lambda st: st.offered_at)
        for a, b in itertools.pairwise(its):
            assert a.ended_at is not None and a.ended_at <= b.offered_at, f"{iid} offered twice"
            assert a.outcome in ("missed", "rejected")
        reoffers += len(its) - 1
    print(f"re-offers after a missed offer: {reoffers}")
    assert set(handled) == set(by_inter)
    # no agent above capacity, at any moment: sweep each agent's [offered, completed]
    per_agent: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for st in steps:
        released = st.completed_at or st.ended_at
        assert released is not None
        per_agent[st.user_id].append((st.offered_at.timestamp(), 1))
        per_agent[st.user_id].append((released.timestamp(), -1))
    assert len(per_agent) > AGENTS // 2  # the work was spread
    for user_id, marks in per_agent.items():
        level = peak = 0
        for _t, delta in sorted(marks, key=lambda m: (m[0], m[1])):
            level += delta
            peak = max(peak, level)
        assert peak <= CAPACITY, f"agent {user_id} held {peak} chats"
    assert all(ld.active == 0 and ld.wrapup == 0 for ld in loads)
