"""Appending to a chat's durable event log.

``append`` must run inside a write transaction: it locks the chat row, takes the next
sequence number and inserts the event. After the transaction commits, the caller
publishes ``chat_topic(chat_id)`` on the bus so that long-polls and agent channels
wake up and read the log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.core.db import utcnow


def chat_topic(chat_id: str) -> str:
    return f"chat:{chat_id}"


async def lock_chat(session: AsyncSession, chat_id: str, tenant_id: str) -> ChatSession | None:
    stmt = (
        select(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.tenant_id == tenant_id)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def append(
    session: AsyncSession,
    chat: ChatSession,
    *,
    direction: str,
    event: dict[str, Any],
    party_id: str | None = None,
) -> ChatEvent:
    """Append one event; ``chat`` must have been loaded with ``lock_chat``."""
    chat.last_seq += 1
    row = ChatEvent(
        chat_id=chat.id,
        tenant_id=chat.tenant_id,
        seq=chat.last_seq,
        direction=direction,
        event_type=str(event.get("event", "")),
        party_id=party_id,
        payload=event,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row
