"""Estimated waiting time (EWT) of a chat in the queue.

``ewt = ceil(position * average_handle_time / chat_slots)`` where

* ``position`` is the chat's place in its service's queue (1 = next): queued chats of
  the same tenant and service with a higher priority, or the same priority and an
  earlier ``queued_at``, are ahead of it;
* ``average_handle_time`` is the mean ``ended_at - connected_at`` of the service's
  last ``handle_time_sample`` completed chats (``default_handle_seconds`` without
  history);
* ``chat_slots`` is how many chats the agents able to take this one can hold at once:
  by default every enabled user with the "Handle interactions" privilege and every
  requested skill at the requested level, times their chat capacity (the user's, else
  the team's default). A presence-aware source can replace it: a ``Staffing`` object in
  ``rt.providers["chats.staffing"]`` (the agents engine counts logged-in agents).

No able agent means the wait cannot be estimated: ``None``, sent to clients as ``"0"``.
See ``docs/messaging-api.md``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats.config import chat_settings
from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from switchboard.services.models import Skill
from switchboard.teams.models import Team
from switchboard.users.models import Privilege, Role, User, UserSkill, user_roles

STAFFING_KEY = "chats.staffing"


class Staffing(Protocol):
    async def chat_slots(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        service_id: str | None,
        skills: dict[str, int],
    ) -> int: ...


class ConfiguredStaffing:
    """Capacity of the configured agents able to take the chat (presence unknown)."""

    async def chat_slots(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        service_id: str | None,
        skills: dict[str, int],
    ) -> int:
        users = (
            await session.execute(
                select(User.id, User.chat_capacity, Team.default_chat_capacity)
                .outerjoin(Team, Team.id == User.team_id)
                .where(User.tenant_id == tenant_id, User.disabled.is_(False))
            )
        ).all()
        if not users:
            return 0
        privileged: set[str] = set()
        rows = await session.execute(
            select(user_roles.c.user_id, Role.privileges)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(Role.tenant_id == tenant_id)
        )
        for user_id, privileges in rows:
            if Privilege.HANDLE_INTERACTIONS.value in (privileges or []):
                privileged.add(user_id)
        levels: dict[str, dict[str, int]] = defaultdict(dict)
        if skills:
            rows2 = await session.execute(
                select(UserSkill.user_id, Skill.name, UserSkill.level)
                .join(Skill, Skill.id == UserSkill.skill_id)
                .where(Skill.tenant_id == tenant_id, Skill.name.in_(list(skills)))
            )
            for user_id, name, level in rows2:
                levels[user_id][name] = level
        slots = 0
        for user_id, capacity, team_capacity in users:
            if user_id not in privileged:
                continue
            mine = levels.get(user_id, {})
            if any(mine.get(name, -1) < need for name, need in skills.items()):
                continue
            slots += max(capacity if capacity is not None else (team_capacity or 3), 0)
        return slots


def staffing(rt: Runtime) -> Staffing:
    found = rt.providers.get(STAFFING_KEY)
    if found is not None:
        return found  # type: ignore[no-any-return]  # any object with chat_slots()
    return ConfiguredStaffing()


async def average_handle_seconds(
    rt: Runtime, session: AsyncSession, *, tenant_id: str, service_id: str | None
) -> float:
    cfg = chat_settings(rt)
    service_cond = (
        ChatSession.service_id.is_(None)
        if service_id is None
        else ChatSession.service_id == service_id
    )
    rows = (
        await session.execute(
            select(ChatSession.connected_at, ChatSession.ended_at)
            .where(
                ChatSession.tenant_id == tenant_id,
                service_cond,
                ChatSession.connected_at.is_not(None),
                ChatSession.ended_at.is_not(None),
            )
            .order_by(ChatSession.ended_at.desc())
            .limit(cfg.handle_time_sample)
        )
    ).all()
    durations = [
        (ended - connected).total_seconds()
        for connected, ended in rows
        if connected is not None and ended is not None and ended >= connected
    ]
    if not durations:
        return float(cfg.default_handle_seconds)
    return max(sum(durations) / len(durations), 1.0)


async def queue_position(
    session: AsyncSession,
    *,
    tenant_id: str,
    service_id: str | None,
    priority: int | None = None,
    queued_at: datetime | None = None,
) -> int:
    """1-based position; without ``priority``/``queued_at``: the position of a newcomer."""
    service_cond = (
        ChatSession.service_id.is_(None)
        if service_id is None
        else ChatSession.service_id == service_id
    )
    stmt = select(func.count()).where(
        ChatSession.tenant_id == tenant_id,
        ChatSession.state == "queued",
        service_cond,
    )
    if priority is not None and queued_at is not None:
        stmt = stmt.where(
            or_(
                ChatSession.priority > priority,
                and_(ChatSession.priority == priority, ChatSession.queued_at < queued_at),
            )
        )
    ahead = (await session.execute(stmt)).scalar_one()
    return int(ahead) + 1


async def estimate(
    rt: Runtime,
    session: AsyncSession,
    *,
    tenant_id: str,
    service_id: str | None,
    skills: dict[str, int],
    position: int,
) -> int | None:
    slots = await staffing(rt).chat_slots(
        session, tenant_id=tenant_id, service_id=service_id, skills=skills
    )
    if slots <= 0:
        return None
    aht = await average_handle_seconds(rt, session, tenant_id=tenant_id, service_id=service_id)
    return math.ceil(position * aht / slots)


async def for_chat(rt: Runtime, session: AsyncSession, chat: ChatSession) -> int | None:
    """The EWT of a queued chat (0 once it left the queue)."""
    if chat.state in ("connecting", "connected", "completed", "failed"):
        return 0
    position = await queue_position(
        session,
        tenant_id=chat.tenant_id,
        service_id=chat.service_id,
        priority=chat.priority if chat.state == "queued" else None,
        queued_at=chat.queued_at if chat.state == "queued" else None,
    )
    return await estimate(
        rt,
        session,
        tenant_id=chat.tenant_id,
        service_id=chat.service_id,
        skills=dict(chat.requested_skills or {}),
        position=position,
    )


def as_text(ewt: int | None) -> str:
    return str(ewt if ewt is not None else 0)
