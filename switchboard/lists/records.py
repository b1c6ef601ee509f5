"""Validating records against their list's definition, and formatting seed answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from switchboard.core.errors import Invalid
from switchboard.lists.models import KEY_SEP, CallingList


class RecordError(Invalid):
    """A record that does not fit the list's definition (400, or an addAll error item)."""


def field_map(defn: CallingList) -> dict[str, str]:
    """Lower-cased field name -> the name as defined (names match case-insensitively)."""
    return {name.lower(): name for name in defn.fields}


def _value(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise RecordError(f"Field {name} must be a string")


def clean(
    defn: CallingList, body: Any, *, fmap: dict[str, str] | None = None, partial: bool = False
) -> tuple[dict[str, str], str]:
    """The record's values under their defined names, and its key.

    Unknown fields are refused; key fields are always mandatory; required fields are
    mandatory unless ``partial`` (an update that leaves them unchanged).
    """
    if not isinstance(body, dict):
        raise RecordError("A record must be a JSON object")
    names = fmap or field_map(defn)
    data: dict[str, str] = {}
    for raw_name, raw_value in body.items():
        name = names.get(str(raw_name).lower())
        if name is None:
            raise RecordError(f"Unknown field: {raw_name}")
        data[name] = _value(name, raw_value)
    return data, key_of(defn, data, partial=partial)


def key_of(defn: CallingList, data: dict[str, str], *, partial: bool = False) -> str:
    parts: list[str] = []
    for k in defn.keys:
        v = data.get(k, "").strip()
        if not v:
            raise RecordError(f"Key field {k} is required")
        parts.append(v)
    if not partial:
        for r in defn.required:
            if not data.get(r, "").strip():
                raise RecordError(f"Required field {r} is missing")
    key = KEY_SEP.join(parts)
    if len(key) > 512:
        raise RecordError("Key fields are too long (512 characters at most)")
    return key


def display_key(key: str) -> str:
    return key.replace(KEY_SEP, "|")


def entry(defn: CallingList, data: dict[str, Any]) -> dict[str, Any]:
    """The record's fields in definition order."""
    out = {name: data[name] for name in defn.fields if name in data}
    for name, value in data.items():
        out.setdefault(name, value)
    return out


def fmt_time(value: datetime | None) -> str | None:
    """``2021-02-19T19:11:40.000`` (UTC, milliseconds, no offset), as the seed answers."""
    if value is None:
        return None
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}"


def parse_time(raw: str) -> datetime:
    """ISO 8601; a time without an offset is UTC."""
    value = raw.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise Invalid(f"fromTime is not an ISO date-time: {raw}") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
