"""Shapes of the tenant's own settings and of roles (Administration API)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from switchboard.scenarios.schemas import Camel, Out


class TenantRead(Out):
    id: str
    domain: str
    name: str
    timezone: str
    daily_reset_time: str
    extension_start: int
    extension_end: int
    settings: dict[str, Any]


class TenantPatch(Camel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    timezone: str | None = Field(default=None, description="IANA time zone")
    daily_reset_time: str | None = Field(default=None, description="HH:MM, the day's start")
    extension_start: int | None = Field(default=None, ge=0)
    extension_end: int | None = Field(default=None, ge=0)
    settings: dict[str, Any] | None = Field(
        default=None,
        description="keys of GET /adminapi/v1/tenant/setting-keys; null removes a key",
    )

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: getattr(self, k) for k in self.model_fields_set if k != "settings"
        }
        out.update(self.settings or {})
        return out


class SettingKey(Out):
    key: str
    kind: str
    description: str
    choices: list[str]
    minimum: float | None


class RoleCreate(Camel):
    name: str = Field(min_length=1, max_length=128)
    privileges: list[str] = Field(default_factory=list)


class RoleUpdate(Camel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    privileges: list[str] | None = None


class RoleRead(Out):
    id: str
    name: str
    privileges: list[str]
    builtin: bool
    users: int = Field(description="users holding the role")
