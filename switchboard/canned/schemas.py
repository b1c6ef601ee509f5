"""Shapes of canned responses (Administration API and the agents' read API)."""

from __future__ import annotations

from pydantic import Field, field_validator

from switchboard.scenarios.schemas import Camel, Out


class CannedFields(Camel):
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=16384,
        description="The reply; $(NAME) is replaced by the chat parameter NAME "
        "(FIRST_NAME, EMAIL...), $(NAME|fallback) by fallback when the chat has no NAME",
    )
    category: str | None = Field(default=None, max_length=255)
    shortcut: str | None = Field(
        default=None, max_length=64, pattern=r"^\S+$", description="e.g. /greet (unique)"
    )
    service: str | None = Field(
        default=None, description="Service name or id: offered for its chats only"
    )
    tags: list[str] | None = Field(default=None, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        for tag in v or []:
            if not tag.strip() or len(tag) > 64:
                raise ValueError("tags are 1 to 64 characters")
        return v


class CannedCreate(CannedFields):
    title: str = Field(min_length=1, max_length=255)
    text: str = Field(min_length=1, max_length=16384)


class CannedUpdate(CannedFields):
    title: str | None = Field(default=None, min_length=1, max_length=255)


class CannedRead(Out):
    id: str
    title: str
    text: str
    category: str | None
    shortcut: str | None
    service: str | None
    tags: list[str]
    placeholders: list[str] = Field(description="parameter names the text uses")


class CannedForAgent(Out):
    id: str
    title: str
    category: str | None
    shortcut: str | None
    tags: list[str]
    text: str = Field(description="with the chat's parameters filled in when a chat is given")
    template: str = Field(description="the text as written, placeholders included")
    missing: list[str] = Field(description="placeholders the chat has no value for")


class CannedList(Out):
    items: list[CannedForAgent]
