"""Reading agent sessions, loads, the state log and queued agent events (the read models
that the agent API and the statistics engine use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import AgentEvent, AgentLoad, AgentSession, AgentStateChange


async def get(*, session: AsyncSession, tenant_id: str, user_id: str) -> AgentSession | None:
    agent = await session.get(AgentSession, user_id)
    if agent is None or agent.tenant_id != tenant_id:
        return None
    return agent


async def list_sessions(
    *, session: AsyncSession, tenant_id: str, logged_in_only: bool = False
) -> Sequence[AgentSession]:
    """Current state, since, reason and login time of every agent of the tenant."""
    stmt = select(AgentSession).where(AgentSession.tenant_id == tenant_id)
    if logged_in_only:
        stmt = stmt.where(AgentSession.login_at.is_not(None))
    return (await session.execute(stmt)).scalars().all()


async def loads(*, session: AsyncSession, user_id: str) -> Sequence[AgentLoad]:
    stmt = select(AgentLoad).where(AgentLoad.user_id == user_id).order_by(AgentLoad.media)
    return (await session.execute(stmt)).scalars().all()


async def state_log(
    *,
    session: AsyncSession,
    tenant_id: str,
    since: datetime | None = None,
    user_id: str | None = None,
) -> Sequence[AgentStateChange]:
    """State periods that ended after ``since`` (or are still open), oldest first."""
    stmt = select(AgentStateChange).where(AgentStateChange.tenant_id == tenant_id)
    if user_id is not None:
        stmt = stmt.where(AgentStateChange.user_id == user_id)
    if since is not None:
        stmt = stmt.where(
            (AgentStateChange.ended_at.is_(None)) | (AgentStateChange.ended_at > since)
        )
    stmt = stmt.order_by(AgentStateChange.started_at, AgentStateChange.id)
    return (await session.execute(stmt)).scalars().all()


async def events_after(
    *, session: AsyncSession, user_id: str, after_seq: int, limit: int = 500
) -> Sequence[AgentEvent]:
    stmt = (
        select(AgentEvent)
        .where(AgentEvent.user_id == user_id, AgentEvent.seq > after_seq)
        .order_by(AgentEvent.seq)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()
