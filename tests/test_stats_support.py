"""Helpers of the statistics tests (this module has no tests of its own).

A scripted day drives customers through the Messaging API (or the chat engine's actions
when that API is not mounted) and agents through the agent API ``/agentapi/v1``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.services.models import Service
from switchboard.stats.engine import get_engine
from switchboard.teams.models import Team, team_supervisors
from switchboard.tenants.models import Tenant
from switchboard.users.models import User
from tests.conftest import PASSWORD, TenantInfo

STATS = "/statsapi"
AGENT = "/agentapi/v1"
MSG = "/clientweb/api/v2"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def fast_stats(rt: Runtime, refresh: float = 0.05) -> AsyncIterator[None]:
    """Shorten the refresh intervals of the statistics engine for one test."""
    settings = get_engine(rt).settings
    names = ("refresh_seconds", "day_refresh_seconds", "chart_refresh_seconds")
    before = {n: getattr(settings, n) for n in (*names, "fold_margin_seconds")}
    for n in names:
        setattr(settings, n, refresh)
    # finished records are folded into the day's sums after 0.3 s (not 60 s): the tests
    # exercise the incremental sums and compare them with a computation from scratch
    settings.fold_margin_seconds = 0.3
    try:
        yield
    finally:
        for n, v in before.items():
            setattr(settings, n, v)


async def stats_login(
    client: httpx.AsyncClient, tenant: TenantInfo, login: str = "supervisor1"
) -> str:
    r = await client.post(
        STATS + "/auth",
        json={"tenant_url": tenant.domain, "username": login, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def subscribe(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> None:
    r = await client.post(STATS + "/subscription", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text


async def data(
    client: httpx.AsyncClient, token: str, *, after: float | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """Poll subscription/data until it answers 200 with a snapshot computed after
    ``after`` (a ``time.time()``), and return the body."""
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(STATS + "/subscription/data", headers=bearer(token))
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200:
            computed = float(r.headers["X-Stats-Computed-At"])
            if after is None or computed > after:
                body: dict[str, Any] = r.json()
                return body
        if time.monotonic() > deadline:
            raise AssertionError("no fresh statistics in time")
        await asyncio.sleep(0.03)


async def agent_login(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    login: str,
    *,
    state: str = "ready",
    reason: str | None = None,
) -> str:
    r = await client.post(
        AGENT + "/login",
        json={"tenant": tenant.domain, "loginId": login, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    token = str(r.json()["access_token"])
    await set_state(client, token, state, reason)
    return token


async def set_state(
    client: httpx.AsyncClient, token: str, state: str, reason: str | None = None
) -> None:
    body: dict[str, Any] = {"state": state}
    if reason:
        body["reason"] = reason
    r = await client.put(AGENT + "/state", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text


def mobile_headers(client_id: str) -> dict[str, str]:
    return {
        "Authorization": f'MOBILE-API-140-327-PLAIN appId="test", clientId="{client_id}"',
        "UserAgent": "MobileClient",
    }


_MOUNTED: dict[int, bool] = {}


async def messaging_mounted(client: httpx.AsyncClient) -> bool:
    key = id(client._transport)
    if key not in _MOUNTED:
        r = await client.get("/openapi.json")
        _MOUNTED[key] = any(p.startswith(MSG) for p in r.json().get("paths", {}))
    return _MOUNTED[key]


async def customer_chat(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo, client_id: str
) -> str:
    """A customer requests a chat on the demo entry ``test`` (the Chat Service)."""
    if await messaging_mounted(client):
        r = await client.post(
            MSG + "/chats",
            params={"tenantUrl": tenant.domain},
            json={"parameters": {"FIRST_NAME": "Cust", "LAST_NAME": client_id}},
            headers=mobile_headers(client_id),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["chat_id"])
    from switchboard.chats.actions import create_chat

    async with rt.db.read() as s:
        entry = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test"
                )
            )
        ).scalar_one()
    made = await create_chat(
        rt,
        tenant_id=tenant.tenant_id,
        entry=entry,
        client_key=client_id,
        user_agent="MobileClient",
        phone_number=None,
        from_address=None,
        parameters={"FIRST_NAME": "Cust", "LAST_NAME": client_id},
        initial_message=None,
        poll_abandon_seconds=600,
    )
    return made.chat.id


async def customer_leaves(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo, client_id: str, chat_id: str
) -> None:
    if await messaging_mounted(client):
        r = await client.post(
            f"{MSG}/chats/{chat_id}/events",
            params={"tenantUrl": tenant.domain},
            json={"events": [{"event": "chat_session_end"}]},
            headers=mobile_headers(client_id),
        )
        assert r.status_code == 200, r.text
        return
    from switchboard.chats.actions import post_client_events

    await post_client_events(
        rt,
        tenant_id=tenant.tenant_id,
        chat_id=chat_id,
        client_key=client_id,
        events=[{"event": "chat_session_end"}],
    )


async def next_offer(
    client: httpx.AsyncClient, token: str, chat_id: str, timeout: float = 10.0
) -> str:
    """Wait until the chat is offered to this agent; returns the interaction id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await client.get(AGENT + "/interactions", headers=bearer(token))
        assert r.status_code == 200, r.text
        for item in r.json()["interactions"]:
            if item.get("chat_id") == chat_id and item["mine"]["phase"] == "offered":
                return str(item["id"])
        await asyncio.sleep(0.03)
    raise AssertionError(f"chat {chat_id} was not offered in time")


