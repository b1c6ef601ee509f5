"""Shapes of skills, services, dispositions and not-ready reasons (Administration API)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from switchboard.scenarios.schemas import Camel, Out

Media = Literal["chat", "voice", "email", "outbound"]
Outcome = Literal["complete", "retry", "do_not_call", "none"]


class SkillCreate(Camel):
    name: str = Field(min_length=1, max_length=255)


class SkillUpdate(Camel):
    name: str = Field(min_length=1, max_length=255)


class SkillRead(Out):
    id: str
    name: str
    agents: int = Field(description="users holding the skill")


class Relaxation(Camel):
    after_seconds: int = Field(ge=1, le=86400)
    reduce_by: int = Field(ge=1, le=100)


def _levels(v: dict[str, int] | None) -> dict[str, int] | None:
    for name, level in (v or {}).items():
        if not 0 <= level <= 100:
            raise ValueError(f"level of {name} must be 0-100")
    return v


class ServiceFields(Camel):
    media: Media | None = None
    required_skills: dict[str, int] | None = Field(
        default=None, description="skill name -> minimum level (0-100) an agent needs"
    )
    service_level_threshold_seconds: int | None = Field(default=None, ge=1, le=86400)
    service_level_target_percent: int | None = Field(default=None, ge=1, le=100)
    short_abandon_seconds: int | None = Field(default=None, ge=0, le=3600)
    acw_timeout_seconds: int | None = Field(default=None, ge=0, le=86400)
    disposition_required: bool | None = Field(
        default=None,
        description="after-call work ends only with a disposition (a timeout still ends it)",
    )
    relaxation: list[Relaxation] | None = None
    enabled: bool | None = None

    @field_validator("required_skills")
    @classmethod
    def _skills(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        return _levels(v)


class ServiceCreate(ServiceFields):
    name: str = Field(min_length=1, max_length=255)


class ServiceUpdate(ServiceFields):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class ServiceRead(Out):
    id: str
    name: str
    media: str
    required_skills: dict[str, int]
    service_level_threshold_seconds: int
    service_level_target_percent: int
    short_abandon_seconds: int
    acw_timeout_seconds: int
    disposition_required: bool
    relaxation: list[dict[str, int]]
    enabled: bool
    waiting_chats: int
    entries: list[str] = Field(description="appIds of the entries routing to the service")
    campaigns: list[str] = Field(description="campaigns dialing for the service")


class DispositionFields(Camel):
    service: str | None = Field(
        default=None, description="Service name (or id); none: every service"
    )
    description: str | None = Field(default=None, max_length=1024)
    agent_can_select: bool | None = None
    inbound: bool | None = None
    outbound: bool | None = None
    preview: bool | None = None
    outcome: Outcome | None = None
    retry_minutes: int | None = Field(default=None, ge=1, le=525600)
    sort_order: int | None = Field(default=None, ge=0, le=100000)


class DispositionCreate(DispositionFields):
    name: str = Field(min_length=1, max_length=255)


class DispositionUpdate(DispositionFields):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class DispositionRead(Out):
    id: str
    name: str
    service: str | None
    description: str | None
    agent_can_select: bool
    inbound: bool
    outbound: bool
    preview: bool
    outcome: str
    retry_minutes: int | None
    sort_order: int


class ReasonCreate(Camel):
    name: str = Field(min_length=1, max_length=255)


class ReasonUpdate(Camel):
    name: str = Field(min_length=1, max_length=255)


class ReasonRead(Out):
    id: str
    name: str
    agents: int = Field(description="agents not ready with this reason now")
