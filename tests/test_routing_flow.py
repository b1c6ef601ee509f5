"""Routing end to end in one process: queued chat -> offer -> accept -> messages -> end."""

from __future__ import annotations

import httpx

from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_agent_support import API, agent_login, auth, configure, new_chat, next_frame


async def test_offer_accept_message_end(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=30)
    token = await agent_login(client, tenant, "agent1", ready=True)
    me = (await client.get(API + "/me", headers=auth(token))).json()
    cursor = me["cursor"]
    chat_id = await new_chat(rt, client, tenant, "cust-1")
    offer, cursor, _ = await next_frame(client, token, cursor, "offer")
    assert offer["chat_id"] == chat_id
    iid = offer["interaction_id"]
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(token))
    assert r.status_code == 200, r.text
    party = r.json()["party_id"]
    joined, cursor, _ = await next_frame(
        client, token, cursor, "chat_event", match={"event": "chat_session_party_joined"}
    )
    assert joined["event"]["party_id"] == party
    r = await client.post(
        f"{API}/interactions/{iid}/messages", json={"msg": "Hello!"}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/interactions/{iid}/end",
        json={"disposition": "Resolved", "notes": "ok"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    st = (await client.get(API + "/state", headers=auth(token))).json()
    assert st["state"] == "after_call_work"
    r = await client.post(f"{API}/interactions/{iid}/complete", headers=auth(token))
    assert r.status_code == 200, r.text
    st = (await client.get(API + "/state", headers=auth(token))).json()
    assert st["state"] == "ready"
