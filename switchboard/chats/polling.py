"""Long polling of a chat's server events, exactly once, across processes and restarts.

The durable log (``chat_events``) is the truth; ``client_cursor`` on the session row is
the highest ``seq`` handed to the customer. Delivering a range of events is *claimed*
by one conditional update (``client_cursor = new WHERE client_cursor = old``, in the
next group commit): of two polls, workers or ``POST events`` racing for the same
events exactly one wins, the other re-reads.

What needs no durability stays off the database (``presence``): the poll lease (at most
one poll held per session, in any process) and when the customer last polled. A
re-poll that finds nothing new touches no table: the process's snapshot of the chat
(``cache``) says there is nothing to read.

Exactly-once without acknowledgements from the vendor's clients:

* a poll whose client went away (the connection closed) stops and claims nothing;
* a refused second poll *preempts* the held one: it answers empty without claiming, and
  the client's next poll takes over. A client whose connection died silently thus gets
  its events on its next-but-one poll instead of losing them;
* our own clients (the demo page, the load kit) may send ``cursor=<seq>`` (the
  ``X-Switchboard-Cursor`` of the previous answer) to resume exactly where they are,
  even after a response was lost in transit.

A held poll keeps no database session: it listens on the bus (``chat:<id>``) and reads
the database only when woken by a server event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from switchboard.chats import events as ev
from switchboard.chats.cache import Snap, cache_of
from switchboard.chats.log import LogRow, chat_topic
from switchboard.chats.presence import presence_of
from switchboard.core import metrics
from switchboard.core.bus import Waiter
from switchboard.core.db import Batched, new_id
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.core.sql import Raw

DISCONNECTED = "disconnect"
PREEMPT = "preempt"

Watch = Callable[[Waiter], Coroutine[Any, Any, None]]


@dataclass
class Answer:
    events: list[dict[str, Any]]
    cursor: int


def not_found() -> NotFound:
    return NotFound("Chat session is not found", code="5005")


def too_many() -> Invalid:
    return Invalid("Too many concurrent poll requests for the same session", code="5509")


# ---- database -------------------------------------------------------------------------------


_LOAD_SQL = (
    "SELECT c.tenant_id, c.client_key, c.state, c.last_seq, c.client_cursor,"
    " c.poll_abandon_seconds, e.seq, e.payload, e.party_id, e.created_at"
    " FROM chat_sessions c LEFT JOIN chat_events e"
    " ON e.chat_id = c.id AND e.seq > COALESCE(?, c.client_cursor) AND e.direction = 'server'"
    " WHERE c.id = ? ORDER BY e.seq LIMIT ?"
)


def _load(
    raw: Raw, tenant_id: str, chat_id: str, after: int | None, limit: int
) -> tuple[Snap | None, list[LogRow]]:
    """The chat's row and its server events after ``after`` (default: after its
    ``client_cursor``), in one statement (a row without event columns when none)."""
    rows = raw.all(_LOAD_SQL, (None if after is None else max(after, 0), chat_id, limit))
    if not rows or rows[0][0] != tenant_id:
        return None, []
    row_tenant, client_key, state, last_seq, client_cursor, abandon = rows[0][:6]
    start = client_cursor if after is None else max(after, 0)
    events = [LogRow(raw, *row[6:]) for row in rows if row[6] is not None]
    if events:
        # a full page may not be all: more may be pending up to last_seq
        server_seq = last_seq if len(events) >= limit else events[-1].seq
    else:
        # no server event in (start, last_seq]: nothing pending beyond ``start``
        server_seq = min(start, last_seq)
    snap = Snap(
        tenant_id=row_tenant,
        client_key=client_key,
        state=state,
        last_seq=last_seq,
        server_seq=max(server_seq, client_cursor),
        client_cursor=client_cursor,
        abandon_seconds=abandon,
        loaded_at=time.monotonic(),
    )
    return snap, events


def _claim_row(raw: Raw, chat_id: str, old: int, new: int) -> bool:
    """Move ``client_cursor`` from ``old`` to ``new``; False when another reader moved it."""
    return (
        raw.rowcount(
            "UPDATE chat_sessions SET client_cursor = ? WHERE id = ? AND client_cursor = ?",
            (new, chat_id, old),
        )
        == 1
    )


def _claim_fn(raw: Raw, chat_id: str, old: int, new: int) -> Batched:
    return Batched(_claim_row(raw, chat_id, old, new))


@dataclass
class _Looked:
    snap: Snap | None
    fresh: list[LogRow]
    position: int
    claimed: bool


def _look_fn(raw: Raw, tenant_id: str, chat_id: str, position: int, limit: int) -> Batched:
    """A woken poll's look (``Database.single``): the chat's state and its server events
    after ``position`` or the client's cursor, whichever is further, and the claim of
    those events (``client_cursor`` moved only if no other reader moved it since it was
    read)."""
    snap, events = _load(raw, tenant_id, chat_id, max(position, 0), limit)
    if snap is None:
        return Batched(_Looked(None, [], position, False))
    position = max(position, snap.client_cursor)
    fresh = [e for e in events if e.seq > position]
    if not fresh:
        return Batched(_Looked(snap, [], position, False))
    new = max(fresh[-1].seq, snap.client_cursor)
    claimed = _claim_row(raw, chat_id, snap.client_cursor, new)
    if claimed:
        snap.client_cursor = new
        snap.server_seq = max(snap.server_seq, new)
    return Batched(_Looked(snap, fresh, position, claimed))


async def read(
    rt: Runtime, *, tenant_id: str, chat_id: str, after: int | None = None
) -> tuple[Snap | None, list[LogRow]]:
    """The chat's delivery state and its server events after ``after`` (default: after
    ``client_cursor``), read from the database; the snapshot is kept."""
    limit = rt.settings.chat_max_events_per_answer
    cache = cache_of(rt)
    with cache.reading(chat_id) as flight:
        snap, events = await rt.db.raw_read(_load, tenant_id, chat_id, after, limit)
    if snap is None:
        cache.drop(chat_id)
    else:
        cache.put(chat_id, snap, flight)
    return snap, events


async def snapshot(rt: Runtime, *, tenant_id: str, chat_id: str) -> Snap | None:
    """The chat's delivery state: this process's snapshot, else the database's."""
    snap = cache_of(rt).get(chat_id)
    if snap is not None:
        return snap if snap.tenant_id == tenant_id else None
    snap, _events = await read(rt, tenant_id=tenant_id, chat_id=chat_id)
    return snap


