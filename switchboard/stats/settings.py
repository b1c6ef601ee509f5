"""Settings of the statistics engine (environment prefix ``SWITCHBOARD_STATS_``).

They live beside the engine rather than in ``core.settings`` so that the engine can be
tuned (and tests can speed it up) without touching the shared settings object. A tenant
may override ``max_subscriptions`` with its setting ``stats_max_subscriptions``.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class StatsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_STATS_", extra="ignore")

    # a tenant's snapshot is recomputed at most this often (and about this often while
    # somebody watches it); every viewer of the tenant reads the same snapshot
    refresh_seconds: float = 1.0
    # the day's counters (arrivals, answers, abandons, handled, dispositions, outbound)
    # are summed again at most this often; states, queues and durations every refresh
    day_refresh_seconds: float = 5.0
    # a data request's token and subscription are looked up in the database at most this
    # often per process (a logout or a new subscription elsewhere shows within this delay;
    # in the same process at once); 0 disables the cache
    lookup_cache_seconds: float = 5.0
    # chats and interactions finished this long ago are summed once and never read again
    # (longer than any commit delay or clock difference between processes)
    fold_margin_seconds: float = 60.0
    # a subscription nobody polled for this long is inactive and is deleted
    subscription_idle_seconds: float = 600.0
    # ``polled_at`` of a subscription is written at most this often (not on every poll)
    touch_seconds: float = 30.0
    # active subscriptions per tenant (409 beyond); tenant setting stats_max_subscriptions
    max_subscriptions: int = 200
    # lifetime of a token issued by POST /statsapi/auth (wallboards run all day)
    session_lifetime_seconds: int = 12 * 3600
    # interactions that started this long before the daily reset still count when they
    # finish after it (a bound for the per-day queries)
    lookback_hours: float = 24.0
    # team messages kept in a snapshot (the newest), and kept in the database (days)
    messages_in_snapshot: int = 200
    messages_retention_days: int = 30
    # the width of one point of the wallboard's day chart (GET /statsapi/history)
    chart_bucket_seconds: int = 300
    # the chart is recomputed at most this often (it moves in 5-minute steps anyway)
    chart_refresh_seconds: float = 30.0
    # how often the worker deletes idle subscriptions and old team messages
    cleanup_seconds: float = 60.0
