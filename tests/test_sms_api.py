"""SMS/MMS API: Send Message and Get Message in the seed's shapes, delivery through the
fake carrier (queued -> delivered, MMS stays sent, carrier failures), Do-Not-Call
compliance, exactly-once sending with several workers, and every error a caller can
cause."""

from __future__ import annotations

import asyncio
from email.utils import parsedate_to_datetime

import httpx
import pytest

from switchboard.auth.actions import login
from switchboard.core.runtime import Runtime
from switchboard.sms import actions as sms_actions
from switchboard.sms.carriers import FakeCarrier
from switchboard.users.actions import create_user, generate_api_secret
from switchboard.users.schemas import UserCreate
from tests.conftest import PASSWORD, TenantInfo, get_token, new_tenant
from tests.test_sms_support import (
    DEMO_NUMBER,
    SEED_KEYS,
    SMS,
    add_access_number,
    bearer,
    fake,
    unique_number,
    wait_status,
)

DNC = "/configapi/v2/donotcalllist"


async def test_send_message_seed_example_and_delivery(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str], rt: Runtime
) -> None:
    # the seed's "Send Message" example (its From is our demo access number)
    request = {"To": "+5219843111460", "Body": "Test message 5", "From": DEMO_NUMBER}
    r = await client.post(f"{SMS}/Messages", json=request, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == SEED_KEYS | {"tenant_id"}
    sid = body["sid"]
    assert body == {
        **body,
        "account_sid": tenant.tenant_id,
        "tenant_id": tenant.tenant_id,
        "api_version": "1",
        "body": "Test message 5",
        "num_segments": "1",
        "num_media": "0",
        "date_sent": None,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": DEMO_NUMBER,
        "price": None,
        "status": "queued",
        "to": "+5219843111460",
        "uri": f"/clientweb/smsapi/v1/Messages/{sid}",
    }
    created = parsedate_to_datetime(body["date_created"])
    assert created.utcoffset() is not None and body["date_created"].endswith("+0000")
    assert body["date_updated"] == body["date_created"]

    done = await wait_status(client, admin_headers, sid, "delivered")
    assert done["sid"] == sid and done["date_sent"] is not None
    assert parsedate_to_datetime(done["date_sent"]) >= created.replace(microsecond=0)
    sent = [m for m in fake(rt).sent if m.message_id == sid]
    assert len(sent) == 1
    assert (sent[0].from_e164, sent[0].to_e164) == ("+16505555555", "+5219843111460")


async def test_mms_and_spellings(
    client: httpx.AsyncClient, admin_headers: dict[str, str], rt: Runtime
) -> None:
    url = "https://www.example.com/images/2017-Ford-Mustang-01.jpg"
    # the seed's MMS example: no delivery report for MMS, it stays "sent"
    r = await client.post(
        f"{SMS}/Messages",
        json={"To": "+14155550101", "Body": "MMS", "From": DEMO_NUMBER, "MediaUrls": [url]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["num_media"] == "1" and r.json()["status"] == "queued"
    done = await wait_status(client, admin_headers, r.json()["sid"], "sent")
    assert done["date_sent"] is not None
    # the seed's request-body spelling "MediaURLs", media without a body
    r = await client.post(
        f"{SMS}/Messages",
        json={"To": "16046496025", "From": "+1 (650) 555-5555", "MediaURLs": [url, url]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["num_media"] == "2" and r.json()["body"] == ""
    assert r.json()["to"] == "16046496025"  # echoed as written
    await wait_status(client, admin_headers, r.json()["sid"], "sent")
    assert any(m.to_e164 == "+16046496025" and len(m.media_urls) == 2 for m in fake(rt).sent)
    # Twilio clients post forms: To, From, Body, MediaUrl (repeated)
    r = await client.post(
        f"{SMS}/Messages",
        data={"To": "+14155550102", "From": DEMO_NUMBER, "Body": "x" * 161},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["num_segments"] == "2"  # 161 GSM characters: two segments
    r = await client.post(
        f"{SMS}/Messages",
        json={"To": "+14155550102", "From": DEMO_NUMBER, "Body": "é" + "ж" * 70},
        headers=admin_headers,
    )
    assert r.json()["num_segments"] == "2"  # UCS-2: 70 per single segment


async def test_carrier_failure(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = unique_number()
    monkeypatch.setattr(rt.settings, "sms_fake_failures", {number: "Unreachable destination"})
    r = await client.post(
        f"{SMS}/Messages",
        json={"To": number, "Body": "hello", "From": DEMO_NUMBER},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    done = await wait_status(client, admin_headers, r.json()["sid"], "failed")
    assert done["error_code"] == "30003"
    assert done["error_message"] == "Unreachable destination"
    assert done["date_sent"] is None


async def test_do_not_call_destinations_are_never_sent(
    client: httpx.AsyncClient, admin_headers: dict[str, str], rt: Runtime
) -> None:
    blocked = unique_number()
    r = await client.post(DNC, json={"name": "Opt-outs", "type": "internal"}, headers=admin_headers)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{DNC}/add/Opt-outs", json=[[blocked.lstrip("+1"), "texted STOP"]], headers=admin_headers
    )
    assert r.status_code == 200, r.text
    r = await client.post(DNC, json={"name": "NYC", "type": "area_code"}, headers=admin_headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"{DNC}/add/NYC", json=[["212"]], headers=admin_headers)
    assert r.status_code == 200, r.text
    for to, list_name in ((blocked, "Opt-outs"), ("(212) 555-0100", "NYC")):
        r = await client.post(
            f"{SMS}/Messages",
            json={"To": to, "Body": "Promo", "From": DEMO_NUMBER},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "failed" and body["error_code"] == "21610"
        assert "Do-Not-Call" in body["error_message"] and list_name in body["error_message"]
        again = await client.get(f"{SMS}/Messages/{body['sid']}", headers=admin_headers)
        assert again.json()["status"] == "failed"
    await asyncio.sleep(0.2)
    sent = {m.to_e164 for m in fake(rt).sent}
    assert blocked not in sent and "+12125550100" not in sent


async def test_dnc_checked_again_when_sending(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str], rt: Runtime
) -> None:
    """A number put on a list after the message was accepted is not sent either: the
    worker checks right before it hands the message to the carrier."""
    from datetime import timedelta

    from switchboard.core.db import utcnow
    from switchboard.sms.models import SmsMessage

    target = unique_number()
    now = utcnow()
    # a message accepted earlier, due a moment from now (as a scheduled one would be)
    async with rt.db.write() as s:
        message = SmsMessage(
            tenant_id=tenant.tenant_id,
            from_number=DEMO_NUMBER,
            to_number=target,
            from_e164="+16505555555",
            to_e164=target,
            body="later",
            media_urls=[],
            status="queued",
            next_attempt_at=now + timedelta(seconds=0.5),
            date_created=now,
            date_updated=now,
        )
        s.add(message)
    r = await client.post(DNC, json={"name": "Late", "type": "internal"}, headers=admin_headers)
    assert r.status_code == 201
    r = await client.post(f"{DNC}/add/Late", json=[[target]], headers=admin_headers)
    assert r.status_code == 200, r.text
    done = await wait_status(client, admin_headers, message.id, "failed", "delivered")
    assert done["status"] == "failed" and done["error_code"] == "21610"
    assert all(m.message_id != message.id for m in fake(rt).sent)


async def test_send_errors(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
    rt: Runtime,
) -> None:
    ok = {"To": "+14155550100", "Body": "hi", "From": DEMO_NUMBER}
    voice_only = await add_access_number(rt, tenant, media="voice")
    theirs = await add_access_number(rt, other_tenant)
    cases: list[tuple[dict[str, object], str]] = [
        ({"Body": "hi", "From": DEMO_NUMBER}, "21604"),
        ({"To": "", "Body": "hi", "From": DEMO_NUMBER}, "21604"),
        ({**ok, "To": 14155550100}, "21211"),
        ({**ok, "To": "not a number"}, "21211"),
        ({**ok, "To": "12345"}, "21211"),
        ({"To": "+14155550100", "Body": "hi"}, "21603"),
        ({**ok, "From": ["16505555555"]}, "21212"),
        ({**ok, "From": "ACME"}, "21212"),  # alphanumeric sender ids are not supported
        ({**ok, "From": "+14155550199"}, "21606"),  # not an access number
        ({**ok, "From": voice_only}, "21606"),  # an access number that cannot text
        ({**ok, "From": theirs}, "21606"),  # another tenant's access number
        ({"To": "+14155550100", "From": DEMO_NUMBER}, "21602"),
        ({**ok, "Body": "   "}, "21602"),
        ({**ok, "Body": 5}, "21602"),
        ({**ok, "Body": "x" * 1601}, "21617"),
        ({**ok, "MediaUrls": "ftp://x/y.jpg"}, "21620"),
        ({**ok, "MediaUrls": [1]}, "21620"),
        ({**ok, "MediaUrls": {"a": "b"}}, "21620"),
        ({**ok, "MediaUrls": ["https://x.test/a.jpg"] * 11}, "21623"),
    ]
    for payload, code in cases:
        r = await client.post(f"{SMS}/Messages", json=payload, headers=admin_headers)
        assert r.status_code == 400, (payload, r.text)
        assert r.json()["error_code"] == code, (payload, r.json())
        assert set(r.json()) == {"error_code", "error_message"} and r.json()["error_message"]
    r = await client.post(
        f"{SMS}/Messages",
        content=b'{"To": "16046496025", "Body": "x", "From": "16502505674", "MessagingService": }',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error_code"] == "20400"
    assert "JSON" in r.json()["error_message"]
    r = await client.post(f"{SMS}/Messages", json=["To"], headers=admin_headers)
    assert r.status_code == 400 and r.json()["error_code"] == "20400"
    r = await client.post(
        f"{SMS}/Messages", content=b"To=1", headers={**admin_headers, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["error_code"] == "20415"
    r = await client.post(f"{SMS}/Messages", content=b"{}", headers=admin_headers)
    assert r.status_code == 415


async def test_get_errors_and_tenant_isolation(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
    admin_headers: dict[str, str],
) -> None:
    r = await client.post(
        f"{SMS}/Messages",
        json={"To": "+14155550100", "Body": "mine", "From": DEMO_NUMBER},
        headers=admin_headers,
    )
    sid = r.json()["sid"]
    r = await client.get(f"{SMS}/Messages/not-a-sid", headers=admin_headers)
    assert r.status_code == 404 and r.json()["error_code"] == "20404"
    theirs = bearer(await get_token(client, other_tenant))
    r = await client.get(f"{SMS}/Messages/{sid}", headers=theirs)
    assert r.status_code == 404 and r.json()["error_code"] == "20404"
    r = await client.get(f"{SMS}/Messages/{sid}", headers=admin_headers)
    assert r.status_code == 200 and r.json()["body"] == "mine"


async def test_authentication_and_privilege(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    payload = {"To": "+14155550100", "Body": "hi", "From": DEMO_NUMBER}
    for headers in ({}, bearer("nope"), {"Authorization": "Basic YTpi"}):
        for r in (
            await client.post(f"{SMS}/Messages", json=payload, headers=headers),
            await client.get(f"{SMS}/Messages/x", headers=headers),
        ):
            assert r.status_code == 401, r.text
            assert r.json()["error_code"] == "20401"
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # an expired token
    issued = await login(
        rt,
        tenant_domain=tenant.domain,
        login_id="admin",
        secret=tenant.admin_secret,
        using="api_secret",
        kind="oauth",
        lifetime_seconds=1,
    )
    await asyncio.sleep(1.1)
    r = await client.post(f"{SMS}/Messages", json=payload, headers=bearer(issued.token))
    assert r.status_code == 401 and "expired" in r.json()["error_message"]
    # a user without "Use SMS/MMS API" (Reporting), and one with it (Campaign Operator)
    for login_id, role, status in (("rep1", "Reporting", 403), ("ops1", "Campaign Operator", 200)):
        await create_user(
            rt,
            tenant_id=tenant.tenant_id,
            data=UserCreate(
                login_id=login_id,
                password=PASSWORD,
                first_name="R",
                last_name="U",
                team="Support Team",
                roles=[role],
            ),
        )
        secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id=login_id)
        token = await get_token(client, tenant_with_secret(tenant, secret), login_id)
        r = await client.post(f"{SMS}/Messages", json=payload, headers=bearer(token))
        assert r.status_code == status, r.text
        if status == 403:
            assert r.json()["error_code"] == "20403"
            assert "Use SMS/MMS API" in r.json()["error_message"]
            r = await client.get(f"{SMS}/Messages/x", headers=bearer(token))
            assert r.status_code == 403


def tenant_with_secret(tenant: TenantInfo, secret: str) -> TenantInfo:
    return TenantInfo(tenant.domain, tenant.tenant_id, secret, tenant.password)


async def test_several_workers_send_each_message_once(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    rt: Runtime,
) -> None:
    """Three more runtimes (own engines, own carriers) claim beside the server's worker;
    every message reaches exactly one carrier, exactly once."""
    others = [Runtime.create(rt.settings) for _ in range(3)]
    for other in others:
        await other.start()
    try:
        numbers = [unique_number() for _ in range(30)]
        sids = []
        for n in numbers:
            r = await client.post(
                f"{SMS}/Messages",
                json={"To": n, "Body": "race", "From": DEMO_NUMBER},
                headers=admin_headers,
            )
            sids.append(r.json()["sid"])
            await asyncio.gather(*(sms_actions.send_due(o) for o in others))
        for _ in range(5):
            await asyncio.gather(*(sms_actions.send_due(o) for o in others))
        for sid in sids:
            await wait_status(client, admin_headers, sid, "delivered")
        carriers = [fake(rt), *(fake(o) for o in others)]
        counts = {sid: 0 for sid in sids}
        for carrier in carriers:
            assert isinstance(carrier, FakeCarrier)
            for m in carrier.sent:
                if m.message_id in counts:
                    counts[m.message_id] += 1
        assert set(counts.values()) == {1}, counts
    finally:
        for other in others:
            await other.stop()


async def test_recover_fails_rather_than_resends(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str], rt: Runtime
) -> None:
    """A message claimed by a process that died mid-send is failed, never sent twice."""
    from datetime import timedelta

    from switchboard.core.db import utcnow
    from switchboard.sms.models import SmsMessage

    fresh = await new_tenant(rt)  # nothing else of this tenant is in flight
    now = utcnow()
    async with rt.db.write() as s:
        row = SmsMessage(
            tenant_id=fresh.tenant_id,
            from_number=DEMO_NUMBER,
            to_number="+14155550100",
            from_e164="+16505555555",
            to_e164="+14155550100",
            body="lost",
            media_urls=[],
            status="sending",
            lease_until=now - timedelta(seconds=1),
            date_created=now,
            date_updated=now,
        )
        s.add(row)
    await sms_actions.recover(rt)
    headers = bearer(await get_token(client, fresh))
    done = await wait_status(client, headers, row.id, "failed")
    assert done["error_code"] == "30008" and "Unknown delivery" in done["error_message"]
    assert all(m.message_id != row.id for m in fake(rt).sent)
