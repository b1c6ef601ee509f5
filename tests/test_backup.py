"""`switchboard backup` while the server runs, `switchboard restore` into a fresh
database and data directory, and a fresh server there finds the chats, the calling lists
and the recordings (audio files included) again; what the restore refuses."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from switchboard.recordings import actions as rec_actions
from tests.conftest import BACKEND, LiveServer, TenantInfo, _pg_exec
from tests.test_agent_support import mobile_headers
from tests.test_recordings_api import answered_call

API = "/configapi/v2"
MSG = "/clientweb/api/v2"


def cli(args: list[str], database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=database_url,
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_LOG_LEVEL="WARNING",
    )
    return subprocess.run(
        [sys.executable, "-m", "switchboard.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def fresh_database(tmp_path: Path, migrated: Settings) -> str:
    if BACKEND != "postgres":
        return f"sqlite+aiosqlite:///{tmp_path}/restored.db"
    name = f"sb_restore_{secrets.token_hex(4)}"
    await _pg_exec(migrated.database_url, f'CREATE DATABASE "{name}"')
    return migrated.database_url.rsplit("/", 1)[0] + "/" + name


async def test_backup_and_restore_into_a_fresh_server(
    rt: Runtime,
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    migrated: Settings,
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # a chat, a calling list with records, and a call recording (audio in the data dir)
    r = await client.post(
        MSG + "/chats",
        params={"tenantUrl": tenant.domain},
        json={"parameters": {"FIRST_NAME": "Bea"}, "initial_message": {
            "event": "chat_session_message", "msg": "Please keep me"}},
        headers=mobile_headers("backup-customer"),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    chat_id = r.json()["chat_id"]
    call = await answered_call(client, rt, tenant, admin_headers, monkeypatch, talk_seconds=0.3)
    await rec_actions.record_finished(rt)
    q = {"giid": call["globalInteractionID"], "stepid": call["attemptId"]}
    r = await client.get(f"{API}/recordings/audio", params=q, headers=admin_headers)
    assert r.status_code == 200, r.text
    audio = r.content
    assert len(audio) > 100

    # the backup is taken while this test's server keeps running
    archive = tmp_path / "backup.tar.gz"
    done = await asyncio.to_thread(
        cli, ["backup", str(archive)], migrated.database_url, migrated.data_dir
    )
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout
    assert oct(archive.stat().st_mode)[-3:] == "600"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert any(n.startswith("data/recordings") or n.startswith("data/") for n in names)

    # restore into a fresh database and data directory
    url = await fresh_database(tmp_path, migrated)
    data_dir = tmp_path / "restored-data"
    done = await asyncio.to_thread(cli, ["restore", str(archive)], url, data_dir)
    assert done.returncode == 0, done.stderr
    # restoring over a database with tenants needs --force
    done = await asyncio.to_thread(cli, ["restore", str(archive)], url, data_dir)
    assert done.returncode == 1 and "--force" in done.stderr
    done = await asyncio.to_thread(cli, ["restore", "--force", str(archive)], url, data_dir)
    assert done.returncode == 0, done.stderr

    server = live_server_factory(
        database_url=url, data_dir=str(data_dir), run_background_workers="false"
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as fresh:
        r = await fresh.post(f"{API}/oauth/token", data=tenant.token_form())
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await fresh.get(
            f"{MSG}/chats/{chat_id}/history",
            params={"tenantUrl": tenant.domain},
            headers=mobile_headers("backup-customer"),
        )
        assert r.status_code == 200, r.text
        assert "Please keep me" in r.text
        r = await fresh.get(f"{API}/callinglist/rec.csv", headers=h)
        assert r.status_code == 200 and r.json()["size"] == 1, r.text
        r = await fresh.get(f"{API}/recordings/audio", params=q, headers=h)
        assert r.status_code == 200, r.text
        assert r.content == audio
    server.process.terminate()
    server.process.wait(timeout=30)
    if BACKEND == "postgres":
        name = url.rsplit("/", 1)[1]
        await _pg_exec(migrated.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_restore_refuses_what_is_not_a_backup(migrated: Settings, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.tar.gz"
    bogus.write_bytes(b"not a tar file at all")
    done = cli(["restore", str(bogus)], f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path / "d")
    assert done.returncode == 1 and "not a Switchboard backup" in done.stderr
    done = cli(["restore", str(tmp_path / "missing.tar.gz")], migrated.database_url, tmp_path)
    assert done.returncode == 1 and "No such backup" in done.stderr
    # a backup of the other backend
    other = tmp_path / "other.tar.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        '{"format": 1, "backend": "%s"}' % ("sqlite" if BACKEND == "postgres" else "postgresql")
    )
    with tarfile.open(other, "w:gz") as tar:
        tar.add(manifest, arcname="manifest.json")
    done = cli(["restore", str(other)], migrated.database_url, tmp_path / "d2")
    assert done.returncode == 1 and "this server uses" in done.stderr
