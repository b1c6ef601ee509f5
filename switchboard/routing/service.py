"""Routing reads and the routing pass of one tenant.

A pass reads a snapshot (queued chats in queue order, the routable agents with a free
chat slot and their skills, recent rejections), lets the in-memory engine plan the
assignments, then claims each pair in its own short transaction with row locks
(``interactions.actions.claim_chat``). A pair that lost a race is simply skipped: the
next pass sees the new truth. Any number of processes may run passes at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
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
from switchboard.interactions.actions import claim_chat, register_queued, tenant_setting
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
) -> dict[str, set[str]]:
    """chat id -> agents who rejected or missed it since ``since``."""
    rows = await session.execute(
        select(Interaction.chat_id, InteractionStep.user_id)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .where(
            InteractionStep.tenant_id == tenant_id,
            InteractionStep.outcome.in_(("rejected", "missed")),
            InteractionStep.ended_at >= since,
        )
    )
    out: dict[str, set[str]] = {}
    for chat_id, user_id in rows.all():
        if chat_id:
            out.setdefault(chat_id, set()).add(user_id)
    return out


def requirements_of(chat: Any, service: Service | None) -> dict[str, int]:
    """The service's required skills, overridden/extended by the chat's own."""
    req: dict[str, int] = {}
    if service is not None:
        req.update({str(k): int(v) for k, v in (service.required_skills or {}).items()})
    req.update({str(k): int(v) for k, v in (chat.requested_skills or {}).items()})
    return req


# chats whose interaction record this process already made sure of
_registered: OrderedDict[str, None] = OrderedDict()
REGISTER_AFTER_SECONDS = 5.0


async def _register_waiting(
    rt: Runtime, tenant_id: str, rows: Sequence[Any], now: datetime
) -> None:
    """Interaction records for chats that wait (the ones offered get theirs when
    claimed), so that statistics see chats abandoned in the queue."""
    cutoff = now - timedelta(seconds=REGISTER_AFTER_SECONDS)
    todo = [r for r in rows if r.id not in _registered and (r.queued_at or r.created_at) <= cutoff]
    if not todo:
        return
    await register_queued(rt, tenant_id=tenant_id, chats=todo)
    for r in todo:
        _registered[r.id] = None
    while len(_registered) > 100_000:
        _registered.popitem(last=False)


async def route_tenant(rt: Runtime, tenant_id: str) -> PassResult:
    """One routing pass over the tenant's queue."""
    result = PassResult()
    now = utcnow()
    async with rt.db.read() as s:
        agents = await routable_agents(session=s, tenant_id=tenant_id, slot="chat")
        if not agents:
            first = await queued_chats(session=s, tenant_id=tenant_id, offset=0, limit=PAGE)
        else:
            first = None
        cooldown = await tenant_setting(rt, s, tenant_id, "reject_cooldown_seconds")
        refusals = await recent_refusals(
            session=s, tenant_id=tenant_id, since=now - timedelta(seconds=cooldown)
        )
        services = {
            svc.id: svc
            for svc in (
                await s.execute(select(Service).where(Service.tenant_id == tenant_id))
            ).scalars()
        }
    if first is not None:
        await _register_waiting(rt, tenant_id, first, now)
        return result
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
        taken = {chat_id for chat_id, _ in planned}
        await _register_waiting(rt, tenant_id, [c for c in page if c.id not in taken], now)
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
