"""Issue 11: the demo tenant's SMS number is the seed's ``From`` number (16502505674, seed
003's SMS/MMS examples). A customer's text to it, as a carrier's webhook delivers it,
opens a chat on the demo chat entry (appId ``test``), and the next text continues it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.tenants.demo import SMS_NUMBER
from tests.conftest import TenantInfo
from tests.test_sms_support import SMS, unique_number

SEED_FROM = "16502505674"
SECRET = "hook-secret-demo"


async def test_a_text_to_the_seed_number_lands_on_the_demo_chat_entry(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SMS_NUMBER == SEED_FROM
    monkeypatch.setattr(rt.settings, "sms_inbound_secret", SECRET)
    customer = unique_number()
    # every test tenant is a demo tenant with this number: ?tenant= picks this one
    r = await client.post(
        f"{SMS}/inbound",
        params={"tenant": tenant.domain},
        data={"From": customer, "To": "+" + SEED_FROM, "Body": "Hi there", "MessageSid": "SMd1"},
        headers={"X-Webhook-Secret": SECRET},
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["is_new_chat"] is True and first["chat_id"]
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, first["chat_id"])
        assert chat is not None and chat.tenant_id == tenant.tenant_id
        assert chat.phone_number == customer
        entry = (
            await s.execute(select(ScenarioEntry).where(ScenarioEntry.id == chat.entry_id))
        ).scalar_one()
    assert entry.tenant_id == tenant.tenant_id and entry.app_id == "test"
    # the number as the seed writes it (no +): the same customer's next text, same chat
    r = await client.post(
        f"{SMS}/inbound",
        params={"tenant": tenant.domain},
        json={"From": customer, "To": SEED_FROM, "Body": "Are you there?"},
        headers={"X-Webhook-Secret": SECRET},
    )
    assert r.status_code == 200, r.text
    assert r.json()["chat_id"] == first["chat_id"] and r.json()["is_new_chat"] is False
