"""The routing worker: one per server process, all of them cooperating through row locks.

A round expires offers and after-call work past their deadline, then runs a routing pass
for every tenant with a queue. Between rounds it sleeps until something is due (the
nearest offer or after-call deadline, the next skill-relaxation step or end of a
reject cooldown, the daily pruning of agent events), or until woken by
``routing`` (a chat was queued or an agent freed up, in any tenant) or by this process
setting an earlier deadline. Idle, it does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete, func, select

from switchboard.agents.models import AgentEvent
from switchboard.chats.log import ROUTING_TOPIC
from switchboard.core import clock, metrics
from switchboard.core.alarms import alarm
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.interactions.actions import expire_offers, expire_wrap_ups
from switchboard.interactions.models import OFFERED, WRAP_UP, InteractionStep
from switchboard.routing.service import route_tenant, tenants_with_queue

log = logging.getLogger(__name__)

AGENT_EVENTS_KEEP = timedelta(days=1)
PRUNE_EVERY_SECONDS = 600.0


async def next_deadline(rt: Runtime) -> float | None:
    """The nearest offer or after-call deadline (epoch seconds)."""
    async with rt.db.read() as s:
        nearest = (
            await s.execute(
                select(func.min(InteractionStep.deadline)).where(
                    InteractionStep.phase.in_((OFFERED, WRAP_UP))
                )
            )
        ).scalar()
    return nearest.timestamp() if nearest is not None else None


async def prune_agent_events(rt: Runtime) -> None:
    """Agent events older than a day are delivered or useless: drop them."""
    async with rt.db.write() as s:
        await s.execute(
            delete(AgentEvent).where(AgentEvent.created_at < utcnow() - AGENT_EVENTS_KEEP)
        )


async def run_round(rt: Runtime) -> float | None:
    """One round; when the next one is due (epoch seconds; None: nothing is)."""
    await expire_offers(rt)
    await expire_wrap_ups(rt)
    async with rt.db.read() as s:
        tenants = await tenants_with_queue(session=s)
    due: list[float] = []
    for tenant_id in tenants:
        result = await route_tenant(rt, tenant_id)
        if result.next_relax_at is not None:
            due.append(result.next_relax_at)
    deadline = await next_deadline(rt)
    if deadline is not None:
        due.append(deadline + 0.01)
    return min(due) if due else None


async def run(rt: Runtime) -> None:
    wake = alarm(rt, "routing")
    next_prune = 0.0
    while True:
        try:
            async with rt.bus.listen([ROUTING_TOPIC]) as waiter:
                while True:
                    # what woke us is consumed now: whatever arrives during the round
                    # wakes the next one
                    waiter.drain()
                    if clock.epoch() >= next_prune:
                        await prune_agent_events(rt)
                        next_prune = clock.epoch() + PRUNE_EVERY_SECONDS
                    async with metrics.loop_iteration("routing"):
                        due = await run_round(rt)
                    due = next_prune if due is None else min(due, next_prune)
                    await wake.sleep(due, waiter=waiter)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("routing round failed")
            await asyncio.sleep(1.0)
