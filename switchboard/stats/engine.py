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
import json
import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.stats.compute import compute
from switchboard.stats.definition import SubscriptionDef
from switchboard.stats.render import Viewer, render
from switchboard.stats.settings import StatsSettings
from switchboard.stats.snapshot import Snapshot
from switchboard.users.models import Privilege

log = logging.getLogger(__name__)

PROVIDER_KEY = "stats"
DEFINITIONS_KEPT = 512
CACHE_ENTRIES = 50_000


@dataclass
class _Rendered:
    """Bodies rendered from one snapshot during one second, by (definition, scope)."""

    snapshot: Snapshot
    second: int
    bodies: dict[tuple[Any, ...], bytes] = field(default_factory=dict)


@dataclass
class SubscriptionView:
    """What a data request needs of a subscription (cached for a couple of seconds)."""

    id: str
    created_at: datetime
    polled_at: datetime
    definition: dict[str, Any]
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = definition_key(self.definition)


def definition_key(definition: dict[str, Any]) -> str:
    """A canonical text of a definition: viewers with equal keys share renderings."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


class StatsEngine:
    def __init__(self, settings: StatsSettings) -> None:
        self.settings = settings
        self._snapshots: dict[str, Snapshot] = {}
        self._tasks: dict[str, asyncio.Task[Snapshot | None]] = {}
        self._viewed: dict[str, float] = {}
        # number of snapshot computations, per tenant (benchmarks and tests read it)
        self.computations: dict[str, int] = {}
        self._rendered: dict[str, _Rendered] = {}
        self._definitions: OrderedDict[str, SubscriptionDef] = OrderedDict()
        # bodies actually rendered (the rest were served from the cache)
        self.renders = 0
        # short-lived caches of the data requests' lookups (token -> principal,
        # token id -> subscription); this process drops an entry as soon as it changes it
        self._principals: dict[str, tuple[float, Any]] = {}
        self._subscriptions: dict[str, tuple[float, SubscriptionView]] = {}
        # subscriptions polled since the worker last recorded it (one UPDATE for all)
        self._touched: set[str] = set()

    # ---- lookups cached for a few seconds ------------------------------------------------

    def _until(self) -> float:
        # spread the expiries so that viewers who started together do not all look up
        # their tokens in the same instant
        ttl = self.settings.lookup_cache_seconds
        return time.monotonic() + ttl * random.uniform(0.75, 1.0)

    def cached_principal(self, digest: str) -> Any:
        hit = self._principals.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def remember_principal(self, digest: str, principal: Any) -> None:
        if self.settings.lookup_cache_seconds <= 0:
            return
        if len(self._principals) > CACHE_ENTRIES:
            self._principals.clear()
        self._principals[digest] = (self._until(), principal)

    def forget_principal(self, digest: str) -> None:
        self._principals.pop(digest, None)

    def cached_subscription(self, token_id: str) -> SubscriptionView | None:
        hit = self._subscriptions.get(token_id)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def remember_subscription(self, token_id: str, view: SubscriptionView) -> None:
        if self.settings.lookup_cache_seconds <= 0:
            return
        if len(self._subscriptions) > CACHE_ENTRIES:
            self._subscriptions.clear()
        self._subscriptions[token_id] = (self._until(), view)

    def forget_subscription(self, token_id: str) -> None:
        self._subscriptions.pop(token_id, None)

    def touch(self, subscription_id: str) -> None:
        """Note a poll; the worker writes ``polled_at`` of all noted subscriptions at once."""
        self._touched.add(subscription_id)

    def take_touched(self) -> list[str]:
        out, self._touched = list(self._touched), set()
        return out

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
            snap = await compute(
                s,
                tenant_id,
                now=utcnow(),
                settings=self.settings,
                previous=self._snapshots.get(tenant_id),
            )
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

    # ---- rendering ----------------------------------------------------------------------

    def _definition(self, key: str, raw: dict[str, Any]) -> SubscriptionDef:
        found = self._definitions.get(key)
        if found is None:
            found = SubscriptionDef.model_validate(raw)
            self._definitions[key] = found
            while len(self._definitions) > DEFINITIONS_KEPT:
                self._definitions.popitem(last=False)
        else:
            self._definitions.move_to_end(key)
        return found

    def render_json(
        self,
        snap: Snapshot,
        definition: dict[str, Any],
        viewer: Viewer,
        now: datetime,
        key: str | None = None,
    ) -> bytes:
        """The data body of a subscription, as JSON. Viewers with the same definition and
        the same scope (teams, privileges) share one rendering per snapshot and second."""
        key = key or definition_key(definition)
        scope = (
            key,
            snap.supervised.get(viewer.user_id, frozenset()),
            snap.user_team.get(viewer.user_id),
            Privilege.STATS_SERVICES in viewer.privileges,
            Privilege.STATS_AGENTS in viewer.privileges,
        )
        second = int(now.timestamp())
        cache = self._rendered.get(snap.tenant_id)
        if cache is None or cache.snapshot is not snap or cache.second != second:
            cache = _Rendered(snap, second)
            self._rendered[snap.tenant_id] = cache
        body = cache.bodies.get(scope)
        if body is None:
            parsed = self._definition(key, definition)
            body = json.dumps(
                render(snap, parsed, viewer, now), separators=(",", ":"), ensure_ascii=False
            ).encode()
            cache.bodies[scope] = body
            self.renders += 1
        return body

    def forget(self, older_than_seconds: float) -> None:
        """Drop the snapshots of tenants nobody watched for a while (memory)."""
        limit = time.monotonic() - older_than_seconds
        for tenant_id, at in list(self._viewed.items()):
            if at < limit:
                del self._viewed[tenant_id]
                self._snapshots.pop(tenant_id, None)
                self._rendered.pop(tenant_id, None)

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
        engine = StatsEngine(StatsSettings.from_settings(rt.settings))
        rt.providers[PROVIDER_KEY] = engine
    return engine
