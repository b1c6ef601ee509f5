"""The operations loop of every process: database pool use and the bus wake-up lag (a
publish to a topic of this process, timed until the wake-up it causes: through Redis
when several processes share it) for ``GET /metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid

from switchboard.core import metrics
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

PROBE_EVERY = 3  # pool samples per bus probe (a probe every 15 s by default)


async def probe_bus(rt: Runtime, timeout: float = 5.0) -> float | None:
    """Seconds from a publish to the wake-up it causes here (None: no wake-up in time)."""
    topic = f"ops:probe:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    async with rt.bus.listen([topic]) as waiter:
        started = time.perf_counter()
        await rt.bus.publish(topic, "probe")
        if not await waiter.wait(timeout):
            return None
        lag = time.perf_counter() - started
    metrics.bus_wakeup_lag(lag)
    return lag


async def run(rt: Runtime) -> None:
    db = rt.db
    metrics.watch_pools(
        *(
            getattr(db, name, None)
            for name in ("write_engine", "read_engine", "sync_write", "sync_read")
        )
    )
    n = 0
    while True:
        try:
            async with metrics.loop_iteration("ops"):
                metrics.sample_pool(rt.db.write_engine)
                if n % PROBE_EVERY == 0:
                    await probe_bus(rt)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("operations loop failed")
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.sleep(rt.settings.ops_interval_seconds)
