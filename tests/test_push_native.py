"""Push notifications through the vendors' services, each a local fake that checks what
the real one checks: APNs (HTTP/2, ES256 provider token of the tenant's key, topic,
4 KB) and FCM HTTP v1 (OAuth2 access token from the tenant's service account); invalid
tokens are removed; other refusals keep the subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from switchboard.chats.models import ChatPushSubscription
from switchboard.core.runtime import Runtime
from switchboard.tenants.actions import update_settings
from tests.conftest import TenantInfo
from tests.test_carriers_support import serve
from tests.test_messaging_support import Customer, connect_agent
from tests.test_push_support import FakeApns, FakeFcm, apns_key, serve_h2

TEAM = "TEAM123456"
BUNDLE = "com.example.app"


@pytest.fixture
async def services(rt: Runtime) -> AsyncIterator[tuple[FakeApns, FakeFcm]]:
    apns, fcm = FakeApns(), FakeFcm()
    async with serve_h2(apns.app()) as apns_url, serve(fcm.app()) as fcm_url:
        fcm.base_url = fcm_url
        rt.providers.pop("push", None)
        saved = (rt.settings.push_apns_url, rt.settings.push_fcm_url)
        rt.settings.push_apns_url, rt.settings.push_fcm_url = apns_url, fcm_url
        try:
            yield apns, fcm
        finally:
            rt.settings.push_apns_url, rt.settings.push_fcm_url = saved
            for key in [k for k in rt.providers if k.startswith("push.native.")]:
                native = rt.providers.pop(key)
                for sender in (native.apns, native.fcm):
                    if sender is not None:
                        await sender.close()


async def subscription(rt: Runtime, chat_id: str) -> ChatPushSubscription | None:
    async with rt.db.read() as s:
        return (
            await s.execute(
                select(ChatPushSubscription).where(ChatPushSubscription.chat_id == chat_id)
            )
        ).scalar_one_or_none()


async def test_apns(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    services: tuple[FakeApns, FakeFcm],
    tmp_path: Path,
) -> None:
    apns, _ = services
    kid, key_file = apns_key(tmp_path, apns, TEAM, BUNDLE)
    await update_settings(
        rt,
        domain=tenant.domain,
        changes={
            "push_provider": "native",
            "push_apns_team_id": TEAM,
            "push_apns_key_id": kid,
            "push_apns_key_file": str(key_file),
            "push_apns_environment": "sandbox",
        },
    )
    device = "a1" * 32
    apns.devices[device] = BUNDLE
    c = Customer(client, tenant)
    await c.start()
    r = await c.post(
        f"/chats/{c.chat_id}/notifications",
        {"ios_apns_device_token": device, "ios_app_bundle_id": BUNDLE},
    )
    assert r.status_code == 200, r.text
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("are you there?")
    await rt.db.settle()  # the push follows the commit
    (first,) = apns.delivered
    assert first["topic"] == BUNDLE and first["token"] == device
    assert first["payload"]["aps"]["alert"]["body"] == "are you there?"
    assert first["payload"]["chat_id"] == c.chat_id
    # a long message is shortened to fit the 4 KB payload
    await seat.say("é" * 3000)
    await rt.db.settle()  # the push follows the commit
    assert len(apns.delivered) == 2 and not apns.refused
    assert apns.delivered[1]["payload"]["aps"]["alert"]["body"].startswith("éé")
    # the device is gone: APNs answers 410, the token is removed
    apns.unregistered.add(device)
    await seat.say("hello?")
    await rt.db.settle()  # the push follows the commit
    assert apns.refused == [(410, "Unregistered")]
    assert await subscription(rt, c.chat_id) is None
    await seat.say("still there?")
    await rt.db.settle()  # the push follows the commit
    assert len(apns.refused) == 1  # not tried again


async def test_apns_refusals_keep_the_subscription(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    services: tuple[FakeApns, FakeFcm],
    tmp_path: Path,
) -> None:
    apns, _ = services
    kid, key_file = apns_key(tmp_path, apns, TEAM, BUNDLE)
    await update_settings(
        rt,
        domain=tenant.domain,
        changes={
            "push_provider": "native",
            "push_apns_team_id": "OTHERTEAM1",  # not the key's team
            "push_apns_key_id": kid,
            "push_apns_key_file": str(key_file),
        },
    )
    device = "b2" * 32
    apns.devices[device] = BUNDLE
    c = Customer(client, tenant)
    await c.start()
    await c.post(
        f"/chats/{c.chat_id}/notifications",
        {"ios_apns_device_token": device, "ios_app_bundle_id": "com.other.app"},
    )
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("hi")
    await rt.db.settle()  # the push follows the commit
    assert apns.refused == [(403, "InvalidProviderToken")]
    await update_settings(rt, domain=tenant.domain, changes={"push_apns_team_id": TEAM})
    await seat.say("hi again")
    await rt.db.settle()  # the push follows the commit
    assert apns.refused[-1] == (400, "TopicDisallowed")
    assert not apns.delivered
    assert await subscription(rt, c.chat_id) is not None


async def test_fcm(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    services: tuple[FakeApns, FakeFcm],
    tmp_path: Path,
) -> None:
    _, fcm = services
    account = fcm.service_account(tmp_path, "switchboard-test")
    await update_settings(
        rt,
        domain=tenant.domain,
        changes={"push_provider": "native", "push_fcm_credentials_file": str(account)},
    )
    device = "fcm-device-token-1"
    fcm.devices.add(device)
    c = Customer(client, tenant)
    await c.start()
    await c.post(f"/chats/{c.chat_id}/notifications", {"android_firebase_device_token": device})
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("your order shipped")
    await rt.db.settle()  # the push follows the commit
    await seat.say("tracking: 123")
    await rt.db.settle()  # the push follows the commit
    assert [m["notification"]["body"] for m in fcm.delivered] == [
        "your order shipped",
        "tracking: 123",
    ]
    assert fcm.delivered[0]["data"] == {"chat_id": c.chat_id}
    assert fcm.delivered[0]["android"] == {"priority": "high"}
    assert fcm.grants == 1  # the access token is reused until it expires
    fcm.unregistered.add(device)
    await seat.say("hello?")
    await rt.db.settle()  # the push follows the commit
    assert fcm.refused == [(404, "UNREGISTERED")]
    assert await subscription(rt, c.chat_id) is None


async def test_fcm_with_a_key_google_does_not_know(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    services: tuple[FakeApns, FakeFcm],
    tmp_path: Path,
) -> None:
    _, fcm = services
    account = fcm.service_account(tmp_path, "switchboard-test")
    fcm.accounts.clear()  # the key was deleted in the Google Cloud console
    await update_settings(
        rt,
        domain=tenant.domain,
        changes={"push_provider": "native", "push_fcm_credentials_file": str(account)},
    )
    fcm.devices.add("fcm-2")
    c = Customer(client, tenant)
    await c.start()
    await c.post(f"/chats/{c.chat_id}/notifications", {"ios_firebase_device_token": "fcm-2"})
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    seq = await seat.say("hi")
    await rt.db.settle()  # the push follows the commit
    assert seq > 0  # the message itself is unaffected
    assert not fcm.delivered and fcm.grants == 0
    assert await subscription(rt, c.chat_id) is not None
