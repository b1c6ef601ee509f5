"""Behind a TLS-terminating proxy (docs/deployment-tls.md, section 2): ``switchboard
serve`` trusts ``X-Forwarded-Proto``/``X-Forwarded-For`` from the addresses in
``SWITCHBOARD_FORWARDED_ALLOW_IPS`` only.

One server trusts 127.0.0.1, the proxy here. Requests from it saying ``https`` get
``Secure`` cookies (the statistics session cookies, the web chat's client cookie) and
https URLs wherever the server writes absolute ones (SCIM ``Location`` and
``meta.location``). The same requests from 127.0.0.2, an address the server does not
trust, are plain http to it: no ``Secure``, ``http://`` URLs. Loopback addresses only.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from tests.conftest import PASSWORD, TenantInfo, free_port, get_token, new_tenant
from tests.test_tls import serve_command, serve_env

PUBLIC_HOST = "cc.example.com"
FORWARDED = {
    "Host": PUBLIC_HOST,
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.7",
}
UNTRUSTED_SOURCE = "127.0.0.2"


@dataclass
class ProxiedServer:
    base_url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def proxied_server(migrated: Settings, tmp_root: Path) -> Iterator[ProxiedServer]:
    port = free_port()
    log_path = tmp_root / f"proxied-{secrets.token_hex(3)}.log"
    log = open(log_path, "wb")  # closed below
    env = serve_env(migrated, forwarded_allow_ips="127.0.0.1")
    proc = subprocess.Popen(serve_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ProxiedServer(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it listens (the outcome is decided by the tests)
            try:
                if httpx.get(server.base_url + "/health", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
async def proxy(proxied_server: ProxiedServer) -> AsyncIterator[httpx.AsyncClient]:
    """The trusted proxy: connects from 127.0.0.1."""
    async with httpx.AsyncClient(base_url=proxied_server.base_url, timeout=30) as c:
        yield c


@pytest.fixture
async def stranger(proxied_server: ProxiedServer) -> AsyncIterator[httpx.AsyncClient]:
    """Anyone else: connects from 127.0.0.2 (not in SWITCHBOARD_FORWARDED_ALLOW_IPS)."""
    transport = httpx.AsyncHTTPTransport(local_address=UNTRUSTED_SOURCE)
    async with httpx.AsyncClient(
        base_url=proxied_server.base_url, transport=transport, timeout=30
    ) as c:
        yield c


def set_cookies(r: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name (attributes lower-cased)."""
    out: dict[str, str] = {}
    for header in r.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        out[name] = header.lower()
    return out


def is_secure(cookie: str) -> bool:
    return any(part.strip() == "secure" for part in cookie.split(";"))


async def stats_cookies(http: httpx.AsyncClient, tenant: TenantInfo) -> dict[str, str]:
    r = await http.post(
        "/statsapi/auth",
        json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        headers=FORWARDED,
    )
    assert r.status_code == 200, r.text
    cookies = set_cookies(r)
    assert {"X-STATSAPI-TOKEN", "X-STATSAPI-TENANT", "X-STATSAPI-LOGIN"} <= set(cookies)
    return cookies


async def web_chat_cookie(http: httpx.AsyncClient, tenant: TenantInfo) -> str:
    r = await http.post(
        "/clientweb/api/v2/chats",
        params={"tenantUrl": tenant.domain},
        json={"parameters": {"FIRST_NAME": "Proxied"}},
        headers={
            **FORWARDED,
            "Authorization": 'MOBILE-API-140-327-PLAIN appId="test", clientId="WebChat"',
        },
    )
    assert r.status_code == 200, r.text
    (cookie,) = set_cookies(r).values()
    return cookie


async def scim_location(http: httpx.AsyncClient, tenant: TenantInfo, name: str) -> list[str]:
    token = await get_token(http, tenant)
    r = await http.post(
        "/configapi/v2/scim/users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "name": {"givenName": "Pro", "familyName": "Xy"},
            "emails": [{"value": f"{name}@example.com"}],
        },
        headers={
            **FORWARDED,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
        },
    )
    assert r.status_code == 201, r.text
    return [r.headers["location"], r.json()["meta"]["location"]]


async def test_forwarded_https_from_the_trusted_proxy(
    proxy: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await new_tenant(rt)
    for name, cookie in (await stats_cookies(proxy, tenant)).items():
        assert is_secure(cookie) and "samesite=lax" in cookie, (name, cookie)
    assert "httponly" in (await stats_cookies(proxy, tenant))["X-STATSAPI-TOKEN"]
    cookie = await web_chat_cookie(proxy, tenant)
    assert is_secure(cookie) and "samesite=none" in cookie, cookie
    for url in await scim_location(proxy, tenant, "proxied"):
        assert url.startswith(f"https://{PUBLIC_HOST}/configapi/v2/scim/"), url


async def test_forwarded_headers_from_elsewhere_are_ignored(
    stranger: httpx.AsyncClient, rt: Runtime
) -> None:
    tenant = await new_tenant(rt)
    for name, cookie in (await stats_cookies(stranger, tenant)).items():
        assert not is_secure(cookie), (name, cookie)
    cookie = await web_chat_cookie(stranger, tenant)
    assert not is_secure(cookie) and "samesite=none" not in cookie, cookie
    for url in await scim_location(stranger, tenant, "direct"):
        assert url.startswith(f"http://{PUBLIC_HOST}/configapi/v2/scim/"), url
