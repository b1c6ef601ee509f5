"""Parsing and rendering of the values GMS clients send and receive."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from switchboard.core.errors import Invalid

_PHONE = re.compile(r"^\+?[0-9 ().\-]{3,40}$")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def phone(name: str, value: str | None, *, required: bool = False) -> str | None:
    """A phone number as sent (digits, spaces, ``+-().``), or None; 400 otherwise."""
    if value is None:
        if required:
            raise Invalid(f"{name} is required")
        return None
    if not _PHONE.match(value) or len(digits(value)) < 3 or len(digits(value)) > 20:
        raise Invalid(f"{name} is not a phone number: {value!r}")
    return value


def boolean(name: str, value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise Invalid(f"{name} must be true or false")


def parse_time(name: str, value: str) -> datetime:
    """ISO 8601 (``2026-11-23T10:00:00.000Z``, any offset; without one: UTC)."""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as e:
        raise Invalid(f"{name} must be an ISO 8601 date and time: {value!r}") from e
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def expiration(
    name: str, value: str | None, *, now: datetime, default: int, limit: int
) -> datetime:
    """``_expiration_time``: seconds from now, or an ISO 8601 instant; in (now, now+limit]."""
    if value is None:
        return now + timedelta(seconds=default)
    text = value.strip()
    if text.lstrip("-").isdigit():
        seconds = int(text)
        if seconds <= 0 or seconds > limit:
            raise Invalid(f"{name} must be between 1 and {limit} seconds")
        return now + timedelta(seconds=seconds)
    when = parse_time(name, text)
    if when <= now or when > now + timedelta(seconds=limit):
        raise Invalid(f"{name} must lie within the next {limit} seconds")
    return when


def positive_int(name: str, value: str | None, *, default: int, limit: int) -> int:
    if value is None:
        return default
    text = value.strip()
    if not text.isdigit():
        raise Invalid(f"{name} must be a positive integer")
    number = int(text)
    if number < 1 or number > limit:
        raise Invalid(f"{name} must be between 1 and {limit}")
    return number


def iso(when: datetime | None) -> str | None:
    """``2026-11-23T10:00:00.000Z`` (UTC, milliseconds)."""
    if when is None:
        return None
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
