"""Long polling of a chat's server events, exactly once, across processes and restarts.

The durable log (``chat_events``) is the truth; the session row carries the delivery
state:

* ``client_cursor`` — the highest ``seq`` handed to the customer. A range of events
  is *claimed* by one conditional ``UPDATE ... SET client_cursor = :new WHERE
  client_cursor = :old``: of two workers (or a poll and a ``POST events``) racing for
  the same events exactly one wins, the other re-reads.
* ``poll_lease_id`` / ``poll_lease_until`` — at most one poll is held per session,
  in any process: a poll takes the lease with a conditional ``UPDATE``; a poll that
  finds the lease taken answers 400/5509. A lease ends with its hold: the client's next
  poll finds it free, so an empty answer writes nothing, and a crashed process cannot
  block a session for longer than a hold.

A held poll keeps no database session: it listens on the bus (``chat_topic``) and
re-reads the database when woken. With the in-process bus it reads once more before
answering empty (another process may have written without being able to wake it); with
Redis every process is woken, and a wake-up lost anyway only delays the event to the
client's next poll, whose lease acquisition returns the session's state.

Exactly-once without acknowledgements from the vendor's clients:

* a poll whose client went away (the connection closed) stops and claims nothing;
* a refused second poll *preempts* the held one (it expires that lease): the client's
  next poll takes over and the old request, if it is still alive, answers empty
  without claiming anything. A client whose connection died silently thus gets its
  events on its next-but-one poll instead of losing them;
* our own clients (the demo page, the load kit) may send ``cursor=<seq>`` — the
  ``X-Switchboard-Cursor`` of the previous answer — to resume exactly where they are,
  even after a response was lost in transit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chats import events as ev
from switchboard.chats.config import chat_settings
from switchboard.chats.log import chat_topic
from switchboard.chats.models import ACTIVE_STATES, ChatEvent, ChatSession
from switchboard.core.bus import RedisBus, Waiter
from switchboard.core.db import new_id, utcnow
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime

DISCONNECTED = "disconnect"

Watch = Callable[[Waiter], Coroutine[Any, Any, None]]


@dataclass
class Answer:
    events: list[dict[str, Any]]
    cursor: int


@dataclass
class _Snap:
    state: str
    client_key: str
    last_seq: int
    client_cursor: int
    lease_id: str | None
    lease_until: datetime | None
    abandon_seconds: int


@dataclass
class _Event:
    """A row of the log as much as clients see of it (``events.render`` reads it)."""

    seq: int
    payload: dict[str, Any]
    party_id: str | None
    created_at: datetime


_SNAP_COLUMNS = (
    ChatSession.state,
    ChatSession.client_key,
    ChatSession.last_seq,
    ChatSession.client_cursor,
    ChatSession.poll_lease_id,
    ChatSession.poll_lease_until,
    ChatSession.poll_abandon_seconds,
)


def not_found() -> NotFound:
    return NotFound("Chat session is not found", code="5005")


def too_many() -> Invalid:
    return Invalid("Too many concurrent poll requests for the same session", code="5509")


async def _read(
    rt: Runtime, *, tenant_id: str, chat_id: str, after: int | None, limit: int
) -> tuple[_Snap | None, list[_Event]]:
    """The session's delivery state and its server events after ``after`` (default:
    after ``client_cursor``), in one query."""
    start = ChatSession.client_cursor if after is None else max(after, 0)
    stmt = (
        select(
            *_SNAP_COLUMNS,
            ChatEvent.seq,
            ChatEvent.payload,
            ChatEvent.party_id,
            ChatEvent.created_at,
        )
        .outerjoin(
            ChatEvent,
            and_(
                ChatEvent.chat_id == ChatSession.id,
                ChatEvent.seq > start,
                ChatEvent.direction == "server",
            ),
        )
        .where(ChatSession.id == chat_id, ChatSession.tenant_id == tenant_id)
        .order_by(ChatEvent.seq)
        .limit(limit)
    )
    # the hot path uses Core connections of the same engines as ``rt.db.read()``
    # (same BEGIN, same short transaction) without the ORM session's cost
    async with rt.db.read_engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    if not rows:
        return None, []
    snap = _Snap(*rows[0][:7])
    events = [_Event(r[7], r[8], r[9], r[10]) for r in rows if r[7] is not None]
    return snap, events


def _deadline(now: datetime, abandon_seconds: int) -> Any:
    return case(
        (ChatSession.state.in_(ACTIVE_STATES), now + timedelta(seconds=abandon_seconds)),
        else_=None,
    )


@contextlib.asynccontextmanager
async def _bookkeeping(rt: Runtime, *, durable: bool = False) -> AsyncIterator[AsyncConnection]:
    """A write transaction for the delivery state (lease, cursor, last poll).

    The events themselves are committed durably by their writers. Lease changes (and,
    with ``async_cursor_commit``, cursor claims) skip PostgreSQL's WAL flush: a
    database *crash* could forget the last fraction of a second of them (a lease then
    simply expires; a cursor moves back and those events are delivered again), and in
    exchange a poll costs no fsync. SQLite in WAL mode with ``synchronous=NORMAL``
    already behaves so.
    """
    async with rt.db.write_engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite
        if not durable and not rt.db.is_sqlite:
            await conn.execute(text("SET LOCAL synchronous_commit = off"))
        yield conn


async def _update(
    rt: Runtime, *conditions: Any, values: dict[str, Any], durable: bool = False
) -> bool:
    async with _bookkeeping(rt, durable=durable) as s:
        result = await s.execute(
            update(ChatSession)
            .where(*conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1


def _lease_free(now: datetime) -> Any:
    return or_(ChatSession.poll_lease_until.is_(None), ChatSession.poll_lease_until <= now)


async def _claim(
    rt: Runtime,
    *,
    chat_id: str,
    snap: _Snap,
    new_cursor: int,
    lease_id: str | None,
    require_free_lease: bool,
) -> bool:
    """Advance ``client_cursor`` from what we read to ``new_cursor``, atomically.

    With ``lease_id`` the claim also requires (and releases) our lease; with
    ``require_free_lease`` it requires that no poll is held.
    """
    now = utcnow()
    conds: list[Any] = [
        ChatSession.id == chat_id,
        ChatSession.client_cursor == snap.client_cursor,
    ]
    values: dict[str, Any] = {"client_cursor": new_cursor}
    if lease_id is not None:
        # ours until someone else takes it (it may have just expired: the final look)
        conds.append(ChatSession.poll_lease_id == lease_id)
        values.update(poll_lease_id=None, poll_lease_until=None)
    elif require_free_lease:
        conds.append(_lease_free(now))
    if lease_id is not None or require_free_lease:
        values.update(last_poll_at=now, poll_deadline_at=_deadline(now, snap.abandon_seconds))
    durable = not chat_settings(rt).async_cursor_commit
    return await _update(rt, *conds, values=values, durable=durable)


async def _release(
    rt: Runtime, *, chat_id: str, lease_id: str, abandon_seconds: int
) -> _Snap | None:
    """Give the lease up; the session's state after that (None: it was not ours)."""
    now = utcnow()
    stmt = (
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.poll_lease_id == lease_id)
        .values(
            poll_lease_id=None,
            poll_lease_until=None,
            last_poll_at=now,
            poll_deadline_at=_deadline(now, abandon_seconds),
        )
        .returning(*_SNAP_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    async with _bookkeeping(rt) as s:
        row = (await s.execute(stmt)).one_or_none()
    return _Snap(*row) if row is not None else None


async def _preempt(rt: Runtime, *, chat_id: str, lease_id: str | None) -> None:
    """Take the lease from the held poll: it will answer empty and claim nothing."""
    if lease_id is None:
        return
    done = await _update(
        rt,
        ChatSession.id == chat_id,
        ChatSession.poll_lease_id == lease_id,
        values={"poll_lease_id": None, "poll_lease_until": None},
    )
    if done:
        await rt.bus.publish(chat_topic(chat_id), "preempt")


def _answer(chat_id: str, events: Sequence[_Event], cursor: int) -> Answer:
    return Answer([ev.render(e, chat_id) for e in events], cursor)


async def _acquire(
    rt: Runtime, *, tenant_id: str, chat_id: str, client_key: str, lease_id: str, hold: float
) -> _Snap | None:
    """Take the poll lease of an active session of this client; its state, or None."""
    now = utcnow()
    stmt = (
        update(ChatSession)
        .where(
            ChatSession.id == chat_id,
            ChatSession.tenant_id == tenant_id,
            ChatSession.client_key == client_key,
            ChatSession.state.in_(ACTIVE_STATES),
            _lease_free(now),
        )
        .values(
            poll_lease_id=lease_id,
            # the lease ends with the hold: the next poll of the client finds it free
            # without the ending poll writing anything
            poll_lease_until=now + timedelta(seconds=hold),
            # (the gone-client deadline is moved when the poll ends: a held poll is alive)
            last_poll_at=now,
        )
        .returning(*_SNAP_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    async with _bookkeeping(rt) as s:
        row = (await s.execute(stmt)).one_or_none()
    return _Snap(*row) if row is not None else None


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
    limit = chat_settings(rt).max_events_per_answer
    async with rt.bus.listen([chat_topic(chat_id)]) as waiter:
        for _ in range(10):
            lease_id = new_id()
            snap = await _acquire(
                rt,
                tenant_id=tenant_id,
                chat_id=chat_id,
                client_key=client_key,
                lease_id=lease_id,
                hold=hold,
            )
            if snap is not None:
                return await _hold(
                    rt,
                    waiter=waiter,
                    tenant_id=tenant_id,
                    chat_id=chat_id,
                    lease_id=lease_id,
                    snap=snap,
                    cursor=cursor,
                    hold=hold,
                    watch=watch,
                )
            # no lease: an unknown or ended session, or a poll already held
            snap, events = await _read(
                rt, tenant_id=tenant_id, chat_id=chat_id, after=cursor, limit=limit
            )
            if snap is None or snap.client_key != client_key:
                raise not_found()
            now = utcnow()
            if snap.lease_until is not None and snap.lease_until > now:
                await _preempt(rt, chat_id=chat_id, lease_id=snap.lease_id)
                raise too_many()
            if snap.state in ACTIVE_STATES:
                continue  # the lease was just released: take it
            if not events:
                raise not_found()
            # an ended session: hand out what is left, then 404
            if await _claim(
                rt,
                chat_id=chat_id,
                snap=snap,
                new_cursor=events[-1].seq,
                lease_id=None,
                require_free_lease=True,
            ):
                return _answer(chat_id, events, events[-1].seq)
    raise too_many()


async def _hold(
    rt: Runtime,
    *,
    waiter: Waiter,
    tenant_id: str,
    chat_id: str,
    lease_id: str,
    snap: _Snap,
    cursor: int | None,
    hold: float,
    watch: Watch | None,
) -> Answer:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hold
    limit = chat_settings(rt).max_events_per_answer
    released = False
    # with ``cursor`` the client may ask again for what it never received (the first
    # look starts there); later looks never go below what was handed out since
    first = True
    position = cursor if cursor is not None else snap.client_cursor
    abandon_seconds = snap.abandon_seconds

    async def attempt() -> Answer | None:
        """Deliver what is pending under our lease; an empty Answer when preempted."""
        nonlocal released, position, first
        for _ in range(5):
            after = cursor if first else None
            now_snap, events = await _read(
                rt, tenant_id=tenant_id, chat_id=chat_id, after=after, limit=limit
            )
            if now_snap is None:
                released = True
                return Answer([], position)
            if not first:
                position = max(cursor or 0, now_snap.client_cursor)
                events = [e for e in events if e.seq > position]
            if now_snap.lease_id != lease_id:
                released = True  # preempted, or expired and taken: claim nothing
                return Answer([], position)
            if not events:
                first = False
                return None
            if await _claim(
                rt,
                chat_id=chat_id,
                snap=now_snap,
                new_cursor=events[-1].seq,
                lease_id=lease_id,
                require_free_lease=False,
            ):
                released = True
                return _answer(chat_id, events, events[-1].seq)
        return None

    watcher: asyncio.Task[None] | None = None
    try:
        if watch is not None:
            watcher = asyncio.create_task(watch(waiter))
        start = cursor if cursor is not None else snap.client_cursor
        # the acquisition returned the session's state: nothing new means no read
        check = snap.last_seq > start
        if not check:
            first = False
        while True:
            if check:
                found = await attempt()
                if found is not None:
                    return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            woken = await waiter.wait(remaining)
            if not woken:
                break
            payloads = waiter.drain()
            if DISCONNECTED in payloads:
                return Answer([], position)  # nobody to answer: claim nothing
            # the customer's own events never need a re-read
            check = not payloads or any(not p.startswith("client:") for p in payloads)
        # The final re-check, for a bus that cannot cross processes (in-process bus,
        # another process writing). Through Redis every process is woken; a wake-up
        # lost anyway is found by the client's next poll, whose lease acquisition
        # returns the session's state. An empty answer writes nothing: the lease has
        # just expired by itself.
        found = await attempt() if not isinstance(rt.bus, RedisBus) else None
        released = True
        if found is not None:
            return found
        return Answer([], position)
    finally:
        if watcher is not None:
            watcher.cancel()
        if not released:
            # also on cancellation (server shutdown): free the session for the next poll
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    _release(
                        rt, chat_id=chat_id, lease_id=lease_id, abandon_seconds=abandon_seconds
                    )
                )


async def claim_for_response(
    rt: Runtime, *, tenant_id: str, chat_id: str, client_key: str
) -> Answer:
    """The pending server events for a ``POST events`` answer (claimed like a poll)."""
    limit = chat_settings(rt).max_events_per_answer
    for _ in range(5):
        snap, events = await _read(
            rt, tenant_id=tenant_id, chat_id=chat_id, after=None, limit=limit
        )
        if snap is None or snap.client_key != client_key:
            raise not_found()
        if not events:
            return Answer([], snap.client_cursor)
        if await _claim(
            rt,
            chat_id=chat_id,
            snap=snap,
            new_cursor=events[-1].seq,
            lease_id=None,
            require_free_lease=False,
        ):
            return _answer(chat_id, events, events[-1].seq)
    return Answer([], 0)
