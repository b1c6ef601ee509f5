"""Failed-login throttling: growing delays per account and per source address.

Built on the ``limits`` library (moving windows): Redis storage shared by every process
when ``redis_url`` is set, process memory otherwise. A failed login is counted against
its account (tenant + loginId, whether or not they exist, so that throttling reveals
nothing) and against its source address. While any window of the account is full the
account is "locked out": every attempt is refused with the same answer as a wrong
password (and is not counted again), until the window frees or an administrator clears
it (``PUT /configapi/v2/user/lock/{username}``). The tiers make the delays grow: by
default ``lockout_threshold`` failures in a minute wait up to a minute, twice as many in
10 minutes wait up to 10 minutes, four times as many wait up to ``lockout_minutes``.
A source over its limits is answered 429 with ``Retry-After``. Tokens issued before are
never affected: throttling only concerns new logins.

If Redis is unreachable the throttle falls back to process memory, so that an outage
neither blocks logins nor lifts the protection: the outage is logged once, Redis is tried
again after pauses that double (1 s up to a minute), and its return is logged once.
Process memory keeps its windows on the engine's clock (``core.clock``), which tests move.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from switchboard.core import clock
from switchboard.core.runtime import Runtime
from switchboard.core.security import set_hash_workers
from switchboard.core.settings import Settings

log = logging.getLogger(__name__)

PROVIDER = "login_throttle"


def account_limits(settings: Settings) -> list[RateLimitItem]:
    if settings.login_account_limits.strip():
        return list(parse_many(settings.login_account_limits))
    t = max(1, settings.lockout_threshold)
    m = max(1, settings.lockout_minutes)
    tiers = [f"{t} per 1 minute"]
    if m > 10:
        tiers.append(f"{2 * t} per 10 minutes")
    if m > 1:
        tiers.append(f"{4 * t} per {m} minutes")
    return list(parse_many("; ".join(tiers)))


def _key(*parts: str) -> str:
    """Fixed-size identifiers whatever the client sent (any length, any character)."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:40]


@dataclass(frozen=True)
class LockState:
    locked: bool
    retry_after: float  # seconds until the next attempt is considered (0 when not locked)


class _Windows(Protocol):
    """Moving windows of failures: ``wait`` is how long until ``item`` has room again."""

    async def wait(self, item: RateLimitItem, *ids: str) -> float: ...
    async def hit(self, item: RateLimitItem, *ids: str) -> None: ...
    async def clear(self, item: RateLimitItem, *ids: str) -> None: ...


class _SharedWindows:
    """The ``limits`` library's moving windows in Redis (every process sees them)."""

    def __init__(self, url: str, prefix: str) -> None:
        storage = RedisStorage("async+" + url, implementation="redispy", key_prefix=prefix)
        self._limiter = MovingWindowRateLimiter(storage)

    async def wait(self, item: RateLimitItem, *ids: str) -> float:
        if await self._limiter.test(item, *ids):
            return 0.0
        stats = await self._limiter.get_window_stats(item, *ids)
        return max(stats.reset_time - time.time(), 1.0)

    async def hit(self, item: RateLimitItem, *ids: str) -> None:
        await self._limiter.hit(item, *ids)

    async def clear(self, item: RateLimitItem, *ids: str) -> None:
        await self._limiter.clear(item, *ids)


class _MemoryWindows:
    """Moving windows in process memory, on the engine's clock (``core.clock``), so that
    a test moves time instead of waiting. Windows nobody touched for longer than their
    period are swept now and then: ever new names cannot grow memory without end."""

    SWEEP_EVERY = 1024

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._writes = 0

    def _live(self, item: RateLimitItem, ids: tuple[str, ...], now: float) -> deque[float]:
        key = item.key_for(*ids)
        entry = self._hits.get(key)
        if entry is None:
            return deque()
        hits = entry[1]
        while hits and hits[0] <= now - entry[0]:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    async def wait(self, item: RateLimitItem, *ids: str) -> float:
        now = clock.epoch()
        hits = self._live(item, ids, now)
        if len(hits) < item.amount:
            return 0.0
        # room again when the oldest hit that keeps the window full leaves it
        return max(hits[-item.amount] + item.get_expiry() - now, 1.0)

    async def hit(self, item: RateLimitItem, *ids: str) -> None:
        now = clock.epoch()
        hits = self._live(item, ids, now)
        if len(hits) >= item.amount:
            return
        hits.append(now)
        self._hits[item.key_for(*ids)] = (float(item.get_expiry()), hits)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            self._sweep(now)

    async def clear(self, item: RateLimitItem, *ids: str) -> None:
        self._hits.pop(item.key_for(*ids), None)

    def _sweep(self, now: float) -> None:
        for key, (period, hits) in list(self._hits.items()):
            if not hits or hits[-1] <= now - period:
                del self._hits[key]


