"""The chat timers, one task per server process.

It sleeps until the nearest timer of any chat (an inactivity warning or timeout, or the
moment a customer who stopped polling counts as gone), or until this process sets an
earlier one (``alarm(rt, "chat-timers").hint``), then fires what is due
(``interactions.actions.fire_chat_timers``: each chat in its own transaction, claimed
with ``SKIP LOCKED`` so N processes never fire a timer twice). Every few minutes it
also purges relayed signaling older than ``chat_signaling_ttl_seconds`` (it never
belongs to a transcript) and forgets the presence of ended chats.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete

from switchboard.chats import events as ev
from switchboard.chats.log import TIMERS_TOPIC
from switchboard.chats.models import ChatEvent
from switchboard.core import clock, metrics
from switchboard.core.alarms import alarm
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.interactions.actions import fire_chat_timers, next_timer_in

log = logging.getLogger(__name__)

PURGE_EVERY = 300.0
# timers are fired in batches: a due time this close to the next counts as due with it
COALESCE_SECONDS = 0.25


async def purge_signaling(rt: Runtime) -> None:
    cutoff = utcnow() - timedelta(seconds=rt.settings.chat_signaling_ttl_seconds)
    async with rt.db.write() as s:
        await s.execute(
            delete(ChatEvent).where(
                ChatEvent.event_type == ev.SIGNALING, ChatEvent.created_at < cutoff
            )
        )


async def run(rt: Runtime) -> None:
    wake = alarm(rt, "chat-timers")
    next_purge = clock.epoch() + PURGE_EVERY
    while True:
        try:
            async with rt.bus.listen([TIMERS_TOPIC]) as waiter:
                while True:
                    waiter.drain()
                    async with metrics.loop_iteration("chat-timers"):
                        while await fire_chat_timers(rt) >= 200:
                            await asyncio.sleep(0)  # a backlog: keep going
                        if clock.epoch() >= next_purge:
                            await purge_signaling(rt)
                            next_purge = clock.epoch() + PURGE_EVERY
                        seconds = await next_timer_in(rt)
                    due = next_purge
                    if seconds is not None:
                        due = min(due, clock.epoch() + seconds + COALESCE_SECONDS)
                    # new timers arrive in bursts (every new chat has one): look at most
                    # a few times a second
                    await asyncio.sleep(COALESCE_SECONDS)
                    await wake.sleep(due, waiter=waiter)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat timers failed; retrying")
            await asyncio.sleep(1.0)
