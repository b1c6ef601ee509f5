"""Every state change of SMS messages: accepting a message to send, claiming and sending
queued messages (the worker), delivery reports, inbound messages into chats, and the
relay of agents' chat messages back to the customer's phone.

Compliance lives here, not in the API: numbers are normalised to E.164, the sender
must be one of the tenant's text-capable access numbers, and the destination is
checked against the tenant's Do-Not-Call lists when the message is accepted and again
right before it is handed to the carrier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exc as sa_exc
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats import events as ev
from switchboard.chats import service as chat_service
from switchboard.chats.hours import is_open
from switchboard.chats.models import ACTIVE_STATES, ChatSession
from switchboard.core.db import utcnow
from switchboard.core.errors import DomainError, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.interactions import actions as interactions
from switchboard.scenarios.models import AccessNumber, HoursOfOperation, ScenarioEntry
from switchboard.sms import numbers
from switchboard.sms.carriers import CarrierResult, OutgoingSms, get_carrier
from switchboard.sms.models import (
    DELIVERED,
    FAILED,
    INBOUND,
    OUTBOUND_API,
    OUTBOUND_REPLY,
    QUEUED,
    RECEIVED,
    SENDING,
    SENT,
    SmsConversation,
    SmsMessage,
)
from switchboard.tenants.models import Tenant

log = logging.getLogger(__name__)

OUTBOX_TOPIC = "sms:outbox"
MAX_BODY = 1600
MAX_MEDIA = 10
BATCH = 50
# chat events whose text goes to an SMS customer (from agents and the scenario)
RELAYED = (ev.MESSAGE, ev.TIMEOUT_WARNING, ev.INACTIVITY_TIMEOUT)


# ---- the Send Message request -------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    to: str
    from_: str
    body: str
    media_urls: tuple[str, ...]


def field_value(data: dict[str, Any], *names: str) -> Any:
    """A request field by any of its spellings (``MediaUrls``, ``MediaURLs``, ``to``...)."""
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _number(data: dict[str, Any], name: str, missing: str, invalid: str) -> str:
    value = field_value(data, name)
    if value is None or value == "":
        raise Invalid(f"A '{name}' phone number is required", code=missing)
    if not isinstance(value, str):
        raise Invalid(f"'{name}' must be a string (a phone number in E.164 format)", code=invalid)
    return value.strip()


def parse_send(data: dict[str, Any]) -> SendRequest:
    """Validate the fields of a Send Message request (Twilio-style error codes)."""
    to = _number(data, "To", "21604", "21211")
    sender = _number(data, "From", "21603", "21212")
    body = field_value(data, "Body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise Invalid("'Body' must be a string", code="21602")
    media = field_value(data, "MediaUrls", "MediaUrl")
    if media is None:
        media = []
    if isinstance(media, str):
        media = [media]
    if not isinstance(media, list) or not all(isinstance(u, str) for u in media):
        raise Invalid("'MediaUrls' must be an array of URLs", code="21620")
    if len(media) > MAX_MEDIA:
        raise Invalid(f"'MediaUrls' may contain up to {MAX_MEDIA} items", code="21623")
    for url in media:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
            raise Invalid(f"Invalid media URL: {url[:200]}", code="21620")
    if not body.strip() and not media:
        raise Invalid("'Body' is required unless 'MediaUrls' is given", code="21602")
    if len(body) > MAX_BODY:
        raise Invalid(f"'Body' exceeds {MAX_BODY} characters", code="21617")
    return SendRequest(to=to, from_=sender, body=body, media_urls=tuple(media))


# ---- sending --------------------------------------------------------------------------


def _dnc_error(message: SmsMessage, list_name: str) -> None:
    message.status = FAILED
    message.error_code = "21610"
    message.error_message = f"Not sent: {message.to_e164} is on the Do-Not-Call list '{list_name}'"


async def send(rt: Runtime, *, tenant_id: str, user_id: str | None, req: SendRequest) -> SmsMessage:
    """Accept a message: ``queued`` for the worker, or ``failed`` at once when the
    destination is on a Do-Not-Call list."""
    region = rt.settings.default_phone_region
    to_e164 = numbers.to_e164(req.to, region)
    if to_e164 is None:
        raise Invalid(f"'To' is not a valid phone number: {req.to[:64]}", code="21211")
    from_e164 = numbers.to_e164(req.from_, region)
    if from_e164 is None:
        raise Invalid(f"'From' is not a valid phone number: {req.from_[:64]}", code="21212")
    now = utcnow()
    async with rt.db.write() as s:
        access = await numbers.text_access_number(
            session=s, tenant_id=tenant_id, e164=from_e164, region=region
        )
        if access is None:
            raise Invalid(
                f"'From' {req.from_[:64]} is not a text-capable access number of this "
                "contact center",
                code="21606",
            )
        message = SmsMessage(
            tenant_id=tenant_id,
            direction=OUTBOUND_API,
            from_number=req.from_[:64],
            to_number=req.to[:64],
            from_e164=from_e164,
            to_e164=to_e164,
            body=req.body,
            media_urls=list(req.media_urls),
            num_segments=numbers.segments(req.body),
            status=QUEUED,
            user_id=user_id,
            next_attempt_at=now,
            date_created=now,
            date_updated=now,
        )
        hit = await numbers.dnc_block(session=s, tenant_id=tenant_id, e164=to_e164, region=region)
        if hit is not None:
            _dnc_error(message, hit.list_name)
            message.next_attempt_at = None
        s.add(message)
    if message.status == QUEUED:
        await rt.bus.publish(OUTBOX_TOPIC, message.id)
    return message


@dataclass(frozen=True)
class _Claimed:
    id: str
    outgoing: OutgoingSms


async def _claim(rt: Runtime) -> list[_Claimed]:
    """Claim due queued messages (``FOR UPDATE SKIP LOCKED``: one process each); a
    destination put on a Do-Not-Call list since the message was accepted fails here."""
    now = utcnow()
    region = rt.settings.default_phone_region
    out: list[_Claimed] = []
    async with rt.db.write() as s:
        stmt = (
            select(SmsMessage)
            .where(SmsMessage.status == QUEUED, SmsMessage.next_attempt_at <= now)
            .order_by(SmsMessage.next_attempt_at, SmsMessage.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        for message in (await s.execute(stmt)).scalars().all():
            message.date_updated = now
            hit = await numbers.dnc_block(
                session=s, tenant_id=message.tenant_id, e164=message.to_e164, region=region
            )
            if hit is not None:
                _dnc_error(message, hit.list_name)
                message.next_attempt_at = None
                continue
            message.status = SENDING
            message.lease_until = now + timedelta(seconds=rt.settings.sms_lease_seconds)
            out.append(
                _Claimed(
                    message.id,
                    OutgoingSms(
                        message_id=message.id,
                        tenant_id=message.tenant_id,
                        from_e164=message.from_e164,
                        to_e164=message.to_e164,
                        body=message.body,
                        media_urls=tuple(message.media_urls or ()),
                    ),
                )
            )
    return out


async def _record(rt: Runtime, message_id: str, result: CarrierResult, *, claimed: bool) -> None:
    """Store the carrier's answer (``claimed``: the answer to our own send)."""
    now = utcnow()
    carrier = get_carrier(rt)
    async with rt.db.write() as s:
        stmt = select(SmsMessage).where(SmsMessage.id == message_id).with_for_update()
        message = (await s.execute(stmt)).scalar_one_or_none()
        if message is None:
            return
        if claimed and message.status != SENDING:
            return
        if not claimed and message.status != SENT:
            return
        message.status = result.status
        message.lease_until = None
        message.date_updated = now
        if result.provider_sid:
            message.provider_sid = result.provider_sid
        if result.status in (SENT, DELIVERED) and message.date_sent is None:
            message.date_sent = now
        if result.status == FAILED:
            message.error_code = result.error_code or "30008"
            message.error_message = result.error_message or "The carrier could not send it"
        message.next_attempt_at = None
        if result.status == SENT and carrier.checks_status and message.provider_sid:
            message.next_attempt_at = now + timedelta(seconds=rt.settings.sms_status_poll_seconds)


