"""Administration API (/adminapi/v1): every collection through HTTP, validation errors
naming the field, 409s that protect live work, privileges, and config:<tenant> wake-ups."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.tenants.config import config_topic
from tests.conftest import TenantInfo, get_token
from tests.test_agent_support import agent_login, connected_chat, mobile_headers

ADMIN = "/adminapi/v1"
MSG = "/clientweb/api/v2"


def field_of(r: httpx.Response) -> str | None:
    body = r.json()
    return body.get("field")


async def test_privilege_and_token_required(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str], rt: Runtime
) -> None:
    r = await client.get(ADMIN + "/entries")
    assert r.status_code == 401
    # a user whose roles lack "Manage configuration"
    from switchboard.users.actions import generate_api_secret

    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="supervisor1")
    r = await client.post(
        "/configapi/v2/oauth/token", data=tenant.token_form("supervisor1", secret)
    )
    sup = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.get(ADMIN + "/entries", headers=sup)
    assert r.status_code == 403
    assert "Manage configuration" in r.json()["message"]
    # a custom role granting it opens the API
    r = await client.post(
        ADMIN + "/roles",
        json={"name": "Configurator", "privileges": ["Manage configuration"]},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["builtin"] is False and r.json()["users"] == 0
    r = await client.put(
        "/configapi/v2/user/supervisor1",
        json={"roles": ["Supervisor", "Configurator"]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    r = await client.get(ADMIN + "/entries", headers=sup)
    assert r.status_code == 200
    # the role is held: it cannot be deleted
    r = await client.delete(ADMIN + "/roles/Configurator", headers=admin_headers)
    assert r.status_code == 409 and "held by 1 user" in r.json()["message"]


async def test_roles(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.get(ADMIN + "/privileges", headers=admin_headers)
    assert "Manage configuration" in r.json()
    r = await client.post(
        ADMIN + "/roles", json={"name": "Odd", "privileges": ["Fly"]}, headers=admin_headers
    )
    assert r.status_code == 400 and field_of(r) == "privileges" and "Fly" in r.json()["message"]
    r = await client.post(ADMIN + "/roles", json={"name": "Agent"}, headers=admin_headers)
    assert r.status_code == 409
    r = await client.patch(ADMIN + "/roles/Agent", json={"privileges": []}, headers=admin_headers)
    assert r.status_code == 409 and "built-in" in r.json()["message"]
    r = await client.delete(ADMIN + "/roles/System Administrator", headers=admin_headers)
    assert r.status_code == 409
    r = await client.post(
        ADMIN + "/roles", json={"name": "Viewer", "privileges": []}, headers=admin_headers
    )
    assert r.status_code == 201
    r = await client.patch(
        ADMIN + "/roles/Viewer",
        json={"name": "Watcher", "privileges": ["View real-time service metrics"]},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json()["name"] == "Watcher"
    assert r.json()["privileges"] == ["View real-time service metrics"]
    names = [x["name"] for x in (await client.get(ADMIN + "/roles", headers=admin_headers)).json()]
    assert "Watcher" in names and "Agent" in names
    assert (await client.delete(ADMIN + "/roles/Watcher", headers=admin_headers)).status_code == 204
    assert (await client.get(ADMIN + "/roles/Watcher", headers=admin_headers)).status_code == 404


async def test_tenant_settings(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.get(ADMIN + "/tenant", headers=admin_headers)
    assert r.status_code == 200 and r.json()["timezone"] == "UTC"
    r = await client.patch(
        ADMIN + "/tenant",
        json={
            "timezone": "Europe/Paris",
            "dailyResetTime": "06:00",
            "settings": {"offer_timeout_seconds": 30, "scim_photos": "url"},
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Europe/Paris" and body["dailyResetTime"] == "06:00"
    assert body["settings"] == {"offer_timeout_seconds": 30, "scim_photos": "url"}
    for patch, field in (
        ({"settings": {"no_such_key": 1}}, "no_such_key"),
        ({"settings": {"offer_timeout_seconds": "soon"}}, "offer_timeout_seconds"),
        ({"settings": {"scim_photos": "maybe"}}, "scim_photos"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"dailyResetTime": "25:00"}, "daily_reset_time"),
        ({"colour": "red"}, "colour"),
    ):
        r = await client.patch(ADMIN + "/tenant", json=patch, headers=admin_headers)
        assert r.status_code == 400, (patch, r.text)
        assert field_of(r) == field, (patch, r.json())
    r = await client.patch(
        ADMIN + "/tenant", json={"settings": {"scim_photos": None}}, headers=admin_headers
    )
    assert r.json()["settings"] == {"offer_timeout_seconds": 30}
    keys = (await client.get(ADMIN + "/tenant/setting-keys", headers=admin_headers)).json()
    assert {"key", "kind", "description"} <= set(keys[0])
    r = await client.patch(ADMIN + "/tenant", content=b"timezone=UTC", headers=admin_headers)
    assert r.status_code == 415


async def test_hours(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    body = {
        "name": "Weekdays",
        "timezone": "America/New_York",
        "weekly": {"mon": [["09:00", "17:00"]], "fri": [["22:00", "02:00"]]},
        "holidays": [{"date": "2026-12-25", "name": "Christmas"}],
    }
    r = await client.post(ADMIN + "/hours", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["weekly"]["fri"] == [["22:00", "02:00"]] and r.json()["entries"] == []
    assert isinstance(r.json()["openNow"], bool)
    for bad, field in (
        ({**body, "name": "X1", "weekly": {"moon": [["09:00", "17:00"]]}}, "weekly"),
        ({**body, "name": "X2", "weekly": {"mon": [["9", "17:00"]]}}, "weekly"),
        ({**body, "name": "X3", "timezone": "Nowhere/City"}, "timezone"),
        ({**body, "name": "X4", "holidays": [{"date": "25/12/2026"}]}, "holidays.0.date"),
        ({"timezone": "UTC"}, "name"),
    ):
        r = await client.post(ADMIN + "/hours", json=bad, headers=admin_headers)
        assert r.status_code == 400, bad
        assert field_of(r) == field, r.json()
    assert (
        await client.post(ADMIN + "/hours", json=body, headers=admin_headers)
    ).status_code == 409
    # hours used by an entry cannot be deleted
    r = await client.post(
        ADMIN + "/entries",
        json={"appId": "weekday-chat", "hours": "Weekdays"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    r = await client.delete(ADMIN + "/hours/Weekdays", headers=admin_headers)
    assert r.status_code == 409 and "weekday-chat" in r.json()["message"]
    # "24/7" has a slash in its name
    r = await client.get(ADMIN + "/hours/24/7", headers=admin_headers)
    assert r.status_code == 200 and r.json()["alwaysOpen"] is True
    r = await client.patch(
        ADMIN + "/entries/weekday-chat", json={"hours": None}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["hours"] is None
    assert (
        await client.delete(ADMIN + "/hours/Weekdays", headers=admin_headers)
    ).status_code == 204


async def test_entries_and_live_chats(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    r = await client.get(ADMIN + "/entries/test", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["service"] == "Chat Service" and r.json()["waitingChats"] == 0
    body: dict[str, Any] = {
        "appId": "support-web",
        "name": "Support (web)",
        "service": "Chat Service",
        "hours": "24/7",
        "expectedParameters": [
            {"name": "FIRST_NAME", "type": "string"},
            {"name": "ORDER", "type": "number", "required": True},
        ],
        "requestedSkills": {"Support": 50},
        "priority": 3,
        "inactivityTimeoutSeconds": 300,
        "widgetConfiguration": {"title": "Help", "color": "#112233"},
    }
    r = await client.post(ADMIN + "/entries", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["inactivityWarningSeconds"] == 240 and made["priority"] == 3
    assert made["expectedParameters"][1] == {"name": "ORDER", "type": "number", "required": True}
    for bad, field in (
        ({**body, "appId": "a b"}, "appId"),
        ({**body, "appId": "x1", "service": "Nope"}, "service"),
        ({**body, "appId": "x2", "hours": "Never"}, "hours"),
        ({**body, "appId": "x3", "requestedSkills": {"Juggling": 10}}, "requestedSkills"),
        ({**body, "appId": "x4", "requestedSkills": {"Support": 101}}, "requestedSkills"),
        ({**body, "appId": "x5", "widgetConfiguration": {"color": "blue"}}, "widgetConfiguration"),
        ({**body, "appId": "x6", "allowedOrigins": ["shop.example.com"]}, "allowedOrigins"),
        (
            {**body, "appId": "x7", "expectedParameters": [{"name": "A", "type": "blob"}]},
            "expectedParameters.0.type",
        ),
        ({**body, "appId": "x8", "inactivityWarningSeconds": 400}, "inactivityWarningSeconds"),
        ({**body, "appId": "x9", "colour": "red"}, "colour"),
    ):
        r = await client.post(ADMIN + "/entries", json=bad, headers=admin_headers)
        assert r.status_code == 400, (bad, r.text)
        assert (field_of(r) or "").startswith(field), (field, r.json())
    r = await client.post(ADMIN + "/entries", json=body, headers=admin_headers)
    assert r.status_code == 409 and field_of(r) == "appId"

    # the Messaging API serves the new entry at once; a required parameter is enforced
    r = await client.post(
        MSG + "/chats",
        params={"tenantUrl": tenant.domain},
        json={"parameters": {"FIRST_NAME": "Ann"}},
        headers=mobile_headers("cust-adm-1", "support-web"),
    )
    assert r.status_code == 400 and "ORDER" in r.text
    r = await client.post(
        MSG + "/chats",
        params={"tenantUrl": tenant.domain},
        json={"parameters": {"FIRST_NAME": "Ann", "ORDER": "42"}},
        headers=mobile_headers("cust-adm-1", "support-web"),
    )
    assert r.status_code == 200, r.text
    chat_id = r.json()["chat_id"]
    r = await client.get(ADMIN + "/entries/support-web", headers=admin_headers)
    assert r.json()["waitingChats"] == 1
    # live work protects the entry: disabling, deleting, renaming its appId -> 409 saying why
    for method, json_body in (
        ("PATCH", {"enabled": False}),
        ("PATCH", {"appId": "support-web-2"}),
        ("DELETE", None),
    ):
        r = await client.request(
            method, ADMIN + "/entries/support-web", json=json_body, headers=admin_headers
        )
        assert r.status_code == 409, r.text
        assert "1 chat in progress (1 waiting)" in r.json()["message"]
    # ...and the service it waits on
    r = await client.patch(
        ADMIN + "/services/Chat Service", json={"enabled": False}, headers=admin_headers
    )
    assert r.status_code == 409 and "waiting chat" in r.json()["message"]
    # allowed web origins: the Messaging API answers their browsers' CORS requests
    r = await client.patch(
        ADMIN + "/entries/support-web",
        json={"allowedOrigins": ["https://shop.example.com", "https://shop.example.com"]},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json()["allowedOrigins"] == ["https://shop.example.com"]
    r = await client.options(
        MSG + "/chats",
        params={"tenantUrl": tenant.domain},
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert r.headers.get("access-control-allow-origin") == "https://shop.example.com", r.headers
    r = await client.patch(
        ADMIN + "/entries/support-web", json={"allowedOrigins": None}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["allowedOrigins"] == []
    # other changes apply to new chats
    r = await client.patch(
        ADMIN + "/entries/support-web", json={"priority": 7, "name": "Web"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["priority"] == 7
    # the customer leaves: the entry may go
    r = await client.post(
        f"{MSG}/chats/{chat_id}/events",
        params={"tenantUrl": tenant.domain},
        json={"events": [{"event": "chat_session_end"}]},
        headers=mobile_headers("cust-adm-1", "support-web"),
    )
    assert r.status_code in (200, 204), r.text
    r = await client.delete(ADMIN + "/entries/support-web", headers=admin_headers)
    assert r.status_code == 204, r.text
    assert (
        await client.get(ADMIN + "/entries/support-web", headers=admin_headers)
    ).status_code == 404


async def test_numbers(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.get(ADMIN + "/numbers", headers=admin_headers)
    assert "16505555555" in [n["number"] for n in r.json()]
    r = await client.post(
        ADMIN + "/numbers",
        json={"number": "+1 415 555 0100", "media": "sms", "entry": "test"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["entry"] == "test" and r.json()["type"] == "scenario"
    for bad, field in (
        ({"number": "not a number", "entry": "test"}, "number"),
        ({"number": "+14155550101", "entry": "nope"}, "entry"),
        ({"number": "+14155550102"}, "entry"),
        ({"number": "+14155550103", "type": "user"}, "user"),
        ({"number": "+14155550104", "type": "user", "user": "ghost"}, "user"),
        ({"number": "+14155550105", "type": "fax", "entry": "test"}, "type"),
    ):
        r = await client.post(ADMIN + "/numbers", json=bad, headers=admin_headers)
        assert r.status_code == 400, bad
        assert field_of(r) == field, r.json()
    r = await client.post(
        ADMIN + "/numbers",
        json={"number": "+1 415 555 0100", "entry": "test"},
        headers=admin_headers,
    )
    assert r.status_code == 409
    r = await client.post(
        ADMIN + "/numbers",
        json={"number": "+14155550199", "type": "user", "user": "agent1", "media": "voice"},
        headers=admin_headers,
    )
    assert r.status_code == 201 and r.json()["user"] == "agent1"
    r = await client.patch(
        ADMIN + "/numbers/+14155550199",
        json={"type": "scenario", "scenario": "IVR"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["user"] is None and r.json()["scenario"] == "IVR" and r.json()["entry"] is None
    # the Configuration API's access-number list shows the change
    r = await client.get("/configapi/v2/phone/numbers", headers=admin_headers)
    if r.status_code == 200:
        assert any(n.get("scenario") == "IVR" for n in r.json())
    assert (
        await client.delete(ADMIN + "/numbers/+14155550199", headers=admin_headers)
    ).status_code == 204


async def test_skills_services_dispositions_reasons(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.post(ADMIN + "/skills", json={"name": "French"}, headers=h)
    assert r.status_code == 201 and r.json()["agents"] == 0
    assert (
        await client.post(ADMIN + "/skills", json={"name": "French"}, headers=h)
    ).status_code == 409
    r = await client.post(ADMIN + "/skills", json={"name": ""}, headers=h)
    assert r.status_code == 400 and field_of(r) == "name"
    svc = {
        "name": "French Chat",
        "media": "chat",
        "requiredSkills": {"French": 60},
        "serviceLevelThresholdSeconds": 20,
        "relaxation": [{"afterSeconds": 30, "reduceBy": 20}],
    }
    r = await client.post(ADMIN + "/services", json=svc, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["relaxation"] == [{"afterSeconds": 30, "reduceBy": 20}] or r.json()[
        "relaxation"
    ] == [{"after_seconds": 30, "reduce_by": 20}]
    for bad, field in (
        ({**svc, "name": "S1", "media": "fax"}, "media"),
        ({**svc, "name": "S2", "requiredSkills": {"Klingon": 10}}, "requiredSkills"),
        ({**svc, "name": "S3", "serviceLevelTargetPercent": 120}, "serviceLevelTargetPercent"),
    ):
        r = await client.post(ADMIN + "/services", json=bad, headers=h)
        assert r.status_code == 400 and field_of(r) == field, r.json()
    # renaming a skill renames it where services require it
    r = await client.patch(ADMIN + "/skills/French", json={"name": "Francais"}, headers=h)
    assert r.status_code == 200
    r = await client.get(ADMIN + "/services/French Chat", headers=h)
    assert r.json()["requiredSkills"] == {"Francais": 60}
    r = await client.delete(ADMIN + "/skills/Francais", headers=h)
    assert r.status_code == 409 and "French Chat" in r.json()["message"]
    # a service used by an entry cannot be deleted
    r = await client.post(
        ADMIN + "/entries", json={"appId": "fr", "service": "French Chat"}, headers=h
    )
    assert r.status_code == 201
    r = await client.delete(ADMIN + "/services/French Chat", headers=h)
    assert r.status_code == 409 and "fr" in r.json()["message"]
    assert (await client.delete(ADMIN + "/entries/fr", headers=h)).status_code == 204
    assert (await client.delete(ADMIN + "/services/French Chat", headers=h)).status_code == 204
    assert (await client.delete(ADMIN + "/skills/Francais", headers=h)).status_code == 204

    # dispositions
    r = await client.post(
        ADMIN + "/dispositions",
        json={"name": "Sold", "service": "Chat Service", "outcome": "complete"},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["service"] == "Chat Service"
    did = r.json()["id"]
    r = await client.post(
        ADMIN + "/dispositions", json={"name": "Later", "outcome": "retry"}, headers=h
    )
    assert r.status_code == 400 and field_of(r) == "retryMinutes"
    r = await client.post(
        ADMIN + "/dispositions", json={"name": "Sold", "service": "Chat Service"}, headers=h
    )
    assert r.status_code == 409
    r = await client.post(ADMIN + "/dispositions", json={"name": "X", "service": "Nope"}, headers=h)
    assert r.status_code == 400 and field_of(r) == "service"
    r = await client.patch(ADMIN + f"/dispositions/{did}", json={"sortOrder": 1}, headers=h)
    assert r.status_code == 200 and r.json()["sortOrder"] == 1
    assert (await client.delete(ADMIN + f"/dispositions/{did}", headers=h)).status_code == 204

    # not-ready reasons
    r = await client.post(ADMIN + "/not-ready-reasons", json={"name": "Coaching"}, headers=h)
    assert r.status_code == 201
    r = await client.post(ADMIN + "/not-ready-reasons", json={"name": "Coaching"}, headers=h)
    assert r.status_code == 409
    r = await client.patch(ADMIN + "/not-ready-reasons/Coaching", json={"name": "1:1"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "1:1"
    assert (await client.delete(ADMIN + "/not-ready-reasons/1:1", headers=h)).status_code == 204
    assert (await client.get(ADMIN + "/not-ready-reasons/nope", headers=h)).status_code == 404


async def test_service_of_running_campaign(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.get(ADMIN + "/services/Outbound Service", headers=h)
    assert "Outbound Campaign" in r.json()["campaigns"]
    r = await client.post("/configapi/v2/campaign/Outbound Campaign/start", headers=h)
    assert r.status_code == 200, r.text
    try:
        r = await client.patch(
            ADMIN + "/services/Outbound Service", json={"enabled": False}, headers=h
        )
        assert r.status_code == 409
        assert "running campaign Outbound Campaign" in r.json()["message"]
        r = await client.delete(ADMIN + "/services/Outbound Service", headers=h)
        assert r.status_code == 409
    finally:
        await client.post("/configapi/v2/campaign/Outbound Campaign/stop", headers=h)
    r = await client.patch(ADMIN + "/services/Outbound Service", json={"enabled": False}, headers=h)
    assert r.status_code == 200 and r.json()["enabled"] is False


async def test_teams(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    h = admin_headers
    r = await client.get(ADMIN + "/teams/Support Team", headers=h)
    assert r.json()["supervisors"] == ["supervisor1"]
    assert "agent1" in r.json()["members"]
    r = await client.post(
        ADMIN + "/teams",
        json={
            "name": "Night Shift",
            "description": "22-06",
            "defaultChatCapacity": 2,
            "supervisors": ["supervisor1"],
            "members": ["agent3"],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["members"] == ["agent3"] and r.json()["defaultChatCapacity"] == 2
    r = await client.get("/configapi/v2/user/agent3", headers=h)
    assert r.json()["team"] == "Night Shift"
    r = await client.post(
        ADMIN + "/teams", json={"name": "Ghosts", "supervisors": ["casper"]}, headers=h
    )
    assert r.status_code == 400 and field_of(r) == "supervisors" and "casper" in r.text
    r = await client.patch(
        ADMIN + "/teams/Night Shift", json={"supervisors": [], "name": "Nights"}, headers=h
    )
    assert r.status_code == 200 and r.json()["supervisors"] == [] and r.json()["name"] == "Nights"
    r = await client.post(ADMIN + "/teams", json={"name": "Nights"}, headers=h)
    assert r.status_code == 409
    assert (await client.delete(ADMIN + "/teams/Nights", headers=h)).status_code == 204
    r = await client.get("/configapi/v2/user/agent3", headers=h)
    assert "team" not in r.json() or r.json()["team"] is None


async def test_canned_responses_admin_and_agent(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.get(ADMIN + "/canned-responses", headers=h)
    assert {c["shortcut"] for c in r.json()} >= {"/hello", "/bye"}
    body = {
        "title": "Order status",
        "text": "Hi $(FIRST_NAME), order $(ORDER|unknown) ships soon. $(NICKNAME)",
        "category": "Orders",
        "shortcut": "/order",
        "service": "Chat Service",
        "tags": ["orders", "shipping"],
    }
    r = await client.post(ADMIN + "/canned-responses", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["placeholders"] == ["FIRST_NAME", "ORDER", "NICKNAME"]
    cid = r.json()["id"]
    assert (await client.post(ADMIN + "/canned-responses", json=body, headers=h)).status_code == 409
    for bad, field in (
        ({"title": "x"}, "text"),
        ({**body, "shortcut": "has space"}, "shortcut"),
        ({**body, "shortcut": "/o2", "service": "Nope"}, "service"),
        ({**body, "shortcut": "/o3", "tags": [""]}, "tags"),
    ):
        r = await client.post(ADMIN + "/canned-responses", json=bad, headers=h)
        assert r.status_code == 400 and field_of(r) == field, r.json()
    r = await client.get(ADMIN + "/canned-responses/search", params={"q": "SHIPPING"}, headers=h)
    assert [c["id"] for c in r.json()] == [cid]
    r = await client.get(ADMIN + "/canned-responses/search", params={"q": "100%"}, headers=h)
    assert r.json() == []
    r = await client.patch(
        ADMIN + "/canned-responses//order", json={"category": "Shipping"}, headers=h
    )
    assert r.status_code == 200 and r.json()["category"] == "Shipping"

    # agents read them, filled from their chat's parameters
    token, iid, _chat, _party, _cursor = await connected_chat(
        rt, client, tenant, client_id="cust-canned", parameters={"FIRST_NAME": "Zoe"}
    )
    ah = {"Authorization": f"Bearer {token}"}
    r = await client.get("/agentapi/v1/canned-responses", params={"q": "order"}, headers=ah)
    assert r.status_code == 200
    (item,) = r.json()["items"]
    assert item["text"] == item["template"] and item["missing"] == [
        "FIRST_NAME",
        "ORDER",
        "NICKNAME",
    ]
    r = await client.get(
        "/agentapi/v1/canned-responses", params={"q": "order", "interaction": iid}, headers=ah
    )
    (item,) = r.json()["items"]
    assert item["text"] == "Hi Zoe, order unknown ships soon. $(NICKNAME)"
    assert item["missing"] == ["NICKNAME"]
    r = await client.get(
        "/agentapi/v1/canned-responses/%2Fhello", params={"interaction": iid}, headers=ah
    )
    assert r.status_code == 200 and r.json()["text"].startswith("Hello Zoe!")
    r = await client.get("/agentapi/v1/canned-responses", headers=ah)
    assert len(r.json()["items"]) >= 5
    # errors: someone else's interaction, no token, an admin (OAuth) token
    other = await agent_login(client, tenant, "agent2")
    r = await client.get(
        "/agentapi/v1/canned-responses",
        params={"interaction": iid},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert r.status_code == 404
    assert (await client.get("/agentapi/v1/canned-responses")).status_code == 401
    assert (await client.get("/agentapi/v1/canned-responses", headers=h)).status_code == 401
    assert (await client.get("/agentapi/v1/canned-responses/nope", headers=ah)).status_code == 404
    assert (await client.delete(ADMIN + f"/canned-responses/{cid}", headers=h)).status_code == 204


async def test_changes_publish_config_topic(
    rt: Runtime, client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    async with rt.bus.listen([config_topic(tenant.tenant_id)]) as waiter:
        r = await client.post(ADMIN + "/skills", json={"name": "Wake"}, headers=admin_headers)
        assert r.status_code == 201
        assert await waiter.wait(5)
        assert waiter.drain() == [f"skill:{r.json()['id']}"]
        # a refused change publishes nothing
        r = await client.post(ADMIN + "/skills", json={"name": "Wake"}, headers=admin_headers)
        assert r.status_code == 409
        assert not waiter.woken


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    mine = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    theirs = {"Authorization": f"Bearer {await get_token(client, other_tenant)}"}
    r = await client.post(ADMIN + "/skills", json={"name": "Secret"}, headers=mine)
    sid = r.json()["id"]
    assert (await client.get(ADMIN + f"/skills/{sid}", headers=theirs)).status_code == 404
    assert (await client.delete(ADMIN + f"/skills/{sid}", headers=theirs)).status_code == 404
    names = [s["name"] for s in (await client.get(ADMIN + "/skills", headers=theirs)).json()]
    assert "Secret" not in names


@pytest.mark.parametrize("path", ["/entries", "/services", "/teams", "/canned-responses"])
async def test_bodies_must_be_json_objects(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str
) -> None:
    r = await client.post(
        ADMIN + path, content=b"[1]", headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(
        ADMIN + path, content=b"{", headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(ADMIN + path, data={"a": "b"}, headers=admin_headers)
    assert r.status_code == 415


async def test_openapi_tags_administration(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ops = [
        op for path, item in spec["paths"].items() if path.startswith(ADMIN) for op in item.values()
    ]
    assert len(ops) >= 50
    assert all(op["tags"] == ["Administration"] for op in ops)
    post = spec["paths"][ADMIN + "/entries"]["post"]
    assert "appId" in post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert asyncio.iscoroutinefunction(test_openapi_tags_administration)
