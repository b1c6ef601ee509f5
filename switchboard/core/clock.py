"""The engine's clock: UTC time for every timestamp and deadline.

Deadlines (offer timeouts, after-call work, inactivity timers, gone-client detection)
compare against this clock, never against ``datetime.now`` directly, so that a test can
move time forward (``clock.advance``) and then drive a background pass directly instead
of sleeping. In production the offset is always zero.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_offset = 0.0


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _offset:
        return datetime.now(UTC) + timedelta(seconds=_offset)
    return datetime.now(UTC)


def epoch() -> float:
    """The current time as seconds since the epoch."""
    return time.time() + _offset


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0.0


def offset() -> float:
    return _offset