class LoginThrottle:
    #: after an outage of Redis, the first retry waits this long, then twice as long each
    #: time, up to RETRY_MAX seconds (on the engine's clock)
    RETRY_FIRST = 1.0
    RETRY_MAX = 60.0

    def __init__(self, settings: Settings) -> None:
        self.account_items = account_limits(settings)
        self.source_items = (
            list(parse_many(settings.login_source_limits))
            if settings.login_source_limits.strip()
            else []
        )
        self.namespace = settings.bus_prefix
        self._memory = _MemoryWindows()
        self._shared: _SharedWindows | None = None
        # an outage is logged once when it starts and once when it ends; meanwhile Redis
        # is tried again after growing pauses, process memory answering in between
        self._down = False
        self._retry_at = 0.0
        self._pause = self.RETRY_FIRST
        if settings.redis_url:
            self._shared = _SharedWindows(settings.redis_url, f"{settings.bus_prefix}:limits")

    # -- storage with a fallback ---------------------------------------------------
    def _windows(self) -> _Windows:
        if self._shared is None or (self._down and clock.epoch() < self._retry_at):
            return self._memory
        return self._shared

    def _failed_over(self, exc: Exception) -> None:
        if not self._down:
            self._down = True
            self._pause = self.RETRY_FIRST
            log.warning(
                "login throttle: Redis unreachable (%s); using process memory until it is back",
                type(exc).__name__,
            )
        else:
            self._pause = min(self._pause * 2, self.RETRY_MAX)
        self._retry_at = clock.epoch() + self._pause

    def _answered(self, windows: _Windows) -> None:
        if self._down and windows is self._shared:
            self._down = False
            self._pause = self.RETRY_FIRST
            log.warning("login throttle: Redis reachable again; shared windows in use")

    async def _wait(self, items: list[RateLimitItem], *ids: str) -> float:
        """Seconds until every window of ``items`` has room (0: room now)."""
        windows = self._windows()
        try:
            wait = 0.0
            for item in items:
                wait = max(wait, await windows.wait(item, *ids))
        except Exception as e:
            if windows is self._memory:
                raise
            self._failed_over(e)
            return await self._wait(items, *ids)
        self._answered(windows)
        return wait

    async def _hit(self, items: list[RateLimitItem], *ids: str) -> None:
        windows = self._windows()
        try:
            for item in items:
                await windows.hit(item, *ids)
        except Exception as e:
            if windows is self._memory:
                raise
            self._failed_over(e)
            await self._hit(items, *ids)
            return
        self._answered(windows)

    async def _clear(self, items: list[RateLimitItem], *ids: str, always: bool = False) -> None:
        """Forget the failures of ``ids`` in memory and in Redis (during an outage: when a
        retry is due, or ``always`` for an administrator's clear, which is rare)."""
        for item in items:
            await self._memory.clear(item, *ids)
        shared = self._shared
        if shared is None or not (always or self._windows() is shared):
            return
        try:
            for item in items:
                await shared.clear(item, *ids)
        except Exception as e:
            self._failed_over(e)
            return
        self._answered(shared)

    # -- accounts and sources --------------------------------------------------------
    def _account(self, tenant_key: str, login_id: str) -> tuple[str, str, str]:
        return (self.namespace, "acct", _key(tenant_key, login_id.strip().lower()))

    def _source(self, source: str) -> tuple[str, str, str]:
        return (self.namespace, "src", _key(source))

    async def account_wait(self, tenant_key: str, login_id: str) -> float:
        return await self._wait(self.account_items, *self._account(tenant_key, login_id))

    async def source_wait(self, source: str) -> float:
        if not source or not self.source_items:
            return 0.0
        return await self._wait(self.source_items, *self._source(source))

    async def failed(self, tenant_key: str, login_id: str, source: str) -> None:
        await self._hit(self.account_items, *self._account(tenant_key, login_id))
        if source and self.source_items:
            await self._hit(self.source_items, *self._source(source))

    async def succeeded(self, tenant_key: str, login_id: str) -> None:
        await self._clear(self.account_items, *self._account(tenant_key, login_id))

    async def state(self, tenant_key: str, login_id: str) -> LockState:
        wait = await self.account_wait(tenant_key, login_id)
        return LockState(locked=wait > 0, retry_after=wait)

    async def clear(self, tenant_key: str, login_id: str) -> None:
        await self._clear(self.account_items, *self._account(tenant_key, login_id), always=True)


def get_throttle(rt: Runtime) -> LoginThrottle:
    """The process's throttle (one per runtime)."""
    throttle: LoginThrottle | None = rt.providers.get(PROVIDER)
    if throttle is None:
        set_hash_workers(rt.settings.hash_workers)
        throttle = LoginThrottle(rt.settings)
        rt.providers[PROVIDER] = throttle
    return throttle
