"""GMS Chat API v2 on our chat engine: the customer's side end to end with an agent of
the agent API, request-chat + ixn/chat, secureKey checks and every user error."""

from __future__ import annotations

from typing import Any

import httpx

from switchboard.chats.models import ChatSession
from switchboard.core import clock
from switchboard.core.runtime import Runtime
from switchboard.gms.models import GmsChat
from switchboard.interactions.actions import fire_chat_timers
from tests.conftest import TenantInfo
from tests.test_agent_support import API, agent_login, auth, cursor_of, next_frame
from tests.test_gms_support import CHAT, GMS, assert_error, host

# every due chat of the run's database (earlier tests' chats may be due too)
ALL = 1_000_000


def chat_error(r: httpx.Response, status: int, code: int) -> None:
    body = assert_error(r, status)
    assert body["statusCode"] == 2 and body["errors"][0]["code"] == code
    assert body["errors"][0]["advice"] == body["message"]


async def start_chat(
    client: httpx.AsyncClient, t: TenantInfo, service: str = "test", **fields: str
) -> dict[str, Any]:
    r = await client.post(f"{CHAT}/{service}", data=fields, headers=host(t))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def keys(chat: dict[str, Any]) -> dict[str, str]:
    return {"secureKey": chat["secureKey"], "userId": chat["userId"], "alias": chat["alias"]}


