"""Bulk inserts that skip rows violating a unique constraint, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    bind = session.bind
    return str(bind.dialect.name) if bind is not None else "sqlite"


async def insert_ignore(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    count: bool = True,
    chunk: int = 5000,
) -> int:
    """Insert ``rows``, skipping duplicates; returns how many were inserted (if ``count``)."""
    if not rows:
        return 0
    if dialect_name(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing()
    pk = next(iter(table.primary_key.columns))
    added = 0
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if count:
            res = await session.execute(stmt.returning(pk), list(part))
            added += len(res.all())
        else:
            await session.execute(stmt, list(part))
            added += len(part)
    return added
