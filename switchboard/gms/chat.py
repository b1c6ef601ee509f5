"""The Chat API v2 adapter onto our chat engine (``switchboard.chats``).

A GMS chat is a chat session of the engine, created through the engine's customer-side
``actions.create_chat`` on the scenario entry whose appId is the GMS chat service name,
so routing offers it to agents like any other chat. The customer is identified by the
client key ``gms:<userId>``; the ``secureKey`` handed out at creation is checked on
every later request against its SHA-256 digest.

The transcript is the engine's event log (``chats.service.events_after``): a message's
``index`` is the event's sequence number, ``nextPosition`` the one after the last event
read. A refresh also counts as the customer's poll (``chats.polling.poll`` with no
hold), which keeps the chat from ending as abandoned while the client refreshes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import actions as chat_actions
from switchboard.chats import events as ev
from switchboard.chats import polling
from switchboard.chats import service as chat_service
from switchboard.chats.hours import is_open
from switchboard.chats.models import ACTIVE_STATES, ChatEvent, ChatParty, ChatSession
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, DomainError, Forbidden, NotFound, Unavailable
from switchboard.core.runtime import Runtime
from switchboard.core.security import token_digest
from switchboard.gms import service
from switchboard.gms.models import GmsChat
from switchboard.interactions import actions as interactions
from switchboard.scenarios.models import HoursOfOperation, ScenarioEntry
from switchboard.tenants.models import Tenant

ALIAS = "1"
# our chat events -> GMS message types
_TYPES = {
    ev.PARTY_JOINED: "ParticipantJoined",
    ev.PARTY_LEFT: "ParticipantLeft",
    ev.ENDED: "ParticipantLeft",
    ev.MESSAGE: "Message",
    "chat_session_typing": "TypingStarted",
    "chat_session_not_typing": "TypingStopped",
    ev.FILE: "FileUploaded",
    ev.TIMEOUT_WARNING: "Notice",
    ev.INACTIVITY_TIMEOUT: "Notice",
    "chat_session_info": "Notice",
    "chat_session_navigation": "PushUrl",
}
_PARTY_TYPES = {"customer": "Client", "internal": "Agent", "external": "External"}


def not_found(chat_id: str) -> NotFound:
    return NotFound(f"Chat not found: {chat_id}")


def ended() -> Conflict:
    return Conflict("The chat has ended")


def client_key(user_id: str) -> str:
    return f"gms:{user_id}"


@dataclass
class Started:
    link: GmsChat
    secure_key: str
    chat: ChatSession


async def entry_for(rt: Runtime, *, tenant_id: str, app_id: str) -> ScenarioEntry:
    """The enabled scenario entry named by the GMS chat service; 404 otherwise."""
    async with rt.db.read() as s:
        entry = await service.get_scenario_entry(session=s, tenant_id=tenant_id, app_id=app_id)
    if entry is None or not entry.enabled:
        raise NotFound(f"Chat service not found: {app_id}")
    return entry


async def start(
    rt: Runtime,
    *,
    tenant: Tenant,
    entry: ScenarioEntry,
    nickname: str,
    parameters: dict[str, Any],
    email: str | None,
    text: str | None,
    service_id: str | None = None,
) -> Started:
    """Create the chat session (queued by the entry) and its GMS link."""
    if entry.hours_id is not None:
        async with rt.db.read() as s:
            hours = await s.get(HoursOfOperation, entry.hours_id)
        if not is_open(hours, utcnow()):
            raise Unavailable("The chat service is closed")
    initial = ev.clean({"event": ev.MESSAGE, "msg": text}, ev.CLIENT_EVENTS) if text else None
    user_id = secrets.token_hex(8).upper()
    secure_key = secrets.token_hex(16)
    link = GmsChat(
        tenant_id=tenant.id,
        app_id=entry.app_id,
        user_id=user_id,
        secure_key_digest=token_digest(secure_key),
        alias=ALIAS,
        nickname=nickname[:255],
        service_id=service_id,
        created_at=utcnow(),
    )

    async def add_link(s: AsyncSession, chat: ChatSession) -> None:
        link.chat_id = chat.id
        s.add(link)

    # the chat, its interaction record and its GMS link: one transaction
    made = await interactions.request_chat(
        rt,
        tenant_id=tenant.id,
        entry=entry,
        client_key=client_key(user_id),
        user_agent="GMS Chat API v2",
        phone_number=None,
        from_address=email or nickname or None,
        parameters=parameters,
        initial_message=initial,
        poll_abandon_seconds=chat_actions.poll_abandon_seconds_for(rt, tenant.settings),
        on_created=add_link,
    )
    return Started(link, secure_key, made.chat)


async def authorize(
    rt: Runtime,
    *,
    tenant_id: str,
    app_id: str | None,
    chat_id: str,
    secure_key: str | None,
    user_id: str | None,
) -> GmsChat:
    """The chat's link when ``secureKey`` (and ``userId`` when given) are right: 404 for
    an unknown chat (or one of another service), 403 for a wrong or missing key."""
    async with rt.db.read() as s:
        link = await service.get_chat(session=s, tenant_id=tenant_id, chat_id=chat_id)
    if link is None or (app_id is not None and link.app_id != app_id):
        raise not_found(chat_id)
    given = token_digest(secure_key or "")
    if not secure_key or not hmac.compare_digest(given, link.secure_key_digest):
        raise Forbidden("Invalid secureKey")
    if user_id is not None and not hmac.compare_digest(user_id, link.user_id):
        raise Forbidden("Invalid userId")
    return link


async def keep_alive(rt: Runtime, link: GmsChat) -> None:
    """Count as the customer's poll (no hold): the engine's gone-client timer restarts."""
    try:
        await polling.poll(
            rt,
            tenant_id=link.tenant_id,
            chat_id=link.chat_id,
            client_key=client_key(link.user_id),
            hold=0,
        )
    except DomainError:
        return  # an ended chat, or a concurrent refresh: nothing to keep alive


async def post(rt: Runtime, link: GmsChat, *events: dict[str, Any]) -> None:
    """The customer's events (cleaned here); 409 when the chat has ended."""
    cleaned = [ev.clean(e, ev.CLIENT_EVENTS) for e in events]
    try:
        await interactions.customer_events(
            rt,
            tenant_id=link.tenant_id,
            chat_id=link.chat_id,
            client_key=client_key(link.user_id),
            events=cleaned,
        )
    except NotFound as e:
        raise ended() from e


