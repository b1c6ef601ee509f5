"""Settings of the GMS domain: the ``gms_*`` fields of the one ``Settings`` (environment
``SWITCHBOARD_GMS_*``), read as one object.

The tenant of requests that name none is the core setting ``gms_default_tenant``.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.runtime import Runtime


@dataclass(frozen=True)
class GmsSettings:
    access_code_digits: int
    default_expiration_seconds: int
    max_expiration_seconds: int
    max_storage_ttl_seconds: int
    max_entries_per_tenant: int
    max_bytes_per_tenant: int
    user_data_grace_seconds: int
    retention_seconds: int
    callback_window_seconds: int
    max_callback_days: int
    max_fields: int
    max_files: int
    max_value_bytes: int
    max_list: int
    worker_interval_seconds: float


def gms_settings(rt: Runtime) -> GmsSettings:
    s = rt.settings
    return GmsSettings(
        access_code_digits=s.gms_access_code_digits,
        default_expiration_seconds=s.gms_default_expiration_seconds,
        max_expiration_seconds=s.gms_max_expiration_seconds,
        max_storage_ttl_seconds=s.gms_max_storage_ttl_seconds,
        max_entries_per_tenant=s.gms_max_entries_per_tenant,
        max_bytes_per_tenant=s.gms_max_bytes_per_tenant,
        user_data_grace_seconds=s.gms_user_data_grace_seconds,
        retention_seconds=s.gms_retention_seconds,
        callback_window_seconds=s.gms_callback_window_seconds,
        max_callback_days=s.gms_max_callback_days,
        max_fields=s.gms_max_fields,
        max_files=s.gms_max_files,
        max_value_bytes=s.gms_max_value_bytes,
        max_list=s.gms_max_list,
        worker_interval_seconds=s.gms_worker_interval_seconds,
    )
