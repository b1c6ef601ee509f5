"""Routing reads and the routing pass of one tenant.

A pass reads a snapshot (queued chats in queue order, the routable agents with a free
chat slot and their skills, recent rejections), lets the in-memory engine plan the
assignments, then claims each pair in its own short transaction with row locks
(``interactions.actions.claim_chat``). A pair that lost a race is simply skipped: the
next pass sees the new truth. Any number of processes may run passes at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import BUSY, READY, AgentLoad, AgentSession
from switchboard.chats.models import ChatSession
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.interactions.actions import claim_chat, tenant_setting
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.routing.engine import Agent, Chat, Router, relaxed
from switchboard.services.models import Service, Skill
from switchboard.users.models import UserSkill

PAGE = 500


@dataclass
class PassResult:
    planned: int = 0
    claimed: int = 0
    decisions: int = 0
    # when the next skill relaxation step of a waiting chat is due (epoch seconds)
    next_relax_at: float | None = None


async def tenants_with_queue(*, session: AsyncSession) -> list[str]:
    rows = await session.execute(
        select(ChatSession.tenant_id).where(ChatSession.state == "queued").distinct()
    )
    return [r for (r,) in rows.all()]


async def routable_agents(*, session: AsyncSession, tenant_id: str, slot: str) -> list[Agent]:
    """Agents who may take one more interaction of ``slot`` now, with their skills."""
    rows = (
        await session.execute(
            select(
                AgentSession.user_id,
                AgentSession.idle_since,
                AgentLoad.capacity,
                AgentLoad.active,
                AgentLoad.wrapup,
            )
            .join(AgentLoad, AgentLoad.user_id == AgentSession.user_id)
            .where(
                AgentSession.tenant_id == tenant_id,
                AgentSession.state.in_((READY, BUSY)),
                AgentSession.presence == READY,
                AgentLoad.media == slot,
                AgentLoad.active + AgentLoad.wrapup < AgentLoad.capacity,
            )
        )
    ).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    skills: dict[str, dict[str, int]] = {u: {} for u in ids}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for uid, name, level in (
            await session.execute(
                select(UserSkill.user_id, Skill.name, UserSkill.level)
                .join(Skill, Skill.id == UserSkill.skill_id)
                .where(UserSkill.user_id.in_(chunk))
            )
        ).all():
            skills[uid][name] = level
    return [
        Agent(
            user_id=uid,
            skills=skills[uid],
            free=cap - active - wrap,
            idle_since=idle.timestamp(),
        )
        for uid, idle, cap, active, wrap in rows
    ]


async def queued_chats(
    *, session: AsyncSession, tenant_id: str, offset: int, limit: int
) -> Sequence[Any]:
    """Queued chats in queue order (the columns routing needs, no ORM objects)."""
    stmt = (
        select(
            ChatSession.id,
            ChatSession.service_id,
            ChatSession.client_key,
            ChatSession.priority,
            ChatSession.requested_skills,
            ChatSession.created_at,
            ChatSession.queued_at,
        )
        .where(ChatSession.tenant_id == tenant_id, ChatSession.state == "queued")
        .order_by(
            ChatSession.priority.desc(),
            ChatSession.queued_at,
            ChatSession.created_at,
            ChatSession.id,
        )
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def recent_refusals(
    *, session: AsyncSession, tenant_id: str, since: datetime
) -> tuple[dict[str, set[str]], datetime | None]:
    """chat id -> agents who rejected or missed it since ``since``; and the earliest
    of those refusals."""
    rows = await session.execute(
        select(Interaction.chat_id, InteractionStep.user_id, InteractionStep.ended_at)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .where(
            InteractionStep.tenant_id == tenant_id,
            InteractionStep.outcome.in_(("rejected", "missed")),
            InteractionStep.ended_at >= since,
        )
    )
    out: dict[str, set[str]] = {}
    first: datetime | None = None
    for chat_id, user_id, ended_at in rows.all():
        if chat_id:
            out.setdefault(chat_id, set()).add(user_id)
            if ended_at is not None and (first is None or ended_at < first):
                first = ended_at
    return out, first


def requirements_of(chat: Any, service: Service | None) -> dict[str, int]:
    """The service's required skills, overridden/extended by the chat's own."""
    req: dict[str, int] = {}
    if service is not None:
        req.update({str(k): int(v) for k, v in (service.required_skills or {}).items()})
    req.update({str(k): int(v) for k, v in (chat.requested_skills or {}).items()})
    return req


def next_relaxation(relaxation: Sequence[Any], queued_at: datetime, waited: float) -> float | None:
    """When the next relaxation step of a chat waiting ``waited`` seconds is due."""
    later = []
    for step in relaxation:
        try:
            after = float(step.get("after_seconds"))
        except (TypeError, ValueError, AttributeError):
            continue
        if after > waited:
            later.append(after)
    if not later:
        return None
    return queued_at.timestamp() + min(later)


async def route_tenant(rt: Runtime, tenant_id: str) -> PassResult:
    """One routing pass over the tenant's queue."""
    result = PassResult()
    now = utcnow()
    async with rt.db.read() as s:
        agents = await routable_agents(session=s, tenant_id=tenant_id, slot="chat")
        if not agents:
            return result  # nobody to route to: an agent who frees up wakes routing
        cooldown = await tenant_setting(rt, s, tenant_id, "reject_cooldown_seconds")
        refusals, first_refusal = await recent_refusals(
            session=s, tenant_id=tenant_id, since=now - timedelta(seconds=cooldown)
        )
        services = {
            svc.id: svc
            for svc in (
                await s.execute(select(Service).where(Service.tenant_id == tenant_id))
            ).scalars()
        }
    if first_refusal is not None:
        # a refused chat may go back to that agent once the cooldown is over
        result.next_relax_at = first_refusal.timestamp() + cooldown
    router = Router(agents)
    offset = 0
    plan: list[tuple[str, str]] = []
    while router.free_total > 0:
        # read about as many chats as could be served (more if they do not qualify)
        limit = min(PAGE, max(50, 4 * router.free_total))
        async with rt.db.read() as s:
            page = await queued_chats(session=s, tenant_id=tenant_id, offset=offset, limit=limit)
        if not page:
            break
        offset += len(page)
        chats = []
        for c in page:
            svc = services.get(c.service_id or "")
            req = requirements_of(c, svc)
            if svc is not None and svc.relaxation and c.queued_at is not None:
                waited = (now - c.queued_at).total_seconds()
                req = relaxed(req, svc.relaxation, waited)
                due = next_relaxation(svc.relaxation, c.queued_at, waited)
                if due is not None and (result.next_relax_at is None or due < result.next_relax_at):
                    result.next_relax_at = due
            chats.append(
                Chat(
                    chat_id=c.id,
                    priority=c.priority,
                    queued_at=(c.queued_at or c.created_at).timestamp(),
                    requirements=req,
                    exclude=frozenset(refusals.get(c.id, ())),
                )
            )
        result.decisions += len(chats)
        planned = router.plan(chats, time.time())
        plan.extend(planned)
        if len(page) < limit:
            break
    result.planned = len(plan)
    for chat_id, user_id in plan:
        offer = await claim_chat(rt, tenant_id=tenant_id, chat_id=chat_id, user_id=user_id)
        if offer is not None:
            result.claimed += 1
    return result


def describe(result: PassResult) -> dict[str, Any]:
    return {"planned": result.planned, "claimed": result.claimed, "decisions": result.decisions}
