"""The event bus: it only *wakes* readers of the durable logs in the database.

A lost notification may delay an event (readers also re-check on a timeout), never
lose it. Two implementations behind one protocol: in-process (single worker) and
Redis pub/sub (any number of worker processes).

Without Redis, the processes of one host (several uvicorn workers on one SQLite file)
still share the messages that invalidate what they cache of configuration and
credentials (``config:``, ``auth:``, ``tenant:``): the in-process bus appends them to a
relay file, and each process reads what is new there before it trusts such a cache
(:meth:`InProcessBus.catch_up`: one ``stat`` when nothing changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from switchboard.core import metrics

log = logging.getLogger(__name__)


class Waiter:
    """Set when any of the topics it listens to is published."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.payloads: list[str] = []
        self.pairs: list[tuple[str, str]] = []

    def wake(self, payload: str, topic: str = "") -> None:
        self.payloads.append(payload)
        self.pairs.append((topic, payload))
        self._event.set()

    @property
    def woken(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float) -> bool:
        """Wait until woken or ``timeout`` seconds pass; True when woken. Re-arms itself."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._event.clear()

    def drain(self) -> list[str]:
        """What woke the waiter since the last drain (payloads); re-arms it."""
        out, self.payloads = self.payloads, []
        self.pairs = []
        self._event.clear()
        return out

    def drain_pairs(self) -> list[tuple[str, str]]:
        """What woke the waiter since the last drain: (topic, payload) pairs; re-arms it."""
        out, self.pairs = self.pairs, []
        self.payloads = []
        self._event.clear()
        return out


class Bus(Protocol):
    # whether a message can be lost while this process lives (another process crashing
    # between its commit and its publish, a reconnect): what is derived from messages
    # must then be re-checked now and then
    lossy: bool

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ping(self) -> bool: ...
    async def publish(self, topic: str, payload: str = "") -> None: ...
    async def publish_many(self, items: list[tuple[str, str]]) -> None: ...
    def listen(self, topics: Iterable[str]) -> Any: ...
    def tap(self, prefix: str, tap: Tap) -> None: ...
    def catch_up(self) -> None: ...


class Tap(Protocol):
    """Sees every message delivered in this process (whoever published it)."""

    def seen(self, topic: str, payload: str) -> None: ...

    def reset(self) -> None:
        """Messages may have been lost (a reconnect): forget what was derived from them."""


class _LocalFanout:
    def __init__(self) -> None:
        self._waiters: dict[str, set[Waiter]] = defaultdict(set)
        self._taps: list[tuple[str, Tap]] = []

    def tap(self, prefix: str, tap: Tap) -> None:
        self._taps.append((prefix, tap))

    def reset(self, prefixes: tuple[str, ...] | None = None) -> None:
        for prefix, tap in self._taps:
            if prefixes is None or prefix.startswith(prefixes):
                tap.reset()

    def add(self, topics: list[str], waiter: Waiter) -> None:
        for t in topics:
            self._waiters[t].add(waiter)

    def remove(self, topics: list[str], waiter: Waiter) -> None:
        for t in topics:
            ws = self._waiters.get(t)
            if ws is not None:
                ws.discard(waiter)
                if not ws:
                    del self._waiters[t]

    def deliver(self, topic: str, payload: str) -> None:
        for prefix, tap in self._taps:
            if topic.startswith(prefix):
                tap.seen(topic, payload)
        waiters = self._waiters.get(topic)
        if waiters:
            for w in list(waiters):
                w.wake(payload, topic)

    def tell_taps(self, topic: str, payload: str) -> None:
        """The taps only (caches of this process): they learn this process's own news at
        once, not a round trip later (a revoked token must not pass here meanwhile)."""
        for prefix, tap in self._taps:
            if topic.startswith(prefix):
                tap.seen(topic, payload)

    def topics(self) -> list[str]:
        return list(self._waiters)


RELAYED = ("config:", "auth:", "tenant:")
RELAY_ROTATE_BYTES = 1 << 20


class FileRelay:
    """The relayed messages of the processes of one host, as JSON lines appended to one
    file (``O_APPEND``: writes of a line are not interleaved). A reader keeps its offset;
    a replaced file (rotated past ``RELAY_ROTATE_BYTES``) means anything may have
    changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.origin = uuid.uuid4().hex[:12]  # its own lines are not read back
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            st = os.stat(path)
            self._ino, self._offset = st.st_ino, st.st_size
        except FileNotFoundError:
            self._ino, self._offset = -1, 0

    def append(self, items: list[tuple[str, str]]) -> None:
        data = "".join(
            json.dumps([self.origin, t, p]) + "\n" for t, p in items if t.startswith(RELAYED)
        )
        if not data:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self.path).st_size > RELAY_ROTATE_BYTES:
                os.replace(self.path, self.path.with_name(self.path.name + ".old"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def read_new(self) -> list[tuple[str, str]] | None:
        """What was appended since the last call (None: the file was replaced)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        if st.st_ino == self._ino and st.st_size == self._offset:
            return []
        replaced = self._ino not in (-1, st.st_ino) or st.st_size < self._offset
        if replaced:
            self._ino, self._offset = st.st_ino, st.st_size
            return None
        self._ino = st.st_ino
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(st.st_size - self._offset)
        whole = data[: data.rfind(b"\n") + 1]  # a line being written waits
        self._offset += len(whole)
        out: list[tuple[str, str]] = []
        for line in whole.splitlines():
            with contextlib.suppress(ValueError, TypeError):
                origin, topic, payload = json.loads(line)
                if origin != self.origin:
                    out.append((str(topic), str(payload)))
        return out


class InProcessBus:
    """Wakes waiters of this process only (one worker, or tests); with a ``relay``, the
    configuration and credential messages also reach the other processes of the host
    (see the module's doc)."""

    # every chat write is published by this process, after its commit: a crash loses
    # the waiters with the message
    lossy = False

    def __init__(self, relay: FileRelay | None = None) -> None:
        self._fanout = _LocalFanout()
        self._relay = relay

    def _relay_out(self, items: list[tuple[str, str]]) -> None:
        if self._relay is None:
            return
        try:
            self._relay.append(items)
        except OSError as e:
            log.warning("bus relay %s: %s (disabled)", self._relay.path, e)
            self._relay = None

    def catch_up(self) -> None:
        """Deliver here what other processes relayed since the last call."""
        if self._relay is None:
            return
        try:
            items = self._relay.read_new()
        except OSError as e:
            log.warning("bus relay %s: %s (disabled)", self._relay.path, e)
            self._relay = None
            return
        if items is None:
            self._fanout.reset(RELAYED)
            return
        for topic, payload in items:
            self._fanout.deliver(topic, payload)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    def tap(self, prefix: str, tap: Tap) -> None:
        self._fanout.tap(prefix, tap)

    async def publish(self, topic: str, payload: str = "") -> None:
        metrics.bus_published(1)
        self._fanout.deliver(topic, payload)
        if topic.startswith(RELAYED):
            self._relay_out([(topic, payload)])

    async def publish_many(self, items: list[tuple[str, str]]) -> None:
        metrics.bus_published(len(items))
        for topic, payload in items:
            self._fanout.deliver(topic, payload)
        if any(topic.startswith(RELAYED) for topic, _ in items):
            self._relay_out(items)

    @asynccontextmanager
    async def listen(self, topics: Iterable[str]) -> AsyncIterator[Waiter]:
        waiter = Waiter()
        names = list(topics)
        self._fanout.add(names, waiter)
        try:
            yield waiter
        finally:
            self._fanout.remove(names, waiter)


class RedisBus:
    """Redis pub/sub on one pattern subscription per process, fanned out locally."""

    lossy = True

    def __init__(self, url: str, prefix: str = "switchboard") -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix + ":"
        self._fanout = _LocalFanout()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # an outage is logged once when it starts and once when it ends
        self._down = False

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-bus")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._redis.aclose()

    def _outage(self, what: str) -> None:
        if not self._down:
            self._down = True
            log.warning("redis bus unavailable (%s); waking this process's readers only", what)

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.warning("redis bus reachable again")

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._prefix + "*")
                self._ready.set()
                self._recovered()
                backoff = 0.5
                # Wake everyone after a (re)connect: something may have been missed.
                self._fanout.reset()
                for topic in self._fanout.topics():
                    self._fanout.deliver(topic, "")
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    data = message["data"]
                    if isinstance(data, bytes):
                        data = data.decode()
                    self._fanout.deliver(channel[len(self._prefix) :], str(data))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # connection dropped: retry, backing off
                self._outage(type(e).__name__)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py stub gap
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def tap(self, prefix: str, tap: Tap) -> None:
        self._fanout.tap(prefix, tap)

    def catch_up(self) -> None:
        """Nothing to do: every process hears every message through Redis."""

    @property
    def redis(self) -> Any:
        """The client (for bookkeeping that needs no durability: leases, presence)."""
        return self._redis

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return bool(await self._redis.ping())
        except Exception:
            return False

    async def publish(self, topic: str, payload: str = "") -> None:
        await self.publish_many([(topic, payload)])

    async def publish_many(self, items: list[tuple[str, str]]) -> None:
        if not items:
            return
        metrics.bus_published(len(items))
        # this process's caches first (the echo from Redis tells them again: taps are
        # idempotent)
        for topic, payload in items:
            self._fanout.tell_taps(topic, payload)
        try:
            if len(items) == 1:
                topic, payload = items[0]
                await self._redis.publish(self._prefix + topic, payload)
            else:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for topic, payload in items:
                        pipe.publish(self._prefix + topic, payload)
                    await pipe.execute()
            if self._down:
                self._recovered()
        except Exception as e:
            # The database holds the truth; readers in other processes re-check on
            # their timeout. This process's readers are woken directly.
            self._outage(type(e).__name__)
            for topic, payload in items:
                self._fanout.deliver(topic, payload)

    @asynccontextmanager
    async def listen(self, topics: Iterable[str]) -> AsyncIterator[Waiter]:
        waiter = Waiter()
        names = list(topics)
        self._fanout.add(names, waiter)
        try:
            yield waiter
        finally:
            self._fanout.remove(names, waiter)


def make_bus(
    redis_url: str | None, prefix: str, relay_dir: Path | None = None
) -> InProcessBus | RedisBus:
    if redis_url:
        return RedisBus(redis_url, prefix)
    if relay_dir is None:
        return InProcessBus()
    try:
        relay = FileRelay(Path(relay_dir) / f"bus-{prefix}.relay")
    except OSError as e:
        log.warning("no bus relay in %s: %s", relay_dir, e)
        return InProcessBus()
    return InProcessBus(relay)
