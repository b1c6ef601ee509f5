"""Logging set-up. Driver loggers that print SQL parameters (and so password hashes)
are kept at WARNING whatever the configured level."""

from __future__ import annotations

import logging

QUIET = (
    "aiosqlite",
    "sqlalchemy.engine",
    "asyncpg",
    "httpcore",
    "multipart",
    "alembic.runtime.plugins",
)


def configure(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
