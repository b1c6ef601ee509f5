"""Presence you can trust (issue 13): an agent whose desktop is gone is made not ready
("Disconnected") after a grace period and logged out after a longer one; supervisors
change an agent's state or log them out. The pass is driven directly after moving the
engine's clock; one test runs real sockets against a live server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import connect

from switchboard.core import clock
from switchboard.core.runtime import Runtime
from switchboard.presence import actions as presence
from switchboard.users.models import User
from tests.conftest import PASSWORD, LiveServer, TenantInfo
from tests.test_agent_support import (
    API,
    agent_login,
    auth,
    connected_chat,
    cursor_of,
    held,
    new_chat,
    next_frame,
    wait_for,
)

STATS = "/statsapi"


async def user_id(rt: Runtime, tenant: TenantInfo, login: str) -> str:
    from sqlalchemy import select

    async with rt.db.read() as s:
        return str(
            (
                await s.execute(
                    select(User.id).where(
                        User.tenant_id == tenant.tenant_id, User.login_id == login
                    )
                )
            ).scalar_one()
        )


async def state(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    r = await client.get(API + "/state", headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def pass_until_quiet(rt: Runtime) -> int:
    total = 0
    while True:
        changed, _due = await presence.run_pass(rt)
        total += changed
        if not changed:
            return total


async def test_gone_desktop_not_ready_then_logged_out(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    grace = rt.settings.agent_disconnect_grace_seconds
    logout_after = rt.settings.agent_disconnect_logout_seconds
    token = await agent_login(client, tenant, "agent1", ready=True)
    uid = await user_id(rt, tenant, "agent1")
    # two tabs open, one closes: still present
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)
    clock.advance(grace + 1)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "ready"
    # the last one closes: ready through the grace period, then not ready
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)
    _changed, due = await presence.run_pass(rt)
    assert due is not None and (due - clock.now()).total_seconds() <= grace + 0.5
    clock.advance(grace / 2)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "ready"
    # a chat waiting for this agent is not offered to a ghost
    clock.advance(grace / 2 + 1)
    await pass_until_quiet(rt)
    st = await state(client, token)
    assert (st["state"], st["reason"]) == ("not_ready", rt.settings.agent_disconnect_reason)
    # logged out after the longer period
    clock.advance(logout_after)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "logged_out"


async def test_reconnect_within_grace_keeps_the_agent(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent2", ready=True)
    uid = await user_id(rt, tenant, "agent2")
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)
    clock.advance(rt.settings.agent_disconnect_grace_seconds / 2)
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    clock.advance(rt.settings.agent_disconnect_grace_seconds)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "ready"
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)


async def test_crashed_process_sockets_expire_with_their_lease(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    """A process that died never closes its sockets: their lease runs out."""
    token = await agent_login(client, tenant, "agent3", ready=True)
    uid = await user_id(rt, tenant, "agent3")
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    presence.local_sockets(rt).clear()  # the process "crashed": nobody refreshes
    _c, due = await presence.run_pass(rt)
    assert due is not None
    clock.advance(rt.settings.agent_presence_lease_seconds / 2)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "ready"
    clock.advance(
        rt.settings.agent_presence_lease_seconds / 2 + rt.settings.agent_disconnect_grace_seconds
    )
    await pass_until_quiet(rt)
    st = await state(client, token)
    assert (st["state"], st["reason"]) == ("not_ready", "Disconnected")


async def test_api_only_agents_are_not_watched(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent1", ready=True)
    clock.advance(rt.settings.agent_disconnect_logout_seconds + 10)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "ready"


async def test_busy_ghost_stops_offers_and_logs_out_after_its_chats(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token, iid, _chat, _party, _cursor = await connected_chat(rt, client, tenant, "agent1")
    uid = await user_id(rt, tenant, "agent1")
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)
    clock.advance(rt.settings.agent_disconnect_logout_seconds + 1)
    await pass_until_quiet(rt)
    st = await state(client, token)
    # busy with a chat: stays logged in, no new offers once free
    assert (st["state"], st["next_state"]) == ("busy", "not_ready")
    r = await client.post(
        f"{API}/interactions/{iid}/end", json={"complete": True}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    clock.advance(rt.settings.agent_disconnect_logout_seconds + 1)
    await pass_until_quiet(rt)
    assert (await state(client, token))["state"] == "logged_out"


async def test_logout_withdraws_pending_offers(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent2", ready=True)
    uid = await user_id(rt, tenant, "agent2")
    cursor = await cursor_of(client, token)
    await presence.opened(rt, tenant_id=tenant.tenant_id, user_id=uid)
    await presence.closed(rt, tenant_id=tenant.tenant_id, user_id=uid)
    chat_id = await new_chat(rt, client, tenant, "ghost-offer")
    await next_frame(client, token, cursor, "offer", match={"chat_id": chat_id})
    rt.settings.agent_disconnect_grace_seconds, before = (
        0,
        rt.settings.agent_disconnect_grace_seconds,
    )
    try:
        clock.advance(rt.settings.agent_disconnect_logout_seconds + 1)
        await pass_until_quiet(rt)
    finally:
        rt.settings.agent_disconnect_grace_seconds = before
    assert (await state(client, token))["state"] == "logged_out"
    assert await held(client, token) == []


# ---- supervisors -------------------------------------------------------------------


async def stats_token(client: httpx.AsyncClient, tenant: TenantInfo, login: str) -> str:
    r = await client.post(
        STATS + "/auth",
        json={"tenant_url": tenant.domain, "username": login, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def test_supervisor_changes_state_and_logs_out(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent1", ready=True)
    sup = auth(await stats_token(client, tenant, "supervisor1"))
    url = STATS + "/agents/agent1/state"
    r = await client.put(url, json={"state": "not_ready", "reason": "Meeting"}, headers=sup)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["reason"]) == ("not_ready", "Meeting")
    assert (await state(client, token))["reason"] == "Meeting"
    r = await client.put(url, json={"state": "ready"}, headers=sup)
    assert r.status_code == 200 and r.json()["state"] == "ready"
    r = await client.put(url, json={"state": "logged_out"}, headers=sup)
    assert r.status_code == 200 and r.json()["state"] == "logged_out"
    assert (await state(client, token))["state"] == "logged_out"
    # errors a supervisor can cause
    r = await client.put(url, json={"state": "ready"}, headers=sup)
    assert r.status_code == 409
    r = await client.put(url, json={"state": "away"}, headers=sup)
    assert r.status_code == 400
    r = await client.put(url, json={"state": "ready", "reason": "Lunch"}, headers=sup)
    assert r.status_code == 400
    await agent_login(client, tenant, "agent1")
    r = await client.put(url, json={"state": "not_ready", "reason": "Nope"}, headers=sup)
    assert r.status_code == 400
    r = await client.put(STATS + "/agents/nobody/state", json={"state": "ready"}, headers=sup)
    assert r.status_code == 404
    r = await client.put(url, content=b"state=ready", headers=sup)
    assert r.status_code in (400, 415)
    client.cookies.clear()  # the wallboard's session cookie
    r = await client.put(url, json={"state": "ready"})
    assert r.status_code == 401


async def test_agents_may_not_supervise(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await agent_login(client, tenant, "agent1", ready=True)
    r = await client.post(
        STATS + "/auth",
        json={"tenant_url": tenant.domain, "username": "agent2", "password": PASSWORD},
    )
    if r.status_code == 200:
        r = await client.put(
            STATS + "/agents/agent1/state",
            json={"state": "logged_out"},
            headers=auth(str(r.json()["token"])),
        )
    assert r.status_code in (401, 403)


async def test_team_messages_reach_agents(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent1")
    r = await client.get(API + "/team-messages", headers=auth(token))
    assert r.status_code == 200, r.text
    cursor = r.json()["cursor"]
    assert r.json()["items"] == []
    sup = auth(await stats_token(client, tenant, "supervisor1"))
    r = await client.post(
        STATS + "/chat_messages", json={"content": "Queue is long!", "is_urgent": True}, headers=sup
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        API + "/team-messages", params={"since": cursor, "timeout": 5}, headers=auth(token)
    )
    body = r.json()
    assert [(m["content"], m["is_urgent"]) for m in body["items"]] == [("Queue is long!", True)]
    assert body["items"][0]["name"]
    r = await client.get(
        API + "/team-messages", params={"since": body["cursor"], "timeout": 0}, headers=auth(token)
    )
    assert r.json()["items"] == []
    r = await client.get(API + "/team-messages", params={"since": "yesterday"}, headers=auth(token))
    assert r.status_code == 400
    r = await client.get(API + "/team-messages", params={"since": "2020-01-01"}, headers=auth(token))
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    assert (await client.get(API + "/team-messages")).status_code == 401


async def test_login_hints(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.get(API + "/login-hints", headers={"Host": tenant.domain})
    assert r.status_code == 200 and r.json()["tenant"] == tenant.domain


async def test_real_sockets_on_a_live_server(
    live_server_factory: Callable[..., LiveServer], tenant: TenantInfo
) -> None:
    server = live_server_factory(
        agent_disconnect_grace_seconds=0.5, agent_disconnect_logout_seconds=1.5
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        token = await agent_login(http, tenant, "agent1", ready=True)
        ws_url = server.base_url.replace("http", "ws") + API + "/ws"
        async with connect(ws_url, additional_headers=auth(token)) as ws:
            await ws.recv()  # hello
            assert (await state(http, token))["state"] == "ready"

        async def not_ready() -> bool:
            return (await state(http, token))["reason"] == "Disconnected"

        await wait_for(not_ready, timeout=10)

        async def logged_out() -> bool:
            return (await state(http, token))["state"] == "logged_out"

        await wait_for(logged_out, timeout=10)
