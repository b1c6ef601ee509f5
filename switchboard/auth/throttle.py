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

If Redis is unreachable the throttle falls back to process memory (logged once), so that
an outage neither blocks logins nor lifts the protection.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

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


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        self.account_items = account_limits(settings)
        self.source_items = (
            list(parse_many(settings.login_source_limits))
            if settings.login_source_limits.strip()
            else []
        )
        self.namespace = settings.bus_prefix
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._outage = False
        self._retry_at = 0.0
        if settings.redis_url:
            storage: Storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=f"{settings.bus_prefix}:limits",
            )
            self._shared = MovingWindowRateLimiter(storage)

    # -- storage with a fallback ---------------------------------------------------
    def _limiter(self) -> MovingWindowRateLimiter:
        return self._shared if self._shared is not None and not self._outage else self._memory

    def _failed_over(self, exc: Exception) -> None:
        if not self._outage:
            log.warning("login throttle: Redis unreachable (%s); using process memory", exc)
        self._outage = True
        self._retry_at = time.monotonic() + 5.0

    def _maybe_recover(self) -> None:
        if self._outage and time.monotonic() >= self._retry_at:
            self._outage = False  # try Redis again; a failure falls back again

    async def _wait(self, items: list[RateLimitItem], *ids: str) -> float:
        """Seconds until every window of ``items`` has room (0: room now)."""
        self._maybe_recover()
        limiter = self._limiter()
        try:
            wait = 0.0
            now = time.time()
            for item in items:
                if not await limiter.test(item, *ids):
                    stats = await limiter.get_window_stats(item, *ids)
                    wait = max(wait, stats.reset_time - now, 1.0)
            return wait
        except Exception as e:
            if limiter is self._memory:
                raise
            self._failed_over(e)
            return await self._wait(items, *ids)

    async def _hit(self, items: list[RateLimitItem], *ids: str) -> None:
        self._maybe_recover()
        limiter = self._limiter()
        try:
            for item in items:
                await limiter.hit(item, *ids)
        except Exception as e:
            if limiter is self._memory:
                raise
            self._failed_over(e)
            await self._hit(items, *ids)

    async def _clear(self, items: list[RateLimitItem], *ids: str) -> None:
        for item in items:
            await self._memory.clear(item, *ids)
        if self._shared is not None:
            try:
                for item in items:
                    await self._shared.clear(item, *ids)
            except Exception as e:
                self._failed_over(e)

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
        await self._clear(self.account_items, *self._account(tenant_key, login_id))


def get_throttle(rt: Runtime) -> LoginThrottle:
    """The process's throttle (one per runtime)."""
    throttle: LoginThrottle | None = rt.providers.get(PROVIDER)
    if throttle is None:
        set_hash_workers(rt.settings.hash_workers)
        throttle = LoginThrottle(rt.settings)
        rt.providers[PROVIDER] = throttle
    return throttle
