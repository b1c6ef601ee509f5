"""Phone-number normalisation to E.164 (``phonenumbers``), with a fast path for NANP.

Parsing with ``phonenumbers`` costs ~15 µs a number; bulk DNC loads of millions of
numbers take the fast path for the common North-American shapes (10 digits, 11 digits
starting with 1, ``+1`` and 10 digits) and fall back to the library for the rest.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat
from phonenumbers import timezone as pn_timezone

_STRIP = re.compile(r"[\s().\-/]")
_DIGITS = re.compile(r"\+?\d+")


@lru_cache(maxsize=64)
def _country_code(region: str) -> int:
    return int(phonenumbers.country_code_for_region(region.upper()) or 0)


def normalize(raw: str, region: str = "US") -> str | None:
    """E.164 form of ``raw`` (``+`` and digits), or None when it holds no phone number.

    Numbers that are not *valid* for their country are still normalised (a DNC list may
    carry short or odd entries; they must match what the dialer would dial).
    """
    if raw.isascii() and raw.isdigit():  # the bulk-load shape: plain digits
        value = raw
    else:
        value = _STRIP.sub("", raw or "")
        if not value or not _DIGITS.fullmatch(value):
            return _slow(raw, region)
    if value.startswith("00"):
        value = "+" + value[2:]
    if _country_code(region) == 1:
        if value.startswith("+"):
            if len(value) == 12 and value[1] == "1" and value[2] in "23456789":
                return value
        elif len(value) == 10 and value[0] in "23456789":
            return "+1" + value
        elif len(value) == 11 and value[0] == "1" and value[1] in "23456789":
            return "+" + value
    return _slow(value, region)


def _slow(raw: str, region: str) -> str | None:
    try:
        num = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not num.national_number:
        return None
    return str(phonenumbers.format_number(num, PhoneNumberFormat.E164))


def area_code_prefix(raw: str, region: str = "US") -> str | None:
    """An area-code DNC entry as an E.164 prefix: ``415`` -> ``+1415``, ``+44 20`` -> ``+4420``."""
    value = _STRIP.sub("", raw or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if not _DIGITS.fullmatch(value or "x"):
        return None
    if value.startswith("+"):
        return value if len(value) >= 2 else None
    cc = _country_code(region)
    if not cc:
        return None
    # a national prefix ("0" in most of the world) is not part of the area code
    if cc != 1:
        value = value.lstrip("0")
    return f"+{cc}{value}" if value else None


def prefixes(e164: str) -> list[str]:
    """Every prefix of an E.164 number that an area-code entry could be (``+1``...``+14155``)."""
    return [e164[:n] for n in range(2, min(len(e164), 9) + 1)]


def time_zones(e164: str) -> list[str]:
    """IANA time zones the number may be in (empty when unknown)."""
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return []
    zones = [z for z in pn_timezone.time_zones_for_number(num) if z and z != "Etc/Unknown"]
    return list(zones)


def is_possible(e164: str) -> bool:
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


def normalize_postal(raw: str) -> str | None:
    """Postal codes compare upper-case without spaces or dashes (``ab1 2cd`` = ``AB12CD``)."""
    value = re.sub(r"[\s\-]", "", raw or "").upper()
    return value or None
