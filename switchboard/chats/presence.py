"""Who holds a poll, and when each customer last polled: bookkeeping that needs no
durability, kept off the database.

* **Leases.** At most one long poll is held per chat session, across processes: a poll
  takes the chat's lease (``acquire``) and gives it back when it answers (``release``);
  a second poll finds it taken (400/5509) and preempts it (``preempt``).
* **Last seen.** Each acquire and release records the time; the chat timers end a chat
  whose customer stopped polling for ``poll_abandon_seconds`` (``last_seen``).

Two implementations behind one protocol, chosen with the bus: in this process (one
worker), or Redis keys with expiries (any number of processes; one round trip per
operation, each a short Lua script). Losing this state (a restart, a Redis flush) is
harmless: a lease then is free, and a chat whose customer is not known to be seen
counts as seen when the state was lost.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from switchboard.core import clock
from switchboard.core.bus import RedisBus
from switchboard.core.runtime import Runtime

PROVIDER_KEY = "chats.presence"


class Presence(Protocol):
    async def acquire(self, chat_id: str, lease_id: str, hold: float) -> bool: ...
    async def release(self, chat_id: str, lease_id: str) -> None: ...
    async def owner(self, chat_id: str) -> str | None: ...
    async def preempt(self, chat_id: str) -> bool: ...
    async def last_seen(self, chat_ids: list[str]) -> dict[str, float]: ...
    async def forget(self, chat_ids: list[str]) -> None: ...


class LocalPresence:
    """This process only (one worker)."""

    def __init__(self) -> None:
        self._leases: dict[str, tuple[str, float]] = {}
        self._seen: dict[str, float] = {}
        self.since = clock.epoch()

    async def acquire(self, chat_id: str, lease_id: str, hold: float) -> bool:
        now = time.monotonic()
        held = self._leases.get(chat_id)
        self._seen[chat_id] = clock.epoch()
        if held is not None and held[1] > now:
            return False
        self._leases[chat_id] = (lease_id, now + hold + 1.0)
        return True

    async def release(self, chat_id: str, lease_id: str) -> None:
        held = self._leases.get(chat_id)
        if held is not None and held[0] == lease_id:
            del self._leases[chat_id]
        self._seen[chat_id] = clock.epoch()

    async def owner(self, chat_id: str) -> str | None:
        held = self._leases.get(chat_id)
        if held is None or held[1] <= time.monotonic():
            return None
        return held[0]

    async def preempt(self, chat_id: str) -> bool:
        held = self._leases.pop(chat_id, None)
        return held is not None and held[1] > time.monotonic()

    async def last_seen(self, chat_ids: list[str]) -> dict[str, float]:
        now = clock.epoch()
        out = {}
        for cid in chat_ids:
            if await self.owner(cid) is not None:
                out[cid] = now  # polling right now
            else:
                out[cid] = self._seen.get(cid, self.since)
        return out

    async def forget(self, chat_ids: list[str]) -> None:
        for cid in chat_ids:
            self._leases.pop(cid, None)
            self._seen.pop(cid, None)


_ACQUIRE = """
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class RedisPresence:
    """Redis keys with expiries, shared by every process."""

    def __init__(self, redis: Any, prefix: str, *, keep_seconds: int = 86400) -> None:
        self._r = redis
        self._p = prefix + ":presence:"
        self._keep = keep_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self.since = clock.epoch()

    def _lease(self, chat_id: str) -> str:
        return f"{self._p}lease:{chat_id}"

    def _seen(self, chat_id: str) -> str:
        return f"{self._p}seen:{chat_id}"

    async def acquire(self, chat_id: str, lease_id: str, hold: float) -> bool:
        ms = int((hold + 1.0) * 1000)
        got = await self._acquire(
            keys=[self._lease(chat_id), self._seen(chat_id)],
            args=[lease_id, ms, repr(clock.epoch()), self._keep],
        )
        return bool(got)

    async def release(self, chat_id: str, lease_id: str) -> None:
        await self._release(
            keys=[self._lease(chat_id), self._seen(chat_id)],
            args=[lease_id, repr(clock.epoch()), self._keep],
        )

    async def owner(self, chat_id: str) -> str | None:
        raw = await self._r.get(self._lease(chat_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def preempt(self, chat_id: str) -> bool:
        return bool(await self._r.delete(self._lease(chat_id)))

    async def last_seen(self, chat_ids: list[str]) -> dict[str, float]:
        if not chat_ids:
            return {}
        now = clock.epoch()
        async with self._r.pipeline(transaction=False) as pipe:
            for cid in chat_ids:
                pipe.exists(self._lease(cid))
                pipe.get(self._seen(cid))
            raw = await pipe.execute()
        out = {}
        for i, cid in enumerate(chat_ids):
            held, seen = raw[2 * i], raw[2 * i + 1]
            if held:
                out[cid] = now
            elif seen is not None:
                out[cid] = float(seen)
            else:
                out[cid] = self.since
        return out

    async def forget(self, chat_ids: list[str]) -> None:
        if chat_ids:
            keys = [k for cid in chat_ids for k in (self._lease(cid), self._seen(cid))]
            await self._r.delete(*keys)


def presence_of(rt: Runtime) -> Presence:
    found = rt.providers.get(PROVIDER_KEY)
    if found is None:
        if isinstance(rt.bus, RedisBus):
            found = RedisPresence(rt.bus.redis, rt.settings.bus_prefix)
        else:
            found = LocalPresence()
        rt.providers[PROVIDER_KEY] = found
    return found
