"""Plain SQL on the driver's cursor, for the few statements of the hot path.

Building a SQLAlchemy Core statement and executing it costs about 200-250 µs of CPU
per statement here; the same statement on the DB-API cursor costs about 5 µs on
SQLite (measured in ``docs/performance.md``). The hot path (appending chat events,
delivering them to polls and agents) runs on ``Raw``: the DB-API cursor of the
SQLAlchemy ``Connection`` it was given, inside the same transaction.

SQL is written once with ``?`` placeholders and converted for PostgreSQL's driver
(``$1``...). Values cross as the column types store them: timestamps as naive UTC text
on SQLite (SQLAlchemy's own format), aware datetimes on PostgreSQL; JSON as text in,
decoded out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``?`` placeholders -> ``$1, $2...`` (PostgreSQL's driver)."""
    out = []
    n = 0
    for part in sql.split("?"):
        out.append(part)
        n += 1
        out.append(f"${n}")
    return "".join(out[:-1])


class Raw:
    """The DB-API cursor of a SQLAlchemy connection (in its transaction)."""

    __slots__ = ("cursor", "pg")

    def __init__(self, conn: Connection | None = None, *, cursor: Any = None) -> None:
        if conn is not None:
            self.pg = conn.dialect.name == "postgresql"
            self.cursor: Any = conn.connection.cursor()
        else:
            self.pg = False
            self.cursor = cursor

    @classmethod
    def sqlite(cls, conn: Any) -> Raw:
        """On a sqlite3 connection of our own (``Database.raw_read``/``raw_write``)."""
        return cls(cursor=conn.cursor())

    def sql(self, text: str) -> str:
        return _numbered(text) if self.pg else text

    def execute(self, text: str, params: tuple[Any, ...] = ()) -> Any:
        self.cursor.execute(self.sql(text), params)
        return self.cursor

    def one(self, text: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        self.cursor.execute(self.sql(text), params)
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def all(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self.sql(text), params)
        return list(self.cursor.fetchall())

    def many(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        self.cursor.executemany(self.sql(text), rows)

    def rowcount(self, text: str, params: tuple[Any, ...] = ()) -> int:
        self.cursor.execute(self.sql(text), params)
        return int(self.cursor.rowcount)

    def for_update(self, of: str = "") -> str:
        """Row locks where they exist (SQLite serialises writers): ``of`` names the
        table (alias) whose rows are locked when the statement joins others."""
        if not self.pg:
            return ""
        return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"

    # ---- values ------------------------------------------------------------------------

    def ts(self, value: datetime | None) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value if self.pg else value.replace(tzinfo=None).strftime(_SQLITE_FORMAT)

    @staticmethod
    def ts_out(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def json_in(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    @staticmethod
    def json_out(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def bool_in(self, value: bool) -> Any:
        return value if self.pg else int(value)
