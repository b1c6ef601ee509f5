"""Phone numbers of SMS: E.164 normalisation, the tenant's text-capable access numbers,
the Do-Not-Call check (an adapter over ``switchboard.dnc.service``) and segments."""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
from phonenumbers import PhoneNumberFormat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.dnc import service as dnc_service
from switchboard.dnc.service import DncHit
from switchboard.scenarios.models import AccessNumber

# access-number media that can send and receive text messages
TEXT_MEDIA = frozenset({"text", "voice_text", "sms", "mms", "text_out", "sms_mms"})

_PLAIN = re.compile(r"\+?\d{8,15}")
_STRIP = re.compile(r"[\s().\-/]")


def to_e164(raw: str, region: str = "US") -> str | None:
    """The E.164 form of ``raw`` (``+`` and 8-15 digits), or None.

    ``phonenumbers`` decides; a number it finds impossible is still accepted when it is
    plainly written as 8-15 digits (carriers deliver to numbers that the library's
    metadata no longer knows, such as Mexican mobiles written with the old ``1``).
    """
    value = _STRIP.sub("", raw or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if not value or len(value) > 20:
        return None
    try:
        parsed = phonenumbers.parse(value, region.upper())
    except phonenumbers.NumberParseException:
        return None
    e164 = str(phonenumbers.format_number(parsed, PhoneNumberFormat.E164))
    if phonenumbers.is_possible_number(parsed):
        return e164
    if _PLAIN.fullmatch(value) and _PLAIN.fullmatch(e164):
        return e164
    return None


async def text_access_number(
    *, session: AsyncSession, tenant_id: str, e164: str, region: str = "US"
) -> AccessNumber | None:
    """The tenant's access number ``e164`` when it can carry text messages."""
    rows = (
        (await session.execute(select(AccessNumber).where(AccessNumber.tenant_id == tenant_id)))
        .scalars()
        .all()
    )
    for row in rows:
        if row.media in TEXT_MEDIA and to_e164(row.number, region) == e164:
            return row
    return None


async def access_numbers_matching(
    *, session: AsyncSession, e164: str, region: str = "US"
) -> Sequence[AccessNumber]:
    """Every tenant's text-capable access number ``e164`` (inbound messages)."""
    digits = e164.lstrip("+")
    candidates = {e164, digits, digits[1:] if digits.startswith("1") else digits}
    stmt = select(AccessNumber).where(AccessNumber.number.in_(sorted(candidates)))
    found = list((await session.execute(stmt)).scalars().all())
    if not found:  # written some other way ("(650) 555-5555"): compare normalised
        stmt = select(AccessNumber).where(AccessNumber.media.in_(sorted(TEXT_MEDIA)))
        found = [
            a for a in (await session.execute(stmt)).scalars() if to_e164(a.number, region) == e164
        ]
    return [a for a in found if a.media in TEXT_MEDIA]


async def dnc_block(
    *, session: AsyncSession, tenant_id: str, e164: str, region: str = "US"
) -> DncHit | None:
    """The Do-Not-Call entry that forbids texting ``e164`` (tenant-wide internal and
    area-code lists, as the outbound engine applies them outside campaigns)."""
    return await dnc_service.is_number_blocked(
        session=session, tenant_id=tenant_id, number=e164, region=region
    )


# GSM 03.38: the basic set, and the extension set (two septets each)
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = set("^{}\\[~]|€\f")


def segments(body: str) -> int:
    """How many SMS segments carry ``body`` (GSM-7: 160, or 153 each when split;
    anything else UCS-2: 70, or 67 each)."""
    if not body:
        return 1
    if all(c in _GSM_BASIC or c in _GSM_EXT for c in body):
        septets = sum(2 if c in _GSM_EXT else 1 for c in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)