async def _claim(rt: Runtime, chat_id: str, old: int, new: int) -> bool:
    new = max(new, old)
    ok = bool(await rt.db.single(_claim_fn, chat_id, old, new, key=chat_id))
    if ok:
        cache_of(rt).claimed(chat_id, new)
    else:
        cache_of(rt).drop(chat_id)
    return ok


def _answer(chat_id: str, events: list[LogRow], cursor: int) -> Answer:
    return Answer([ev.render(e, chat_id) for e in events], cursor)


# ---- the poll -------------------------------------------------------------------------------


async def poll(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    hold: float,
    cursor: int | None = None,
    watch: Watch | None = None,
) -> Answer:
    """``GET chats/{id}/events``: the pending server events now, or after a hold.

    404/5005 for an unknown session, or an ended one with nothing left to deliver;
    400/5509 while another poll of the session is held (which is then preempted).
    """
    presence = presence_of(rt)
    async with rt.bus.listen([chat_topic(chat_id)]) as waiter:
        lease = new_id()
        if not await presence.acquire(chat_id, lease, hold):
            snap = await snapshot(rt, tenant_id=tenant_id, chat_id=chat_id)
            if snap is None or snap.client_key != client_key:
                raise not_found()
            # the held poll answers empty and claims nothing; the next poll takes over
            await presence.preempt(chat_id)
            await rt.bus.publish(chat_topic(chat_id), PREEMPT)
            raise too_many()
        watcher = asyncio.create_task(watch(waiter)) if watch is not None else None
        try:
            with metrics.holding_poll("messaging"):
                return await _hold(
                    rt,
                    waiter=waiter,
                    tenant_id=tenant_id,
                    chat_id=chat_id,
                    client_key=client_key,
                    lease=lease,
                    cursor=cursor,
                    hold=hold,
                )
        finally:
            if watcher is not None:
                watcher.cancel()
            # also on cancellation (server shutdown): free the session for the next poll
            with contextlib.suppress(Exception):
                await asyncio.shield(presence.release(chat_id, lease))


