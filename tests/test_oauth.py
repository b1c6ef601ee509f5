"""OAuth2 client credentials on the Configuration API (seed 003, "Authentication")."""

from __future__ import annotations

import base64

import httpx

from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo

TOKEN = "/configapi/v2/oauth/token"


async def test_seed_example_token(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.post(TOKEN, data=tenant.token_form())
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"  # a string, as the seed shows
    assert body["scope"] == tenant.domain
    assert r.headers["cache-control"] == "no-store"


async def test_scope_is_normalised(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    form = tenant.token_form()
    form["scope"] = f"https://{tenant.domain.upper()}/"
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 200
    assert r.json()["scope"] == tenant.domain


async def test_http_basic_client_authentication(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    basic = base64.b64encode(f"admin:{tenant.admin_secret}".encode()).decode()
    r = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": tenant.domain},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200


async def test_wrong_grant_type(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    form = tenant.token_form()
    form["grant_type"] = "password"
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    form = tenant.token_form()
    del form["grant_type"]
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_unknown_scope(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    # the same answer as a wrong secret: an unknown scope reveals nothing (issue 12)
    form = tenant.token_form()
    form["scope"] = "nobody.example.test"
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 401
    assert r.json() == {
        "error": "invalid_client",
        "error_description": "Invalid client credentials",
    }
    del form["scope"]
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


async def test_bad_secret_and_unknown_client(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.post(TOKEN, data=tenant.token_form(secret="wrong"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "www-authenticate" in r.headers
    r = await client.post(TOKEN, data=tenant.token_form(login="ghost"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_wrong_content_type(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.post(TOKEN, content="x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_secret_of_other_tenant_is_rejected(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    form = tenant.token_form()
    form["scope"] = other_tenant.domain
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 401


async def test_lockout_after_failures_and_unlock(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    # supervisor1 gets an API secret; admin will inspect and clear its lock.
    from tests.conftest import get_token

    admin = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    for _ in range(3):  # lockout_threshold is 3 in the test settings
        r = await client.post(TOKEN, data=tenant.token_form(login="agent1", secret="bad"))
        assert r.status_code == 401
    r = await client.get("/configapi/v2/user/lock/agent1", headers=admin)
    assert r.json() == {"lockedOut": True}
    r = await client.put("/configapi/v2/user/lock/agent1", headers=admin)
    assert r.status_code == 200
    assert r.json() == {"lockedOut": False}
    r = await client.get("/configapi/v2/user/lock/agent1", headers=admin)
    assert r.json() == {"lockedOut": False}


async def test_locked_user_cannot_get_token_even_with_right_secret(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    from tests.conftest import get_token

    before = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    for _ in range(3):
        await client.post(TOKEN, data=tenant.token_form(secret="bad"))
    r = await client.post(TOKEN, data=tenant.token_form())
    assert r.status_code == 401
    # the same answer as a wrong secret (a locked account is not told apart)
    assert r.json()["error_description"] == "Invalid client credentials"
    # the token issued before the failures still works (issue 12: no off switch)
    assert (await client.get("/configapi/v2/team", headers=before)).status_code == 200


async def test_token_expiry(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    from switchboard.auth.actions import login

    issued = await login(
        rt,
        tenant_domain=tenant.domain,
        login_id="admin",
        secret=tenant.admin_secret,
        using="api_secret",
        kind="oauth",
        lifetime_seconds=1,
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    r = await client.get("/configapi/v2/team", headers=headers)
    assert r.status_code == 200
    import asyncio

    await asyncio.sleep(1.2)
    r = await client.get("/configapi/v2/team", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


async def test_missing_and_invalid_bearer(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.get("/configapi/v2/team")
    assert r.status_code == 401
    r = await client.get("/configapi/v2/team", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await client.get("/configapi/v2/team", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
