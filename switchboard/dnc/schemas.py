"""Pydantic shapes of Do-Not-Call lists (the list itself; entries travel as JSON arrays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid")


DncType = Literal["internal", "geographic", "area_code", "record_exclusion"]


class DncListCreate(_Camel):
    name: str = Field(min_length=1, max_length=255)
    type: DncType = "internal"
    description: str | None = Field(default=None, max_length=1024)
    all_campaigns: bool = True
    read_only: bool = False


class DncListUpdate(_Camel):
    description: str | None = Field(default=None, max_length=1024)
    all_campaigns: bool | None = None
    read_only: bool | None = None


class DncListRead(_Camel):
    name: str
    type: str
    description: str | None = None
    all_campaigns: bool
    read_only: bool
    size: int


class DncEntryRead(_Camel):
    key: str
    comment: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class DncItem:
    """One entry to add: the value (number, postal code, area code, record key) and an
    optional comment (the campaign name for internal lists). A plain dataclass: bulk
    loads carry millions of them."""

    value: str
    comment: str | None = None
