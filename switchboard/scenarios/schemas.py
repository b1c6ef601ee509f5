"""Shapes of hours of operation, scenario entries and access numbers (Administration API
and CLI). Field names are camelCase on the wire; other resources are named, not ided."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.scenarios.models import PARAMETER_TYPES


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class Camel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused."""

    model_config = ConfigDict(alias_generator=camel, populate_by_name=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(alias_generator=camel, populate_by_name=True)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {value!r}") from e
    return value


class Holiday(Camel):
    date: str = Field(description="YYYY-MM-DD: closed all day")
    name: str = Field(default="", max_length=255)

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        try:
            date.fromisoformat(v)
        except ValueError as e:
            raise ValueError(f"{v!r} is not a YYYY-MM-DD date") from e
        return v


Weekly = dict[str, list[list[str]]]


def check_weekly(v: Weekly) -> Weekly:
    for day, intervals in v.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
        for interval in intervals:
            if len(interval) != 2 or not all(_HHMM.match(t) for t in interval):
                raise ValueError(f'{day}: intervals are ["HH:MM", "HH:MM"], not {interval!r}')
    return v


class HoursFields(Camel):
    timezone: str | None = Field(default=None, description="IANA time zone")
    always_open: bool | None = None
    weekly: Weekly | None = Field(
        default=None,
        description='Open intervals per day: {"mon": [["09:00", "17:00"]]}; a missing day '
        "is closed; an interval ending before it starts runs past midnight",
    )
    holidays: list[Holiday] | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: Weekly | None) -> Weekly | None:
        return None if v is None else check_weekly(v)


class HoursCreate(HoursFields):
    name: str = Field(min_length=1, max_length=255)


class HoursUpdate(HoursFields):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class HoursRead(Out):
    id: str
    name: str
    timezone: str
    always_open: bool
    weekly: Weekly
    holidays: list[dict[str, str]]
    open_now: bool
    entries: list[str] = Field(description="appIds of the entries that use these hours")


class Parameter(Camel):
    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.\-]+$")
    type: Literal[PARAMETER_TYPES] = "string"  # type: ignore[valid-type]
    required: bool = False
    description: str | None = Field(default=None, max_length=1024)
    options: list[str] | None = Field(default=None, description="choices of a list parameter")


class EntryFields(Camel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    service: str | None = Field(default=None, description="Service name (or id)")
    hours: str | None = Field(
        default=None, description="Hours of operation (name or id); none: always open"
    )
    expected_parameters: list[Parameter] | None = None
    requested_skills: dict[str, int] | None = Field(
        default=None, description="skill name -> minimum level 0-100"
    )
    priority: int | None = Field(default=None, ge=0, le=1000)
    inactivity_timeout_seconds: int | None = Field(default=None, ge=10, le=86400)
    inactivity_warning_seconds: int | None = Field(default=None, ge=0, le=86400)
    widget_configuration: dict[str, Any] | None = Field(
        default=None,
        description="title, greeting, color (#rrggbb), pre_chat_form... or a complete `definition`",
    )
    allowed_origins: list[str] | None = Field(
        default=None,
        description="Web origins (https://shop.example.com) allowed to call the Messaging "
        "API for this entry from a browser",
    )
    auto_callback: bool | None = Field(
        default=None,
        description="Call the customer back at the chat's phone_number as soon as an agent "
        "accepts the chat (false: the agent may still call that number by hand)",
    )
    enabled: bool | None = None

    @field_validator("requested_skills")
    @classmethod
    def _levels(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        for name, level in (v or {}).items():
            if not 0 <= level <= 100:
                raise ValueError(f"level of {name} must be 0-100")
        return v

    @field_validator("widget_configuration")
    @classmethod
    def _widget(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        color = v.get("color")
        if color is not None and not (
            isinstance(color, str) and re.fullmatch(r"#?[0-9a-fA-F]{6}", color)
        ):
            raise ValueError("color must be #rrggbb")
        import json

        if len(json.dumps(v)) > 64 * 1024:
            raise ValueError("at most 64 KiB")
        return v

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, v: list[str] | None) -> list[str] | None:
        for origin in v or []:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return v

    @field_validator("expected_parameters")
    @classmethod
    def _unique(cls, v: list[Parameter] | None) -> list[Parameter] | None:
        names = [p.name for p in v or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError("duplicate parameter " + ", ".join(dupes))
        return v


class EntryCreate(EntryFields):
    app_id: str = Field(min_length=1, max_length=255, pattern=r"^[^\s,;\"'<>]+$")
    name: str | None = Field(default=None, min_length=1, max_length=255)


class EntryUpdate(EntryFields):
    app_id: str | None = Field(
        default=None, min_length=1, max_length=255, pattern=r"^[^\s,;\"'<>]+$"
    )


class EntryRead(Out):
    id: str
    app_id: str
    name: str
    service: str | None
    hours: str | None
    expected_parameters: list[dict[str, Any]]
    requested_skills: dict[str, int]
    priority: int
    inactivity_timeout_seconds: int
    inactivity_warning_seconds: int
    widget_configuration: dict[str, Any]
    allowed_origins: list[str]
    auto_callback: bool
    enabled: bool
    waiting_chats: int = Field(description="chats of this entry not yet with an agent")


NumberType = Literal["scenario", "user"]


class NumberFields(Camel):
    media: str | None = Field(
        default=None, description="voice, text, voice_text, sms, mms... (text ones carry SMS)"
    )
    type: NumberType | None = None
    entry: str | None = Field(
        default=None, description="appId of the scenario entry the number routes to"
    )
    scenario: str | None = Field(
        default=None, max_length=255, description="a voice scenario name (no chat entry)"
    )
    user: str | None = Field(default=None, description="loginId (type user: a DID)")


class NumberCreate(NumberFields):
    number: str = Field(min_length=3, max_length=64)


class NumberUpdate(NumberFields):
    pass


class NumberRead(Out):
    id: str
    number: str
    media: str
    type: str
    entry: str | None
    scenario: str | None
    user: str | None
