"""The deployment recipe: the compose file, the systemd units, and the documented nginx
configuration in front of 2 workers on PostgreSQL + Redis running a chat (Messaging API
customer + agent API, long polls and a WebSocket through the TLS proxy); graceful
shutdown lets a held poll answer."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from switchboard.core.settings import Settings
from tests.conftest import BACKEND, LiveServer, TenantInfo, free_port
from tests.test_agent_support import auth, cursor_of, mobile_headers, next_frame

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
MSG = "/clientweb/api/v2"
AGENT = "/agentapi/v1"


def test_compose_file() -> None:
    spec = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = spec["services"]
    assert {"postgres", "redis", "migrate", "switchboard", "nginx"} <= set(services)
    app = services["switchboard"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert app["stop_grace_period"] == "30s"
    env = app["environment"]
    known = {f"SWITCHBOARD_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    assert env["SWITCHBOARD_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["SWITCHBOARD_REDIS_URL"].startswith("redis://")
    assert int(env["SWITCHBOARD_GRACEFUL_SHUTDOWN_SECONDS"]) < 30
    for volume in services["nginx"]["volumes"]:
        src = volume.split(":")[0]
        assert (DEPLOY / src).exists() or src == "./certs", src
    assert set(spec["volumes"]) == {"pgdata", "data"}
    # the compose proxy configuration is the documented one with the upstream renamed
    documented = (DEPLOY / "nginx/switchboard.conf").read_text().splitlines()
    compose = (DEPLOY / "nginx/compose.conf").read_text().splitlines()
    differ = [(a, b) for a, b in zip(documented, compose, strict=True) if a != b]
    assert len(differ) == 2 and "switchboard:8080" in differ[1][1]
    docker = shutil.which("docker")
    has_compose = (
        docker is not None
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    )
    if has_compose:
        assert docker is not None
        r = subprocess.run(
            [docker, "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr


def test_systemd_units() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(DEPLOY / "systemd/switchboard.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("switchboard serve")
    assert service["ExecStartPre"].endswith("switchboard migrate")
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > Settings().graceful_shutdown_seconds
    assert Settings().graceful_shutdown_seconds > Settings().long_poll_seconds
    backup = configparser.ConfigParser(strict=False, interpolation=None)
    backup.read(DEPLOY / "systemd/switchboard-backup.service")
    assert "switchboard backup" in backup["Service"]["ExecStart"]
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(DEPLOY / "systemd/switchboard-backup.timer")
    assert timer["Timer"]["OnCalendar"]
    env_keys = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (DEPLOY / "switchboard.env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").startswith("SWITCHBOARD_")
    }
    known = {f"SWITCHBOARD_{name.upper()}" for name in Settings.model_fields}
    assert env_keys and env_keys <= known, env_keys - known


# ---- nginx in front of 2 workers --------------------------------------------------------


@pytest.fixture
def tls_proxy(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start nginx with deploy/nginx/switchboard.conf (ports, upstream and paths
    substituted) in front of a server; yields start(upstream "host:port") -> https URL."""
    assert NGINX is not None
    procs: list[subprocess.Popen[bytes]] = []

    def start(upstream: str) -> str:
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=switchboard.example.com", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        http_port, https_port = free_port(), free_port()
        conf = (DEPLOY / "nginx/switchboard.conf").read_text()
        replacements = {
            "server 127.0.0.1:8080 ": f"server {upstream} ",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "/etc/ssl/switchboard/fullchain.pem": str(cert),
            "/etc/ssl/switchboard/privkey.pem": str(key),
            "/var/log/nginx/switchboard.access.log": str(tmp_path / "access.log"),
        }
        for old, new in replacements.items():
            assert old in conf, old
            conf = conf.replace(old, new)
        conf = "\n".join(line for line in conf.splitlines() if "listen [::]" not in line)
        (tmp_path / "switchboard.conf").write_text(conf)
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / d).mkdir(exist_ok=True)
        (tmp_path / "nginx.conf").write_text(
            f"""daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {tmp_path}/body;
  proxy_temp_path {tmp_path}/proxy;
  fastcgi_temp_path {tmp_path}/fastcgi;
  uwsgi_temp_path {tmp_path}/uwsgi;
  scgi_temp_path {tmp_path}/scgi;
  include {tmp_path}/switchboard.conf;
}}
"""
        )
        proc = subprocess.Popen(
            [NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        url = f"https://127.0.0.1:{https_port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "nginx died")
            try:
                if httpx.get(url + "/health", verify=False, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError((tmp_path / "error.log").read_text())
        # plain http redirects to https
        r = httpx.get(f"http://127.0.0.1:{http_port}/agent/", follow_redirects=False)
        assert r.status_code == 301 and r.headers["location"].startswith("https://")
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
@pytest.mark.skipif(BACKEND != "postgres", reason="the recipe is PostgreSQL + Redis")
async def test_chat_through_the_tls_proxy_with_two_workers(
    live_server_factory: Callable[..., LiveServer],
    tls_proxy: Callable[[str], str],
    tenant: TenantInfo,
) -> None:
    server = live_server_factory(workers=2)
    url = tls_proxy(server.base_url.removeprefix("http://"))
    async with httpx.AsyncClient(base_url=url, verify=False, timeout=20) as http:
        r = await http.get("/health")
        assert len(r.headers["x-request-id"]) == 32  # nginx's $request_id, echoed
        r = await http.post(
            AGENT + "/login",
            json={"tenant": tenant.domain, "loginId": "agent1", "password": tenant.password},
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        r = await http.put(AGENT + "/state", json={"state": "ready"}, headers=auth(token))
        assert r.status_code == 200
        cursor = await cursor_of(http, token)
        r = await http.post(
            MSG + "/chats",
            params={"tenantUrl": tenant.domain},
            json={"parameters": {"FIRST_NAME": "Via", "LAST_NAME": "Proxy"}},
            headers=mobile_headers("proxy-customer"),
        )
        assert r.status_code == 200, r.text
        chat_id = r.json()["chat_id"]
        offer, cursor, _ = await next_frame(
            http, token, cursor, "offer", timeout=20, match={"chat_id": chat_id}
        )
        iid = offer["interaction_id"]
        r = await http.post(f"{AGENT}/interactions/{iid}/accept", headers=auth(token))
        assert r.status_code == 200, r.text
        r = await http.post(
            f"{AGENT}/interactions/{iid}/messages",
            json={"msg": "Hello through nginx"},
            headers=auth(token),
        )
        assert r.status_code == 200, r.text
        # the customer's long poll (held by either worker) brings the agent's message
        seen: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "Hello through nginx" not in seen:
            r = await http.get(
                f"{MSG}/chats/{chat_id}/events",
                params={"tenantUrl": tenant.domain},
                headers=mobile_headers("proxy-customer"),
            )
            assert r.status_code == 200, r.text
            seen += [e.get("msg", "") for e in r.json()["events"]]
        assert "Hello through nginx" in seen
        # and the agent's WebSocket upgrades through the proxy
        import websockets

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ws_url = url.replace("https://", "wss://") + AGENT + "/ws"
        async with websockets.connect(
            ws_url, ssl=context, additional_headers={"Authorization": f"Bearer {token}"}
        ) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"


async def test_graceful_shutdown_lets_a_held_poll_answer(
    migrated: Settings, tenant: TenantInfo, tmp_path: Path
) -> None:
    """`switchboard serve` stops on SIGTERM only once the held Messaging poll answered.
    (Async, so that this process's own runtime keeps running meanwhile: on SQLite a
    transaction of its left waiting would hold the lock the server needs to stop.)"""
    port = free_port()
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=migrated.database_url,
        SWITCHBOARD_DATA_DIR=str(migrated.data_dir),
        SWITCHBOARD_BUS_PREFIX=migrated.bus_prefix,
        SWITCHBOARD_LONG_POLL_SECONDS="3",
        SWITCHBOARD_GRACEFUL_SHUTDOWN_SECONDS="10",
        SWITCHBOARD_LOG_LEVEL="WARNING",
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
    )
    if migrated.redis_url:
        env["SWITCHBOARD_REDIS_URL"] = migrated.redis_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchboard.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            r = await http.post(
                MSG + "/chats",
                params={"tenantUrl": tenant.domain},
                json={"parameters": {}},
                headers=mobile_headers("graceful-customer"),
            )
            assert r.status_code == 200, r.text
            chat_id = r.json()["chat_id"]
            # drain what is already there, so that the next poll is held
            await http.get(
                f"{MSG}/chats/{chat_id}/events",
                params={"tenantUrl": tenant.domain},
                headers=mobile_headers("graceful-customer"),
            )
            task = asyncio.create_task(
                http.get(
                    f"{MSG}/chats/{chat_id}/events",
                    params={"tenantUrl": tenant.domain},
                    headers=mobile_headers("graceful-customer"),
                )
            )
            await asyncio.sleep(0.5)  # the poll is held by now (not an outcome)
            proc.send_signal(signal.SIGTERM)
            r = await task
            assert r.status_code == 200, r.text
            assert "events" in r.json()
        # uvicorn exits by re-raising the SIGTERM it handled (systemd counts it a clean stop)
        code = await asyncio.to_thread(proc.wait, 30)
        assert code in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
