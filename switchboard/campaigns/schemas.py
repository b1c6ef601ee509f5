"""Pydantic shapes of campaigns (our Configuration API extension; the seed has getAll)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.campaigns import hours as hours_mod


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid")


Mode = Literal["preview", "progressive"]
RETRY_KEYS = ("busy", "no_answer", "failed", "skipped", "timeout")


class CampaignFields(_Camel):
    description: str | None = Field(default=None, max_length=1024)
    enabled: bool | None = None
    mode: Mode | None = None
    service: str | None = None
    required_skills: dict[str, int] | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    calling_hours: dict[str, list[list[str]]] | None = None
    time_zone: str | None = None
    caller_id: str | None = Field(default=None, max_length=64)
    retry_minutes: dict[str, float] | None = None
    preview_timeout_seconds: int | None = Field(default=None, ge=1, le=86400)
    wrapup_timeout_seconds: int | None = Field(default=None, ge=1, le=86400)
    lists: list[str] | None = None
    dnc_lists: list[str] | None = None
    dnc_target_list: str | None = None

    @field_validator("calling_hours")
    @classmethod
    def _hours(cls, v: dict[str, list[list[str]]] | None) -> dict[str, list[list[str]]] | None:
        return None if v is None else hours_mod.validate(v)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None and hours_mod.zone(v) is None:
            raise ValueError(f"unknown time zone {v!r}")
        return v

    @field_validator("retry_minutes")
    @classmethod
    def _retry(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        for k, minutes in v.items():
            if k not in RETRY_KEYS:
                raise ValueError(
                    f"retryMinutes: unknown outcome {k!r} (use {', '.join(RETRY_KEYS)})"
                )
            if minutes < 0:
                raise ValueError(f"retryMinutes.{k} must not be negative")
        return v

    @field_validator("required_skills")
    @classmethod
    def _skills(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        for name, level in (v or {}).items():
            if not 0 <= level <= 100:
                raise ValueError(f"skill level of {name!r} must be between 0 and 100")
        return v


class CampaignCreate(CampaignFields):
    name: str = Field(min_length=1, max_length=255)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v != v.strip() or "/" in v:
            raise ValueError("name must not contain '/' or leading/trailing spaces")
        return v


class CampaignUpdate(CampaignFields):
    pass


class CampaignRead(_Camel):
    name: str
    description: str | None = None
    enabled: bool
    state: str
    mode: str
    service: str | None = None
    required_skills: dict[str, int]
    max_attempts: int
    calling_hours: dict[str, list[list[str]]]
    time_zone: str | None = None
    caller_id: str | None = None
    retry_minutes: dict[str, float]
    preview_timeout_seconds: int
    wrapup_timeout_seconds: int
    lists: list[str]
    dnc_lists: list[str]
    dnc_target_list: str | None = None
    dispositions: list[DispositionRead]
    started_at: datetime | None = None
    stopped_at: datetime | None = None


class DispositionRead(_Camel):
    name: str
    outcome: str
    retry_minutes: int | None = None


class CampaignSummary(BaseModel):
    """One item of ``GET campaign/getAll``."""

    name: str
    state: str
    lists: list[str]


CampaignRead.model_rebuild()
