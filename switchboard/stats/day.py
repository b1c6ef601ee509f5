"""The statistics day: ``_per_day`` values count from the tenant's daily reset time
(``Tenant.daily_reset_time``, "HH:MM" in ``Tenant.timezone``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; statistics use UTC", name)
        return ZoneInfo("UTC")


def _reset(value: str | None) -> time:
    try:
        hh, mm = (value or "00:00").split(":", 1)
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        return time(0, 0)


def day_start(now: datetime, timezone: str | None, reset_time: str | None) -> datetime:
    """The latest reset instant at or before ``now`` (aware, UTC)."""
    zone = _zone(timezone)
    local = now.astimezone(zone)
    at = _reset(reset_time)
    for back in range(0, 3):
        day = (local - timedelta(days=back)).date()
        candidate = datetime.combine(day, at, tzinfo=zone)
        # normalise times that fall into a DST gap or overlap
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate <= local:
            return candidate.astimezone(UTC)
    return (local - timedelta(days=1)).astimezone(UTC)
