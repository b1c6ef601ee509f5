"""Shared pieces of the benchmarks: a scratch database and tenant, the server under test
in a subprocess, a minimal keep-alive HTTP/1.1 client cheap enough for 10,000
connections, CPU and RSS readings of the server, percentiles.

Every benchmark that measures a server runs a baseline on the same uvicorn settings and
the same load generator in the same run, and reports ratios: the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PASSWORD = "Bench-pass-123"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- HTTP ---------------------------------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection; requests on it are sequential."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        reused = self.writer is not None
        try:
            return await self._request(method, path, headers or {}, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            if not reused or method != "GET":
                # a write may have been done before the connection broke: sending it
                # again would make a second message (the caller counts an error)
                raise
            # the server closed an idle keep-alive connection: once more on a new one
            return await self._request(method, path, headers or {}, body)

    async def json(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        data = b""
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        status, _, raw = await self.request(method, path, hdrs, data)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        out: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                out[k.strip().lower()] = v.strip()
        length = int(out.get("content-length", "0"))
        data = await self.reader.readexactly(length) if length else b""
        return status, out, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.reader = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def redis_reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# ---- processes ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    return out


def tree(pid: int) -> list[int]:
    """The process and its children (uvicorn's workers)."""
    return [pid, *_children(pid)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and its children, in seconds."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    name: str, app: str, *, workers: int = 1, env: dict[str, str] | None = None
) -> Server:
    """``uvicorn <app>`` with the settings every benchmarked server shares."""
    port = free_port()
    full_env = dict(os.environ)
    full_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backlog",
        "4096",
        "--timeout-graceful-shutdown",
        "1",
        "--timeout-keep-alive",
        "120",
        "--log-level",
        "warning",
        "--no-access-log",
        # as `switchboard serve` runs it (setting ws_compression)
        "--ws-per-message-deflate",
        "false",
    ]
    if app.endswith("()"):
        cmd[3] = app[:-2]
        cmd.insert(4, "--factory")
    # the server's own output (warnings, the tasks cancelled at shutdown) goes to a file,
    # not into the figures
    log = Path(tempfile.gettempdir()) / f"bench-{name}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, port, proc)


async def wait_ready(server: Server, path: str = "/health", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = Conn("127.0.0.1", server.port)
        try:
            status, _, _ = await conn.request("GET", path)
            if status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if server.process.poll() is not None:
            log = Path(tempfile.gettempdir()) / f"bench-{server.name}-{server.port}.log"
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}\n{tail}")
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start")


# ---- the Switchboard under test -----------------------------------------------------------


@dataclass
class Scratch:
    settings: Any
    workdir: Path
    env: dict[str, str]


def scratch(database_url: str | None, redis_url: str | None, **overrides: Any) -> Scratch:
    """Settings for a scratch database (SQLite in a temporary folder by default),
    migrated, and the server environment that points at it."""
    from switchboard.core.registry import import_models
    from switchboard.core.settings import Settings
    from switchboard.migrations import upgrade

    import_models()
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    url = database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    if url.startswith("postgresql") and database_url:
        url = _fresh_pg_database(url)
    settings = Settings(
        database_url=url,
        redis_url=redis_url,
        bus_prefix=f"sbbench-{secrets.token_hex(3)}",
        data_dir=workdir / "data",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        **overrides,
    )
    upgrade(settings)
    env = {
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_DATA_DIR": str(workdir / "data"),
        "SWITCHBOARD_BUS_PREFIX": settings.bus_prefix,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_ARGON2_TIME_COST": "1",
        "SWITCHBOARD_ARGON2_MEMORY_KIB": "1024",
    }
    for key, value in overrides.items():
        env[f"SWITCHBOARD_{key.upper()}"] = str(value)
    if redis_url:
        env["SWITCHBOARD_REDIS_URL"] = redis_url
    return Scratch(settings, workdir, env)


def _fresh_pg_database(url: str) -> str:
    """A new empty database on the server of ``url`` (dropped by nobody: scratch)."""
    import asyncpg

    name = f"sb_bench_{secrets.token_hex(4)}"

    async def create() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def demo_tenant(settings: Any) -> tuple[str, str, str]:
    """A demo-like tenant: (domain, tenant id, admin API secret)."""
    from switchboard.core.runtime import Runtime
    from switchboard.tenants.demo import create_demo_tenant

    rt = Runtime.create(settings)
    await rt.start()
    try:
        domain = f"bench{secrets.token_hex(4)}.example.test"
        secret = "S" + secrets.token_hex(20)
        creds = await create_demo_tenant(rt, domain=domain, admin_secret=secret, password=PASSWORD)
        return domain, creds.tenant_id, secret
    finally:
        await rt.stop()


async def set_team_capacity(settings: Any, tenant_id: str, team: str, capacity: int) -> None:
    from sqlalchemy import update

    from switchboard.core.runtime import Runtime
    from switchboard.teams.models import Team

    rt = Runtime.create(settings)
    try:
        async with rt.db.write() as s:
            await s.execute(
                update(Team)
                .where(Team.tenant_id == tenant_id, Team.name == team)
                .values(default_chat_capacity=capacity)
            )
    finally:
        await rt.stop()


# ---- figures ------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return list(await asyncio.gather(*(one(c) for c in coros)))


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    print(f"-- {title}")
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(f"{k:>{widths[k]}}" for k in keys))
    for r in rows:
        print("  ".join(f"{r.get(k, '')!s:>{widths[k]}}" for k in keys))
    sys.stdout.flush()


def use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
