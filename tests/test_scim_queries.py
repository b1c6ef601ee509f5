"""SCIM queries: filters (RFC 7644 §3.4.2.2), pagination, sorting, attribute selection,
POST .search on users and at the root."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import TenantInfo
from tests.test_scim_support import (
    CC_URN,
    LIST_URN,
    SCIM,
    SEARCH_URN,
    assert_error,
    create,
    scim_headers,
    user_body,
)


async def _people(client: httpx.AsyncClient, h: dict[str, str]) -> dict[str, str]:
    ids = {}
    for login, first, title, active, work, ext in (
        ("alice.w", "Alice", "TSR Level 1", True, "alice@work.example", None),
        ("bob.w", "Bob", "TSR Level 2", False, None, {"team": "Sales Team"}),
        (
            "carol.w",
            "Carol",
            None,
            True,
            "carol@work.example",
            {"skills": [{"value": "Dutch", "level": 90}]},
        ),
    ):
        body = user_body(
            login,
            name={"givenName": first, "familyName": "Wonder"},
            active=active,
            emails=[
                {"value": work, "type": "work"}
                if work
                else {"value": f"{login}@home.example", "type": "home"}
            ],
            externalId=f"ext-{login}",
        )
        if title:
            body["title"] = title
        if ext:
            body[CC_URN] = ext
        ids[login] = (await create(client, h, body))["id"]
    return ids


async def _find(client: httpx.AsyncClient, h: dict[str, str], flt: str) -> list[str]:
    r = await client.get(SCIM + "/users?filter=" + quote(flt), headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schemas"] == [LIST_URN]
    assert body["totalResults"] == len(body["Resources"])
    return sorted(u["userName"] for u in body["Resources"])


async def test_filters(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    await _people(client, h)
    cases: list[tuple[str, list[str]]] = [
        ('userName eq "ALICE.W"', ["alice.w"]),
        ('userName ne "alice.w" and name.familyName eq "Wonder"', ["bob.w", "carol.w"]),
        ('userName co ".w"', ["alice.w", "bob.w", "carol.w"]),
        ('userName sw "ca"', ["carol.w"]),
        ('userName ew "b.w"', ["bob.w"]),
        ('name.givenName eq "bob" and name.familyName eq "Wonder"', ["bob.w"]),
        ('name.familyName eq "Wonder" and title pr', ["alice.w", "bob.w"]),
        ('title eq "TSR Level 2"', ["bob.w"]),
        ("active eq false", ["bob.w"]),
        ('active eq true and userName co ".w"', ["alice.w", "carol.w"]),
        ('userName eq "alice.w" or userName eq "carol.w"', ["alice.w", "carol.w"]),
        ('not (userName co "a") and name.familyName eq "Wonder"', ["bob.w"]),
        ('emails co "@work.example"', ["alice.w", "carol.w"]),
        ('emails[type eq "work" and value sw "carol"]', ["carol.w"]),
        ('emails.value eq "bob.w@home.example"', ["bob.w"]),
        ('emails[type eq "home"] and name.familyName eq "Wonder"', ["bob.w"]),
        ('externalId eq "ext-bob.w"', ["bob.w"]),
        ('userName gt "alice.w" and userName lt "carol.w"', ["bob.w"]),
        ('userName ge "bob.w" and name.familyName eq "Wonder"', ["bob.w", "carol.w"]),
        ('groups.display eq "Sales Team" and name.familyName eq "Wonder"', ["bob.w"]),
        (f'{CC_URN}:skills[value eq "Dutch" and level gt 50]', ["carol.w"]),
        (f'{CC_URN}:team eq "Sales Team" and name.familyName eq "Wonder"', ["bob.w"]),
        ('meta.created gt "2000-01-01T00:00:00Z" and userName sw "alice"', ["alice.w"]),
        ('userName eq "nobody"', []),
    ]
    for flt, expected in cases:
        assert await _find(client, h, flt) == expected, flt


async def test_bad_filters(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    for flt in ("userName eq", 'userName xx "a"', "((", 'shoeSize eq "42"', "active gt true"):
        r = await client.get(SCIM + "/users?filter=" + quote(flt), headers=h)
        assert_error(r, 400, "invalidFilter")


async def test_pagination_and_sorting(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    await _people(client, h)
    flt = quote('name.familyName eq "Wonder"')
    r = await client.get(
        f"{SCIM}/users?filter={flt}&sortBy=userName&sortOrder=descending", headers=h
    )
    assert [u["userName"] for u in r.json()["Resources"]] == ["carol.w", "bob.w", "alice.w"]
    r = await client.get(
        f"{SCIM}/users?filter={flt}&sortBy=userName&startIndex=2&count=1", headers=h
    )
    body = r.json()
    assert body["totalResults"] == 3 and body["startIndex"] == 2 and body["itemsPerPage"] == 1
    assert [u["userName"] for u in body["Resources"]] == ["bob.w"]
    r = await client.get(f"{SCIM}/users?filter={flt}&count=0", headers=h)
    assert r.json()["totalResults"] == 3 and r.json()["Resources"] == []
    r = await client.get(f"{SCIM}/users?filter={flt}&startIndex=10", headers=h)
    assert r.json()["totalResults"] == 3 and r.json()["Resources"] == []
    # Every user of the tenant (5 demo users + 3) without a filter.
    r = await client.get(f"{SCIM}/users?sortBy=name.givenName", headers=h)
    assert r.json()["totalResults"] == 8
    assert_error(await client.get(f"{SCIM}/users?startIndex=abc", headers=h), 400)
    assert_error(await client.get(f"{SCIM}/users?sortBy=password", headers=h), 400, "invalidPath")


async def test_attribute_selection(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    ids = await _people(client, h)
    url = f"{SCIM}/users/{ids['carol.w']}"
    r = await client.get(url + "?attributes=userName,emails.value", headers=h)
    assert r.json() == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": ids["carol.w"],
        "userName": "carol.w",
        "emails": [{"value": "carol@work.example"}],
    }
    r = await client.get(url + f"?excludedAttributes=emails,meta,{CC_URN}:skills", headers=h)
    body = r.json()
    assert "emails" not in body and "meta" not in body and "skills" not in body.get(CC_URN, {})
    assert body["userName"] == "carol.w" and body["id"]
    r = await client.get(
        SCIM + "/users?attributes=userName&filter=" + quote('userName eq "bob.w"'), headers=h
    )
    assert set(r.json()["Resources"][0]) == {"schemas", "id", "userName"}
    r = await client.post(SCIM + "/users?attributes=userName", json=user_body("sel"), headers=h)
    assert r.status_code == 201 and set(r.json()) == {"schemas", "id", "userName"}
    # unset externalId reads "" and no team reads groups [] (the seed's shape), unless
    # the request leaves them out; "externalId pr" still means "has one"
    plain = (await create(client, h, user_body("plain.w")))["id"]
    r = await client.get(f"{SCIM}/users/{plain}", headers=h)
    assert r.json()["externalId"] == "" and r.json()["groups"] == []
    urn = "urn:ietf:params:scim:schemas:core:2.0:User"
    for excluded in ("externalId,groups", f"{urn}:externalId,{urn}:groups.display"):
        r = await client.get(f"{SCIM}/users/{plain}?excludedAttributes={excluded}", headers=h)
        assert "externalId" not in r.json() and "groups" not in r.json(), excluded
    r = await client.get(f"{SCIM}/users/{plain}?attributes=groups", headers=h)
    assert r.json()["groups"] == [] and "externalId" not in r.json()
    r = await client.get(SCIM + "/users?filter=" + quote("externalId pr"), headers=h)
    assert sorted(u["id"] for u in r.json()["Resources"]) == sorted(ids.values())


async def test_search_endpoints(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = await scim_headers(client, tenant)
    await _people(client, h)
    search: dict[str, Any] = {
        "schemas": [SEARCH_URN],
        "filter": 'name.familyName eq "Wonder"',
        "attributes": ["userName"],
        "sortBy": "userName",
        "startIndex": 1,
        "count": 2,
    }
    r = await client.post(SCIM + "/users/.search", json=search, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totalResults"] == 3 and body["itemsPerPage"] == 2
    assert [u["userName"] for u in body["Resources"]] == ["alice.w", "bob.w"]
    # At the root: users and groups alike.
    r = await client.post(
        SCIM + "/.search",
        json={
            "schemas": [SEARCH_URN],
            "filter": 'displayName eq "Sales Team" or userName eq "bob.w"',
        },
        headers=h,
    )
    found = r.json()["Resources"]
    assert sorted(x.get("userName") or x.get("displayName") for x in found) == [
        "Sales Team",
        "bob.w",
    ]
    r = await client.get(SCIM + "/?filter=" + quote('userName eq "alice.w"'), headers=h)
    assert r.json()["totalResults"] == 1
    r = await client.post(SCIM + "/users/.search", json={"filter": "bad ("}, headers=h)
    assert_error(r, 400, "invalidFilter")
    r = await client.post(SCIM + "/users/.search", json={"cursor": "abc"}, headers=h)
    assert_error(r, 400)