async def _hold(
    rt: Runtime,
    *,
    waiter: Waiter,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    lease: str,
    cursor: int | None,
    hold: float,
) -> Answer:
    presence = presence_of(rt)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hold
    snap = cache_of(rt).get(chat_id)
    events: list[LogRow] | None = None
    if snap is None or cursor is not None:
        snap, events = await read(rt, tenant_id=tenant_id, chat_id=chat_id, after=cursor)
    if snap is None or snap.tenant_id != tenant_id or snap.client_key != client_key:
        raise not_found()
    # with ``cursor`` the client may ask again for what it never received (the first
    # look starts there); later looks never go below what was handed out since
    position = cursor if cursor is not None else snap.client_cursor
    look = events is not None or snap.pending or not snap.active

    while True:
        if look and events is not None:
            # the first look, at what was read above
            position = max(position, snap.client_cursor) if cursor is None else position
            fresh = [e for e in events if e.seq > position] if cursor is None else events
            events = None
            cursor = None
            if fresh:
                if await presence.owner(chat_id) != lease:
                    return Answer([], position)  # preempted: claim nothing
                if await _claim(rt, chat_id, snap.client_cursor, fresh[-1].seq):
                    return _answer(chat_id, fresh, fresh[-1].seq)
                continue  # another reader claimed meanwhile: look again
            if not snap.active:
                raise not_found()  # ended, and everything was handed out
        elif look:
            # woken: read and claim at once (``Database.single``)
            if await presence.owner(chat_id) != lease:
                return Answer([], position)  # preempted: claim nothing
            cache = cache_of(rt)
            with cache.reading(chat_id) as flight:
                looked: _Looked = await rt.db.single(
                    _look_fn,
                    tenant_id,
                    chat_id,
                    position,
                    rt.settings.chat_max_events_per_answer,
                    key=chat_id,
                )
            if looked.snap is None:
                cache.drop(chat_id)
                raise not_found()
            snap = looked.snap
            position = looked.position
            if looked.fresh and not looked.claimed:
                cache.drop(chat_id)
                continue  # another reader claimed meanwhile: look again
            cache.put(chat_id, snap, flight)
            if looked.fresh:
                return _answer(chat_id, looked.fresh, looked.fresh[-1].seq)
            if not snap.active:
                raise not_found()  # ended, and everything was handed out
        remaining = deadline - loop.time()
        if remaining <= 0:
            return Answer([], position)
        if not await waiter.wait(remaining):
            return Answer([], position)
        payloads = waiter.drain()
        if DISCONNECTED in payloads:
            return Answer([], position)  # nobody to answer: claim nothing
        if PREEMPT in payloads and await presence.owner(chat_id) != lease:
            return Answer([], position)
        # the customer's own events never need a look
        look = any(not p.startswith(("client:", PREEMPT)) for p in payloads)


async def claim_for_response(
    rt: Runtime, *, tenant_id: str, chat_id: str, client_key: str
) -> Answer:
    """The pending server events for a ``POST events`` answer (claimed like a poll)."""
    for _ in range(5):
        snap = cache_of(rt).get(chat_id)
        if snap is not None and snap.tenant_id == tenant_id and not snap.pending:
            if snap.client_key != client_key:
                raise not_found()
            return Answer([], snap.client_cursor)
        snap, events = await read(rt, tenant_id=tenant_id, chat_id=chat_id)
        if snap is None or snap.client_key != client_key:
            raise not_found()
        if not events:
            return Answer([], snap.client_cursor)
        if await _claim(rt, chat_id, snap.client_cursor, events[-1].seq):
            return _answer(chat_id, events, events[-1].seq)
    return Answer([], 0)
