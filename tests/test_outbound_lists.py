"""Calling lists through the Configuration API: the seed's examples on the demo list
``list.csv`` and every response code of the seed's tables."""

from __future__ import annotations

import httpx

from switchboard.core.runtime import Runtime
from switchboard.users.actions import generate_api_secret
from tests.conftest import TenantInfo, get_token

API = "/configapi/v2"
SEED_ADD = {
    "ID": "4",
    "firstName": "Post",
    "lastName": "Melon",
    "Phone": "16505555555",
    "Status": "Platinum",
}
SEED_ADD_ALL = [
    {"ID": "5", "firstName": "Blade", "lastName": "Clark", "Phone": "14155555555", "Status": "Gold"},
    {"ID": "6", "firstName": "Eli", "lastName": "Smit", "Phone": "15105555555", "Status": "Bronze"},
]  # fmt: skip
SEED_UPDATE = dict(SEED_ADD, firstName="Posty")


async def token_of(client: httpx.AsyncClient, rt: Runtime, t: TenantInfo, login: str) -> str:
    """A Config API token for ``login`` (a user without the list privileges)."""
    secret = await generate_api_secret(rt, tenant_id=t.tenant_id, login_id=login)
    r = await client.post(f"{API}/oauth/token", data=t.token_form(login, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def test_seed_examples_on_the_demo_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.post(f"{API}/callinglist/add/list.csv", json=SEED_ADD, headers=h)
    assert r.status_code == 200, r.text
    assert r.content == b""
    r = await client.post(f"{API}/callinglist/addAll/list.csv", json=SEED_ADD_ALL, headers=h)
    assert r.status_code == 200
    assert r.json() == {"added": 2}
    r = await client.post(f"{API}/callinglist/update/list.csv", json=SEED_UPDATE, headers=h)
    assert r.status_code == 200, r.text

    r = await client.post(
        f"{API}/callinglist/getAll/list.csv/Outbound Campaign",
        json={"fromIndex": 0, "maxSize": "100"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4, 5]
    assert items[3] == {
        "entry": {**SEED_ADD, "firstName": "Posty"},
        "index": 3,
        "status": {"completed": False},
    }
    assert [i["entry"]["ID"] for i in items] == ["1", "2", "3", "4", "5", "6"]
    r = await client.post(
        f"{API}/callinglist/getAll/list.csv/Outbound Campaign",
        json={"fromIndex": 4, "maxSize": 1},
        headers=h,
    )
    assert [i["index"] for i in r.json()] == [4]

    # the seed queries with {"id": "2"}: field names match case-insensitively
    r = await client.post(
        f"{API}/callinglist/get/list.csv/Outbound Campaign", json={"id": "2"}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "entry": {
            "ID": "2",
            "firstName": "Mike",
            "lastName": "Miller",
            "Phone": "16507777777",
            "Status": "Platinum",
        },
        "status": {"completed": False},
    }
    # "campaign name is optional but has to be present; use any string value instead"
    r = await client.post(f"{API}/callinglist/get/list.csv/any", json={"ID": "2"}, headers=h)
    assert r.status_code == 200
    for path in ("getCompleted", "getChanged", "getUpdated"):
        r = await client.post(
            f"{API}/callinglist/{path}/list.csv/Outbound Campaign",
            json={"fromTime": "2021-02-01T13:15:06.456", "maxSize": "100"},
            headers=h,
        )
        assert r.status_code == 200, (path, r.text)
        assert r.json() == []

    r = await client.post(f"{API}/callinglist/deleteAll/list.csv", headers=h)
    assert r.status_code == 200
    r = await client.post(f"{API}/callinglist/deleteAll/list.csv", headers=h)
    assert r.status_code == 200  # already empty: still OK
    r = await client.post(
        f"{API}/callinglist/getAll/list.csv/Outbound Campaign",
        json={"fromIndex": 0, "maxSize": 10},
        headers=h,
    )
    assert r.json() == []
    # numbering restarts from zero after deleteAll
    await client.post(f"{API}/callinglist/add/list.csv", json=SEED_ADD, headers=h)
    r = await client.post(
        f"{API}/callinglist/getAll/list.csv/Outbound Campaign", json={}, headers=h
    )
    assert [i["index"] for i in r.json()] == [0]


async def test_add_errors(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    h = admin_headers
    url = f"{API}/callinglist/add/list.csv"
    r = await client.post(url, json={"ID": "1", "Phone": "16500000000"}, headers=h)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"
    r = await client.post(url, json={"firstName": "No key", "Phone": "1"}, headers=h)
    assert r.status_code == 400
    assert "ID" in r.json()["message"]
    r = await client.post(url, json={"ID": "77"}, headers=h)  # required Phone missing
    assert r.status_code == 400
    r = await client.post(url, json={"ID": "78", "Phone": "1", "Nope": "x"}, headers=h)
    assert r.status_code == 400
    assert "Nope" in r.json()["message"]
    r = await client.post(
        url, content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(url, json=["not", "an", "object"], headers=h)
    assert r.status_code == 400
    r = await client.post(url, json={"ID": {"nested": 1}, "Phone": "1"}, headers=h)
    assert r.status_code == 400
    r = await client.post(url, content=b"ID=1", headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.post(f"{API}/callinglist/add/nosuch.csv", json=SEED_ADD, headers=h)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = await client.post(f"{API}/callinglist/deleteAll/nosuch.csv", headers=h)
    assert r.status_code == 404


async def test_add_all_reports_partial_success(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    body = [
        {"ID": "10", "Phone": "14155550100"},
        {"ID": "1", "Phone": "14155550101"},  # exists
        {"ID": "10", "Phone": "14155550102"},  # twice in the body
        {"Phone": "14155550103"},  # no key
        "not an object",
        {"ID": "11", "Phone": "14155550104", "firstName": 7},
    ]
    r = await client.post(f"{API}/callinglist/addAll/list.csv", json=body, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["added"] == 2
    assert [e["index"] for e in out["errors"]] == [1, 2, 3, 4]
    assert "Duplicate" in out["errors"][0]["error"]
    r = await client.post(
        f"{API}/callinglist/getAll/list.csv/Outbound Campaign",
        json={"fromIndex": 3},
        headers=h,
    )
    assert [(i["index"], i["entry"]["ID"]) for i in r.json()] == [(3, "10"), (4, "11")]
    assert r.json()[1]["entry"]["firstName"] == "7"
    for bad in ({"ID": "1"}, "x"):
        r = await client.post(f"{API}/callinglist/addAll/list.csv", json=bad, headers=h)
        assert r.status_code == 400
    r = await client.post(f"{API}/callinglist/addAll/list.csv", json=[], headers=h)
    assert r.json() == {"added": 0}
    r = await client.post(f"{API}/callinglist/addAll/none.csv", json=body, headers=h)
    assert r.status_code == 404


async def test_update_and_query_errors(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.post(
        f"{API}/callinglist/update/list.csv", json={"ID": "99", "firstName": "X"}, headers=h
    )
    assert r.status_code == 404
    r = await client.post(f"{API}/callinglist/update/list.csv", json={"firstName": "X"}, headers=h)
    assert r.status_code == 400
    r = await client.post(
        f"{API}/callinglist/update/list.csv", json={"ID": "1", "Phone": ""}, headers=h
    )
    assert r.status_code == 400  # a required field cannot be emptied
    r = await client.post(
        f"{API}/callinglist/update/list.csv", json={"ID": "1", "Status": "Diamond"}, headers=h
    )
    assert r.status_code == 200
    r = await client.post(f"{API}/callinglist/get/list.csv/x", json={"ID": "1"}, headers=h)
    assert r.json()["entry"]["Status"] == "Diamond"
    assert r.json()["entry"]["firstName"] == "Graham"  # partial update keeps the rest
    r = await client.post(f"{API}/callinglist/update/nope.csv", json={"ID": "1"}, headers=h)
    assert r.status_code == 404

    r = await client.post(f"{API}/callinglist/get/list.csv/x", json={"ID": "42"}, headers=h)
    assert r.status_code == 404
    r = await client.post(
        f"{API}/callinglist/get/list.csv/x", json={"firstName": "Mike"}, headers=h
    )
    assert r.status_code == 400
    r = await client.post(f"{API}/callinglist/get/nope.csv/x", json={"ID": "1"}, headers=h)
    assert r.status_code == 404


async def test_paging_and_time_errors(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    base = f"{API}/callinglist"
    for path, body in (
        ("getAll", {"fromIndex": "abc", "maxSize": 10}),
        ("getAll", {"fromIndex": -1}),
        ("getAll", [1, 2]),
        ("getCompleted", {"maxSize": 10}),
        ("getCompleted", {"fromTime": "yesterday", "maxSize": 10}),
        ("getChanged", {"fromTime": "2021-01-01T00:00:00", "maxSize": "many"}),
    ):
        r = await client.post(f"{base}/{path}/list.csv/Outbound Campaign", json=body, headers=h)
        assert r.status_code == 400, (path, body, r.text)
    for path in ("getAll", "getCompleted", "getChanged"):
        body = {"fromIndex": 0, "fromTime": "2021-01-01T00:00:00Z", "maxSize": 5}
        r = await client.post(f"{base}/{path}/list.csv/No Such Campaign", json=body, headers=h)
        assert r.status_code == 404
        r = await client.post(f"{base}/{path}/nope.csv/Outbound Campaign", json=body, headers=h)
        assert r.status_code == 404
    # maxSize is capped at 1000
    rows = [{"ID": f"c{i}", "Phone": f"1415555{i:04d}"} for i in range(1100)]
    r = await client.post(f"{base}/addAll/list.csv", json=rows, headers=h)
    assert r.json() == {"added": 1100}
    r = await client.post(
        f"{base}/getAll/list.csv/Outbound Campaign", json={"maxSize": 5000}, headers=h
    )
    assert len(r.json()) == 1000


async def test_authentication_and_privileges(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    calls = [
        ("addAll/list.csv", SEED_ADD_ALL),
        ("add/list.csv", SEED_ADD),
        ("update/list.csv", SEED_UPDATE),
        ("deleteAll/list.csv", None),
        ("getAll/list.csv/Outbound Campaign", {"fromIndex": 0, "maxSize": 1}),
        ("getCompleted/list.csv/Outbound Campaign", {"fromTime": "2021-01-01T00:00:00"}),
        ("getChanged/list.csv/Outbound Campaign", {"fromTime": "2021-01-01T00:00:00"}),
        ("get/list.csv/Outbound Campaign", {"ID": "1"}),
    ]
    agent = await token_of(client, rt, tenant, "agent1")
    for path, body in calls:
        url = f"{API}/callinglist/{path}"
        r = await client.post(url, json=body)
        assert r.status_code == 401, path
        r = await client.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401, path
        r = await client.post(url, json=body, headers={"Authorization": f"Bearer {agent}"})
        assert r.status_code == 403, path
        assert r.json()["error"] == "forbidden"


async def test_read_only_list_refuses_changes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    definition = {
        "name": "Registry.csv",
        "fields": ["Account", "Phone", "Mobile", "TZ", "Zip"],
        "keys": ["Account"],
        "required": ["Account"],
        "phoneFields": ["Phone", "Mobile"],
        "timeZoneField": "TZ",
        "postalCodeField": "Zip",
        "readOnly": True,
    }
    r = await client.post(f"{API}/callinglist", json=definition, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["readOnly"] is True
    assert r.json()["size"] == 0
    r = await client.post(f"{API}/callinglist", json=definition, headers=h)
    assert r.status_code == 409
    for path, body in (
        ("add/Registry.csv", {"Account": "1"}),
        ("addAll/Registry.csv", [{"Account": "1"}]),
        ("update/Registry.csv", {"Account": "1"}),
        ("deleteAll/Registry.csv", None),
    ):
        r = await client.post(f"{API}/callinglist/{path}", json=body, headers=h)
        assert r.status_code == 403, path
    r = await client.put(f"{API}/callinglist/Registry.csv", json={"readOnly": False}, headers=h)
    assert r.status_code == 200
    r = await client.post(f"{API}/callinglist/add/Registry.csv", json={"Account": "1"}, headers=h)
    assert r.status_code == 200


async def test_list_management_extension(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    r = await client.get(f"{API}/callinglist", headers=h)
    assert r.status_code == 200
    demo = next(d for d in r.json() if d["name"] == "list.csv")
    assert demo["keys"] == ["ID"]
    assert demo["phoneFields"] == ["Phone"]
    assert demo["campaigns"] == ["Outbound Campaign"]
    assert demo["size"] == 3
    bad_definitions = [
        {"name": "a.csv", "fields": ["A"], "keys": ["B"], "phoneFields": ["A"]},
        {"name": "a.csv", "fields": ["A"], "keys": [], "phoneFields": ["A"]},
        {"name": "a.csv", "fields": ["A", "a"], "keys": ["A"], "phoneFields": ["A"]},
        {"name": "a/b.csv", "fields": ["A"], "keys": ["A"], "phoneFields": ["A"]},
        {"name": "a.csv", "fields": ["A"], "keys": ["A"], "phoneFields": ["A"], "x": 1},
    ]
    for body in bad_definitions:
        r = await client.post(f"{API}/callinglist", json=body, headers=h)
        assert r.status_code == 400, body
    r = await client.put(f"{API}/callinglist/list.csv", json={"fields": ["ID"]}, headers=h)
    assert r.status_code == 400  # fields cannot be removed
    r = await client.put(
        f"{API}/callinglist/list.csv",
        json={"fields": [*demo["fields"], "Mobile"], "phoneFields": ["Phone", "Mobile"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["phoneFields"] == ["Phone", "Mobile"]
    r = await client.get(f"{API}/callinglist/nope.csv", headers=h)
    assert r.status_code == 404
    r = await client.delete(f"{API}/callinglist/list.csv", headers=h)
    assert r.status_code == 204
    r = await client.get(f"{API}/callinglist/list.csv", headers=h)
    assert r.status_code == 404


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, admin_headers: dict[str, str], other_tenant: TenantInfo
) -> None:
    other = {"Authorization": f"Bearer {await get_token(client, other_tenant)}"}
    r = await client.post(f"{API}/callinglist/add/list.csv", json=SEED_ADD, headers=admin_headers)
    assert r.status_code == 200
    r = await client.post(f"{API}/callinglist/get/list.csv/x", json={"ID": "4"}, headers=other)
    assert r.status_code == 404


async def test_get_completed_carries_the_outcome(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    """The seed shows two answers at ``getCompleted``: ``completedTime``, ``entry`` and
    ``status``, and (its "Get Updated Records" example) ``completed``,
    ``recordDisposition``, ``totalAttempts`` and ``attempts``. Ours carries both."""
    from switchboard.campaigns.models import DAYS
    from switchboard.dialer.engine import get_dialer

    h = admin_headers
    # the demo list's numbers are on the Do-Not-Call list: with an agent ready, the
    # dialer completes every record without a call
    r = await client.post(
        f"{API}/donotcalllist/add/DNC_List",
        json=[[p, "asked"] for p in ("16509999999", "16507777777", "16502222222")],
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/agentapi/v1/login",
        json={
            "tenant": tenant.domain,
            "loginId": "agent1",
            "password": tenant.password,
            "state": "ready",
        },
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{API}/campaign/Outbound Campaign",
        json={"mode": "progressive", "callingHours": {d: [["00:00", "24:00"]] for d in DAYS}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (await client.post(f"{API}/campaign/Outbound Campaign/start", headers=h)).is_success
    url = f"{API}/callinglist/getCompleted/list.csv/Outbound Campaign"
    since = {"fromTime": "2021-02-01T13:15:06.456", "maxSize": "100"}
    dialer = get_dialer(rt)
    for _ in range(20):
        await dialer.tick()
        await dialer.drain()
        done = (await client.post(url, json=since, headers=h)).json()
        if len(done) == 3:
            break
    await client.post(f"{API}/campaign/Outbound Campaign/stop", headers=h)
    assert sorted(d["entry"]["ID"] for d in done) == ["1", "2", "3"]
    for item in done:
        assert set(item) == {
            "completedTime",
            "entry",
            "status",
            "completed",
            "recordDisposition",
            "recordDispositionCode",
            "totalAttempts",
            "attempts",
        }
        assert item["completed"] is True and item["status"]["completed"] is True
        assert item["recordDisposition"] == "Do Not Call"
        assert item["totalAttempts"] == len(item["attempts"]) == 1
        (attempt,) = item["attempts"]
        assert attempt["call_attempted"] is False and attempt["disposition"] == "Do Not Call"
        assert attempt["phone"] == item["entry"]["Phone"]
    # maxSize and fromTime still select
    r = await client.post(url, json={**since, "maxSize": 1}, headers=h)
    assert r.json() == done[:1]
    r = await client.post(url, json={**since, "fromTime": "2999-01-01T00:00:00"}, headers=h)
    assert r.json() == []
