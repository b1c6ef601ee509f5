"""One operation, one transaction: make the commit fail inside each operation of the
engine and show that nothing of it remains and nothing was published.

The failure is injected where a real one would happen: the COMMIT fails (a hook of
the database layer, run right before every COMMIT of the process, raises). The API answers 500 in its own format; the tables of the tenant are exactly as
before; no wake-up went out on the chat's, the agents' or routing's topics. Then the
same request succeeds, which shows the scenario really exercised the operation.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from switchboard.agents.models import AgentEvent, AgentLoad, AgentSession, AgentStateChange
from switchboard.chats.log import chat_topic, routing_topic
from switchboard.chats.models import ChatEvent, ChatParty, ChatSession
from switchboard.core import clock
from switchboard.core.runtime import Runtime
from switchboard.interactions import actions as interactions
from switchboard.interactions.models import Interaction, InteractionStep
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    AGENT_API,
    Customer,
    Seat,
    agent_login,
    connect_agent,
    offer_to,
    user_id,
)

TABLES = (
    ChatSession,
    ChatEvent,
    ChatParty,
    Interaction,
    InteractionStep,
    AgentSession,
    AgentLoad,
    AgentEvent,
    AgentStateChange,
)


class Injected(RuntimeError):
    pass


@contextlib.contextmanager
def failing_commits(rt: Runtime) -> Iterator[None]:
    """Every COMMIT of this process fails while inside (``Database.before_commit``: run
    before the COMMIT of every write transaction, ORM or hot path)."""

    def refuse() -> None:
        raise Injected("the database refused the commit")

    rt.db.before_commit.append(refuse)
    try:
        yield
    finally:
        rt.db.before_commit.remove(refuse)


async def snapshot(rt: Runtime, tenant: TenantInfo) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    async with rt.db.read() as s:
        for model in TABLES:
            table = model.__table__
            rows = await s.execute(select(table).where(table.c.tenant_id == tenant.tenant_id))
            out[table.name] = {json.dumps(tuple(r), default=str) for r in rows}
    return out


@pytest.fixture
async def raw(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sees the 500 an unexpected error becomes (not the exception)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def atomic(
    rt: Runtime,
    tenant: TenantInfo,
    topics: list[str],
    op: Callable[[], Awaitable[Any]],
) -> None:
    """``op`` under failing commits: it fails, changes nothing, publishes nothing."""
    before = await snapshot(rt, tenant)
    async with rt.bus.listen(topics) as waiter:
        with failing_commits(rt):
            try:
                result = await op()
            except Injected:
                result = None
            if isinstance(result, httpx.Response):
                assert result.status_code == 500, result.text
        await rt.db.settle()
        assert not waiter.drain_pairs(), "a wake-up went out for a transaction that failed"
    after = await snapshot(rt, tenant)
    for name in before:
        assert after[name] == before[name], f"{name} changed by a failed operation"


async def topics_of(rt: Runtime, tenant: TenantInfo, chat_id: str, *logins: str) -> list[str]:
    out = [chat_topic(chat_id), routing_topic(tenant.tenant_id)]
    for login in logins:
        out.append(f"agent:{await user_id(rt, tenant, login)}")
    return out


async def test_request_chat_with_its_interaction(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(raw, tenant)
    await atomic(rt, tenant, [routing_topic(tenant.tenant_id)], lambda: c.post("/chats", {}))
    await c.start()
    async with rt.db.read() as s:
        inter = (
            await s.execute(select(Interaction).where(Interaction.chat_id == c.chat_id))
        ).scalar_one()
    assert inter.state == "queued"  # made with the chat, in its transaction


async def test_customer_messages_and_polls(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(raw, tenant)
    await c.start()
    topics = await topics_of(rt, tenant, c.chat_id)
    # a poll that would hand out the pending status event cannot claim it
    await atomic(rt, tenant, topics, lambda: c.get(f"/chats/{c.chat_id}/events"))
    assert [e["event"] for e in await c.poll()] == ["chat_session_status"]
    hello = {"event": "chat_session_message", "msg": "hello"}
    await atomic(rt, tenant, topics, lambda: c.send(hello))
    await c.say("hello")  # now it goes through


async def test_claim_accept_message_reject_and_missed(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(raw, tenant)
    await c.start()
    # no routing pass of this process plans the chat (a skill nobody has), so that none
    # commits an offer between the snapshots; the claims below are made here
    async with rt.db.write() as s:
        await s.execute(
            update(ChatSession)
            .where(ChatSession.id == c.chat_id)
            .values(requested_skills={"Nobody has this": 100})
        )
    token = await agent_login(raw, tenant, "agent1")
    uid = await user_id(rt, tenant, "agent1")
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    # the routing claim: offer, reserved slot, chat connecting
    await atomic(
        rt,
        tenant,
        topics,
        lambda: interactions.claim_chat(
            rt, tenant_id=tenant.tenant_id, chat_id=c.chat_id, user_id=uid
        ),
    )
    # now it goes through (this claim, or a routing pass that came first)
    interaction_id = await offer_to(rt, tenant, c.chat_id, "agent1")
    headers = {"Authorization": f"Bearer {token}"}
    # reject: revoked offer, freed slot, chat back in the queue
    reject = f"{AGENT_API}/interactions/{interaction_id}/reject"
    await atomic(rt, tenant, topics, lambda: raw.post(reject, headers=headers))
    # a missed offer: the same, plus not ready
    clock.advance(rt.settings.offer_timeout_seconds + 1)
    await atomic(rt, tenant, topics, lambda: interactions.expire_offers(rt))
    assert await interactions.expire_offers(rt) >= 1
    # accepted: the agent joins the chat in the same transaction
    r = await raw.put(f"{AGENT_API}/state", json={"state": "ready"}, headers=headers)
    assert r.status_code == 200, r.text
    seat = await connect_agent(raw, rt, tenant, c.chat_id, token=token)
    seat_topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    await atomic(rt, tenant, seat_topics, lambda: seat.post("messages", {"msg": "hi"}))
    assert await seat.say("hi") > 0


async def test_accept(raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    c = Customer(raw, tenant)
    await c.start()
    token = await agent_login(raw, tenant, "agent1")
    interaction_id = await offer_to(rt, tenant, c.chat_id, "agent1")
    accept = f"{AGENT_API}/interactions/{interaction_id}/accept"
    headers = {"Authorization": f"Bearer {token}"}
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    await atomic(rt, tenant, topics, lambda: raw.post(accept, headers=headers))
    r = await raw.post(accept, headers=headers)
    assert r.status_code == 200, r.text


async def _connected(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> tuple[Customer, Seat]:
    c = Customer(raw, tenant)
    await c.start()
    seat = await connect_agent(raw, rt, tenant, c.chat_id)
    return c, seat


async def test_agent_end_and_wrap_up(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat = await _connected(raw, rt, tenant)
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    body = {"disposition": "Resolved", "notes": "done"}
    await atomic(rt, tenant, topics, lambda: seat.post("end", body))
    r = await seat.post("end", body)
    assert r.status_code == 200, r.text
    await atomic(rt, tenant, topics, lambda: seat.post("complete", {}))
    assert (await seat.post("complete", {})).status_code == 200


async def test_customer_end_and_disconnect(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, _seat = await _connected(raw, rt, tenant)
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    for kind in ("chat_session_disconnect", "chat_session_end"):
        await atomic(rt, tenant, topics, lambda kind=kind: c.send({"event": kind}))
        assert (await c.send({"event": kind})).status_code == 200


async def test_transfers_conference_and_leave(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat = await _connected(raw, rt, tenant)
    token2 = await agent_login(raw, tenant, "agent2")
    topics = await topics_of(rt, tenant, c.chat_id, "agent1", "agent2")
    # conference agent2 in, agent2 accepts, then leaves
    await atomic(rt, tenant, topics, lambda: seat.post("conference", {"agent": "agent2"}))
    r = await seat.post("conference", {"agent": "agent2"})
    assert r.status_code == 200, r.text
    headers2 = {"Authorization": f"Bearer {token2}"}
    accept = f"{AGENT_API}/interactions/{seat.interaction_id}/accept"
    await atomic(rt, tenant, topics, lambda: raw.post(accept, headers=headers2))
    assert (await raw.post(accept, headers=headers2)).status_code == 200
    leave = f"{AGENT_API}/interactions/{seat.interaction_id}/leave"
    await atomic(rt, tenant, topics, lambda: raw.post(leave, headers=headers2))
    assert (await raw.post(leave, headers=headers2)).status_code == 200
    # transfer to agent2 (ready, with a free slot), then to a service
    await atomic(rt, tenant, topics, lambda: seat.post("transfer", {"agent": "agent2"}))
    await atomic(rt, tenant, topics, lambda: seat.post("transfer", {"service": "Chat Service"}))
    r = await seat.post("transfer", {"service": "Chat Service"})
    assert r.status_code == 200, r.text


async def test_logout_withdraws_offers(
    raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(raw, tenant)
    await c.start()
    token = await agent_login(raw, tenant, "agent1")
    await offer_to(rt, tenant, c.chat_id, "agent1")
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, c.chat_id)
        assert chat is not None and chat.state == "connecting"  # offered to agent1
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    headers = {"Authorization": f"Bearer {token}"}
    await atomic(rt, tenant, topics, lambda: raw.post(f"{AGENT_API}/logout", headers=headers))
    r = await raw.post(f"{AGENT_API}/logout", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "logged_out"
    # the offer was withdrawn and the chat re-queued in the same transaction
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, c.chat_id)
        assert chat is not None and chat.state == "queued"


async def test_chat_timers(raw: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    c, _seat = await _connected(raw, rt, tenant)
    topics = await topics_of(rt, tenant, c.chat_id, "agent1")
    clock.advance(3600)  # long past any inactivity timer and the customer's last poll
    await atomic(rt, tenant, topics, lambda: interactions.fire_chat_timers(rt))
    await interactions.fire_chat_timers(rt)
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, c.chat_id)
        assert chat is not None and chat.state == "completed"
        steps = (
            await s.execute(
                select(InteractionStep.phase)
                .join(Interaction, Interaction.id == InteractionStep.interaction_id)
                .where(Interaction.chat_id == c.chat_id)
            )
        ).scalars()
        assert set(steps) == {"wrap_up"}  # the agent's work ended with the chat
