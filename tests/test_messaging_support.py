"""Helpers shared by the Messaging API tests (this module holds no tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update

from switchboard.api.messaging.auth import clear_cache
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import HoursOfOperation, ScenarioEntry
from switchboard.tenants.models import Tenant
from switchboard.users.models import User
from tests.conftest import TenantInfo

V1 = "/clientweb/api/v1"
V2 = "/clientweb/api/v2"


def auth(client_id: str | None = None, app_id: str = "test", *, quoted: bool = True) -> str:
    cid = client_id or str(uuid.uuid4())
    if quoted:
        return f'MOBILE-API-140-327-PLAIN appId="{app_id}", clientId="{cid}"'
    return f"MOBILE-API-140-327-PLAIN appId={app_id}, clientId={cid}"


class Customer:
    """One messaging client (a device): its id, its tenant, and the calls it makes."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tenant: TenantInfo,
        client_id: str | None = None,
        *,
        version: str = V2,
        app_id: str = "test",
    ) -> None:
        self.http = http
        self.tenant = tenant
        self.client_id = client_id or str(uuid.uuid4())
        self.version = version
        self.app_id = app_id
        self.chat_id = ""

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": auth(self.client_id, self.app_id),
            "UserAgent": "MobileClient",
        }

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"tenantUrl": self.tenant.domain, **extra}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        params = self.params(**kw.pop("params", {}))
        return await self.http.get(self.version + path, params=params, headers=self.headers, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        params = self.params(**kw.pop("params", {}))
        return await self.http.post(
            self.version + path, params=params, headers=self.headers, json=body, **kw
        )

    async def start(self, **body: Any) -> dict[str, Any]:
        r = await self.post("/chats", body or {"parameters": {"FIRST_NAME": "Ann"}})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        self.chat_id = data["chat_id"]
        return data

    async def poll(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.get(f"/chats/{self.chat_id}/events", params=params)
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events

    async def send(self, *events: dict[str, Any]) -> httpx.Response:
        return await self.post(f"/chats/{self.chat_id}/events", {"events": list(events)})

    async def say(self, text: str) -> list[dict[str, Any]]:
        r = await self.send({"event": "chat_session_message", "msg": text})
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events


def error_of(r: httpx.Response) -> tuple[int, str]:
    body = r.json()
    assert set(body) == {"error_code", "error_message"}, body
    assert isinstance(body["error_code"], str)
    return r.status_code, body["error_code"]


async def user_id(rt: Runtime, tenant: TenantInfo, login: str = "agent1") -> str:
    async with rt.db.read() as s:
        found: str = (
            await s.execute(
                select(User.id).where(User.tenant_id == tenant.tenant_id, User.login_id == login)
            )
        ).scalar_one()
        return found


AGENT_API = "/agentapi/v1"


@dataclass
class Seat:
    """An agent in a chat, acting through the agent API (the desktop's calls)."""

    http: httpx.AsyncClient
    token: str
    interaction_id: str
    party_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, action: str, body: Any = None) -> httpx.Response:
        return await self.http.post(
            f"{AGENT_API}/interactions/{self.interaction_id}/{action}",
            json=body,
            headers=self.headers,
        )

    async def say(self, text: str) -> int:
        r = await self.post("messages", {"msg": text})
        assert r.status_code == 200, r.text
        seq: int = r.json()["seq"]
        return seq

    async def end(self, **body: Any) -> None:
        r = await self.post("end", body or None)
        assert r.status_code == 200, r.text


async def agent_login(
    http: httpx.AsyncClient, tenant: TenantInfo, login: str = "agent1", state: str = "ready"
) -> str:
    r = await http.post(
        f"{AGENT_API}/login",
        json={"tenant": tenant.domain, "loginId": login, "password": tenant.password, "state": state},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def offer_to(rt: Runtime, tenant: TenantInfo, chat_id: str, login: str = "agent1") -> str:
    """The chat is offered to ``login`` (ready, with room): by the routing claim of that
    pair (what a routing pass does), or by a routing pass that holds the chat's row
    meanwhile (the claim skips a locked row; that pass's offer then wakes
    ``agent:<user>`` once committed). Returns the offered interaction's id."""
    from switchboard.agents.actions import agent_topic
    from switchboard.interactions.actions import claim_chat
    from switchboard.interactions.models import OFFERED, Interaction, InteractionStep

    uid = await user_id(rt, tenant, login)
    query = (
        select(Interaction.id)
        .join(InteractionStep, InteractionStep.interaction_id == Interaction.id)
        .where(
            Interaction.chat_id == chat_id,
            InteractionStep.user_id == uid,
            InteractionStep.phase == OFFERED,
        )
    )
    async with rt.bus.listen([agent_topic(uid)]) as waiter:
        await claim_chat(rt, tenant_id=tenant.tenant_id, chat_id=chat_id, user_id=uid)
        for _ in range(50):
            async with rt.db.read() as s:
                interaction_id = (await s.execute(query)).scalar_one_or_none()
            if interaction_id is not None:
                return interaction_id
            await waiter.wait(1.0)
    raise AssertionError("the chat was not offered to " + login)


async def connect_agent(
    http: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    chat_id: str,
    login: str = "agent1",
    *,
    token: str | None = None,
) -> Seat:
    """The agent logs in (ready) and accepts the chat once offered (``offer_to``)."""
    token = token or await agent_login(http, tenant, login)
    interaction_id = await offer_to(rt, tenant, chat_id, login)
    r = await http.post(
        f"{AGENT_API}/interactions/{interaction_id}/accept",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return Seat(http, token, interaction_id, r.json()["party_id"])


async def update_entry(rt: Runtime, tenant: TenantInfo, **values: Any) -> None:
    async with rt.db.write() as s:
        await s.execute(
            update(ScenarioEntry)
            .where(ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test")
            .values(**values)
        )
    clear_cache(rt)  # the API caches entries for a moment


async def set_hours(rt: Runtime, tenant: TenantInfo, **values: Any) -> None:
    """Give the ``test`` entry hours of its own with ``values``."""
    async with rt.db.write() as s:
        hours = HoursOfOperation(tenant_id=tenant.tenant_id, name="Test hours", **values)
        s.add(hours)
        await s.flush()
        await s.execute(
            update(ScenarioEntry)
            .where(ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test")
            .values(hours_id=hours.id)
        )
    clear_cache(rt)


async def set_tenant_setting(rt: Runtime, tenant: TenantInfo, key: str, value: Any) -> None:
    async with rt.db.write() as s:
        row = await s.get(Tenant, tenant.tenant_id)
        assert row is not None
        row.settings = {**(row.settings or {}), key: value}
    clear_cache(rt)
