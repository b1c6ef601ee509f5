"""Agent API v1: login and lockout, states and the state log, reference lists, the
agent's actions on a chat, and every error an agent can cause."""

from __future__ import annotations

import asyncio
import itertools

import httpx

from switchboard.agents import actions as agent_actions
from switchboard.agents import service as agent_service
from switchboard.core.runtime import Runtime
from switchboard.interactions import service as interactions
from tests.conftest import PASSWORD, TenantInfo, get_token
from tests.test_agent_support import (
    API,
    agent_login,
    auth,
    chat_state,
    configure,
    connected_chat,
    cursor_of,
    customer_log,
    customer_sends,
    held,
    next_frame,
)


async def test_login_shape_and_logout(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    r = await client.post(
        API + "/login",
        json={
            "tenant": f"https://{tenant.domain.upper()}/",
            "loginId": "agent1",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["tenant"] == tenant.domain
    assert body["user"]["login_id"] == "agent1"
    assert body["user"]["skills"] == {"Support": 90, "English": 100, "Mobile": 70}
    assert body["agent"]["state"] == "not_ready" and body["agent"]["login_at"]
    assert body["cursor"].startswith("a")
    token = body["access_token"]
    r = await client.post(API + "/logout", headers=auth(token))
    assert r.status_code == 200
    assert r.json()["state"] == "logged_out"
    r = await client.get(API + "/me", headers=auth(token))
    assert r.status_code == 401


async def test_login_failures_and_lockout(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    bad = {"tenant": tenant.domain, "loginId": "agent2", "password": "wrong-password"}
    r = await client.post(API + "/login", json={**bad, "tenant": "nowhere.example.test"})
    assert r.status_code == 401
    r = await client.post(API + "/login", json={**bad, "loginId": "ghost"})
    assert r.status_code == 401 and r.json()["code"] == "credentials"
    for _ in range(3):  # lockout_threshold is 3 in the tests
        r = await client.post(API + "/login", json=bad)
        assert r.status_code == 401
    # throttled, yet answered like any wrong password (no enumeration, no off switch)
    r = await client.post(API + "/login", json={**bad, "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["code"] == "credentials"
    r = await client.post(API + "/login", json={"tenant": tenant.domain})
    assert r.status_code == 400
    r = await client.post(API + "/login", content="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = await client.post(API + "/login", content="x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


async def test_only_agents_may_log_in(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    admin = {"Authorization": f"Bearer {await get_token(client, tenant)}"}
    r = await client.post(
        "/configapi/v2/user",
        json={
            "loginId": "report1",
            "password": PASSWORD,
            "firstName": "Rep",
            "lastName": "Orter",
            "team": "Support Team",
            "roles": ["Reporting"],
        },
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post(
        API + "/login", json={"tenant": tenant.domain, "loginId": "report1", "password": PASSWORD}
    )
    assert r.status_code == 403
    # a Configuration API token is not an agent session
    r = await client.get(API + "/me", headers=admin)
    assert r.status_code == 401
    r = await client.get(API + "/me")
    assert r.status_code == 401


async def test_states_reasons_and_state_log(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token = await agent_login(client, tenant, "agent3")
    h = auth(token)
    reasons = (await client.get(API + "/reasons", headers=h)).json()["items"]
    assert [r["name"] for r in reasons] == ["Break", "Lunch", "Meeting", "Training"]
    r = await client.put(API + "/state", json={"state": "ready"}, headers=h)
    assert r.status_code == 200 and r.json()["state"] == "ready"
    r = await client.put(API + "/state", json={"state": "not_ready", "reason": "Lunch"}, headers=h)
    assert r.json() == {**r.json(), "state": "not_ready", "reason": "Lunch"}
    r = await client.put(API + "/state", json={"state": "not_ready", "reason": "Nap"}, headers=h)
    assert r.status_code == 400
    r = await client.put(API + "/state", json={"state": "ready", "reason": "Lunch"}, headers=h)
    assert r.status_code == 400
    r = await client.put(API + "/state", json={"state": "busy"}, headers=h)
    assert r.status_code == 400
    r = await client.put(API + "/state", json={"state": "not_ready", "reason": "Break"}, headers=h)
    assert r.status_code == 200
    async with rt.db.read() as s:
        user = (await agent_service.list_sessions(session=s, tenant_id=tenant.tenant_id))[0]
        log = await agent_service.state_log(
            session=s, tenant_id=tenant.tenant_id, user_id=user.user_id
        )
    assert [(x.state, x.reason) for x in log] == [
        ("not_ready", None),
        ("ready", None),
        ("not_ready", "Lunch"),
        ("not_ready", "Break"),
    ]
    assert all(x.ended_at is not None for x in log[:-1]) and log[-1].ended_at is None
    assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(log))
    r = await client.put(API + "/state", json={"state": "logged_out"}, headers=h)
    assert r.status_code == 200 and r.json()["state"] == "logged_out"
    async with rt.db.read() as s:
        log = await agent_service.state_log(session=s, tenant_id=tenant.tenant_id)
    assert log[-1].ended_at is not None


async def test_reference_lists(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    t1 = await agent_login(client, tenant, "agent1", ready=True)
    await agent_login(client, tenant, "agent2")
    h = auth(t1)
    names = [
        d["name"] for d in (await client.get(API + "/dispositions", headers=h)).json()["items"]
    ]
    assert names[:2] == ["Resolved", "Follow-up needed"]
    services = [s["name"] for s in (await client.get(API + "/services", headers=h)).json()["items"]]
    assert services == ["Chat Service"]
    colleagues = (await client.get(API + "/agents", headers=h)).json()["agents"]
    assert colleagues == [
        {"login_id": "agent2", "display_name": "Bob Agent", "state": "not_ready", "reason": None}
    ]


async def test_chat_actions_reach_the_customer(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token, iid, chat_id, party, cursor = await connected_chat(
        rt, client, tenant, client_id="cust-a", parameters={"FIRST_NAME": "Ann", "EMAIL": "a@x.org"}
    )
    h = auth(token)
    info = (await client.get(f"{API}/interactions/{iid}", headers=h)).json()
    assert info["customer"]["parameters"] == {"FIRST_NAME": "Ann", "EMAIL": "a@x.org"}
    assert info["mine"]["phase"] == "connected" and info["mine"]["party_id"] == party
    assert info["state"] == "connected" and info["service"] == "Chat Service"
    # customer -> agent, with receipts both ways
    await customer_sends(
        rt, tenant, chat_id, "cust-a", {"event": "chat_session_message", "msg": "hi"}
    )
    frame, cursor, _ = await next_frame(
        client, token, cursor, "chat_event", match={"event": "chat_session_message"}
    )
    msg_id = frame["event"]["msg_id"]
    assert frame["event"]["party_id"] == chat_id and frame["event"]["msg"] == "hi"
    for kind in ("delivered", "read"):
        r = await client.post(
            f"{API}/interactions/{iid}/receipts",
            json={"type": kind, "ref_msg_id": msg_id},
            headers=h,
        )
        assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/interactions/{iid}/messages", json={"msg": "hello Ann"}, headers=h
    )
    assert r.status_code == 200
    r = await client.post(f"{API}/interactions/{iid}/typing", json={"typing": True}, headers=h)
    assert r.status_code == 200
    r = await client.post(
        f"{API}/interactions/{iid}/forms", json={"form_name": "MobileChatCustomerData"}, headers=h
    )
    assert r.status_code == 200
    r = await client.put(f"{API}/interactions/{iid}/case", json={"case_id": "CASE-7"}, headers=h)
    assert r.status_code == 200
    log = await customer_log(rt, chat_id)
    mine = [e for e in log if e["party_id"] == party]
    kinds = [e["event"] for e in mine]
    assert kinds[:1] == ["chat_session_party_joined"]
    assert "chat_session_message_delivered" in kinds and "chat_session_message_read" in kinds
    sent = next(e for e in mine if e["event"] == "chat_session_message")
    assert sent["msg"] == "hello Ann"
    form = next(e for e in mine if e["event"] == "chat_session_form_show")
    assert isinstance(form["form_request_id"], int)
    assert any(e["event"] == "chat_session_case_set" and e["case_id"] == "CASE-7" for e in log)
    # the customer's receipt and form data come back to the agent
    await customer_sends(
        rt,
        tenant,
        chat_id,
        "cust-a",
        {"event": "chat_session_message_read", "ref_msg_id": sent["msg_id"]},
        {
            "event": "chat_session_form_data",
            "form_request_id": str(form["form_request_id"]),
            "form_name": "MobileChatCustomerData",
            "data": {"PHONE": "555"},
        },
    )
    _, cursor, seen = await next_frame(
        client, token, cursor, "chat_event", match={"event": "chat_session_form_data"}
    )
    assert any(
        f.get("event", {}).get("event") == "chat_session_message_read"
        and f["event"]["ref_msg_id"] == sent["msg_id"]
        for f in seen
    )
    history = (await client.get(f"{API}/interactions/{iid}/history", headers=h)).json()["events"]
    assert [x["chat_seq"] for x in history] == sorted(x["chat_seq"] for x in history)
    assert history[0]["event"]["event"] == "chat_session_status"
    async with rt.db.read() as s:
        inter = await interactions.get(session=s, tenant_id=tenant.tenant_id, interaction_id=iid)
        assert inter is not None and inter.case_id == "CASE-7"


async def test_interaction_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=30)
    t2 = await agent_login(client, tenant, "agent2")
    token, iid, _chat_id, _party, _cursor = await connected_chat(
        rt, client, tenant, client_id="c-err"
    )
    h = auth(token)
    r = await client.post(f"{API}/interactions/nope/accept", headers=h)
    assert r.status_code == 404
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=h)
    assert r.status_code == 409  # already accepted
    r = await client.get(f"{API}/interactions/{iid}", headers=auth(t2))
    assert r.status_code == 404  # not agent2's
    r = await client.post(f"{API}/interactions/{iid}/messages", json={"msg": "x"}, headers=auth(t2))
    assert r.status_code == 404
    r = await client.post(f"{API}/interactions/{iid}/messages", json={"msg": ""}, headers=h)
    assert r.status_code == 400
    r = await client.post(
        f"{API}/interactions/{iid}/messages",
        content="hi",
        headers={**h, "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    r = await client.put(
        f"{API}/interactions/{iid}/disposition", json={"disposition": "Nope"}, headers=h
    )
    assert r.status_code == 400
    r = await client.post(f"{API}/interactions/{iid}/transfer", json={}, headers=h)
    assert r.status_code == 400
    r = await client.post(f"{API}/interactions/{iid}/transfer", json={"service": "Nope"}, headers=h)
    assert r.status_code == 404
    r = await client.post(
        f"{API}/interactions/{iid}/transfer", json={"service": "Voice Service"}, headers=h
    )
    assert r.status_code == 400
    r = await client.post(f"{API}/interactions/{iid}/transfer", json={"agent": "agent2"}, headers=h)
    assert r.status_code == 409  # agent2 is not ready
    r = await client.post(f"{API}/interactions/{iid}/transfer", json={"agent": "ghost"}, headers=h)
    assert r.status_code == 404
    r = await client.post(f"{API}/interactions/{iid}/leave", headers=h)
    assert r.status_code == 409  # only a conferenced party leaves
    r = await client.post(f"{API}/interactions/{iid}/complete", headers=h)
    assert r.status_code == 409  # not in after-call work yet
    r = await client.post(API + "/logout", headers=h)
    assert r.status_code == 409  # a chat is open
    r = await client.post(
        f"{API}/interactions/{iid}/end",
        json={"disposition": "Resolved", "notes": "fine"},
        headers=h,
    )
    assert r.status_code == 200
    r = await client.post(f"{API}/interactions/{iid}/end", headers=h)
    assert r.status_code == 409
    r = await client.post(f"{API}/interactions/{iid}/messages", json={"msg": "late"}, headers=h)
    assert r.status_code == 409
    st = (await client.get(API + "/state", headers=h)).json()
    assert st["state"] == "after_call_work" and st["next_state"] == "ready"
    r = await client.post(API + "/logout", headers=h)
    assert r.status_code == 409  # still wrapping up
    r = await client.post(
        f"{API}/interactions/{iid}/complete", json={"notes": "all good"}, headers=h
    )
    assert r.status_code == 200
    async with rt.db.read() as s:
        inter = await interactions.get(session=s, tenant_id=tenant.tenant_id, interaction_id=iid)
        steps = await interactions.steps(session=s, interaction_id=iid)
    assert inter is not None
    assert (inter.state, inter.disposition, inter.notes, inter.end_reason) == (
        "completed",
        "Resolved",
        "all good",
        "agent",
    )
    assert inter.answered_at and inter.ended_at and inter.completed_at and inter.first_offered_at
    assert [(x.phase, x.outcome) for x in steps] == [("done", "completed")]
    assert steps[0].answered_at and steps[0].ended_at and steps[0].completed_at
    r = await client.post(API + "/logout", headers=h)
    assert r.status_code == 200


async def test_after_call_work_times_out(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=1)
    token, iid, _chat_id, _party, cursor = await connected_chat(
        rt, client, tenant, client_id="c-acw"
    )
    r = await client.post(f"{API}/interactions/{iid}/end", headers=auth(token))
    assert r.status_code == 200
    frame, cursor, _ = await next_frame(client, token, cursor, "wrap_up_completed", timeout=6)
    assert frame["timed_out"] is True
    assert (await client.get(API + "/state", headers=auth(token))).json()["state"] == "ready"


async def test_customer_ending_frees_the_agent(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=0)
    token, iid, chat_id, _party, cursor = await connected_chat(
        rt, client, tenant, client_id="c-bye"
    )
    await customer_sends(rt, tenant, chat_id, "c-bye", {"event": "chat_session_end"})
    frame, cursor, _ = await next_frame(client, token, cursor, "interaction_ended", timeout=6)
    assert frame["interaction_id"] == iid
    assert await held(client, token) == []
    assert (await client.get(API + "/state", headers=auth(token))).json()["state"] == "ready"


async def test_transfer_to_service_and_to_agent(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=0)
    t1, iid, chat_id, p1, c1 = await connected_chat(rt, client, tenant, client_id="c-tr")
    t2 = await agent_login(client, tenant, "agent2", ready=True)
    c2 = await cursor_of(client, t2)
    # to an agent: offered to agent2, agent1 leaves the chat
    r = await client.post(
        f"{API}/interactions/{iid}/transfer", json={"agent": "agent2"}, headers=auth(t1)
    )
    assert r.status_code == 200, r.text
    offer, c2, _ = await next_frame(client, t2, c2, "offer")
    assert offer["kind"] == "transfer" and offer["from_name"] == "Alice Agent"
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(t2))
    assert r.status_code == 200
    p2 = r.json()["party_id"]
    log = await customer_log(rt, chat_id)
    assert {"event": "chat_session_party_left", "party_id": p1} in [
        {k: e[k] for k in ("event", "party_id")} for e in log
    ]
    assert log[-1]["event"] == "chat_session_party_joined" and log[-1]["party_id"] == p2
    # to the service's queue: agent1 (ready again) gets it by routing
    await client.put(API + "/state", json={"state": "ready"}, headers=auth(t1))
    c1 = await cursor_of(client, t1)
    r = await client.post(
        f"{API}/interactions/{iid}/transfer", json={"service": "Chat Service"}, headers=auth(t2)
    )
    assert r.status_code == 200, r.text
    offer, c1, _ = await next_frame(client, t1, c1, "offer")
    assert offer["interaction_id"] == iid
    async with rt.db.read() as s:
        steps = await interactions.steps(session=s, interaction_id=iid)
    assert [(x.kind, x.outcome) for x in steps] == [
        ("route", "transferred"),
        ("transfer", "transferred"),
        ("route", None),
    ]


async def test_conference_a_supervisor(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    t1, iid, chat_id, _p1, _c1 = await connected_chat(rt, client, tenant, client_id="c-conf")
    sup = await agent_login(client, tenant, "supervisor1")  # not ready: may still be invited
    cs = await cursor_of(client, sup)
    r = await client.post(
        f"{API}/interactions/{iid}/conference", json={"agent": "supervisor1"}, headers=auth(t1)
    )
    assert r.status_code == 200, r.text
    offer, cs, _ = await next_frame(client, sup, cs, "offer")
    assert offer["kind"] == "conference"
    r = await client.post(f"{API}/interactions/{iid}/accept", headers=auth(sup))
    assert r.status_code == 200
    ps = r.json()["party_id"]
    r = await client.post(
        f"{API}/interactions/{iid}/messages", json={"msg": "supervisor here"}, headers=auth(sup)
    )
    assert r.status_code == 200
    r = await client.post(
        f"{API}/interactions/{iid}/conference", json={"agent": "supervisor1"}, headers=auth(t1)
    )
    assert r.status_code == 409  # already in the chat
    r = await client.post(f"{API}/interactions/{iid}/leave", headers=auth(sup))
    assert r.status_code == 200
    log = await customer_log(rt, chat_id)
    assert [e["event"] for e in log if e["party_id"] == ps] == [
        "chat_session_party_joined",
        "chat_session_message",
        "chat_session_party_left",
    ]
    assert (await client.get(API + "/state", headers=auth(sup))).json()["state"] == "not_ready"


async def test_client_history(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    await configure(rt, tenant, acw_seconds=0)
    t1, iid, chat_id, _p1, _c1 = await connected_chat(rt, client, tenant, client_id="c-hist")
    await client.post(
        f"{API}/interactions/{iid}/messages", json={"msg": "first visit"}, headers=auth(t1)
    )
    await client.post(f"{API}/interactions/{iid}/end", json={"complete": True}, headers=auth(t1))
    t1, iid2, chat2, _, _ = await connected_chat(rt, client, tenant, client_id="c-hist", token=t1)
    assert chat2 != chat_id
    body = (await client.get(f"{API}/interactions/{iid2}/client-history", headers=auth(t1))).json()
    assert [c["chat_id"] for c in body["chats"]] == [chat_id]
    assert any(e.get("msg") == "first visit" for e in body["chats"][0]["events"])


async def test_python_api_for_other_domains(
    tenant: TenantInfo, rt: Runtime, client: httpx.AsyncClient
) -> None:
    """claim_agent / release_agent / notify_agent / set_state, as the dialer uses them."""
    t1 = await agent_login(client, tenant, "agent1", ready=True)
    t3 = await agent_login(client, tenant, "agent3", ready=True)
    cursor = await cursor_of(client, t1)
    async with rt.db.read() as s:
        sessions = {
            a.user_id: a
            for a in await agent_service.list_sessions(session=s, tenant_id=tenant.tenant_id)
        }
    got = await agent_actions.claim_agent(
        rt, tenant_id=tenant.tenant_id, media="outbound", required_skills={"English": 90}
    )
    assert got is not None
    # agent1 (English 100) is the only one with English >= 90 ... and has one voice slot
    again = await agent_actions.claim_agent(
        rt, tenant_id=tenant.tenant_id, media="voice", required_skills={"English": 90}
    )
    assert again is None
    other = await agent_actions.claim_agent(
        rt, tenant_id=tenant.tenant_id, media="voice", required_skills={}, exclude={got}
    )
    assert other is not None and other != got and other in sessions
    r = await client.get(API + "/state", headers=auth(t1))
    assert r.json()["state"] == "busy"
    seq = await agent_actions.notify_agent(
        rt,
        tenant_id=tenant.tenant_id,
        user_id=got,
        event={"type": "preview_record", "record": {"id": 1}},
    )
    assert seq > 0
    frame, cursor, _ = await next_frame(client, t1, cursor, "preview_record")
    assert frame["record"] == {"id": 1} and frame["seq"] == seq
    await agent_actions.release_agent(rt, tenant_id=tenant.tenant_id, user_id=got, media="outbound")
    await agent_actions.release_agent(rt, tenant_id=tenant.tenant_id, user_id=other, media="voice")
    await agent_actions.set_state(
        rt, tenant_id=tenant.tenant_id, user_id=got, state="not_ready", reason="Break"
    )
    assert (await client.get(API + "/state", headers=auth(t1))).json() == {
        **(await client.get(API + "/state", headers=auth(t1))).json(),
        "state": "not_ready",
        "reason": "Break",
    }
    assert (await client.get(API + "/state", headers=auth(t3))).json()["state"] == "ready"
    await asyncio.sleep(0)


async def test_agent_sends_and_downloads_files(
    client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime
) -> None:
    token, iid, chat_id, party, _cursor = await connected_chat(
        rt, client, tenant, client_id="c-file"
    )
    h = auth(token)
    r = await client.post(
        f"{API}/interactions/{iid}/files",
        files={"file": ("invoice.pdf", b"%PDF-1.4 test", "application/pdf")},
        headers=h,
    )
    assert r.status_code == 200, r.text
    log = await customer_log(rt, chat_id)
    sent = next(e for e in log if e["event"] == "chat_session_file")
    assert sent["party_id"] == party
    assert (sent["file_name"], sent["file_type"]) == ("invoice.pdf", "attachment")
    r = await client.get(f"{API}/interactions/{iid}/files/{sent['file_id']}", headers=h)
    assert r.status_code == 200 and r.content == b"%PDF-1.4 test"
    r = await client.get(f"{API}/interactions/{iid}/files/nope", headers=h)
    assert r.status_code == 404
    r = await client.post(f"{API}/interactions/{iid}/files", json={"file_id": "nope"}, headers=h)
    assert r.status_code == 404


async def test_service_that_requires_a_disposition(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    """A service with dispositionRequired: after-call work ends only with a disposition
    (400 naming the field, nothing changed); ending with complete=true likewise."""
    r = await client.patch(
        "/adminapi/v1/services/Chat Service",
        json={"dispositionRequired": True},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["dispositionRequired"] is True
    token, iid, chat_id, _party, _cursor = await connected_chat(rt, client, tenant)
    h = auth(token)
    # ending straight back to work without a disposition: refused, the chat goes on
    r = await client.post(f"{API}/interactions/{iid}/end", json={"complete": True}, headers=h)
    assert r.status_code == 400, r.text
    assert "disposition is required" in r.json()["message"]
    assert await chat_state(rt, chat_id) == "connected"
    # ending into after-call work is fine; completing it needs the disposition
    r = await client.post(f"{API}/interactions/{iid}/end", headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/interactions/{iid}/complete", json={"notes": "n"}, headers=h)
    assert r.status_code == 400 and "disposition is required" in r.json()["message"]
    r = await client.post(
        f"{API}/interactions/{iid}/complete", json={"disposition": "Resolved"}, headers=h
    )
    assert r.status_code == 200, r.text
    # a service without the flag completes as before
    r = await client.patch(
        "/adminapi/v1/services/Chat Service",
        json={"dispositionRequired": False},
        headers=admin_headers,
    )
    assert r.json()["dispositionRequired"] is False
