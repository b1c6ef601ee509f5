"""Appending to a chat's durable event log.

Every event is a ``chat_events`` row whose per-chat ``seq`` is taken under the chat
row's lock, committed before anyone is told about it. Two ways in:

* ``append(session, chat, ...)`` inside an ORM write transaction (the operations that
  change a chat's state: joins, ends, transfers), which queues the wake-up with
  ``after_commit``;
* the hot path (``client_events`` / ``party_event`` below and in ``interactions``):
  plain Core on a ``Connection``, run by ``Database.batch`` so that concurrent messages
  of many chats share one transaction and one commit. They validate first, then write;
  their wake-ups go out after the shared commit.

The bus payload of ``chat:<id>`` says what happened: ``server:<seq>`` (an event the
customer will receive), ``client:<seq>`` (the customer's own event: pollers need not
look), ``ended:<seq>`` (the session ended). Readers treat any other payload as "look".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import events as ev
from switchboard.chats.models import ACTIVE_STATES, ChatEvent, ChatFile, ChatSession
from switchboard.core.db import after_commit
from switchboard.core.errors import Invalid, NotFound

CHATS = cast(Table, ChatSession.__table__)
EVENTS = cast(Table, ChatEvent.__table__)
FILES = cast(Table, ChatFile.__table__)

# events that carry a ``msg_id`` the engine fills in when the sender did not
WITH_MSG_ID = (ev.MESSAGE, ev.FILE, "chat_session_location", "chat_session_navigation")
# events that reset the inactivity timer of a connected chat
ACTIVITY = (ev.MESSAGE, ev.FILE)


def chat_topic(chat_id: str) -> str:
    return f"chat:{chat_id}"


ROUTING_TOPIC = "routing"


def routing_topic(tenant_id: str) -> str:
    """Published whenever a chat of the tenant enters the queue or leaves it waiting,
    and whenever an agent may have become available: one topic for every tenant (the
    routing worker routes each tenant with a queue), so that a tenant created by another
    process needs no new subscription."""
    return ROUTING_TOPIC


# published when a chat gets a timer that may be due before the ones known so far
TIMERS_TOPIC = "chat-timers"


def msg_id(chat_id: str, seq: int) -> str:
    """Letters, digits, ``-`` and ``_`` only: the web widget builds CSS selectors of it."""
    return f"{chat_id}_{seq}"


def payload_kind(direction: str, event_type: str) -> str:
    return "client" if direction == "client" else "server"


def not_found() -> NotFound:
    return NotFound("Chat session is not found", code="5005")


# ---- inside an ORM transaction ---------------------------------------------------------


async def lock_chat(session: AsyncSession, chat_id: str, tenant_id: str) -> ChatSession | None:
    stmt = (
        select(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.tenant_id == tenant_id)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def append(
    session: AsyncSession,
    chat: ChatSession,
    *,
    direction: str,
    event: dict[str, Any],
    party_id: str | None = None,
    now: datetime,
    wake: str | None = None,
) -> int:
    """Append one event to a chat loaded with ``lock_chat``; its ``seq``. The chat's
    topic is published after the commit (``wake`` overrides the payload kind)."""
    chat.last_seq += 1
    seq = chat.last_seq
    await session.execute(
        insert(ChatEvent).values(
            chat_id=chat.id,
            tenant_id=chat.tenant_id,
            seq=seq,
            direction=direction,
            event_type=str(event.get("event", "")),
            party_id=party_id,
            payload=event,
            created_at=now,
        )
    )
    kind = wake or payload_kind(direction, str(event.get("event", "")))
    after_commit(session, chat_topic(chat.id), f"{kind}:{seq}")
    return seq


# ---- inactivity timers --------------------------------------------------------------------


def due_at(
    *,
    state: str,
    timeout: int,
    warning: int,
    idle_since: datetime | None,
    connected_at: datetime | None,
    warning_sent_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """The next inactivity warning or timeout of a chat (None when none is due)."""
    if state != "connected" or timeout <= 0:
        return None
    base = idle_since or connected_at or now
    if warning_sent_at is None and 0 < warning < timeout:
        return base + timedelta(seconds=warning)
    return base + timedelta(seconds=timeout)


def reschedule(chat: ChatSession, now: datetime) -> None:
    """Recompute ``due_at`` of an ORM chat row (and clear deadlines once it ended)."""
    if chat.state not in ACTIVE_STATES:
        chat.due_at = None
        chat.poll_deadline_at = None
        return
    chat.due_at = due_at(
        state=chat.state,
        timeout=chat.inactivity_timeout_seconds or 0,
        warning=chat.inactivity_warning_seconds or 0,
        idle_since=chat.idle_since,
        connected_at=chat.connected_at,
        warning_sent_at=chat.warning_sent_at,
        now=now,
    )


# ---- the hot path: Core on a Connection -------------------------------------------------

_LOCK_COLUMNS = (
    CHATS.c.id,
    CHATS.c.tenant_id,
    CHATS.c.client_key,
    CHATS.c.state,
    CHATS.c.last_seq,
    CHATS.c.connected_at,
    CHATS.c.inactivity_warning_seconds,
    CHATS.c.inactivity_timeout_seconds,
)


def lock_row(conn: Connection, tenant_id: str, chat_id: str) -> Any:
    """The chat's row, locked (PostgreSQL; SQLite writers are serialised anyway)."""
    row: Any = conn.execute(
        select(*_LOCK_COLUMNS)
        .where(CHATS.c.id == chat_id, CHATS.c.tenant_id == tenant_id)
        .with_for_update()
    ).first()
    return row


