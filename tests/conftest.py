"""Test harness: a real database (SQLite, or PostgreSQL + Redis when configured), the app
served in-process through httpx, a live uvicorn server when a test needs real sockets or
several worker processes, and a fresh demo-like tenant per test (tenants are isolated, so
tests never see each other's data).

Backends: ``SWITCHBOARD_TEST_BACKEND=postgres`` uses ``SWITCHBOARD_TEST_DATABASE_URL``
(a throw-away database is created on that server for the run) and
``SWITCHBOARD_TEST_REDIS_URL``; anything else uses a temporary SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from switchboard.app import create_app
from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from switchboard.tenants.demo import DemoCredentials, create_demo_tenant

BACKEND = os.environ.get("SWITCHBOARD_TEST_BACKEND", "sqlite")
# How long a browser test waits for an offer on a live server's desktop. On SQLite the
# live server and this process share the database but not a bus: when this process's
# routing pass (it serves every tenant) makes the offer, the server's agent channel
# learns of it at its next re-read (the heartbeat, 25 s), or when the offer times out
# (20 s) and goes to the agent again. With Redis the offer wakes it at once.
OFFER_WAIT_MS = 60_000
PASSWORD = "Demo-pass-123"


def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_exec(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="switchboard-test-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def database_url(tmp_root: Path) -> Iterator[str]:
    if BACKEND != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_root}/test.db"
        return
    base = os.environ["SWITCHBOARD_TEST_DATABASE_URL"]
    name = f"sb_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg_exec(base, f'CREATE DATABASE "{name}"'))
    head, _, _ = base.rpartition("/")
    yield f"{head}/{name}"
    asyncio.run(_pg_exec(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def base_settings(database_url: str, tmp_root: Path) -> Settings:
    redis_url = os.environ.get("SWITCHBOARD_TEST_REDIS_URL") if BACKEND == "postgres" else None
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        bus_prefix=f"sbtest-{secrets.token_hex(4)}",
        data_dir=tmp_root / "data",
        long_poll_seconds=1.0,
        lockout_threshold=3,
        # the tests fire chat timers themselves, after moving the engine's clock
        workers_disabled=["chats"],
        # cheap hashing keeps per-test tenants fast; production keeps argon2's defaults
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        # the tests' photo and callback servers listen on 127.0.0.1 (issue 12: outbound
        # fetches reach no internal address unless allowed)
        fetch_allow_networks=["127.0.0.1/32"],
    )


@pytest.fixture(autouse=True)
def engine_clock() -> Iterator[None]:
    """Every test starts on real time: a test that moved the engine's clock would
    otherwise leave this process ahead of the live servers the next tests start."""
    from switchboard.core import clock

    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def migrated(base_settings: Settings) -> Settings:
    from switchboard.migrations import upgrade

    upgrade(base_settings)
    return base_settings


@pytest.fixture(scope="session")
async def rt(migrated: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(migrated)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture(scope="session")
async def app(rt: Runtime) -> AsyncIterator[FastAPI]:
    application = create_app(runtime=rt)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class TenantInfo:
    domain: str
    tenant_id: str
    admin_secret: str
    password: str

    def token_form(self, login: str = "admin", secret: str | None = None) -> dict[str, str]:
        return {
            "client_id": login,
            "client_secret": secret or self.admin_secret,
            "scope": self.domain,
            "grant_type": "client_credentials",
        }


async def new_tenant(rt: Runtime) -> TenantInfo:
    domain = f"t{secrets.token_hex(5)}.example.test"
    secret = "S" + secrets.token_hex(20)
    creds: DemoCredentials = await create_demo_tenant(
        rt, domain=domain, admin_secret=secret, password=PASSWORD
    )
    return TenantInfo(
        domain=domain, tenant_id=creds.tenant_id, admin_secret=secret, password=PASSWORD
    )


@pytest.fixture
async def tenant(rt: Runtime) -> TenantInfo:
    return await new_tenant(rt)


@pytest.fixture
async def other_tenant(rt: Runtime) -> TenantInfo:
    return await new_tenant(rt)


async def get_token(client: httpx.AsyncClient, t: TenantInfo, login: str = "admin") -> str:
    r = await client.post("/configapi/v2/oauth/token", data=t.token_form(login))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient, tenant: TenantInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {await get_token(client, tenant)}"}


# ---- live servers (real sockets; optionally several worker processes) --------------
# Servers live until the end of the test module that started them: their background
# workers share the database with the in-process app and must not do later modules' work.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a server and whatever it started (uvicorn's workers outlive a killed master)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path = Path("/nonexistent")


@pytest.fixture(scope="module")
def live_server_factory(migrated: Settings, tmp_root: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(workers: int = 1, **env_overrides: Any) -> LiveServer:
        port = free_port()
        env = dict(os.environ)
        env.update(
            SWITCHBOARD_DATABASE_URL=migrated.database_url,
            SWITCHBOARD_DATA_DIR=str(migrated.data_dir),
            SWITCHBOARD_BUS_PREFIX=migrated.bus_prefix,
            SWITCHBOARD_LONG_POLL_SECONDS=str(migrated.long_poll_seconds),
            SWITCHBOARD_LOCKOUT_THRESHOLD=str(migrated.lockout_threshold),
            SWITCHBOARD_ARGON2_TIME_COST="1",
            SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
            SWITCHBOARD_FETCH_ALLOW_NETWORKS='["127.0.0.1/32"]',
            SWITCHBOARD_LOG_LEVEL="WARNING",
        )
        if migrated.redis_url:
            env["SWITCHBOARD_REDIS_URL"] = migrated.redis_url
        else:
            env.pop("SWITCHBOARD_REDIS_URL", None)
        env.update({f"SWITCHBOARD_{k.upper()}": str(v) for k, v in env_overrides.items()})
        log = open(tmp_root / f"server-{port}.log", "wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "switchboard.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--timeout-graceful-shutdown",
                "2",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # its own process group: workers are stopped with their master, even killed
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((tmp_root / f"server-{port}.log").read_text())
            time.sleep(0.2)
        else:
            kill_group(proc)
            raise RuntimeError("live server did not start")
        server = LiveServer(url, proc, tmp_root / f"server-{port}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        # what went wrong inside a server (a worker restarted, an unhandled error) shows
        # in the test's output instead of vanishing with the temporary directory
        text = server.log.read_text(errors="replace") if server.log.exists() else ""
        if any(mark in text for mark in ("Traceback", "Child process", "died")):
            sys.stderr.write(f"\n--- {server.base_url} server log ---\n{text[-6000:]}\n")
        server.process.terminate()
    for server in started:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_group(server.process)
