"""Pydantic shapes of users as the Configuration API v2 reads and writes them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="ignore")


def _check_skills(v: dict[str, int] | None) -> dict[str, int] | None:
    if v is None:
        return v
    for name, level in v.items():
        if not name.strip():
            raise ValueError("skill names must not be empty")
        if not 0 <= level <= 100:
            raise ValueError(f"skill level of {name!r} must be between 0 and 100")
    return v


class UserFields(_Camel):
    first_name: str | None = None
    last_name: str | None = None
    team: str | None = None
    extension: str | None = None
    work_phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    nickname: str | None = None
    title: str | None = None
    timezone: str | None = None
    disabled: bool | None = None
    change_password: bool | None = None
    skills: dict[str, int] | None = None
    roles: list[str] | None = None
    password: str | None = None

    _skills = field_validator("skills")(_check_skills)

    @field_validator("extension")
    @classmethod
    def _extension(cls, v: str | None) -> str | None:
        if v is not None and (not v.isdigit() or len(v) > 16):
            raise ValueError("extension must be digits only")
        return v


class UserCreate(UserFields):
    login_id: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1)
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    team: str = Field(min_length=1)

    @field_validator("login_id")
    @classmethod
    def _login(cls, v: str) -> str:
        if v != v.strip() or any(c.isspace() for c in v) or "/" in v:
            raise ValueError("loginId must not contain spaces or '/'")
        return v


class UserUpdate(UserFields):
    login_id: str | None = None


class UserRead(_Camel):
    disabled: bool
    change_password: bool
    skills: dict[str, int]
    login_id: str
    first_name: str
    last_name: str
    team: str | None = None
    extension: str | None = None
    work_phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    roles: list[str]

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class LockState(_Camel):
    locked_out: bool


class TeamRead(BaseModel):
    name: str


class DirectoryEntry(_Camel):
    extension: str | None = None
    login_id: str
    first_name: str
    last_name: str
    external: str | None = None
    voice_mail: bool = False
    greeting: bool = False


class AccessNumberRead(BaseModel):
    number: str
    media: str
    type: str
    scenario: str | None = None
    user: str | None = None
