"""Shapes of teams for the Administration API (members and supervisors by loginId)."""

from __future__ import annotations

from pydantic import Field

from switchboard.scenarios.schemas import Camel, Out


class TeamFields(Camel):
    description: str | None = Field(default=None, max_length=1024)
    default_chat_capacity: int | None = Field(default=None, ge=0, le=100)
    supervisors: list[str] | None = Field(default=None, description="loginIds")
    members: list[str] | None = Field(
        default=None, description="loginIds (they leave their former team)"
    )


class TeamCreate(TeamFields):
    name: str = Field(min_length=1, max_length=255)


class TeamUpdate(TeamFields):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class TeamAdminRead(Out):
    id: str
    name: str
    description: str | None
    default_chat_capacity: int
    supervisors: list[str]
    members: list[str]
