"""The routing worker: one per server process, all of them cooperating through row locks.

A round expires offers and after-call work past their deadline, then runs a routing pass
for every tenant with a queue. Between rounds it sleeps until something is due (the
nearest offer or after-call deadline, the next skill-relaxation step or end of a
reject cooldown, the daily pruning of agent events), or until woken by
``routing`` (a chat was queued or an agent freed up, in any tenant) or by this process
setting an earlier deadline; soon again after a round whose claims lost races (``Retry``).
Idle, it does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
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


@dataclass
class Round:
    # when the next round is due (epoch seconds; None: nothing is)
    due: float | None
    claimed: int = 0
    # planned offers whose claim found the chat or the agent changed or locked by
    # another writer (another process's pass, a poll's claim, the agent's own request)
    lost: int = 0


async def run_round(rt: Runtime) -> Round:
    """One round: expire what is past due, then a routing pass for every tenant with a
    queue."""
    await expire_offers(rt)
    await expire_wrap_ups(rt)
    async with rt.db.read() as s:
        tenants = await tenants_with_queue(session=s)
    due: list[float] = []
    claimed = lost = 0
    for tenant_id in tenants:
        result = await route_tenant(rt, tenant_id)
        claimed += result.claimed
        lost += result.planned - result.claimed
        if result.next_relax_at is not None:
            due.append(result.next_relax_at)
    deadline = await next_deadline(rt)
    if deadline is not None:
        due.append(deadline + 0.01)
    return Round(min(due) if due else None, claimed, lost)


class Retry:
    """When to run again after a round that lost claims. Nobody else wakes routing for
    them: the writer that held a row (another process's pass, a customer's poll) says
    nothing when it lets go, and the other process's pass planned on its own snapshot.
    The next round comes soon, later each time a round claims nothing, with jitter so
    that the processes' passes fall apart."""

    FIRST = 0.05
    MAX = 5.0

    def __init__(self) -> None:
        self.delay = self.FIRST

    def after(self, result: Round) -> float | None:
        if not result.lost:
            self.delay = self.FIRST
            return result.due
        at = clock.epoch() + self.delay * (1.0 + random.random())
        self.delay = min(self.delay * 2, self.MAX) if not result.claimed else self.FIRST
        return at if result.due is None else min(at, result.due)


async def run(rt: Runtime) -> None:
    wake = alarm(rt, "routing")
    retry = Retry()
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
                        due = retry.after(await run_round(rt))
                    due = next_prune if due is None else min(due, next_prune)
                    await wake.sleep(due, waiter=waiter)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("routing round failed")
            await asyncio.sleep(1.0)
