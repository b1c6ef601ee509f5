"""The per-process snapshot cache: one computation per tenant per refresh interval,
shared by every viewer of the tenant in this process.

``GET subscription/data`` never computes: it renders the tenant's current snapshot and,
when that snapshot is older than the refresh interval, starts one background refresh
(single flight: concurrent viewers never start a second one). The worker
(``workers.py``) keeps the snapshots of watched tenants fresh so that viewers rarely
wait. Every process has its own cache; the cost is (processes x watched tenants) per
interval, independent of the number of viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.stats.compute import compute
from switchboard.stats.settings import StatsSettings
from switchboard.stats.snapshot import Snapshot

log = logging.getLogger(__name__)

PROVIDER_KEY = "stats"


class StatsEngine:
    def __init__(self, settings: StatsSettings) -> None:
        self.settings = settings
        self._snapshots: dict[str, Snapshot] = {}
        self._tasks: dict[str, asyncio.Task[Snapshot | None]] = {}
        self._viewed: dict[str, float] = {}
        # number of snapshot computations, per tenant (benchmarks and tests read it)
        self.computations: dict[str, int] = {}

    # ---- reading ----------------------------------------------------------------------

    def current(self, tenant_id: str) -> Snapshot | None:
        return self._snapshots.get(tenant_id)

    def is_stale(self, snap: Snapshot | None, now: datetime | None = None) -> bool:
        if snap is None:
            return True
        age = ((now or utcnow()) - snap.computed_at).total_seconds()
        return age >= self.settings.refresh_seconds

    def viewed(self, tenant_id: str) -> None:
        self._viewed[tenant_id] = time.monotonic()

    def watched(self, within_seconds: float) -> list[str]:
        limit = time.monotonic() - within_seconds
        return [t for t, at in self._viewed.items() if at >= limit]

    # ---- refreshing -------------------------------------------------------------------

    async def _compute(self, rt: Runtime, tenant_id: str) -> Snapshot | None:
        async with rt.db.read() as s:
            snap = await compute(s, tenant_id, now=utcnow(), settings=self.settings)
        self.computations[tenant_id] = self.computations.get(tenant_id, 0) + 1
        if snap is None:
            self._snapshots.pop(tenant_id, None)
        else:
            self._snapshots[tenant_id] = snap
        return snap

    def _start(self, rt: Runtime, tenant_id: str) -> asyncio.Task[Snapshot | None]:
        task = self._tasks.get(tenant_id)
        if task is not None and not task.done():
            return task
        task = asyncio.create_task(self._compute(rt, tenant_id), name=f"stats:{tenant_id}")
        self._tasks[tenant_id] = task

        def _done(t: asyncio.Task[Snapshot | None]) -> None:
            if self._tasks.get(tenant_id) is t:
                del self._tasks[tenant_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("statistics of tenant %s failed", tenant_id, exc_info=t.exception())

        task.add_done_callback(_done)
        return task

    def kick(self, rt: Runtime, tenant_id: str) -> None:
        """Start a background refresh unless one is running."""
        self._start(rt, tenant_id)

    async def refresh(self, rt: Runtime, tenant_id: str) -> Snapshot | None:
        """Compute now (or join the computation in progress) and return the snapshot."""
        return await asyncio.shield(self._start(rt, tenant_id))

    async def fresh(self, rt: Runtime, tenant_id: str) -> Snapshot | None:
        """The current snapshot, computed first when missing or stale."""
        snap = self.current(tenant_id)
        if self.is_stale(snap):
            snap = await self.refresh(rt, tenant_id)
        return snap

    def forget(self, older_than_seconds: float) -> None:
        """Drop the snapshots of tenants nobody watched for a while (memory)."""
        limit = time.monotonic() - older_than_seconds
        for tenant_id, at in list(self._viewed.items()):
            if at < limit:
                del self._viewed[tenant_id]
                self._snapshots.pop(tenant_id, None)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


def get_engine(rt: Runtime) -> StatsEngine:
    """The engine of this runtime (created on first use)."""
    engine = rt.providers.get(PROVIDER_KEY)
    if not isinstance(engine, StatsEngine):
        engine = StatsEngine(StatsSettings())
        rt.providers[PROVIDER_KEY] = engine
    return engine
