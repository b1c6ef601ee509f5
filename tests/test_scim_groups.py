"""SCIM groups are the tenant's teams; members are users (one team per user)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantInfo, get_token
from tests.test_scim_support import (
    GROUP_URN,
    SCIM,
    assert_error,
    create,
    patch_body,
    scim_headers,
    user_body,
)


def _group(name: str, *members: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP_URN], "displayName": name}
    if members:
        body["members"] = [{"value": m} for m in members]
    return body


def _ids(group: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in group.get("members", []))


async def _team_of(client: httpx.AsyncClient, tenant: TenantInfo, login: str) -> str | None:
    h = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    team: str | None = (
        (await client.get(f"/configapi/v2/user/{login}", headers=h)).json().get("team")
    )
    return team


async def test_group_lifecycle(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    u1 = (await create(client, h, user_body("g1")))["id"]
    u2 = (await create(client, h, user_body("g2")))["id"]
    r = await client.post(SCIM + "/groups", json=_group("Night Shift", u1), headers=h)
    assert r.status_code == 201, r.text
    group = r.json()
    gid = group["id"]
    assert r.headers["location"] == group["meta"]["location"]
    assert group["meta"]["resourceType"] == "GROUP"
    assert group["members"] == [
        {"value": u1, "$ref": f"http://testserver{SCIM}/users/{u1}", "type": "User"}
    ]
    user = (await client.get(f"{SCIM}/users/{u1}", headers=h)).json()
    assert user["groups"] == [{"value": gid, "display": "Night Shift"}]
    assert await _team_of(client, tenant, "g1") == "Night Shift"

    url = f"{SCIM}/groups/{gid}"
    r = await client.patch(
        url,
        json=patch_body(
            {"op": "add", "path": "members", "value": [{"value": u2}]},
            {"op": "replace", "path": "displayName", "value": "Late Shift"},
        ),
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert _ids(r.json()) == sorted([u1, u2]) and r.json()["displayName"] == "Late Shift"
    assert await _team_of(client, tenant, "g2") == "Late Shift"
    r = await client.patch(
        url,
        json=patch_body({"op": "remove", "path": f'members[value eq "{u1}"]'}),
        headers=h,
    )
    assert _ids(r.json()) == [u2]
    assert await _team_of(client, tenant, "g1") is None
    # Entra ID removes members by value.
    r = await client.patch(
        url,
        json=patch_body({"op": "Remove", "path": "members", "value": [{"value": u2}]}),
        headers=h,
    )
    assert "members" not in r.json()
    # PUT: without members they are kept, with them they are set.
    r = await client.put(url, json=_group("Late Shift", u1, u2), headers=h)
    assert _ids(r.json()) == sorted([u1, u2])
    r = await client.put(url, json=_group("Evening Shift"), headers=h)
    assert _ids(r.json()) == sorted([u1, u2]) and r.json()["displayName"] == "Evening Shift"
    r = await client.put(url, json={**_group("Evening Shift"), "members": []}, headers=h)
    assert "members" not in r.json()
    r = await client.delete(url, headers=h)
    assert r.status_code == 204
    assert_error(await client.get(url, headers=h), 404)


async def test_users_move_between_teams(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    r = await client.get(SCIM + '/groups?filter=displayName eq "Support Team"', headers=h)
    support = r.json()["Resources"][0]
    agent1 = (await client.get(SCIM + '/users?filter=userName eq "agent1"', headers=h)).json()[
        "Resources"
    ][0]["id"]
    assert agent1 in _ids(support)
    r = await client.post(SCIM + "/groups", json=_group("Escalations", agent1), headers=h)
    assert r.status_code == 201
    support = (await client.get(f"{SCIM}/groups/{support['id']}", headers=h)).json()
    assert agent1 not in _ids(support)
    assert await _team_of(client, tenant, "agent1") == "Escalations"
    # Deleting a team leaves its members without one.
    assert (await client.delete(f"{SCIM}/groups/{r.json()['id']}", headers=h)).status_code == 204
    assert await _team_of(client, tenant, "agent1") is None


async def test_group_queries(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    r = await client.get(SCIM + "/groups?sortBy=displayName&excludedAttributes=members", headers=h)
    body = r.json()
    assert [g["displayName"] for g in body["Resources"]] == [
        "Accounting",
        "Administrators",
        "Sales Team",
        "Support Team",
    ]
    assert all("members" not in g for g in body["Resources"])
    r = await client.get(
        SCIM + '/groups?filter=displayName sw "S"&attributes=displayName', headers=h
    )
    assert sorted(g["displayName"] for g in r.json()["Resources"]) == ["Sales Team", "Support Team"]
    admin = (await client.get(SCIM + '/users?filter=userName eq "admin"', headers=h)).json()[
        "Resources"
    ][0]["id"]
    r = await client.get(SCIM + f'/groups?filter=members[value eq "{admin}"]', headers=h)
    assert [g["displayName"] for g in r.json()["Resources"]] == ["Administrators"]
    r = await client.post(
        SCIM + "/groups/.search", json={"filter": 'displayName eq "Sales Team"'}, headers=h
    )
    assert r.json()["totalResults"] == 1


async def test_group_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    h = await scim_headers(client, tenant)
    hb = await scim_headers(client, other_tenant)
    assert_error(
        await client.post(SCIM + "/groups", json=_group("Sales Team"), headers=h), 409, "uniqueness"
    )
    assert_error(
        await client.post(SCIM + "/groups", json=_group("X", "nobody"), headers=h),
        400,
        "invalidValue",
    )
    assert_error(await client.post(SCIM + "/groups", json={"schemas": [GROUP_URN]}, headers=h), 400)
    r = await client.post(SCIM + "/groups", json=_group("Mine"), headers=h)
    gid = r.json()["id"]
    url = f"{SCIM}/groups/{gid}"
    r = await client.patch(
        url,
        json=patch_body({"op": "replace", "path": "displayName", "value": "Sales Team"}),
        headers=h,
    )
    assert_error(r, 409, "uniqueness")
    assert_error(await client.post(url, json={}, headers=h), 405)
    assert_error(await client.get(f"{SCIM}/groups/{gid}x", headers=h), 404)
    stale = {**h, "If-Match": 'W/"nope"'}
    assert_error(await client.put(url, json=_group("Mine"), headers=stale), 412)
    # Tenant isolation: B can neither see A's team nor put its own users in it.
    assert_error(await client.get(url, headers=hb), 404)
    assert_error(await client.put(url, json=_group("Stolen"), headers=hb), 404)
    assert_error(
        await client.patch(url, json=patch_body({"op": "remove", "path": "members"}), headers=hb),
        404,
    )
    assert_error(await client.delete(url, headers=hb), 404)
    r = await client.get(SCIM + '/groups?filter=displayName eq "Mine"', headers=hb)
    assert r.json()["totalResults"] == 0
    theirs = (await create(client, hb, user_body("theirs")))["id"]
    r = await client.patch(
        url,
        json=patch_body({"op": "add", "path": "members", "value": [{"value": theirs}]}),
        headers=h,
    )
    assert_error(r, 400, "invalidValue")
