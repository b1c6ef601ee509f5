"""Alembic migrations (run with ``switchboard migrate``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from switchboard.core.settings import Settings


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "switchboard:migrations")
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


def upgrade(settings: Settings) -> None:
    """Apply every migration to the configured database."""
    if settings.is_sqlite:
        from pathlib import Path

        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), "head")
