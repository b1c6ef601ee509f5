"""Configuration API v2 users, lock state, teams and phones — the seed's own examples."""

from __future__ import annotations

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.users.actions import generate_api_secret
from tests.conftest import TenantInfo, get_token

API = "/configapi/v2"

SEED_CREATE = {
    "loginId": "testuser005",
    "password": "$$$999aaa",
    "firstName": "Test",
    "lastName": "User005",
    "team": "Support Team",
    "extension": "2005",
    "workPhone": "6373335656",
    "mobilePhone": "6374128990",
    "email": "testuser005@nowhere.net",
    "disabled": False,
    "changePassword": True,
    "skills": {"Support": 100, "Mobile": 100, "Cable": 70},
    "roles": ["Agent"],
}

SEED_GET = {
    "disabled": False,
    "changePassword": True,
    "skills": {"Cable": 70, "Support": 100, "Mobile": 100},
    "loginId": "testuser005",
    "firstName": "Test",
    "lastName": "User005",
    "team": "Support Team",
    "extension": "2005",
    "workPhone": "6373335656",
    "mobilePhone": "6374128990",
    "email": "testuser005@nowhere.net",
    "roles": ["Agent"],
}


async def test_seed_create_then_get(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 200
    assert r.json() == SEED_GET
    assert "password" not in r.text


async def test_create_without_extension_assigns_one(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = dict(SEED_CREATE, loginId="testuser006")
    del body["extension"]
    r = await client.post(f"{API}/user", json=body, headers=admin_headers)
    assert r.status_code == 200
    ext = r.json()["extension"]
    assert ext.isdigit()
    body2 = dict(body, loginId="testuser007")
    r2 = await client.post(f"{API}/user", json=body2, headers=admin_headers)
    assert r2.json()["extension"] != ext


async def test_seed_update_disable_and_team(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    r = await client.put(
        f"{API}/user/testuser005",
        json={"disabled": "true", "team": "Sales Team"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"{API}/user/testuser005", headers=admin_headers)).json()
    assert got["disabled"] is True
    assert got["team"] == "Sales Team"
    r = await client.put(
        f"{API}/user/testuser005",
        json={"skills": {"Support": 50}, "changePassword": False, "password": "n3w-Passw0rd"},
        headers=admin_headers,
    )
    assert r.status_code == 200
    got = (await client.get(f"{API}/user/testuser005", headers=admin_headers)).json()
    assert got["skills"] == {"Support": 50}
    assert got["changePassword"] is False


async def test_delete_user(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    r = await client.delete(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 200
    r = await client.get(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 404
    r = await client.delete(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 404


async def test_seed_get_teams(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    r = await client.get(f"{API}/team", headers=admin_headers)
    assert r.status_code == 200
    assert r.json() == [
        {"name": "Accounting"},  # the seed's Update User example moves a user there
        {"name": "Administrators"},
        {"name": "Sales Team"},
        {"name": "Support Team"},
    ]


async def test_phone_directory_and_access_numbers(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    r = await client.get(f"{API}/phone/user", headers=admin_headers)
    assert r.status_code == 200
    entries = {e["loginId"]: e for e in r.json()}
    assert entries["testuser005"] == {
        "extension": "2005",
        "loginId": "testuser005",
        "firstName": "Test",
        "lastName": "User005",
        "voiceMail": False,
        "greeting": False,
    }
    assert entries["admin"]["firstName"] == "API"
    r = await client.get(f"{API}/phone/ext", headers=admin_headers)
    assert r.json() == [
        # the SMS/MMS examples' From number, routed to the demo chat entry (appId test)
        {"number": "16502505674", "media": "sms_mms", "type": "scenario", "scenario": "test"},
        {
            "number": "16505555555",
            "media": "voice_text",
            "type": "scenario",
            "scenario": "Main Inbound",
        },
    ]


# ---- errors ------------------------------------------------------------------------


async def test_bad_json_and_content_type(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = dict(admin_headers, **{"Content-Type": "application/json"})
    r = await client.post(f"{API}/user", content=b"{not json", headers=h)
    assert r.status_code == 400
    assert "JSON" in r.json()["message"]
    r = await client.post(f"{API}/user", content=b"[1,2]", headers=h)
    assert r.status_code == 400
    r = await client.post(
        f"{API}/user",
        content=b"loginId=x",
        headers=dict(admin_headers, **{"Content-Type": "text/plain"}),
    )
    assert r.status_code == 415
    r = await client.post(f"{API}/user", content=b"{}", headers=admin_headers)
    assert r.status_code == 415  # no content type at all


async def test_missing_fields_and_wrong_types(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = dict(SEED_CREATE)
    del body["team"]
    r = await client.post(f"{API}/user", json=body, headers=admin_headers)
    assert r.status_code == 400
    assert "team" in r.json()["message"]
    r = await client.post(
        f"{API}/user", json=dict(SEED_CREATE, skills={"Support": 101}), headers=admin_headers
    )
    assert r.status_code == 400
    assert "between 0 and 100" in r.json()["message"]
    r = await client.post(
        f"{API}/user", json=dict(SEED_CREATE, disabled="maybe"), headers=admin_headers
    )
    assert r.status_code == 400
    r = await client.post(
        f"{API}/user", json=dict(SEED_CREATE, password="short"), headers=admin_headers
    )
    assert r.status_code == 400
    assert "Password" in r.json()["message"]
    r = await client.put(f"{API}/user/admin", json={"loginId": "renamed"}, headers=admin_headers)
    assert r.status_code == 400
    # nothing was half-written
    r = await client.get(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 404


async def test_unknown_team_and_role(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(f"{API}/user", json=dict(SEED_CREATE, team="Nope"), headers=admin_headers)
    assert r.status_code == 404
    assert r.json()["message"] == "Team not found: Nope"
    r = await client.post(
        f"{API}/user", json=dict(SEED_CREATE, roles=["Wizard"]), headers=admin_headers
    )
    assert r.status_code == 404
    assert "Role not found" in r.json()["message"]
    r = await client.get(f"{API}/user/testuser005", headers=admin_headers)
    assert r.status_code == 404
    r = await client.put(f"{API}/user/ghost", json={"disabled": True}, headers=admin_headers)
    assert r.status_code == 404
    r = await client.get(f"{API}/user/lock/ghost", headers=admin_headers)
    assert r.status_code == 404


async def test_duplicates_conflict(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    assert r.status_code == 200
    r = await client.post(f"{API}/user", json=SEED_CREATE, headers=admin_headers)
    assert r.status_code == 409
    r = await client.post(
        f"{API}/user", json=dict(SEED_CREATE, loginId="other"), headers=admin_headers
    )
    assert r.status_code == 409
    assert "Extension" in r.json()["message"]
    r = await client.put(f"{API}/user/admin", json={"extension": "2005"}, headers=admin_headers)
    assert r.status_code == 409


async def test_privilege_required(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: object
) -> None:
    from switchboard.core.runtime import Runtime
    from switchboard.users.actions import generate_api_secret

    assert isinstance(rt, Runtime)
    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="agent1")
    r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form("agent1", secret))
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.get(f"{API}/user/agent1", headers=h)
    assert r.status_code == 403
    assert "Manage users" in r.json()["message"]
    r = await client.post(f"{API}/user", json=SEED_CREATE, headers=h)
    assert r.status_code == 403
    # the directory is readable by any user of the tenant
    r = await client.get(f"{API}/phone/user", headers=h)
    assert r.status_code == 200


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    a = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    b = {"Authorization": f"Bearer {await get_token(client, other_tenant)}"}
    await client.post(f"{API}/user", json=SEED_CREATE, headers=a)
    # B cannot see, change, unlock or delete A's user
    assert (await client.get(f"{API}/user/testuser005", headers=b)).status_code == 404
    assert (
        await client.put(f"{API}/user/testuser005", json={"disabled": True}, headers=b)
    ).status_code == 404
    assert (await client.delete(f"{API}/user/testuser005", headers=b)).status_code == 404
    assert (await client.put(f"{API}/user/lock/testuser005", headers=b)).status_code == 404
    dir_b = (await client.get(f"{API}/phone/user", headers=b)).json()
    assert "testuser005" not in {e["loginId"] for e in dir_b}
    # B creating the same loginId is fine (it's B's own namespace), and A's is untouched
    assert (await client.post(f"{API}/user", json=SEED_CREATE, headers=b)).status_code == 200
    assert (await client.get(f"{API}/user/testuser005", headers=a)).json()["disabled"] is False


# ---- the demo tenant holds what the seed's examples name (issue 11) --------------------

SEED_ROLES = [
    "System Administrator",
    "Campaign Administrator",
    "Supervisor",
    "Quality Evaluator",
    "Quality Evaluator Admin",
    "Security Administrator",
    "Campaign Operator",
    "Service Administrator",
    "Reviewer",
    "Manager",
    "Agent",
]  # the roles of seed 003's "Get User by ID" example


async def test_demo_tenant_has_the_seeds_roles(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    body = dict(SEED_CREATE, loginId="everything", extension="2901", roles=SEED_ROLES)
    r = await client.post(f"{API}/user", json=body, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["roles"] == sorted(SEED_ROLES)
    # each role carries sensible privileges: two of them, through their own tokens
    for login, role, allowed, refused in (
        ("campaigns", "Campaign Administrator", "/campaign/getAll", "/user/agent1"),
        ("security", "Security Administrator", "/user/agent1", "/campaign/getAll"),
    ):
        body = dict(SEED_CREATE, loginId=login, roles=[role])
        del body["extension"]
        assert (await client.post(f"{API}/user", json=body, headers=admin_headers)).is_success
        secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id=login)
        r = await client.post(f"{API}/oauth/token", data=tenant.token_form(login, secret))
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await client.get(API + allowed, headers=h)).status_code == 200, role
        assert (await client.get(API + refused, headers=h)).status_code == 403, role
    r = await client.post(
        f"{API}/user", json=dict(body, loginId="x", roles=["Nope"]), headers=admin_headers
    )
    assert r.status_code == 404 and "Role not found: Nope" in r.json()["message"]


async def test_demo_tenant_texts_from_the_seeds_number(
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    rt: Runtime,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the SMS/MMS examples send From 16502505674
    r = await client.post(
        "/clientweb/smsapi/v1/Messages",
        json={"To": "+5219843111460", "Body": "Test message 5", "From": "16502505674"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    # a customer's text to it opens a chat on the demo chat entry
    monkeypatch.setattr(rt.settings, "sms_inbound_secret", "hook-secret-1")
    r = await client.post(
        "/clientweb/smsapi/v1/inbound",
        params={"tenant": tenant.domain},
        json={"From": "+14155550123", "To": "+16502505674", "Body": "Hello"},
        headers={"X-Webhook-Secret": "hook-secret-1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_new_chat"] is True and r.json()["chat_id"]
