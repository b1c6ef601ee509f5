"""Calls in chats (issue 14): seed 003 signaling both ways through the Messaging API and
the agent API, the call's states, its end by either side, by a party leaving and by the
chat ending, its record as an interaction step, and the ICE servers (TURN REST API)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from switchboard.calls.models import Call
from switchboard.chats.models import ChatEvent
from switchboard.core.runtime import Runtime
from switchboard.interactions.actions import claim_chat
from switchboard.interactions.models import InteractionStep
from switchboard.tenants.models import Tenant
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    AGENT_API,
    Customer,
    Seat,
    agent_login,
    error_of,
    user_id,
)

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"


def signal(data: dict[str, Any], to: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": "chat_session_signaling", "data": data}
    if to:
        event["destination_party_id"] = to
    return event


class Channel:
    """The agent's realtime channel as a long poll, from the moment it is made; frames
    not asked for yet are kept for later questions."""

    def __init__(self, http: httpx.AsyncClient, token: str, cursor: str) -> None:
        self.http, self.token, self.cursor = http, token, cursor
        self.pending: list[dict[str, Any]] = []

    @classmethod
    async def of(cls, seat: Seat) -> Channel:
        r = await seat.http.get(f"{AGENT_API}/me", headers=seat.headers)
        assert r.status_code == 200, r.text
        return cls(seat.http, seat.token, r.json()["cursor"])

    @staticmethod
    def _is(frame: dict[str, Any], wanted: str, chat_signal: str | None) -> bool:
        if chat_signal is None:
            return frame["type"] == wanted
        e = frame.get("event") or {}
        data = e.get("data") if isinstance(e, dict) else None
        return (
            e.get("event") == "chat_session_signaling"
            and isinstance(data, dict)
            and data.get("type") == chat_signal
        )

    async def until(self, wanted: str, *, chat_signal: str | None = None) -> dict[str, Any]:
        """The first frame of type ``wanted`` (or the customer's signaling message of
        type ``chat_signal``), waiting on the long poll for it (bounded)."""
        for _ in range(10):
            for i, frame in enumerate(self.pending):
                if self._is(frame, wanted, chat_signal):
                    return self.pending.pop(i)
            r = await self.http.get(
                f"{AGENT_API}/events",
                params={"cursor": self.cursor, "timeout": 5},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            assert r.status_code == 200, r.text
            body = r.json()
            self.cursor = body["cursor"]
            self.pending.extend(body["events"])
        raise AssertionError(f"no {wanted or chat_signal} frame")


async def customer_signals(c: Customer) -> list[dict[str, Any]]:
    return [e for e in await c.poll() if e["event"] == "chat_session_signaling"]


async def calls_of(rt: Runtime, chat_id: str) -> list[Call]:
    async with rt.db.read() as s:
        return list(
            (
                await s.execute(
                    select(Call).where(Call.chat_id == chat_id).order_by(Call.requested_at)
                )
            )
            .scalars()
            .all()
        )


async def call_steps(rt: Runtime, interaction_id: str) -> list[InteractionStep]:
    async with rt.db.read() as s:
        return list(
            (
                await s.execute(
                    select(InteractionStep).where(
                        InteractionStep.interaction_id == interaction_id,
                        InteractionStep.kind == "call",
                    )
                )
            )
            .scalars()
            .all()
        )


async def take_chat(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, chat_id: str, login: str = "agent1"
) -> tuple[Seat, Channel]:
    """The agent logs in and takes the chat: offered by a routing pass or by the claim
    made here, whichever comes first (the offer frame says which interaction). The
    channel's cursor is taken before the agent goes ready, so no offer precedes it."""
    token = await agent_login(client, tenant, login, state="not_ready")
    headers = {"Authorization": f"Bearer {token}"}
    r = await client.get(f"{AGENT_API}/me", headers=headers)
    channel = Channel(client, token, r.json()["cursor"])
    r = await client.put(f"{AGENT_API}/state", json={"state": "ready"}, headers=headers)
    assert r.status_code == 200, r.text
    await claim_chat(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, user_id=await user_id(rt, tenant, login)
    )
    offer = await channel.until("offer")
    assert offer["chat_id"] == chat_id
    r = await client.post(
        f"{AGENT_API}/interactions/{offer['interaction_id']}/accept", headers=headers
    )
    assert r.status_code == 200, r.text
    return Seat(client, token, offer["interaction_id"], r.json()["party_id"]), channel


