"""Every state change of a chat session.

Two kinds of functions:

* **primitives** (``*_in``) change a chat inside the caller's write transaction: the
  chat row locked with ``log.lock_chat``, events appended with ``log.append``, wake-ups
  queued with ``after_commit``. The operations that span domains (a chat created with
  its interaction record, an agent joining, a transfer, an end) are in
  ``switchboard.interactions.actions`` and compose these in one transaction;
* **operations** that touch nothing but the chat (the customer's plain events, push
  subscriptions, closing a case) open their own transaction here. The customer's
  plain events take the hot path: one group-committed batch item (``log``).

The state machine: ``ivr -> queued -> connecting -> connected -> completed | failed``;
``chat_session_disconnect`` takes a connected chat back to ``ivr`` (the conversation is
over, the session stays open under the scenario until the customer ends it or leaves).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.calls import actions as calls
from switchboard.chats import events as ev
from switchboard.chats import ewt
from switchboard.chats import log as chat_log
from switchboard.chats.cache import cache_of
from switchboard.chats.log import (
    ACTIVITY,
    TIMERS_TOPIC,
    append,
    chat_topic,
    lock_chat,
    msg_id,
    not_found,
    reschedule,
    routing_topic,
)
from switchboard.chats.models import (
    ACTIVE_STATES,
    ChatFile,
    ChatParty,
    ChatPushSubscription,
    ChatSession,
)
from switchboard.core.db import Batched, after_commit, utcnow
from switchboard.core.errors import Conflict, Invalid, NotAcceptable, NotFound
from switchboard.core.runtime import Runtime
from switchboard.core.sql import Raw
from switchboard.scenarios.models import ScenarioEntry
from switchboard.users.models import User

PARTY_TYPES = ("internal", "external", "scenario")
# end reasons that end a chat as "failed" rather than "completed"
FAILED_REASONS = frozenset({"failed", "error", "no_service", "rejected"})
# the customer's events that end the conversation (the rest take the hot path)
ENDING = (ev.END, ev.DISCONNECT)
_SCENARIO_NS = uuid.UUID("6f1f4c1e-2b7a-4d55-9a57-3b1c2c0f5e10")

DEFAULT_WARNING = (
    "We have not heard from you for some time. Please respond within the next few "
    "minutes to prevent your chat session from ending."
)
DEFAULT_TIMEOUT = "Your session has expired due to inactivity."


def scenario_party_id(chat_id: str) -> str:
    """The party of the chat's scenario: the author of the engine's own events."""
    return str(uuid.uuid5(_SCENARIO_NS, chat_id))


def ended() -> Conflict:
    return Conflict("Chat session has ended", code="chat_ended")


# ---- primitives: inside the caller's transaction -------------------------------------


async def lock(s: AsyncSession, tenant_id: str, chat_id: str) -> ChatSession:
    """The chat, locked; 404/5005 when it does not exist in the tenant."""
    chat = await lock_chat(s, chat_id, tenant_id)
    if chat is None:
        raise not_found()
    return chat


async def lock_active(s: AsyncSession, tenant_id: str, chat_id: str) -> ChatSession:
    """The chat, locked; 409 ``chat_ended`` once it ended."""
    chat = await lock(s, tenant_id, chat_id)
    if chat.state not in ACTIVE_STATES:
        raise ended()
    return chat


async def status_in(
    rt: Runtime,
    s: AsyncSession,
    chat: ChatSession,
    state: str,
    *,
    now: datetime,
    with_ewt: bool = False,
) -> int:
    value: int | None = 0
    if with_ewt:
        value = await ewt.for_chat(rt, s, chat)
    return await append(
        s,
        chat,
        direction="server",
        event={"event": ev.STATUS, "state": state, "ewt": ewt.as_text(value)},
        party_id=scenario_party_id(chat.id),
        now=now,
    )


async def mark_connecting_in(
    rt: Runtime, s: AsyncSession, chat: ChatSession, now: datetime
) -> None:
    """``queued -> connecting``: an agent is being offered the chat."""
    if chat.state == "connecting":
        return
    if chat.state != "queued":
        raise Conflict(f"Chat is {chat.state}, not queued", code="invalid_state")
    chat.state = "connecting"
    await status_in(rt, s, chat, "connecting", now=now)


async def join_in(
    rt: Runtime,
    s: AsyncSession,
    chat: ChatSession,
    user: User,
    *,
    now: datetime,
    party_type: str = "internal",
) -> str:
    """Add the user as a party (idempotent while present); the first join connects.
    Returns the party id."""
    if party_type not in PARTY_TYPES:
        raise Invalid(f"party_type must be one of {', '.join(PARTY_TYPES)}")
    present = (
        await s.execute(
            select(ChatParty.id).where(
                ChatParty.chat_id == chat.id,
                ChatParty.user_id == user.id,
                ChatParty.left_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if present is not None:
        return present
    party = ChatParty(
        chat_id=chat.id,
        tenant_id=chat.tenant_id,
        user_id=user.id,
        type=party_type,
        display_name=user.display_name,
        first_name=user.first_name,
        last_name=user.last_name,
        joined_at=now,
    )
    s.add(party)
    await s.flush()
    await append(
        s,
        chat,
        direction="server",
        event={
            "event": ev.PARTY_JOINED,
            "party_id": party.id,
            "first_name": user.first_name or "",
            "last_name": user.last_name or "",
            "display_name": user.display_name,
            "type": party_type,
        },
        party_id=party.id,
        now=now,
    )
    if chat.state != "connected":
        chat.state = "connected"
        if chat.connected_at is None:
            chat.connected_at = now
        chat.agent_user_id = user.id
        chat.idle_since = now
        chat.warning_sent_at = None
        await status_in(rt, s, chat, "connected", now=now)
        reschedule(chat, now)
        if chat.due_at is not None:
            after_commit(s, TIMERS_TOPIC, "")
    return party.id


async def party_left_in(s: AsyncSession, chat: ChatSession, party_id: str, now: datetime) -> None:
    """The party leaves (idempotent); the chat itself goes on."""
    party = await s.get(ChatParty, party_id)
    if party is None or party.chat_id != chat.id:
        raise NotFound(f"Party not found: {party_id}")
    if party.left_at is not None or chat.state not in ACTIVE_STATES:
        return
    party.left_at = now
    await calls.party_left_in(s, chat, party_id, now)
    await append(
        s,
        chat,
        direction="server",
        event={"event": ev.PARTY_LEFT, "party_id": party_id},
        party_id=party_id,
        now=now,
    )


async def requeue_in(
    rt: Runtime,
    s: AsyncSession,
    chat: ChatSession,
    *,
    now: datetime,
    service_id: str | None = None,
    requested_skills: dict[str, int] | None = None,
    priority: int | None = None,
) -> None:
    """Back to ``queued`` (a transfer or a rejected offer); the agent is cleared.

    A chat that was never connected and stays in its service keeps its ``queued_at``
    (a rejected offer does not lose the customer's place); otherwise it queues anew.
    """
    moved = service_id is not None and service_id != chat.service_id
    if service_id is not None:
        chat.service_id = service_id
    if requested_skills is not None:
        chat.requested_skills = {str(k): int(v) for k, v in requested_skills.items()}
    if priority is not None:
        chat.priority = priority
    if moved or chat.connected_at is not None or chat.queued_at is None:
        chat.queued_at = now
    chat.state = "queued"
    chat.agent_user_id = None
    reschedule(chat, now)
    await status_in(rt, s, chat, "queued", now=now, with_ewt=True)
    after_commit(s, routing_topic(chat.tenant_id), chat.id)


async def end_in(
    s: AsyncSession,
    chat: ChatSession,
    *,
    reason: str,
    by_party_id: str | None,
    now: datetime,
) -> None:
    """End the session: ``failed`` for ``FAILED_REASONS``, else ``completed``. Every
    party leaves; the customer receives ``chat_session_ended``."""
    await calls.chat_ending_in(s, chat, now)
    was_waiting = chat.state in ("queued", "connecting")
    state = "failed" if reason in FAILED_REASONS else "completed"
    await s.execute(
        update(ChatParty)
        .where(ChatParty.chat_id == chat.id, ChatParty.left_at.is_(None))
        .values(left_at=now)
    )
    chat.state = state
    chat.ended_at = now
    chat.end_reason = (reason or "ended")[:64]
    chat.active_client_key = None
    chat.poll_deadline_at = None
    chat.due_at = None
    if state == "failed":
        await append(
            s,
            chat,
            direction="server",
            event={"event": ev.STATUS, "state": "failed", "ewt": "0"},
            party_id=scenario_party_id(chat.id),
            now=now,
        )
    await append(
        s,
        chat,
        direction="server",
        event={"event": ev.ENDED},
        party_id=by_party_id or scenario_party_id(chat.id),
        now=now,
        wake="ended",
    )
    if was_waiting:
        after_commit(s, routing_topic(chat.tenant_id), chat.id)


async def conversation_over_in(s: AsyncSession, chat: ChatSession, *, now: datetime) -> list[str]:
    """``chat_session_disconnect``: the agents leave, the session stays open under the
    scenario (state ``ivr``) until the customer ends it or stops polling. Returns the
    parties that left."""
    parties = list(
        (
            await s.execute(
                select(ChatParty.id).where(
                    ChatParty.chat_id == chat.id,
                    ChatParty.left_at.is_(None),
                    ChatParty.type.in_(("internal", "external")),
                )
            )
        ).scalars()
    )
    for party_id in parties:
        await party_left_in(s, chat, party_id, now)
    was_waiting = chat.state in ("queued", "connecting")
    chat.state = "ivr"
    chat.agent_user_id = None
    chat.due_at = None
    if was_waiting:
        after_commit(s, routing_topic(chat.tenant_id), chat.id)
    return parties


async def set_case_in(s: AsyncSession, chat: ChatSession, case_id: str, now: datetime) -> None:
    """Link the chat to a CRM case; the client may then use case history / close case."""
    case_id = (case_id or "").strip()
    if not case_id or len(case_id) > 255:
        raise Invalid("case_id must be 1-255 characters")
    chat.case_id = case_id
    chat.case_closed_at = None
    await append(
        s,
        chat,
        direction="server",
        event={"event": ev.CASE_SET, "case_id": case_id},
        party_id=scenario_party_id(chat.id),
        now=now,
    )


async def file_fields_in(
    s: AsyncSession, chat: ChatSession, event: dict[str, Any], uploader: str
) -> None:
    """Complete a ``chat_session_file`` event from the stored file; 5502 when unknown."""
    f = await s.get(ChatFile, str(event["file_id"]))
    if f is None or f.tenant_id != chat.tenant_id or f.chat_id not in (None, chat.id):
        raise NotFound("File not found", code="5502")
    if f.chat_id is None:
        f.chat_id = chat.id
        f.uploaded_by = f.uploaded_by or uploader
    event["file_name"] = f.name
    if event.get("file_type") not in ("image", "attachment"):
        event["file_type"] = ev.file_type_for(f.content_type)


async def party_event_in(
    s: AsyncSession, chat: ChatSession, party: ChatParty, event: dict[str, Any], now: datetime
) -> int:
    """A server-side party's event (already cleaned with ``events.PARTY_EVENTS``)."""
    clean = dict(event)
    kind = clean["event"]
    next_seq = chat.last_seq + 1
    if kind in chat_log.WITH_MSG_ID:
        clean.setdefault("msg_id", msg_id(chat.id, next_seq))
    if kind == ev.FILE:
        await file_fields_in(s, chat, clean, party.id)
    complete_form(clean, next_seq)
    seq = await append(s, chat, direction="server", event=clean, party_id=party.id, now=now)
    if kind in ACTIVITY and chat.state == "connected":
        chat.idle_since = now
        chat.warning_sent_at = None
        reschedule(chat, now)
    return seq


def complete_form(event: dict[str, Any], seq: int) -> None:
    """The integer ``form_request_id`` (and defaults) clients expect of a form request."""
    kind = event["event"]
    if kind in (ev.FORM_SHOW, "chat_session_secure_form_show"):
        event.setdefault("form_request_id", seq)
    if kind == ev.FORM_SHOW:
        event.setdefault("form_timeout", "0")
        event.setdefault("channel", "web")


async def client_events_in(
    s: AsyncSession, chat: ChatSession, events: list[dict[str, Any]], now: datetime
) -> str | None:
    """The customer's events, in order, up to one that ends the conversation; returns
    ``chat_session_end`` or ``chat_session_disconnect`` when one did (the caller ends
    the session or the conversation), else None."""
    for event in chat_log.prepare_client_events(events):
        kind = event["event"]
        if kind in chat_log.WITH_MSG_ID:
            event.setdefault("msg_id", msg_id(chat.id, chat.last_seq + 1))
        if kind == ev.FILE:
            await file_fields_in(s, chat, event, chat.id)
        await append(s, chat, direction="client", event=event, party_id=chat.id, now=now)
        if kind in ENDING:
            return str(kind)
    chat.last_client_activity_at = now
    if chat.state == "connected":
        chat.idle_since = now
        chat.warning_sent_at = None
    reschedule(chat, now)
    return None


def customer_names(parameters: dict[str, Any]) -> tuple[str | None, str | None]:
    lowered = {k.lower(): v for k, v in parameters.items()}
    first = lowered.get("first_name") or lowered.get("firstname")
    last = lowered.get("last_name") or lowered.get("lastname")
    return (
        str(first) if isinstance(first, str | int) and first else None,
        str(last) if isinstance(last, str | int) and last else None,
    )


@dataclass
class NewChat:
    chat: ChatSession
    is_new: bool
    ewt: int | None


async def active_for_in(s: AsyncSession, tenant_id: str, client_key: str) -> ChatSession | None:
    stmt = (
        select(ChatSession)
        .where(ChatSession.tenant_id == tenant_id, ChatSession.active_client_key == client_key)
        .with_for_update()
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def create_in(
    rt: Runtime,
    s: AsyncSession,
    *,
    tenant_id: str,
    entry: ScenarioEntry,
    client_key: str,
    user_agent: str | None,
    phone_number: str | None,
    from_address: str | None,
    parameters: dict[str, Any],
    initial_message: dict[str, Any] | None,
    poll_abandon_seconds: int,
    now: datetime,
) -> NewChat:
    """Request Chat: the client's active session, or a new one queued by its entry (the
    unique ``active_client_key`` makes a concurrent twin fail with IntegrityError)."""
    existing = await active_for_in(s, tenant_id, client_key)
    if existing is not None:
        return NewChat(existing, False, await ewt.for_chat(rt, s, existing))
    first, last = customer_names(parameters)
    chat = ChatSession(
        tenant_id=tenant_id,
        entry_id=entry.id,
        service_id=entry.service_id,
        client_key=client_key,
        active_client_key=client_key,
        user_agent=(user_agent or "")[:512] or None,
        state="queued",
        priority=entry.priority,
        requested_skills=dict(entry.requested_skills or {}),
        parameters=parameters,
        from_address=(from_address or "")[:255] or None,
        phone_number=(phone_number or "")[:64] or None,
        created_at=now,
        queued_at=now,
        last_client_activity_at=now,
        last_poll_at=now,
        poll_abandon_seconds=poll_abandon_seconds,
        poll_deadline_at=now + timedelta(seconds=poll_abandon_seconds),
        inactivity_warning_seconds=entry.inactivity_warning_seconds,
        inactivity_timeout_seconds=entry.inactivity_timeout_seconds,
        last_seq=0,
        client_cursor=0,
    )
    s.add(chat)
    await s.flush()
    display = " ".join(x for x in (first, last) if x) or (from_address or "Customer")
    s.add_all(
        [
            ChatParty(
                id=chat.id,
                chat_id=chat.id,
                tenant_id=tenant_id,
                type="customer",
                display_name=display[:255],
                first_name=first,
                last_name=last,
                joined_at=now,
            ),
            ChatParty(
                id=scenario_party_id(chat.id),
                chat_id=chat.id,
                tenant_id=tenant_id,
                type="scenario",
                display_name=entry.name,
                joined_at=now,
            ),
        ]
    )
    await s.flush()
    # the entry's scenario: queue to its service with its skills and priority
    estimate = await ewt.for_chat(rt, s, chat)
    await append(
        s,
        chat,
        direction="server",
        event={"event": ev.STATUS, "state": "queued", "ewt": ewt.as_text(estimate)},
        party_id=scenario_party_id(chat.id),
        now=now,
    )
    if initial_message is not None:
        message = dict(initial_message)
        message.setdefault("msg_id", msg_id(chat.id, chat.last_seq + 1))
        await append(s, chat, direction="client", event=message, party_id=chat.id, now=now)
    after_commit(s, routing_topic(tenant_id), chat.id)
    after_commit(s, TIMERS_TOPIC, "")
    return NewChat(chat, True, estimate)


# ---- the hot path: the customer's plain events ------------------------------------------


def _client_events_fn(
    raw: Raw,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    events: list[dict[str, Any]],
    now: datetime,
) -> Batched:
    chat = chat_log.check_client(chat_log.lock_row(raw, tenant_id, chat_id), client_key)
    items = []
    activity = False
    for event in chat_log.prepare_client_events(events):
        if event["event"] == ev.FILE:
            chat_log.file_fields(raw, tenant_id, chat_id, event, chat_id)
        activity = activity or event["event"] in ACTIVITY
        items.append(("client", event, chat_id))
    done = chat_log.write_events(raw, chat, items, now=now, activity=activity, client_activity=True)
    return Batched(done.seqs, [(chat_topic(chat_id), f"client:{done.last_seq}")])


async def post_client_events(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    events: list[dict[str, Any]],
) -> list[int]:
    """The customer's events (cleaned, none ending the conversation), in one batch item;
    their sequence numbers. 404/5005 for a chat that is not the client's or has ended.
    Signaling is relayed through the log, never shown in history (and purged)."""
    if any(e["event"] in ENDING for e in events):
        raise Invalid("ending events go through interactions.actions.customer_events")
    if not events:
        return []
    seqs: list[int] = await rt.db.batch(
        _client_events_fn, tenant_id, chat_id, client_key, events, utcnow(), key=chat_id
    )
    return seqs


# ---- operations on the chat alone ---------------------------------------------------------


async def subscribe_push(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    kind: str | None,
    token: str | None,
    bundle_id: str | None,
) -> None:
    """Store (or with ``kind=None`` remove) the device token of the chat.

    While subscribed the client may stop polling in the background: the gone-client
    detection then waits for the inactivity timeout instead.
    """
    now = utcnow()
    async with rt.db.write() as s:
        chat = await lock_chat(s, chat_id, tenant_id)
        if chat is None or chat.client_key != client_key or chat.state not in ACTIVE_STATES:
            raise not_found()
        current = await s.get(ChatPushSubscription, chat.id)
        if kind is None or token is None:
            if current is not None:
                await s.delete(current)
            abandon = await _abandon_seconds(rt, s, chat, subscribed=False)
        else:
            if current is None:
                current = ChatPushSubscription(
                    chat_id=chat.id, tenant_id=tenant_id, kind=kind, token=token, created_at=now
                )
                s.add(current)
            current.kind = kind
            current.token = token
            current.bundle_id = bundle_id
            current.updated_at = now
            abandon = await _abandon_seconds(rt, s, chat, subscribed=True)
        chat.poll_abandon_seconds = abandon
        chat.poll_deadline_at = now + timedelta(seconds=abandon)
        after_commit(s, chat_topic(chat.id), "config")
    cache_of(rt).drop(chat_id)


async def _abandon_seconds(
    rt: Runtime, s: AsyncSession, chat: ChatSession, *, subscribed: bool
) -> int:
    from switchboard.tenants.models import Tenant

    tenant = await s.get(Tenant, chat.tenant_id)
    base = poll_abandon_seconds_for(rt, tenant.settings if tenant else None)
    if subscribed:
        return max(base, chat.inactivity_timeout_seconds or 0, 600)
    return base


def poll_abandon_seconds_for(rt: Runtime, tenant_settings: dict[str, Any] | None) -> int:
    """The tenant's ``chat_poll_abandon_seconds``, else the engine's default."""
    value = (tenant_settings or {}).get("chat_poll_abandon_seconds")
    if value is not None:
        try:
            return max(int(value), 1)
        except (TypeError, ValueError):
            pass
    return rt.settings.chat_poll_abandon_seconds


async def close_case(rt: Runtime, *, tenant_id: str, chat_id: str, client_key: str) -> str:
    """Record the client's request to close the chat's case; 406/5601 without a case."""
    async with rt.db.write() as s:
        chat = await lock_chat(s, chat_id, tenant_id)
        if chat is None or chat.client_key != client_key:
            raise not_found()
        if not chat.case_id:
            raise NotAcceptable("No case is specified for this session.", code="5601")
        if chat.case_closed_at is None:
            chat.case_closed_at = utcnow()
        return chat.case_id


# ---- timers (the pass is an operation of ``interactions``: a timeout ends the work) ----


def entry_text(entry: ScenarioEntry | None, key: str, default: str) -> str:
    cfg: dict[str, Any] = dict(entry.widget_configuration or {}) if entry else {}
    definition = cfg.get("definition")
    styling = definition.get("chatWidgetStyling", {}) if isinstance(definition, dict) else {}
    if not isinstance(styling, dict):
        styling = {}
    nested = cfg.get("chatWidgetStyling", {})
    if not isinstance(nested, dict):
        nested = {}
    value = cfg.get(key) or nested.get(key) or styling.get(key)
    return str(value) if value else default


@dataclass
class TimerOutcome:
    """What a due timer did: ``ended`` with a reason, or a warning sent."""

    ended: str | None = None
    warned: bool = False


async def timer_in(
    s: AsyncSession, chat: ChatSession, *, now: datetime, last_seen: float | None
) -> TimerOutcome:
    """Fire the chat's due timer (the chat is locked): the customer gone (no poll for
    ``poll_abandon_seconds``: ``last_seen`` is when it last polled), an inactivity
    timeout, or its warning. Reschedules what is not due."""
    if chat.state not in ACTIVE_STATES:
        chat.due_at = None
        chat.poll_deadline_at = None
        return TimerOutcome()
    if chat.poll_deadline_at is not None and chat.poll_deadline_at <= now:
        seen = datetime.fromtimestamp(last_seen, now.tzinfo) if last_seen is not None else None
        if seen is not None and seen < chat.created_at:
            seen = chat.created_at
        alive_until = (seen or chat.last_poll_at or chat.created_at) + timedelta(
            seconds=chat.poll_abandon_seconds
        )
        if alive_until > now:
            # the customer polled lately: look again when it would be gone
            chat.poll_deadline_at = alive_until
            if seen is not None:
                chat.last_poll_at = seen
        else:
            reason = "abandoned" if chat.connected_at is None else "client_gone"
            await end_in(s, chat, reason=reason, by_party_id=None, now=now)
            return TimerOutcome(ended=reason)
    if chat.due_at is None or chat.due_at > now:
        return TimerOutcome()
    entry = await s.get(ScenarioEntry, chat.entry_id) if chat.entry_id else None
    timeout = chat.inactivity_timeout_seconds or 0
    base = chat.idle_since or chat.connected_at or now
    if chat.state == "connected" and timeout > 0 and base + timedelta(seconds=timeout) <= now:
        await append(
            s,
            chat,
            direction="server",
            event={
                "event": ev.INACTIVITY_TIMEOUT,
                "msg": entry_text(entry, "inactivityTimeoutMessage", DEFAULT_TIMEOUT),
            },
            party_id=scenario_party_id(chat.id),
            now=now,
        )
        await end_in(s, chat, reason="inactivity_timeout", by_party_id=None, now=now)
        return TimerOutcome(ended="inactivity_timeout")
    if chat.state == "connected" and chat.warning_sent_at is None:
        await append(
            s,
            chat,
            direction="server",
            event={
                "event": ev.TIMEOUT_WARNING,
                "msg": entry_text(entry, "inactivityWarningMessage", DEFAULT_WARNING),
            },
            party_id=scenario_party_id(chat.id),
            now=now,
        )
        chat.warning_sent_at = now
        reschedule(chat, now)
        return TimerOutcome(warned=True)
    reschedule(chat, now)
    return TimerOutcome()


def due_clause(now: datetime) -> Any:
    return (ChatSession.due_at <= now) | (ChatSession.poll_deadline_at <= now)


async def has_party(s: AsyncSession, chat_id: str, user_id: str) -> bool:
    return bool(
        (
            await s.execute(
                select(
                    exists().where(
                        ChatParty.chat_id == chat_id,
                        ChatParty.user_id == user_id,
                        ChatParty.left_at.is_(None),
                    )
                )
            )
        ).scalar()
    )
