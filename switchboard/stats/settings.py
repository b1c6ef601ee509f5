"""Settings of the statistics engine: a view of the ``stats_*`` fields of the one
``Settings`` (``core/settings.py``; environment ``SWITCHBOARD_STATS_<NAME>``, as before).

The engine keeps its own mutable copy (``StatsEngine.settings``) so that a process, a
benchmark or a test can retune it without touching the shared settings object. A tenant
may override ``max_subscriptions`` with its setting ``stats_max_subscriptions``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from switchboard.core.settings import Settings, get_settings


@dataclass
class StatsSettings:
    refresh_seconds: float = 1.0
    day_refresh_seconds: float = 5.0
    lookup_cache_seconds: float = 5.0
    fold_margin_seconds: float = 60.0
    subscription_idle_seconds: float = 600.0
    touch_seconds: float = 30.0
    max_subscriptions: int = 200
    session_lifetime_seconds: int = 12 * 3600
    lookback_hours: float = 24.0
    messages_in_snapshot: int = 200
    messages_retention_days: int = 30
    chart_bucket_seconds: int = 300
    chart_refresh_seconds: float = 30.0
    cleanup_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StatsSettings:
        """The ``stats_<name>`` values of ``settings`` (default: the process's)."""
        source = settings or get_settings()
        return cls(**{f.name: getattr(source, "stats_" + f.name) for f in fields(cls)})
