"""Mobile/Web Messaging API v1/v2 through HTTP: every method, every error code."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.chats.push import FakePushSender
from switchboard.core.runtime import Runtime
from switchboard.interactions.models import Interaction
from switchboard.users.models import User
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    V1,
    V2,
    Customer,
    auth,
    connect_agent,
    error_of,
    set_hours,
    update_entry,
    user_id,
)

# ---- authorization -------------------------------------------------------------------


async def test_authorization_errors(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    url = f"{V2}/availability"
    ok = {"Authorization": auth("c1")}
    q = {"tenantUrl": tenant.domain}

    r = await client.get(url, headers=ok)
    assert error_of(r) == (403, "1000")
    r = await client.get(url, params={"tenantUrl": "nope.example"}, headers=ok)
    assert error_of(r) == (403, "1000")
    r = await client.get(url, params=q)
    assert error_of(r) == (403, "2000")
    r = await client.get(url, params=q, headers={"Authorization": "MOBILE-API-140-327-PLAIN ;;"})
    assert error_of(r) == (403, "2001")
    r = await client.get(url, params=q, headers={"Authorization": 'Bearer appId="test"'})
    assert error_of(r) == (403, "2002")
    r = await client.get(
        url, params=q, headers={"Authorization": 'MOBILE-API-140-327-PLAIN clientId="c1"'}
    )
    assert error_of(r) == (403, "2003")
    r = await client.get(
        url, params=q, headers={"Authorization": 'MOBILE-API-140-327-PLAIN appId="test"'}
    )
    assert error_of(r) == (403, "2004")
    r = await client.get(url, params=q, headers={"Authorization": auth("x" * 300)})
    assert error_of(r) == (403, "3000")
    r = await client.get(url, params=q, headers={"Authorization": auth("c1", "unknown")})
    assert error_of(r) == (403, "5006")


async def test_disabled_entry(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    await update_entry(rt, tenant, enabled=False)
    r = await Customer(client, tenant).get("/availability")
    assert error_of(r) == (403, "3000")


async def test_sdk_request_variants(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    """Unquoted header values, odd spacing, `UserAgent`, tenantUrl with scheme and slash."""
    variants = [
        f"https://{tenant.domain}/",
        quote(f"https://{tenant.domain.upper()}/", safe=""),
        tenant.domain + "/",
    ]
    headers = {
        "Authorization": "MOBILE-API-140-327-PLAIN   appId=test ,clientId=SDK-1",
        "UserAgent": "MobileClient",
    }
    for tenant_url in variants:
        r = await client.get(
            f"{V1}/availability",
            params={"tenantUrl": tenant_url, "nonce": "1", "timestamp": "2", "domain": "x"},
            headers=headers,
        )
        assert r.status_code == 200, (tenant_url, r.text)
    r = await client.post(
        f"{V1}/chats", params={"tenantUrl": variants[0]}, headers=headers, json={}
    )
    assert r.status_code == 200, r.text
    r2 = await client.get(f"{V1}/chats/active", params={"tenantUrl": variants[1]}, headers=headers)
    assert r2.json()["chat_id"] == r.json()["chat_id"]


async def test_tenant_from_host_header(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.get(
        f"{V2}/parameters", headers={"Authorization": auth("c1"), "Host": tenant.domain}
    )
    assert r.status_code == 200, r.text


# ---- availability, parameters, configuration, ICE, version ---------------------------


async def test_availability_hours(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    r = await c.get("/availability")
    assert r.status_code == 200
    body = r.json()
    assert body["chat"] == "available" and isinstance(body["ewt"], str)
    assert int(body["ewt"]) > 0  # agents with chat capacity exist: an estimate

    today = datetime.now(UTC).date().isoformat()
    await set_hours(
        rt, tenant, timezone="UTC", weekly={"mon": [["00:00", "24:00"]]}, holidays=[{"date": today}]
    )
    r = await c.get("/availability")
    assert r.json() == {"chat": "notAvailable", "ewt": "0"}
    r = await c.post("/chats", {})
    assert error_of(r) == (503, "5001")


async def test_parameters_configuration_ice_version(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    r = await c.get("/parameters")
    assert r.json() == {
        "parameters": [
            {"FIRST_NAME": "FIRST_NAME"},
            {"LAST_NAME": "LAST_NAME"},
            {"EMAIL": "EMAIL"},
            {"PHONE": "PHONE"},
        ]
    }
    r = await c.get("/configuration")
    definition = r.json()["definition"]
    assert definition["chatWidgetStyling"]["title"] == "Chat with us"
    assert definition["chatWidgetStyling"]["color"] == "1f6feb"
    assert definition["chatInitiations"][0]["preChat"]["commonFields"]
    r = await c.get("/iceservers")
    assert r.json() == {"servers": [{"url": "stun:stun.l.google.com:19302"}]}
    r = await c.get("/version")
    assert r.status_code == 200 and "server_version" in r.json()

    v1 = Customer(client, tenant, version=V1)
    r = await v1.get("/version")
    assert error_of(r)[0] == 404
    assert (await v1.get("/configuration")).status_code == 200


# ---- request chat, active chat, cookies ------------------------------------------------


async def test_request_chat_new_and_existing(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    r = await c.get("/chats/active")
    assert error_of(r) == (404, "5005")
    first = await c.start(
        phone_number="16508888888",
        **{"from": "51.18.205.152"},
        parameters={"FIRST_NAME": "Aiden", "LAST_NAME": "Bookbinder"},
    )
    assert first["is_new_chat"] is True and first["state"] == "queued"
    assert first["phone_number"] == "16508888888" and isinstance(first["ewt"], str)
    again = await c.start()
    assert again["chat_id"] == first["chat_id"] and again["is_new_chat"] is False
    r = await c.get("/chats/active")
    assert r.json()["chat_id"] == first["chat_id"] and r.json()["state"] == "queued"
    assert isinstance(r.json()["ewt"], str)
    other = Customer(client, tenant)
    assert (await other.start())["chat_id"] != first["chat_id"]


async def test_request_chat_body_errors(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    r = await client.post(
        f"{V2}/chats",
        params=c.params(),
        headers={**c.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert error_of(r) == (400, "5003")
    r = await c.post("/chats", {"parameters": "x"})
    assert error_of(r) == (400, "5003")
    r = await c.post("/chats", {"parameters": {f"P{i}": "v" for i in range(101)}})
    assert error_of(r) == (400, "5603")
    r = await c.post("/chats", {"initial_message": {"event": "chat_session_typing"}})
    assert error_of(r) == (400, "5003")


async def test_web_widget_cookie_and_initial_message(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    headers = {"Authorization": auth("WebChat"), "Origin": "http://127.0.0.1:8080"}
    params = {"tenantUrl": tenant.domain}
    body = {"initial_message": {"event": "chat_session_message", "msg": "Hi there"}}
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as b1:
        r = await b1.post(f"{V2}/chats", params=params, headers=headers, json=body)
        assert r.status_code == 200, r.text
        assert "sb_webchat_id" in r.cookies
        assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
        assert r.headers["access-control-allow-credentials"] == "true"
        chat_id = r.json()["chat_id"]
        r = await b1.post(f"{V2}/chats", params=params, headers=headers, json={})
        assert r.json() == {**r.json(), "chat_id": chat_id, "is_new_chat": False}
        r = await b1.get(f"{V2}/chats/{chat_id}/history", params=params, headers=headers)
        events = r.json()["events"]
        mine = [e for e in events if e["event"] == "chat_session_message"]
        assert mine[0]["msg"] == "Hi there" and mine[0]["party_id"] == chat_id
    # another browser (no cookie) is another client
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as b2:
        r = await b2.get(f"{V2}/chats/active", params=params, headers=headers)
        assert error_of(r) == (404, "5005")
        r = await b2.get(f"{V2}/chats/{chat_id}/history", params=params, headers=headers)
        assert error_of(r) == (404, "5005")


async def test_cors_preflight(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.options(
        f"{V2}/chats?tenantUrl={tenant.domain}",
        headers={
            "Origin": "http://127.0.0.1:8080",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, useragent",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


# ---- events ------------------------------------------------------------------------------


async def test_conversation(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    start = await c.start()
    events = await c.poll()
    assert [e["event"] for e in events] == ["chat_session_status"]
    status = events[0]
    assert status["state"] == "queued" and status["ewt"] == start["ewt"]
    assert isinstance(status["timestamp"], str) and status["timestamp"].isdigit()
    assert isinstance(status["party_id"], str) and status["party_id"]

    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("Hello, I am Alice")
    events = await c.poll()
    assert [(e["event"], e.get("state")) for e in events] == [
        ("chat_session_status", "connecting"),
        ("chat_session_party_joined", None),
        ("chat_session_status", "connected"),
        ("chat_session_message", None),
    ]
    joined = events[1]
    party = seat.party_id
    assert joined["party_id"] == party and joined["type"] == "internal"
    assert joined["first_name"] == "Alice" and joined["last_name"] == "Agent"
    assert all(isinstance(e["ewt"], str) for e in events if e["event"] == "chat_session_status")
    message = events[3]
    assert message["party_id"] == party and message["msg_id"].startswith(c.chat_id + "_")
    assert all(ch.isalnum() or ch in "-_" for ch in message["msg_id"])  # a CSS-safe id

    # the customer answers; the POST answers with any new server events
    await seat.say("How can I help?")
    answered = await c.say("My router is broken")
    assert [e["msg"] for e in answered] == ["How can I help?"]
    assert await c.poll() == []  # already delivered by the POST answer (held 1 s)

    r = await c.get(f"/chats/{c.chat_id}/history")
    history = r.json()["events"]
    msgs = [(e["party_id"], e["msg"]) for e in history if e["event"] == "chat_session_message"]
    assert msgs == [
        (party, "Hello, I am Alice"),
        (party, "How can I help?"),
        (c.chat_id, "My router is broken"),
    ]
    assert all(isinstance(e["timestamp"], str) for e in history)


async def test_every_client_event_is_stored(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    sent = [
        {"event": "chat_session_message", "msg": "hi", "msg_id": "m1", "timestamp": "1", "party_id": "x"},
        {"event": "chat_session_message_delivered", "ref_msg_id": "a1"},
        {"event": "chat_session_message_read", "ref_msg_id": "a1"},
        {"event": "chat_session_typing"},
        {"event": "chat_session_not_typing"},
        {"event": "chat_session_form_data", "form_request_id": 7, "form_name": "F", "data": {"a": "1"}},
        {"event": "chat_session_secure_form_data", "form_request_id": "8", "form_name": "S", "data": {"card": "4111"}},
        {"event": "chat_session_secure_form_cancel", "form_request_id": "8"},
        {"event": "chat_session_signaling", "destination_party_id": seat.party_id, "data": {"type": "REQUEST_CALL", "offerVideo": "false"}},
        {"event": "chat_session_location", "latitude": 37.5, "longitude": "-122.3", "url": "https://maps/x"},
        {"event": "chat_session_navigation", "title": "Home", "page": "https://shop/"},
        {"event": "chat_session_cobrowsing_rejected"},
        {"event": "chat_session_cobrowsing_started", "provider_type": "X", "cobrowsing_url": "https://cb"},
        {"event": "chat_session_cobrowsing_ended"},
    ]  # fmt: skip
    r = await c.send(*sent)
    assert r.status_code == 200, r.text
    async with rt.db.read() as s:
        rows = (
            (
                await s.execute(
                    select(ChatEvent)
                    .where(ChatEvent.chat_id == c.chat_id, ChatEvent.direction == "client")
                    .order_by(ChatEvent.seq)
                )
            )
            .scalars()
            .all()
        )
    assert [r.event_type for r in rows] == [e["event"] for e in sent]
    first = rows[0].payload
    assert first == {"event": "chat_session_message", "msg": "hi", "msg_id": "m1"}
    assert rows[5].payload["form_request_id"] == "7"
    assert rows[6].payload["data"] == {"card": "***"}  # secure data is never stored
    assert rows[9].payload["latitude"] == "37.5"
    history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
    assert "chat_session_signaling" not in [e["event"] for e in history]

    # the agent's signaling reaches the customer's poll, but never the history
    r = await seat.post("signaling", {"data": {"type": "END_CALL"}})
    assert r.status_code == 200, r.text
    polled = await c.poll()
    assert polled[-1]["event"] == "chat_session_signaling"


async def test_event_errors(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    await c.start()
    for body in (
        {"events": "x"},
        {"events": [{"event": "chat_session_bogus"}]},
        {"events": [{"msg": "no type"}]},
        {"events": [{"event": "chat_session_message"}]},
        {"events": [{"event": "chat_session_form_data", "data": "not an object"}]},
        {"events": [{"event": "chat_session_ended"}]},  # a server event
    ):
        r = await c.post(f"/chats/{c.chat_id}/events", body)
        assert error_of(r) == (400, "5003"), body
    r = await client.post(
        f"{V2}/chats/{c.chat_id}/events",
        params=c.params(),
        headers={**c.headers, "Content-Type": "application/json"},
        content=b"[",
    )
    assert error_of(r) == (400, "5003")
    r = await c.send({"event": "chat_session_file", "file_id": str(uuid.uuid4())})
    assert error_of(r) == (404, "5502")
    for path in ("/chats/nope/events", "/chats/nope/history"):
        assert error_of(await c.get(path)) == (404, "5005")
    r = await c.post("/chats/nope/events", {"events": []})
    assert error_of(r) == (404, "5005")
    stranger = Customer(client, tenant)
    assert error_of(await stranger.get(f"/chats/{c.chat_id}/events")) == (404, "5005")
    r = await stranger.post(
        f"/chats/{c.chat_id}/events", {"events": [{"event": "chat_session_typing"}]}
    )
    assert error_of(r) == (404, "5005")


async def test_customer_ends_a_queued_chat(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    r = await c.send({"event": "chat_session_end"})
    kinds = [e["event"] for e in r.json()["events"]]
    assert kinds == ["chat_session_status", "chat_session_ended"]
    assert error_of(await c.get(f"/chats/{c.chat_id}/events")) == (404, "5005")
    assert error_of(await c.send({"event": "chat_session_typing"})) == (404, "5005")
    assert error_of(await c.get("/chats/active")) == (404, "5005")
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, c.chat_id)
        assert chat is not None
        assert chat.state == "completed" and chat.end_reason == "abandoned" and chat.ended_at
    # history stays readable; a new request is a new chat
    assert (await c.get(f"/chats/{c.chat_id}/history")).status_code == 200
    assert (await c.start())["is_new_chat"] is True


async def test_disconnect_and_agent_end(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    first = await connect_agent(client, rt, tenant, c.chat_id)
    await c.poll()
    # seed 003: disconnect ends the conversation but keeps the session open
    r = await c.send({"event": "chat_session_disconnect"})
    assert r.status_code == 200, r.text
    left = [e for e in r.json()["events"] if e["event"] == "chat_session_party_left"]
    assert [e["party_id"] for e in left] == [first.party_id]
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, c.chat_id)
        assert chat is not None and chat.state == "ivr" and chat.end_reason is None
        inter = (
            await s.execute(select(Interaction).where(Interaction.chat_id == c.chat_id))
        ).scalar_one()
        assert inter.end_reason == "customer_disconnected" and inter.ended_at is not None
    r = await client.get(f"/agentapi/v1/interactions/{first.interaction_id}", headers=first.headers)
    assert r.json()["mine"]["phase"] == "wrap_up"
    assert (await c.send({"event": "chat_session_typing"})).status_code == 200  # still open
    r = await c.send({"event": "chat_session_end"})
    assert [e["event"] for e in r.json()["events"]][-1] == "chat_session_ended"
    assert error_of(await c.get(f"/chats/{c.chat_id}/events")) == (404, "5005")

    d = Customer(client, tenant)
    await d.start()
    seat = await connect_agent(client, rt, tenant, d.chat_id, "agent2")
    await d.poll()
    await seat.end()
    events = await d.poll()
    assert events[-1]["event"] == "chat_session_ended" and events[-1]["party_id"] == seat.party_id
    assert error_of(await d.get(f"/chats/{d.chat_id}/events")) == (404, "5005")


async def test_second_concurrent_poll(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    await c.poll()
    held = asyncio.create_task(c.get(f"/chats/{c.chat_id}/events"))
    await asyncio.sleep(0.2)
    second = await c.get(f"/chats/{c.chat_id}/events")
    assert error_of(second) == (400, "5509")
    # the refused poll preempted the held one: it answers (empty) at once
    first = await asyncio.wait_for(held, 0.8)
    assert first.status_code == 200 and first.json() == {"events": []}
    # and what comes next goes to the next poll, once
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("still there?")
    got = await c.poll()
    assert [e["event"] for e in got][-1] == "chat_session_message"
    assert await c.poll() == []


async def test_poll_wakes_on_event(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = Customer(client, tenant)
    await c.start()
    await c.poll()
    # a hold that outlasts the test: an answer carrying the event can only come from the
    # wake-up (a hold that runs out answers empty, without looking)
    monkeypatch.setattr(rt.settings, "long_poll_seconds", 60.0)
    held = asyncio.create_task(c.poll())
    await asyncio.sleep(0.1)
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    events = await asyncio.wait_for(held, 30)
    assert events and events[0]["state"] == "connecting"
    monkeypatch.setattr(rt.settings, "long_poll_seconds", 1.0)
    await seat.say("x")
    rest = await c.poll()
    assert [e["event"] for e in events + rest].count("chat_session_message") == 1


async def test_cursor_extension(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    """Our own clients resume with `cursor`, even after an answer was lost."""
    c = Customer(client, tenant)
    await c.start()
    r = await c.get(f"/chats/{c.chat_id}/events")
    cursor = r.headers["x-switchboard-cursor"]
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    await seat.say("one")
    lost = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": cursor})
    assert len(lost.json()["events"]) == 4
    again = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": cursor})
    assert again.json() == lost.json()
    nxt = again.headers["x-switchboard-cursor"]
    # cursor clients read server events through polls only
    r = await c.post(f"/chats/{c.chat_id}/events", {"events": []}, params={"cursor": nxt})
    assert r.json() == {"events": []}
    await seat.say("two")
    r = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": nxt})
    assert [e["msg"] for e in r.json()["events"]] == ["two"]
    r = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": "x"})
    assert error_of(r) == (400, "5003")
    h = await c.get(f"/chats/{c.chat_id}/history")
    assert int(h.headers["x-switchboard-cursor"]) >= int(r.headers.get("x-switchboard-cursor", 0))


# ---- cases, notifications, photos ------------------------------------------------------


async def test_case_history_and_close_case(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    for path in ("/casehistory", f"/chats/{c.chat_id}/casehistory"):
        assert error_of(await c.get(path)) == (406, "5601")
    for path in ("/closecase", f"/chats/{c.chat_id}/closecase"):
        assert error_of(await c.post(path)) == (406, "5601")
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    r = await client.put(
        f"/agentapi/v1/interactions/{seat.interaction_id}/case",
        json={"case_id": "CASE-9"},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text
    events = await c.poll()
    assert events[-1]["event"] == "chat_session_case_set" and events[-1]["case_id"] == "CASE-9"
    await c.say("about my case")
    # an earlier chat of the same case (another session of this customer)
    earlier = Customer(client, tenant)
    await earlier.start()
    other = await connect_agent(client, rt, tenant, earlier.chat_id, token=seat.token)
    r = await client.put(
        f"/agentapi/v1/interactions/{other.interaction_id}/case",
        json={"case_id": "CASE-9"},
        headers=other.headers,
    )
    assert r.status_code == 200, r.text
    for path in ("/casehistory", f"/chats/{c.chat_id}/casehistory"):
        r = await c.get(path)
        assert r.status_code == 200, r.text
        sessions = r.json()["sessions"]
        assert [s["chat_id"] for s in sessions] == [c.chat_id, earlier.chat_id]
        assert sessions[0]["created_time"].isdigit()
        assert any(e.get("msg") == "about my case" for e in sessions[0]["events"])
    for path in ("/closecase", f"/chats/{c.chat_id}/closecase"):
        r = await c.post(path)
        assert r.status_code == 200 and r.json() == {}
    v1 = Customer(client, tenant, c.client_id, version=V1)
    assert error_of(await v1.get("/casehistory"))[0] == 404
    assert error_of(await v1.post("/closecase"))[0] == 404
    stranger = Customer(client, tenant)
    assert error_of(await stranger.get("/casehistory")) == (404, "5005")


async def test_notifications(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    fake = FakePushSender()
    rt.providers["push"] = fake
    try:
        c = Customer(client, tenant)
        await c.start()
        path = f"/chats/{c.chat_id}/notifications"
        r = await c.post(path, {"ios_apns_device_token": "T1", "ios_app_bundle_id": "com.x"})
        assert r.status_code == 200 and r.json() == {}
        r = await c.post(path, {"ios_apns_device_token": "T1"})
        assert error_of(r) == (400, "5003")
        r = await c.post(
            path, {"ios_firebase_device_token": "A", "android_firebase_device_token": "B"}
        )
        assert error_of(r) == (406, "5603")
        r = await c.post(path, {"android_firebase_device_token": "FCM-1"})
        assert r.status_code == 200
        seat = await connect_agent(client, rt, tenant, c.chat_id)
        await seat.say("are you there?")
        await rt.db.settle()  # the push is sent after the commit, off the request
        pushed = [m for m in fake.sent if m.token == "FCM-1"]
        assert len(pushed) == 1 and pushed[0].kind == "android_firebase"
        assert pushed[0].body == "are you there?" and pushed[0].data == {"chat_id": c.chat_id}
        assert (await c.post(path, {})).status_code == 200  # unsubscribe
        await seat.say("hello?")
        await rt.db.settle()
        assert len([m for m in fake.sent if m.token == "FCM-1"]) == 1
        assert error_of(await c.post("/chats/nope/notifications", {})) == (404, "5005")
        v1 = Customer(client, tenant, c.client_id, version=V1)
        assert error_of(await v1.post(path, {}))[0] == 404
    finally:
        rt.providers.pop("push", None)


async def test_profile_photo_and_chat_icon(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    no_params = {"Authorization": auth(c.client_id)}  # as documented: no tenantUrl
    r = await client.get(f"{V2}/chats/{c.chat_id}/profilephotos/{seat.party_id}", headers=no_params)
    # no photo yet: a default picture, not an error the browser would show as broken
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg")
    assert r.headers["x-content-type-options"] == "nosniff"
    # what the widget does: an <img> (no Authorization header), the chat id as credential
    r = await client.get(f"{V2}/chats/{c.chat_id}/profilephotos/{seat.party_id}")
    assert r.status_code == 200
    r = await client.get(f"{V2}/chats/{c.chat_id}/chaticon")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg")
    r = await client.get(f"{V2}/chats/{uuid.uuid4()}/chaticon")
    assert error_of(r) == (404, "5005")
    async with rt.db.write() as s:
        user = await s.get(User, await user_id(rt, tenant))
        assert user is not None
        user.photo_data = b"\x89PNG fake"
        user.photo_content_type = "image/png"
    r = await client.get(f"{V2}/chats/{c.chat_id}/profilephotos/{seat.party_id}", headers=no_params)
    assert r.status_code == 200 and r.content == b"\x89PNG fake"
    assert r.headers["content-type"] == "image/png"
    r = await client.get(f"{V2}/chats/{c.chat_id}/profilephotos/{c.chat_id}", headers=no_params)
    assert error_of(r) == (404, "5502")
    r = await c.get(f"/chats/{c.chat_id}/chaticon")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg")
    stranger = {"Authorization": auth("someone-else")}
    r = await client.get(f"{V2}/chats/{c.chat_id}/profilephotos/{seat.party_id}", headers=stranger)
    assert error_of(r) == (404, "5005")


async def test_unknown_path(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    r = await c.get("/nothing-here")
    assert error_of(r) == (404, "5955")


async def test_demo_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/chat/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'data-demo-tenant="example.com"' in r.text
    for asset in ("app.js", "style.css"):
        assert (await client.get(f"/chat/{asset}")).status_code == 200
    assert (await client.get("/chat/../etc")).status_code == 404
    assert (await client.get("/chat", follow_redirects=False)).status_code == 307
