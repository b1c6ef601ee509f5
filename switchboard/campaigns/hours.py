"""Calling hours in the record's time zone.

The record's zone comes from the list's time-zone field (an IANA name, ``UTC+2``,
``-05:00`` or a US abbreviation such as ``EST``), else from its phone number (every zone
the number may be in: the window must be open in all of them), else from the campaign,
else from the tenant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.campaigns.models import DAYS

Hours = dict[str, list[list[str]]]

US_ABBREVIATIONS = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
}
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def minutes(value: str) -> int:
    m = _HHMM.match(value.strip())
    if m is None:
        raise ValueError(f"time {value!r} must be HH:MM")
    h, mm = int(m.group(1)), int(m.group(2))
    if mm > 59 or h > 24 or (h == 24 and mm):
        raise ValueError(f"time {value!r} is out of range")
    return h * 60 + mm


def validate(hours: object) -> Hours:
    """``{"mon": [["08:00", "21:00"]], ...}``; a window may cross midnight (``22:00-02:00``)."""
    if not isinstance(hours, dict):
        raise ValueError("callingHours must be an object of days")
    out: Hours = {}
    for day, windows in hours.items():
        if day not in DAYS:
            raise ValueError(f"callingHours: unknown day {day!r} (use {', '.join(DAYS)})")
        if not isinstance(windows, list):
            raise ValueError(f"callingHours.{day} must be a list of [start, end]")
        clean: list[list[str]] = []
        for w in windows:
            if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, str) for x in w)):
                raise ValueError(f'callingHours.{day}: each window is ["HH:MM", "HH:MM"]')
            start, end = minutes(w[0]), minutes(w[1])
            if start == end or start == 24 * 60:
                raise ValueError(f"callingHours.{day}: empty window {w}")
            clean.append([w[0].strip(), w[1].strip()])
        out[day] = clean
    return out


def zone(name: str | None) -> tzinfo | None:
    """A time zone from an IANA name, a UTC offset, or a US abbreviation (None: unknown)."""
    if not name or not name.strip():
        return None
    value = name.strip()
    if value.upper() in ("UTC", "GMT", "Z"):
        return UTC
    if value.upper() in US_ABBREVIATIONS:
        return ZoneInfo(US_ABBREVIATIONS[value.upper()])
    m = _OFFSET.match(value)
    if m is not None:
        sign = -1 if m.group(1) == "-" else 1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        if delta > timedelta(hours=14):
            return None
        return timezone(sign * delta)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _windows(hours: Hours, day: str) -> list[tuple[int, int]]:
    return [(minutes(s), minutes(e)) for s, e in hours.get(day, [])]


def is_open(hours: Hours, local: datetime) -> bool:
    m = local.hour * 60 + local.minute
    day = DAYS[local.weekday()]
    prev = DAYS[(local.weekday() - 1) % 7]
    for start, end in _windows(hours, day):
        if (start < end and start <= m < end) or (start > end and m >= start):
            return True
    return any(start > end and m < end for start, end in _windows(hours, prev))


def next_open(hours: Hours, now: datetime, tz: tzinfo) -> datetime | None:
    """The next time (UTC) a window opens in ``tz`` after ``now`` (None: never)."""
    local = now.astimezone(tz)
    best: datetime | None = None
    for d in range(0, 8):
        date = (local + timedelta(days=d)).date()
        for start, _end in _windows(hours, DAYS[date.weekday()]):
            at = datetime.combine(date, time(start // 60, start % 60), tzinfo=tz)
            if at > local and (best is None or at < best):
                best = at
        if best is not None:
            break
    return best.astimezone(UTC) if best is not None else None


def check(hours: Hours, zones: Sequence[tzinfo], now: datetime) -> tuple[bool, datetime | None]:
    """Whether calling is allowed now in every one of ``zones``; if not, when to look again."""
    closed = [z for z in zones if not is_open(hours, now.astimezone(z))]
    if not closed:
        return True, None
    candidates = [t for t in (next_open(hours, now, z) for z in closed) if t is not None]
    return False, (min(candidates) if candidates else None)
