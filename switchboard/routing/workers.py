"""The routing worker: one per server process, all of them cooperating through row locks.

Each round: expire offers and after-call work past their deadline, close the parts of
agents whose chat ended (the customer left), then run a routing pass for every tenant
with a queue. Between rounds it sleeps until woken by ``routing:<tenant>`` (a chat was
queued or an agent freed up), the next deadline, or ``routing_poll_seconds`` (skill
relaxation, and the safety net when a notification was lost). Every 10 minutes it
also drops agent events older than a day.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from sqlalchemy import delete, func, select

from switchboard.agents.actions import routing_topic
from switchboard.agents.models import AgentEvent
from switchboard.chats.models import ChatSession
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.interactions import chatops
from switchboard.interactions.actions import chat_finished, expire_offers, expire_wrap_ups
from switchboard.interactions.models import (
    OFFERED,
    OPEN_PHASES,
    QUEUED,
    WRAP_UP,
    Interaction,
    InteractionStep,
)
from switchboard.routing.service import route_tenant, tenants_with_queue
from switchboard.tenants.models import Tenant

log = logging.getLogger(__name__)


async def reconcile_ended_chats(rt: Runtime, *, limit: int = 200) -> int:
    """Agents' parts (and waiting interactions) of chats that ended meanwhile."""
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(Interaction.chat_id, Interaction.tenant_id)
                .join(ChatSession, ChatSession.id == Interaction.chat_id)
                .outerjoin(
                    InteractionStep,
                    (InteractionStep.interaction_id == Interaction.id)
                    & InteractionStep.phase.in_(OPEN_PHASES),
                )
                .where(
                    ChatSession.state.in_(chatops.ENDED_STATES),
                    (InteractionStep.id.is_not(None)) | (Interaction.state.in_((QUEUED, OFFERED))),
                )
                .distinct()
                .limit(limit)
            )
        ).all()
    for chat_id, tenant_id in rows:
        if chat_id:
            await chat_finished(rt, tenant_id=tenant_id, chat_id=chat_id, reason="customer_left")
    return len(rows)


async def next_deadline_in(rt: Runtime) -> float | None:
    async with rt.db.read() as s:
        nearest = (
            await s.execute(
                select(func.min(InteractionStep.deadline)).where(
                    InteractionStep.phase.in_((OFFERED, WRAP_UP))
                )
            )
        ).scalar()
    if nearest is None:
        return None
    return max(0.0, (nearest - utcnow()).total_seconds())


AGENT_EVENTS_KEEP = timedelta(days=1)
PRUNE_EVERY_SECONDS = 600.0
_last_prune = 0.0


async def prune_agent_events(rt: Runtime) -> None:
    """Agent events older than a day are delivered or useless: drop them."""
    global _last_prune
    now = time.monotonic()
    if now - _last_prune < PRUNE_EVERY_SECONDS:
        return
    _last_prune = now
    async with rt.db.write() as s:
        await s.execute(
            delete(AgentEvent).where(AgentEvent.created_at < utcnow() - AGENT_EVENTS_KEEP)
        )


async def run_round(rt: Runtime) -> None:
    await prune_agent_events(rt)
    await expire_offers(rt)
    await expire_wrap_ups(rt)
    await reconcile_ended_chats(rt)
    async with rt.db.read() as s:
        tenants = await tenants_with_queue(session=s)
    for tenant_id in tenants:
        await route_tenant(rt, tenant_id)


async def run(rt: Runtime) -> None:
    poll = max(0.05, rt.settings.routing_poll_seconds)
    while True:
        try:
            async with rt.db.read() as s:
                tenant_ids = list((await s.execute(select(Tenant.id))).scalars())
            topics = [routing_topic(t) for t in tenant_ids] + ["tenants"]
            async with rt.bus.listen(topics) as waiter:
                await run_round(rt)
                timeout = poll
                deadline = await next_deadline_in(rt)
                if deadline is not None:
                    timeout = min(timeout, deadline + 0.01)
                waiter.drain()
                await waiter.wait(timeout)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("routing round failed")
            await asyncio.sleep(poll)
