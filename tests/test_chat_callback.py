"""Calling a chat's customer back at the chat's ``phone_number`` (issue 15): automatically
when the scenario entry says so (``autoCallback``, Administration API and CLI), by hand
through the agent API otherwise; the carrier (the simulator, or Twilio's local fake)
calls the customer and connects the agent, as for an accepted GMS callback, and the
outcome is visible to the agent and in the campaign's statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from switchboard.dialer.engine import get_dialer
from switchboard.tenants.actions import update_settings
from tests.conftest import TenantInfo
from tests.test_carriers_support import Clock, FakeTwilio, clock, twilio, until
from tests.test_messaging_support import Customer, Seat, agent_login, connect_agent, offer_to
from tests.test_outbound_cli import cli

__all__ = ["clock", "twilio"]  # fixtures

ADMIN = "/adminapi/v1"
AGENT = "/agentapi/v1"
CALLER_ID = "+16505550000"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def simulator(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The runtime on the simulated carrier: no ring time; numbers scripted per test."""
    for key, value in {
        "telephony_provider": "simulated",
        "telephony_sim_ring_seconds": 0.0,
        "telephony_sim_script": {},
    }.items():
        monkeypatch.setattr(rt.settings, key, value)
    saved = rt.providers.pop("telephony", None)
    try:
        yield
    finally:
        made = rt.providers.pop("telephony", None)
        if made is not None:
            await made.close()
        if saved is not None:
            rt.providers["telephony"] = saved


