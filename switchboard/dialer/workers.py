"""The dialer's background task (one per server process; processes coordinate through
row locks).

It ticks when woken on ``dialer:wake`` (a campaign started or stopped, records added),
on the routing topic while a campaign runs (an agent became available), at least every
``dialer_poll_seconds`` while a campaign runs (records fall due, calls ring out), and
when the earliest lease of an open attempt runs out (a call, an offer or a wrap-up to
recover). With no campaign running and no open attempt it sleeps until woken: the
routing topic's traffic (every chat and agent change) costs it nothing then."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select

from switchboard.campaigns.models import Campaign
from switchboard.chats.log import ROUTING_TOPIC
from switchboard.core import metrics
from switchboard.core.alarms import CAP_SECONDS
from switchboard.core.runtime import Runtime
from switchboard.dialer.attempts import now as dialer_now
from switchboard.dialer.engine import get_dialer
from switchboard.lists.models import CallAttempt

log = logging.getLogger(__name__)

DIALER_TOPIC = "dialer:wake"

OPEN_ATTEMPT_STATES = ("offered", "dialing", "wrapup")


async def outlook(rt: Runtime) -> tuple[bool, float]:
    """Whether a campaign runs, and the seconds until the earliest open attempt's lease
    runs out (``CAP_SECONDS`` when none is open)."""
    async with rt.db.read() as s:
        running = (
            await s.execute(select(Campaign.id).where(Campaign.state == "RUNNING").limit(1))
        ).first() is not None
        earliest = (
            await s.execute(
                select(func.min(CallAttempt.lease_until)).where(
                    CallAttempt.state.in_(OPEN_ATTEMPT_STATES)
                )
            )
        ).scalar()
    if earliest is None:
        return running, CAP_SECONDS
    seconds = (earliest - dialer_now(rt)).total_seconds()
    return running, min(CAP_SECONDS, max(0.05, seconds))


async def run(rt: Runtime) -> None:
    dialer = get_dialer(rt)
    loop = asyncio.get_running_loop()
    running = False
    deadline = 0.0  # the first pass ticks at once
    must_tick = True
    try:
        async with rt.bus.listen([DIALER_TOPIC, ROUTING_TOPIC]) as waiter:
            while True:
                try:
                    if must_tick or loop.time() >= deadline:
                        async with metrics.loop_iteration("dialer"):
                            await dialer.tick()
                            running, due_in = await outlook(rt)
                        pause = rt.settings.dialer_poll_seconds if running else due_in
                        deadline = loop.time() + pause
                    woken = await waiter.wait(max(0.0, deadline - loop.time()))
                    topics = {topic for topic, _ in waiter.drain_pairs()}
                    # the routing topic matters only while a campaign runs
                    must_tick = woken and (running or DIALER_TOPIC in topics)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dialer tick failed")
                    await asyncio.sleep(min(5.0, rt.settings.dialer_poll_seconds))
                    must_tick = True
    finally:
        await dialer.close()
