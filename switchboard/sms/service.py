"""Reading SMS messages and rendering them as the SMS/MMS API's message resource."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import NotFound
from switchboard.sms.models import SENDING, SmsMessage
from switchboard.sms.schemas import SmsMessageRead

URI = "/clientweb/smsapi/v1/Messages/"


async def get(*, session: AsyncSession, tenant_id: str, sid: str) -> SmsMessage | None:
    found = await session.get(SmsMessage, sid)
    if found is None or found.tenant_id != tenant_id:
        return None
    return found


async def get_or_raise(*, session: AsyncSession, tenant_id: str, sid: str) -> SmsMessage:
    found = await get(session=session, tenant_id=tenant_id, sid=sid)
    if found is None:
        raise NotFound(f"Message not found: {sid}", code="20404")
    return found


def rfc2822(value: datetime | None) -> str | None:
    """``Wed, 06 Feb 2019 08:24:08 +0000``, as the seed shows every date."""
    return format_datetime(value) if value is not None else None


def to_read(message: SmsMessage) -> SmsMessageRead:
    return SmsMessageRead(
        account_sid=message.tenant_id,
        tenant_id=message.tenant_id,
        body=message.body,
        num_segments=str(message.num_segments),
        num_media=str(len(message.media_urls or [])),
        date_created=rfc2822(message.date_created) or "",
        date_sent=rfc2822(message.date_sent),
        date_updated=rfc2822(message.date_updated) or "",
        direction=message.direction,
        error_code=message.error_code,
        error_message=message.error_message,
        from_=message.from_number,
        sid=message.id,
        # claimed by a worker, the carrier has not answered yet: still queued
        status="queued" if message.status == SENDING else message.status,
        to=message.to_number,
        uri=URI + message.id,
    )
