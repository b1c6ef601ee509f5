"""Backups and restores: the database (SQLite's online backup API, or ``pg_dump`` /
``pg_restore`` for PostgreSQL) and the data directory (uploaded files, recordings), in
one ``.tar.gz`` with a manifest. See docs/operations.md.

A backup is taken while the server runs (SQLite's backup API copies a consistent
snapshot; ``pg_dump`` reads one transaction). A restore replaces the database and the
data directory: stop every server process first, then run ``switchboard migrate`` (the
restore does it) so an older backup is brought up to this version's schema.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchboard import __version__
from switchboard.core.errors import Conflict, Invalid
from switchboard.core.settings import Settings

MANIFEST = "manifest.json"
SQLITE_NAME = "database.sqlite"
PG_NAME = "database.pgdump"
DATA = "data"


@dataclass
class BackupResult:
    path: Path
    backend: str
    files: int
    database_bytes: int


def sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise Invalid("An in-memory SQLite database cannot be backed up")
    return Path(path)


def pg_url(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as e:
        raise Invalid(f"{args[0]} is not installed (PostgreSQL client tools are needed)") from e
    if done.returncode != 0:
        raise Invalid(f"{args[0]} failed: {done.stderr.strip()[:2000]}")


def _current_revision(settings: Settings) -> str | None:
    if not settings.is_sqlite:
        return None
    try:
        with sqlite3.connect(sqlite_path(settings.database_url)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            return str(row[0]) if row else None
    except sqlite3.Error:
        return None


def backup(settings: Settings, dest: Path) -> BackupResult:
    """Write a backup archive to ``dest`` (a ``.tar.gz``; a directory gets a dated name)."""
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = dest / f"switchboard-backup-{stamp}.tar.gz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="switchboard-backup-") as tmp:
        work = Path(tmp)
        if settings.is_sqlite:
            src_path = sqlite_path(settings.database_url)
            if not src_path.exists():
                raise Invalid(f"No database at {src_path}")
            db_file = work / SQLITE_NAME
            src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
            try:
                out = sqlite3.connect(db_file)
                with out:
                    src.backup(out)  # consistent even while the server writes
                out.close()
            finally:
                src.close()
            backend = "sqlite"
        else:
            db_file = work / PG_NAME
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "-f",
                    str(db_file),
                    pg_url(settings.database_url),
                ]
            )
            backend = "postgresql"
        data_dir = Path(settings.data_dir)
        files = 0
        if data_dir.exists():
            shutil.copytree(data_dir, work / DATA, symlinks=False, dirs_exist_ok=True)
            files = sum(1 for p in (work / DATA).rglob("*") if p.is_file())
        manifest: dict[str, Any] = {
            "format": 1,
            "version": __version__,
            "backend": backend,
            "created_at": datetime.now(UTC).isoformat(),
            "alembic_revision": _current_revision(settings),
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for item in sorted(work.iterdir()):
                tar.add(item, arcname=item.name)
        os.chmod(partial, 0o600)  # the database holds password hashes
        partial.replace(dest)
        return BackupResult(dest, backend, files, db_file.stat().st_size)


def read_manifest(archive: Path) -> dict[str, Any]:
    if not archive.is_file():
        raise Invalid(f"No such backup: {archive}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise Invalid(f"{archive} is not a Switchboard backup (no manifest)")
            data: dict[str, Any] = json.loads(member.read())
            return data
    except (tarfile.TarError, KeyError, OSError, ValueError) as e:
        raise Invalid(f"{archive} is not a Switchboard backup ({type(e).__name__})") from e


def _has_tenants_sqlite(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path) as conn:
            return bool(conn.execute("SELECT count(*) FROM tenants").fetchone()[0] > 0)
    except sqlite3.Error:
        return False


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Replace the database and the data directory with the backup's, then migrate.
    Refuses (Conflict) a database that already holds tenants unless ``force``."""
    manifest = read_manifest(archive)
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest.get("backend") != backend:
        raise Invalid(
            f"The backup is of a {manifest.get('backend')} database; this server uses {backend} "
            "(move data between backends with a fresh migration and the APIs)"
        )
    with tempfile.TemporaryDirectory(prefix="switchboard-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")
        if backend == "sqlite":
            target = sqlite_path(settings.database_url)
            if _has_tenants_sqlite(target) and not force:
                raise Conflict(
                    f"{target} already holds tenants: stop the server and use --force to replace it"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            staged = target.with_name(target.name + ".restoring")
            shutil.copyfile(work / SQLITE_NAME, staged)
            staged.replace(target)
        else:
            if not force and _pg_has_tenants(settings):
                raise Conflict(
                    "The database already holds tenants: stop the servers and use --force "
                    "to replace it"
                )
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "-d",
                    pg_url(settings.database_url),
                    str(work / PG_NAME),
                ]
            )
        data_dir = Path(settings.data_dir)
        if (work / DATA).exists():
            if data_dir.exists():
                old = data_dir.with_name(data_dir.name + ".before-restore")
                if old.exists():
                    shutil.rmtree(old)
                data_dir.rename(old)
            shutil.copytree(work / DATA, data_dir)
    from switchboard.migrations import upgrade

    upgrade(settings)
    return manifest


def _pg_has_tenants(settings: Settings) -> bool:
    done = subprocess.run(  # noqa: S603
        ["psql", "-tA", "-c", "SELECT count(*) FROM tenants", pg_url(settings.database_url)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() not in ("", "0")
