"""GMS Service API: request-interaction / request-access (access numbers and codes, user
data), match-interaction, service-specific requests, tenants, and every user error."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import delete

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.gms import actions
from switchboard.scenarios.models import AccessNumber
from tests.conftest import TenantInfo
from tests.test_gms_support import (
    DEMO_NUMBER,
    GMS,
    assert_error,
    create_service,
    expire_service,
    host,
    parse_iso,
)


async def test_request_interaction_multipart_with_user_data_and_file(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    # the seed's example: phone number, code, application data and a picture
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    r = await client.post(
        f"{GMS}/service/request-interaction",
        data={
            "_phone_number": "6504669999",
            "_provide_code": "true",
            "language": "french",
            "current_location_latitude": "48.8583",
            "current_location_longitude": "2.2944",
        },
        files={"FileKey": ("MyPic.png", picture, "image/png")},
        headers=host(tenant),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["_access_number"] == DEMO_NUMBER
    assert len(body["_access_code"]) == 4 and body["_access_code"].isdigit()
    assert body["_tel_url"] == f"tel:{DEMO_NUMBER}" and body["_action"] == "DialNumber"
    expires = parse_iso(body["_expiration_time"])
    assert 200 < (expires - utcnow()).total_seconds() <= 300  # the default validity
    # user data (everything without "_") is stored under _data_id
    r = await client.get(f"{GMS}/storage/{body['_data_id']}", headers=host(tenant))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["language"] == "french" and data["current_location_latitude"] == "48.8583"
    assert not any(k.startswith("_") for k in data)
    assert data["FileKey"]["filename"] == "MyPic.png"
    assert data["FileKey"]["content_type"] == "image/png" and data["FileKey"]["size"] == 208
    r = await client.get(data["FileKey"]["url"], headers=host(tenant))
    assert r.status_code == 200 and r.content == picture
    assert r.headers["content-type"] == "image/png"
    # the service itself
    r = await client.get(f"{GMS}/service/{body['_id']}", headers=host(tenant))
    assert r.status_code == 200
    info = r.json()
    assert info["_state"] == "active" and info["status"] == "waiting-for-call"
    assert info["_access_code"] == body["_access_code"]
    assert info["_phone_number"] == "6504669999"


async def test_match_by_phone_number_consumes_the_interaction(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    created = await create_service(
        client, tenant, "request-interaction", _phone_number="+1 (650) 466-1234", topic="billing"
    )
    assert "_access_code" not in created  # no _provide_code
    r = await client.post(
        f"{GMS}/service/match-interaction",
        data={"_phone_number": "16504661234"},
        headers=host(tenant),
    )
    assert r.status_code == 200, r.text
    match = r.json()
    assert match["_id"] == created["_id"] and match["_data_id"] == created["_data_id"]
    assert match["_service_name"] == "request-interaction"
    r = await client.get(f"{GMS}/storage/{match['_data_id']}/topic", headers=host(tenant))
    assert r.status_code == 200 and r.text == "billing"
    # consumed: the next call of the same number matches nothing
    r = await client.post(
        f"{GMS}/service/match-interaction",
        data={"_phone_number": "16504661234"},
        headers=host(tenant),
    )
    assert_error(r, 404)
    r = await client.post(f"{GMS}/service/{created['_id']}/status", headers=host(tenant))
    assert r.json()["_state"] == "matched"


async def test_match_by_access_number_and_code(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    created = await create_service(client, tenant, "request-access")
    code = created["_access_code"]  # request-access provides a code by default
    wrong = f"{(int(code) + 1) % 10000:04d}"
    r = await client.post(
        f"{GMS}/service/match-interaction",
        data={"_access_number": "+1 650-555-5555", "_access_code": wrong},
        headers=host(tenant),
    )
    assert_error(r, 404)
    # JSON bodies are accepted too; the number may be spelled any way
    r = await client.post(
        f"{GMS}/service/match-interaction",
        json={"_access_number": "+1 650-555-5555", "_access_code": code},
        headers=host(tenant),
    )
    assert r.status_code == 200, r.text
    assert r.json()["_id"] == created["_id"]
    r = await client.post(
        f"{GMS}/service/match-interaction",
        data={"_access_number": DEMO_NUMBER, "_access_code": code},
        headers=host(tenant),
    )
    assert_error(r, 404)
    # an expired code matches nothing
    late = await create_service(client, tenant, "request-interaction", _provide_code="true")
    await expire_service(rt, late["_id"])
    r = await client.post(
        f"{GMS}/service/match-interaction",
        data={"_access_number": DEMO_NUMBER, "_access_code": late["_access_code"]},
        headers=host(tenant),
    )
    assert_error(r, 404)
    r = await client.get(f"{GMS}/service/{late['_id']}", headers=host(tenant))
    assert r.json()["_state"] == "expired" and "_access_code" not in r.json()
    await actions.purge(rt)
    r = await client.post(f"{GMS}/service/{late['_id']}/match", headers=host(tenant))
    assert_error(r, 409)


async def test_codes_are_unique_under_concurrency(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    async def one() -> dict[str, str]:
        return await create_service(
            client, tenant, "request-interaction", _provide_code="true", _expiration_time="60"
        )

    answers = await asyncio.gather(*(one() for _ in range(12)))
    codes = [a["_access_code"] for a in answers]
    assert len(set(codes)) == len(codes)
    assert {a["_access_number"] for a in answers} == {DEMO_NUMBER}


async def test_resource_groups_and_missing_numbers(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    async with rt.db.write() as s:
        s.add(
            AccessNumber(
                tenant_id=tenant.tenant_id, number="18005550100", type="scenario", scenario="Sales"
            )
        )
    body = await create_service(client, tenant, "request-interaction", _resource_group="sales")
    assert body["_access_number"] == "18005550100"
    r = await client.post(
        f"{GMS}/service/request-interaction",
        data={"_resource_group": "Nowhere"},
        headers=host(tenant),
    )
    assert_error(r, 400)
    async with rt.db.write() as s:
        await s.execute(delete(AccessNumber).where(AccessNumber.tenant_id == tenant.tenant_id))
    r = await client.post(f"{GMS}/service/request-interaction", headers=host(tenant))
    assert_error(r, 503)


async def test_expiration_time_forms(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    body = await create_service(client, tenant, "request-interaction", _expiration_time="30")
    left = (parse_iso(body["_expiration_time"]) - utcnow()).total_seconds()
    assert 25 < left <= 30
    when = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    body = await create_service(
        client, tenant, "request-interaction", _expiration_time=when.isoformat()
    )
    assert parse_iso(body["_expiration_time"]) == when
    r = await client.post(
        f"{GMS}/service/request-interaction",
        data={"_expiration_time": "2099-01-01T00:00:00Z"},  # beyond the 7-day limit
        headers=host(tenant),
    )
    assert_error(r, 400)


async def test_bad_parameters_and_unknown_services(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    url = f"{GMS}/service/request-interaction"
    h = host(tenant)
    for fields in (
        {"_provide_code": "maybe"},
        {"_expiration_time": "0"},
        {"_expiration_time": "-5"},
        {"_expiration_time": "soon"},
        {"_expiration_time": "2000-01-01T00:00:00Z"},
        {"_expiration_time": "99999999"},
        {"_phone_number": "call me"},
        {"_phone_number": "12"},
    ):
        body = assert_error(await client.post(url, data=fields, headers=h), 400)
        assert body["exception"] == "InvalidParameterException"
    r = await client.post(f"{GMS}/service/request-teleport", data={"x": "1"}, headers=h)
    body = assert_error(r, 404)
    assert body["exception"] == "NotFoundException" and "request-teleport" in body["message"]
    match = f"{GMS}/service/match-interaction"
    assert_error(await client.post(match, headers=h), 400)
    assert_error(await client.post(match, data={"_access_code": "1234"}, headers=h), 400)
    # bodies
    r = await client.post(url, content=b"<xml/>", headers={**h, "Content-Type": "text/xml"})
    assert_error(r, 415)
    r = await client.post(url, content=b"{", headers={**h, "Content-Type": "application/json"})
    assert_error(r, 400)
    r = await client.post(url, json=["a"], headers=h)
    assert_error(r, 400)
    r = await client.post(url, json={"_phone_number": {"nested": 1}}, headers=h)
    assert_error(r, 400)
    r = await client.post(
        url,
        content=b"--x\r\nbroken",
        headers={**h, "Content-Type": "multipart/form-data"},  # no boundary
    )
    assert_error(r, 400)
    r = await client.post(url, data={"k" * 300: "v"}, headers=h)
    assert_error(r, 400)


async def test_service_specific_requests(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = host(tenant)
    created = await create_service(client, tenant, "request-interaction", _provide_code="true")
    sid = created["_id"]
    r = await client.post(f"{GMS}/service/{sid}/status", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "waiting-for-call"
    r = await client.post(f"{GMS}/service/{sid}/teleport", headers=h)
    assert_error(r, 404)
    r = await client.post(f"{GMS}/service/{sid}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["_state"] == "cancelled"
    assert "_access_code" not in r.json()
    r = await client.post(f"{GMS}/service/{sid}/cancel", headers=h)  # idempotent
    assert r.status_code == 200
    r = await client.post(f"{GMS}/service/{sid}/match", headers=h)
    assert_error(r, 409)
    # match by id, then cancelling is too late
    other = await create_service(client, tenant, "request-access")
    r = await client.post(f"{GMS}/service/{other['_id']}/match", headers=h)
    assert r.status_code == 200 and r.json()["_data_id"] == other["_data_id"]
    assert_error(await client.delete(f"{GMS}/service/{other['_id']}", headers=h), 409)
    # DELETE cancels
    third = await create_service(client, tenant, "request-interaction")
    r = await client.delete(f"{GMS}/service/{third['_id']}", headers=h)
    assert r.status_code == 200 and r.json()["_state"] == "cancelled"
    # unknown ids
    ghost = "00000000-0000-0000-0000-000000000000"
    for method, path in (
        ("GET", f"/service/{ghost}"),
        ("DELETE", f"/service/{ghost}"),
        ("POST", f"/service/{ghost}/status"),
        ("POST", f"/service/{ghost}/cancel"),
        ("POST", f"/service/{ghost}/match"),
        ("POST", f"/service/{ghost}/teleport"),
    ):
        assert_error(await client.request(method, GMS + path, headers=h), 404)


async def test_tenant_resolution(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo, rt: Runtime
) -> None:
    # tenantUrl (any spelling) or the _tenant form field when the Host is no tenant's
    r = await client.post(
        f"{GMS}/service/request-interaction",
        params={"tenantUrl": f"https%3A%2F%2F{tenant.domain}%2F"},
    )
    assert r.status_code == 200, r.text
    sid = r.json()["_id"]
    r = await client.post(f"{GMS}/service/{sid}/status", data={"_tenant": tenant.domain})
    assert r.status_code == 200, r.text
    # another tenant's Host (or tenantUrl) does not see the service
    assert_error(await client.get(f"{GMS}/service/{sid}", headers=host(other_tenant)), 404)
    r = await client.get(f"{GMS}/service/{sid}", params={"tenantUrl": other_tenant.domain})
    assert_error(r, 404)
    # an unknown tenant, and a tenantUrl contradicting the Host
    r = await client.get(f"{GMS}/service/{sid}", params={"tenantUrl": "nowhere.example.test"})
    assert_error(r, 404)
    r = await client.get(
        f"{GMS}/service/{sid}",
        params={"tenantUrl": other_tenant.domain},
        headers=host(tenant),
    )
    assert_error(r, 400)
    # nothing named: the default tenant (gms_default_tenant, else demo_tenant)
    saved = rt.settings.gms_default_tenant
    try:
        rt.settings.gms_default_tenant = tenant.domain
        r = await client.get(f"{GMS}/service/{sid}")
        assert r.status_code == 200, r.text
        rt.settings.gms_default_tenant = ""
        assert_error(await client.get(f"{GMS}/service/{sid}"), 404)
        rt.settings.gms_default_tenant = "nowhere.example.test"
        assert_error(await client.get(f"{GMS}/service/{sid}"), 404)
    finally:
        rt.settings.gms_default_tenant = saved


async def test_seed_status_dialog_and_the_gms_web_prefix(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    """Seed 002's service-specific request: ``POST /GMS-web/gms/1/service/{id}/status``
    answers ``{"status": "waiting-for-agent", "dialog": "/waitingforagent.html"}``."""
    h = host(tenant)
    web = "/GMS-web/gms/1"
    r = await client.post(
        f"{web}/service/request-interaction", data={"_phone_number": "6504669999"}, headers=h
    )
    assert r.status_code == 200, r.text
    sid = r.json()["_id"]
    # a voice access number: never the demo's text-only SMS number
    assert r.json()["_access_number"] == DEMO_NUMBER
    by_post = (await client.post(f"{web}/service/{sid}/status", headers=h)).json()
    assert by_post["status"] == "waiting-for-call" and by_post["dialog"] == "/waitingforcall.html"
    for url in (f"{web}/service/{sid}/status", f"{GMS}/service/{sid}/status"):
        r = await client.get(url, headers=h)
        assert r.status_code == 200, r.text
        assert r.json() == by_post
    assert (await client.get(f"{GMS}/service/{sid}", headers=h)).json() == by_post
    # request-chat through the seed's prefix: its URLs stay under it
    r = await client.post(f"{web}/service/request-chat", data={"_chat_service": "test"}, headers=h)
    assert r.status_code == 200, r.text
    chat_sid = r.json()["_id"]
    create_url = r.json()["_chatIxnAPI-CREATE-URL"]
    assert create_url == f"{web}/service/{chat_sid}/ixn/chat"
    r = await client.get(f"{web}/service/{chat_sid}/status", headers=h)
    assert r.json()["status"] == "waiting-for-chat"
    assert r.json()["dialog"] == "/waitingforchat.html"
    r = await client.post(create_url, data={"nickname": "Zoe", "text": "hi"}, headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(f"{web}/service/{chat_sid}/status", headers=h)
    assert r.json()["status"] == "waiting-for-agent"
    assert r.json()["dialog"] == "/waitingforagent.html"  # the seed's example
    # a cancelled service's page, and the storage API under the prefix
    r = await client.post(f"{web}/service/{sid}/cancel", headers=h)
    assert r.json()["status"] == "cancelled" and r.json()["dialog"] == "/cancelled.html"
    r = await client.post(
        f"{web}/storage/60",
        data={"k": "v"},
        files={"f": ("a.txt", b"abc", "text/plain")},
        headers=h,
    )
    assert r.status_code == 200, r.text
    stored = (await client.get(f"{web}/storage/{r.json()['id']}", headers=h)).json()
    assert stored["k"] == "v" and stored["f"]["url"].startswith(f"{web}/storage/")
    assert (await client.get(stored["f"]["url"], headers=h)).content == b"abc"
    # errors under the prefix have the GMS shape
    ghost = "00000000-0000-0000-0000-000000000000"
    for method in ("GET", "POST"):
        body = assert_error(
            await client.request(method, f"{web}/service/{ghost}/status", headers=h), 404
        )
        assert body["exception"] == "NotFoundException"
    body = assert_error(await client.post(f"{web}/service/request-teleport", headers=h), 404)
    assert "request-teleport" in body["message"]
