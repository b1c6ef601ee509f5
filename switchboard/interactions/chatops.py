"""The chat engine's functions that agents and routing call, in one place.

``switchboard.chats.actions`` / ``switchboard.chats.service`` own every change to a chat
(each commits and publishes on its own); this module only forwards to them, and reads
the chat's durable event log for the agent's realtime channel.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import actions as _chats
from switchboard.chats import service as _chat_service
from switchboard.chats.events import render
from switchboard.chats.log import chat_topic
from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.core.runtime import Runtime

ENDED_STATES = ("completed", "failed")

__all__ = [
    "ENDED_STATES",
    "agent_joined",
    "chat_topic",
    "end_chat",
    "events_after",
    "get_chat",
    "mark_connecting",
    "party_left",
    "post_party_event",
    "requeue",
    "set_case",
]


async def mark_connecting(rt: Runtime, *, tenant_id: str, chat_id: str) -> None:
    await _chats.mark_connecting(rt, tenant_id=tenant_id, chat_id=chat_id)


async def agent_joined(
    rt: Runtime, *, tenant_id: str, chat_id: str, user_id: str, party_type: str = "internal"
) -> str:
    party_id = await _chats.agent_joined(
        rt, tenant_id=tenant_id, chat_id=chat_id, user_id=user_id, party_type=party_type
    )
    return str(party_id)


async def party_left(rt: Runtime, *, tenant_id: str, chat_id: str, party_id: str) -> None:
    await _chats.party_left(rt, tenant_id=tenant_id, chat_id=chat_id, party_id=party_id)


async def requeue(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    service_id: str | None = None,
    requested_skills: dict[str, int] | None = None,
    priority: int | None = None,
) -> None:
    await _chats.requeue(
        rt,
        tenant_id=tenant_id,
        chat_id=chat_id,
        service_id=service_id,
        requested_skills=requested_skills,
        priority=priority,
    )


async def post_party_event(
    rt: Runtime, *, tenant_id: str, chat_id: str, party_id: str, event: dict[str, Any]
) -> int:
    seq = await _chats.post_party_event(
        rt, tenant_id=tenant_id, chat_id=chat_id, party_id=party_id, event=event
    )
    return int(seq)


async def set_case(rt: Runtime, *, tenant_id: str, chat_id: str, case_id: str) -> None:
    await _chats.set_case(rt, tenant_id=tenant_id, chat_id=chat_id, case_id=case_id)


async def end_chat(
    rt: Runtime, *, tenant_id: str, chat_id: str, by_party_id: str | None, reason: str
) -> None:
    await _chats.end_chat(
        rt, tenant_id=tenant_id, chat_id=chat_id, by_party_id=by_party_id, reason=reason
    )


async def get_chat(*, session: AsyncSession, tenant_id: str, chat_id: str) -> ChatSession | None:
    return await _chat_service.get_chat(session=session, tenant_id=tenant_id, chat_id=chat_id)


async def events_after(
    *, session: AsyncSession, chat_id: str, after_seq: int, limit: int = 500
) -> list[tuple[int, dict[str, Any]]]:
    """(seq, event) pairs of the chat's log after ``after_seq``, each event as clients
    receive it (with ``party_id`` and ``timestamp``, a string of integer seconds)."""
    rows = await _chat_service.events_after(
        session=session, chat_id=chat_id, after_seq=after_seq, limit=limit
    )
    return [(row.seq, render(row, chat_id)) for row in rows]


async def events_after_many(
    *, session: AsyncSession, after: dict[str, int], limit: int = 500
) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """``events_after`` for several chats in one query: chat id -> (seq, event) pairs."""
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {cid: [] for cid in after}
    if not after:
        return out
    stmt = (
        select(ChatEvent)
        .where(
            or_(
                *(and_(ChatEvent.chat_id == cid, ChatEvent.seq > seq) for cid, seq in after.items())
            )
        )
        .order_by(ChatEvent.chat_id, ChatEvent.seq)
        .limit(limit)
    )
    for row in (await session.execute(stmt)).scalars():
        out[row.chat_id].append((row.seq, render(row, row.chat_id)))
    return out
