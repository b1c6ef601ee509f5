"""HTTPS served directly (issue 11: the mobile SDKs refuse URLs that are not https).

A self-signed certificate is made for the test; ``switchboard serve`` runs with
``SWITCHBOARD_TLS_CERT_FILE``/``SWITCHBOARD_TLS_KEY_FILE``; an SDK-style Messaging
session (unquoted Authorization values, ``UserAgent: MobileClient``, a ``nonce`` on
every request, event polls) runs over one kept-alive TLS connection, and an agent's
WebSocket upgrades over TLS. Unusable TLS settings stop ``serve`` with exit status 2.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.asyncio.client import connect

from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from tests.conftest import PASSWORD, free_port, new_tenant

MSG = "/clientweb/api/v2"


def make_certificate(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (its own trust anchor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def serve_env(settings: Settings, **tls: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_BUS_PREFIX=settings.bus_prefix,
        SWITCHBOARD_LONG_POLL_SECONDS="1",
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
        SWITCHBOARD_LOG_LEVEL="WARNING",
        SWITCHBOARD_DB_POOL_SIZE="4",
    )
    for key in ("SWITCHBOARD_TLS_CERT_FILE", "SWITCHBOARD_TLS_KEY_FILE"):
        env.pop(key, None)
    if settings.redis_url:
        env["SWITCHBOARD_REDIS_URL"] = settings.redis_url
    else:
        env.pop("SWITCHBOARD_REDIS_URL", None)
    env.update({f"SWITCHBOARD_{k.upper()}": v for k, v in tls.items()})
    return env


def serve_command(port: int) -> list[str]:
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return [sys.executable, "-m", "switchboard.cli", *serve]


@dataclass
class TlsServer:
    base_url: str
    cafile: Path
    process: subprocess.Popen[bytes]

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))


@pytest.fixture(scope="module")
def tls_server(migrated: Settings, tmp_root: Path) -> Iterator[TlsServer]:
    directory = tmp_root / f"tls-{secrets.token_hex(3)}"
    directory.mkdir()
    cert, key = make_certificate(directory)
    port = free_port()
    log = open(directory / "server.log", "wb")  # closed below
    proc = subprocess.Popen(
        serve_command(port),
        env=serve_env(migrated, tls_cert_file=str(cert), tls_key_file=str(key)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = TlsServer(f"https://127.0.0.1:{port}", cert, proc)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it listens (the outcome is decided by the tests)
            try:
                if httpx.get(server.base_url + "/health", verify=server.context()).is_success:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((directory / "server.log").read_text())
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def sdk_headers(client_id: str) -> dict[str, str]:
    # the mobile SDKs: unquoted values, and "UserAgent" without a hyphen
    return {
        "Authorization": f"MOBILE-API-140-327-PLAIN appId=test, clientId={client_id}",
        "UserAgent": "MobileClient",
        "Content-Type": "application/json; charset=utf-8",
    }


def _local_port(r: httpx.Response) -> int:
    stream = r.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


async def test_sdk_session_over_https(tls_server: TlsServer, rt: Runtime) -> None:
    tenant = await new_tenant(rt)
    client_id = str(uuid.uuid4())
    headers = sdk_headers(client_id)

    def q() -> dict[str, str]:
        return {"tenantUrl": tenant.domain, "nonce": secrets.token_hex(8)}

    async with httpx.AsyncClient(
        base_url=tls_server.base_url, verify=tls_server.context(), timeout=30
    ) as http:
        r = await http.get(f"{MSG}/availability", params=q(), headers=headers)
        assert r.status_code == 200, r.text
        assert r.http_version == "HTTP/1.1"
        assert r.url.scheme == "https"
        first_port = _local_port(r)
        r = await http.post(
            f"{MSG}/chats",
            params=q(),
            json={"phone_number": "", "parameters": {"FIRST_NAME": "Tls", "LAST_NAME": "Sdk"}},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        chat_id = r.json()["chat_id"]
        assert r.json()["is_new_chat"] is True
        r = await http.get(f"{MSG}/chats/{chat_id}/events", params=q(), headers=headers)
        assert r.status_code == 200, r.text
        assert isinstance(r.json()["events"], list)
        msg_id = str(uuid.uuid4())
        r = await http.post(
            f"{MSG}/chats/{chat_id}/events",
            params=q(),
            json={
                "events": [
                    {
                        "event": "chat_session_message",
                        "msg_id": msg_id,
                        "msg": "Hello over TLS",
                        "timestamp": str(int(time.time())),
                        "party_id": chat_id,
                    }
                ]
            },
            headers=headers,
        )
        assert r.status_code in (200, 204), r.text
        r = await http.get(f"{MSG}/chats/{chat_id}/events", params=q(), headers=headers)
        assert r.status_code == 200, r.text
        r = await http.get(f"{MSG}/chats/{chat_id}/history", params=q(), headers=headers)
        assert r.status_code == 200, r.text
        mine = [e for e in r.json()["events"] if e.get("msg_id") == msg_id]
        assert [e["msg"] for e in mine] == ["Hello over TLS"]
        # every request of the session went over the one kept-alive TLS connection
        assert _local_port(r) == first_port


async def test_agent_websocket_over_tls(tls_server: TlsServer, rt: Runtime) -> None:
    tenant = await new_tenant(rt)
    async with httpx.AsyncClient(
        base_url=tls_server.base_url, verify=tls_server.context(), timeout=30
    ) as http:
        r = await http.post(
            "/agentapi/v1/login",
            json={"tenant": tenant.domain, "loginId": "agent1", "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
    url = tls_server.base_url.replace("https://", "wss://") + "/agentapi/v1/ws"
    async with connect(
        url, ssl=tls_server.context(), additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        async with asyncio.timeout(15):
            first = json.loads(await ws.recv())
    assert first["type"] == "hello" and first["cursor"]


async def test_plain_http_and_untrusted_clients_are_refused(tls_server: TlsServer) -> None:
    plain = tls_server.base_url.replace("https://", "http://")
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(httpx.HTTPError):
            await http.get(plain + "/health")
    # a client that does not trust the certificate stops at the handshake
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(tls_server.base_url + "/health")


@pytest.mark.parametrize(
    "case",
    ["cert only", "missing file", "key of another certificate"],
)
async def test_unusable_tls_settings_stop_serve(
    case: str, migrated: Settings, tmp_root: Path
) -> None:
    directory = tmp_root / f"bad-tls-{secrets.token_hex(3)}"
    directory.mkdir()
    cert, key = make_certificate(directory)
    _, other_key = make_certificate(directory, "other")
    tls = {
        "cert only": {"tls_cert_file": str(cert)},
        "missing file": {"tls_cert_file": str(directory / "nope.crt"), "tls_key_file": str(key)},
        "key of another certificate": {"tls_cert_file": str(cert), "tls_key_file": str(other_key)},
    }[case]
    proc = await asyncio.create_subprocess_exec(
        *serve_command(free_port()),
        env=serve_env(migrated, **tls),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode == 2, err.decode()
    text = " ".join(err.decode().split())
    if case == "cert only":
        assert "set both SWITCHBOARD_TLS_CERT_FILE and SWITCHBOARD_TLS_KEY_FILE" in text
    else:
        assert "cannot use the TLS certificate" in text
