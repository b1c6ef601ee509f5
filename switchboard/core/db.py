"""Database access: the declarative base, portable column types and short transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout; every write
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing with "database is locked", and writers of one process queue on an asyncio lock
first (SQLite's own busy handler sleeps in steps of up to 100 ms). PostgreSQL uses one
engine for both; claims that must happen exactly once take row locks
(``SELECT ... FOR UPDATE [SKIP LOCKED]``).

**One operation, one transaction.** ``Database.write()`` is the transaction of one
operation. Inside it, code that wants to wake readers calls ``after_commit(session,
topic, payload)``; the publishes are queued on the session and sent only once the
transaction has committed (none at all when it rolls back). ``call_after_commit``
queues other work that must follow a commit (a push notification, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from switchboard.core import clock
from switchboard.core.sql import Raw

log = logging.getLogger(__name__)

# every SQLite connection of the process (SQLAlchemy's and the hot path's own)
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    # checkpoints run beside the writers, never in their way (Database.wrote)
    "PRAGMA wal_autocheckpoint=0",
)

T = TypeVar("T")

_PUBLISHES = "switchboard.after_commit.publish"
_CALLS = "switchboard.after_commit.call"

Publisher = Callable[[list[tuple[str, str]]], Awaitable[None]]


def after_commit(session: AsyncSession, topic: str, payload: str = "") -> None:
    """Publish ``topic`` on the bus once the session's write transaction has committed."""
    session.info.setdefault(_PUBLISHES, []).append((topic, payload))


