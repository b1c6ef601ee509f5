"""The one typed settings object (environment prefix ``SWITCHBOARD_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    # storage
    database_url: str = "sqlite+aiosqlite:///./var/switchboard.db"
    redis_url: str | None = None
    # PostgreSQL connections kept open per process (plus half as many more at peaks)
    db_pool_size: int = 20
    bus_prefix: str = "switchboard"
    data_dir: Path = Path("./var/data")

    # serving
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    log_level: str = "INFO"
    # held Messaging long polls (long_poll_seconds) answer before a worker stops
    graceful_shutdown_seconds: int = 15
    # origins allowed to call every API cross-origin (with credentials); "*" allows any
    # origin without credentials. The Messaging API also allows the origins each chat
    # entry lists (ScenarioEntry.allowed_origins). Default: none (docs/security.md).
    cors_origins: list[str] = Field(default_factory=list)
    run_background_workers: bool = True
    # permessage-deflate on WebSockets (the agents' frames are small: off by default)
    ws_compression: bool = False
    # the garbage collector's first threshold (Python's default is 700): allocations
    # between collections of young objects
    gc_threshold: int = 50_000
    # background loops this process does not run, by domain (routing, chats, dialer,
    # sms, stats, recordings, gms, ops): e.g. to keep timers on other processes
    workers_disabled: list[str] = Field(default_factory=list)
    # HTTPS (and WebSockets over TLS) served directly when both are set: PEM files, the
    # key's password when it is encrypted (docs/deployment-tls.md)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_key_password: str | None = None

    # security
    token_lifetime_seconds: int = 3600
    agent_session_lifetime_seconds: int = 12 * 3600
    lockout_threshold: int = 5
    lockout_minutes: int = 30
    password_min_length: int = 8
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # threads hashing passwords off the event loop (each argon2 hash takes argon2_memory_kib)
    hash_workers: int = 2
    # failed logins allowed per account before growing delays ("limits" notation,
    # "; "-separated); empty: lockout_threshold per minute, twice as many per 10 minutes,
    # four times as many per lockout_minutes
    login_account_limits: str = ""
    # failed logins allowed per source address (any accounts)
    login_source_limits: str = "30 per minute; 300 per hour"
    # request bodies: JSON endpoints (uploads: max_upload_bytes; calling-list and DNC
    # imports: lists_max_body_bytes), nesting depth of JSON documents
    json_max_body_bytes: int = 1024 * 1024
    json_max_depth: int = 64
    # outbound fetches (SCIM photo URLs) may reach these networks (CIDR) although they are
    # loopback, private, link-local or otherwise internal; [] allows none of those
    fetch_allow_networks: list[str] = Field(default_factory=list)

    # messaging
    long_poll_seconds: float = 10.0
    max_upload_bytes: int = 25 * 1024 * 1024
    max_files_per_tenant: int = 1000
    ice_servers: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"urls": ["stun:stun.l.google.com:19302"]}]
    )
    # calls in chats (docs/calls.md): TURN servers handed out with short-lived
    # credentials of the TURN REST API scheme (coturn's use-auth-secret): username
    # "<expiry>:<tenant>", credential base64(HMAC-SHA1(turn_secret, username))
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: str = ""
    turn_ttl_seconds: int = 3600
    # "relay": the browsers exchange media directly (the server relays signaling);
    # "server": the server terminates both sides, relays and records the media
    calls_media_path: Literal["relay", "server"] = "relay"
    # the longest call the media server records (seconds)
    calls_max_seconds: int = 4 * 3600

    # resolved access tokens are kept this long by each process (revocations and user
    # changes clear them at once, through the bus)
    # (a safety net for a lost bus message: at most this long)
    auth_cache_seconds: float = 60.0

    # the chat engine (a tenant setting ``chat_poll_abandon_seconds`` overrides the first)
    # a customer that has not polled for this long is gone and its chat ends
    chat_poll_abandon_seconds: int = 120
    # relayed signaling rows are purged after this many seconds
    chat_signaling_ttl_seconds: int = 300
    # the handle time the EWT assumes before a service has history, and its sample size
    chat_default_handle_seconds: int = 180
    chat_handle_time_sample: int = 50
    chat_max_parameters: int = 100
    chat_max_events_per_request: int = 100
    # Messaging API: a value inside POST chats ``parameters`` (the web widget's objects)
    # nests at most this deep
    chat_parameter_max_depth: int = 8
    # Messaging API operations (not long polls, uploads, downloads) answer 504/5000 when
    # they take longer (api/messaging/guard.py)
    chat_request_timeout_seconds: float = 30.0
    # where cases live: "none" (here only) or "webhook" (a CRM told at Close Case;
    # its errors answer 500/5602) (crm/cases.py)
    crm_provider: str = "none"
    crm_webhook_url: str = ""
    crm_timeout_seconds: float = 10.0
    chat_max_events_per_answer: int = 500
    # a chat's delivery state known to this process is re-read from the database after
    # this long (it bounds the delay of an event whose wake-up was lost)
    chat_cache_seconds: float = 30.0
    # the Messaging API keeps tenants and entries this long (changes also invalidate it)
    chat_auth_cache_seconds: float = 60.0
    # the "webhook" push provider posts each notification to this URL
    chat_push_webhook_url: str | None = None

    # push services (None: Apple's host of the tenant's APNs environment)
    push_apns_url: str | None = None
    push_fcm_url: str = "https://fcm.googleapis.com"
    push_timeout_seconds: float = 10.0

    # Genesys Mobile Services (environment SWITCHBOARD_GMS_*): access codes, expirations,
    # storage limits per tenant, callbacks, request body limits, housekeeping period
    gms_access_code_digits: int = 4
    gms_default_expiration_seconds: int = 300
    gms_max_expiration_seconds: int = 7 * 24 * 3600
    gms_max_storage_ttl_seconds: int = 30 * 24 * 3600
    gms_max_entries_per_tenant: int = 100_000
    gms_max_bytes_per_tenant: int = 2 * 1024 * 1024 * 1024
    gms_user_data_grace_seconds: int = 24 * 3600
    gms_retention_seconds: int = 7 * 24 * 3600
    gms_callback_window_seconds: int = 3600
    gms_max_callback_days: int = 90
    gms_max_fields: int = 200
    gms_max_files: int = 20
    gms_max_value_bytes: int = 64 * 1024
    gms_max_list: int = 1000
    gms_worker_interval_seconds: float = 5.0

    # agents and routing (tenant settings of the same names override the first three)
    offer_timeout_seconds: float = 20.0
    reject_cooldown_seconds: float = 60.0
    missed_offer_reason: str = "Missed offer"
    # desktop presence (issue 13): an agent whose realtime sockets all closed is made
    # not ready (agent_disconnect_reason) after the grace period and logged out after
    # agent_disconnect_logout_seconds (0 disables either); a process refreshes the lease
    # of its open sockets, so a crashed process's sockets count as gone after the lease
    agent_disconnect_grace_seconds: float = 60.0
    agent_disconnect_logout_seconds: float = 1800.0
    agent_disconnect_reason: str = "Disconnected"
    agent_presence_lease_seconds: float = 120.0

    # demo tenant
    demo_tenant: str = "example.com"
    demo_admin_secret: str | None = None
    demo_password: str | None = None
    gms_default_tenant: str | None = None  # GMS requests naming no tenant (None: demo_tenant)

    # collaborators that leave the box
    sms_provider: str = "fake"
    push_provider: str = "fake"
    telephony_provider: str = "simulated"

    # outbound: phone normalisation, calling-list bodies, dialer, simulated carrier
    default_phone_region: str = "US"
    lists_max_body_bytes: int = 128 * 1024 * 1024
    dialer_poll_seconds: float = 2.0
    dialer_lease_seconds: float = 120.0
    # outcome weights and per-number scripts (E.164 -> outcomes by attempt) of "simulated"
    telephony_sim_outcomes: dict[str, float] = Field(
        default_factory=lambda: {"answer": 60.0, "busy": 10.0, "no_answer": 25.0, "invalid": 5.0}
    )
    telephony_sim_script: dict[str, list[str]] = Field(default_factory=dict)
    telephony_sim_seed: int | None = None
    telephony_sim_ring_seconds: float = 3.0

    # real carriers (docs/carriers.md): where carriers reach this server (status callbacks)
    public_url: str | None = None  # e.g. https://switchboard.example.com
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = 10.0
    twilio_ring_seconds: int = 30  # Twilio's Timeout: how long a call rings
    # recordings made by the carrier are fetched into the recordings store; retried
    carrier_recording_retry_seconds: float = 30.0
    carrier_recording_max_tries: int = 10

    # SMS/MMS API (docs/sms-api.md): sms_provider "fake" or "http" (Twilio-compatible)
    sms_http_url: str | None = None  # e.g. https://carrier/2010-04-01/Accounts/AC1/Messages.json
    sms_http_account: str | None = None
    sms_http_token: str | None = None
    sms_http_timeout_seconds: float = 10.0
    sms_inbound_secret: str | None = None  # shared secret of POST /clientweb/smsapi/v1/inbound
    sms_worker_poll_seconds: float = 1.0
    sms_lease_seconds: float = 60.0
    sms_status_poll_seconds: float = 30.0
    sms_chat_abandon_seconds: int = 86400
    sms_fake_failures: dict[str, str] = Field(default_factory=dict)  # E.164 -> error (fake)

    # call recordings (docs/recordings.md): "gsm" (GSM 6.10 in WAV) or "wav" (PCM)
    recordings_format: str = "gsm"
    recordings_poll_seconds: float = 2.0
    recordings_max_seconds: int = 3600

    # operations (docs/operations.md): logs as "text" or "json" lines; the proxies whose
    # X-Forwarded-* headers are trusted; a bearer token /metrics requires (unset: none)
    log_format: str = "text"
    forwarded_allow_ips: str = "127.0.0.1"
    metrics_token: str | None = None
    # where the worker processes of this host share their metric samples (default: a
    # temporary directory named after the database and bus prefix); one access-log line
    # per request (secrets in query strings redacted)
    metrics_dir: Path | None = None
    access_log: bool = True
    # how often each process samples its database pool (every third time it also times a
    # bus wake-up: switchboard_bus_wakeup_lag_seconds)
    ops_interval_seconds: float = 5.0

    # statistics engine (docs/statistics.md; SWITCHBOARD_STATS_*): a tenant's snapshot is
    # recomputed at most this often; the day's counters at most every day_refresh; token
    # and subscription lookups cached this long per process (0: no cache); finished
    # records folded into the day's sums after fold_margin; idle subscriptions deleted;
    # polled_at written at most every touch; active subscriptions per tenant (tenant
    # setting stats_max_subscriptions); statistics token lifetime; the per-day lookback;
    # team messages kept in a snapshot and in the database; the day chart's bucket and
    # refresh; the cleanup period
    stats_refresh_seconds: float = 1.0
    stats_day_refresh_seconds: float = 5.0
    stats_lookup_cache_seconds: float = 5.0
    stats_fold_margin_seconds: float = 60.0
    stats_subscription_idle_seconds: float = 600.0
    stats_touch_seconds: float = 30.0
    stats_max_subscriptions: int = 200
    stats_session_lifetime_seconds: int = 12 * 3600
    stats_lookback_hours: float = 24.0
    stats_messages_in_snapshot: int = 200
    stats_messages_retention_days: int = 30
    stats_chart_bucket_seconds: int = 300
    stats_chart_refresh_seconds: float = 30.0
    stats_cleanup_seconds: float = 60.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
