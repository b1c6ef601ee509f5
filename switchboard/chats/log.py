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

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import events as ev
from switchboard.chats.models import ACTIVE_STATES, ChatEvent, ChatFile, ChatSession
from switchboard.core.db import after_commit
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.sql import Raw

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


@dataclass
class ChatRow:
    """What the hot path needs of a chat row."""

    id: str
    tenant_id: str
    client_key: str
    state: str
    last_seq: int
    connected_at: datetime | None
    inactivity_warning_seconds: int
    inactivity_timeout_seconds: int


# the columns of ``ChatRow``, of the chat ``c``
_CHAT_COLUMNS = (
    "c.id, c.tenant_id, c.client_key, c.state, c.last_seq, c.connected_at,"
    " c.inactivity_warning_seconds, c.inactivity_timeout_seconds"
)
_LOCK_SQL = f"SELECT {_CHAT_COLUMNS} FROM chat_sessions c WHERE c.id = ? AND c.tenant_id = ?"  # noqa: S608 (fixed column names)


def _chat_row(raw: Raw, row: tuple[Any, ...]) -> ChatRow:
    return ChatRow(
        row[0], row[1], row[2], row[3], row[4], raw.ts_out(row[5]), row[6] or 0, row[7] or 0
    )


def lock_row(raw: Raw, tenant_id: str, chat_id: str) -> ChatRow | None:
    """The chat's row, locked (PostgreSQL; SQLite writers are serialised anyway)."""
    row = raw.one(_LOCK_SQL + raw.for_update("c"), (chat_id, tenant_id))
    return None if row is None else _chat_row(raw, row)


@dataclass
class PartyRow:
    """The sending party and the customer's push subscription, read with the chat's lock."""

    display_name: str
    left_at: datetime | None
    # (kind, token, bundle_id) of the chat's push subscription, if any
    push: tuple[str, str, str | None] | None


_LOCK_WITH_PARTY_SQL = (
    f"SELECT {_CHAT_COLUMNS}, p.id, p.display_name, p.left_at, ps.kind, ps.token, ps.bundle_id"  # noqa: S608 (fixed column names)
    " FROM chat_sessions c"
    " LEFT JOIN chat_parties p ON p.id = ? AND p.chat_id = c.id"
    " LEFT JOIN chat_push_subscriptions ps ON ps.chat_id = c.id"
    " WHERE c.id = ? AND c.tenant_id = ?"
)


def lock_row_with_party(
    raw: Raw, tenant_id: str, chat_id: str, party_id: str
) -> tuple[ChatRow | None, PartyRow | None]:
    """``lock_row`` and, in the same statement, the party ``party_id`` of that chat and
    the chat's push subscription (only the chat's row is locked)."""
    row = raw.one(_LOCK_WITH_PARTY_SQL + raw.for_update("c"), (party_id, chat_id, tenant_id))
    if row is None:
        return None, None
    chat = _chat_row(raw, row)
    if row[8] is None:
        return chat, None
    push = (row[11], row[12], row[13]) if row[11] is not None else None
    return chat, PartyRow(row[9], raw.ts_out(row[10]), push)


class LogRow:
    """A row of a chat's log as much as clients see of it (``events.render`` reads it)."""

    __slots__ = ("created_at", "party_id", "payload", "seq")

    def __init__(self, raw: Raw, seq: int, payload: Any, party_id: str | None, at: Any) -> None:
        created_at = raw.ts_out(at)
        assert created_at is not None  # (a column that is never null)
        self.seq = seq
        self.payload: dict[str, Any] = raw.json_out(payload)
        self.party_id = party_id
        self.created_at = created_at


@dataclass
class Appended:
    seqs: list[int]
    last_seq: int


def file_fields(
    raw: Raw, tenant_id: str, chat_id: str, event: dict[str, Any], uploader: str
) -> None:
    """Complete a ``chat_session_file`` event from the stored file; 5502 when unknown.
    A file uploaded before it was sent is attached to the chat now."""
    f = raw.one(
        "SELECT id, tenant_id, chat_id, name, content_type FROM chat_files WHERE id = ?",
        (str(event["file_id"]),),
    )
    if f is None or f[1] != tenant_id or f[2] not in (None, chat_id):
        raise NotFound("File not found", code="5502")
    if f[2] is None:
        raw.execute(
            "UPDATE chat_files SET chat_id = ?, uploaded_by = ? WHERE id = ? AND chat_id IS NULL",
            (chat_id, uploader, f[0]),
        )
    event["file_name"] = f[3]
    kind = event.get("file_type")
    if kind not in ("image", "attachment"):
        event["file_type"] = ev.file_type_for(f[4])


_INSERT_EVENT = (
    "INSERT INTO chat_events (chat_id, tenant_id, seq, direction, event_type, party_id,"
    " payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def write_events(
    raw: Raw,
    chat: ChatRow,
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
    stamp = raw.ts(now)
    for direction, event, party_id in items:
        seq += 1
        if event.get("event") in WITH_MSG_ID:
            event.setdefault("msg_id", msg_id(chat.id, seq))
        rows.append(
            (
                chat.id,
                chat.tenant_id,
                seq,
                direction,
                str(event.get("event", "")),
                party_id,
                raw.json_in(event),
                stamp,
            )
        )
        seqs.append(seq)
    sets = ["last_seq = ?"]
    params: list[Any] = [seq]
    if client_activity:
        sets.append("last_client_activity_at = ?")
        params.append(stamp)
    if activity and chat.state == "connected":
        due = due_at(
            state=chat.state,
            timeout=chat.inactivity_timeout_seconds,
            warning=chat.inactivity_warning_seconds,
            idle_since=now,
            connected_at=chat.connected_at,
            warning_sent_at=None,
            now=now,
        )
        sets += ["idle_since = ?", "warning_sent_at = NULL", "due_at = ?"]
        params += [stamp, raw.ts(due)]
    params.append(chat.id)
    update = f"UPDATE chat_sessions SET {', '.join(sets)} WHERE id = ?"  # noqa: S608 (fixed column names)
    if raw.pg and len(rows) == 1:
        # PostgreSQL: the insert rides along with the update (a data-modifying CTE), one
        # round trip instead of two
        raw.execute(f"WITH appended AS ({_INSERT_EVENT}) {update}", rows[0] + tuple(params))
    else:
        if len(rows) == 1:
            raw.execute(_INSERT_EVENT, rows[0])
        else:
            raw.many(_INSERT_EVENT, rows)
        raw.execute(update, tuple(params))
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


def check_client(chat: ChatRow | None, client_key: str) -> ChatRow:
    if chat is None or chat.client_key != client_key or chat.state not in ACTIVE_STATES:
        raise not_found()
    return chat


def invalid_event(name: str) -> Invalid:
    return Invalid(f"Error decoding JSON request body: unsupported event {name}", code="5003")