def call_after_commit(session: AsyncSession, fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` once the session's write transaction has committed (errors are logged:
    the operation itself has succeeded)."""
    session.info.setdefault(_CALLS, []).append(fn)


NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Now, in UTC (``core.clock``: tests may move it forward)."""
    return clock.now()


def new_id() -> str:
    return str(uuid.uuid4())


def new_hex_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def id_column_type() -> String:
    return String(36)


@dataclass
class Batched:
    """What a batched write function returns: its result, and the bus publishes to send
    once the batch's transaction has committed."""

    result: Any = None
    publishes: list[tuple[str, str]] = field(default_factory=list)
    calls: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


BatchFn = Callable[..., Batched]


class _Item(Generic[T]):
    __slots__ = ("args", "fn", "future", "key")

    def __init__(
        self, fn: BatchFn, args: tuple[Any, ...], key: str, future: asyncio.Future[Any]
    ) -> None:
        self.fn = fn
        self.args = args
        self.key = key
        self.future = future


class GroupCommit:
    """Concurrent small writes share one transaction and one commit.

    ``submit(fn, *args, key=...)`` queues ``fn(raw, *args) -> Batched`` (``raw``: the
    transaction's ``core.sql.Raw`` cursor). While a
    batch is being written, new submissions accumulate; the next batch takes them all
    (up to ``max_batch``), in order of ``key`` (the row each one locks, so that batches
    of several processes lock rows in the same order), as one transaction. A function
    must validate before it writes: a ``DomainError`` it raises is its caller's answer
    and leaves the other items alone. If the transaction itself fails, each item is
    retried alone, so one bad item never fails the others. Nothing is acknowledged (no
    future resolves) before the commit.
    """

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self._db = db
        self._queue: list[_Item[Any]] = []
        self._running = False
        self._max = max_batch
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, fn: BatchFn, *args: Any, key: str = "") -> Any:
        loop = asyncio.get_running_loop()
        item: _Item[Any] = _Item(fn, args, key, loop.create_future())
        self._queue.append(item)
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                batch.sort(key=lambda i: i.key)
                try:
                    outcomes = await self._db.raw_write(_run_batch, batch)
                except Exception as e:
                    if len(batch) == 1:
                        _fail(batch[0], e)
                        continue
                    for item in batch:
                        try:
                            one = await self._db.raw_write(_run_batch, [item])
                        except Exception as e1:
                            _fail(item, e1)
                        else:
                            await self._finish([item], one)
                    continue
                await self._finish(batch, outcomes)
        finally:
            self._running = False

    async def _finish(self, batch: list[_Item[Any]], outcomes: list[Any]) -> None:
        self.batches += 1
        self.items += len(batch)
        publishes: list[tuple[str, str]] = []
        calls: list[Callable[[], Awaitable[None]]] = []
        for out in outcomes:
            if isinstance(out, Batched):
                publishes += out.publishes
                calls += out.calls
        # committed: wake the readers (and start the follow-up work) before anyone is
        # answered, so that an answer never overtakes the wake-up it caused
        try:
            await self._db.committed(publishes, calls, background=True)
        except Exception:
            log.exception("publishing after a group commit failed")
        for item, out in zip(batch, outcomes, strict=True):
            if item.future.done():
                continue
            if isinstance(out, Batched):
                item.future.set_result(out.result)
            else:
                item.future.set_exception(out)


def _fail(item: _Item[Any], error: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(error)


def _run_batch(conn: Raw, batch: list[_Item[Any]]) -> list[Any]:
    from switchboard.core.errors import DomainError

    out: list[Any] = []
    for item in batch:
        try:
            out.append(item.fn(conn, *item.args))
        except DomainError as e:
            out.append(e)
    return out


class Database:
    """Engines and session factories; ``read()`` and ``write()`` open short transactions.

    Hot paths use ``run_read(fn)`` / ``run_write(fn)`` / ``batch(fn)`` instead: ``fn`` is
    plain synchronous SQLAlchemy Core on a ``Connection``. On SQLite it runs in a
    thread of its own with the sqlite3 driver (one hop per call instead of one per
    statement); on PostgreSQL it runs on the async engine through ``run_sync``.
    """

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, sqlite_readers: int = 4
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.sync_write: Engine | None = None
        self.sync_read: Engine | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        self._checkpoint_thread: ThreadPoolExecutor | None = None
        # SQLite: commits since the last checkpoint, and the one under way
        self._commits = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._reader_threads: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            self.write_engine = self._sqlite_engine(url, immediate=True, echo=echo)
            self.read_engine = self._sqlite_engine(url, immediate=False, echo=echo)
            sync_url = url.replace("+aiosqlite", "+pysqlite", 1)
            self.sync_write = self._sqlite_sync_engine(sync_url, immediate=True, size=1)
            self.sync_read = self._sqlite_sync_engine(
                sync_url, immediate=False, size=sqlite_readers
            )
            self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
            self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-ckpt")
            self._reader_threads = ThreadPoolExecutor(
                sqlite_readers, thread_name_prefix="sqlite-read"
            )
        else:
            # No ping before each checkout (a round trip per transaction, 8% of the CPU
            # on the message path): a connection found dead fails its one transaction,
            # and SQLAlchemy then drops every pooled connection older than it. The pool
            # keeps ``pool_size`` connections open; overflow ones are closed on return,
            # so a pool too small for the load opens and closes connections all the time
            # (a PostgreSQL backend each, with its statement cache).
            kwargs: dict[str, Any] = {"echo": echo, "pool_recycle": 1800}
            if pool_size <= 0:
                kwargs["poolclass"] = NullPool
            else:
                kwargs["pool_size"] = pool_size
                kwargs["max_overflow"] = max(pool_size // 2, 1)
            self.write_engine = create_async_engine(url, **kwargs)
            # Reads run without BEGIN and ROLLBACK (two round trips): under READ
            # COMMITTED each statement sees its own snapshot either way.
            self.read_engine = self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite: one writer at a time; this process's writers queue here, not in
        # SQLite's sleeping busy handler
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # set by the runtime: sends the publishes queued by ``after_commit``
        self.publisher: Publisher | None = None
        # called before every COMMIT of this process (tests inject failures here)
        self.before_commit: list[Callable[[], None]] = []
        for engine in (self.write_engine.sync_engine, self.sync_write):
            if engine is not None:
                event.listen(engine, "commit", self._run_before_commit)
        self._local = threading.local()
        self._raw_connections: list[sqlite3.Connection] = []
        self.group = GroupCommit(self)
        self._background: set[asyncio.Task[None]] = set()

    @staticmethod
    def _sqlite_pragmas(engine: Engine, *, immediate: bool) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @classmethod
    def _sqlite_engine(cls, url: str, *, immediate: bool, echo: bool) -> AsyncEngine:
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        cls._sqlite_pragmas(engine.sync_engine, immediate=immediate)
        return engine

    @classmethod
    def _sqlite_sync_engine(cls, url: str, *, immediate: bool, size: int) -> Engine:
        engine = create_engine(
            url,
            pool_size=size,
            max_overflow=0,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        cls._sqlite_pragmas(engine, immediate=immediate)
        return engine

    # ---- the hottest paths: the driver's cursor, no SQLAlchemy in between ----------------

    def _sqlite_raw(self) -> sqlite3.Connection:
        """This thread's own sqlite3 connection (the event loop's for reads, the writer's
        thread, the checkpoint thread)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.url.split("///", 1)[1]
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            self._local.conn = conn
            self._raw_connections.append(conn)
        return conn

    def _run_before_commit(self, *_args: Any) -> None:
        for hook in list(self.before_commit):
            hook()

    def _sqlite_raw_tx(self, write: bool, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._sqlite_raw()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            out = fn(Raw.sqlite(conn), *args)
            if write:
                self._run_before_commit()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return out

    async def raw_read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(raw, *args)`` (``core.sql.Raw``) in a read transaction.

        On SQLite it runs right here, on a connection of the event loop's own: a read of
        a few indexed rows of a local WAL file takes 10-20 µs and never waits for a
        writer, while handing it to a thread costs over 100 µs of CPU (measured in
        docs/performance.md). On PostgreSQL it runs on the async engine."""
        if self.is_sqlite:
            return self._sqlite_raw_tx(False, fn, args)
        async with self.read_engine.connect() as conn:
            return await conn.run_sync(_with_raw, fn, args)

    async def raw_write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(raw, *args)`` in a write transaction (committed on return)."""
        if self._writer_thread is not None:
            loop = asyncio.get_running_loop()
            ctx = contextvars.copy_context()
            async with self.serialised():
                out = await loop.run_in_executor(
                    self._writer_thread, ctx.run, self._sqlite_raw_tx, True, fn, args
                )
            self.wrote()
            return out
        async with self.write_engine.begin() as conn:
            return await conn.run_sync(_with_raw, fn, args)

    async def single(self, fn: BatchFn, *args: Any, key: str = "") -> Any:
        """``fn(raw, *args) -> Batched`` whose write is one statement, atomic by itself
        (a conditional update), after reads that need no lock.

        On SQLite it is an item of the next group commit (writers take turns there, and
        many items share one commit). On PostgreSQL it runs without BEGIN and COMMIT
        (autocommit: each statement is its own transaction, durable when it returns) on
        one connection: a round trip per statement and none more. The ``before_commit``
        hooks run first (a refused commit: nothing runs)."""
        if self.is_sqlite:
            return await self.batch(fn, *args, key=key)
        self._run_before_commit()
        async with self.read_engine.connect() as conn:
            out: Batched = await conn.run_sync(_with_raw, fn, args)
        await self.committed(out.publishes, out.calls, background=True)
        return out.result

    # ---- SQLite checkpoints ------------------------------------------------------------

    CHECKPOINT_EVERY = 500

    def wrote(self) -> None:
        """A write transaction committed: every ``CHECKPOINT_EVERY`` commits the WAL is
        copied back into the database by a thread of its own (a PASSIVE checkpoint
        blocks neither readers nor writers; automatic checkpoints, which would stall
        the committing writer for their fsyncs, are off)."""
        if self._checkpoint_thread is None:
            return
        self._commits += 1
        if self._commits >= self.CHECKPOINT_EVERY and self._checkpointing is None:
            self._commits = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self, mode: str = "PASSIVE") -> None:
        assert self._checkpoint_thread is not None
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._checkpoint_thread, self._sqlite_checkpoint, mode
            )
        except Exception:
            log.warning("SQLite checkpoint failed", exc_info=True)
        finally:
            self._checkpointing = None

    def _sqlite_checkpoint(self, mode: str) -> None:
        conn = self._sqlite_raw()  # the checkpoint thread's own connection
        conn.execute(f"PRAGMA wal_checkpoint({mode})")

    # ---- hot paths: synchronous Core in one hop ----------------------------------------

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in a read-only transaction."""
        if self.sync_read is not None and self._reader_threads is not None:
            loop = asyncio.get_running_loop()
            ctx = contextvars.copy_context()  # request ids in logs, statement counters
            return await loop.run_in_executor(
                self._reader_threads, ctx.run, _sync_tx, self.sync_read, fn, args
            )
        async with self.read_engine.connect() as conn:
            return await conn.run_sync(fn, *args)

    async def settle(self) -> None:
        """Wait for the work queued after commits that runs in the background (pushes
        and the like): tests call it instead of sleeping."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def batch(self, fn: BatchFn, *args: Any, key: str = "") -> Any:
        """``fn(connection, *args) -> Batched`` as part of the next group commit."""
        return await self.group.submit(fn, *args, key=key)

    async def run_write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in a write transaction (committed on return)."""
        if self.sync_write is not None and self._writer_thread is not None:
            loop = asyncio.get_running_loop()
            ctx = contextvars.copy_context()
            async with self.serialised():
                return await loop.run_in_executor(
                    self._writer_thread, ctx.run, _sync_tx, self.sync_write, fn, args
                )
        async with self.write_engine.begin() as conn:
            return await conn.run_sync(fn, *args)

    def serialised(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held around every write transaction of this process (SQLite only)."""
        return self.write_lock if self.write_lock is not None else contextlib.nullcontext()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """The transaction of one operation: commits on success, rolls back on any
        exception; then sends what ``after_commit``/``call_after_commit`` queued."""
        async with self.serialised(), self._write() as session:
            async with session.begin():
                yield session
            publishes: list[tuple[str, str]] = session.info.pop(_PUBLISHES, [])
            calls: list[Callable[[], Awaitable[None]]] = session.info.pop(_CALLS, [])
        self.wrote()
        await self.committed(publishes, calls)

    async def committed(
        self,
        publishes: list[tuple[str, str]],
        calls: list[Callable[[], Awaitable[None]]] | None = None,
        *,
        background: bool = False,
    ) -> None:
        """Send the publishes (each distinct one once) and run the calls of a commit
        (with ``background``, as tasks of their own: a group commit waits for nobody)."""
        if publishes and self.publisher is not None:
            await self.publisher(list(dict.fromkeys(publishes)))
        for fn in calls or ():
            if background:
                self.background(fn)
            else:
                await _guarded(fn)

    def background(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` as a task of its own (errors logged); ``settle`` waits for it."""
        task = asyncio.create_task(_guarded(fn))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never commits)."""
        async with self._read() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.read() as s:
                await s.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self._checkpoint_thread is not None:
            if self._checkpointing is not None:
                with contextlib.suppress(Exception):
                    await self._checkpointing
            await self._checkpoint("TRUNCATE")  # leave a small WAL behind
        await self.write_engine.dispose()
        if self.is_sqlite:  # (on PostgreSQL the read engine shares the write engine's pool)
            await self.read_engine.dispose()
        for pool in (self._writer_thread, self._reader_threads, self._checkpoint_thread):
            if pool is not None:
                pool.shutdown(wait=True)
        for engine in (self.sync_write, self.sync_read):
            if engine is not None:
                engine.dispose()
        for conn in self._raw_connections:
            with contextlib.suppress(Exception):
                conn.close()
        self._raw_connections.clear()


async def _guarded(fn: Callable[[], Awaitable[None]]) -> None:
    try:
        await fn()
    except Exception:
        log.exception("work after a commit failed")


def _with_raw(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(Raw(conn), *args)


def _sync_tx(engine: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            out = fn(conn, *args)
            trans.commit()
        except BaseException:
            try:
                trans.rollback()
            except Exception:
                # the transaction is beyond repair (a failed COMMIT): drop the connection
                conn.invalidate()
            raise
        return out
