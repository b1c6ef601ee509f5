"""What this process knows of each chat's delivery state, so that a customer's re-poll
that finds nothing new costs no database read.

A snapshot holds the chat's owner (tenant, client), whether it is active, the highest
``seq`` known of its log and of its server events, and ``client_cursor`` (what the
customer has been handed). It is filled from the database, moved forward by this
process's own writes and claims, and by every ``chat:<id>`` message on the bus (a tap
sees them all, whoever published). The database stays the truth:

* a snapshot only ever decides *whether to read*; delivery is claimed in the database
  (a conditional update of ``client_cursor``), so a stale snapshot can cost a read,
  never a lost or repeated event;
* the bus can lose messages only across a reconnect, and then the tap forgets every
  snapshot; with other processes (Redis) a snapshot is also re-read once it is
  ``max_age`` seconds old, which bounds the delay of an event whose wake-up was lost
  (another process crashing between its commit and its publish). In one process
  nothing can be lost: every chat write publishes after its commit, here;
* news that arrives while a snapshot is being read (an event committed after the read's
  transaction began) is kept for that read (``reading`` / ``put(..., flight)``), so that a
  snapshot read a moment too early never hides it.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from switchboard.chats.models import ACTIVE_STATES
from switchboard.core.runtime import Runtime

PROVIDER_KEY = "chats.cache"


@dataclass
class Snap:
    tenant_id: str
    client_key: str
    state: str
    last_seq: int
    # highest seq known to be (or possibly be) a server event: events up to here may be
    # pending for the customer
    server_seq: int
    client_cursor: int
    abandon_seconds: int
    loaded_at: float

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def pending(self) -> bool:
        """Server events the customer has not been handed may exist."""
        return self.server_seq > self.client_cursor


class Flight:
    """The news of a chat seen by the tap while its snapshot was being read."""

    __slots__ = ("last_seq", "readers", "server_seq", "unknown")

    def __init__(self) -> None:
        self.readers = 0
        self.last_seq = 0
        self.server_seq = 0
        self.unknown = False


class ChatCache:
    """Bounded, least recently used first out; one per process."""

    def __init__(self, *, max_entries: int = 200_000, max_age: float = 30.0) -> None:
        self._snaps: OrderedDict[str, Snap] = OrderedDict()
        self._flights: dict[str, Flight] = {}
        self._max = max_entries
        self.max_age = max_age
        self.hits = 0
        self.misses = 0

    def get(self, chat_id: str) -> Snap | None:
        snap = self._snaps.get(chat_id)
        if snap is None or time.monotonic() - snap.loaded_at > self.max_age:
            self.misses += 1
            return None
        self._snaps.move_to_end(chat_id)
        self.hits += 1
        return snap

    @contextlib.contextmanager
    def reading(self, chat_id: str) -> Iterator[Flight]:
        """``with cache.reading(chat_id) as flight:`` around a read of the chat's
        snapshot: the tap keeps what it sees meanwhile (for ``put(..., flight)``)."""
        flight = self._flights.get(chat_id)
        if flight is None:
            flight = self._flights[chat_id] = Flight()
        flight.readers += 1
        try:
            yield flight
        finally:
            flight.readers -= 1
            if flight.readers <= 0 and self._flights.get(chat_id) is flight:
                del self._flights[chat_id]

    def put(self, chat_id: str, snap: Snap, flight: Flight | None = None) -> None:
        """Keep a snapshot read from the database, with whatever newer this process
        already knows (the snapshot it replaces, the news seen during its read)."""
        if flight is not None:
            if flight.unknown:
                self._snaps.pop(chat_id, None)  # news the tap cannot apply: read again
                return
            snap.last_seq = max(snap.last_seq, flight.last_seq)
            snap.server_seq = max(snap.server_seq, flight.server_seq)
        old = self._snaps.get(chat_id)
        if old is not None:
            snap.last_seq = max(snap.last_seq, old.last_seq)
            snap.server_seq = max(snap.server_seq, old.server_seq)
            snap.client_cursor = max(snap.client_cursor, old.client_cursor)
            if not old.active:
                snap.state = old.state  # ending is final
        self._snaps[chat_id] = snap
        self._snaps.move_to_end(chat_id)
        while len(self._snaps) > self._max:
            self._snaps.popitem(last=False)

    def claimed(self, chat_id: str, cursor: int) -> None:
        snap = self._snaps.get(chat_id)
        if snap is not None and cursor > snap.client_cursor:
            snap.client_cursor = cursor

    def drop(self, chat_id: str) -> None:
        self._snaps.pop(chat_id, None)

    # ---- the bus tap ----------------------------------------------------------------

    def seen(self, topic: str, payload: str) -> None:
        chat_id = topic[5:]  # "chat:<id>"
        kind, _, raw = payload.partition(":")
        flight = self._flights.get(chat_id)
        if flight is not None:
            if raw.isdigit() and kind in ("server", "client"):
                seq = int(raw)
                flight.last_seq = max(flight.last_seq, seq)
                if kind == "server":
                    flight.server_seq = max(flight.server_seq, seq)
            elif kind not in ("preempt", "disconnect"):
                flight.unknown = True
        snap = self._snaps.get(chat_id)
        if snap is None:
            return
        if not raw.isdigit():
            if kind not in ("preempt", "disconnect"):
                self._snaps.pop(topic[5:], None)  # unknown news: read next time
            return
        seq = int(raw)
        if seq > snap.last_seq:
            snap.last_seq = seq
        if kind != "client" and seq > snap.server_seq:
            snap.server_seq = seq
        if kind == "ended":
            snap.state = "completed"
        elif kind not in ("server", "client"):
            self._snaps.pop(topic[5:], None)

    def reset(self) -> None:
        self._snaps.clear()
        for flight in self._flights.values():
            flight.unknown = True


def cache_of(rt: Runtime) -> ChatCache:
    found = rt.providers.get(PROVIDER_KEY)
    if isinstance(found, ChatCache):
        return found
    # a snapshot needs re-reading only where a wake-up can be lost (other processes)
    max_age = rt.settings.chat_cache_seconds if rt.bus.lossy else float("inf")
    created = ChatCache(max_age=max_age)
    rt.providers[PROVIDER_KEY] = created
    rt.bus.tap("chat:", created)
    return created
