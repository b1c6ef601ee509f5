"""The administration CLI: `switchboard admin <collection> ...` for every collection,
users and API keys, tenant settings (unknown keys refused), and a change made by the CLI
(another process) seen at once by a live server and woken on the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from switchboard.tenants.config import config_topic
from tests.conftest import LiveServer, TenantInfo
from tests.test_outbound_cli import cli

ADMIN = "/adminapi/v1"


async def cli_on_bus(settings: Settings, *args: str) -> tuple[int, str, str]:
    """The CLI with the servers' bus (Redis and prefix), as an operator's shell has it."""
    import os
    import sys

    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_BUS_PREFIX=settings.bus_prefix,
        SWITCHBOARD_LOG_LEVEL="WARNING",
    )
    if settings.redis_url:
        env["SWITCHBOARD_REDIS_URL"] = settings.redis_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def shown(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out)
    return data


@pytest.mark.timeout(400)
async def test_every_collection_through_the_cli(migrated: Settings, tenant: TenantInfo) -> None:
    t = tenant.domain
    cases = [
        ("skills", ["name=Klingon"], "Klingon", ["name=Vulcan"], "Vulcan"),
        (
            "services",
            ["name=Night", "media=chat", 'requiredSkills={"Support": 50}'],
            "Night",
            ["serviceLevelThresholdSeconds=45"],
            "Night",
        ),
        ("hours", ["name=Nights", "timezone=Europe/Paris",
                   'weekly={"mon": [["22:00", "06:00"]]}'], "Nights",
         ["alwaysOpen=true"], "Nights"),
        ("entries", ["appId=cli-chat", "service=Night", "hours=Nights", "priority=2"],
         "cli-chat", ["enabled=false"], "cli-chat"),
        ("numbers", ["number=+14155550900", "entry=cli-chat", "media=sms"], "+14155550900",
         ["media=voice_text"], "+14155550900"),
        ("dispositions", ["name=Upsold", "service=Night"], "Upsold", ["sortOrder=9"], "Upsold"),
        ("not-ready-reasons", ["name=Nap"], "Nap", ["name=Siesta"], "Siesta"),
        ("teams", ["name=Owls", 'supervisors=["supervisor1"]', 'members=["agent2"]'], "Owls",
         ["description=night owls"], "Owls"),
        ("roles", ["name=Auditor", 'privileges=["Access recordings"]'], "Auditor",
         ['privileges=["Access recordings", "Manage configuration"]'], "Auditor"),
        ("canned-responses", ["title=Hi", "text=Hi $(FIRST_NAME)", "shortcut=/hi"], "/hi",
         ["category=Greetings"], "/hi"),
    ]  # fmt: skip
    for coll, create, ref, change, new_ref in cases:
        code, out, err = await cli(migrated, "admin", coll, "create", "--tenant", t, *create)
        assert code == 0, (coll, err)
        code, out, err = await cli(migrated, "admin", coll, "update", ref, "--tenant", t, *change)
        assert code == 0, (coll, err)
        code, out, err = await cli(migrated, "admin", coll, "show", new_ref, "--tenant", t)
        assert code == 0, (coll, err)
        data = shown(out)
        key, _, raw = change[0].partition("=")
        try:
            expected = json.loads(raw)
        except ValueError:
            expected = raw
        assert data[key] == expected, (coll, data)
    for coll in ("entries", "teams"):
        code, out, err = await cli(migrated, "admin", coll, "list", "--tenant", t)
        assert code == 0, (coll, err)
        assert ("cli-chat" if coll == "entries" else "Owls") in out
    # deletions, in an order that frees what others use
    for coll, ref in (
        ("numbers", "+14155550900"),
        ("entries", "cli-chat"),
        ("hours", "Nights"),
        ("dispositions", "Upsold"),
        ("services", "Night"),
        ("skills", "Vulcan"),
        ("not-ready-reasons", "Siesta"),
        ("teams", "Owls"),
        ("roles", "Auditor"),
        ("canned-responses", "/hi"),
    ):
        code, out, err = await cli(migrated, "admin", coll, "delete", ref, "--tenant", t)
        assert code == 0, (coll, err)
    code, _, err = await cli(migrated, "admin", "skills", "show", "Vulcan", "--tenant", t)
    assert code == 1 and "not found" in err


async def test_cli_errors_name_the_field(migrated: Settings, tenant: TenantInfo) -> None:
    t = tenant.domain
    code, _, err = await cli(migrated, "admin", "entries", "create", "--tenant", t, "priority=1")
    assert code == 2 and "appId: Field required" in err
    code, _, err = await cli(
        migrated, "admin", "entries", "create", "--tenant", t, "appId=x", "colour=red"
    )
    assert code == 2 and "colour: unknown field" in err
    code, _, err = await cli(
        migrated, "admin", "entries", "create", "--tenant", t, "appId=x", "service=Nope"
    )
    assert code == 1 and "service: no such service: Nope" in err
    code, _, err = await cli(migrated, "admin", "skills", "create", "--tenant", t, "oops")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = await cli(migrated, "admin", "skills", "create", "--tenant", t, "name=Sales")
    assert code == 1 and "already exists" in err
    code, _, err = await cli(
        migrated, "admin", "skills", "list", "--tenant", "nowhere.example.test"
    )
    assert code == 1 and "Tenant not found" in err
    code, _, err = await cli(migrated, "tenant", "set", t, "colour=red")
    assert code == 1 and "Unknown tenant setting: colour" in err
    code, _, err = await cli(migrated, "tenant", "set", t, "offer_timeout_seconds=soon")
    assert code == 1 and "offer_timeout_seconds must be a number" in err
    code, out, err = await cli(migrated, "tenant", "set", t, "offer_timeout_seconds=25")
    assert code == 0 and "offer_timeout_seconds = 25" in out
    code, out, err = await cli(migrated, "tenant", "show", t)
    assert code == 0 and shown(out)["settings"]["offer_timeout_seconds"] == 25


async def test_users_and_api_keys(
    migrated: Settings, tenant: TenantInfo, client: httpx.AsyncClient
) -> None:
    t = tenant.domain
    code, out, err = await cli(migrated, "user", "list", "--tenant", t, "--json")
    assert code == 0, err
    users = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert {u["loginId"] for u in users} >= {"admin", "agent1", "supervisor1"}
    code, out, err = await cli(migrated, "user", "show", "agent1", "--tenant", t)
    assert code == 0 and shown(out)["loginId"] == "agent1"
    code, _, err = await cli(migrated, "user", "show", "ghost", "--tenant", t)
    assert code == 1 and "User not found" in err

    async def agent_login(password: str) -> int:
        r = await client.post(
            "/agentapi/v1/login", json={"tenant": t, "loginId": "agent2", "password": password}
        )
        return r.status_code

    code, out, err = await cli(migrated, "user", "passwd", "agent2", "--tenant", t, "--generate")
    assert code == 0, err
    new_password = out.split("password: ", 1)[1].strip()
    assert await agent_login(new_password) == 200
    assert await agent_login(tenant.password) == 401
    code, _, err = await cli(
        migrated, "user", "passwd", "agent2", "--tenant", t, "--password", "short"
    )
    assert code == 1 and "at least" in err
    code, _, err = await cli(migrated, "user", "disable", "agent2", "--tenant", t)
    assert code == 0, err
    assert await agent_login(new_password) == 401
    code, _, err = await cli(migrated, "user", "enable", "agent2", "--tenant", t)
    assert code == 0 and await agent_login(new_password) == 200

    # API keys: list, revoke (the client's tokens stop working at once)
    r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form())
    token = r.json()["access_token"]
    code, out, err = await cli(migrated, "apikey", "list", "--tenant", t)
    assert code == 0 and "admin" in out
    code, out, err = await cli(migrated, "apikey", "generate", "agent3", "--tenant", t)
    assert code == 0
    code, out, err = await cli(migrated, "apikey", "revoke", "admin", "--tenant", t)
    assert code == 0 and "revoked" in out
    r = await client.get(ADMIN + "/skills", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form())
    assert r.status_code in (400, 401)
    code, out, _ = await cli(migrated, "apikey", "revoke", "admin", "--tenant", t)
    assert "had no API secret" in out

    code, _, err = await cli(migrated, "user", "delete", "agent3", "--tenant", t, "--yes")
    assert code == 0, err
    code, _, err = await cli(migrated, "user", "show", "agent3", "--tenant", t)
    assert code == 1


async def test_a_cli_change_is_seen_by_other_processes(
    rt: Runtime,
    migrated: Settings,
    tenant: TenantInfo,
    live_server_factory: Callable[..., LiveServer],
    tmp_path: Path,
) -> None:
    server = live_server_factory()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post("/configapi/v2/oauth/token", data=tenant.token_form())
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        async with rt.bus.listen([config_topic(tenant.tenant_id)]) as waiter:
            code, _, err = await cli_on_bus(
                migrated, "admin", "canned-responses", "create", "--tenant", tenant.domain,
                "title=From the CLI", "text=Hello", "shortcut=/cli",
            )  # fmt: skip
            assert code == 0, err
            # the live server reads it at once
            r = await http.get(ADMIN + "/canned-responses//cli", headers=h)
            assert r.status_code == 200 and r.json()["title"] == "From the CLI"
            if rt.settings.redis_url:
                # with Redis, the CLI's commit woke this process's listeners
                assert await waiter.wait(10)
                assert any(p.startswith("canned:") for p in waiter.drain())
        # and a change through the live server is seen by this process
        r = await http.patch(ADMIN + "/canned-responses//cli", json={"text": "Bye"}, headers=h)
        assert r.status_code == 200
    code, out, err = await cli(
        migrated, "admin", "canned-responses", "show", "/cli", "--tenant", tenant.domain
    )
    assert code == 0 and shown(out)["text"] == "Bye"
    assert asyncio.iscoroutinefunction(test_a_cli_change_is_seen_by_other_processes)
