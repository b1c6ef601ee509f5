"""Bulk inserts that skip rows violating a unique constraint, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    bind = session.bind
    return str(bind.dialect.name) if bind is not None else "sqlite"


async def fast_insert(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    chunk: int = 20000,
) -> int:
    """Insert many rows below the ORM (bulk loads of calling lists and DNC lists).

    ``rows`` are tuples in ``columns`` order with Python values; column types' bind
    processors still apply (JSON is serialised; a value shared by every row, such as a
    timestamp, is processed once). SQLite: ``executemany``; PostgreSQL: one ``INSERT ...
    SELECT FROM unnest(arrays)`` per chunk. Returns the number of rows inserted (rows
    skipped by ``ignore_conflicts`` are not counted)."""
    if not rows:
        return 0
    conn = await session.connection()
    dialect = conn.dialect
    cols = [table.c[name] for name in columns]
    procs = [c.type._cached_bind_processor(dialect) for c in cols]
    if any(p is not None for p in procs):
        memo: list[tuple[Any, Any]] = [(object(), None) for _ in cols]

        def convert(row: Sequence[Any]) -> tuple[Any, ...]:
            out = list(row)
            for i, proc in enumerate(procs):
                if proc is None:
                    continue
                value = out[i]
                last_in, last_out = memo[i]
                if value is last_in:
                    out[i] = last_out
                else:
                    out[i] = proc(value)
                    memo[i] = (value, out[i])
            return tuple(out)

    else:

        def convert(row: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(row)

    names = ", ".join(f'"{c.name}"' for c in cols)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    added = 0
    if dialect.name == "postgresql":
        arrays = ", ".join(f"${i + 1}::{c.type.compile(dialect)}[]" for i, c in enumerate(cols))
        # names come from our models; every value is a bound parameter. Counting the rows
        # that ON CONFLICT kept costs a RETURNING; without conflicts every row is inserted.
        insert = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays})'  # noqa: S608
        sql = f"WITH ins AS ({insert}{conflict} RETURNING 1) SELECT count(*) FROM ins"  # noqa: S608
        for start in range(0, len(rows), chunk):
            converted = [convert(r) for r in rows[start : start + chunk]]
            params = tuple(list(col) for col in zip(*converted, strict=True))
            if ignore_conflicts:
                added += int((await conn.exec_driver_sql(sql, params)).scalar_one())
            else:
                await conn.exec_driver_sql(insert, params)
                added += len(converted)
        return added
    marks = ", ".join("?" for _ in cols)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflict}'  # noqa: S608
    for start in range(0, len(rows), chunk):
        converted = [convert(r) for r in rows[start : start + chunk]]
        result = await conn.exec_driver_sql(sql, converted)
        added += int(result.rowcount)
    return added
