"""Real-Time Statistics API: authentication (cookies, Bearer), subscriptions and their
errors, configuration lists, availability, team messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.users.actions import generate_api_secret
from tests.conftest import PASSWORD, TenantInfo, get_token
from tests.test_stats_support import (
    STATS,
    agent_login,
    bearer,
    create_supervisor,
    data,
    fast_stats,
    ids,
    stats_login,
    subscribe,
    tenant_settings,
)

SIMPLE = {"1": {"stats_totals": ["in_calls_waiting", "agents_logged"]}}


def error(r: httpx.Response, status: int, code: str | None = None) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error_code", "error_message"}, body
    assert isinstance(body["error_code"], str) and isinstance(body["error_message"], str)
    if code is not None:
        assert body["error_code"] == code, body
    return str(body["error_message"])


# ---- authentication ------------------------------------------------------------------


async def test_login_sets_cookies_and_cookie_session_works(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    r = await client.post(
        STATS + "/auth",
        json={
            "tenant_url": f"https://{tenant.domain}/",
            "username": "supervisor1",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert isinstance(token, str) and token
    assert r.cookies["X-STATSAPI-TOKEN"] == token
    assert r.cookies["X-STATSAPI-TENANT"] == tenant.domain
    assert r.cookies["X-STATSAPI-LOGIN"] == "supervisor1"
    set_cookie = ";".join(r.headers.get_list("set-cookie"))
    assert "HttpOnly" in set_cookie
    # the client now sends the cookies (no Authorization header)
    r = await client.get(STATS + "/cfg/teams")
    assert r.status_code == 200, r.text
    assert sorted(t["name"] for t in r.json()) == ["Sales Team", "Support Team"]
    # log out: the token is revoked, the cookies are cleared
    r = await client.delete(STATS + "/auth")
    assert r.status_code == 200, r.text
    client.cookies.clear()
    error(await client.get(STATS + "/cfg/teams", cookies={"X-STATSAPI-TOKEN": token}), 401)
    error(await client.get(STATS + "/cfg/teams", headers=bearer(token)), 401)


async def test_bearer_tokens_stats_login_and_oauth(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await stats_login(client, tenant)
    client.cookies.clear()
    r = await client.get(STATS + "/cfg/services", headers=bearer(token))
    assert r.status_code == 200, r.text
    # an OAuth token of the Configuration API (client credentials of the supervisor)
    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="supervisor1")
    r = await client.post(
        "/configapi/v2/oauth/token", data=tenant.token_form("supervisor1", secret)
    )
    assert r.status_code == 200, r.text
    oauth = r.json()["access_token"]
    r = await client.get(STATS + "/cfg/teams", headers=bearer(oauth))
    assert r.status_code == 200, r.text
    assert len(r.json()) == 2
    await subscribe(client, oauth, SIMPLE)
    async with fast_stats(rt):
        body = await data(client, oauth)
    assert body["1"]["stats_totals"] == {"in_calls_waiting": "0", "agents_logged": "0"}


async def test_login_errors_and_lockout(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    url = STATS + "/auth"
    good = {"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD}
    error(
        await client.post(url, content=b"{nope", headers={"Content-Type": "application/json"}),
        400,
        "5003",
    )
    error(await client.post(url, json=["x"]), 400)
    msg = error(await client.post(url, json={"tenant_url": tenant.domain}), 400)
    assert "username" in msg and "password" in msg
    error(await client.post(url, json={**good, "tenant_url": "nowhere.example"}), 401)
    error(await client.post(url, json={**good, "username": "nobody"}), 401)
    # an agent has no statistics privilege: no token is issued
    error(await client.post(url, json={**good, "username": "agent1"}), 403)
    # lockout after the configured number of failures (3 in tests), even with the right one
    for _ in range(3):
        error(await client.post(url, json={**good, "password": "wrong-password"}), 401)
    # locked out: the same answer as a wrong password (issue 12: nothing tells them apart)
    msg = error(await client.post(url, json=good), 401)
    assert msg == "Invalid tenant, username or password"


async def test_unauthenticated_and_unprivileged(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    client.cookies.clear()
    for method, path in (
        ("GET", "/subscription/data"),
        ("POST", "/subscription"),
        ("DELETE", "/subscription/active"),
        ("GET", "/cfg/dispositions"),
        ("GET", "/cfg/teams"),
        ("GET", "/cfg/services"),
    ):
        error(await client.request(method, STATS + path), 401)
        error(await client.request(method, STATS + path, headers=bearer("bogus")), 401)
    # an agent's desktop token is not a statistics token
    agent_token = await agent_login(client, tenant, "agent1", state="not_ready")
    error(await client.get(STATS + "/cfg/teams", headers=bearer(agent_token)), 401)
    # a reporting user: statistics API and service metrics, but no agent metrics
    await create_supervisor(
        client,
        rt,
        tenant,
        admin_headers,
        "report1",
        team="Support Team",
        supervises=["Support Team"],
        roles=["Reporting"],
    )
    token = await stats_login(client, tenant, "report1")
    await subscribe(client, token, SIMPLE)
    r = await client.post(
        STATS + "/subscription",
        json={
            "1": {"agent_grids": [{"id": "a", "columns": [{"id": "1", "stat_name": "login_id"}]}]}
        },
        headers=bearer(token),
    )
    error(r, 403)


# ---- subscriptions -------------------------------------------------------------------


BAD_BODIES: list[tuple[Any, str, str]] = [
    ([], "1002", "JSON object"),
    ({}, "1002", "at least one"),
    ({"1": []}, "1002", "1: must be an object"),
    ({"1": {"stats_totals": "in_calls_waiting"}}, "1002", "stats_totals"),
    ({"1": {"stats_totals": ["no_such_stat"]}}, "1003", "no_such_stat"),
    ({"1": {"stats_totals": ["login_id"]}}, "1003", "login_id"),
    ({"1": {"service_grids": {"id": "x"}}}, "1002", "service_grids"),
    (
        {"1": {"service_grids": [{"columns": [{"id": "1", "stat_name": "name"}]}]}},
        "1002",
        "id is required",
    ),
    ({"1": {"service_grids": [{"id": "g", "columns": []}]}}, "1002", "columns"),
    (
        {"1": {"service_grids": [{"id": "g", "columns": [{"stat_name": "name"}]}]}},
        "1002",
        "columns[0]: id",
    ),
    ({"1": {"service_grids": [{"id": "g", "columns": [{"id": "1"}]}]}}, "1002", "stat_name"),
    (
        {"1": {"service_grids": [{"id": "g", "columns": [{"id": "1", "stat_name": "acd_state"}]}]}},
        "1003",
        "acd_state",
    ),
    (
        {
            "1": {
                "agent_grids": [{"id": "g", "columns": [{"id": "1", "statName": "service_level"}]}]
            }
        },
        "1003",
        "service_level",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [
                            {"id": "1", "stat_name": "name"},
                            {"id": "1", "stat_name": "media"},
                        ],
                    }
                ]
            }
        },
        "1002",
        "unique",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {"id": "g", "columns": [{"id": "1", "stat_name": "name"}], "order_by": "9"}
                ]
            }
        },
        "1002",
        "unknown column '9'",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "name"}],
                        "order_by": "1",
                        "order_dir": "UP",
                    }
                ]
            }
        },
        "1002",
        "ASC or DESC",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "name"}],
                        "order": [{"by": "2"}],
                    }
                ]
            }
        },
        "1002",
        "unknown column '2'",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {"id": "g", "columns": [{"id": "1", "stat_name": "name"}], "limit": "ten"}
                ]
            }
        },
        "1002",
        "limit",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {"id": "g", "columns": [{"id": "1", "stat_name": "name"}], "limit": -1}
                ]
            }
        },
        "1002",
        "negative",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "name"}],
                        "filter_by": "1",
                        "filter_operation": "LIKE",
                    }
                ]
            }
        },
        "1002",
        "filter_operation",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "name"}],
                        "filter_by": "7",
                        "filter_value": "x",
                    }
                ]
            }
        },
        "1002",
        "unknown column '7'",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {"id": "g", "columns": [{"id": "1", "stat_name": "name"}], "filter_value": "x"}
                ]
            }
        },
        "1002",
        "need filter_by",
    ),
    (
        {"1": {"service_grids": [{"id": "g", "columns": [{"id": "1", "stat_name": "SUM"}]}]}},
        "1002",
        "sum_stat_names",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "SUM", "sum_stat_names": ["name"]}],
                    }
                ]
            }
        },
        "1003",
        "cannot be summed",
    ),
    (
        {
            "1": {
                "service_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "SUM", "sum_stat_names": ["nope"]}],
                    }
                ]
            }
        },
        "1003",
        "nope",
    ),
    (
        {
            "1": {
                "agent_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "login_id"}],
                        "logged_in_agents_only": "maybe",
                    }
                ]
            }
        },
        "1002",
        "logged_in_agents_only",
    ),
    (
        {
            "1": {
                "agent_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "1", "stat_name": "login_id"}],
                        "team_ids": "abc",
                    }
                ]
            }
        },
        "1002",
        "team_ids",
    ),
    ({"1": {"chat_messages": {"filter": 5}}}, "1002", "chat_messages.filter"),
    ({"1": {"chat_messages": []}}, "1002", "chat_messages"),
    (
        {"1": {"stats_totals": [], "stats_totals_service_ids": "x"}},
        "1002",
        "stats_totals_service_ids",
    ),
]


@pytest.mark.parametrize(("body", "code", "mentions"), BAD_BODIES)
async def test_malformed_subscriptions(
    client: httpx.AsyncClient, tenant: TenantInfo, body: Any, code: str, mentions: str
) -> None:
    token = await stats_login(client, tenant)
    r = await client.post(STATS + "/subscription", json=body, headers=bearer(token))
    msg = error(r, 400, code)
    assert mentions in msg, msg


async def test_subscription_body_errors_and_lifecycle(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await stats_login(client, tenant)
    client.cookies.clear()
    h = bearer(token)
    url = STATS + "/subscription"
    error(
        await client.post(url, content=b"{", headers={**h, "Content-Type": "application/json"}),
        400,
        "5003",
    )
    error(
        await client.post(
            url, content=b"x=1", headers={**h, "Content-Type": "application/x-www-form-urlencoded"}
        ),
        415,
    )
    # no subscription yet
    error(await client.get(url + "/data", headers=h), 404)
    error(await client.delete(url + "/active", headers=h), 404)
    # created: 204 until the first computation, then 200
    await subscribe(client, token, SIMPLE)
    r = await client.get(url + "/data", headers=h)
    assert r.status_code == 204, r.text
    assert r.content == b""
    async with fast_stats(rt):
        body = await data(client, token)
    assert body == {
        "1": {
            "stats_totals": {"in_calls_waiting": "0", "agents_logged": "0"},
            "service_grids": [],
            "agent_grids": [],
            "chat_messages": [],
        }
    }
    # a new subscription replaces the client's one (one per client)
    await subscribe(client, token, {"x": {"stats_totals": ["agents_ready"]}})
    async with fast_stats(rt):
        body = await data(client, token)
    assert body == {
        "x": {
            "stats_totals": {"agents_ready": "0"},
            "service_grids": [],
            "agent_grids": [],
            "chat_messages": [],
        }
    }
    r = await client.delete(url + "/active", headers=h)
    assert r.status_code == 200, r.text
    error(await client.get(url + "/data", headers=h), 404)
    # logging out deletes the subscription with the token
    await subscribe(client, token, SIMPLE)
    assert (await client.delete(STATS + "/auth", headers=h)).status_code == 200
    error(await client.get(url + "/data", headers=h), 401)


async def test_subscription_limit_per_tenant(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await tenant_settings(rt, tenant, stats_max_subscriptions=2)
    a, b, c = [await stats_login(client, tenant) for _ in range(3)]
    client.cookies.clear()
    await subscribe(client, a, SIMPLE)
    await subscribe(client, b, SIMPLE)
    r = await client.post(STATS + "/subscription", json=SIMPLE, headers=bearer(c))
    assert "Limit of active subscriptions" in error(r, 409, "4009")
    # re-creating an existing client's subscription is not a new one
    await subscribe(client, a, {"2": {"stats_totals": ["agents_busy"]}})
    assert (
        await client.delete(STATS + "/subscription/active", headers=bearer(b))
    ).status_code == 200
    await subscribe(client, c, SIMPLE)


async def test_variants_of_the_field(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    """The seed's example body (statName, numeric ids, order list, team_ids...) and the
    documented one (stat_name, order_by...) are both accepted."""
    known = await ids(rt, tenant)
    token = await stats_login(client, tenant)
    body = {
        "1": {
            "agent_grids": [
                {
                    "id": "1",
                    "team_ids": [known["Support Team"]],
                    "limit": 1000,
                    "columns": [
                        {"id": "1", "statName": "first_last_name"},
                        {"id": "2", "statName": "extension"},
                        {"id": "3", "statName": "acd_next_state"},
                        {"id": "4", "statName": "login_time"},
                        {"id": 5, "statName": "acd_state"},
                    ],
                    "order": [{"by": "1", "dir": "DESC"}],
                    "service_ids": [],
                    "my_subteam_only": False,
                    "logged_in_agents_only": False,
                }
            ]
        },
        "2": {
            "stats_totals": ["in_calls_waiting"],
            "stats_totals_service_ids": [known["Chat Service"], "E66F7A0C-E464-4656-B4AA"],
            "stats_totals_dispositions": [],
        },
        "3": {
            "stats_totals": ["in_average_speed_of_answer"],
            "stats_totals_service_ids": [known["Chat Service"]],
            "stats_totals_dispositions": [],
        },
    }
    await subscribe(client, token, body)
    async with fast_stats(rt):
        out = await data(client, token)
    rows = out["1"]["agent_grids"][0]["values"]
    assert [r["1"] for r in rows] == ["Sam Supervisor", "Bob Agent", "Alice Agent"]
    assert all(r["5"] == "logged_out" and r["3"] == "" and r["4"] == "" for r in rows)
    assert all(set(r) == {"1", "2", "3", "4", "5"} for r in rows)
    assert out["2"]["stats_totals"] == {"in_calls_waiting": "0"}
    assert out["3"]["stats_totals"] == {"in_average_speed_of_answer": ""}


# ---- configuration lists and availability --------------------------------------------


async def test_cfg_lists(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    from sqlalchemy import update

    from switchboard.services.models import Disposition

    async with rt.db.write() as s:
        await s.execute(
            update(Disposition)
            .where(Disposition.tenant_id == tenant.tenant_id, Disposition.name == "Do not call")
            .values(agent_can_select=False, inbound=False)
        )
        await s.execute(
            update(Disposition)
            .where(Disposition.tenant_id == tenant.tenant_id, Disposition.name == "Wrong number")
            .values(preview=False)
        )
    token = await stats_login(client, tenant)
    h = bearer(token)
    everything = [
        "Call back later",
        "Do not call",
        "Follow-up needed",
        "No answer",
        "Not resolved",
        "Resolved",
        "Wrong number",
    ]
    r = await client.get(STATS + "/cfg/dispositions", headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == everything
    r = await client.get(STATS + "/cfg/dispositions", params={"agentCanSelect": "1"}, headers=h)
    assert r.json() == [n for n in everything if n != "Do not call"]
    r = await client.get(
        STATS + "/cfg/dispositions", params={"inbound": 1, "preview": 1}, headers=h
    )
    assert r.json() == [n for n in everything if n not in ("Do not call", "Wrong number")]
    r = await client.get(STATS + "/cfg/dispositions", params={"outbound": 1}, headers=h)
    assert r.json() == everything
    r = await client.get(STATS + "/cfg/dispositions", params={"preview": "0"}, headers=h)
    assert r.json() == ["Wrong number"]
    error(
        await client.get(STATS + "/cfg/dispositions", params={"inbound": "yes please"}, headers=h),
        400,
    )
    known = await ids(rt, tenant)
    r = await client.get(STATS + "/cfg/teams", headers=h)
    assert r.json() == [
        {"id": known["Sales Team"], "name": "Sales Team"},
        {"id": known["Support Team"], "name": "Support Team"},
    ]
    r = await client.get(STATS + "/cfg/services", headers=h)
    assert r.json() == [
        {"id": known[n], "name": n} for n in ("Chat Service", "Outbound Service", "Voice Service")
    ]
    r = await client.get(STATS + "/cfg/statistics", headers=h)
    names = {s["name"] for s in r.json()}
    assert {"in_calls_waiting", "acd_state", "service_level"} <= names


async def test_cfg_teams_only_supervised(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    await create_supervisor(
        client, rt, tenant, admin_headers, "sup2", team="Sales Team", supervises=["Sales Team"]
    )
    token = await stats_login(client, tenant, "sup2")
    r = await client.get(STATS + "/cfg/teams", headers=bearer(token))
    assert [t["name"] for t in r.json()] == ["Sales Team"]


async def test_check_available_agents(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo, rt: Runtime
) -> None:
    url = STATS + "/info/check_available_agents"
    client.cookies.clear()
    params = {"service": "Chat Service", "tenant_url": tenant.domain}
    async with fast_stats(rt):
        r = await client.get(url, params=params)
        assert r.status_code == 200, r.text
        assert r.json() == {"availability": False}
        await agent_login(client, tenant, "agent1", state="ready")
        r = await client.get(url, params=params)
        assert r.json() == {"availability": True}
        # the other tenant's agents are not this tenant's
        r = await client.get(url, params={**params, "tenant_url": other_tenant.domain})
        assert r.json() == {"availability": False}
        # the tenant may come from tenantUrl or the statistics cookie as well
        r = await client.get(url, params={"service": "Chat Service", "tenantUrl": tenant.domain})
        assert r.json() == {"availability": True}
        r = await client.get(
            url, params={"service": "Chat Service"}, cookies={"X-STATSAPI-TENANT": tenant.domain}
        )
        assert r.json() == {"availability": True}
    error(await client.get(url, params={"tenant_url": tenant.domain}), 400)
    error(await client.get(url, params={**params, "service": "No Such Service"}), 404)
    error(await client.get(url, params={**params, "tenant_url": "nowhere.example"}), 404)
    client.cookies.clear()


# ---- team messages -------------------------------------------------------------------


async def test_team_messages(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime, admin_headers: dict[str, str]
) -> None:
    known = await ids(rt, tenant)
    sup = await stats_login(client, tenant)
    await create_supervisor(
        client, rt, tenant, admin_headers, "sup2", team="Sales Team", supervises=["Sales Team"]
    )
    sup2 = await stats_login(client, tenant, "sup2")
    client.cookies.clear()
    url = STATS + "/chat_messages"
    r = await client.post(
        url,
        json={
            "content": "Queue is long, skip breaks",
            "is_urgent": True,
            "team_ids": [known["Support Team"]],
        },
        headers=bearer(sup),
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["login_id"] == "supervisor1" and first["is_urgent"] == "1"
    assert first["first_name"] == "Sam" and first["last_name"] == "Supervisor"
    assert first["send_time"].isdigit()
    r = await client.post(url, json={"content": "Sales meeting at 3"}, headers=bearer(sup2))
    assert r.status_code == 200, r.text
    assert r.json()["team_ids"] == [known["Sales Team"]]
    # errors
    error(await client.post(url, json={"content": ""}, headers=bearer(sup)), 400)
    error(await client.post(url, json={"content": "x" * 2001}, headers=bearer(sup)), 400)
    error(
        await client.post(url, json={"content": "hi", "team_ids": ["nope"]}, headers=bearer(sup)),
        404,
    )
    error(
        await client.post(
            url, json={"content": "hi", "team_ids": [known["Administrators"]]}, headers=bearer(sup)
        ),
        403,
    )
    error(
        await client.post(
            url, content=b"{", headers={**bearer(sup), "Content-Type": "application/json"}
        ),
        400,
    )
    # an agent posts to the own team (the agent desktop calls the same action)
    from switchboard.auth.service import principal_from_token
    from switchboard.stats.actions import post_message

    agent_token = await agent_login(client, tenant, "agent1", state="not_ready")
    agent = await principal_from_token(rt, agent_token, ("agent",))
    await post_message(rt, principal=agent, content="Need help with a customer")
    # who sees what: supervisor1 (Support + Sales supervised), sup2 (Sales only)
    r = await client.get(url, headers=bearer(sup))
    assert [m["content"] for m in r.json()] == [
        "Need help with a customer",
        "Sales meeting at 3",
        "Queue is long, skip breaks",
    ]
    r = await client.get(url, params={"filter": "QUEUE"}, headers=bearer(sup))
    assert [m["content"] for m in r.json()] == ["Queue is long, skip breaks"]
    r = await client.get(url, headers=bearer(sup2))
    assert [m["content"] for m in r.json()] == ["Sales meeting at 3"]
    # in subscriptions: filter and limit, newest first, every value a string
    await subscribe(
        client,
        sup,
        {
            "m": {"chat_messages": {"filter": "", "limit": "2"}},
            "f": {"chat_messages": {"filter": "help"}},
        },
    )
    async with fast_stats(rt):
        out = await data(client, sup)
    msgs = out["m"]["chat_messages"]
    assert [m["content"] for m in msgs] == ["Need help with a customer", "Sales meeting at 3"]
    assert set(msgs[0]) == {
        "id",
        "login_id",
        "first_name",
        "last_name",
        "send_time",
        "is_urgent",
        "content",
    }
    assert msgs[0]["login_id"] == "agent1" and msgs[0]["is_urgent"] == "0"
    assert all(isinstance(v, str) for m in msgs for v in m.values())
    assert [m["content"] for m in out["f"]["chat_messages"]] == ["Need help with a customer"]


async def test_errors_are_in_the_statsapi_format(client: httpx.AsyncClient) -> None:
    error(await client.get(STATS + "/no/such/path"), 404)
    assert (await client.put(STATS + "/subscription")).status_code == 405


async def test_token_helpers(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    # an admin's OAuth token works too (the admin holds every privilege)
    token = await get_token(client, tenant)
    r = await client.get(STATS + "/cfg/services", headers=bearer(token))
    assert r.status_code == 200
    # but the admin supervises no team: no agents
    r = await client.get(STATS + "/cfg/teams", headers=bearer(token))
    assert r.json() == []
