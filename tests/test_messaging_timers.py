"""Inactivity warning and timeout, gone clients, and timers firing once across workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from switchboard.chats import actions
from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    Customer,
    connect_agent,
    error_of,
    set_tenant_setting,
    update_entry,
)


async def chat_row(rt: Runtime, chat_id: str) -> ChatSession:
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
        assert chat is not None
        return chat


async def poll_until(c: Customer, kind: str, seconds: float = 6.0) -> list[dict[str, object]]:
    """Poll (as a client does) until an event of ``kind`` arrives; all events seen."""
    seen: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        r = await c.get(f"/chats/{c.chat_id}/events")
        if r.status_code == 404:
            break
        seen += r.json()["events"]
        if any(e["event"] == kind for e in seen):
            return seen
    raise AssertionError(f"no {kind} within {seconds}s: {seen}")


async def test_inactivity_warning_then_timeout(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    await update_entry(
        rt,
        tenant,
        # generous gaps: under CI load the timer worker may tick late
        inactivity_warning_seconds=2,
        inactivity_timeout_seconds=5,
        widget_configuration={"inactivityWarningMessage": "Still there?"},
    )
    c = Customer(client, tenant)
    await c.start()
    await connect_agent(rt, tenant, c.chat_id)
    seen = await poll_until(c, "chat_session_timeout_warning", seconds=12.0)
    warning = next(e for e in seen if e["event"] == "chat_session_timeout_warning")
    assert warning["msg"] == "Still there?"
    # the customer answers: the silence starts again (no timeout yet)
    await c.say("yes!")
    assert (await chat_row(rt, c.chat_id)).warning_sent_at is None
    seen = await poll_until(c, "chat_session_ended", seconds=15.0)
    kinds = [e["event"] for e in seen]
    assert kinds.index("chat_session_timeout_warning") < kinds.index(
        "chat_session_inactivity_timeout"
    )
    timeout = next(e for e in seen if e["event"] == "chat_session_inactivity_timeout")
    assert timeout["msg"] == actions.DEFAULT_TIMEOUT
    chat = await chat_row(rt, c.chat_id)
    assert chat.state == "completed" and chat.end_reason == "inactivity_timeout"
    assert error_of(await c.get(f"/chats/{c.chat_id}/events")) == (404, "5005")


async def test_client_that_stops_polling(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    await set_tenant_setting(rt, tenant, "chat_poll_abandon_seconds", 1)
    waiting = Customer(client, tenant)
    await waiting.start()
    talking = Customer(client, tenant)
    await talking.start()
    await connect_agent(rt, tenant, talking.chat_id)
    polling = Customer(client, tenant)
    await polling.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 6
    while loop.time() < deadline:
        await polling.poll()  # held 1 s each: this one stays alive
        a = await chat_row(rt, waiting.chat_id)
        b = await chat_row(rt, talking.chat_id)
        if a.state == "completed" and b.state == "completed":
            break
    assert a.state == "completed" and a.end_reason == "abandoned"
    assert b.state == "completed" and b.end_reason == "client_gone"
    assert (await chat_row(rt, polling.chat_id)).state == "queued"


async def test_timers_fire_once_across_workers(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    await connect_agent(rt, tenant, c.chat_id)
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
    await asyncio.gather(*(actions.fire_timers(rt) for _ in range(4)))
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
