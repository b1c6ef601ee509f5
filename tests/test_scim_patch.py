"""SCIM PATCH (RFC 7644 §3.5.2): add, replace and remove, with and without a path, value
filters, the forms Microsoft Entra ID sends, and the errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantInfo
from tests.test_scim_support import (
    CC_URN,
    SCIM,
    USER_URN,
    assert_error,
    create,
    patch_body,
    scim_headers,
    user_body,
)


async def _patch(
    client: httpx.AsyncClient, h: dict[str, str], uid: str, *ops: dict[str, Any]
) -> dict[str, Any]:
    r = await client.patch(f"{SCIM}/users/{uid}", json=patch_body(*ops), headers=h)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    r = await client.get(f"{SCIM}/users/{uid}", headers=h)
    assert r.json() == body  # what PATCH answers is what is stored
    return body


async def test_add_replace_remove_with_paths(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    uid = (await create(client, h, user_body("p1")))["id"]
    body = await _patch(
        client,
        h,
        uid,
        {"op": "add", "path": "title", "value": "Lead"},
        {"op": "add", "path": "nickName", "value": "Pi"},
        {"op": "replace", "path": "name.givenName", "value": "Paul"},
        {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "+1 555"}]},
        {"op": "add", "path": "addresses", "value": [{"locality": "Lyon", "country": "FR"}]},
        {"op": "replace", "path": "timezone", "value": "Europe/Paris"},
    )
    assert body["title"] == "Lead" and body["nickName"] == "Pi"
    assert body["name"] == {"givenName": "Paul", "familyName": "Doe"}
    assert {"type": "work", "value": "+1 555"} in body["phoneNumbers"]
    assert body["addresses"] == [{"locality": "Lyon", "country": "FR"}]
    assert body["timezone"] == "Europe/Paris"
    body = await _patch(
        client,
        h,
        uid,
        {"op": "replace", "path": 'addresses[locality eq "Lyon"].country', "value": "BE"},
    )
    assert body["addresses"] == [{"locality": "Lyon", "country": "BE"}]
    body = await _patch(
        client,
        h,
        uid,
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": "addresses"},
        {"op": "remove", "path": 'phoneNumbers[type eq "work"]'},
    )
    assert "title" not in body and "addresses" not in body
    assert [p["type"] for p in body["phoneNumbers"]] == ["extension"]


async def test_without_path(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    uid = (await create(client, h, user_body("p2")))["id"]
    body = await _patch(
        client,
        h,
        uid,
        {
            "op": "replace",
            "value": {
                "active": False,
                "title": "Agent",
                "name.familyName": "Dough",
                "emails": [{"value": "new@example.com", "type": "work", "primary": True}],
                f"{CC_URN}:team": "Support Team",
            },
        },
        {"op": "add", "value": {CC_URN: {"skills": [{"value": "Sales", "level": 60}]}}},
    )
    assert body["active"] is False and body["title"] == "Agent"
    assert body["name"]["familyName"] == "Dough"
    assert body["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]
    assert body[CC_URN] == {"team": "Support Team", "skills": [{"value": "Sales", "level": 60}]}


async def test_value_filters(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(
        client, h, user_body("p3", emails=[{"value": "p3@work.example", "type": "work"}])
    )
    uid = made["id"]
    body = await _patch(
        client,
        h,
        uid,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "p3@new.example"},
    )
    assert body["emails"] == [{"value": "p3@new.example", "type": "work", "primary": True}]
    # Entra ID writes a filtered path that matches nothing: the entry is created.
    body = await _patch(
        client,
        h,
        uid,
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+33 6"},
    )
    assert {"type": "mobile", "value": "+33 6"} in body["phoneNumbers"]
    body = await _patch(
        client,
        h,
        uid,
        {
            "op": "add",
            "path": f"{CC_URN}:skills",
            "value": [{"value": "English", "level": 80}, {"value": "Spanish", "level": 40}],
        },
        {"op": "replace", "path": f'{CC_URN}:skills[value eq "Spanish"].level', "value": 55},
        {"op": "remove", "path": f'{CC_URN}:skills[value eq "English"]'},
    )
    assert body[CC_URN]["skills"] == [{"value": "Spanish", "level": 55}]
    body = await _patch(client, h, uid, {"op": "remove", "path": f"{CC_URN}:skills"})
    assert CC_URN not in body


async def test_entra_id_forms(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    uid = (await create(client, h, user_body("p4")))["id"]
    body = await _patch(
        client,
        h,
        uid,
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "title", "value": "Rep"},
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
            "value": "N",
        },
        # An attribute we do not support is ignored.
        {"op": "Add", "path": "displayName", "value": "Whatever"},
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "Ops",
        },
    )
    assert body["active"] is False and body["title"] == "Rep" and body["nickName"] == "N"
    assert "displayName" not in body


async def test_patch_errors(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    made = await create(client, h, user_body("p5"))
    url = f"{SCIM}/users/{made['id']}"
    cases: list[tuple[dict[str, Any], str | None]] = [
        (patch_body({"op": "remove", "path": "userName"}), None),
        (patch_body({"op": "remove", "path": "emails"}), None),
        (patch_body({"op": "remove", "path": "name"}), None),
        (patch_body({"op": "remove", "path": "active"}), None),
        (patch_body({"op": "replace", "path": "id", "value": "x"}), "mutability"),
        (patch_body({"op": "replace", "path": "groups", "value": []}), "mutability"),
        (patch_body({"op": "jump", "path": "title", "value": "x"}), "invalidValue"),
        (patch_body({"op": "remove"}), "noTarget"),
        (patch_body({"op": "add", "path": "title"}), "invalidValue"),
        (patch_body({"op": "replace", "path": "title[[", "value": "x"}), None),
        (patch_body({"op": "replace", "path": "active", "value": "maybe"}), None),
        (
            patch_body({"op": "replace", "path": "timezone", "value": "Nowhere/Land"}),
            "invalidValue",
        ),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, None),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}, None),
        (
            {"schemas": [USER_URN], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
            None,
        ),
    ]
    for body, scim_type in cases:
        r = await client.patch(url, json=body, headers=h)
        assert_error(r, 400, scim_type)
    r = await client.patch(
        f"{SCIM}/users/00000000-0000-0000-0000-000000000000",
        json=patch_body({"op": "replace", "path": "title", "value": "x"}),
        headers=h,
    )
    assert_error(r, 404)
    # Nothing was changed by the failures.
    r = await client.get(url, headers=h)
    assert r.json()["meta"]["version"] == made["meta"]["version"]
