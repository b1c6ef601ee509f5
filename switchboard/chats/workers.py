"""The chat engine's timers, one task per server process.

Every ``worker_interval_seconds``: fire due inactivity warnings and timeouts, end chats
whose client stopped polling (``actions.fire_timers`` claims rows with row locks, so
N processes never fire a timer twice), and purge relayed signaling events older than
``signaling_ttl_seconds`` (they never belong to a transcript).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete

from switchboard.chats import actions
from switchboard.chats import events as ev
from switchboard.chats.config import chat_settings
from switchboard.chats.models import ChatEvent
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

PURGE_EVERY = 60


async def purge_signaling(rt: Runtime) -> None:
    cutoff = utcnow() - timedelta(seconds=chat_settings(rt).signaling_ttl_seconds)
    async with rt.db.write() as s:
        await s.execute(
            delete(ChatEvent).where(
                ChatEvent.event_type == ev.SIGNALING, ChatEvent.created_at < cutoff
            )
        )


async def run(rt: Runtime) -> None:
    cfg = chat_settings(rt)
    ticks = 0
    while True:
        try:
            while await actions.fire_timers(rt) >= 100:
                await asyncio.sleep(0)  # a backlog: keep going
            if ticks % max(int(PURGE_EVERY / max(cfg.worker_interval_seconds, 0.01)), 1) == 0:
                await purge_signaling(rt)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat timers failed; retrying")
        ticks += 1
        await asyncio.sleep(cfg.worker_interval_seconds)
