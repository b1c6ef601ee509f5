"""Users provisioned by SCIM are complete agents: they log in to the Agent API, are routed
chats by their provisioned skills, and the Configuration API sees their team and skills."""

from __future__ import annotations

import httpx

from switchboard.core.runtime import Runtime
from switchboard.users.actions import generate_api_secret
from tests.conftest import TenantInfo
from tests.test_agent_support import API, auth, configure, new_chat, next_frame
from tests.test_scim_support import CC_URN, SCIM, create, scim_headers, user_body

PASSWORD = "Provisioned-9"


async def test_provisioned_agent_logs_in_and_gets_chats_by_skill(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=30)
    h = await scim_headers(client, tenant)
    made = await create(
        client,
        h,
        user_body(
            "klingon.agent",
            password=PASSWORD,
            **{
                CC_URN: {
                    "team": "Support Team",
                    "skills": [{"value": "Klingon", "level": 90}, {"value": "English"}],
                }
            },
        ),
    )
    assert made["roles"] == [{"value": "Agent"}]  # the tenant's default role for SCIM users
    r = await client.post(
        API + "/login",
        json={"tenant": tenant.domain, "loginId": "klingon.agent", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["user"]["skills"] == {"Klingon": 90, "English": 100}
    assert r.json()["user"]["team"] == "Support Team"
    r = await client.put(API + "/state", json={"state": "ready"}, headers=auth(token))
    assert r.status_code == 200, r.text
    cursor = (await client.get(API + "/me", headers=auth(token))).json()["cursor"]
    # A chat that needs the skill only this agent has (created on first use) is his.
    chat_id = await new_chat(rt, client, tenant, "klingon-customer", skills={"Klingon": 50})
    offer, _, _ = await next_frame(client, token, cursor, "offer")
    assert offer["chat_id"] == chat_id


async def test_provisioned_user_in_the_configuration_api(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    h = await scim_headers(client, tenant)
    await create(
        client,
        h,
        user_body(
            "ops.admin",
            roles=["System Administrator"],
            **{CC_URN: {"team": "Administrators", "skills": [{"value": "Support", "level": 40}]}},
        ),
    )
    secret = await generate_api_secret(rt, tenant_id=tenant.tenant_id, login_id="ops.admin")
    r = await client.post("/configapi/v2/oauth/token", data=tenant.token_form("ops.admin", secret))
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.get("/configapi/v2/user/ops.admin", headers=headers)
    assert r.status_code == 200, r.text
    user = r.json()
    assert user["team"] == "Administrators"
    assert user["skills"] == {"Support": 40}
    assert user["roles"] == ["System Administrator"]
    # His token manages users over SCIM too.
    r = await client.get(SCIM + '/users?filter=userName eq "ops.admin"', headers=headers)
    assert r.json()["totalResults"] == 1