@dataclass
class Appended:
    seqs: list[int]
    last_seq: int


def file_fields(
    conn: Connection, tenant_id: str, chat_id: str, event: dict[str, Any], uploader: str
) -> None:
    """Complete a ``chat_session_file`` event from the stored file; 5502 when unknown.
    A file uploaded before it was sent is attached to the chat now."""
    f = conn.execute(
        select(
            FILES.c.id, FILES.c.tenant_id, FILES.c.chat_id, FILES.c.name, FILES.c.content_type
        ).where(FILES.c.id == str(event["file_id"]))
    ).first()
    if f is None or f.tenant_id != tenant_id or f.chat_id not in (None, chat_id):
        raise NotFound("File not found", code="5502")
    if f.chat_id is None:
        conn.execute(
            update(FILES)
            .where(FILES.c.id == f.id, FILES.c.chat_id.is_(None))
            .values(chat_id=chat_id, uploaded_by=uploader)
        )
    event["file_name"] = f.name
    kind = event.get("file_type")
    if kind not in ("image", "attachment"):
        event["file_type"] = ev.file_type_for(f.content_type)


def write_events(
    conn: Connection,
    chat: Row[Any],
    items: Sequence[tuple[str, dict[str, Any], str | None]],
    *,
    now: datetime,
    activity: bool,
    client_activity: bool,
) -> Appended:
    """Append ``(direction, event, party_id)`` items to a chat locked with ``lock_row``
    and move its counters (and the inactivity timer when ``activity``)."""
    seq = chat.last_seq
    rows = []
    seqs = []
    for direction, event, party_id in items:
        seq += 1
        if event.get("event") in WITH_MSG_ID:
            event.setdefault("msg_id", msg_id(chat.id, seq))
        rows.append(
            {
                "chat_id": chat.id,
                "tenant_id": chat.tenant_id,
                "seq": seq,
                "direction": direction,
                "event_type": str(event.get("event", "")),
                "party_id": party_id,
                "payload": event,
                "created_at": now,
            }
        )
        seqs.append(seq)
    conn.execute(insert(EVENTS), rows)
    values: dict[str, Any] = {"last_seq": seq}
    if client_activity:
        values["last_client_activity_at"] = now
    if activity and chat.state == "connected":
        values["idle_since"] = now
        values["warning_sent_at"] = None
        values["due_at"] = due_at(
            state=chat.state,
            timeout=chat.inactivity_timeout_seconds or 0,
            warning=chat.inactivity_warning_seconds or 0,
            idle_since=now,
            connected_at=chat.connected_at,
            warning_sent_at=None,
            now=now,
        )
    conn.execute(update(CHATS).where(CHATS.c.id == chat.id).values(**values))
    return Appended(seqs, seq)


def redact(data: Any) -> Any:
    """Secure form values never reach the log: only which fields were sent."""
    if isinstance(data, dict):
        return dict.fromkeys(data, "***")
    return "***"


def prepare_client_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for raw in events:
        event = dict(raw)
        if event["event"] == ev.SECURE_FORM_DATA and "data" in event:
            event["data"] = redact(event["data"])
        out.append(event)
    return out


def check_client(chat: Row[Any] | None, client_key: str) -> Row[Any]:
    if chat is None or chat.client_key != client_key or chat.state not in ACTIVE_STATES:
        raise not_found()
    return chat


def invalid_event(name: str) -> Invalid:
    return Invalid(f"Error decoding JSON request body: unsupported event {name}", code="5003")
