"""The one typed settings object (environment prefix ``SWITCHBOARD_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    # storage
    database_url: str = "sqlite+aiosqlite:///./var/switchboard.db"
    redis_url: str | None = None
    # PostgreSQL connections per process (plus twice as many in overflow)
    db_pool_size: int = 10
    bus_prefix: str = "switchboard"
    data_dir: Path = Path("./var/data")

    # serving
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    log_level: str = "INFO"
    graceful_shutdown_seconds: int = 5
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    run_background_workers: bool = True

    # security
    token_lifetime_seconds: int = 3600
    agent_session_lifetime_seconds: int = 12 * 3600
    lockout_threshold: int = 5
    lockout_minutes: int = 30
    password_min_length: int = 8
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    # messaging
    long_poll_seconds: float = 10.0
    max_upload_bytes: int = 25 * 1024 * 1024
    max_files_per_tenant: int = 1000
    ice_servers: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"urls": ["stun:stun.l.google.com:19302"]}]
    )

    # agents and routing (tenant settings of the same names override the first three)
    offer_timeout_seconds: float = 20.0
    reject_cooldown_seconds: float = 60.0
    missed_offer_reason: str = "Missed offer"
    routing_poll_seconds: float = 1.0

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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
