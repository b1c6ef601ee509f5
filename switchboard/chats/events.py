"""The chat events of seed 003 ("Events"): which fields each type carries, cleaning of
incoming events, and rendering of stored events for clients.

Clients add fields of their own (the SDKs send ``timestamp`` and ``party_id``); unknown
fields are dropped, never refused. Values documented as strings that clients send as
numbers (``latitude``, ``form_request_id``...) are accepted and kept as strings, except
``form_request_id`` of ``chat_session_form_show``, which clients parse as an integer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from switchboard.core.errors import Invalid

# field kinds
STR = "str"  # a string (numbers are accepted and converted)
INT = "int"  # an integer (numeric strings are accepted and converted)
OBJ = "obj"  # a JSON object
ANY = "any"  # a string or an object (signaling payloads)

Spec = dict[str, tuple[str, bool]]  # field -> (kind, required)

STATUS = "chat_session_status"
ENDED = "chat_session_ended"
PARTY_JOINED = "chat_session_party_joined"
PARTY_LEFT = "chat_session_party_left"
MESSAGE = "chat_session_message"
FILE = "chat_session_file"
SIGNALING = "chat_session_signaling"
FORM_SHOW = "chat_session_form_show"
TIMEOUT_WARNING = "chat_session_timeout_warning"
INACTIVITY_TIMEOUT = "chat_session_inactivity_timeout"
CASE_SET = "chat_session_case_set"
END = "chat_session_end"
DISCONNECT = "chat_session_disconnect"
SECURE_FORM_DATA = "chat_session_secure_form_data"

_MSG_ID: Spec = {"msg_id": (STR, False)}

# Sent by the customer's client (POST chats/{id}/events, initial_message).
CLIENT_EVENTS: dict[str, Spec] = {
    MESSAGE: {**_MSG_ID, "msg": (STR, True), "channel": (STR, False)},
    "chat_session_message_delivered": {"ref_msg_id": (STR, True)},
    "chat_session_message_read": {"ref_msg_id": (STR, True)},
    "chat_session_typing": {},
    "chat_session_not_typing": {},
    "chat_session_form_data": {
        "form_request_id": (STR, False),
        "form_name": (STR, False),
        "data": (OBJ, False),
    },
    SECURE_FORM_DATA: {
        "form_request_id": (STR, False),
        "form_name": (STR, False),
        "data": (OBJ, False),
    },
    "chat_session_secure_form_cancel": {"form_request_id": (STR, False)},
    END: {},
    DISCONNECT: {},
    SIGNALING: {**_MSG_ID, "destination_party_id": (STR, False), "data": (ANY, True)},
    FILE: {**_MSG_ID, "file_id": (STR, True), "file_type": (STR, False)},
    "chat_session_location": {
        **_MSG_ID,
        "url": (STR, False),
        "latitude": (STR, True),
        "longitude": (STR, True),
    },
    "chat_session_navigation": {**_MSG_ID, "title": (STR, False), "page": (STR, True)},
    "chat_session_cobrowsing_rejected": {},
    "chat_session_cobrowsing_started": {
        "provider_type": (STR, False),
        "cobrowsing_url": (STR, False),
    },
    "chat_session_cobrowsing_ended": {},
}

# Sent by agents (or any server-side party) through ``actions.post_party_event``.
PARTY_EVENTS: dict[str, Spec] = {
    MESSAGE: {**_MSG_ID, "msg": (STR, True), "channel": (STR, False)},
    "chat_session_message_delivered": {"ref_msg_id": (STR, True)},
    "chat_session_message_read": {"ref_msg_id": (STR, True)},
    "chat_session_typing": {},
    "chat_session_not_typing": {},
    FILE: {**_MSG_ID, "file_id": (STR, True), "file_type": (STR, False)},
    FORM_SHOW: {
        "form_request_id": (INT, False),
        "form_name": (STR, True),
        "form_timeout": (STR, False),
        "channel": (STR, False),
    },
    "chat_session_secure_form_show": {
        "form_request_id": (INT, False),
        "form_id": (STR, True),
    },
    "chat_session_secure_form_cancel": {"form_request_id": (STR, False)},
    SIGNALING: {**_MSG_ID, "data": (ANY, True)},
    "chat_session_location": {
        **_MSG_ID,
        "url": (STR, False),
        "latitude": (STR, True),
        "longitude": (STR, True),
    },
    "chat_session_navigation": {**_MSG_ID, "title": (STR, False), "page": (STR, True)},
    "chat_session_cobrowsing_requested": {**_MSG_ID},
    "chat_session_info": {"service_name": (STR, False), "msg": (STR, False)},
}

# Events produced only by the engine itself (status changes, parties, timers, case).
ENGINE_EVENTS = (
    STATUS,
    ENDED,
    PARTY_JOINED,
    PARTY_LEFT,
    TIMEOUT_WARNING,
    INACTIVITY_TIMEOUT,
    CASE_SET,
)

MAX_TEXT = 64 * 1024


def _bad(message: str) -> Invalid:
    return Invalid(f"Error decoding JSON request body: {message}", code="5003")


def _coerce(name: str, kind: str, value: Any) -> Any:
    if kind == STR:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(f"{name} must be a string")
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_TEXT:
            raise _bad(f"{name} is too long")
        return text
    if kind == INT:
        if isinstance(value, bool):
            raise _bad(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError) as e:
            raise _bad(f"{name} must be an integer") from e
    if kind == OBJ:
        if not isinstance(value, dict):
            raise _bad(f"{name} must be an object")
        return value
    # ANY: a string or a JSON object
    if not isinstance(value, str | dict):
        raise _bad(f"{name} must be a string or an object")
    if len(json.dumps(value)) > MAX_TEXT:
        raise _bad(f"{name} is too long")
    return value


def clean(raw: Any, catalog: dict[str, Spec], *, where: str = "event") -> dict[str, Any]:
    """Validate one event against ``catalog``; keep only its known fields."""
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object")
    kind = raw.get("event")
    if not isinstance(kind, str) or not kind:
        raise _bad(f"{where}.event is required")
    spec = catalog.get(kind)
    if spec is None:
        raise _bad(f"{where}.event: unsupported event type {kind!r}")
    out: dict[str, Any] = {"event": kind}
    for name, (ftype, required) in spec.items():
        value = raw.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{where}.{name} is required for {kind}")
            continue
        out[name] = _coerce(f"{where}.{name}", ftype, value)
    return out


class Logged(Protocol):
    """A stored event: a ``ChatEvent`` row, or the columns of one."""

    @property
    def payload(self) -> dict[str, Any]: ...

    @property
    def party_id(self) -> str | None: ...

    @property
    def created_at(self) -> datetime: ...


def timestamp(ev: Logged) -> str:
    """Integer seconds as a JSON string: what every client parses."""
    return str(int(ev.created_at.timestamp()))


def render(ev: Logged, chat_id: str) -> dict[str, Any]:
    """A stored event as clients receive it: with ``party_id`` and ``timestamp``."""
    out = dict(ev.payload)
    out["party_id"] = ev.party_id or chat_id
    out["timestamp"] = timestamp(ev)
    return out


def file_type_for(content_type: str) -> str:
    return "image" if content_type.lower().startswith("image/") else "attachment"
