"""Concurrent provisioning (issue 17): users created with dozens of requests in flight,
through the Configuration API and SCIM at once, against a live server of two worker
processes. Every request succeeds; every extension is unique and in the tenant's range;
a 409 only ever means that the login or extension named really exists."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchboard.core.runtime import Runtime
from switchboard.tenants.actions import update_settings
from switchboard.users.models import User
from tests.conftest import PASSWORD, LiveServer, TenantInfo, new_tenant

CONFIG = "/configapi/v2/user"
SCIM = "/configapi/v2/scim/users"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

IN_FLIGHT = 32
CONFIG_USERS = 160  # of which EXPLICIT name their extension
SCIM_USERS = 160
EXPLICIT = 20
START = 30000
# exactly as many extensions as users: the automatic ones fill the range from its start,
# the explicit ones are the top EXPLICIT numbers, so no request can legitimately lose
END = START + CONFIG_USERS + SCIM_USERS - 1
NEW_SKILLS = [f"Provisioning {i}" for i in range(4)]  # created on the way, concurrently


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    # a small pool per process: the PostgreSQL server is shared by every test run
    return live_server_factory(workers=2, db_pool_size=4)


async def _token(http: httpx.AsyncClient, t: TenantInfo) -> dict[str, str]:
    r = await http.post("/configapi/v2/oauth/token", data=t.token_form())
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _config_body(i: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "loginId": f"cfg{i:04d}",
        "password": PASSWORD,
        "firstName": "Config",
        "lastName": f"User{i}",
        "team": "Support Team",
        "skills": {NEW_SKILLS[i % len(NEW_SKILLS)]: 50, "English": 100},
        "roles": ["Agent"],
    }
    if i < EXPLICIT:
        body["extension"] = str(END - i)
    return body


def _scim_body(i: int) -> dict[str, Any]:
    return {
        "schemas": [USER_URN],
        "userName": f"scim{i:04d}@example.com",
        "name": {"givenName": "Scim", "familyName": f"User{i}"},
        "emails": [{"value": f"scim{i:04d}@example.com", "primary": True}],
    }


def _scim_extension(body: dict[str, Any]) -> str:
    exts = [p["value"] for p in body.get("phoneNumbers", []) if p.get("type") == "extension"]
    assert len(exts) == 1, body
    return str(exts[0])


async def _range(rt: Runtime, t: TenantInfo, start: int, end: int) -> None:
    await update_settings(
        rt, domain=t.domain, changes={"extension_start": start, "extension_end": end}
    )


async def _extensions(rt: Runtime, t: TenantInfo) -> dict[str, str]:
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(User.login_id, User.extension).where(User.tenant_id == t.tenant_id)
            )
        ).all()
    return {login: ext or "" for login, ext in rows}


@pytest.mark.timeout(600)
async def test_hundreds_of_users_at_once_on_two_processes(server: LiveServer, rt: Runtime) -> None:
    tenant = await new_tenant(rt)
    await _range(rt, tenant, START, END)
    demo = await _extensions(rt, tenant)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as http:
        auth = await _token(http, tenant)
        scim_auth = {**auth, "Content-Type": "application/scim+json"}
        gate = asyncio.Semaphore(IN_FLIGHT)
        peak = 0
        in_flight = 0

        async def send(method: str, url: str, **kw: Any) -> httpx.Response:
            nonlocal peak, in_flight
            async with gate:
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    return await http.request(method, url, **kw)
                finally:
                    in_flight -= 1

        # interleaved: Configuration API and SCIM requests compete for the same range
        jobs: list[Any] = []
        for i in range(max(CONFIG_USERS, SCIM_USERS)):
            if i < CONFIG_USERS:
                jobs.append(send("POST", CONFIG, json=_config_body(i), headers=auth))
            if i < SCIM_USERS:
                jobs.append(send("POST", SCIM, json=_scim_body(i), headers=scim_auth))
        started = time.monotonic()
        answers = await asyncio.gather(*jobs)
        elapsed = time.monotonic() - started
        print(f"\n{len(jobs)} users created, {IN_FLIGHT} in flight, in {elapsed:.1f} s")

        failures = [
            (r.request.url.path, r.status_code, r.text)
            for r in answers
            if r.status_code not in (200, 201)
        ]
        assert failures == [], failures[:5]
        assert peak >= IN_FLIGHT // 2, peak
        seen: dict[str, str] = {}
        for r in answers:
            body = r.json()
            if r.request.url.path == SCIM:
                assert r.status_code == 201
                seen[body["userName"]] = _scim_extension(body)
            else:
                assert r.status_code == 200
                seen[body["loginId"]] = body["extension"]

        # the range is now full: one more automatic extension is a real conflict
        r = await http.post(CONFIG, json=_config_body(9999), headers=auth)
        assert r.status_code == 409, r.text
        assert "No free extension" in r.json()["message"]
        r = await http.post(SCIM, json=_scim_body(9999), headers=scim_auth)
        assert r.status_code == 409, r.text
        assert r.json()["scimType"] == "uniqueness"

    stored = await _extensions(rt, tenant)
    created = {k: v for k, v in stored.items() if k not in demo}
    assert created == seen
    assert len(created) == CONFIG_USERS + SCIM_USERS
    values = list(created.values())
    assert len(set(values)) == len(values), "an extension was given twice"
    assert sorted(int(v) for v in values) == list(range(START, END + 1))
    for i in range(EXPLICIT):
        assert created[f"cfg{i:04d}"] == str(END - i)


async def test_same_login_or_extension_at_once_one_wins(server: LiveServer, rt: Runtime) -> None:
    """Requests that really collide: exactly one succeeds, each other one is a 409 that
    names the login or extension (never a 500, never two winners)."""
    tenant = await new_tenant(rt)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        auth = await _token(http, tenant)
        scim_auth = {**auth, "Content-Type": "application/scim+json"}
        same_login = [
            http.post(CONFIG, json=dict(_config_body(100 + i), loginId="twin"), headers=auth)
            for i in range(6)
        ] + [
            http.post(SCIM, json=dict(_scim_body(100 + i), userName="twin"), headers=scim_auth)
            for i in range(6)
        ]
        answers = await asyncio.gather(*same_login)
        codes = sorted(r.status_code for r in answers)
        assert codes.count(409) == 11 and len([c for c in codes if c in (200, 201)]) == 1, codes
        for r in answers:
            if r.status_code == 409:
                text = r.json().get("message") or r.json().get("detail")
                assert "already exists" in text, r.text

        same_extension = [
            http.post(CONFIG, json=dict(_config_body(200 + i), extension="7777"), headers=auth)
            for i in range(8)
        ]
        answers = await asyncio.gather(*same_extension)
        codes = sorted(r.status_code for r in answers)
        assert codes == [200] + [409] * 7, codes
        for r in answers:
            if r.status_code == 409:
                assert r.json()["message"] == "Extension already in use: 7777", r.text

    stored = await _extensions(rt, tenant)
    assert list(stored.values()).count("7777") == 1
    assert len([k for k in stored if k.lower() == "twin"]) == 1


async def test_extension_changes_and_creations_do_not_race(server: LiveServer, rt: Runtime) -> None:
    """Users move to explicit extensions while others are created with automatic ones,
    aiming at the very numbers the allocator hands out next: every creation succeeds, a
    move fails only with a 409 naming an extension another user really holds, and no
    extension is ever given twice."""
    tenant = await new_tenant(rt)
    await _range(rt, tenant, 40000, 40039)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        auth = await _token(http, tenant)
        made = await asyncio.gather(
            *(http.post(CONFIG, json=_config_body(300 + i), headers=auth) for i in range(20))
        )
        assert [r.status_code for r in made] == [200] * 20
        # 40000..40019 are taken; the next automatic ones are 40020, 40021, ...
        moves = [
            http.put(f"{CONFIG}/cfg{300 + i:04d}", json={"extension": str(40020 + i)}, headers=auth)
            for i in range(20)
        ]
        news = [http.post(CONFIG, json=_config_body(400 + i), headers=auth) for i in range(20)]
        answers = await asyncio.gather(*(x for pair in zip(moves, news, strict=True) for x in pair))
    created, moved = answers[1::2], answers[0::2]
    assert [r.status_code for r in created] == [200] * 20, [r.text for r in created][:3]
    stored = await _extensions(rt, tenant)
    for i, r in enumerate(moved):
        login, wanted = f"cfg{300 + i:04d}", str(40020 + i)
        if r.status_code == 200:
            assert stored[login] == wanted
        else:
            assert r.status_code == 409, r.text
            assert r.json()["message"] == f"Extension already in use: {wanted}"
            holder = [k for k, v in stored.items() if v == wanted]
            assert holder and holder != [login], (login, holder)
    mine = [int(v) for k, v in stored.items() if k.startswith("cfg")]
    assert len(mine) == 40 and len(set(mine)) == 40
    assert all(40000 <= v <= 40039 for v in mine)


async def test_cli_creates_users_concurrently(rt: Runtime, migrated: Any) -> None:
    """``switchboard user create`` from several shells at once, with a team that does not
    exist yet: each command succeeds and every extension is distinct."""
    import os
    import sys

    tenant = await new_tenant(rt)
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=migrated.database_url,
        SWITCHBOARD_DATA_DIR=str(migrated.data_dir),
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
        SWITCHBOARD_DB_POOL_SIZE="2",
        SWITCHBOARD_LOG_LEVEL="WARNING",
    )
    env.pop("SWITCHBOARD_REDIS_URL", None)

    async def create(i: int) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "switchboard.cli",
            "user",
            "create",
            f"cli{i}",
            "--tenant",
            tenant.domain,
            "--first-name",
            "Cli",
            "--last-name",
            str(i),
            "--team",
            "Night Shift",
            "--password",
            PASSWORD,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        return proc.returncode or 0, out.decode()

    results = await asyncio.gather(*(create(i) for i in range(4)))
    assert [code for code, _ in results] == [0] * 4, results
    stored = await _extensions(rt, tenant)
    exts = [v for k, v in stored.items() if k.startswith("cli")]
    assert len(exts) == 4 and len(set(exts)) == 4
    for _code, out in results:
        assert "extension" in out
