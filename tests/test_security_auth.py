"""Issue 12, logins and tokens: throttled failures without an off switch (1), hashing off
the event loop (2), one answer for every failed login (8), tokens revoked by a password
change or disabling (9), the last administrator kept (11)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from switchboard.auth.throttle import account_limits
from switchboard.core.runtime import Runtime
from switchboard.core.security import hash_stats
from switchboard.core.settings import Settings
from tests.conftest import PASSWORD, TenantInfo, get_token

TOKEN = "/configapi/v2/oauth/token"
STATS = "/statsapi/auth"
AGENT = "/agentapi/v1/login"
API = "/configapi/v2"


_ADDRESSES = itertools.count()


@asynccontextmanager
async def from_address(app: FastAPI, ip: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from its own address (the benchmarking range: nothing is sent
    there, it is only the ASGI scope's client), so that per-source throttling of one
    test never touches another."""
    if ip is None:
        n = next(_ADDRESSES)  # never one that another test of this run was throttled on
        ip = f"198.18.{n // 250}.{n % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- 1: throttling without an off switch ---------------------------------------------


async def test_failed_logins_never_end_existing_sessions(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as c, from_address(app) as attacker:
        admin = bearer(await get_token(c, tenant))
        r = await c.post(
            STATS,
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
        assert r.status_code == 200
        stats = bearer(r.json()["token"])
        # an attacker fails logins for both accounts until they are locked out
        for _ in range(4):
            r = await attacker.post(TOKEN, data=tenant.token_form(secret="wrong"))
            assert r.status_code == 401
            r = await attacker.post(
                STATS,
                json={"tenant_url": tenant.domain, "username": "supervisor1", "password": "x"},
            )
            assert r.status_code == 401
        # the tokens issued before keep working
        assert (await c.get(f"{API}/team", headers=admin)).status_code == 200
        assert (await c.get("/statsapi/cfg/teams", headers=stats)).status_code == 200
        # the administrator sees the lockout and clears it; the account logs in again
        r = await c.get(f"{API}/user/lock/admin", headers=admin)
        assert r.status_code == 200 and r.json() == {"lockedOut": True}
        r = await c.get(f"{API}/user/lock/supervisor1", headers=admin)
        assert r.json() == {"lockedOut": True}
        assert (await c.post(TOKEN, data=tenant.token_form())).status_code == 401
        r = await c.put(f"{API}/user/lock/admin", headers=admin)
        assert r.status_code == 200 and r.json() == {"lockedOut": False}
        assert (await c.get(f"{API}/user/lock/admin", headers=admin)).json() == {"lockedOut": False}
        assert (await c.post(TOKEN, data=tenant.token_form())).status_code == 200
        r = await c.get(f"{API}/user/lock/agent1", headers=admin)
        assert r.json() == {"lockedOut": False}
        r = await c.get(f"{API}/user/lock/nobody", headers=admin)
        assert r.status_code == 404


async def test_delays_grow_with_failures() -> None:
    """The default tiers: lockout_threshold failures per minute, twice as many per 10
    minutes, four times as many per lockout_minutes — each delay longer than the last."""
    tiers = account_limits(Settings(lockout_threshold=5, lockout_minutes=30))
    assert [(t.amount, t.get_expiry()) for t in tiers] == [(5, 60), (10, 600), (20, 1800)]
    custom = account_limits(Settings(login_account_limits="3 per minute; 9 per hour"))
    assert [(t.amount, t.get_expiry()) for t in custom] == [(3, 60), (9, 3600)]


async def test_failures_from_one_source_are_throttled(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as flood, from_address(app) as other:
        # failures against ever new names: no account fills up, the source does
        answers = [
            await flood.post(TOKEN, data=tenant.token_form(login=f"ghost{i}", secret="x"))
            for i in range(30)
        ]
        assert {r.status_code for r in answers} == {401}
        r = await flood.post(TOKEN, data=tenant.token_form())
        assert r.status_code == 429
        assert r.json()["error"] == "invalid_request"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        r = await flood.post(
            STATS, json={"tenant_url": tenant.domain, "username": "admin", "password": "x"}
        )
        assert r.status_code == 429
        assert r.json()["error_code"] == "429" and "retry-after" in r.headers
        # another source is not affected
        assert (await other.post(TOKEN, data=tenant.token_form())).status_code == 200


# ---- 2: hashing off the event loop ---------------------------------------------------


async def test_login_flood_hashes_off_the_event_loop(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as c:
        admin = bearer(await get_token(c, tenant))
    before = hash_stats()
    async with from_address(app) as attacker, from_address(app) as customer:
        flood = [
            attacker.post(TOKEN, data=tenant.token_form(login=f"nobody{i}", secret="x"))
            for i in range(12)
        ] + [
            attacker.post(
                AGENT, json={"tenant": tenant.domain, "loginId": f"a{i}", "password": "x"}
            )
            for i in range(4)
        ]
        other = customer.get(f"{API}/team", headers=admin)
        results = await asyncio.gather(other, *flood)
    after = hash_stats()
    assert results[0].status_code == 200
    assert all(r.status_code == 401 for r in results[1:])
    # every verification ran in the hashing threads, none on the event loop
    assert after["on_loop"] == before["on_loop"]
    assert after["off_loop"] - before["off_loop"] >= 16


# ---- 8: one answer for every failure ---------------------------------------------------


async def _answers(c: httpx.AsyncClient, tenant: TenantInfo, case: str) -> list[Any]:
    domain, login, secret = tenant.domain, "agent1", PASSWORD
    if case == "tenant":
        domain = "nowhere-" + tenant.domain
    elif case == "user":
        login = "nobody"
    elif case == "password":
        secret = "wrong-password"
    form = {
        "client_id": "admin" if case != "user" else login,
        "scope": domain,
        "grant_type": "client_credentials",
        "client_secret": tenant.admin_secret if case in ("locked",) else "wrong",
    }
    if case == "locked":
        form["client_id"] = "admin"
    out: list[Any] = []
    r = await c.post(TOKEN, data=form)
    out.append((r.status_code, r.json()))
    r = await c.post(STATS, json={"tenant_url": domain, "username": login, "password": secret})
    out.append((r.status_code, r.json()))
    r = await c.post(AGENT, json={"tenant": domain, "loginId": login, "password": secret})
    out.append((r.status_code, r.json()))
    return out


async def test_every_failed_login_answers_alike(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as c:
        # lock admin (OAuth) and agent1 (password) out first
        for _ in range(3):
            await c.post(TOKEN, data=tenant.token_form(secret="bad"))
            await c.post(
                AGENT, json={"tenant": tenant.domain, "loginId": "agent1", "password": "bad"}
            )
        locked = await _answers(c, tenant, "locked")
    async with from_address(app) as c:
        seen = {"locked": locked}
        hashes: dict[str, int] = {}
        for case in ("tenant", "user", "password"):
            before = hash_stats()["off_loop"]
            seen[case] = await _answers(c, tenant, case)
            # the same work whatever the reason: one argon2 verification per attempt
            hashes[case] = hash_stats()["off_loop"] - before
    assert seen["tenant"] == seen["user"] == seen["password"] == seen["locked"]
    assert [s for s, _ in seen["tenant"]] == [401, 401, 401]
    assert hashes == {"tenant": 3, "user": 3, "password": 3}
    # nothing names the reason
    assert seen["tenant"][2][1]["code"] == "credentials"
    assert "lock" not in str(seen["locked"])


async def test_nul_and_odd_characters_in_credentials(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as c:
        for value in ("a\x00b", "x" * 5000):
            r = await c.post(
                TOKEN,
                data={
                    "client_id": value,
                    "client_secret": value,
                    "scope": value,
                    "grant_type": "client_credentials",
                },
            )
            assert r.status_code == 401, value
            r = await c.post(
                TOKEN,
                data={
                    "client_id": "admin",
                    "client_secret": value,
                    "scope": tenant.domain,
                    "grant_type": "client_credentials",
                },
            )
            assert r.status_code == 401
        raw = (
            '{"client_id": "\\ud800", "client_secret": "a\\u0000", "scope": "x",'
            ' "grant_type": "client_credentials"}'
        )
        r = await c.post(TOKEN, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = await c.post(
            STATS,
            content='{"tenant_url": "a\\u0000", "username": "b", "password": "c"}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400 and r.json()["error_code"] == "5003"


# ---- 9: tokens revoked by a password change or disabling ---------------------------------


async def test_password_change_and_disabling_revoke_tokens(
    app: FastAPI, tenant: TenantInfo
) -> None:
    async with from_address(app) as c:
        admin = bearer(await get_token(c, tenant))
        r = await c.post(
            STATS,
            json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
        )
        sup = bearer(r.json()["token"])
        r = await c.post(
            AGENT, json={"tenant": tenant.domain, "loginId": "agent1", "password": PASSWORD}
        )
        assert r.status_code == 200
        agent = bearer(r.json()["access_token"])
        assert (await c.get("/agentapi/v1/me", headers=agent)).status_code == 200
        r = await c.put(f"{API}/user/agent1", json={"password": "Another-pass-456"}, headers=admin)
        assert r.status_code == 200
        assert (await c.get("/agentapi/v1/me", headers=agent)).status_code == 401
        r = await c.put(f"{API}/user/supervisor1", json={"disabled": True}, headers=admin)
        assert r.status_code == 200
        r = await c.put(f"{API}/user/supervisor1", json={"disabled": False}, headers=admin)
        assert r.status_code == 200
        # re-enabling does not bring the old session back
        assert (await c.get("/statsapi/cfg/teams", headers=sup)).status_code == 401
        # a change that touches neither keeps the tokens
        r = await c.post(
            AGENT,
            json={"tenant": tenant.domain, "loginId": "agent1", "password": "Another-pass-456"},
        )
        agent = bearer(r.json()["access_token"])
        r = await c.put(f"{API}/user/agent1", json={"team": "Sales Team"}, headers=admin)
        assert r.status_code == 200
        assert (await c.get("/agentapi/v1/me", headers=agent)).status_code == 200


async def test_admin_password_change_revokes_its_own_tokens(
    app: FastAPI, tenant: TenantInfo
) -> None:
    async with from_address(app) as c:
        admin = bearer(await get_token(c, tenant))
        other = bearer(await get_token(c, tenant))
        r = await c.put(f"{API}/user/admin", json={"password": "Brand-new-pass-1"}, headers=admin)
        assert r.status_code == 200
        assert (await c.get(f"{API}/team", headers=other)).status_code == 401


# ---- 11: the last administrator --------------------------------------------------------


async def test_last_administrator_cannot_remove_itself(
    app: FastAPI, tenant: TenantInfo, rt: Runtime
) -> None:
    async with from_address(app) as c:
        admin = bearer(await get_token(c, tenant))
        for method, body in (
            ("PUT", {"disabled": True}),
            ("PUT", {"roles": ["Agent"]}),
            ("DELETE", None),
        ):
            r = await c.request(method, f"{API}/user/admin", json=body, headers=admin)
            assert r.status_code == 409, (method, body, r.text)
            assert r.json()["code"] == "last_admin"
            assert "last administrator" in r.json()["message"]
        assert (await c.get(f"{API}/team", headers=admin)).status_code == 200
        # with a second administrator, the first may go
        r = await c.put(
            f"{API}/user/supervisor1", json={"roles": ["System Administrator"]}, headers=admin
        )
        assert r.status_code == 200
        r = await c.put(f"{API}/user/admin", json={"disabled": True}, headers=admin)
        assert r.status_code == 200
        assert (await c.get(f"{API}/team", headers=admin)).status_code == 401  # revoked
        # ...and now supervisor1 is the last one (its API secret as the CLI makes one)
        from switchboard.users import actions

        secret = await actions.generate_api_secret(
            rt, tenant_id=tenant.tenant_id, login_id="supervisor1"
        )
        sup = bearer(
            await get_token(
                c,
                TenantInfo(tenant.domain, tenant.tenant_id, secret, PASSWORD),
                login="supervisor1",
            )
        )
        r = await c.delete(f"{API}/user/supervisor1", headers=sup)
        assert r.status_code == 409 and r.json()["code"] == "last_admin"
        r = await c.put(f"{API}/user/admin", json={"disabled": False}, headers=sup)
        assert r.status_code == 200
        r = await c.delete(f"{API}/user/supervisor1", headers=sup)
        assert r.status_code == 200


async def test_last_administrator_through_scim(app: FastAPI, tenant: TenantInfo) -> None:
    async with from_address(app) as c:
        admin = bearer(await get_token(c, tenant))
        h = dict(admin, **{"Content-Type": "application/scim+json"})
        r = await c.get('/configapi/v2/scim/users?filter=userName eq "admin"', headers=h)
        user_id = r.json()["Resources"][0]["id"]
        r = await c.patch(
            f"/configapi/v2/scim/users/{user_id}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
            headers=h,
        )
        assert r.status_code == 409, r.text
        r = await c.delete(f"/configapi/v2/scim/users/{user_id}", headers=h)
        assert r.status_code == 409
        assert (await c.get(f"{API}/team", headers=admin)).status_code == 200
