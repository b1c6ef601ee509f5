"""Reading interactions and steps (the agent API, statistics, reports and recordings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats.models import ChatSession
from switchboard.core.errors import NotFound
from switchboard.interactions.models import HOLDING_PHASES, Interaction, InteractionStep


async def get(*, session: AsyncSession, tenant_id: str, interaction_id: str) -> Interaction | None:
    inter = await session.get(Interaction, interaction_id)
    if inter is None or inter.tenant_id != tenant_id:
        return None
    return inter


async def get_or_raise(
    *, session: AsyncSession, tenant_id: str, interaction_id: str
) -> Interaction:
    inter = await get(session=session, tenant_id=tenant_id, interaction_id=interaction_id)
    if inter is None:
        raise NotFound("Interaction not found")
    return inter


async def get_by_chat(*, session: AsyncSession, tenant_id: str, chat_id: str) -> Interaction | None:
    stmt = select(Interaction).where(
        Interaction.tenant_id == tenant_id, Interaction.chat_id == chat_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def steps(*, session: AsyncSession, interaction_id: str) -> Sequence[InteractionStep]:
    stmt = (
        select(InteractionStep)
        .where(InteractionStep.interaction_id == interaction_id)
        .order_by(InteractionStep.offered_at, InteractionStep.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def held_by(
    *, session: AsyncSession, tenant_id: str, user_id: str
) -> Sequence[tuple[InteractionStep, Interaction]]:
    """The agent's current parts: offered, connected or in after-call work."""
    stmt = (
        select(InteractionStep, Interaction)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .where(
            InteractionStep.tenant_id == tenant_id,
            InteractionStep.user_id == user_id,
            InteractionStep.phase.in_(HOLDING_PHASES),
        )
        .order_by(InteractionStep.offered_at)
    )
    return [(st, it) for st, it in (await session.execute(stmt)).all()]


async def my_part(
    *, session: AsyncSession, tenant_id: str, user_id: str, interaction_id: str
) -> tuple[InteractionStep, Interaction]:
    """The agent's latest step in the interaction (404 when the agent never had one)."""
    inter = await get_or_raise(session=session, tenant_id=tenant_id, interaction_id=interaction_id)
    stmt = (
        select(InteractionStep)
        .where(
            InteractionStep.interaction_id == interaction_id,
            InteractionStep.user_id == user_id,
            # the record of a call in the chat (switchboard/calls) is not the agent's part
            InteractionStep.kind != "call",
        )
        .order_by(InteractionStep.offered_at.desc())
        .limit(1)
    )
    step = (await session.execute(stmt)).scalar_one_or_none()
    if step is None:
        raise NotFound("Interaction not found")
    return step, inter


async def list_interactions(
    *,
    session: AsyncSession,
    tenant_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> Sequence[Interaction]:
    """Interactions created in [since, until), oldest first (reports, statistics)."""
    stmt = select(Interaction).where(Interaction.tenant_id == tenant_id)
    if since is not None:
        stmt = stmt.where(Interaction.created_at >= since)
    if until is not None:
        stmt = stmt.where(Interaction.created_at < until)
    stmt = stmt.order_by(Interaction.created_at, Interaction.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def client_chats(
    *, session: AsyncSession, tenant_id: str, client_key: str, before_chat: str, limit: int = 10
) -> Sequence[ChatSession]:
    """Earlier chats of the same customer (same clientId or cookie), newest first."""
    stmt = (
        select(ChatSession)
        .where(
            ChatSession.tenant_id == tenant_id,
            ChatSession.client_key == client_key,
            ChatSession.id != before_chat,
        )
        .order_by(ChatSession.created_at.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()
