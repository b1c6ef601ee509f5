"""Settings of the GMS domain (environment prefix ``SWITCHBOARD_GMS_``).

The tenant of requests that name none is the core setting ``gms_default_tenant``.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard.core.runtime import Runtime

PROVIDER_KEY = "gms.settings"


class GmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_GMS_", extra="ignore")

    # digits of the access codes of request-interaction / request-access
    access_code_digits: int = 4
    # validity of an access number/code when the request gives no _expiration_time
    default_expiration_seconds: int = 300
    max_expiration_seconds: int = 7 * 24 * 3600
    # Storage API: the largest TTL a client may ask for
    max_storage_ttl_seconds: int = 30 * 24 * 3600
    # what one tenant may keep in storage at once (507 beyond)
    max_entries_per_tenant: int = 100_000
    max_bytes_per_tenant: int = 2 * 1024 * 1024 * 1024
    # the user data of a service outlives the service's expiration by this much
    user_data_grace_seconds: int = 24 * 3600
    # ended services (matched, cancelled, expired, completed) are deleted after this
    retention_seconds: int = 7 * 24 * 3600
    # a callback is expected to happen within this window after its desired time
    callback_window_seconds: int = 3600
    # how far ahead a callback may be scheduled
    max_callback_days: int = 90
    # limits of one request body (fields, files, one text value); the total size of
    # a body is the core setting max_upload_bytes
    max_fields: int = 200
    max_files: int = 20
    max_value_bytes: int = 64 * 1024
    # listing of callbacks: at most this many (newest first)
    max_list: int = 1000
    # the purge worker's period
    worker_interval_seconds: float = 5.0


def gms_settings(rt: Runtime) -> GmsSettings:
    found = rt.providers.get(PROVIDER_KEY)
    if isinstance(found, GmsSettings):
        return found
    created = GmsSettings()
    rt.providers[PROVIDER_KEY] = created
    return created
