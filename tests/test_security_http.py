"""Issue 12, HTTP surface: body limits while streaming (3), safe JSON and 64-bit integers
(4), origins (5), nosniff (10), 405 with every method in Allow (13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from tests.conftest import PASSWORD, TenantInfo

API = "/configapi/v2"
SCIM = "/configapi/v2/scim"
MB = 1024 * 1024


class Counting:
    """A chunked request body (no Content-Length) that counts what the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024, first: bytes = b"") -> None:
        self.total, self.chunk, self.first, self.sent = total, chunk, first, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first:
            self.sent += len(self.first)
            yield self.first
        while self.sent < self.total:
            self.sent += self.chunk
            yield b" " * self.chunk


def messaging_auth(app_id: str = "test") -> dict[str, str]:
    return {"Authorization": f'MOBILE-API-140-327-PLAIN appId="{app_id}", clientId="c1"'}


# ---- 3: body limits --------------------------------------------------------------------


async def test_oversize_bodies_are_refused_in_each_apis_format(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    big = b"[" + b"1," * (MB // 2 + 10) + b"1]"  # just over 1 MiB of valid JSON
    json_h = {"Content-Type": "application/json"}
    r = await client.post(
        f"/clientweb/api/v2/chats?tenantUrl={tenant.domain}",
        content=big,
        headers={**json_h, **messaging_auth()},
    )
    assert r.status_code == 413 and r.json()["error_code"] == "5501"
    r = await client.post("/agentapi/v1/login", content=big, headers=json_h)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    r = await client.post(f"{API}/user", content=big, headers={**json_h, **admin_headers})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    r = await client.post(f"{API}/oauth/token", content=big, headers=json_h)
    assert r.status_code == 413
    r = await client.post(f"{SCIM}/users", content=big, headers={**json_h, **admin_headers})
    assert r.status_code == 413
    assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    r = await client.post("/statsapi/auth", content=big, headers=json_h)
    assert r.status_code == 413 and r.json()["error_code"] == "413"
    # uploads keep their 25 MB, calling-list imports their own limit
    files = {"file": ("a.bin", b"x" * (2 * MB), "application/octet-stream")}
    r = await client.post(
        f"/clientweb/api/v2/files?tenantUrl={tenant.domain}", files=files, headers=messaging_auth()
    )
    assert r.status_code != 413
    r = await client.post(
        f"{API}/callinglist/add/nolist", content=big, headers={**json_h, **admin_headers}
    )
    assert r.status_code == 404  # read whole, then the list is not found


async def test_chunked_bodies_are_cut_off_while_streaming(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    for url, headers in (
        ("/agentapi/v1/login", {"Content-Type": "application/json"}),
        (
            f"/clientweb/api/v2/chats?tenantUrl={tenant.domain}",
            {"Content-Type": "application/json", **messaging_auth()},
        ),
        ("/statsapi/auth", {"Content-Type": "application/json"}),
    ):
        body = Counting(total=64 * MB, first=b'{"a": "')
        r = await client.post(url, content=body, headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413, (url, r.text)
        # refused after about the limit (1 MiB), not after the whole 64 MiB
        assert body.sent <= 2 * MB, (url, body.sent)


async def test_declared_length_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    body = Counting(total=8 * MB)
    r = await client.post(
        "/agentapi/v1/login",
        content=body,
        headers={"Content-Type": "application/json", "Content-Length": str(8 * MB)},
    )
    assert r.status_code == 413
    assert body.sent == 0


# ---- 4: safe JSON -----------------------------------------------------------------------


async def test_deep_nul_and_huge_numbers_are_400s(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    deep_obj = b'{"a":' * 3000 + b"1" + b"}" * 3000
    nul = b'{"loginId": "a\\u0000b", "password": "x", "tenant": "t"}'
    surrogate = b'{"loginId": "\\ud800", "password": "x", "tenant": "t"}'
    huge = b'{"loginId": "a", "password": "x", "tenant": "t", "state": 123456789012345678901234}'
    nan = b'{"loginId": "a", "password": "x", "tenant": NaN}'
    json_h = {"Content-Type": "application/json"}
    stats_token = (
        await client.post(
            "/statsapi/auth",
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
    ).json()["token"]
    endpoints: list[tuple[str, str, dict[str, str], str]] = [
        ("POST", "/agentapi/v1/login", json_h, "error"),
        ("POST", f"{API}/user", {**json_h, **admin_headers}, "error"),
        ("PUT", f"{API}/user/agent1", {**json_h, **admin_headers}, "error"),
        ("POST", f"{API}/oauth/token", json_h, "error"),
        ("POST", "/statsapi/auth", json_h, "error_code"),
        (
            "POST",
            "/statsapi/subscription",
            {**json_h, "Authorization": f"Bearer {stats_token}"},
            "error_code",
        ),
        (
            "POST",
            "/statsapi/chat_messages",
            {**json_h, "Authorization": f"Bearer {stats_token}"},
            "error_code",
        ),
        ("POST", f"{SCIM}/users", {**json_h, **admin_headers}, "schemas"),
        ("POST", f"{API}/campaign", {**json_h, **admin_headers}, "error"),
        ("POST", f"{API}/donotcalllist", {**json_h, **admin_headers}, "error"),
        ("POST", "/clientweb/smsapi/v1/Messages", {**json_h, **admin_headers}, "error_code"),
        ("POST", f"/genesys/1/service/callback?tenant={tenant.domain}", json_h, "message"),
    ]
    for method, url, headers, key in endpoints:
        for body in (deep, deep_obj, nul, surrogate, huge, nan):
            r = await client.request(method, url, content=body, headers=headers)
            assert r.status_code == 400, (url, body[:30], r.status_code, r.text[:200])
            assert key in r.json(), (url, r.text[:200])


async def test_query_integers_beyond_64_bits(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(
        f"{API}/donotcalllist", json={"name": "q", "type": "internal"}, headers=admin_headers
    )
    assert r.status_code in (200, 201), r.text
    url = f"{API}/donotcalllist/q/entries"
    assert (await client.get(url, headers=admin_headers)).status_code == 200
    for offset in ("9223372036854775808", "-1", "1" * 40):
        r = await client.get(url, params={"offset": offset}, headers=admin_headers)
        assert r.status_code == 400, (offset, r.text)
    r = await client.get(url, params={"offset": "9223372036854775807"}, headers=admin_headers)
    assert r.status_code == 200


async def test_scim_accepts_json_sent_as_text_plain(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The seed's Postman collection sends SCIM bodies as text/plain (issue 11)."""
    import json

    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "plain1",
        "name": {"givenName": "Plain", "familyName": "Text"},
        "emails": [{"value": "plain@example.com", "primary": True}],
    }
    for ctype, name in (("text/plain", "plain1"), (None, "plain2")):
        body["userName"] = name
        headers = dict(admin_headers)
        if ctype:
            headers["Content-Type"] = ctype
        r = await client.post(f"{SCIM}/users", content=json.dumps(body), headers=headers)
        assert r.status_code == 201, r.text
    r = await client.post(
        f"{SCIM}/users",
        content=json.dumps(body),
        headers={**admin_headers, "Content-Type": "application/xml"},
    )
    assert r.status_code == 415


# ---- 5: origins -------------------------------------------------------------------------


async def _set_origins(rt: Runtime, tenant: TenantInfo, origins: list[str]) -> None:
    async with rt.db.write() as s:
        entry = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test"
                )
            )
        ).scalar_one()
        entry.allowed_origins = origins


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_only_the_messaging_api_allows_the_tenants_origins(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    chats = f"/clientweb/api/v2/chats?tenantUrl={tenant.domain}"
    # the demo entry allows the server's own origins
    r = await client.options(chats, headers=preflight("http://127.0.0.1:8080"))
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
    await _set_origins(rt, tenant, ["https://shop.example"])
    r = await client.options(chats, headers=preflight("https://shop.example"))
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    r = await client.get(
        f"/clientweb/api/v2/availability?tenantUrl={tenant.domain}",
        headers={"Origin": "https://shop.example", **messaging_auth()},
    )
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    # the change applied at once; the old origin is gone
    r = await client.options(chats, headers=preflight("http://127.0.0.1:8080"))
    assert "access-control-allow-origin" not in r.headers
    # any other site: nothing, with or without credentials, on every API
    evil = "https://evil.example"
    r = await client.options(chats, headers=preflight(evil))
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = await client.get(
        f"/clientweb/api/v2/availability?tenantUrl={tenant.domain}",
        headers={"Origin": evil, **messaging_auth()},
    )
    assert "access-control-allow-origin" not in r.headers
    stats = (
        await client.post(
            "/statsapi/auth",
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
    ).json()["token"]
    for url, headers in (
        ("/statsapi/cfg/teams", {"Authorization": f"Bearer {stats}"}),
        (f"{API}/user/agent1", admin_headers),
        ("/agentapi/v1/me", {}),
        ("/health", {}),
    ):
        for origin in (evil, "https://shop.example"):
            r = await client.get(url, headers={**headers, "Origin": origin})
            assert "access-control-allow-origin" not in r.headers, url
            assert "access-control-allow-credentials" not in r.headers, url
            r = await client.options(url, headers=preflight(origin, "GET"))
            assert "access-control-allow-origin" not in r.headers, url


async def test_statistics_cookies_stay_on_our_site(app: FastAPI, tenant: TenantInfo) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        r = await c.post(
            "/statsapi/auth",
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 3
    for cookie in cookies:
        low = cookie.lower()
        assert "samesite=lax" in low and "secure" in low and "samesite=none" not in low


# ---- 10: nosniff --------------------------------------------------------------------------


async def test_every_response_says_nosniff(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    answers: list[Any] = [
        await client.get("/health"),
        await client.get("/openapi.json"),
        await client.get(f"{API}/user/agent1", headers=admin_headers),
        await client.get(f"{API}/user/ghost", headers=admin_headers),
        await client.get("/nowhere"),
        await client.patch(f"{API}/user/agent1", headers=admin_headers),
        await client.post(
            "/agentapi/v1/login",
            content=b"x" * (2 * MB),
            headers={"Content-Type": "application/json"},
        ),
        await client.get("/wallboard/"),
        await client.get(
            f"/clientweb/api/v2/availability?tenantUrl={tenant.domain}", headers=messaging_auth()
        ),
        await client.options(
            f"/clientweb/api/v2/chats?tenantUrl={tenant.domain}",
            headers=preflight("http://127.0.0.1:8080"),
        ),
    ]
    for r in answers:
        assert r.headers.get("x-content-type-options") == "nosniff", (r.request.url, r.status_code)


# ---- 13: 405 lists every method -----------------------------------------------------------


async def test_405_lists_every_method_of_the_path(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.patch(f"{API}/user/agent1", headers=admin_headers)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    r = await client.post(f"{SCIM}/users/some-id", headers=admin_headers)
    assert r.status_code == 405 and r.json()["status"] == "405"
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT", "PATCH", "DELETE"}
    r = await client.put("/statsapi/auth")
    assert r.status_code == 405 and r.json()["error_code"] == "405"
    assert set(r.headers["allow"].split(", ")) == {"POST", "DELETE"}