async def answer(client: httpx.AsyncClient, token: str, chat_id: str) -> str:
    iid = await next_offer(client, token, chat_id)
    r = await client.post(f"{AGENT}/interactions/{iid}/accept", headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{AGENT}/interactions/{iid}/messages", json={"msg": "Hello!"}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return iid


async def end_chat(
    client: httpx.AsyncClient, token: str, iid: str, disposition: str | None = None
) -> None:
    body: dict[str, Any] = {}
    if disposition:
        body["disposition"] = disposition
    r = await client.post(f"{AGENT}/interactions/{iid}/end", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text


async def complete(client: httpx.AsyncClient, token: str, iid: str) -> None:
    r = await client.post(f"{AGENT}/interactions/{iid}/complete", headers=bearer(token))
    assert r.status_code == 200, r.text


# ---- configuration set-up (what an administrator configures) ---------------------------


async def configure_service(rt: Runtime, tenant: TenantInfo, **values: Any) -> str:
    """Set columns of the demo Chat Service; returns its id."""
    async with rt.db.write() as s:
        if values:
            await s.execute(
                update(Service)
                .where(Service.tenant_id == tenant.tenant_id, Service.name == "Chat Service")
                .values(**values)
            )
        return str(
            (
                await s.execute(
                    select(Service.id).where(
                        Service.tenant_id == tenant.tenant_id, Service.name == "Chat Service"
                    )
                )
            ).scalar_one()
        )


async def tenant_settings(rt: Runtime, tenant: TenantInfo, **values: Any) -> None:
    async with rt.db.write() as s:
        row = await s.get(Tenant, tenant.tenant_id)
        assert row is not None
        for key in ("timezone", "daily_reset_time"):
            if key in values:
                setattr(row, key, values.pop(key))
        row.settings = {**(row.settings or {}), **values}


async def ids(rt: Runtime, tenant: TenantInfo) -> dict[str, str]:
    """Ids of the demo teams, services and users, by name / login."""
    out: dict[str, str] = {}
    async with rt.db.read() as s:
        for model, col in ((Team, Team.name), (Service, Service.name), (User, User.login_id)):
            for row_id, name in (
                await s.execute(select(model.id, col).where(model.tenant_id == tenant.tenant_id))
            ).all():
                out[name] = row_id
    return out


async def set_capacity(rt: Runtime, tenant: TenantInfo, login: str, capacity: int) -> None:
    async with rt.db.write() as s:
        await s.execute(
            update(User)
            .where(User.tenant_id == tenant.tenant_id, User.login_id == login)
            .values(chat_capacity=capacity)
        )


async def create_supervisor(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    login: str,
    *,
    team: str,
    supervises: list[str],
    roles: list[str] | None = None,
) -> None:
    r = await client.post(
        "/configapi/v2/user",
        json={
            "loginId": login,
            "password": PASSWORD,
            "firstName": "Second",
            "lastName": "Supervisor",
            "team": team,
            "roles": roles or ["Supervisor"],
        },
        headers=admin_headers,
    )
    assert r.status_code in (200, 201), r.text
    known = await ids(rt, tenant)
    async with rt.db.write() as s:
        for name in supervises:
            await s.execute(
                insert(team_supervisors).values(team_id=known[name], user_id=known[login])
            )
