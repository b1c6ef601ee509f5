"""The statistics worker of each server process: keeps the snapshots of the tenants
watched in this process fresh, and deletes idle subscriptions and old team messages."""

from __future__ import annotations

import asyncio
import logging
import time

from switchboard.core.runtime import Runtime
from switchboard.stats import actions
from switchboard.stats.engine import get_engine

log = logging.getLogger(__name__)

# a tenant stays "watched" this many refresh intervals after its last viewer (min 30 s)
WATCH_INTERVALS = 10


async def run(rt: Runtime) -> None:
    engine = get_engine(rt)
    next_cleanup = 0.0
    try:
        while True:
            interval = max(0.02, engine.settings.refresh_seconds)
            try:
                window = max(30.0, WATCH_INTERVALS * interval)
                for tenant_id in engine.watched(window):
                    if engine.is_stale(engine.current(tenant_id)):
                        await engine.refresh(rt, tenant_id)
                engine.forget(max(window, engine.settings.subscription_idle_seconds))
                touched = engine.take_touched()
                if touched:
                    await actions.touch_subscriptions(rt, subscription_ids=touched)
                if time.monotonic() >= next_cleanup:
                    next_cleanup = time.monotonic() + engine.settings.cleanup_seconds
                    subs, msgs = await actions.purge(rt)
                    if subs or msgs:
                        log.info(
                            "statistics: %d idle subscriptions, %d old messages deleted", subs, msgs
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("statistics worker iteration failed")
            await asyncio.sleep(interval)
    finally:
        await engine.close()
