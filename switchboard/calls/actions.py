"""Every state change of a call in a chat.

The signaling messages (seed 003 ``chat_session_signaling``: ``REQUEST_CALL``,
``OFFER_CALL``, ``ANSWER_CALL``, ``ICE_CANDIDATE``, ``END_CALL``, ``CALL_REJECTED``) are
relayed through the chat log like any event, never kept in history (the log purges
them). What they mean for the call is kept here, in the same transaction as the relay:

* the customer's ``REQUEST_CALL`` rings the chat's agent (``call_ringing`` on the agent's
  channel) or, with no agent yet, waits with the chat until one accepts it
  (``agent_joined_in``, called by ``interactions.actions.accept``);
* an ``OFFER_CALL`` (the agent's, or the media server's) makes it ``connecting``, the
  customer's ``ANSWER_CALL`` ``connected``;
* ``END_CALL`` or ``CALL_REJECTED`` by either side, the agent's party leaving
  (``party_left_in``) and the chat ending (``chat_ending_in``) end it; the other side is
  told (``END_CALL`` in the chat log, ``call_ended`` on the agent's channel) and the call
  is written as a step of the interaction.

Operations open exactly one ``rt.db.write()`` and lock agent -> chat -> call; the
``*_in`` primitives run in their caller's transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents import actions as agents
from switchboard.agents.models import AgentSession
from switchboard.calls import media
from switchboard.calls import models as m
from switchboard.calls.models import Call
from switchboard.chats import events as ev
from switchboard.chats import log as chat_log
from switchboard.chats.models import ACTIVE_STATES, ChatParty, ChatSession
from switchboard.core.db import call_after_commit, utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.interactions.models import CONNECTED, Interaction, InteractionStep

log = logging.getLogger(__name__)
T = TypeVar("T")

# recordings made by the media server: Recording.source (source_id = the call's step)
RECORDING_SOURCE = "webrtc"

REQUEST_CALL = "REQUEST_CALL"
OFFER_CALL = "OFFER_CALL"
ANSWER_CALL = "ANSWER_CALL"
ICE_CANDIDATE = "ICE_CANDIDATE"
END_CALL = "END_CALL"
CALL_REJECTED = "CALL_REJECTED"
CALL_TYPES = (REQUEST_CALL, OFFER_CALL, ANSWER_CALL, ICE_CANDIDATE, END_CALL, CALL_REJECTED)


class _Changed(Exception):
    """Who takes part in the call changed between reading and locking."""


async def _retry(op: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(5):
        try:
            return await op()
        except (_Changed, IntegrityError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def signal_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The signaling message of a ``chat_session_signaling`` event (``data`` is an
    object, or the same as a JSON string), or None."""
    if event.get("event") != ev.SIGNALING:
        return None
    data = event.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def takes(events: list[dict[str, Any]]) -> bool:
    """Whether the customer's events go through ``customer_events`` here rather than the
    plain hot path: they carry signaling and none ends the conversation (an end ends
    the call through ``chat_ending_in``)."""
    kinds = {e.get("event") for e in events}
    return ev.SIGNALING in kinds and not kinds & {ev.END, ev.DISCONNECT}


def _scenario_party(chat_id: str) -> str:
    from switchboard.chats.actions import scenario_party_id

    return scenario_party_id(chat_id)


