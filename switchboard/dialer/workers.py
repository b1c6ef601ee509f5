"""The dialer's background task (one per server process; processes coordinate through
row locks). It ticks when woken (a campaign started, records added, an agent became
available) and, while a campaign runs, at least every ``dialer_poll_seconds`` (records
fall due, calls ring out). With no campaign running it sleeps until woken."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from switchboard.campaigns.models import Campaign
from switchboard.chats.log import ROUTING_TOPIC
from switchboard.core import metrics
from switchboard.core.alarms import CAP_SECONDS
from switchboard.core.runtime import Runtime
from switchboard.dialer.engine import get_dialer

log = logging.getLogger(__name__)

DIALER_TOPIC = "dialer:wake"


async def _running(rt: Runtime) -> bool:
    async with rt.db.read() as s:
        row = (
            await s.execute(select(Campaign.id).where(Campaign.state == "RUNNING").limit(1))
        ).first()
        return row is not None


async def run(rt: Runtime) -> None:
    dialer = get_dialer(rt)
    try:
        while True:
            try:
                async with rt.bus.listen([DIALER_TOPIC, ROUTING_TOPIC]) as waiter:
                    async with metrics.loop_iteration("dialer"):
                        await dialer.tick()
                        running = await _running(rt)
                    waiter.drain()
                    await waiter.wait(rt.settings.dialer_poll_seconds if running else CAP_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer tick failed")
                await asyncio.sleep(min(5.0, rt.settings.dialer_poll_seconds))
    finally:
        await dialer.close()
