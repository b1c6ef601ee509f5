"""Hours of operation: is a scenario entry open at a given instant?"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.scenarios.models import HoursOfOperation

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(value: str) -> time | None:
    """``"HH:MM"``; ``"24:00"`` means the end of the day (returned as None)."""
    hh, _, mm = value.strip().partition(":")
    hour, minute = int(hh), int(mm or "0")
    if hour == 24 and minute == 0:
        return None
    return time(hour, minute)


def _in_interval(t: time, start_s: str, end_s: str) -> tuple[bool, bool]:
    """(open today, interval runs past midnight)."""
    try:
        start, end = _parse(start_s), _parse(end_s)
    except ValueError:
        return False, False
    start = start or time(0, 0)
    if end is None:  # until midnight
        return t >= start, False
    if end > start:
        return start <= t < end, False
    if end == start:  # a full day
        return True, False
    # overnight: [start, 24:00) today, [00:00, end) tomorrow
    return t >= start, True


def is_open(hours: HoursOfOperation | None, now: datetime) -> bool:
    if hours is None or hours.always_open:
        return True
    try:
        tz = ZoneInfo(hours.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    holidays = {str(h.get("date", "")) for h in (hours.holidays or [])}
    weekly = hours.weekly or {}
    t = local.time()
    if local.date().isoformat() in holidays:  # closed all day
        return False
    for interval in weekly.get(DAYS[local.weekday()], []):
        if len(interval) == 2 and _in_interval(t, interval[0], interval[1])[0]:
            return True
    # an overnight interval of yesterday that runs into today
    yesterday = local - timedelta(days=1)
    if yesterday.date().isoformat() in holidays:
        return False
    for interval in weekly.get(DAYS[yesterday.weekday()], []):
        if len(interval) != 2:
            continue
        _, overnight = _in_interval(t, interval[0], interval[1])
        if overnight:
            try:
                end = _parse(interval[1])
            except ValueError:
                continue
            if end is not None and t < end:
                return True
    return False
