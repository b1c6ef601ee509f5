"""Reading chat sessions and their event log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import events as ev
from switchboard.chats.models import ChatEvent, ChatParty, ChatSession

# never part of history: WebRTC signaling is relayed, not a transcript
HIDDEN_FROM_HISTORY = (ev.SIGNALING,)


async def get_chat(*, session: AsyncSession, tenant_id: str, chat_id: str) -> ChatSession | None:
    chat = await session.get(ChatSession, chat_id)
    if chat is None or chat.tenant_id != tenant_id:
        return None
    return chat


async def events_after(
    *, session: AsyncSession, chat_id: str, after_seq: int, limit: int = 500
) -> Sequence[ChatEvent]:
    """The chat's events with ``seq > after_seq`` in order (both directions)."""
    stmt = (
        select(ChatEvent)
        .where(ChatEvent.chat_id == chat_id, ChatEvent.seq > after_seq)
        .order_by(ChatEvent.seq)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def server_events_after(
    *, session: AsyncSession, chat_id: str, after_seq: int, limit: int = 500
) -> Sequence[ChatEvent]:
    """What the customer's poll delivers: server events with ``seq > after_seq``."""
    stmt = (
        select(ChatEvent)
        .where(
            ChatEvent.chat_id == chat_id,
            ChatEvent.seq > after_seq,
            ChatEvent.direction == "server",
        )
        .order_by(ChatEvent.seq)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def get_for_client(
    *, session: AsyncSession, tenant_id: str, chat_id: str, client_key: str
) -> ChatSession | None:
    chat = await get_chat(session=session, tenant_id=tenant_id, chat_id=chat_id)
    if chat is None or chat.client_key != client_key:
        return None
    return chat


async def get_active_for_client(
    *, session: AsyncSession, tenant_id: str, client_key: str
) -> ChatSession | None:
    stmt = select(ChatSession).where(
        ChatSession.tenant_id == tenant_id, ChatSession.active_client_key == client_key
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_latest_for_client(
    *, session: AsyncSession, tenant_id: str, client_key: str
) -> ChatSession | None:
    """The client's active session, else its most recent one."""
    active = await get_active_for_client(
        session=session, tenant_id=tenant_id, client_key=client_key
    )
    if active is not None:
        return active
    stmt = (
        select(ChatSession)
        .where(ChatSession.tenant_id == tenant_id, ChatSession.client_key == client_key)
        .order_by(ChatSession.created_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def history(*, session: AsyncSession, chat_id: str) -> list[dict[str, Any]]:
    """Every client and server event of the chat as clients see them (no signaling)."""
    return (await history_and_cursor(session=session, chat_id=chat_id))[0]


async def history_and_cursor(
    *, session: AsyncSession, chat_id: str
) -> tuple[list[dict[str, Any]], int]:
    """The history, and the ``seq`` it runs to (a poll resuming there repeats nothing)."""
    stmt = select(ChatEvent).where(ChatEvent.chat_id == chat_id).order_by(ChatEvent.seq)
    rows = (await session.execute(stmt)).scalars().all()
    shown = [ev.render(r, chat_id) for r in rows if r.event_type not in HIDDEN_FROM_HISTORY]
    return shown, (rows[-1].seq if rows else 0)


async def case_history(
    *, session: AsyncSession, tenant_id: str, case_id: str
) -> list[dict[str, Any]]:
    """The transcripts of every chat of the tenant linked to ``case_id``, oldest first."""
    chats = (
        (
            await session.execute(
                select(ChatSession)
                .where(ChatSession.tenant_id == tenant_id, ChatSession.case_id == case_id)
                .order_by(ChatSession.created_at, ChatSession.id)
            )
        )
        .scalars()
        .all()
    )
    out: list[dict[str, Any]] = []
    for chat in chats:
        out.append(
            {
                "chat_id": chat.id,
                "created_time": str(int(chat.created_at.timestamp())),
                "events": await history(session=session, chat_id=chat.id),
            }
        )
    return out


async def get_party(*, session: AsyncSession, chat_id: str, party_id: str) -> ChatParty | None:
    party = await session.get(ChatParty, party_id)
    if party is None or party.chat_id != chat_id:
        return None
    return party
