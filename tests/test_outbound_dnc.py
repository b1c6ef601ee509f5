"""Do-Not-Call lists through the Configuration API: the seed's examples on the demo list
``DNC_List``, normalisation, every list type, and the seed's response codes."""

from __future__ import annotations

import httpx

from switchboard.core.runtime import Runtime
from switchboard.dnc.service import is_number_blocked
from tests.conftest import TenantInfo
from tests.test_outbound_lists import token_of

API = "/configapi/v2/donotcalllist"
SEED_ITEMS = [["123456789", "optional comment"], ["9999999999", "optional comment"]]


async def _entries(client: httpx.AsyncClient, h: dict[str, str], name: str) -> list[str]:
    r = await client.get(f"{API}/{name}/entries", params={"limit": 1000}, headers=h)
    assert r.status_code == 200, r.text
    return [e["key"] for e in r.json()]


async def test_seed_examples_on_the_demo_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.post(f"{API}/add/DNC_List", json=SEED_ITEMS, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 2}
    # duplicates are ignored, also when spelled differently
    r = await client.post(
        f"{API}/add/DNC_List",
        json=[["+1 (999) 999-9999"], ["19999999999", "again"], ["4155550100"]],
        headers=h,
    )
    assert r.json() == {"added": 1}
    assert sorted(await _entries(client, h, "DNC_List")) == [
        "+1123456789",
        "+14155550100",
        "+19999999999",
    ]
    r = await client.post(f"{API}/replaceAll/DNC_List", json=SEED_ITEMS, headers=h)
    assert r.status_code == 200
    assert r.json() == {"added": 2}
    assert sorted(await _entries(client, h, "DNC_List")) == ["+1123456789", "+19999999999"]
    r = await client.post(
        f"{API}/delete/DNC_List", json=[{"key": "9999999"}, {"key": "8888888"}], headers=h
    )
    assert r.status_code == 200
    body = r.json()
    assert body["deleted"] == 0
    assert [e["key"] for e in body["errors"]] == ["9999999", "8888888"]
    r = await client.post(
        f"{API}/delete/DNC_List", json=[{"key": "999-999-9999"}, {"key": "123456789"}], headers=h
    )
    assert r.json() == {"deleted": 2}
    await client.post(f"{API}/add/DNC_List", json=SEED_ITEMS, headers=h)
    r = await client.post(f"{API}/deleteAll/DNC_List", headers=h)
    assert r.status_code == 200
    assert r.json() == {"deleted": 2}
    r = await client.post(f"{API}/deleteAll/DNC_List", headers=h)
    assert r.json() == {"deleted": 0}


async def test_internal_comment_is_the_campaign(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    await client.post(
        f"{API}/add/DNC_List", json=[["4155550111", "Outbound Campaign"], ["4155550112"]], headers=h
    )
    r = await client.get(f"{API}/DNC_List/entries", headers=h)
    by_key = {e["key"]: e for e in r.json()}
    assert by_key["+14155550111"] == {"key": "+14155550111", "campaign": "Outbound Campaign"}
    assert by_key["+14155550112"] == {"key": "+14155550112"}


async def test_types_and_lookups(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    for name, type_ in (
        ("Zips", "geographic"),
        ("Areas", "area_code"),
        ("Accounts", "record_exclusion"),
    ):
        r = await client.post(API, json={"name": name, "type": type_}, headers=h)
        assert r.status_code == 201, r.text
        assert r.json() == {
            "name": name,
            "type": type_,
            "allCampaigns": True,
            "readOnly": False,
            "size": 0,
        }
    r = await client.post(
        f"{API}/add/Zips", json=[["94105", "SF"], ["sw1a 1aa", "London"]], headers=h
    )
    assert r.json() == {"added": 2}
    assert sorted(await _entries(client, h, "Zips")) == ["94105", "SW1A1AA"]
    r = await client.post(f"{API}/add/Areas", json=[["415", "SF"], ["+44 20"]], headers=h)
    assert r.json() == {"added": 2}
    assert sorted(await _entries(client, h, "Areas")) == ["+1415", "+4420"]
    r = await client.post(f"{API}/add/Accounts", json=[["A-17"], ["A-18", "closed"]], headers=h)
    assert r.json() == {"added": 2}

    await client.post(f"{API}/add/DNC_List", json=[["6505550123"]], headers=h)
    async with rt.db.read() as s:
        for number, listed in (
            ("+14155550100", "Areas"),  # area code 415
            ("(650) 555-0123", "DNC_List"),
            ("+442071234567", "Areas"),
            ("+16505550199", None),
        ):
            hit = await is_number_blocked(session=s, tenant_id=tenant.tenant_id, number=number)
            assert (hit.list_name if hit else None) == listed, number

    r = await client.post(f"{API}/add/DNC_List", json=[["not a number"], ["6505550124"]], headers=h)
    assert r.status_code == 200
    assert r.json()["added"] == 1
    assert r.json()["errors"][0]["index"] == 0


async def test_errors(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    for path in ("add", "replaceAll", "delete"):
        for bad in ({"123": "x"}, [{"123": "x"}] if path != "delete" else [["123"]], [[1, 2, 3]]):
            r = await client.post(f"{API}/{path}/DNC_List", json=bad, headers=h)
            assert r.status_code == 400, (path, bad)
        r = await client.post(
            f"{API}/{path}/DNC_List",
            content=b"[",
            headers={**h, "Content-Type": "application/json"},
        )
        assert r.status_code == 400
        r = await client.post(f"{API}/{path}/No_List", json=[], headers=h)
        assert r.status_code == 404
    r = await client.post(f"{API}/deleteAll/No_List", headers=h)
    assert r.status_code == 404
    r = await client.post(
        f"{API}/add/DNC_List", content=b"123", headers={**h, "Content-Type": "text/csv"}
    )
    assert r.status_code == 415

    # read-only lists: "modification of this type of list is not allowed"
    r = await client.post(API, json={"name": "Registry", "readOnly": True}, headers=h)
    assert r.status_code == 201
    for path, body in (
        ("add", SEED_ITEMS),
        ("replaceAll", SEED_ITEMS),
        ("deleteAll", None),
        ("delete", [{"key": "123456789"}]),
    ):
        r = await client.post(f"{API}/{path}/Registry", json=body, headers=h)
        assert r.status_code == 403, path
    r = await client.post(API, json={"name": "Registry"}, headers=h)
    assert r.status_code == 409
    r = await client.post(API, json={"name": "Bad", "type": "federal"}, headers=h)
    assert r.status_code == 400

    agent = {"Authorization": f"Bearer {await token_of(client, rt, tenant, 'agent2')}"}
    for path, body in (
        ("add", SEED_ITEMS),
        ("replaceAll", SEED_ITEMS),
        ("deleteAll", None),
        ("delete", [{"key": "1"}]),
    ):
        r = await client.post(f"{API}/{path}/DNC_List", json=body)
        assert r.status_code == 401
        r = await client.post(f"{API}/{path}/DNC_List", json=body, headers=agent)
        assert r.status_code == 403


async def test_list_management_extension(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.get(API, headers=h)
    assert [d["name"] for d in r.json()] == ["DNC_List"]
    r = await client.put(f"{API}/DNC_List", json={"allCampaigns": False}, headers=h)
    assert r.status_code == 200
    assert r.json()["allCampaigns"] is False
    r = await client.get(f"{API}/Nope", headers=h)
    assert r.status_code == 404
    r = await client.delete(f"{API}/DNC_List", headers=h)
    assert r.status_code == 204
    r = await client.get(API, headers=h)
    assert r.json() == []
