"""Helpers of the agent and routing tests (this module has no tests of its own)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import select, update

from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.services.models import Service
from switchboard.tenants.models import Tenant
from tests.conftest import PASSWORD, TenantInfo

API = "/agentapi/v1"
MSG = "/clientweb/api/v2"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def agent_login(
    client: httpx.AsyncClient, tenant: TenantInfo, login: str, *, ready: bool = False
) -> str:
    r = await client.post(
        API + "/login",
        json={"tenant": tenant.domain, "loginId": login, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    token = str(r.json()["access_token"])
    if ready:
        r = await client.put(API + "/state", json={"state": "ready"}, headers=auth(token))
        assert r.status_code == 200, r.text
    return token


async def configure(
    rt: Runtime,
    tenant: TenantInfo,
    *,
    settings: dict[str, Any] | None = None,
    acw_seconds: int | None = None,
    relaxation: list[dict[str, Any]] | None = None,
) -> None:
    """Tenant routing settings and the chat service's knobs (test set-up)."""
    async with rt.db.write() as s:
        if settings:
            tenant_row = await s.get(Tenant, tenant.tenant_id)
            assert tenant_row is not None
            tenant_row.settings = {**(tenant_row.settings or {}), **settings}
        values: dict[str, Any] = {}
        if acw_seconds is not None:
            values["acw_timeout_seconds"] = acw_seconds
        if relaxation is not None:
            values["relaxation"] = relaxation
        if values:
            await s.execute(
                update(Service)
                .where(Service.tenant_id == tenant.tenant_id, Service.name == "Chat Service")
                .values(**values)
            )


async def entry_for(
    rt: Runtime, tenant: TenantInfo, *, skills: dict[str, int] | None = None, priority: int = 0
) -> str:
    """The app id of a scenario entry like the demo's ``test`` one but with these
    requested skills and priority (created once; entries are cached by the server)."""
    if not skills and not priority:
        return "test"
    app_id = f"t-p{priority}-" + "-".join(f"{k}{v}" for k, v in sorted((skills or {}).items()))
    async with rt.db.write() as s:
        base = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test"
                )
            )
        ).scalar_one()
        found = (
            await s.execute(
                select(ScenarioEntry.id).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == app_id
                )
            )
        ).first()
        if found is None:
            s.add(
                ScenarioEntry(
                    tenant_id=tenant.tenant_id,
                    app_id=app_id,
                    name=app_id,
                    service_id=base.service_id,
                    hours_id=base.hours_id,
                    expected_parameters=base.expected_parameters,
                    requested_skills=dict(skills or {}),
                    priority=priority,
                    widget_configuration={},
                )
            )
    return app_id


def mobile_headers(client_id: str, app_id: str = "test") -> dict[str, str]:
    return {
        "Authorization": f'MOBILE-API-140-327-PLAIN appId="{app_id}", clientId="{client_id}"',
        "UserAgent": "MobileClient",
    }


async def new_chat(
    rt: Runtime,
    client: httpx.AsyncClient | None,
    tenant: TenantInfo,
    client_id: str,
    *,
    skills: dict[str, int] | None = None,
    priority: int = 0,
    parameters: dict[str, Any] | None = None,
) -> str:
    """A customer requests a chat (Messaging API when mounted, else the chat engine)."""
    app_id = await entry_for(rt, tenant, skills=skills, priority=priority)
    if client is not None and _MOUNTED.get(id(client._transport), True):
        r = await client.post(
            MSG + "/chats",
            params={"tenantUrl": tenant.domain},
            json={"parameters": parameters or {"FIRST_NAME": "Cust", "LAST_NAME": client_id}},
            headers=mobile_headers(client_id, app_id),
        )
        if r.status_code != 404 or "5005" in r.text or "5006" in r.text:
            assert r.status_code == 200, r.text
            return str(r.json()["chat_id"])
        _MOUNTED[id(client._transport)] = False  # no Messaging API in this build
    from switchboard.interactions.actions import request_chat

    async with rt.db.read() as s:
        entry = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == app_id
                )
            )
        ).scalar_one()
    made = await request_chat(
        rt,
        tenant_id=tenant.tenant_id,
        entry=entry,
        client_key=client_id,
        user_agent="MobileClient",
        phone_number=None,
        from_address=None,
        parameters=parameters or {"FIRST_NAME": "Cust", "LAST_NAME": client_id},
        initial_message=None,
        poll_abandon_seconds=600,
    )
    return made.chat.id


