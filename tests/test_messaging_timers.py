"""Inactivity warning and timeout, gone clients, and timers firing once across workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from switchboard.chats import actions
from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.core import clock
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.interactions.actions import fire_chat_timers
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    Customer,
    connect_agent,
    error_of,
    set_tenant_setting,
    update_entry,
)

# every due chat of the run's database (earlier tests' chats may be due too)
ALL = 1_000_000


async def chat_row(rt: Runtime, chat_id: str) -> ChatSession:
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
        assert chat is not None
        return chat


async def events_of(c: Customer) -> list[dict[str, object]]:
    r = await c.get(f"/chats/{c.chat_id}/events")
    assert r.status_code == 200, r.text
    events: list[dict[str, object]] = r.json()["events"]
    return events


async def test_inactivity_warning_then_timeout(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    await update_entry(
        rt,
        tenant,
        inactivity_warning_seconds=20,
        inactivity_timeout_seconds=50,
        widget_configuration={"inactivityWarningMessage": "Still there?"},
    )
    c = Customer(client, tenant)
    await c.start()
    await connect_agent(client, rt, tenant, c.chat_id)
    await events_of(c)
    # time passes (the engine's clock), then the timer pass runs
    clock.advance(21)
    assert await fire_chat_timers(rt, limit=ALL) >= 1  # (chats of earlier tests may be due too)
    seen = await events_of(c)
    warning = next(e for e in seen if e["event"] == "chat_session_timeout_warning")
    assert warning["msg"] == "Still there?"
    # the customer answers: the silence starts again (no timeout yet)
    await c.say("yes!")
    assert (await chat_row(rt, c.chat_id)).warning_sent_at is None
    clock.advance(45)
    await fire_chat_timers(rt, limit=ALL)  # a second warning, 20 s after the answer
    assert (await chat_row(rt, c.chat_id)).state == "connected"
    clock.advance(10)
    await fire_chat_timers(rt, limit=ALL)
    seen += await events_of(c)
    kinds = [e["event"] for e in seen]
    assert kinds.index("chat_session_timeout_warning") < kinds.index(
        "chat_session_inactivity_timeout"
    )
    assert kinds[-1] == "chat_session_ended"
    timeout = next(e for e in seen if e["event"] == "chat_session_inactivity_timeout")
    assert timeout["msg"] == actions.DEFAULT_TIMEOUT
    chat = await chat_row(rt, c.chat_id)
    assert chat.state == "completed" and chat.end_reason == "inactivity_timeout"
    assert error_of(await c.get(f"/chats/{c.chat_id}/events")) == (404, "5005")


async def test_client_that_stops_polling(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    await set_tenant_setting(rt, tenant, "chat_poll_abandon_seconds", 30)
    talking = Customer(client, tenant)
    await talking.start()
    seat = await connect_agent(client, rt, tenant, talking.chat_id)
    # the agent takes no more: the next chats stay queued (a routing pass would offer
    # them to a ready agent with room)
    r = await client.put(
        "/agentapi/v1/state", json={"state": "not_ready"}, headers=seat.headers
    )
    assert r.status_code == 200, r.text
    waiting = Customer(client, tenant)
    await waiting.start()
    polling = Customer(client, tenant)
    await polling.start()
    clock.advance(31)
    await polling.poll()  # this one is still there
    await fire_chat_timers(rt, limit=ALL)
    a = await chat_row(rt, waiting.chat_id)
    b = await chat_row(rt, talking.chat_id)
    assert a.state == "completed" and a.end_reason == "abandoned"
    assert b.state == "completed" and b.end_reason == "client_gone"
    assert (await chat_row(rt, polling.chat_id)).state == "queued"
    # the agent's work ended with the chat: after-call work
    r = await client.get(f"/agentapi/v1/interactions/{seat.interaction_id}", headers=seat.headers)
    assert r.json()["mine"]["phase"] == "wrap_up"
    # a customer that polls keeps its chat past the first deadline
    clock.advance(20)
    await polling.poll()
    clock.advance(20)
    await fire_chat_timers(rt, limit=ALL)
    assert (await chat_row(rt, polling.chat_id)).state == "queued"


async def test_timers_fire_once_across_workers(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    await connect_agent(client, rt, tenant, c.chat_id)
    past = utcnow() - timedelta(seconds=5)
    async with rt.db.write() as s:
        await s.execute(
            update(ChatSession)
            .where(ChatSession.id == c.chat_id)
            .values(
                inactivity_warning_seconds=1,
                inactivity_timeout_seconds=600,
                idle_since=past,
                due_at=past,
            )
        )
    await asyncio.gather(*(fire_chat_timers(rt) for _ in range(4)))
    async with rt.db.read() as s:
        warnings = (
            (
                await s.execute(
                    select(ChatEvent.seq).where(
                        ChatEvent.chat_id == c.chat_id,
                        ChatEvent.event_type == "chat_session_timeout_warning",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(warnings) == 1
    chat = await chat_row(rt, c.chat_id)
    assert chat.due_at is not None and chat.due_at > utcnow() + timedelta(seconds=500)
