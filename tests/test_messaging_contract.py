"""The chat engine's contract with routing and the agent side (``switchboard.chats``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from switchboard.chats import actions, service
from switchboard.chats.log import chat_topic
from switchboard.chats.models import ChatParty, ChatSession
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.users.models import User
from tests.conftest import TenantInfo


async def new_chat(rt: Runtime, tenant: TenantInfo, client_key: str = "c1") -> str:
    async with rt.db.read() as s:
        entry = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant.tenant_id, ScenarioEntry.app_id == "test"
                )
            )
        ).scalar_one()
    made = await actions.create_chat(
        rt,
        tenant_id=tenant.tenant_id,
        entry=entry,
        client_key=client_key,
        user_agent="MobileClient",
        phone_number=None,
        from_address=None,
        parameters={"FIRST_NAME": "Ann"},
        initial_message=None,
        poll_abandon_seconds=600,
    )
    return made.chat.id


async def user_id(rt: Runtime, tenant: TenantInfo, login: str) -> str:
    async with rt.db.read() as s:
        return (
            await s.execute(
                select(User.id).where(User.tenant_id == tenant.tenant_id, User.login_id == login)
            )
        ).scalar_one()


async def events(rt: Runtime, chat_id: str, after: int = 0) -> list[dict[str, object]]:
    async with rt.db.read() as s:
        rows = await service.events_after(session=s, chat_id=chat_id, after_seq=after)
        return [{"seq": r.seq, "direction": r.direction, **r.payload} for r in rows]


async def chat_row(rt: Runtime, tenant: TenantInfo, chat_id: str) -> ChatSession:
    async with rt.db.read() as s:
        chat = await service.get_chat(session=s, tenant_id=tenant.tenant_id, chat_id=chat_id)
        assert chat is not None
        return chat


async def test_full_lifecycle(rt: Runtime, tenant: TenantInfo) -> None:
    chat_id = await new_chat(rt, tenant)
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "queued" and chat.queued_at is not None and chat.service_id
    assert chat.requested_skills == {} and chat.priority == 0
    agent = await user_id(rt, tenant, "agent1")

    async with rt.bus.listen([chat_topic(chat_id), actions.routing_topic(tenant.tenant_id)]) as w:
        await actions.mark_connecting(rt, tenant_id=tenant.tenant_id, chat_id=chat_id)
        assert await w.wait(1)
    await actions.mark_connecting(rt, tenant_id=tenant.tenant_id, chat_id=chat_id)  # idempotent
    assert (await chat_row(rt, tenant, chat_id)).state == "connecting"

    party = await actions.agent_joined(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, user_id=agent
    )
    again = await actions.agent_joined(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, user_id=agent
    )
    assert again == party
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "connected" and chat.agent_user_id == agent and chat.connected_at

    seq = await actions.post_party_event(
        rt,
        tenant_id=tenant.tenant_id,
        chat_id=chat_id,
        party_id=party,
        event={"event": "chat_session_message", "msg": "Hello", "extra": "dropped"},
    )
    form_seq = await actions.post_party_event(
        rt,
        tenant_id=tenant.tenant_id,
        chat_id=chat_id,
        party_id=party,
        event={"event": "chat_session_form_show", "form_name": "MobileChatCustomerData"},
    )
    await actions.set_case(rt, tenant_id=tenant.tenant_id, chat_id=chat_id, case_id="CASE-1")
    await actions.party_left(rt, tenant_id=tenant.tenant_id, chat_id=chat_id, party_id=party)
    await actions.party_left(rt, tenant_id=tenant.tenant_id, chat_id=chat_id, party_id=party)
    await actions.end_chat(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, by_party_id=party, reason="agent_ended"
    )
    await actions.end_chat(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, by_party_id=party, reason="again"
    )
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "completed" and chat.end_reason == "agent_ended" and chat.ended_at

    log = await events(rt, chat_id)
    kinds = [(e["event"], e.get("state")) for e in log]
    assert kinds == [
        ("chat_session_status", "queued"),
        ("chat_session_status", "connecting"),
        ("chat_session_party_joined", None),
        ("chat_session_status", "connected"),
        ("chat_session_message", None),
        ("chat_session_form_show", None),
        ("chat_session_case_set", None),
        ("chat_session_party_left", None),
        ("chat_session_ended", None),
    ]
    assert [e["seq"] for e in log] == list(range(1, 10))
    joined = log[2]
    assert joined["party_id"] == party and joined["type"] == "internal"
    assert joined["first_name"] == "Alice" and joined["display_name"] == "Alice Agent"
    msg = next(e for e in log if e["seq"] == seq)
    assert msg["msg_id"] == f"{chat_id}:{seq}" and "extra" not in msg
    form = next(e for e in log if e["seq"] == form_seq)
    assert form["form_request_id"] == form_seq and isinstance(form["form_request_id"], int)
    assert all(isinstance(e["ewt"], str) for e in log if e["event"] == "chat_session_status")
    assert len(await events(rt, chat_id, after=7)) == 2

    with pytest.raises(Conflict):
        await actions.post_party_event(
            rt,
            tenant_id=tenant.tenant_id,
            chat_id=chat_id,
            party_id=party,
            event={"event": "chat_session_typing"},
        )
    with pytest.raises(Conflict):
        await actions.requeue(rt, tenant_id=tenant.tenant_id, chat_id=chat_id)


async def test_requeue_and_errors(rt: Runtime, tenant: TenantInfo) -> None:
    chat_id = await new_chat(rt, tenant, "c2")
    first = await chat_row(rt, tenant, chat_id)
    agent = await user_id(rt, tenant, "agent2")
    await actions.mark_connecting(rt, tenant_id=tenant.tenant_id, chat_id=chat_id)
    # a rejected offer keeps the customer's place in the queue
    async with rt.bus.listen([actions.routing_topic(tenant.tenant_id)]) as w:
        await actions.requeue(rt, tenant_id=tenant.tenant_id, chat_id=chat_id, priority=5)
        assert await w.wait(1)
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "queued" and chat.queued_at == first.queued_at and chat.priority == 5

    party = await actions.agent_joined(
        rt, tenant_id=tenant.tenant_id, chat_id=chat_id, user_id=agent
    )
    await actions.requeue(
        rt,
        tenant_id=tenant.tenant_id,
        chat_id=chat_id,
        requested_skills={"Sales": 50},
    )
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "queued" and chat.agent_user_id is None
    assert chat.requested_skills == {"Sales": 50} and chat.queued_at != first.queued_at
    assert (await events(rt, chat_id))[-1]["event"] == "chat_session_status"

    tid = tenant.tenant_id
    with pytest.raises(Invalid):
        await actions.post_party_event(
            rt, tenant_id=tid, chat_id=chat_id, party_id=party, event={"event": "bogus"}
        )
    with pytest.raises(Invalid):
        await actions.post_party_event(
            rt,
            tenant_id=tid,
            chat_id=chat_id,
            party_id=party,
            event={"event": "chat_session_ended"},
        )
    with pytest.raises(Invalid):
        await actions.post_party_event(
            rt,
            tenant_id=tid,
            chat_id=chat_id,
            party_id=party,
            event={"event": "chat_session_message"},
        )
    with pytest.raises(NotFound):
        await actions.post_party_event(
            rt,
            tenant_id=tid,
            chat_id=chat_id,
            party_id=party,
            event={"event": "chat_session_file", "file_id": "nope"},
        )
    with pytest.raises(NotFound):
        await actions.post_party_event(
            rt,
            tenant_id=tid,
            chat_id=chat_id,
            party_id=chat_id,
            event={"event": "chat_session_typing"},
        )
    with pytest.raises(NotFound):
        await actions.mark_connecting(rt, tenant_id=tid, chat_id="missing")
    with pytest.raises(NotFound):
        await actions.agent_joined(rt, tenant_id=tid, chat_id=chat_id, user_id="missing")
    with pytest.raises(Invalid):
        await actions.agent_joined(
            rt, tenant_id=tid, chat_id=chat_id, user_id=agent, party_type="boss"
        )
    with pytest.raises(Invalid):
        await actions.set_case(rt, tenant_id=tid, chat_id=chat_id, case_id=" ")
    await actions.party_left(rt, tenant_id=tid, chat_id=chat_id, party_id=party)
    with pytest.raises(Conflict):
        await actions.post_party_event(
            rt,
            tenant_id=tid,
            chat_id=chat_id,
            party_id=party,
            event={"event": "chat_session_typing"},
        )
    await actions.end_chat(rt, tenant_id=tid, chat_id=chat_id, by_party_id=None, reason="failed")
    chat = await chat_row(rt, tenant, chat_id)
    assert chat.state == "failed" and chat.active_client_key is None
    tail = await events(rt, chat_id)
    assert [e["event"] for e in tail[-2:]] == ["chat_session_status", "chat_session_ended"]
    assert tail[-2]["state"] == "failed"
    async with rt.db.read() as s:
        parties = (await s.execute(select(ChatParty).where(ChatParty.chat_id == chat_id))).scalars()
        assert all(p.left_at is not None for p in parties)


async def test_one_active_chat_per_client(rt: Runtime, tenant: TenantInfo) -> None:
    a = await new_chat(rt, tenant, "same")
    b = await new_chat(rt, tenant, "same")
    assert a == b
    await actions.end_chat(rt, tenant_id=tenant.tenant_id, chat_id=a, by_party_id=None, reason="x")
    c = await new_chat(rt, tenant, "same")
    assert c != a
