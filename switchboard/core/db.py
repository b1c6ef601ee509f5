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
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

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
    return datetime.now(UTC)


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


class Database:
    """Engines and session factories; ``read()`` and ``write()`` open short transactions."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = self._sqlite_engine(url, immediate=True, echo=echo)
            self.read_engine = self._sqlite_engine(url, immediate=False, echo=echo)
        else:
            kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
            if pool_size <= 0:
                kwargs["poolclass"] = NullPool
            else:
                kwargs["pool_size"] = pool_size
                kwargs["max_overflow"] = pool_size * 2
            self.write_engine = create_async_engine(url, **kwargs)
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite: one writer at a time; this process's writers queue here, not in
        # SQLite's sleeping busy handler
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # set by the runtime: sends the publishes queued by ``after_commit``
        self.publisher: Publisher | None = None

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, echo: bool) -> AsyncEngine:
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

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
        await self.committed(publishes, calls)

    async def committed(
        self,
        publishes: list[tuple[str, str]],
        calls: list[Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        """Send the publishes (each distinct one once) and run the calls of a commit."""
        if publishes and self.publisher is not None:
            await self.publisher(list(dict.fromkeys(publishes)))
        for fn in calls or ():
            try:
                await fn()
            except Exception:
                log.exception("work after a commit failed")

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
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
