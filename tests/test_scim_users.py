"""SCIM users: the seed's attribute mapping, every error a client can cause, write-only
attributes, entity tags, authorisation and tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from switchboard.core.runtime import Runtime
from switchboard.users.actions import generate_api_secret
from switchboard.users.models import User
from tests.conftest import TenantInfo, get_token
from tests.test_scim_support import (
    CC_URN,
    SCIM,
    USER_URN,
    assert_error,
    create,
    patch_body,
    scim_headers,
    set_settings,
    user_body,
)

CONFIG = "/configapi/v2/user"


async def _config_user(client: httpx.AsyncClient, tenant: TenantInfo, login: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    r = await client.get(f"{CONFIG}/{login}", headers=headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def _row(rt: Runtime, user_id: str) -> User:
    async with rt.db.read() as s:
        user = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
        return user


async def test_active_inverts_disabled(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("ina", active=False))
    assert made["active"] is False
    assert (await _config_user(client, tenant, "ina"))["disabled"] is True
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "replace", "path": "active", "value": True}),
        headers=h,
    )
    assert r.status_code == 200 and r.json()["active"] is True
    assert (await _config_user(client, tenant, "ina"))["disabled"] is False
    # Without "active" a new user is active.
    assert (await create(client, h, user_body("ana")))["active"] is True


async def test_primary_email_and_address_are_kept(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    h = await scim_headers(client, tenant)
    made = await create(
        client,
        h,
        user_body(
            "mails",
            emails=[
                {"value": "first@example.com", "type": "work"},
                {"value": "second@example.com", "type": "home", "primary": True},
            ],
            addresses=[
                {"locality": "Paris", "country": "FR"},
                {"locality": "Austin", "region": "TX", "country": "US", "primary": True},
            ],
        ),
    )
    assert made["emails"] == [{"value": "second@example.com", "type": "home", "primary": True}]
    assert made["addresses"] == [
        {"locality": "Austin", "region": "TX", "country": "US", "primary": True}
    ]
    assert (await _config_user(client, tenant, "mails"))["email"] == "second@example.com"
    # Without a primary one, the first one.
    made = await create(
        client,
        h,
        user_body(
            "firsts",
            emails=[{"value": "a@example.com"}, {"value": "b@example.com"}],
            addresses=[{"locality": "Paris"}, {"locality": "Rome"}],
        ),
    )
    assert made["emails"] == [{"value": "a@example.com", "primary": True}]
    assert made["addresses"] == [{"locality": "Paris"}]


async def test_phone_number_types(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(
        client,
        h,
        user_body(
            "phones",
            phoneNumbers=[
                {"type": "home", "value": "+1 111"},
                {"type": "work", "value": "+1 650 555 0001"},
                {"type": "mobile", "value": "+1 650 555 0002"},
                {"type": "default", "value": "+1 650 555 0003"},
                {"type": "extension", "value": "4321"},
                {"type": "fax", "value": "+1 222"},
            ],
        ),
    )
    assert made["phoneNumbers"] == [
        {"type": "work", "value": "+1 650 555 0001"},
        {"type": "mobile", "value": "+1 650 555 0002"},
        {"type": "default", "value": "+1 650 555 0003"},
        {"type": "extension", "value": "4321"},
    ]
    config = await _config_user(client, tenant, "phones")
    assert config["workPhone"] == "+1 650 555 0001"
    assert config["mobilePhone"] == "+1 650 555 0002"
    assert config["extension"] == "4321"


async def test_extension_conflicts_and_errors(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    h = await scim_headers(client, tenant)
    taken = (await _config_user(client, tenant, "agent1"))["extension"]
    r = await client.post(
        SCIM + "/users",
        json=user_body("dup", phoneNumbers=[{"type": "extension", "value": taken}]),
        headers=h,
    )
    assert_error(r, 409, "uniqueness")
    made = await create(client, h, user_body("mover"))
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body(
            {"op": "replace", "path": 'phoneNumbers[type eq "extension"].value', "value": taken}
        ),
        headers=h,
    )
    assert_error(r, 409, "uniqueness")
    for bad in (
        [{"type": "extension", "value": "12a"}],
        [
            {"type": "extension", "value": "7001"},
            {"type": "extension", "value": "7002"},
        ],
    ):
        r = await client.post(SCIM + "/users", json=user_body("bad", phoneNumbers=bad), headers=h)
        assert_error(r, 400, "invalidValue")
    # An extension is assigned when none is given; a PATCH may remove it.
    ext = [p for p in made["phoneNumbers"] if p["type"] == "extension"]
    assert len(ext) == 1 and ext[0]["value"].isdigit()
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "remove", "path": 'phoneNumbers[type eq "extension"]'}),
        headers=h,
    )
    assert r.status_code == 200 and "phoneNumbers" not in r.json()


async def test_extension_assignment_can_be_turned_off(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await set_settings(rt, tenant, scim_assign_extension=False)
    h = await scim_headers(client, tenant)
    assert "phoneNumbers" not in await create(client, h, user_body("noext"))


async def test_roles(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    h = await scim_headers(client, tenant)
    r = await client.post(
        SCIM + "/users", json=user_body("r1", roles=[{"value": "Astronaut"}]), headers=h
    )
    body = assert_error(r, 404)
    assert body["detail"].startswith("Role not found")
    # Default role, plain strings accepted, PUT keeps or clears, PATCH adds.
    made = await create(client, h, user_body("r2"))
    assert made["roles"] == [{"value": "Agent"}]
    made = await create(client, h, user_body("r3", roles=["Supervisor", "Agent"]))
    assert made["roles"] == [{"value": "Agent"}, {"value": "Supervisor"}]
    assert (await _config_user(client, tenant, "r3"))["roles"] == ["Agent", "Supervisor"]
    r = await client.put(f"{SCIM}/users/{made['id']}", json=user_body("r3"), headers=h)
    assert r.json()["roles"] == [{"value": "Agent"}, {"value": "Supervisor"}]
    r = await client.put(f"{SCIM}/users/{made['id']}", json=user_body("r3", roles=[]), headers=h)
    assert "roles" not in r.json()
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "add", "path": "roles", "value": [{"value": "Reporting"}]}),
        headers=h,
    )
    assert r.json()["roles"] == [{"value": "Reporting"}]
    await set_settings(rt, tenant, scim_default_roles=[])
    assert "roles" not in await create(client, h, user_body("r4"))


async def test_team_skills_and_groups(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(
        client,
        h,
        user_body(
            "skilled",
            **{CC_URN: {"team": "Sales Team", "skills": [{"value": "Tagalog", "level": 75}]}},
        ),
    )
    assert made["schemas"] == [USER_URN, CC_URN]
    assert made[CC_URN] == {"team": "Sales Team", "skills": [{"value": "Tagalog", "level": 75}]}
    assert made["groups"][0]["display"] == "Sales Team"
    config = await _config_user(client, tenant, "skilled")
    assert config["team"] == "Sales Team" and config["skills"] == {"Tagalog": 75}
    r = await client.post(
        SCIM + "/users", json=user_body("t2", **{CC_URN: {"team": "Nowhere"}}), headers=h
    )
    assert assert_error(r, 404)["detail"] == "Team not found: Nowhere"
    r = await client.post(
        SCIM + "/users",
        json=user_body("t3", **{CC_URN: {"skills": [{"value": "X", "level": 101}]}}),
        headers=h,
    )
    assert_error(r, 400, "invalidValue")
    # A PUT without the extension keeps team and skills; with it, replaces them.
    r = await client.put(f"{SCIM}/users/{made['id']}", json=user_body("skilled"), headers=h)
    assert r.json()[CC_URN]["team"] == "Sales Team"
    r = await client.put(
        f"{SCIM}/users/{made['id']}",
        json=user_body("skilled", **{CC_URN: {"skills": [{"value": "Sales"}]}}),
        headers=h,
    )
    assert r.json()[CC_URN] == {"skills": [{"value": "Sales", "level": 100}]}
    assert r.json()["groups"] == []  # no team: present and empty (issue 11)
    # groups is read-only.
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "add", "path": "groups", "value": [{"value": "x"}]}),
        headers=h,
    )
    assert_error(r, 400, "mutability")


async def test_password_is_write_only_and_generated(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("nopw"))
    assert "password" not in made
    assert (await _row(rt, made["id"])).password_hash  # generated
    made = await create(client, h, user_body("pw", password="Secret-pass-1"))
    for r in (
        await client.get(f"{SCIM}/users/{made['id']}", headers=h),
        await client.get(f"{SCIM}/users/{made['id']}?attributes=password", headers=h),
        await client.get(f'{SCIM}/users?filter=userName eq "pw"', headers=h),
    ):
        assert "password" not in r.text
    login = {"tenant": tenant.domain, "loginId": "pw", "password": "Secret-pass-1"}
    r = await client.post("/agentapi/v1/login", json=login)
    assert r.status_code == 200, r.text
    await client.post(
        "/agentapi/v1/logout", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "replace", "path": "password", "value": "Other-pass-2"}),
        headers=h,
    )
    assert r.status_code == 200 and "password" not in r.json()
    assert (await client.post("/agentapi/v1/login", json=login)).status_code == 401
    r = await client.post(SCIM + "/users", json=user_body("short", password="abc"), headers=h)
    assert_error(r, 400, "invalidValue")
    # Removing the password leaves single sign-on only.
    r = await client.patch(
        f"{SCIM}/users/{made['id']}",
        json=patch_body({"op": "remove", "path": "password"}),
        headers=h,
    )
    assert r.status_code == 200
    assert (await _row(rt, made["id"])).password_hash is None


async def test_username_changes_need_the_tenant_setting(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("before"))
    url = f"{SCIM}/users/{made['id']}"
    rename = patch_body({"op": "replace", "path": "userName", "value": "after"})
    assert_error(await client.patch(url, json=rename, headers=h), 400, "mutability")
    assert_error(await client.put(url, json=user_body("after"), headers=h), 400, "mutability")
    await set_settings(rt, tenant, scim_allow_username_change=True)
    r = await client.patch(url, json=rename, headers=h)
    assert r.status_code == 200 and r.json()["userName"] == "after"
    assert (await _config_user(client, tenant, "after"))["loginId"] == "after"
    taken = patch_body({"op": "replace", "path": "userName", "value": "AGENT1"})
    assert_error(await client.patch(url, json=taken, headers=h), 409, "uniqueness")


async def test_invalid_users(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    await create(client, h, user_body("jdoe"))
    cases: list[tuple[dict[str, Any], int, str]] = [
        (user_body("JDoe"), 409, "uniqueness"),  # userName is case-insensitive
        (user_body("agent1"), 409, "uniqueness"),
        (user_body("has space"), 400, "invalidValue"),
        (user_body("a/b"), 400, "invalidValue"),
        ({k: v for k, v in user_body("x1").items() if k != "userName"}, 400, "invalidValue"),
        ({k: v for k, v in user_body("x2").items() if k != "name"}, 400, "invalidValue"),
        ({k: v for k, v in user_body("x3").items() if k != "emails"}, 400, "invalidValue"),
        (user_body("x4", name={"givenName": "Only"}), 400, "invalidValue"),
        (user_body("x5", emails=[{"value": "not-an-address"}]), 400, "invalidValue"),
        (user_body("x6", timezone="Mars/Olympus_Mons"), 400, "invalidValue"),
        (user_body("x7", active="perhaps"), 400, "invalidValue"),
        ({**user_body("x8"), "schemas": ["urn:example:Nope"]}, 400, ""),
    ]
    for body, status, scim_type in cases:
        r = await client.post(SCIM + "/users", json=body, headers=h)
        assert_error(r, status, scim_type or None)
    # Unknown attributes are ignored (the seed: unlisted fields are not supported).
    made = await create(client, h, user_body("extra", displayName="X", locale="fr"))
    assert "displayName" not in made and "locale" not in made
    # Read-only attributes in a request are ignored.
    made = await create(client, h, {**user_body("ro"), "id": "mine", "meta": {}, "groups": []})
    assert made["id"] != "mine"


async def test_external_id_is_stored(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("ext", externalId="00u1ABC"))
    assert made["externalId"] == "00u1ABC"
    r = await client.get(SCIM + '/users?filter=externalId eq "00u1ABC"', headers=h)
    assert [u["id"] for u in r.json()["Resources"]] == [made["id"]]
    r = await client.get(SCIM + '/users?filter=externalId eq "00U1ABC"', headers=h)
    assert r.json()["totalResults"] == 0  # externalId is case-exact


async def test_entity_tags(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("etag"))
    url = f"{SCIM}/users/{made['id']}"
    r = await client.get(url, headers=h)
    tag = r.headers["etag"]
    assert tag == made["meta"]["version"] == r.json()["meta"]["version"]
    r = await client.get(url, headers={**h, "If-None-Match": tag})
    assert r.status_code == 304
    stale = {**h, "If-Match": 'W/"0000"'}
    op = patch_body({"op": "replace", "path": "title", "value": "Boss"})
    assert_error(await client.patch(url, json=op, headers=stale), 412)
    assert_error(await client.put(url, json=user_body("etag"), headers=stale), 412)
    assert_error(await client.delete(url, headers=stale), 412)
    r = await client.patch(url, json=op, headers={**h, "If-Match": tag})
    assert r.status_code == 200 and r.headers["etag"] != tag
    r = await client.delete(url, headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 204


async def test_protocol_errors_are_scim_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    h = await scim_headers(client, tenant)
    r = await client.get(SCIM + "/users")
    assert_error(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert_error(await client.get(SCIM + "/users", headers={"Authorization": "Bearer x"}), 401)
    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="agent1")
    token_r = await client.post(
        "/configapi/v2/oauth/token", data=tenant.token_form("agent1", secret)
    )
    agent = {"Authorization": f"Bearer {token_r.json()['access_token']}"}
    assert_error(await client.get(SCIM + "/users", headers=agent), 403)
    assert_error(await client.get(SCIM + "/Schemas", headers=agent), 403)
    # text/plain is accepted as JSON (the seed's Postman collection sends it, issue 11/12);
    # a type that cannot be JSON is a 415
    r = await client.post(
        SCIM + "/users", content="x", headers={**h, "Content-Type": "application/xml"}
    )
    assert_error(r, 415)
    r = await client.post(SCIM + "/users", content="{nope", headers=h)
    assert_error(r, 400, "invalidSyntax")
    r = await client.post(SCIM + "/users", content="[1]", headers=h)
    assert_error(r, 400, "invalidSyntax")
    # application/json is accepted as well as application/scim+json.
    made = await create(client, {**h, "Content-Type": "application/json"}, user_body("json"))
    assert_error(await client.get(f"{SCIM}/users/{made['id']}0", headers=h), 404)
    assert_error(await client.get(SCIM + "/nothing/here", headers=h), 404)
    r = await client.post(f"{SCIM}/users/{made['id']}", json={}, headers=h)
    assert_error(r, 405)
    assert "PATCH" in r.headers["allow"]
    assert_error(await client.delete(SCIM + "/users", headers=h), 405)
    assert_error(await client.get(SCIM + "/users/.search", headers=h), 405)
    # RFC 7644's capitalised endpoint works too.
    r = await client.get(f"{SCIM}/Users/{made['id']}", headers=h)
    assert r.status_code == 200


async def test_tenant_isolation(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    ha = await scim_headers(client, tenant)
    hb = await scim_headers(client, other_tenant)
    made = await create(client, ha, user_body("mine"))
    url = f"{SCIM}/users/{made['id']}"
    assert_error(await client.get(url, headers=hb), 404)
    assert_error(await client.put(url, json=user_body("mine"), headers=hb), 404)
    op = patch_body({"op": "replace", "path": "active", "value": False})
    assert_error(await client.patch(url, json=op, headers=hb), 404)
    assert_error(await client.delete(url, headers=hb), 404)
    r = await client.get(SCIM + '/users?filter=userName eq "mine"', headers=hb)
    assert r.json()["totalResults"] == 0
    r = await client.post(SCIM + "/.search", json={"filter": 'userName eq "mine"'}, headers=hb)
    assert r.json()["totalResults"] == 0
    # The same userName may exist in both tenants.
    await create(client, hb, user_body("mine"))
    r = await client.get(url, headers=ha)
    assert r.status_code == 200 and r.json()["active"] is True
