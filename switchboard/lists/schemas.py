"""Pydantic shapes of calling-list definitions (records themselves are free-form objects)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid")


def _names(v: list[str]) -> list[str]:
    out: list[str] = []
    for name in v:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("field names must be non-empty strings")
        if name.strip() != name:
            raise ValueError(f"field name {name!r} has leading or trailing spaces")
        if name.lower() in (n.lower() for n in out):
            raise ValueError(f"field {name!r} is listed twice")
        out.append(name)
    return out


class ListDefinition(_Camel):
    fields: list[str] = Field(min_length=1, max_length=200)
    keys: list[str] = Field(min_length=1, max_length=10)
    required: list[str] = Field(default_factory=list)
    phone_fields: list[str] = Field(min_length=1, max_length=10)
    time_zone_field: str | None = None
    postal_code_field: str | None = None

    _fields = field_validator("fields")(_names)

    @model_validator(mode="after")
    def _subsets(self) -> ListDefinition:
        known = set(self.fields)
        for attr in ("keys", "required", "phone_fields"):
            for name in getattr(self, attr):
                if name not in known:
                    raise ValueError(f"{_camel(attr)}: {name!r} is not one of the fields")
        for attr in ("time_zone_field", "postal_code_field"):
            name = getattr(self, attr)
            if name is not None and name not in known:
                raise ValueError(f"{_camel(attr)}: {name!r} is not one of the fields")
        return self


class CallingListCreate(ListDefinition):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=1024)
    read_only: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v != v.strip() or "/" in v:
            raise ValueError("name must not contain '/' or leading/trailing spaces")
        return v


class CallingListUpdate(_Camel):
    """Fields may be added; keys cannot change while the list has records."""

    description: str | None = Field(default=None, max_length=1024)
    read_only: bool | None = None
    fields: list[str] | None = None
    required: list[str] | None = None
    phone_fields: list[str] | None = None
    time_zone_field: str | None = None
    postal_code_field: str | None = None


class CallingListRead(_Camel):
    name: str
    description: str | None = None
    fields: list[str]
    keys: list[str]
    required: list[str]
    phone_fields: list[str]
    time_zone_field: str | None = None
    postal_code_field: str | None = None
    read_only: bool
    size: int
    campaigns: list[str]


# Record indexes are 32-bit columns: a bound here keeps any number a client sends (as a
# JSON number or as a string such as "99999999999999999999") from reaching SQL.
INDEX_MAX = 2**31 - 1


class Paging(BaseModel):
    """``getAll`` body: numbers may arrive as strings (``"maxSize": "100"``)."""

    model_config = ConfigDict(extra="ignore")

    fromIndex: int = Field(default=0, ge=0, le=INDEX_MAX)
    maxSize: int = Field(default=1000, ge=0, le=INDEX_MAX)


class Since(BaseModel):
    """``getCompleted`` / ``getChanged`` body: ``fromTime`` in ISO format, UTC."""

    model_config = ConfigDict(extra="ignore")

    fromTime: str = Field(min_length=1)
    maxSize: int = Field(default=1000, ge=0, le=INDEX_MAX)


RecordBody = dict[str, Any]
