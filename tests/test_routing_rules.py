"""Who gets a chat: skills and levels, best match, longest idle, priority over waiting
time, capacity, not-ready agents, offer timeouts, rejections, skill relaxation."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from tests.conftest import BACKEND, TenantInfo
from tests.test_agent_support import (
    API,
    agent_login,
    auth,
    chat_state,
    configure,
    cursor_of,
    held,
    new_chat,
    next_frame,
    set_capacity,
    wait_for,
)


async def _offered_to(client: httpx.AsyncClient, tokens: dict[str, str], chat_id: str) -> str:
    async def find() -> str | None:
        for login, token in tokens.items():
            for it in await held(client, token):
                if it["chat_id"] == chat_id and it["mine"]["phase"] == "offered":
                    return login
        return None

    return str(await wait_for(find, timeout=10))


async def test_skills_and_levels_decide(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    # agent1: Support 90, English 100, Mobile 70; agent2: Support 70, Sales 80,
    # English 100, Spanish 80; agent3: Sales 90, English 80, Cable 60
    tokens = {
        a: await agent_login(client, tenant, a, ready=True) for a in ("agent1", "agent2", "agent3")
    }
    spanish = await new_chat(rt, client, tenant, "c-es", skills={"Spanish": 50})
    assert await _offered_to(client, tokens, spanish) == "agent2"
    support = await new_chat(rt, client, tenant, "c-sup", skills={"Support": 80})
    assert await _offered_to(client, tokens, support) == "agent1"
    sales = await new_chat(rt, client, tenant, "c-sales", skills={"Sales": 50})
    assert await _offered_to(client, tokens, sales) == "agent3"  # best match: 90 > 80
    cable = await new_chat(rt, client, tenant, "c-cable", skills={"Cable": 70})
    await asyncio.sleep(0.5)
    assert await chat_state(rt, cable) == "queued"  # agent3 has Cable 60 < 70
    for token in tokens.values():
        assert all(it["chat_id"] != cable for it in await held(client, token))


async def test_longest_idle_breaks_ties(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    # agent1 and agent2 both have English 100: the one ready longer gets the chat
    t2 = await agent_login(client, tenant, "agent2", ready=True)
    await asyncio.sleep(0.05)
    t1 = await agent_login(client, tenant, "agent1", ready=True)
    tokens = {"agent1": t1, "agent2": t2}
    first = await new_chat(rt, client, tenant, "c1", skills={"English": 100})
    assert await _offered_to(client, tokens, first) == "agent2"
    second = await new_chat(rt, client, tenant, "c2", skills={"English": 100})
    assert await _offered_to(client, tokens, second) == "agent1"


async def test_priority_beats_waiting_time(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await set_capacity(rt, tenant, "agent1", 1)
    token = await agent_login(client, tenant, "agent1")
    old = await new_chat(rt, client, tenant, "c-old", priority=0)
    await asyncio.sleep(0.05)
    urgent = await new_chat(rt, client, tenant, "c-urgent", priority=5)
    cursor = await cursor_of(client, token)
    r = await client.put(API + "/state", json={"state": "ready"}, headers=auth(token))
    assert r.status_code == 200
    offer, cursor, _ = await next_frame(client, token, cursor, "offer")
    assert offer["chat_id"] == urgent
    assert offer["priority"] == 5
    await asyncio.sleep(0.3)
    assert await chat_state(rt, old) == "queued"  # capacity 1: the older chat waits
    # backfill: as soon as the slot frees up, the waiting chat is offered
    r = await client.post(
        f"{API}/interactions/{offer['interaction_id']}/reject", headers=auth(token)
    )
    assert r.status_code == 200
    nxt, _, _ = await next_frame(client, token, cursor, "offer")
    assert nxt["chat_id"] == old


async def test_not_ready_agent_gets_nothing(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    t1 = await agent_login(client, tenant, "agent1")
    r = await client.put(
        API + "/state", json={"state": "not_ready", "reason": "Lunch"}, headers=auth(t1)
    )
    assert r.json()["state"] == "not_ready" and r.json()["reason"] == "Lunch"
    chat = await new_chat(rt, client, tenant, "c1")
    await asyncio.sleep(0.6)
    assert await chat_state(rt, chat) == "queued"
    assert await held(client, t1) == []
    t2 = await agent_login(client, tenant, "agent2", ready=True)
    assert await _offered_to(client, {"agent1": t1, "agent2": t2}, chat) == "agent2"


async def test_capacity_is_never_exceeded(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await set_capacity(rt, tenant, "agent1", 2)
    token = await agent_login(client, tenant, "agent1", ready=True)
    chats = [await new_chat(rt, client, tenant, f"c{i}") for i in range(4)]

    async def two() -> bool:
        return len(await held(client, token)) == 2

    await wait_for(two)
    await asyncio.sleep(0.5)
    mine = await held(client, token)
    assert len(mine) == 2
    assert {it["chat_id"] for it in mine} == set(chats[:2])  # first come, first served
    me = (await client.get(API + "/me", headers=auth(token))).json()
    chat_load = next(ld for ld in me["loads"] if ld["media"] == "chat")
    assert chat_load == {"media": "chat", "capacity": 2, "active": 2, "wrapup": 0}
    assert me["agent"]["state"] == "busy"


async def test_offer_timeout_reroutes_and_sets_not_ready(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, settings={"offer_timeout_seconds": 1})
    t1 = await agent_login(client, tenant, "agent1", ready=True)
    await asyncio.sleep(0.05)
    t2 = await agent_login(client, tenant, "agent2", ready=True)
    c1 = await cursor_of(client, t1)
    chat = await new_chat(rt, client, tenant, "c1", skills={"English": 50})
    offer, c1, _ = await next_frame(client, t1, c1, "offer")  # agent1: longest idle
    assert offer["timeout_seconds"] == 1
    revoked, c1, _ = await next_frame(client, t1, c1, "offer_revoked", timeout=5)
    assert revoked["reason"] == "timeout"
    state, _, _ = await next_frame(client, t1, c1, "state", match={"state": "not_ready"})
    assert state["reason"] == "Missed offer"
    assert await _offered_to(client, {"agent1": t1, "agent2": t2}, chat) == "agent2"
    r = await client.post(f"{API}/interactions/{offer['interaction_id']}/accept", headers=auth(t1))
    assert r.status_code == 409


async def test_rejected_chat_goes_to_another_agent(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    t1 = await agent_login(client, tenant, "agent1", ready=True)
    await asyncio.sleep(0.05)
    t2 = await agent_login(client, tenant, "agent2", ready=True)
    tokens = {"agent1": t1, "agent2": t2}
    chat = await new_chat(rt, client, tenant, "c1", skills={"English": 50})
    assert await _offered_to(client, tokens, chat) == "agent1"
    iid = (await held(client, t1))[0]["id"]
    r = await client.post(f"{API}/interactions/{iid}/reject", headers=auth(t1))
    assert r.status_code == 200
    assert await _offered_to(client, tokens, chat) == "agent2"
    # agent1 stays ready (a rejection is a choice, not a missed offer)
    assert (await client.get(API + "/state", headers=auth(t1))).json()["state"] == "ready"
    r = await client.post(f"{API}/interactions/{iid}/reject", headers=auth(t1))
    assert r.status_code == 409


async def test_skill_relaxation_after_waiting(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, relaxation=[{"after_seconds": 1, "reduce_by": 20}])
    t3 = await agent_login(client, tenant, "agent3", ready=True)  # Cable 60
    chat = await new_chat(rt, client, tenant, "c1", skills={"Cable": 70})
    await asyncio.sleep(0.5)
    assert await chat_state(rt, chat) == "queued"
    assert await _offered_to(client, {"agent3": t3}, chat) == "agent3"


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks: PostgreSQL")
async def test_claim_lost_to_a_locked_row_is_tried_again(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    """A pass that finds the chat's row held by another writer (a poll's claim, another
    process's pass) skips it; nobody wakes routing when that writer lets go, so the
    routing loop tries again by itself, soon (not at its minute-long cap)."""
    chat = await new_chat(rt, client, tenant, "c-locked")
    async with rt.db.write() as s:
        await s.execute(
            select(ChatSession.id).where(ChatSession.id == chat).with_for_update()
        )
        token = await agent_login(client, tenant, "agent1", ready=True)  # wakes routing
        await asyncio.sleep(0.3)  # (the pass meets the lock; without it, nothing changes)
        assert await chat_state(rt, chat) == "queued"
    assert await _offered_to(client, {"agent1": token}, chat) == "agent1"
