"""The dialer's background task (one per server process; processes coordinate through
row locks). It ticks when woken (a campaign started, records added, an agent became
available) and at least every ``dialer_poll_seconds``."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from switchboard.campaigns.models import Campaign
from switchboard.core.runtime import Runtime
from switchboard.dialer.attempts import routing_topic
from switchboard.dialer.engine import get_dialer

log = logging.getLogger(__name__)

DIALER_TOPIC = "dialer:wake"


async def _topics(rt: Runtime) -> list[str]:
    async with rt.db.read() as s:
        rows = await s.execute(
            select(Campaign.tenant_id).where(Campaign.state == "RUNNING").distinct()
        )
        return [DIALER_TOPIC, *(routing_topic(t) for (t,) in rows.all())]


async def run(rt: Runtime) -> None:
    dialer = get_dialer(rt)
    try:
        while True:
            try:
                async with rt.bus.listen(await _topics(rt)) as waiter:
                    await dialer.tick()
                    await waiter.wait(rt.settings.dialer_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer tick failed")
                await asyncio.sleep(min(5.0, rt.settings.dialer_poll_seconds))
    finally:
        await dialer.close()