async def started(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, login: str = "agent1"
) -> tuple[Customer, Seat, Channel]:
    c = Customer(client, tenant)
    await c.start()
    seat, channel = await take_chat(client, rt, tenant, c.chat_id, login)
    await c.poll()  # what the customer was told so far
    return c, seat, channel


async def test_agent_sends_every_signaling_type(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat, _channel = await started(client, rt, tenant)
    sent = [
        {"type": "REQUEST_CALL", "offerVideo": "true"},
        {"type": "OFFER_CALL", "offerVideo": "true", "sdp": SDP},
        {"type": "ICE_CANDIDATE", "candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0},
        {"type": "ANSWER_CALL", "sdp": SDP},
        {"type": "END_CALL"},
        {"type": "CALL_REJECTED", "reason_code": "busy", "reason": "Busy"},
    ]
    for data in sent:
        r = await seat.post("signaling", {"data": data})
        assert r.status_code == 200, r.text
        assert isinstance(r.json()["seq"], int)
    got = await customer_signals(c)
    assert [e["data"] for e in got] == sent
    # from the agent's party, with the client fields the SDKs parse
    assert {e["party_id"] for e in got} == {seat.party_id}
    assert all(isinstance(e["timestamp"], str) for e in got)
    # relayed, never history
    history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
    assert "chat_session_signaling" not in [e["event"] for e in history]
    # the agent's REQUEST_CALL made a call, answered (ANSWER_CALL), ended by its END_CALL
    [call] = await calls_of(rt, c.chat_id)
    assert (call.requested_by, call.state, call.outcome, call.ended_by) == (
        "agent",
        "ended",
        "completed",
        "agent",
    )
    assert call.video is True


async def test_request_answer_and_customer_hangs_up(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat, channel = await started(client, rt, tenant)
    # the customer asks for a call: it rings the chat's agent
    r = await c.send(signal({"type": "REQUEST_CALL", "offerVideo": "false"}, seat.party_id))
    assert r.status_code == 200, r.text
    ring = await channel.until("call_ringing")
    assert ring["interaction_id"] == seat.interaction_id
    assert ring["chat_id"] == c.chat_id and ring["video"] is False
    assert ring["party_id"] == seat.party_id
    call_id = ring["call_id"]
    # the agent sees the customer's own message too (destination: its party)
    request = await channel.until("", chat_signal="REQUEST_CALL")
    assert request["event"]["destination_party_id"] == seat.party_id
    assert request["event"]["party_id"] == c.chat_id

    # offer -> answer -> candidates both ways
    r = await seat.post(
        "signaling", {"data": {"type": "OFFER_CALL", "offerVideo": "false", "sdp": SDP}}
    )
    assert r.status_code == 200, r.text
    [offer] = await customer_signals(c)
    assert offer["data"] == {"type": "OFFER_CALL", "offerVideo": "false", "sdp": SDP}
    assert offer["party_id"] == seat.party_id
    r = await c.send(
        signal({"type": "ANSWER_CALL", "sdp": SDP}, seat.party_id),
        signal(
            {"type": "ICE_CANDIDATE", "candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": "0"},
            seat.party_id,
        ),
    )
    assert r.status_code == 200, r.text
    connected = await channel.until("call_connected")
    assert connected["call_id"] == call_id
    answer = await channel.until("", chat_signal="ANSWER_CALL")
    assert answer["event"]["data"]["sdp"] == SDP
    cand = await channel.until("", chat_signal="ICE_CANDIDATE")
    assert cand["event"]["data"]["candidate"] == CANDIDATE
    r = await seat.post(
        "signaling",
        {
            "data": {
                "type": "ICE_CANDIDATE",
                "candidate": CANDIDATE,
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        },
    )
    assert r.status_code == 200
    assert [e["data"]["type"] for e in await customer_signals(c)] == ["ICE_CANDIDATE"]

    # the customer hangs up: the agent is told, the call is recorded as a step
    r = await c.send(signal({"type": "END_CALL"}, seat.party_id))
    assert r.status_code == 200
    ended = await channel.until("call_ended")
    assert (ended["call_id"], ended["outcome"], ended["reason"]) == (
        call_id,
        "completed",
        "end_call",
    )
    r = await client.get(
        f"{AGENT_API}/interactions/{seat.interaction_id}/calls", headers=seat.headers
    )
    assert r.status_code == 200, r.text
    [shown] = r.json()["calls"]
    assert shown["id"] == call_id
    assert (shown["state"], shown["outcome"], shown["ended_by"]) == (
        "ended",
        "completed",
        "customer",
    )
    assert shown["answered_at"] and shown["ended_at"] and shown["duration"] >= 0
    [step] = await call_steps(rt, seat.interaction_id)
    assert step.id == shown["step_id"]
    assert (step.media, step.phase, step.outcome) == ("audio", "recorded", "completed")
    assert step.answered_at is not None and step.ended_at is not None
    # the agent's part in the interaction is still the chat, not the call's record
    r = await client.get(f"{AGENT_API}/interactions/{seat.interaction_id}", headers=seat.headers)
    assert r.json()["mine"]["kind"] == "route" and r.json()["mine"]["phase"] == "connected"
    # nothing of it is in the customer's history
    history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
    assert "chat_session_signaling" not in [e["event"] for e in history]


async def test_agent_hangs_up_and_signaling_as_json_string(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat, channel = await started(client, rt, tenant)
    # some clients send the signaling message as a JSON string
    r = await c.send(signal('{"type": "REQUEST_CALL", "offerVideo": "true"}'))  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    ring = await channel.until("call_ringing")
    assert ring["video"] is True
    # a second request while one is open changes nothing
    await c.send(signal({"type": "REQUEST_CALL"}))
    await seat.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": SDP, "offerVideo": "true"}})
    r = await c.send(signal({"type": "ANSWER_CALL", "sdp": SDP}))
    # the POST's answer carries what was pending for the customer: the offer
    told = [e for e in r.json()["events"] if e["event"] == "chat_session_signaling"]
    await channel.until("call_connected")
    r = await seat.post("signaling", {"data": {"type": "END_CALL"}})
    assert r.status_code == 200
    ended = await channel.until("call_ended")
    assert ended["outcome"] == "completed"
    told += await customer_signals(c)
    assert [e["data"]["type"] for e in told] == ["OFFER_CALL", "END_CALL"]
    [call] = await calls_of(rt, c.chat_id)
    assert (call.ended_by, call.video) == ("agent", True)
    [step] = await call_steps(rt, seat.interaction_id)
    assert step.media == "video"


async def test_agent_rejects_and_customer_rejects(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat, channel = await started(client, rt, tenant)
    await c.send(signal({"type": "REQUEST_CALL", "offerVideo": "false"}))
    await channel.until("call_ringing")
    r = await seat.post(
        "signaling", {"data": {"type": "CALL_REJECTED", "reason_code": "1", "reason": "Busy"}}
    )
    assert r.status_code == 200, r.text
    [rejected] = await customer_signals(c)
    assert rejected["data"] == {"type": "CALL_REJECTED", "reason_code": "1", "reason": "Busy"}
    ended = await channel.until("call_ended")
    assert ended["outcome"] == "declined"
    # the agent offers a call, the customer declines it
    await seat.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": SDP}})
    r = await c.send(signal({"type": "CALL_REJECTED", "reason": "no"}, seat.party_id))
    assert r.status_code == 200
    ended = await channel.until("call_ended")
    assert ended["outcome"] == "declined"
    first, second = await calls_of(rt, c.chat_id)
    assert (first.requested_by, first.ended_by, first.outcome) == ("customer", "agent", "declined")
    assert (second.requested_by, second.ended_by, second.outcome) == (
        "agent",
        "customer",
        "declined",
    )
    assert [s.outcome for s in await call_steps(rt, seat.interaction_id)] == [
        "declined",
        "declined",
    ]


async def test_request_waits_for_an_agent(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    r = await c.send(signal({"type": "REQUEST_CALL", "offerVideo": "false"}))
    assert r.status_code == 200, r.text
    [call] = await calls_of(rt, c.chat_id)
    assert (call.state, call.user_id) == ("waiting", None)
    # the agent who takes the chat is rung at once
    seat, channel = await take_chat(client, rt, tenant, c.chat_id)
    ring = await channel.until("call_ringing")
    assert ring["call_id"] == call.id and ring["party_id"] == seat.party_id
    # after the agent's own interaction_connected
    joined = await channel.until("interaction_connected")
    assert joined["seq"] < ring["seq"]
    [call] = await calls_of(rt, c.chat_id)
    assert call.state == "ringing" and call.rung_at is not None


async def test_chat_ending_ends_the_call(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    # the agent ends the chat mid-call
    c, seat, channel = await started(client, rt, tenant)
    await c.send(signal({"type": "REQUEST_CALL"}))
    await channel.until("call_ringing")
    await seat.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": SDP}})
    await c.send(signal({"type": "ANSWER_CALL", "sdp": SDP}))
    await channel.until("call_connected")
    await c.poll()
    await seat.end()
    events = await c.poll()
    kinds = [(e["event"], (e.get("data") or {}).get("type")) for e in events]
    assert ("chat_session_signaling", "END_CALL") in kinds
    assert kinds.index(("chat_session_signaling", "END_CALL")) < kinds.index(
        ("chat_session_ended", None)
    )
    end_call = await channel.until("", chat_signal="END_CALL")
    assert end_call["chat_id"] == c.chat_id
    [call] = await calls_of(rt, c.chat_id)
    assert (call.state, call.outcome, call.ended_by, call.end_reason) == (
        "ended",
        "completed",
        "system",
        "chat_ended",
    )
    assert len(await call_steps(rt, seat.interaction_id)) == 1

    # the customer ends the chat while it rings (agent1 must not be routed that chat)
    r = await client.put(f"{AGENT_API}/state", json={"state": "not_ready"}, headers=seat.headers)
    assert r.status_code == 200, r.text
    c2, seat2, channel2 = await started(client, rt, tenant, "agent2")
    await c2.send(signal({"type": "REQUEST_CALL"}))
    await channel2.until("call_ringing")
    r = await c2.send({"event": "chat_session_end"})
    assert r.status_code == 200, r.text
    await channel2.until("", chat_signal="END_CALL")
    [call] = await calls_of(rt, c2.chat_id)
    assert (call.outcome, call.end_reason) == ("cancelled", "chat_ended")
    # signaling in an ended chat: the customer's 404/5005, the agent's 409
    r = await c2.send(signal({"type": "END_CALL"}))
    assert error_of(r) == (404, "5005")
    r = await seat2.post("signaling", {"data": {"type": "END_CALL"}})
    assert r.status_code == 409, r.text


async def test_party_leaving_ends_the_call(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c, seat, channel = await started(client, rt, tenant)
    await c.send(signal({"type": "REQUEST_CALL"}))
    await channel.until("call_ringing")
    await seat.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": SDP}})
    await c.send(signal({"type": "ANSWER_CALL", "sdp": SDP}))
    await c.poll()
    # the agent hands the chat over to the service's queue: its party leaves
    r = await seat.post("transfer", {"service": "Chat Service"})
    assert r.status_code == 200, r.text
    events = await c.poll()
    kinds = [(e["event"], (e.get("data") or {}).get("type")) for e in events]
    assert kinds.index(("chat_session_signaling", "END_CALL")) < kinds.index(
        ("chat_session_party_left", None)
    )
    [call] = await calls_of(rt, c.chat_id)
    assert (call.outcome, call.end_reason) == ("completed", "party_left")


async def test_signaling_errors(client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo) -> None:
    c, seat, channel = await started(client, rt, tenant)
    for body in (
        {"data": {"type": "NOPE"}},
        {"data": {}},
        {},
        {"data": {"type": "ICE_CANDIDATE", "sdpMLineIndex": -1}},
    ):
        r = await seat.post("signaling", body)
        assert r.status_code == 400, (body, r.text)
    r = await client.post(
        f"{AGENT_API}/interactions/nope/signaling",
        json={"data": {"type": "END_CALL"}},
        headers=seat.headers,
    )
    assert r.status_code == 404
    r = await client.post(
        f"{AGENT_API}/interactions/{seat.interaction_id}/signaling",
        json={"data": {"type": "END_CALL"}},
    )
    assert r.status_code == 401
    r = await client.get(f"{AGENT_API}/interactions/nope/calls", headers=seat.headers)
    assert r.status_code == 404
    # the customer's malformed signaling: 400/5003-style errors of the Messaging API
    r = await c.send({"event": "chat_session_signaling"})
    assert r.status_code == 400
    # signaling of no call is relayed and changes nothing
    r = await c.send(signal({"type": "ANSWER_CALL", "sdp": SDP}))
    assert r.status_code == 200
    assert await calls_of(rt, c.chat_id) == []
    # another agent (conferenced) cannot take over a call that rings someone else
    await c.send(signal({"type": "REQUEST_CALL"}))
    await channel.until("call_ringing")
    t2 = await agent_login(client, tenant, "supervisor1", state="not_ready")
    r = await seat.post("conference", {"agent": "supervisor1"})
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{AGENT_API}/interactions/{seat.interaction_id}/accept",
        headers={"Authorization": f"Bearer {t2}"},
    )
    assert r.status_code == 200, r.text
    sup = Seat(client, t2, seat.interaction_id, r.json()["party_id"])
    r = await sup.post("signaling", {"data": {"type": "OFFER_CALL", "sdp": SDP}})
    assert r.status_code == 409, r.text
    assert r.json().get("code") == "call_busy" or "another agent" in r.text


# ---- ICE servers ----------------------------------------------------------------------


async def test_ice_servers_with_turn_credentials(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = Customer(client, tenant)
    r = await c.get("/iceservers")
    assert r.status_code == 200
    assert r.json() == {"servers": [{"url": "stun:stun.l.google.com:19302"}]}

    monkeypatch.setattr(
        rt.settings,
        "turn_urls",
        ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"],
    )
    monkeypatch.setattr(rt.settings, "turn_secret", "s3cret")
    monkeypatch.setattr(rt.settings, "turn_ttl_seconds", 600)
    before = int(time.time())
    servers = (await c.get("/iceservers")).json()["servers"]
    after = int(time.time())
    assert servers[0] == {"url": "stun:stun.l.google.com:19302"}
    turn = servers[1:]
    assert [s["url"] for s in turn] == [
        "turn:turn.example.com:3478?transport=udp",
        "turns:turn.example.com:5349",
    ]
    for s in turn:
        expiry, ident = s["username"].split(":", 1)
        assert before + 600 <= int(expiry) <= after + 600
        assert ident == tenant.tenant_id
        # what coturn (use-auth-secret) computes to check it
        mac = hmac.new(b"s3cret", s["username"].encode(), hashlib.sha1).digest()
        assert s["credential"] == base64.b64encode(mac).decode()

    # a tenant's own servers (tenant settings ice_servers / turn_urls)
    async with rt.db.write() as s:
        tenant_row = await s.get(Tenant, tenant.tenant_id)
        assert tenant_row is not None
        settings = dict(tenant_row.settings or {})
        settings["ice_servers"] = [
            {"urls": "stun:stun.tenant.example:3478"},
            {"url": "turn:static.example", "username": "u", "credential": "p"},
        ]
        settings["turn_urls"] = ["turn:turn.tenant.example"]
        await s.execute(
            update(Tenant).where(Tenant.id == tenant.tenant_id).values(settings=settings)
        )
    servers = (await c.get("/iceservers")).json()["servers"]
    assert servers[0] == {"url": "stun:stun.tenant.example:3478"}
    assert servers[1] == {"url": "turn:static.example", "username": "u", "credential": "p"}
    assert servers[2]["url"] == "turn:turn.tenant.example" and servers[2]["username"].endswith(
        ":" + tenant.tenant_id
    )
    # v1 serves it too; a bad credential is refused
    r = await client.get(
        "/clientweb/api/v1/iceservers", params={"tenantUrl": tenant.domain}, headers=c.headers
    )
    assert r.status_code == 200 and len(r.json()["servers"]) == 3
    r = await client.get("/clientweb/api/v2/iceservers", params={"tenantUrl": tenant.domain})
    assert error_of(r) == (403, "2000")


async def test_signaling_rows_are_not_history(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    """The relayed rows carry the signaling type the purge worker removes."""
    c, seat, _channel = await started(client, rt, tenant)
    await c.send(signal({"type": "REQUEST_CALL"}))
    await seat.post("signaling", {"data": {"type": "END_CALL"}})
    async with rt.db.read() as s:
        kinds = (
            (
                await s.execute(
                    select(ChatEvent.event_type).where(
                        ChatEvent.chat_id == c.chat_id,
                        ChatEvent.event_type == "chat_session_signaling",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(kinds) == 2


# ---- one operation, one transaction ------------------------------------------------------


async def test_call_changes_are_atomic_with_their_signaling(
    app: Any, rt: Runtime, tenant: TenantInfo
) -> None:
    """A failed COMMIT leaves neither the relayed event nor the call nor the agent's
    ring, and wakes nobody; the same request then succeeds."""
    from switchboard.agents.models import AgentEvent
    from switchboard.chats.log import chat_topic
    from tests.test_engine_transactions import Injected, failing_commits

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        c, seat, channel = await started(raw, rt, tenant)
        uid = await user_id(rt, tenant)

        async def rows() -> tuple[int, int, int]:
            async with rt.db.read() as s:
                calls = len(
                    (await s.execute(select(Call.id).where(Call.chat_id == c.chat_id))).all()
                )
                events = len(
                    (
                        await s.execute(select(ChatEvent.seq).where(ChatEvent.chat_id == c.chat_id))
                    ).all()
                )
                queued = len(
                    (await s.execute(select(AgentEvent.seq).where(AgentEvent.user_id == uid))).all()
                )
            return calls, events, queued

        async def refused(op: Any) -> None:
            before = await rows()
            async with rt.bus.listen([chat_topic(c.chat_id), f"agent:{uid}"]) as waiter:
                with failing_commits(rt):
                    try:
                        r = await op()
                        assert r.status_code == 500, r.text
                    except Injected:
                        pass
                await rt.db.settle()
                assert not waiter.drain_pairs()
            assert await rows() == before

        request = signal({"type": "REQUEST_CALL"}, seat.party_id)
        await refused(lambda: c.send(request))
        assert (await c.send(request)).status_code == 200
        await channel.until("call_ringing")
        offer = {"data": {"type": "OFFER_CALL", "sdp": SDP}}
        await refused(lambda: seat.post("signaling", offer))
        assert (await seat.post("signaling", offer)).status_code == 200
        [call] = await calls_of(rt, c.chat_id)
        assert call.state == "connecting"
        await refused(lambda: seat.post("signaling", {"data": {"type": "END_CALL"}}))
        [call] = await calls_of(rt, c.chat_id)
        assert call.state == "connecting" and call.step_id is None