async def disconnect(rt: Runtime, link: GmsChat) -> None:
    """The customer leaves: the chat ends (idempotent)."""
    try:
        await post(rt, link, {"event": ev.END})
    except Conflict:
        return


@dataclass
class Transcript:
    messages: list[dict[str, Any]]
    next_position: int
    ended: bool


async def transcript(rt: Runtime, link: GmsChat, *, from_position: int) -> Transcript:
    """The messages with ``index >= from_position``."""
    after = max(from_position, 1) - 1
    async with rt.db.read() as s:
        chat = await chat_service.get_chat(
            session=s, tenant_id=link.tenant_id, chat_id=link.chat_id
        )
        if chat is None:
            raise not_found(link.chat_id)
        rows = await chat_service.events_after(session=s, chat_id=chat.id, after_seq=after)
        parties = await _parties(s, chat.id) if rows else []
    names = _participants(link, parties)
    messages = [m for m in (_message(r, link, names) for r in rows) if m is not None]
    next_position = rows[-1].seq + 1 if rows else min(after + 1, chat.last_seq + 1)
    return Transcript(messages, next_position, chat.state not in ACTIVE_STATES)


async def _parties(s: AsyncSession, chat_id: str) -> Sequence[ChatParty]:
    stmt = (
        select(ChatParty)
        .where(ChatParty.chat_id == chat_id)
        .order_by(ChatParty.joined_at, ChatParty.id)
    )
    return (await s.execute(stmt)).scalars().all()


def _participants(link: GmsChat, parties: Sequence[ChatParty]) -> dict[str, dict[str, Any]]:
    """``from`` of each party: the customer is participant 1, the others follow in the
    order they joined."""
    out: dict[str, dict[str, Any]] = {
        link.chat_id: {"nickname": link.nickname, "participantId": 1, "type": "Client"}
    }
    number = 1
    for p in parties:
        if p.id == link.chat_id:
            continue
        number += 1
        out[p.id] = {
            "nickname": p.display_name,
            "participantId": number,
            "type": _PARTY_TYPES.get(p.type, "External"),
        }
    return out


def _message(
    row: ChatEvent, link: GmsChat, names: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    payload = row.payload or {}
    kind = row.event_type
    if kind == ev.STATUS and payload.get("state") == "queued" and row.seq == 1:
        # the chat's first event: the customer joined
        kind_out = "ParticipantJoined"
        party = link.chat_id
    else:
        found = _TYPES.get(kind)
        if found is None:
            return None
        kind_out = found
        party = str(payload.get("party_id") or row.party_id or "")
        if kind != ev.PARTY_JOINED and kind != ev.PARTY_LEFT:
            party = row.party_id or link.chat_id
    sender = names.get(party, {"nickname": "", "participantId": 0, "type": "External"})
    out: dict[str, Any] = {
        "from": dict(sender),
        "index": row.seq,
        "type": kind_out,
        "utcTime": int(row.created_at.timestamp() * 1000),
    }
    if kind == ev.MESSAGE:
        out["text"] = str(payload.get("msg", ""))
    elif kind == ev.FILE:
        out["text"] = str(payload.get("file_name", ""))
        out["userData"] = {
            "file-id": str(payload.get("file_id", "")),
            "file-name": str(payload.get("file_name", "")),
            "file-type": str(payload.get("file_type", "")),
        }
    elif kind == "chat_session_navigation":
        out["text"] = str(payload.get("page", ""))
    elif kind_out == "Notice" and payload.get("msg"):
        out["text"] = str(payload["msg"])
    return out