async def open_call_in(s: AsyncSession, chat_id: str, *, lock: bool = True) -> Call | None:
    stmt = (
        select(Call)
        .where(Call.chat_id == chat_id, Call.state.in_(m.OPEN_STATES))
        .order_by(Call.requested_at.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


def _payload(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.id,
        "interaction_id": call.interaction_id,
        "chat_id": call.chat_id,
        "video": call.video,
        "media_path": call.media_path,
        "state": call.state,
    }


def _tell_media(
    s: AsyncSession, rt: Runtime | None, call: Call, data: dict[str, Any], side: str = ""
) -> None:
    """After the commit, the media server (``calls.media``) gets the message of a call
    whose media path is the server."""
    rt = rt or media.runtime()
    if rt is None or call.media_path != m.SERVER:
        return
    snapshot = Call(**{c.key: getattr(call, c.key) for c in Call.__table__.columns})
    message = {**data, "from": side} if side else dict(data)
    call_after_commit(s, lambda: media.dispatch(rt, snapshot, message))


async def _interaction_id(s: AsyncSession, chat: ChatSession) -> str | None:
    found: str | None = (
        await s.execute(select(Interaction.id).where(Interaction.chat_id == chat.id))
    ).scalar_one_or_none()
    return found


async def ring_in(
    s: AsyncSession, call: Call, agent: AgentSession, party_id: str, now: datetime
) -> None:
    """The agent (locked) is told of the call (``call_ringing``)."""
    call.user_id = agent.user_id
    call.party_id = party_id
    call.state = m.RINGING
    call.rung_at = now
    agents.queue_event(s, agent, "call_ringing", {**_payload(call), "party_id": party_id})


async def end_in(
    s: AsyncSession,
    call: Call,
    *,
    by: str,
    reason: str,
    now: datetime,
    outcome: str | None = None,
    agent: AgentSession | None = None,
    rt: Runtime | None = None,
) -> None:
    """End the call (idempotent): its outcome, the interaction step recording it, the
    agent told when its row is locked here (``agent``), the media server told."""
    if call.state == m.ENDED:
        return
    answered = call.answered_at is not None
    call.outcome = outcome or (m.COMPLETED if answered else m.CANCELLED)
    call.state = m.ENDED
    call.ended_at = now
    call.ended_by = by
    call.end_reason = reason[:64]
    if call.user_id and call.interaction_id:
        step = InteractionStep(
            interaction_id=call.interaction_id,
            tenant_id=call.tenant_id,
            user_id=call.user_id,
            media="video" if call.video else "audio",
            kind=m.STEP_KIND,
            phase=m.STEP_PHASE,
            outcome=call.outcome,
            party_id=call.party_id,
            offered_at=call.rung_at or call.requested_at,
            answered_at=call.answered_at,
            ended_at=now,
            completed_at=now,
        )
        s.add(step)
        await s.flush()
        call.step_id = step.id
    if agent is not None and agent.user_id == call.user_id:
        agents.queue_event(
            s, agent, "call_ended", {**_payload(call), "outcome": call.outcome, "reason": reason}
        )
    _tell_media(s, rt, call, {"type": END_CALL})


async def _tell_customer_in(
    s: AsyncSession, chat: ChatSession, data: dict[str, Any], party_id: str, now: datetime
) -> None:
    """A signaling message from the server's side to the customer (relayed, not kept)."""
    await chat_log.append(
        s,
        chat,
        direction="server",
        event={"event": ev.SIGNALING, "data": data},
        party_id=party_id,
        now=now,
    )


# ---- hooks of the chat engine (inside its transactions) ----------------------------------


async def chat_ending_in(s: AsyncSession, chat: ChatSession, now: datetime) -> None:
    """The chat ends: its open call ends first (``END_CALL`` to both sides)."""
    call = await open_call_in(s, chat.id)
    if call is None:
        return
    await _tell_customer_in(
        s, chat, {"type": END_CALL}, call.party_id or _scenario_party(chat.id), now
    )
    await end_in(s, call, by="system", reason="chat_ended", now=now)


async def party_left_in(s: AsyncSession, chat: ChatSession, party_id: str, now: datetime) -> None:
    """A party left the chat: the call it takes part in ends."""
    call = await open_call_in(s, chat.id)
    if call is None or call.party_id != party_id:
        return
    await _tell_customer_in(s, chat, {"type": END_CALL}, party_id, now)
    await end_in(s, call, by="system", reason="party_left", now=now)


async def agent_joined_in(
    s: AsyncSession, agent: AgentSession, chat: ChatSession, party_id: str, now: datetime
) -> None:
    """An agent joined the chat: a call waiting for one rings it."""
    call = await open_call_in(s, chat.id)
    if call is not None and call.state == m.WAITING:
        await ring_in(s, call, agent, party_id, now)


# ---- the customer's signaling -------------------------------------------------------------


async def _party_user(s: AsyncSession, chat_id: str, party_id: Any) -> str | None:
    if not isinstance(party_id, str) or not party_id:
        return None
    party = await s.get(ChatParty, party_id)
    if party is None or party.chat_id != chat_id or party.left_at is not None:
        return None
    return party.user_id


async def _present_party(s: AsyncSession, chat_id: str, user_id: str) -> str | None:
    found: str | None = (
        await s.execute(
            select(ChatParty.id).where(
                ChatParty.chat_id == chat_id,
                ChatParty.user_id == user_id,
                ChatParty.left_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    return found


async def customer_events(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    events: list[dict[str, Any]],
) -> None:
    """The customer's events when they carry signaling (none ends the conversation): all
    appended to the log as usual, and the calls changed, in one transaction."""
    from switchboard.chats import actions as chats

    async def op() -> None:
        now = utcnow()
        async with rt.db.write() as s:
            # who takes part: the open call's agent, or the one the customer names, or the
            # chat's agent; read first, locked in the lock order (agent -> chat -> call)
            current = await open_call_in(s, chat_id, lock=False)
            wanted: str | None = current.user_id if current is not None else None
            if wanted is None:
                for e in events:
                    wanted = wanted or await _party_user(s, chat_id, e.get("destination_party_id"))
            if wanted is None:
                wanted = (
                    await s.execute(
                        select(ChatSession.agent_user_id).where(ChatSession.id == chat_id)
                    )
                ).scalar_one_or_none()
            agent = await agents.lock_agent(s, tenant_id, wanted) if wanted else None
            chat = await chat_log.lock_chat(s, chat_id, tenant_id)
            if chat is None or chat.client_key != client_key or chat.state not in ACTIVE_STATES:
                raise chat_log.not_found()
            call = await open_call_in(s, chat.id)
            if (call.user_id if call is not None else None) != (
                current.user_id if current is not None else None
            ):
                raise _Changed
            if await chats.client_events_in(s, chat, events, now) is not None:
                raise Invalid("ending events go through interactions.actions.customer_events")
            for e in events:
                data = signal_of(e)
                if data is not None:
                    await _customer_signal_in(rt, s, chat, agent, data, now)

    await _retry(op)


async def _customer_signal_in(
    rt: Runtime,
    s: AsyncSession,
    chat: ChatSession,
    agent: AgentSession | None,
    data: dict[str, Any],
    now: datetime,
) -> None:
    kind = data.get("type")
    call = await open_call_in(s, chat.id)
    if kind == REQUEST_CALL:
        if call is not None:
            return  # one call at a time: a repeated request changes nothing
        call = Call(
            tenant_id=chat.tenant_id,
            chat_id=chat.id,
            interaction_id=await _interaction_id(s, chat),
            state=m.WAITING,
            video=_truthy(data.get("offerVideo")),
            media_path=rt.settings.calls_media_path,
            requested_by="customer",
            requested_at=now,
        )
        s.add(call)
        await s.flush()
        if agent is not None and agent.login_at is not None:
            party_id = await _present_party(s, chat.id, agent.user_id)
            if party_id is not None:
                await ring_in(s, call, agent, party_id, now)
        return
    if call is None:
        return  # signaling for no call: relayed only
    mine = agent if agent is not None and agent.user_id == call.user_id else None
    if kind == ANSWER_CALL and call.state == m.CONNECTING:
        call.state = m.CONNECTED
        call.answered_at = now
        if mine is not None:
            agents.queue_event(s, mine, "call_connected", _payload(call))
    elif kind == END_CALL:
        await end_in(s, call, by="customer", reason="end_call", now=now, agent=mine, rt=rt)
        return
    elif kind == CALL_REJECTED:
        await end_in(
            s,
            call,
            by="customer",
            reason="rejected",
            now=now,
            outcome=m.DECLINED if call.answered_at is None else None,
            agent=mine,
            rt=rt,
        )
        return
    _tell_media(s, rt, call, data, "customer")


# ---- the agent's signaling ----------------------------------------------------------------


async def _my_connected_step(
    s: AsyncSession, tenant_id: str, user_id: str, interaction_id: str
) -> tuple[InteractionStep, Interaction]:
    inter = await s.get(Interaction, interaction_id)
    if inter is None or inter.tenant_id != tenant_id:
        raise NotFound("Interaction not found")
    steps = (
        (
            await s.execute(
                select(InteractionStep)
                .where(
                    InteractionStep.interaction_id == interaction_id,
                    InteractionStep.user_id == user_id,
                    InteractionStep.kind != m.STEP_KIND,
                )
                .order_by(InteractionStep.offered_at.desc())
            )
        )
        .scalars()
        .all()
    )
    if not steps:
        raise NotFound("Interaction not found")
    for step in steps:
        if step.phase == CONNECTED:
            if not step.party_id or not inter.chat_id:
                raise Conflict("Not joined to the chat yet")
            return step, inter
    raise Conflict("Your part in this interaction is not connected")


async def agent_signaling(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    data: dict[str, Any],
) -> int:
    """The agent's signaling message to the customer (relayed as
    ``chat_session_signaling`` from the agent's party); the call changes with it.
    Returns the event's sequence number in the chat."""
    from switchboard.chats import actions as chats

    kind = data.get("type")
    now = utcnow()
    async with rt.db.write() as s:
        agent = await agents.lock_agent(s, tenant_id, user_id)
        step, inter = await _my_connected_step(s, tenant_id, user_id, interaction_id)
        assert inter.chat_id is not None and step.party_id is not None
        chat = await chats.lock_active(s, tenant_id, inter.chat_id)
        party = await s.get(ChatParty, step.party_id)
        if party is None:
            raise NotFound(f"Party not found: {step.party_id}")
        if party.left_at is not None:
            raise Conflict("The party has left the chat", code="party_left")
        call = await open_call_in(s, chat.id)
        if call is not None and call.user_id not in (None, user_id):
            raise Conflict("The call belongs to another agent", code="call_busy")
        if kind in (REQUEST_CALL, OFFER_CALL) and call is None:
            call = Call(
                tenant_id=tenant_id,
                chat_id=chat.id,
                interaction_id=inter.id,
                user_id=user_id,
                party_id=party.id,
                state=m.RINGING,
                video=_truthy(data.get("offerVideo")),
                media_path=rt.settings.calls_media_path,
                requested_by="agent",
                requested_at=now,
                rung_at=now,
            )
            s.add(call)
            await s.flush()
        if (
            call is not None
            and call.media_path == m.SERVER
            and kind in (OFFER_CALL, ANSWER_CALL, ICE_CANDIDATE)
        ):
            # the agent's media session is with the server, which makes its own offer
            # to the customer (calls.media)
            seq = chat.last_seq
            _tell_media(s, rt, call, data, "agent")
        else:
            clean = ev.clean({"event": ev.SIGNALING, "data": data}, ev.PARTY_EVENTS)
            seq = await chats.party_event_in(s, chat, party, clean, now)
        if call is None:
            return seq
        if kind == OFFER_CALL and call.state in (m.WAITING, m.RINGING):
            call.state = m.CONNECTING
            call.user_id = user_id
            call.party_id = party.id
            call.rung_at = call.rung_at or now
            if "offerVideo" in data:
                call.video = _truthy(data.get("offerVideo"))
        elif kind == ANSWER_CALL and call.state == m.CONNECTING and call.media_path == m.RELAY:
            call.state = m.CONNECTED
            call.answered_at = now
        elif kind == END_CALL:
            await end_in(s, call, by="agent", reason="end_call", now=now, agent=agent, rt=rt)
        elif kind == CALL_REJECTED:
            call.user_id = user_id
            call.party_id = party.id
            await end_in(
                s,
                call,
                by="agent",
                reason="rejected",
                now=now,
                outcome=m.DECLINED if call.answered_at is None else None,
                agent=agent,
                rt=rt,
            )
        return seq


# ---- the media server's messages (calls.media), each one short transaction -------------


async def media_to_agent(rt: Runtime, call_id: str, data: dict[str, Any]) -> None:
    """A signaling message of the media server to the call's agent (``call_signal`` on
    the agent's channel)."""
    async with rt.db.write() as s:
        found = await s.get(Call, call_id)
        if found is None or found.user_id is None:
            return
        agent = await agents.lock_agent(s, found.tenant_id, found.user_id)
        call = await s.get(Call, call_id, with_for_update=True, populate_existing=True)
        if agent is None or call is None or call.state not in m.OPEN_STATES:
            return
        agents.queue_event(s, agent, "call_signal", {**_payload(call), "data": data})


async def media_to_customer(rt: Runtime, call_id: str, data: dict[str, Any]) -> None:
    """A signaling message of the media server to the customer, from the agent's party."""
    async with rt.db.write() as s:
        found = await s.get(Call, call_id)
        if found is None:
            return
        chat = await chat_log.lock_chat(s, found.chat_id, found.tenant_id)
        call = await s.get(Call, call_id, with_for_update=True, populate_existing=True)
        if chat is None or chat.state not in ACTIVE_STATES or call is None:
            return
        if call.state not in m.OPEN_STATES:
            return
        await _tell_customer_in(s, chat, data, call.party_id or _scenario_party(chat.id), utcnow())
        if data.get("type") == OFFER_CALL and call.state in (m.WAITING, m.RINGING):
            call.state = m.CONNECTING


async def store_recording(rt: Runtime, call_id: str, wav: bytes, ended_at: datetime) -> None:
    """The media server's recording of a finished call (one channel per party:
    customer, agent), stored as the recording of the call's interaction step."""
    from switchboard.recordings import actions as recordings
    from switchboard.services.models import Service
    from switchboard.users.models import User

    async with rt.db.read() as s:
        call = await s.get(Call, call_id)
        if call is None or call.step_id is None or call.interaction_id is None:
            log.warning("calls: no step to attach the recording of %s to", call_id)
            return
        inter = await s.get(Interaction, call.interaction_id)
        chat = await s.get(ChatSession, call.chat_id)
        user = await s.get(User, call.user_id) if call.user_id else None
        service = await s.get(Service, inter.service_id) if inter and inter.service_id else None
        step = await s.get(InteractionStep, call.step_id)
    started = call.answered_at or call.rung_at or call.requested_at
    ended = call.ended_at or ended_at
    seconds = max(1.0, (ended - started).total_seconds())
    phone = chat.phone_number if chat is not None else None
    rc = recordings.Call(
        tenant_id=call.tenant_id,
        source=RECORDING_SOURCE,
        source_id=call.step_id,
        giid=call.interaction_id,
        step_id=call.step_id,
        interaction_id=call.interaction_id,
        started_at=started,
        ended_at=ended,
        direction="INBOUND" if call.requested_by == "customer" else "OUTBOUND",
        customer_phone=phone,
        service_name=service.name if service else None,
        disposition=step.disposition if step else None,
        notes=step.notes if step else None,
        agent=user,
    )
    rc.parties.append(recordings.Party("UNIDENTIFIED", phone, duration=seconds))
    if user is not None:
        rc.parties.append(
            recordings.Party(
                "USER", user.extension, user.id, user.first_name, user.last_name, duration=seconds
            )
        )
    await recordings.record(rt, rc, recorded=wav)