async def refresh(
    client: httpx.AsyncClient, t: TenantInfo, chat: dict[str, Any], position: int = 1
) -> dict[str, Any]:
    r = await client.post(
        f"{CHAT}/test/{chat['chatId']}/refresh",
        data={**keys(chat), "fromPosition": str(position)},
        headers=host(t),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_chat_answered_by_an_agent(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent1", ready=True)
    cursor = await cursor_of(client, token)
    chat = await start_chat(
        client,
        tenant,
        nickname="annie",
        firstName="Ann",
        lastName="Lee",
        emailAddress="ann@example.org",
        subject="Billing",
        text="hello there",
        **{"userData[order]": "A-17"},
    )
    assert chat["statusCode"] == 0 and chat["nextPosition"] == 1 and chat["messages"] == []
    assert chat["chatEnded"] is False and chat["alias"] and len(chat["secureKey"]) == 32
    chat_id = chat["chatId"]
    # only the digest of the key is stored
    async with rt.db.read() as s:
        link = await s.get(GmsChat, chat_id)
        assert link is not None and chat["secureKey"] not in link.secure_key_digest
    # the agent is offered the chat like any other and sees the customer's data
    offer, cursor, _ = await next_frame(client, token, cursor, "offer", match={"chat_id": chat_id})
    iid = str(offer["interaction_id"])
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(token))
    assert r.status_code == 200, r.text
    info = (await client.get(f"{API}/interactions/{iid}", headers=auth(token))).json()
    params = info["customer"]["parameters"]
    assert params["FIRST_NAME"] == "Ann" and params["EMAIL"] == "ann@example.org"
    assert params["order"] == "A-17" and params["subject"] == "Billing"
    r = await client.post(
        f"{API}/interactions/{iid}/messages", json={"msg": "Hi Ann"}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    # the customer's transcript
    body = await refresh(client, tenant, chat)
    assert body["statusCode"] == 0 and body["chatEnded"] is False
    assert body["secureKey"] == chat["secureKey"] and body["userId"] == chat["userId"]
    msgs = body["messages"]
    kinds = [(m["type"], m["from"]["type"]) for m in msgs]
    assert kinds[0] == ("ParticipantJoined", "Client") and msgs[0]["index"] == 1
    assert msgs[0]["from"] == {"nickname": "annie", "participantId": 1, "type": "Client"}
    assert ("Message", "Client") in kinds and ("ParticipantJoined", "Agent") in kinds
    mine = next(m for m in msgs if m["type"] == "Message" and m["from"]["type"] == "Client")
    assert mine["text"] == "hello there"
    theirs = next(m for m in msgs if m["type"] == "Message" and m["from"]["type"] == "Agent")
    assert theirs["text"] == "Hi Ann" and theirs["from"]["nickname"] == "Alice Agent"
    assert theirs["from"]["participantId"] > 1 and isinstance(theirs["utcTime"], int)
    indexes = [m["index"] for m in msgs]
    assert indexes == sorted(indexes) and body["nextPosition"] > indexes[-1]
    # from nextPosition on: nothing new
    again = await refresh(client, tenant, chat, body["nextPosition"])
    assert again["messages"] == [] and again["nextPosition"] == body["nextPosition"]
    # the customer writes and types: the agent receives it
    h = host(tenant)
    r = await client.post(
        f"{CHAT}/test/{chat_id}/send", data={**keys(chat), "message": "my invoice"}, headers=h
    )
    assert r.status_code == 200 and r.json()["statusCode"] == 0
    while True:  # (the agent's own message comes first)
        frame, cursor, _ = await next_frame(
            client, token, cursor, "chat_event", match={"event": "chat_session_message"}
        )
        if frame["event"]["party_id"] == chat_id:
            break
    assert frame["event"]["msg"] == "my invoice"
    r = await client.post(f"{CHAT}/test/{chat_id}/startTyping", data=keys(chat), headers=h)
    assert r.status_code == 200
    await next_frame(client, token, cursor, "chat_event", match={"event": "chat_session_typing"})
    r = await client.post(f"{CHAT}/test/{chat_id}/stopTyping", data=keys(chat), headers=h)
    assert r.status_code == 200
    # a message sent with refresh
    r = await client.post(
        f"{CHAT}/test/{chat_id}/refresh",
        data={**keys(chat), "message": "and another", "fromPosition": str(again["nextPosition"])},
        headers=h,
    )
    texts = [m.get("text") for m in r.json()["messages"] if m["type"] == "Message"]
    assert texts == ["my invoice", "and another"]
    assert [m["type"] for m in r.json()["messages"]].count("TypingStarted") == 1
    # the customer leaves
    r = await client.post(f"{CHAT}/test/{chat_id}/disconnect", data=keys(chat), headers=h)
    assert r.status_code == 200 and r.json()["chatEnded"] is True
    async with rt.db.read() as s:
        row = await s.get(ChatSession, chat_id)
        assert row is not None and row.state == "completed"
    last = await refresh(client, tenant, chat)
    assert last["chatEnded"] is True
    assert last["messages"][-1]["type"] == "ParticipantLeft"
    assert last["messages"][-1]["from"]["type"] == "Client"
    r = await client.post(
        f"{CHAT}/test/{chat_id}/send", data={**keys(chat), "message": "late"}, headers=h
    )
    chat_error(r, 409, 105)
    r = await client.post(f"{CHAT}/test/{chat_id}/disconnect", data=keys(chat), headers=h)
    assert r.status_code == 200  # idempotent


async def test_refresh_keeps_the_chat_alive(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    """A refresh counts as the customer's poll: the gone-customer timer starts again."""
    chat = await start_chat(client, tenant, nickname="kim")
    async with rt.db.read() as s:
        row = await s.get(ChatSession, chat["chatId"])
        assert row is not None
        abandon = row.poll_abandon_seconds
    for _ in range(3):
        clock.advance(abandon * 0.6)
        await refresh(client, tenant, chat)
        await fire_chat_timers(rt, limit=ALL)
    async with rt.db.read() as s:
        row = await s.get(ChatSession, chat["chatId"])
        assert row is not None and row.state == "queued"
    # no refresh for longer than that: the customer is gone
    clock.advance(abandon + 1)
    await fire_chat_timers(rt, limit=ALL)
    async with rt.db.read() as s:
        row = await s.get(ChatSession, chat["chatId"])
        assert row is not None and row.state == "completed" and row.end_reason == "abandoned"


async def test_chat_security_and_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    h = host(tenant)
    chat = await start_chat(client, tenant, firstName="Max")
    cid = chat["chatId"]
    url = f"{CHAT}/test/{cid}"
    # secureKey on every request
    for action in ("refresh", "send", "startTyping", "stopTyping", "disconnect"):
        r = await client.post(
            f"{url}/{action}", data={"userId": chat["userId"], "message": "x"}, headers=h
        )
        chat_error(r, 403, 104)
        r = await client.post(
            f"{url}/{action}", data={**keys(chat), "secureKey": "0" * 32}, headers=h
        )
        chat_error(r, 403, 104)
    r = await client.post(f"{url}/refresh", data={**keys(chat), "userId": "ABC"}, headers=h)
    chat_error(r, 403, 104)
    # unknown things
    chat_error(
        await client.post(f"{CHAT}/nosuchservice", data={"nickname": "x"}, headers=h), 404, 103
    )
    ghost = "00000000-0000-0000-0000-000000000000"
    chat_error(
        await client.post(f"{CHAT}/test/{ghost}/refresh", data=keys(chat), headers=h), 404, 103
    )
    chat_error(await client.post(f"{url}/teleport", data=keys(chat), headers=h), 404, 103)
    chat_error(
        await client.post(f"{CHAT}/other/{cid}/refresh", data=keys(chat), headers=h), 404, 103
    )
    # another tenant's host does not find the chat
    r = await client.post(f"{url}/refresh", data=keys(chat), headers=host(other_tenant))
    chat_error(r, 404, 103)
    # bad parameters
    chat_error(await client.post(f"{url}/send", data=keys(chat), headers=h), 400, 102)
    r = await client.post(f"{url}/refresh", data={**keys(chat), "fromPosition": "x"}, headers=h)
    chat_error(r, 400, 102)
    r = await client.post(f"{CHAT}/test", data={"text": "x" * 70000}, headers=h)
    chat_error(r, 400, 102)
    r = await client.post(f"{CHAT}/test", content=b"a=b", headers={**h, "Content-Type": "text/csv"})
    chat_error(r, 415, 100)
    # still fine with the right key
    assert (await refresh(client, tenant, chat))["chatEnded"] is False


async def test_request_chat_service(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    h = host(tenant)
    r = await client.post(
        f"{GMS}/service/request-chat", data={"_chat_service": "test", "account": "42"}, headers=h
    )
    assert r.status_code == 200, r.text
    created = r.json()
    sid = created["_id"]
    create_url = created["_chatIxnAPI-CREATE-URL"]
    assert create_url == f"/genesys/1/service/{sid}/ixn/chat"
    status = (await client.post(f"{GMS}/service/{sid}/status", headers=h)).json()
    assert status["status"] == "waiting-for-chat" and status["_chat_service"] == "test"
    r = await client.post(create_url, data={"nickname": "Zoe", "text": "hi"}, headers=h)
    assert r.status_code == 200, r.text
    chat = r.json()
    assert chat["statusCode"] == 0 and chat["secureKey"]
    async with rt.db.read() as s:
        row = await s.get(ChatSession, chat["chatId"])
        assert row is not None and row.parameters["account"] == "42"
        assert row.parameters["nickname"] == "Zoe"
    # one chat per request-chat
    assert_error(await client.post(create_url, data={"nickname": "Zoe"}, headers=h), 409)
    status = (await client.post(f"{GMS}/service/{sid}/status", headers=h)).json()
    assert status["status"] == "waiting-for-agent" and status["_chat_id"] == chat["chatId"]
    # the chat's requests through the service's URL, and through the Chat API v2
    r = await client.post(f"{create_url}/refresh", data=keys(chat), headers=h)
    assert r.status_code == 200 and r.json()["messages"][0]["type"] == "ParticipantJoined"
    assert_error(await client.post(f"{create_url}/refresh", data={}, headers=h), 403)
    assert_error(await client.post(f"{create_url}/fly", data=keys(chat), headers=h), 404)
    r = await client.post(f"{CHAT}/test/{chat['chatId']}/refresh", data=keys(chat), headers=h)
    assert r.status_code == 200
    # errors
    r = await client.post(f"{GMS}/service/request-chat", data={"_chat_service": "nope"}, headers=h)
    assert_error(r, 400)
    other = (await client.post(f"{GMS}/service/request-interaction", headers=h)).json()["_id"]
    assert_error(await client.post(f"{GMS}/service/{other}/ixn/chat", headers=h), 404)
    assert_error(await client.post(f"{GMS}/service/{other}/ixn/chat/refresh", headers=h), 404)
    ghost = "00000000-0000-0000-0000-000000000000"
    assert_error(await client.post(f"{GMS}/service/{ghost}/ixn/chat", headers=h), 404)
    # a cancelled request-chat creates no chat
    r = await client.post(f"{GMS}/service/request-chat", headers=h)  # the tenant's default
    sid2 = r.json()["_id"]
    assert (await client.post(f"{GMS}/service/{sid2}/cancel", headers=h)).status_code == 200
    assert_error(await client.post(f"/genesys/1/service/{sid2}/ixn/chat", headers=h), 409)
