"""Every state change of a chat session.

Each function opens its own short write transaction, locks the chat row
(``log.lock_chat``), validates, changes the session and appends the events to the
durable log (``log.append``), commits, and only then publishes ``chat_topic(chat_id)``
on the bus (plus ``routing_topic(tenant_id)`` whenever a chat enters the queue).

The state machine: ``ivr -> queued -> connecting -> connected -> completed | failed``.
Customer-side transitions (creation, the entry's queueing, the customer ending the
chat, inactivity and gone-client timeouts) live here beside the agent-side ones that
routing and the agent desktop call (``mark_connecting``, ``agent_joined``,
``party_left``, ``requeue``, ``post_party_event``, ``set_case``, ``end_chat``).

Agent-side functions raise ``NotFound`` for an unknown chat or party and ``Conflict``
(code ``chat_ended``) when the chat has already ended; customer-side ones raise
``NotFound`` with code ``5005`` in both cases, as the Messaging API answers.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import events as ev
from switchboard.chats import ewt
from switchboard.chats.config import chat_settings
from switchboard.chats.log import append, chat_topic, lock_chat
from switchboard.chats.models import (
    ACTIVE_STATES,
    ChatFile,
    ChatParty,
    ChatPushSubscription,
    ChatSession,
)
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Invalid, NotAcceptable, NotFound
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.users.models import User

log = logging.getLogger(__name__)

PARTY_TYPES = ("internal", "external", "scenario")
# end_chat reasons that end a chat as "failed" rather than "completed"
FAILED_REASONS = frozenset({"failed", "error", "no_service", "rejected"})
_SCENARIO_NS = uuid.UUID("6f1f4c1e-2b7a-4d55-9a57-3b1c2c0f5e10")

DEFAULT_WARNING = (
    "We have not heard from you for some time. Please respond within the next few "
    "minutes to prevent your chat session from ending."
)
DEFAULT_TIMEOUT = "Your session has expired due to inactivity."


def routing_topic(tenant_id: str) -> str:
    """Published whenever a chat of the tenant enters the ``queued`` state."""
    return f"routing:{tenant_id}"


def scenario_party_id(chat_id: str) -> str:
    """The party of the chat's scenario: the author of the engine's own events."""
    return str(uuid.uuid5(_SCENARIO_NS, chat_id))


def _chat_not_found() -> NotFound:
    return NotFound("Chat session is not found", code="5005")


def _ended() -> Conflict:
    return Conflict("Chat session has ended", code="chat_ended")


async def _lock(s: AsyncSession, tenant_id: str, chat_id: str) -> ChatSession:
    chat = await lock_chat(s, chat_id, tenant_id)
    if chat is None:
        raise _chat_not_found()
    return chat


async def _publish(rt: Runtime, chat_id: str, seq: int, *, kind: str = "server") -> None:
    await rt.bus.publish(chat_topic(chat_id), f"{kind}:{seq}")


def _reschedule(chat: ChatSession) -> None:
    """Recompute ``due_at``: the next inactivity warning or timeout of a connected chat."""
    if chat.state not in ACTIVE_STATES:
        chat.due_at = None
        chat.poll_deadline_at = None
        return
    timeout = chat.inactivity_timeout_seconds or 0
    if chat.state != "connected" or timeout <= 0:
        chat.due_at = None
        return
    base = chat.idle_since or chat.connected_at or utcnow()
    warn = chat.inactivity_warning_seconds or 0
    if chat.warning_sent_at is None and 0 < warn < timeout:
        chat.due_at = base + timedelta(seconds=warn)
    else:
        chat.due_at = base + timedelta(seconds=timeout)


async def _status(
    rt: Runtime, s: AsyncSession, chat: ChatSession, state: str, *, with_ewt: bool = False
) -> int:
    value: int | None = 0
    if with_ewt:
        value = await ewt.for_chat(rt, s, chat)
    row = await append(
        s,
        chat,
        direction="server",
        event={"event": ev.STATUS, "state": state, "ewt": ewt.as_text(value)},
        party_id=scenario_party_id(chat.id),
    )
    return row.seq


async def _end(
    s: AsyncSession,
    chat: ChatSession,
    *,
    state: str,
    reason: str,
    by_party_id: str | None,
    now: datetime,
) -> int:
    await s.execute(
        update(ChatParty)
        .where(ChatParty.chat_id == chat.id, ChatParty.left_at.is_(None))
        .values(left_at=now)
    )
    chat.state = state
    chat.ended_at = now
    chat.end_reason = reason[:64]
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
        )
    row = await append(
        s,
        chat,
        direction="server",
        event={"event": ev.ENDED},
        party_id=by_party_id or scenario_party_id(chat.id),
    )
    return row.seq


async def _file_fields(
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
    event.setdefault("file_type", ev.file_type_for(f.content_type))
    if event["file_type"] not in ("image", "attachment"):
        event["file_type"] = ev.file_type_for(f.content_type)


# ---- the contract used by routing and the agent side ------------------------------


async def mark_connecting(rt: Runtime, *, tenant_id: str, chat_id: str) -> None:
    """``queued -> connecting`` (an agent is being offered the chat)."""
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        if chat.state == "connecting":
            return
        if chat.state not in ACTIVE_STATES:
            raise _ended()
        if chat.state != "queued":
            raise Conflict(f"Chat is {chat.state}, not queued", code="invalid_state")
        chat.state = "connecting"
        seq = await _status(rt, s, chat, "connecting")
    await _publish(rt, chat_id, seq)


async def agent_joined(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    user_id: str,
    party_type: str = "internal",
) -> str:
    """Add the user as a party (idempotent while present); the first join connects."""
    if party_type not in PARTY_TYPES:
        raise Invalid(f"party_type must be one of {', '.join(PARTY_TYPES)}")
    now = utcnow()
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        if chat.state not in ACTIVE_STATES:
            raise _ended()
        user = await s.get(User, user_id)
        if user is None or user.tenant_id != tenant_id:
            raise NotFound(f"User not found: {user_id}")
        present = (
            await s.execute(
                select(ChatParty.id).where(
                    ChatParty.chat_id == chat.id,
                    ChatParty.user_id == user_id,
                    ChatParty.left_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if present is not None:
            return present
        party = ChatParty(
            chat_id=chat.id,
            tenant_id=tenant_id,
            user_id=user_id,
            type=party_type,
            display_name=user.display_name,
            first_name=user.first_name,
            last_name=user.last_name,
            joined_at=now,
        )
        s.add(party)
        await s.flush()
        row = await append(
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
        )
        seq = row.seq
        if chat.state != "connected":
            chat.state = "connected"
            if chat.connected_at is None:
                chat.connected_at = now
            chat.agent_user_id = user_id
            chat.idle_since = now
            chat.warning_sent_at = None
            seq = await _status(rt, s, chat, "connected")
            _reschedule(chat)
        party_id = party.id
    await _publish(rt, chat_id, seq)
    return party_id


async def party_left(rt: Runtime, *, tenant_id: str, chat_id: str, party_id: str) -> None:
    """The party leaves (idempotent); the chat itself goes on."""
    now = utcnow()
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        party = await s.get(ChatParty, party_id)
        if party is None or party.chat_id != chat.id:
            raise NotFound(f"Party not found: {party_id}")
        if party.left_at is not None or chat.state not in ACTIVE_STATES:
            return
        party.left_at = now
        row = await append(
            s,
            chat,
            direction="server",
            event={"event": ev.PARTY_LEFT, "party_id": party_id},
            party_id=party_id,
        )
        seq = row.seq
    await _publish(rt, chat_id, seq)


async def requeue(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    service_id: str | None = None,
    requested_skills: dict[str, int] | None = None,
    priority: int | None = None,
) -> None:
    """Back to ``queued`` (a transfer or a rejected offer); the agent is cleared.

    A chat that was never connected and stays in its service keeps its ``queued_at``
    (a rejected offer does not lose the customer's place); otherwise it queues anew.
    """
    now = utcnow()
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        if chat.state not in ACTIVE_STATES:
            raise _ended()
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
        _reschedule(chat)
        seq = await _status(rt, s, chat, "queued", with_ewt=True)
    await _publish(rt, chat_id, seq)
    await rt.bus.publish(routing_topic(tenant_id), chat_id)


async def post_party_event(
    rt: Runtime, *, tenant_id: str, chat_id: str, party_id: str, event: dict[str, Any]
) -> int:
    """An agent-side event (message, delivered/read, typing, file, form_show...).

    Validates the type and fields (``events.PARTY_EVENTS``), fills ``msg_id``
    (``<chat id>:<seq>``), the integer ``form_request_id`` and the file's name and type;
    returns the event's sequence number.
    """
    clean = ev.clean(event, ev.PARTY_EVENTS)
    kind = clean["event"]
    now = utcnow()
    push_to: ChatPushSubscription | None = None
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        if chat.state not in ACTIVE_STATES:
            raise _ended()
        party = await s.get(ChatParty, party_id)
        if party is None or party.chat_id != chat.id or party.type == "customer":
            raise NotFound(f"Party not found: {party_id}")
        if party.left_at is not None:
            raise Conflict("The party has left the chat", code="party_left")
        next_seq = chat.last_seq + 1
        if kind in (ev.MESSAGE, ev.FILE, "chat_session_location", "chat_session_navigation"):
            clean.setdefault("msg_id", f"{chat.id}:{next_seq}")
        if kind == ev.FILE:
            await _file_fields(s, chat, clean, party_id)
        if kind in (ev.FORM_SHOW, "chat_session_secure_form_show"):
            clean.setdefault("form_request_id", next_seq)
        if kind == ev.FORM_SHOW:
            clean.setdefault("form_timeout", "0")
            clean.setdefault("channel", "web")
        row = await append(s, chat, direction="server", event=clean, party_id=party_id)
        seq = row.seq
        if kind in (ev.MESSAGE, ev.FILE) and chat.state == "connected":
            chat.idle_since = now
            chat.warning_sent_at = None
            _reschedule(chat)
        if kind in (ev.MESSAGE, ev.FILE, ev.FORM_SHOW) and not _poll_held(chat, now):
            push_to = await s.get(ChatPushSubscription, chat.id)
        text = str(clean.get("msg") or clean.get("file_name") or clean.get("form_name") or "")
        sender = party.display_name
    await _publish(rt, chat_id, seq)
    if push_to is not None:
        from switchboard.chats.push import notify

        await notify(rt, push_to, title=sender, body=text, data={"chat_id": chat_id})
    return seq


def _poll_held(chat: ChatSession, now: datetime) -> bool:
    return chat.poll_lease_until is not None and chat.poll_lease_until > now


async def set_case(rt: Runtime, *, tenant_id: str, chat_id: str, case_id: str) -> None:
    """Link the chat to a CRM case; the client may then use case history / close case."""
    case_id = (case_id or "").strip()
    if not case_id or len(case_id) > 255:
        raise Invalid("case_id must be 1-255 characters")
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        chat.case_id = case_id
        chat.case_closed_at = None
        row = await append(
            s,
            chat,
            direction="server",
            event={"event": ev.CASE_SET, "case_id": case_id},
            party_id=scenario_party_id(chat.id),
        )
        seq = row.seq
    await _publish(rt, chat_id, seq)


async def end_chat(
    rt: Runtime, *, tenant_id: str, chat_id: str, by_party_id: str | None, reason: str
) -> None:
    """End the chat (idempotent): ``failed`` for ``FAILED_REASONS``, else ``completed``."""
    now = utcnow()
    async with rt.db.write() as s:
        chat = await _lock(s, tenant_id, chat_id)
        if chat.state not in ACTIVE_STATES:
            return
        was_waiting = chat.state in ("queued", "connecting")
        state = "failed" if reason in FAILED_REASONS else "completed"
        seq = await _end(
            s, chat, state=state, reason=reason or "ended", by_party_id=by_party_id, now=now
        )
    await _publish(rt, chat_id, seq)
    if was_waiting:
        await rt.bus.publish(routing_topic(tenant_id), chat_id)


# ---- the customer side -------------------------------------------------------------


@dataclass
class NewChat:
    chat: ChatSession
    is_new: bool
    ewt: int | None


def _customer_names(parameters: dict[str, Any]) -> tuple[str | None, str | None]:
    lowered = {k.lower(): v for k, v in parameters.items()}
    first = lowered.get("first_name") or lowered.get("firstname")
    last = lowered.get("last_name") or lowered.get("lastname")
    return (str(first) if first else None, str(last) if last else None)


async def _active_for(s: AsyncSession, tenant_id: str, client_key: str) -> ChatSession | None:
    stmt = (
        select(ChatSession)
        .where(ChatSession.tenant_id == tenant_id, ChatSession.active_client_key == client_key)
        .with_for_update()
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def create_chat(
    rt: Runtime,
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
) -> NewChat:
    """Request Chat: the client's active session, or a new one queued by its entry."""
    for _ in range(3):
        try:
            return await _create_chat(
                rt,
                tenant_id=tenant_id,
                entry=entry,
                client_key=client_key,
                user_agent=user_agent,
                phone_number=phone_number,
                from_address=from_address,
                parameters=parameters,
                initial_message=initial_message,
                poll_abandon_seconds=poll_abandon_seconds,
            )
        except sa_exc.IntegrityError:
            # a concurrent request of the same client created it first: return that one
            continue
    raise Conflict("Could not create the chat session", code="5955")


async def _create_chat(
    rt: Runtime,
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
) -> NewChat:
    now = utcnow()
    async with rt.db.write() as s:
        existing = await _active_for(s, tenant_id, client_key)
        if existing is not None:
            return NewChat(existing, False, await ewt.for_chat(rt, s, existing))
        first, last = _customer_names(parameters)
        chat = ChatSession(
            tenant_id=tenant_id,
            entry_id=entry.id,
            service_id=entry.service_id,
            client_key=client_key,
            active_client_key=client_key,
            user_agent=(user_agent or "")[:512] or None,
            state="ivr",
            priority=entry.priority,
            requested_skills=dict(entry.requested_skills or {}),
            parameters=parameters,
            from_address=(from_address or "")[:255] or None,
            phone_number=(phone_number or "")[:64] or None,
            created_at=now,
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
        s.add(
            ChatParty(
                id=chat.id,
                chat_id=chat.id,
                tenant_id=tenant_id,
                type="customer",
                display_name=display[:255],
                first_name=first,
                last_name=last,
                joined_at=now,
            )
        )
        s.add(
            ChatParty(
                id=scenario_party_id(chat.id),
                chat_id=chat.id,
                tenant_id=tenant_id,
                type="scenario",
                display_name=entry.name,
                joined_at=now,
            )
        )
        await s.flush()
        # the entry's scenario: queue to its service with its skills and priority
        chat.state = "queued"
        chat.queued_at = now
        await s.flush()
        estimate = await ewt.for_chat(rt, s, chat)
        await append(
            s,
            chat,
            direction="server",
            event={"event": ev.STATUS, "state": "queued", "ewt": ewt.as_text(estimate)},
            party_id=scenario_party_id(chat.id),
        )
        if initial_message is not None:
            message = dict(initial_message)
            message.setdefault("msg_id", f"{chat.id}:{chat.last_seq + 1}")
            await append(s, chat, direction="client", event=message, party_id=chat.id)
        seq = chat.last_seq
    await _publish(rt, chat.id, seq)
    await rt.bus.publish(routing_topic(tenant_id), chat.id)
    return NewChat(chat, True, estimate)


def _redact(data: Any) -> Any:
    if isinstance(data, dict):
        return dict.fromkeys(data, "***")
    return "***"


async def post_client_events(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    events: list[dict[str, Any]],
) -> None:
    """Store the customer's (already cleaned) events; ``end``/``disconnect`` end the chat.

    Signaling is relayed through the log but never shown in history (and purged).
    Secure form data is stored with its values masked.
    """
    now = utcnow()
    ended = False
    was_waiting = False
    async with rt.db.write() as s:
        chat = await lock_chat(s, chat_id, tenant_id)
        if chat is None or chat.client_key != client_key or chat.state not in ACTIVE_STATES:
            raise _chat_not_found()
        seq = chat.last_seq
        for raw in events:
            event = dict(raw)
            kind = event["event"]
            if kind in (ev.MESSAGE, ev.FILE, "chat_session_location", "chat_session_navigation"):
                event.setdefault("msg_id", f"{chat.id}:{chat.last_seq + 1}")
            if kind == ev.FILE:
                await _file_fields(s, chat, event, chat.id)
            if kind == ev.SECURE_FORM_DATA and "data" in event:
                event["data"] = _redact(event["data"])
            row = await append(s, chat, direction="client", event=event, party_id=chat.id)
            seq = row.seq
            if kind in (ev.END, ev.DISCONNECT):
                was_waiting = chat.state in ("queued", "connecting")
                if chat.connected_at is None:
                    reason = "abandoned"
                elif kind == ev.END:
                    reason = "customer_ended"
                else:
                    reason = "customer_disconnected"
                seq = await _end(
                    s, chat, state="completed", reason=reason, by_party_id=chat.id, now=now
                )
                ended = True
                break  # nothing follows the end of a session
        if not ended:
            chat.last_client_activity_at = now
            if chat.state == "connected":
                chat.idle_since = now
                chat.warning_sent_at = None
            _reschedule(chat)
    await _publish(rt, chat_id, seq, kind="server" if ended else "client")
    if was_waiting:
        await rt.bus.publish(routing_topic(tenant_id), chat_id)


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
            raise _chat_not_found()
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
        last = chat.last_poll_at or now
        chat.poll_deadline_at = last + timedelta(seconds=abandon)


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
    return chat_settings(rt).poll_abandon_seconds


async def close_case(rt: Runtime, *, tenant_id: str, chat_id: str, client_key: str) -> str:
    """Record the client's request to close the chat's case; 406/5601 without a case."""
    async with rt.db.write() as s:
        chat = await lock_chat(s, chat_id, tenant_id)
        if chat is None or chat.client_key != client_key:
            raise _chat_not_found()
        if not chat.case_id:
            raise NotAcceptable("No case is specified for this session.", code="5601")
        if chat.case_closed_at is None:
            chat.case_closed_at = utcnow()
        return chat.case_id


# ---- timers (run by workers.py) ----------------------------------------------------


def _entry_text(entry: ScenarioEntry | None, key: str, default: str) -> str:
    cfg: dict[str, Any] = dict(entry.widget_configuration or {}) if entry else {}
    styling = cfg.get("definition", {}).get("chatWidgetStyling", {})
    if not isinstance(styling, dict):
        styling = {}
    nested = cfg.get("chatWidgetStyling", {})
    if not isinstance(nested, dict):
        nested = {}
    value = cfg.get(key) or nested.get(key) or styling.get(key)
    return str(value) if value else default


async def fire_timers(rt: Runtime, *, limit: int = 100) -> int:
    """Fire due inactivity warnings/timeouts and end chats whose client is gone.

    The rows are claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
    writers) so that N server processes never fire the same timer twice.
    """
    now = utcnow()
    fired: list[tuple[str, int, str, bool]] = []
    async with rt.db.write() as s:
        stmt = (
            select(ChatSession)
            .where((ChatSession.due_at <= now) | (ChatSession.poll_deadline_at <= now))
            .order_by(ChatSession.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        chats = (await s.execute(stmt)).scalars().all()
        for chat in chats:
            if chat.state not in ACTIVE_STATES:
                chat.due_at = None
                chat.poll_deadline_at = None
                continue
            was_waiting = chat.state in ("queued", "connecting")
            if chat.poll_deadline_at is not None and chat.poll_deadline_at <= now:
                # the deadline is a hint: polls record only ``last_poll_at``
                alive_until = (chat.last_poll_at or chat.created_at) + timedelta(
                    seconds=chat.poll_abandon_seconds
                )
                if _poll_held(chat, now) or alive_until > now:
                    # a poll is held right now, or the client polled lately: it is there
                    chat.poll_deadline_at = max(alive_until, chat.poll_lease_until or now)
                    continue
                reason = "abandoned" if chat.connected_at is None else "client_gone"
                seq = await _end(
                    s, chat, state="completed", reason=reason, by_party_id=None, now=now
                )
                fired.append((chat.id, seq, chat.tenant_id, was_waiting))
                continue
            if chat.due_at is None or chat.due_at > now:
                continue
            entry = await s.get(ScenarioEntry, chat.entry_id) if chat.entry_id else None
            timeout = chat.inactivity_timeout_seconds or 0
            base = chat.idle_since or chat.connected_at or now
            if (
                chat.state == "connected"
                and timeout > 0
                and base + timedelta(seconds=timeout) <= now
            ):
                await append(
                    s,
                    chat,
                    direction="server",
                    event={
                        "event": ev.INACTIVITY_TIMEOUT,
                        "msg": _entry_text(entry, "inactivityTimeoutMessage", DEFAULT_TIMEOUT),
                    },
                    party_id=scenario_party_id(chat.id),
                )
                seq = await _end(
                    s,
                    chat,
                    state="completed",
                    reason="inactivity_timeout",
                    by_party_id=None,
                    now=now,
                )
                fired.append((chat.id, seq, chat.tenant_id, was_waiting))
            elif chat.state == "connected" and chat.warning_sent_at is None:
                row = await append(
                    s,
                    chat,
                    direction="server",
                    event={
                        "event": ev.TIMEOUT_WARNING,
                        "msg": _entry_text(entry, "inactivityWarningMessage", DEFAULT_WARNING),
                    },
                    party_id=scenario_party_id(chat.id),
                )
                chat.warning_sent_at = now
                _reschedule(chat)
                fired.append((chat.id, row.seq, chat.tenant_id, False))
            else:
                _reschedule(chat)
    for chat_id, seq, tenant_id, was_waiting in fired:
        await _publish(rt, chat_id, seq)
        if was_waiting:
            await rt.bus.publish(routing_topic(tenant_id), chat_id)
    return len(fired)