async def send_due(rt: Runtime) -> int:
    """Send what is queued; the number of messages handed to the carrier."""
    claimed = await _claim(rt)
    carrier = get_carrier(rt)
    for item in claimed:
        try:
            result = await carrier.send(item.outgoing)
        except Exception as e:
            log.exception("sms: carrier failed on %s", item.id)
            result = CarrierResult("failed", None, "30008", f"Carrier error: {e}")
        await _record(rt, item.id, result, claimed=True)
    return len(claimed)


async def check_sent(rt: Runtime) -> int:
    """Ask the carrier about ``sent`` messages that are due for a delivery check;
    after a day without a final report a message stays ``sent``."""
    carrier = get_carrier(rt)
    if not carrier.checks_status:
        return 0
    now = utcnow()
    async with rt.db.write() as s:
        stmt = (
            select(SmsMessage)
            .where(SmsMessage.status == SENT, SmsMessage.next_attempt_at <= now)
            .order_by(SmsMessage.next_attempt_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        due = list((await s.execute(stmt)).scalars().all())
        for message in due:
            sent_at = message.date_sent or message.date_created
            if now - sent_at > timedelta(days=1):
                message.next_attempt_at = None
            else:
                message.next_attempt_at = now + timedelta(
                    seconds=rt.settings.sms_status_poll_seconds
                )
        todo = [(m.id, m.provider_sid) for m in due if m.next_attempt_at and m.provider_sid]
    for message_id, provider_sid in todo:
        report = await carrier.status(provider_sid or "")
        if report is not None and report.status != SENT:
            await _record(rt, message_id, report, claimed=False)
    return len(todo)


async def recover(rt: Runtime) -> int:
    """A ``sending`` message whose lease ran out: its process stopped while the carrier
    had it. It may have gone out, so it is failed, never sent a second time."""
    now = utcnow()
    async with rt.db.write() as s:
        stmt = (
            select(SmsMessage)
            .where(SmsMessage.status == SENDING, SmsMessage.lease_until < now)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        stale = list((await s.execute(stmt)).scalars().all())
        for message in stale:
            message.status = FAILED
            message.lease_until = None
            message.date_updated = now
            message.error_code = "30008"
            message.error_message = (
                "Unknown delivery: the server stopped while the carrier had the message"
            )
    return len(stale)


async def delivery_report(
    rt: Runtime, *, provider_sid: str, status: str, error_code: str | None, error: str | None
) -> bool:
    """A carrier's status callback (``sent``/``delivered``/``failed``/``undelivered``)."""
    mapped = {"sent": SENT, "delivered": DELIVERED, "failed": FAILED, "undelivered": FAILED}
    final = mapped.get(status.lower())
    if final is None:
        return False
    now = utcnow()
    async with rt.db.write() as s:
        stmt = (
            select(SmsMessage)
            .where(SmsMessage.provider_sid == provider_sid, SmsMessage.direction != INBOUND)
            .with_for_update()
        )
        message = (await s.execute(stmt)).scalars().first()
        if message is None or message.status in (DELIVERED, FAILED):
            return message is not None
        message.status = final
        message.date_updated = now
        message.next_attempt_at = None
        message.date_sent = message.date_sent or now
        if final == FAILED:
            message.error_code = error_code or "30008"
            message.error_message = error or "The carrier could not deliver it"
    return True


# ---- inbound messages and chats -------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    message: SmsMessage
    chat_id: str | None
    is_new_chat: bool


def client_key(access_e164: str, customer_e164: str) -> str:
    """The chat engine's client identity of an SMS customer on one access number."""
    return f"sms:{access_e164}:{customer_e164}"


async def _entry_for(s: AsyncSession, access: AccessNumber) -> ScenarioEntry | None:
    """The Messaging/Chat entry of an access number: its ``scenario`` names the
    entry's appId (or its name)."""
    if not access.scenario:
        return None
    stmt = (
        select(ScenarioEntry)
        .where(
            ScenarioEntry.tenant_id == access.tenant_id,
            or_(ScenarioEntry.app_id == access.scenario, ScenarioEntry.name == access.scenario),
            ScenarioEntry.enabled.is_(True),
        )
        .order_by(ScenarioEntry.app_id == access.scenario)
    )
    found = (await s.execute(stmt)).scalars().all()
    return found[-1] if found else None


async def receive(
    rt: Runtime,
    *,
    to: str,
    from_: str,
    body: str,
    media_urls: tuple[str, ...] = (),
    tenant_domain: str | None = None,
    provider_sid: str | None = None,
) -> Inbound:
    """A customer's message to an access number: stored, then given to the chat service
    of the number's scenario entry (a new chat, or the customer's active one)."""
    region = rt.settings.default_phone_region
    to_e164 = numbers.to_e164(to, region)
    if to_e164 is None:
        raise Invalid(f"'To' is not a valid phone number: {to[:64]}", code="21211")
    from_e164 = numbers.to_e164(from_, region)
    if from_e164 is None:
        raise Invalid(f"'From' is not a valid phone number: {from_[:64]}", code="21212")
    now = utcnow()
    async with rt.db.write() as s:
        found = list(await numbers.access_numbers_matching(session=s, e164=to_e164, region=region))
        if tenant_domain:
            tenant = (
                await s.execute(select(Tenant).where(Tenant.domain == tenant_domain.lower()))
            ).scalar_one_or_none()
            found = [a for a in found if tenant is not None and a.tenant_id == tenant.id]
        if not found:
            raise NotFound(f"No text-capable access number {to_e164}", code="21606")
        if len({a.tenant_id for a in found}) > 1:
            raise Invalid(
                f"Access number {to_e164} belongs to several contact centers: add ?tenant=",
                code="21606",
            )
        access = found[0]
        message = SmsMessage(
            tenant_id=access.tenant_id,
            direction=INBOUND,
            from_number=from_[:64],
            to_number=to[:64],
            from_e164=from_e164,
            to_e164=to_e164,
            body=body,
            media_urls=list(media_urls),
            num_segments=numbers.segments(body),
            status=RECEIVED,
            provider_sid=provider_sid,
            date_created=now,
            date_sent=now,
            date_updated=now,
        )
        s.add(message)
        entry = await _entry_for(s, access)
        hours = await s.get(HoursOfOperation, entry.hours_id) if entry and entry.hours_id else None
        tenant_row = await s.get(Tenant, access.tenant_id)
        key = client_key(to_e164, from_e164)
        active = await chat_service.get_active_for_client(
            session=s, tenant_id=access.tenant_id, client_key=key
        )
        access_number = access.number
    if entry is None:
        return Inbound(message, None, False)
    if active is None and not is_open(hours, now):
        reply = tenant_row.setting("sms_closed_reply") if tenant_row else None
        if reply:
            await _queue_reply(rt, message, access_number, str(reply), chat_id=None)
        return Inbound(message, None, False)
    text = body
    if media_urls:
        text = "\n".join([body, *media_urls]) if body else "\n".join(media_urls)
    event = ev.clean({"event": ev.MESSAGE, "msg": text}, ev.CLIENT_EVENTS, where="sms")
    chat_id, is_new = await _to_chat(rt, entry, key, from_e164, event)
    await _attach(rt, message, chat_id, access_number, to_e164, from_e164)
    return Inbound(message, chat_id, is_new)


async def _to_chat(
    rt: Runtime, entry: ScenarioEntry, key: str, customer: str, event: dict[str, Any]
) -> tuple[str, bool]:
    for attempt in range(3):
        made = await interactions.request_chat(
            rt,
            tenant_id=entry.tenant_id,
            entry=entry,
            client_key=key,
            user_agent="SMS",
            phone_number=customer,
            from_address=customer,
            parameters={"PHONE": customer},
            initial_message=event,
            poll_abandon_seconds=rt.settings.sms_chat_abandon_seconds,
        )
        if made.is_new:
            return made.chat.id, True
        try:
            await interactions.customer_events(
                rt, tenant_id=entry.tenant_id, chat_id=made.chat.id, client_key=key, events=[event]
            )
            return made.chat.id, False
        except DomainError:
            if attempt == 2:
                raise
            continue  # the chat ended meanwhile: the next attempt starts a new one
    raise AssertionError("unreachable")


async def _attach(
    rt: Runtime,
    message: SmsMessage,
    chat_id: str,
    access_number: str,
    access_e164: str,
    customer_e164: str,
) -> None:
    """Link the message to its chat and make sure the chat has its conversation."""
    async with rt.db.write() as s:
        row = await s.get(SmsMessage, message.id)
        if row is not None:
            row.chat_id = chat_id
        message.chat_id = chat_id
        exists = (
            await s.execute(select(SmsConversation.id).where(SmsConversation.chat_id == chat_id))
        ).first()
        if exists is None:
            try:
                async with s.begin_nested():
                    s.add(
                        SmsConversation(
                            tenant_id=message.tenant_id,
                            chat_id=chat_id,
                            access_number=access_number,
                            access_e164=access_e164,
                            customer_e164=customer_e164,
                        )
                    )
            except sa_exc.IntegrityError:
                pass  # another message of the same customer created it first


async def _queue_reply(
    rt: Runtime, inbound: SmsMessage, access_number: str, text: str, *, chat_id: str | None
) -> None:
    now = utcnow()
    async with rt.db.write() as s:
        s.add(
            SmsMessage(
                tenant_id=inbound.tenant_id,
                direction=OUTBOUND_REPLY,
                from_number=access_number,
                to_number=inbound.from_e164,
                from_e164=inbound.to_e164,
                to_e164=inbound.from_e164,
                body=text[:MAX_BODY],
                media_urls=[],
                num_segments=numbers.segments(text[:MAX_BODY]),
                status=QUEUED,
                chat_id=chat_id,
                next_attempt_at=now,
                date_created=now,
                date_updated=now,
            )
        )
    await rt.bus.publish(OUTBOX_TOPIC, inbound.id)


async def relay_chats(rt: Runtime) -> int:
    """Queue the agents' new chat messages of SMS conversations as SMS replies; a
    conversation whose chat ended is closed once everything was relayed."""
    now = utcnow()
    queued = 0
    async with rt.db.write() as s:
        stmt = (
            select(SmsConversation, ChatSession.last_seq, ChatSession.state)
            .join(ChatSession, ChatSession.id == SmsConversation.chat_id)
            .where(
                SmsConversation.active.is_(True),
                or_(
                    ChatSession.last_seq > SmsConversation.relayed_seq,
                    ChatSession.state.not_in(ACTIVE_STATES),
                ),
            )
            .order_by(SmsConversation.id)
            .limit(BATCH)
            .with_for_update(of=SmsConversation, skip_locked=True)
        )
        for conv, last_seq, state in (await s.execute(stmt)).all():
            rows = await chat_service.server_events_after(
                session=s, chat_id=conv.chat_id, after_seq=conv.relayed_seq
            )
            for row in rows:
                text = row.payload.get("msg")
                if row.event_type not in RELAYED or row.party_id == conv.chat_id or not text:
                    continue
                body = str(text)[:MAX_BODY]
                s.add(
                    SmsMessage(
                        tenant_id=conv.tenant_id,
                        direction=OUTBOUND_REPLY,
                        from_number=conv.access_number,
                        to_number=conv.customer_e164,
                        from_e164=conv.access_e164,
                        to_e164=conv.customer_e164,
                        body=body,
                        media_urls=[],
                        num_segments=numbers.segments(body),
                        status=QUEUED,
                        chat_id=conv.chat_id,
                        next_attempt_at=now,
                        date_created=now,
                        date_updated=now,
                    )
                )
                queued += 1
            complete = len(rows) < 500
            seen = rows[-1].seq if rows else 0
            # events appended since ``last_seq`` was read are in ``rows`` already
            conv.relayed_seq = max(last_seq, seen) if complete else seen
            conv.updated_at = now
            if complete and state not in ACTIVE_STATES:
                conv.active = False
    if queued:
        await rt.bus.publish(OUTBOX_TOPIC, "relay")
    return queued
