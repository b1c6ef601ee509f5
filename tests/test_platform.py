"""Health, OpenAPI, migrations matching the models, the CLI, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.core.settings import Settings
from tests.conftest import TenantInfo


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["redis"] in ("ok", "not configured")


async def test_openapi_documents_every_operation(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    for path in (
        "/configapi/v2/oauth/token",
        "/configapi/v2/user",
        "/configapi/v2/user/{username}",
        "/configapi/v2/user/lock/{username}",
        "/configapi/v2/team",
        "/configapi/v2/phone/user",
        "/configapi/v2/phone/ext",
        "/health",
    ):
        assert path in paths, path
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
    create = paths["/configapi/v2/user"]["post"]
    assert "loginId" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]


async def test_migrations_match_models(migrated: Settings) -> None:
    """The schema Alembic builds is exactly the ORM's (on SQLite and on PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from switchboard.core.db import Base
    from switchboard.core.registry import import_models

    import_models()
    engine = create_async_engine(migrated.database_url)

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, Base.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == []


def test_migrations_have_one_head() -> None:
    """Migrations form one line: a new revision always names the current head."""
    from alembic.script import ScriptDirectory

    from switchboard.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    assert len(script.get_heads()) == 1, script.get_heads()


async def test_secrets_never_logged_or_returned(
    client: httpx.AsyncClient, tenant: TenantInfo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="switchboard")
    r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form())
    token = r.json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    body = {
        "loginId": "secretive",
        "password": "Very-Secret-Pw-42",
        "firstName": "S",
        "lastName": "T",
        "team": "Support Team",
    }
    r = await client.post("/configapi/v2/user", json=body, headers=h)
    assert r.status_code == 200
    for _ in range(3):
        await client.post("/configapi/v2/oauth/token", data=tenant.token_form("agent2", "guess-x"))
    r2 = await client.get("/configapi/v2/user/secretive", headers=h)
    for text in (r.text, r2.text, caplog.text):
        assert "Very-Secret-Pw-42" not in text
        assert tenant.admin_secret not in text
        assert token not in caplog.text
        assert "$argon2" not in text


async def _cli(
    args: list[str], settings: Settings, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a thread: the in-process app's workers keep running meanwhile (a
    blocked event loop would keep their SQLite write transactions open)."""
    return await asyncio.to_thread(_cli_sync, args, settings, **extra)


def _cli_sync(
    args: list[str], settings: Settings, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
        SWITCHBOARD_LOG_LEVEL="WARNING",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-m", "switchboard.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_administration(migrated: Settings, client: httpx.AsyncClient) -> None:
    import secrets

    domain = f"cli{secrets.token_hex(4)}.example.test"
    r = await _cli(["migrate"], migrated)
    assert r.returncode == 0, r.stderr
    r = await _cli(["tenant", "create", domain, "--name", "CLI Co"], migrated)
    assert r.returncode == 0, r.stderr
    r = await _cli(["tenant", "create", domain], migrated)
    assert r.returncode == 1
    assert "already exists" in r.stderr
    r = await _cli(
        [
            "user",
            "create",
            "boss",
            "--tenant",
            domain,
            "--first-name",
            "Big",
            "--last-name",
            "Boss",
            "--team",
            "Admins",
            "--role",
            "System Administrator",
            "--skill",
            "Sales=80",
        ],
        migrated,
    )
    assert r.returncode == 0, r.stderr
    assert "password:" in r.stdout
    r = await _cli(
        [
            "user",
            "create",
            "x",
            "--tenant",
            domain,
            "--first-name",
            "a",
            "--last-name",
            "b",
            "--team",
            "T",
            "--role",
            "Nope",
        ],
        migrated,
    )
    assert r.returncode == 1
    assert "Role not found" in r.stderr
    r = await _cli(["apikey", "generate", "boss", "--tenant", domain], migrated)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert len(secret) == 64
    tok = await client.post(
        "/configapi/v2/oauth/token",
        data={
            "client_id": "boss",
            "client_secret": secret,
            "scope": domain,
            "grant_type": "client_credentials",
        },
    )
    assert tok.status_code == 200
    h = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    me = (await client.get("/configapi/v2/user/boss", headers=h)).json()
    assert me["roles"] == ["System Administrator"]
    assert me["skills"] == {"Sales": 80}
    assert me["team"] == "Admins"
    r = await _cli(["apikey", "generate", "boss", "--tenant", "missing.example.test"], migrated)
    assert r.returncode == 1
    r = await _cli(
        ["tenant", "set", domain, "timezone=Europe/Paris", "scim_allow_username_change=true"],
        migrated,
    )
    assert r.returncode == 0, r.stderr
    assert '"Europe/Paris"' in r.stdout and "scim_allow_username_change = true" in r.stdout
    r = await _cli(["tenant", "set", domain, "timezone=Mars/Olympus"], migrated)
    assert r.returncode == 1
    assert "Unknown time zone" in r.stderr


def test_demo_seed_on_empty_database(tmp_path: Path) -> None:
    """What `make run` does before serving: migrate and seed an empty SQLite database."""
    db = tmp_path / "demo.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", data_dir=tmp_path / "data")
    code = (
        "import asyncio,sys\n"
        "from switchboard.cli import run_with_runtime\n"
        "from switchboard.migrations import upgrade\n"
        "from switchboard.core.settings import get_settings\n"
        "from switchboard.tenants.demo import seed_demo\n"
        "upgrade(get_settings())\n"
        "c = run_with_runtime(seed_demo)\n"
        "print(c.tenant, c.admin_secret, c.password, ','.join(c.users))\n"
        "print(run_with_runtime(seed_demo))\n"
    )
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_DEMO_ADMIN_SECRET="fixed-admin-secret-for-test",
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().splitlines()[-2:]
    tenant, secret, password, users = first.split()
    assert tenant == "example.com"
    assert secret == "fixed-admin-secret-for-test"
    assert len(password) >= 8
    assert users.split(",") == ["admin", "agent1", "agent2", "agent3", "supervisor1"]
    assert second == "None"  # seeding happens only on an empty database
    saved = tmp_path / "data" / "demo-credentials.json"
    assert saved.exists() and oct(saved.stat().st_mode)[-3:] == "600"


async def test_wrong_method_answers_in_each_apis_format(client: httpx.AsyncClient) -> None:
    r = await client.delete("/configapi/v2/team")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "GET" in r.headers.get("allow", "")
    r = await client.delete("/clientweb/api/v2/availability")
    assert r.status_code == 405
    assert "error_code" in r.json()
