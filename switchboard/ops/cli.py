"""``switchboard backup`` and ``switchboard restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from switchboard.cli_common import console, err_console
from switchboard.core.errors import DomainError
from switchboard.core.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)


def backup_cmd(
    dest: Annotated[
        Path, typer.Argument(help="Archive to write (.tar.gz), or a directory for a dated one")
    ] = Path("./var/backups"),
) -> None:
    """Back up the database and the data directory (files, recordings) while serving."""
    from switchboard.ops.backup import backup

    if not dest.suffix and not dest.exists():
        dest.mkdir(parents=True)
    try:
        result = backup(get_settings(), dest)
    except DomainError as e:
        err_console.print(f"[red]error:[/red] {e.message}", soft_wrap=True)
        raise typer.Exit(1) from e
    console.print(
        f"backup written: {result.path} ({result.backend}, database "
        f"{result.database_bytes:,} bytes, {result.files} data files)",
        soft_wrap=True,
    )


def restore_cmd(
    archive: Annotated[Path, typer.Argument(help="A backup archive (.tar.gz)")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tenants")
    ] = False,
) -> None:
    """Restore a backup into the configured database and data directory (stop the
    servers first), then migrate it to this version."""
    from switchboard.ops.backup import restore

    try:
        manifest = restore(get_settings(), archive, force=force)
    except DomainError as e:
        err_console.print(f"[red]error:[/red] {e.message}", soft_wrap=True)
        raise typer.Exit(1) from e
    console.print(
        f"restored {archive} (taken {manifest.get('created_at')}, version "
        f"{manifest.get('version')}); the database is migrated to this version",
        soft_wrap=True,
    )