_MOUNTED: dict[int, bool] = {}


async def next_frame(
    client: httpx.AsyncClient,
    token: str,
    cursor: str,
    want: str,
    *,
    timeout: float = 10.0,
    match: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """Long-poll the agent channel until a frame of type ``want`` (matching ``match``)
    arrives; returns it, the cursor after it and every frame seen on the way."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await client.get(
            API + "/events", params={"cursor": cursor, "timeout": 1}, headers=auth(token)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        for f in body["events"]:
            seen.append(f)
            cursor = f["cursor"]
            if f["type"] == want and all(
                (f.get(k) if k != "event" else f.get("event", {}).get("event")) == v
                for k, v in (match or {}).items()
            ):
                return f, cursor, seen
        cursor = body["cursor"]
    raise AssertionError(f"no {want} frame within {timeout}s; saw {[f['type'] for f in seen]}")


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def set_capacity(rt: Runtime, tenant: TenantInfo, login: str, capacity: int) -> None:
    from switchboard.users.models import User

    async with rt.db.write() as s:
        await s.execute(
            update(User)
            .where(User.tenant_id == tenant.tenant_id, User.login_id == login)
            .values(chat_capacity=capacity)
        )


async def cursor_of(client: httpx.AsyncClient, token: str) -> str:
    r = await client.get(API + "/me", headers=auth(token))
    assert r.status_code == 200, r.text
    return str(r.json()["cursor"])


async def held(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await client.get(API + "/interactions", headers=auth(token))
    assert r.status_code == 200, r.text
    return list(r.json()["interactions"])


async def chat_state(rt: Runtime, chat_id: str) -> str:
    from switchboard.chats.models import ChatSession

    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
        assert chat is not None
        return chat.state


async def connected_chat(
    rt: Runtime,
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    login: str = "agent1",
    *,
    client_id: str = "cust",
    token: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> tuple[str, str, str, str, str]:
    """An agent with an accepted chat: (token, interaction id, chat id, party id, cursor)."""
    token = token or await agent_login(client, tenant, login, ready=True)
    cursor = await cursor_of(client, token)
    chat_id = await new_chat(rt, client, tenant, client_id, parameters=parameters)
    offer, cursor, _ = await next_frame(client, token, cursor, "offer", match={"chat_id": chat_id})
    iid = str(offer["interaction_id"])
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(token))
    assert r.status_code == 200, r.text
    return token, iid, chat_id, str(r.json()["party_id"]), cursor


async def customer_sends(
    rt: Runtime,
    tenant: TenantInfo,
    chat_id: str,
    client_id: str,
    *events: dict[str, Any],
    http: httpx.AsyncClient | None = None,
) -> None:
    """The customer's events: through the Messaging API of ``http`` (a live server: it
    wakes the agents it serves), else the engine's operation in this process."""
    if http is not None:
        r = await http.post(
            f"{MSG}/chats/{chat_id}/events",
            params={"tenantUrl": tenant.domain},
            json={"events": list(events)},
            headers=mobile_headers(client_id),
        )
        assert r.status_code == 200, r.text
        return
    from switchboard.interactions.actions import customer_events

    await customer_events(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, client_key=client_id, events=list(events)
    )


async def customer_log(rt: Runtime, chat_id: str) -> list[dict[str, Any]]:
    from switchboard.chats.events import render
    from switchboard.chats.service import events_after

    async with rt.db.read() as s:
        rows = await events_after(session=s, chat_id=chat_id, after_seq=0)
        return [render(r, chat_id) for r in rows]