async def auto_callback(client: httpx.AsyncClient, admin: dict[str, str], on: bool) -> None:
    r = await client.patch(ADMIN + "/entries/test", json={"autoCallback": on}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["autoCallback"] is on


async def chat_with_phone(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, phone: str | None, login: str
) -> tuple[Customer, Seat]:
    """A customer requests a chat (with ``phone``) and ``login`` accepts it."""
    c = Customer(client, tenant)
    body: dict[str, Any] = {"parameters": {"FIRST_NAME": "Ann"}}
    if phone is not None:
        body["phone_number"] = phone
    data = await c.start(**body)
    assert data.get("phone_number") == phone
    seat = await connect_agent(client, rt, tenant, c.chat_id, login)
    return c, seat


async def callbacks(client: httpx.AsyncClient, seat: Seat) -> list[dict[str, Any]]:
    r = await client.get(
        f"{AGENT}/interactions/{seat.interaction_id}/callbacks", headers=seat.headers
    )
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_entry_setting_through_the_api_and_the_cli(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str], migrated: Settings
) -> None:
    r = await client.get(ADMIN + "/entries/test", headers=admin_headers)
    assert r.status_code == 200 and r.json()["autoCallback"] is False
    await auto_callback(client, admin_headers, True)
    r = await client.patch(
        ADMIN + "/entries/test", json={"autoCallback": "sometimes"}, headers=admin_headers
    )
    assert r.status_code == 400 and r.json()["field"] == "autoCallback", r.text
    code, out, err = await cli(
        migrated, "admin", "entries", "update", "test", "--tenant", tenant.domain,
        "autoCallback=false",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = await cli(
        migrated, "admin", "entries", "show", "test", "--tenant", tenant.domain
    )
    assert code == 0 and '"autoCallback": false' in out, (out, err)
    r = await client.post(
        ADMIN + "/entries", json={"appId": "call-me", "autoCallback": True}, headers=admin_headers
    )
    assert r.status_code == 201 and r.json()["autoCallback"] is True


async def test_auto_callback_through_twilio(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    twilio: FakeTwilio,
    clock: Clock,
) -> None:
    """The entry calls back: once agent2 accepts the chat, Twilio calls the customer and
    bridges the agent's phone; the agent hangs up and disposes, as for a GMS callback."""
    await update_settings(rt, domain=tenant.domain, changes={"gms_callback_caller_id": CALLER_ID})
    r = await client.put(
        "/configapi/v2/user/agent2", json={"mobilePhone": "+16505550122"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    await auto_callback(client, admin_headers, True)
    customer = "+14155550701"
    _, seat = await chat_with_phone(client, rt, tenant, customer, "agent2")

    async def connected() -> list[dict[str, Any]]:
        found = await callbacks(client, seat)
        return found if found and found[0]["state"] == "connected" else []

    (cb,) = await until(connected, rt, pump=twilio.pump)
    assert cb["trigger"] == "automatic" and cb["campaign"] == "Chat callback"
    assert cb["phone"] == customer and cb["entry"]["Interaction"] == seat.interaction_id
    call = twilio.call_to(customer)
    assert call.from_ == CALLER_ID and call.bridged_to == "+16505550122"
    assert len(twilio.calls) == 1
    # the agent's realtime view of it: an open outbound attempt
    r = await client.get(f"{AGENT}/outbound/current", headers=seat.headers)
    assert [a["attemptId"] for a in r.json()] == [cb["attemptId"]]
    r = await client.post(f"{AGENT}/outbound/{cb['attemptId']}/hangup", headers=seat.headers)
    assert r.status_code == 200, r.text
    choices = (
        await client.get(f"{AGENT}/outbound/{cb['attemptId']}/dispositions", headers=seat.headers)
    ).json()
    r = await client.post(
        f"{AGENT}/outbound/{cb['attemptId']}/disposition",
        json={"disposition": choices[0]["name"], "notes": "called back"},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text
    (done,) = await callbacks(client, seat)
    assert done["state"] == "done" and done["outcome"] == "answer"
    assert done["disposition"] == choices[0]["name"] and done["notes"] == "called back"
    r = await client.get("/configapi/v2/campaign/Chat callback/statistics", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["dialed"], r.json()["answered"]) == (1, 1)
    await get_dialer(rt).tick()  # the dialer never takes a chat callback up itself
    await twilio.pump()
    assert len(twilio.calls) == 1


async def test_auto_callback_on_the_simulator(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    simulator: None,
    clock: Clock,
) -> None:
    """The simulator is the configured carrier: a busy customer ends the callback
    (dialed once), the agent may call again by hand, and that one is answered."""
    customer = "+14155550702"
    rt.settings.telephony_sim_script = {customer: ["busy"]}
    await auto_callback(client, admin_headers, True)
    _, seat = await chat_with_phone(client, rt, tenant, customer, "agent1")

    async def ended() -> list[dict[str, Any]]:
        found = await callbacks(client, seat)
        return found if found and found[0]["state"] == "done" else []

    (first,) = await until(ended, rt)
    assert first["outcome"] == "busy" and first["disposition"] == "Busy"
    assert first["trigger"] == "automatic"
    rt.settings.telephony_sim_script = {customer: ["answer"]}
    r = await client.post(
        f"{AGENT}/interactions/{seat.interaction_id}/callback", headers=seat.headers
    )
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "dialing" and r.json()["trigger"] == "manual"

    async def answered() -> list[dict[str, Any]]:
        found = await callbacks(client, seat)
        return found if len(found) == 2 and found[1]["state"] == "connected" else []

    found = await until(answered, rt)
    assert [c["trigger"] for c in found] == ["automatic", "manual"]
    assert found[1]["outcome"] == "answer" and found[1]["attemptId"] == r.json()["attemptId"]


async def test_no_callback_unless_the_entry_asks(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    twilio: FakeTwilio,
    clock: Clock,
) -> None:
    await update_settings(rt, domain=tenant.domain, changes={"gms_callback_caller_id": CALLER_ID})
    await client.put(
        "/configapi/v2/user/agent3", json={"mobilePhone": "+16505550133"}, headers=admin_headers
    )
    _, seat = await chat_with_phone(client, rt, tenant, "+14155550703", "agent3")
    await get_dialer(rt).drain()
    await twilio.pump()
    assert twilio.calls == {} and await callbacks(client, seat) == []
    # an auto-callback entry, but the customer gave no number: no call either
    await auto_callback(client, admin_headers, True)
    _, seat2 = await chat_with_phone(client, rt, tenant, None, "agent3")
    await get_dialer(rt).drain()
    await twilio.pump()
    assert twilio.calls == {} and await callbacks(client, seat2) == []
    # by hand, the first chat's number is called
    r = await client.post(
        f"{AGENT}/interactions/{seat.interaction_id}/callback", headers=seat.headers
    )
    assert r.status_code == 202, r.text
    await until(lambda: callbacks(client, seat), rt, pump=twilio.pump)
    assert twilio.call_to("+14155550703").bridged_to == "+16505550133"


async def test_manual_callback_errors(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
    simulator: None,
    clock: Clock,
) -> None:
    def refused(r: httpx.Response, status: int) -> dict[str, Any]:
        assert r.status_code == status, r.text
        body: dict[str, Any] = r.json()
        assert {"error", "message"} <= set(body), body  # the agent API's error format
        return body

    _, no_phone = await chat_with_phone(client, rt, tenant, None, "agent1")
    path = f"{AGENT}/interactions/{no_phone.interaction_id}/callback"
    body = refused(await client.post(path, headers=no_phone.headers), 409)
    assert body["code"] == "no_phone_number"
    # not this agent's interaction, an unknown one, another tenant's agent: 404
    other = await agent_login(client, tenant, "agent2", state="not_ready")
    refused(await client.post(path, headers=bearer(other)), 404)
    refused(await client.get(path + "s", headers=bearer(other)), 404)
    ghost = f"{AGENT}/interactions/00000000-0000-0000-0000-000000000000/callback"
    refused(await client.post(ghost, headers=no_phone.headers), 404)
    stranger = await agent_login(client, other_tenant, "agent1")
    refused(await client.post(path, headers=bearer(stranger)), 404)
    refused(await client.post(path, headers={}), 401)
    # a number that cannot be dialed
    _, bad = await chat_with_phone(client, rt, tenant, "not a phone", "agent1")
    r = await client.post(
        f"{AGENT}/interactions/{bad.interaction_id}/callback", headers=bad.headers
    )
    refused(r, 400)
    # one call at a time: the agent is on the first callback's line
    rt.settings.telephony_sim_script = {"+14155550704": ["answer"]}
    _, seat = await chat_with_phone(client, rt, tenant, "+14155550704", "agent1")
    first = f"{AGENT}/interactions/{seat.interaction_id}/callback"
    assert (await client.post(first, headers=seat.headers)).status_code == 202
    refused(await client.post(first, headers=seat.headers), 409)
    assert len(await callbacks(client, seat)) == 1
    # an offer not accepted yet (agent1 takes a break: the chat goes to agent2)
    r = await client.put(f"{AGENT}/state", json={"state": "not_ready"}, headers=seat.headers)
    assert r.status_code == 200, r.text
    r = await client.put(f"{AGENT}/state", json={"state": "ready"}, headers=bearer(other))
    assert r.status_code == 200, r.text
    c = Customer(client, tenant)
    await c.start(parameters={"FIRST_NAME": "Bo"}, phone_number="+14155550705")
    offered = await offer_to(rt, tenant, c.chat_id, "agent2")
    r = await client.post(f"{AGENT}/interactions/{offered}/callback", headers=bearer(other))
    refused(r, 409)


async def test_a_transferred_chat_is_not_called_again(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    simulator: None,
    clock: Clock,
) -> None:
    """The automatic callback belongs to the chat's first delivery: when it could not be
    placed (the agent was on another call), the agent the chat is transferred to calls
    nobody by accepting it."""
    first_customer, second_customer = "+14155550706", "+14155550707"
    rt.settings.telephony_sim_script = {first_customer: ["answer"], second_customer: ["answer"]}
    await auto_callback(client, admin_headers, True)
    _, seat = await chat_with_phone(client, rt, tenant, first_customer, "agent1")

    async def connected() -> list[dict[str, Any]]:
        found = await callbacks(client, seat)
        return found if found and found[0]["state"] == "connected" else []

    await until(connected, rt)
    # agent1 is on that call: the second chat's automatic callback is not placed
    _, busy = await chat_with_phone(client, rt, tenant, second_customer, "agent1")
    await get_dialer(rt).drain()
    assert await callbacks(client, busy) == []
    colleague = await agent_login(client, tenant, "agent2")
    r = await client.post(
        f"{AGENT}/interactions/{busy.interaction_id}/transfer",
        json={"agent": "agent2"},
        headers=busy.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{AGENT}/interactions/{r.json()['interaction_id']}/accept", headers=bearer(colleague)
    )
    assert r.status_code == 200, r.text
    await get_dialer(rt).drain()
    r = await client.get(
        f"{AGENT}/interactions/{busy.interaction_id}/callbacks", headers=bearer(colleague)
    )
    assert r.status_code == 200 and r.json() == []
    # by hand, agent2 may
    r = await client.post(
        f"{AGENT}/interactions/{busy.interaction_id}/callback", headers=bearer(colleague)
    )
    assert r.status_code == 202 and r.json()["phone"] == second_customer
