"""Configuration changes: the ``config:<tenant_id>`` wake-up and the tenant settings
catalogue.

Every administration change (scenario entries, services, skills, hours, numbers,
dispositions, reasons, teams, roles, canned responses, tenant settings) queues
``config:<tenant_id>`` with :func:`config_changed` inside its write transaction; it is
published once the transaction commits, so every process can drop what it cached of the
tenant's configuration. The payload says what changed (``"entry:test"``,
``"service:<id>"``...): a hint only, listeners may ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import after_commit
from switchboard.core.errors import Invalid


def config_topic(tenant_id: str) -> str:
    return f"config:{tenant_id}"


def config_changed(s: AsyncSession, tenant_id: str, what: str = "") -> None:
    """Publish ``config:<tenant_id>`` (payload ``what``) once ``s`` commits."""
    after_commit(s, config_topic(tenant_id), what)


# ---- tenant settings (``Tenant.settings``) ---------------------------------------------


@dataclass(frozen=True)
class SettingSpec:
    """A key of ``Tenant.settings`` that some domain reads."""

    kind: str  # "bool", "int", "number", "text", "text_list" or "choice"
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None


#: Every tenant setting that the server reads. A domain that reads a new key adds it here
#: (``tenant set`` and ``PATCH /adminapi/v1/tenant`` refuse keys that are not listed).
TENANT_SETTINGS: dict[str, SettingSpec] = {
    "scim_allow_username_change": SettingSpec("bool", "SCIM PUT/PATCH may change userName"),
    "scim_default_roles": SettingSpec("text_list", "roles of SCIM users created without roles"),
    "scim_assign_extension": SettingSpec("bool", "SCIM users get the next free extension"),
    "scim_photos": SettingSpec(
        "choice", "how SCIM photo URLs are handled", ("fetch", "lenient", "url")
    ),
    "stats_max_subscriptions": SettingSpec(
        "int", "active statistics subscriptions of the tenant", minimum=1
    ),
    "chat_poll_abandon_seconds": SettingSpec(
        "int", "a chat whose client stopped polling this long ends", minimum=10
    ),
    "offer_timeout_seconds": SettingSpec(
        "number", "an unanswered offer goes to another agent", minimum=1
    ),
    "reject_cooldown_seconds": SettingSpec(
        "number", "an agent who rejected a chat is not offered it again", minimum=0
    ),
    "gms_chat_service": SettingSpec("text", "the default GMS chat service (appId)"),
    "sms_closed_reply": SettingSpec("text", "SMS answer while the entry is closed"),
    # GMS callbacks placed by the dialer (switchboard/gms/callbacks.py)
    "gms_callback_target": SettingSpec("text", "the service whose skills callback agents need"),
    "gms_callback_max_dial_attempts": SettingSpec("int", "calls per callback", minimum=1),
    "gms_callback_dial_retry_seconds": SettingSpec(
        "int", "a failed callback call is retried after this", minimum=0
    ),
    "gms_callback_agent_preview": SettingSpec("bool", "agents accept a callback before the call"),
    "gms_callback_preview_timeout_seconds": SettingSpec(
        "int", "seconds an agent has to accept a callback", minimum=1
    ),
    "gms_callback_caller_id": SettingSpec("text", "the caller id of callback calls"),
    "gms_callback_amd": SettingSpec("bool", "answering-machine detection on callback calls"),
    # push notifications to the mobile SDKs (switchboard/chats/push.py, docs/carriers.md)
    "push_provider": SettingSpec(
        "choice", "how push notifications are sent", ("native", "webhook", "fake")
    ),
    "push_apns_team_id": SettingSpec("text", "APNs: the Apple developer team id"),
    "push_apns_key_id": SettingSpec("text", "APNs: the id of the token-signing key"),
    "push_apns_key_file": SettingSpec("text", "APNs: path of the .p8 signing key"),
    "push_apns_environment": SettingSpec(
        "choice", "APNs: production or sandbox", ("production", "sandbox")
    ),
    "push_fcm_credentials_file": SettingSpec(
        "text", "FCM: path of the Firebase service-account JSON"
    ),
    "push_fcm_project_id": SettingSpec("text", "FCM: the Firebase project (default: the key's)"),
}


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise Invalid(f"{key} must be true or false", field=key)


def _number(key: str, value: Any, spec: SettingSpec, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise Invalid(f"{key} must be a number", field=key)
    conv: Callable[[Any], float | int] = int if integer else float
    try:
        number = conv(value)
    except (TypeError, ValueError) as e:
        raise Invalid(f"{key} must be {'an integer' if integer else 'a number'}", field=key) from e
    if integer and isinstance(value, float) and value != int(value):
        raise Invalid(f"{key} must be an integer", field=key)
    if spec.minimum is not None and number < spec.minimum:
        raise Invalid(f"{key} must be at least {spec.minimum:g}", field=key)
    return number


def check_setting(key: str, value: Any) -> Any:
    """The value to store for ``key`` (None removes it); Invalid naming the key otherwise."""
    spec = TENANT_SETTINGS.get(key)
    if spec is None:
        known = ", ".join(sorted(TENANT_SETTINGS))
        raise Invalid(f"Unknown tenant setting: {key} (known: {known})", field=key)
    if value is None:
        return None
    if spec.kind == "bool":
        return _bool(key, value)
    if spec.kind in ("int", "number"):
        return _number(key, value, spec, spec.kind == "int")
    if spec.kind == "text_list":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(f"{key} must be a list of texts", field=key)
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Invalid(f"{key} must be a text", field=key)
    text = str(value)
    if spec.kind == "choice" and text not in spec.choices:
        raise Invalid(f"{key} must be one of: {', '.join(spec.choices)}", field=key)
    if len(text) > 4096:
        raise Invalid(f"{key} is at most 4096 characters", field=key)
    return text
