"""SMS replies into chats: the inbound webhook (secret, errors), a chat created and then
continued by the customer's messages, the agent's replies going out by SMS, numbers
without a chat entry, closed hours with an automatic reply, and delivery reports."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import HoursOfOperation, ScenarioEntry
from switchboard.sms.models import SmsMessage
from switchboard.tenants.models import Tenant
from tests.conftest import TenantInfo
from tests.test_agent_support import (
    API,
    agent_login,
    auth,
    cursor_of,
    customer_log,
    next_frame,
)
from tests.test_sms_support import (
    DEMO_NUMBER,
    SMS,
    add_access_number,
    unique_number,
    wait_sent,
    wait_status,
)

SECRET = "hook-secret-123"


@pytest.fixture
def webhook(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(rt.settings, "sms_inbound_secret", SECRET)
    return {"X-Webhook-Secret": SECRET}


async def test_webhook_secret(
    client: httpx.AsyncClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = {"From": "+14155550100", "To": DEMO_NUMBER, "Body": "hi"}
    r = await client.post(f"{SMS}/inbound", json=payload)
    assert r.status_code == 403 and r.json()["error_code"] == "20403"  # disabled
    monkeypatch.setattr(rt.settings, "sms_inbound_secret", SECRET)
    for headers in ({}, {"X-Webhook-Secret": "wrong"}, {"Authorization": "Bearer wrong"}):
        r = await client.post(f"{SMS}/inbound", json=payload, headers=headers)
        assert r.status_code == 401 and r.json()["error_code"] == "20401"
    r = await client.post(f"{SMS}/status", data={"MessageSid": "x", "MessageStatus": "sent"})
    assert r.status_code == 401


async def test_inbound_errors(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    webhook: dict[str, str],
) -> None:
    ok = {"From": "+14155550100", "To": unique_number(), "Body": "hi"}
    cases = [
        ({**ok, "From": ""}, 400, "21603"),
        ({**ok, "To": None}, 400, "21604"),
        ({**ok, "To": 5}, 400, "21604"),
        ({**ok, "From": "nobody"}, 400, "21212"),
        ({**ok, "To": "x"}, 400, "21211"),
        (ok, 404, "21606"),  # not an access number of any tenant
    ]
    for payload, status, code in cases:
        r = await client.post(f"{SMS}/inbound", json=payload, headers=webhook)
        assert r.status_code == status, (payload, r.text)
        assert r.json()["error_code"] == code
    # both demo tenants have 16505555555: ambiguous without ?tenant=
    r = await client.post(f"{SMS}/inbound", json={**ok, "To": DEMO_NUMBER}, headers=webhook)
    assert r.status_code == 400 and "tenant" in r.json()["error_message"]
    r = await client.post(
        f"{SMS}/inbound",
        params={"tenant": tenant.domain},
        json={**ok, "To": DEMO_NUMBER},
        headers=webhook,
    )
    assert r.status_code == 200, r.text
    assert r.json()["chat_id"] is None  # its scenario "Main Inbound" is no chat entry
    r = await client.post(
        f"{SMS}/inbound", content=b"{", headers={**webhook, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(
        f"{SMS}/inbound", content=b"x", headers={**webhook, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415


async def test_reply_creates_and_continues_a_chat_and_agents_answer_by_sms(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    webhook: dict[str, str],
    rt: Runtime,
) -> None:
    access = await add_access_number(rt, tenant, scenario="test")  # the demo chat entry
    customer = unique_number()
    token = await agent_login(client, tenant, "agent1", ready=True)
    cursor = await cursor_of(client, token)
    # the carrier's webhook, Twilio style (form, MessageSid, MediaUrl0)
    r = await client.post(
        f"{SMS}/inbound",
        data={
            "From": customer,
            "To": access,
            "Body": "Hello, I need help",
            "MessageSid": "SM123",
            "NumMedia": "1",
            "MediaUrl0": "https://media.example.com/photo.jpg",
        },
        headers=webhook,
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["is_new_chat"] is True and first["status"] == "received"
    chat_id = first["chat_id"]
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
        assert chat is not None and chat.tenant_id == tenant.tenant_id
        assert chat.phone_number == customer and chat.state in ("queued", "connecting")
    r = await client.get(f"{SMS}/Messages/{first['sid']}", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["direction"] == "inbound" and r.json()["num_media"] == "1"
    assert r.json()["from"] == customer
    # the agent gets the chat and answers
    offer, cursor, _ = await next_frame(client, token, cursor, "offer", match={"chat_id": chat_id})
    iid = str(offer["interaction_id"])
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(token))
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/interactions/{iid}/messages",
        json={"msg": "Hi! Alice here, how can I help?"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    await wait_sent(rt, customer, "Alice here")
    # the customer's next SMS continues the same chat
    r = await client.post(
        f"{SMS}/inbound",
        params={"secret": SECRET},
        json={"From": customer.lstrip("+"), "To": access, "Body": "My router is broken"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**r.json(), "chat_id": chat_id, "is_new_chat": False}
    texts = [e.get("msg") for e in await customer_log(rt, chat_id) if e.get("msg")]
    assert texts[0] == "Hello, I need help\nhttps://media.example.com/photo.jpg"
    assert "My router is broken" in texts and "Hi! Alice here, how can I help?" in texts
    async with rt.db.read() as s:
        replies = (
            (
                await s.execute(
                    select(SmsMessage).where(
                        SmsMessage.chat_id == chat_id, SmsMessage.direction == "outbound-reply"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [m.body for m in replies] == ["Hi! Alice here, how can I help?"]
    assert replies[0].from_e164 == access and replies[0].to_e164 == customer
    done = await wait_status(client, admin_headers, replies[0].id, "delivered")
    assert done["direction"] == "outbound-reply"
    # the agent ends the chat: the next SMS starts a new one
    r = await client.post(f"{API}/interactions/{iid}/end", headers=auth(token))
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{SMS}/inbound",
        json={"From": customer, "To": access, "Body": "Me again"},
        headers=webhook,
    )
    assert r.status_code == 200
    assert r.json()["is_new_chat"] is True and r.json()["chat_id"] != chat_id


async def test_closed_hours_reply_and_no_chat(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
    webhook: dict[str, str],
    rt: Runtime,
) -> None:
    access = await add_access_number(rt, tenant, scenario="Test Chat")  # by entry name
    customer = unique_number()
    async with rt.db.write() as s:
        closed = HoursOfOperation(tenant_id=tenant.tenant_id, name="Never", weekly={})
        s.add(closed)
        await s.flush()
        await s.execute(
            update(ScenarioEntry)
            .where(ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test")
            .values(hours_id=closed.id)
        )
        row = await s.get(Tenant, tenant.tenant_id)
        assert row is not None
        row.settings = {**(row.settings or {}), "sms_closed_reply": "We are closed."}
    r = await client.post(
        f"{SMS}/inbound", json={"From": customer, "To": access, "Body": "anyone?"}, headers=webhook
    )
    assert r.status_code == 200, r.text
    assert r.json()["chat_id"] is None and r.json()["status"] == "received"
    await wait_sent(rt, customer, "We are closed.")
    # the inbound message is kept
    r = await client.get(f"{SMS}/Messages/{r.json()['sid']}", headers=admin_headers)
    assert r.status_code == 200 and r.json()["body"] == "anyone?"


async def test_delivery_report_webhook(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    webhook: dict[str, str],
) -> None:
    r = await client.post(
        f"{SMS}/Messages",
        json={
            "To": unique_number(),
            "From": DEMO_NUMBER,
            "MediaUrls": ["https://media.example.com/a.png"],
        },
        headers=admin_headers,
    )
    sid = r.json()["sid"]
    await wait_status(client, admin_headers, sid, "sent")
    provider_sid = "FAKE" + sid.replace("-", "")
    r = await client.post(
        f"{SMS}/status",
        data={"MessageSid": provider_sid, "MessageStatus": "delivered"},
        headers=webhook,
    )
    assert r.status_code == 200 and r.json() == {"known": True}
    r = await client.get(f"{SMS}/Messages/{sid}", headers=admin_headers)
    assert r.json()["status"] == "delivered"
    r = await client.post(
        f"{SMS}/status", data={"MessageSid": "SMnope", "MessageStatus": "failed"}, headers=webhook
    )
    assert r.json() == {"known": False}
    r = await client.post(f"{SMS}/status", data={"MessageSid": "x"}, headers=webhook)
    assert r.status_code == 400
