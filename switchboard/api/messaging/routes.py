"""The Mobile/Web Messaging API methods (seed 003 "Mobile/Web Messaging", seeds 000/001).

One router per version: ``/clientweb/api/v1`` has every v1 method; ``/clientweb/api/v2``
adds notifications, case history, close case and version (404 on v1). Routers parse,
authenticate, call one action or service, and answer; the chat engine is
``switchboard.chats``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.routing import Route

from switchboard import __version__
from switchboard.api.common import (
    LENIENT_JSON_TYPES,
    body_doc,
    check_document,
    is_json_type,
    media_type,
    query_int,
    read_body,
    safe_loads,
)
from switchboard.api.messaging.auth import CURSOR_HEADER, Client, authenticate
from switchboard.api.messaging.guard import guarded
from switchboard.api.messaging.upload import receive_file
from switchboard.calls import actions as calls
from switchboard.calls.service import ice_servers as call_ice_servers
from switchboard.chats import actions, ewt, files, polling, service
from switchboard.chats import events as ev
from switchboard.chats.hours import is_open
from switchboard.chats.models import ACTIVE_STATES, ChatFile, ChatSession
from switchboard.core.bus import Waiter
from switchboard.core.db import utcnow
from switchboard.core.errors import (
    DomainError,
    Invalid,
    NotAcceptable,
    NotFound,
    Unavailable,
    UnsupportedMediaType,
)
from switchboard.core.runtime import Runtime
from switchboard.core.security import upload_headers
from switchboard.crm import actions as crm
from switchboard.interactions import actions as interactions
from switchboard.scenarios import widget
from switchboard.scenarios.models import HoursOfOperation
from switchboard.users.models import User

# ---- response shapes (documentation) ----------------------------------------------


class AvailabilityRead(BaseModel):
    chat: str
    ewt: str


class ParametersRead(BaseModel):
    parameters: list[dict[str, str]]


class ChatRead(BaseModel):
    chat_id: str
    state: str
    ewt: str
    is_new_chat: bool | None = None
    phone_number: str | None = None


class EventsRead(BaseModel):
    events: list[dict[str, Any]]


class FileRead(BaseModel):
    file_id: str
    file_name: str


class IceServersRead(BaseModel):
    servers: list[dict[str, Any]]


class ConfigurationRead(BaseModel):
    definition: dict[str, Any]
    styles: dict[str, Any]


class CaseHistoryRead(BaseModel):
    sessions: list[dict[str, Any]]


class VersionRead(BaseModel):
    server_version: str


class ErrorRead(BaseModel):
    error_code: str
    error_message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorRead, "description": "Bad request (5003, 5509, 5511, 5603...)"},
    403: {"model": ErrorRead, "description": "Forbidden (1000, 2000-2004, 3000, 5006)"},
    404: {"model": ErrorRead, "description": "Not found (5005, 5502)"},
    415: {"model": ErrorRead, "description": "A body that cannot be JSON (5003)"},
    503: {"model": ErrorRead, "description": "Closed (5001); chat server disconnected (5004)"},
    504: {"model": ErrorRead, "description": "Chat server takes too long to respond (5000)"},
}

# ---- helpers -------------------------------------------------------------------------


def chat_not_found() -> NotFound:
    return NotFound("Chat session is not found", code="5005")


def bad_json(message: str) -> Invalid:
    return Invalid(f"Error decoding JSON request body: {message}", code="5003")


async def json_object(request: Request, *, empty_ok: bool = True) -> dict[str, Any]:
    """The body as a JSON object, sent as JSON, ``text/plain`` (Postman's raw bodies) or
    without a content type (415 for types that cannot be JSON: forms, files), bounded in
    size (413) and shape (depth, integers, NUL: 400/5003). An empty body is ``{}`` with
    ``empty_ok``, whatever its type."""
    raw = await read_body(request, request.app.state.rt.settings.json_max_body_bytes)
    if not raw.strip():
        if empty_ok:
            return {}
        raise bad_json("a JSON object is required")
    ctype = media_type(request)
    if not is_json_type(ctype, LENIENT_JSON_TYPES):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json (or text/plain), not {ctype}", code="5003"
        )
    data = safe_loads(raw, code="5003")
    if not isinstance(data, dict):
        raise bad_json("a JSON object is required")
    return data


def optional_text(data: dict[str, Any], key: str, max_len: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_json(f"{key} must be a string")
    return str(value)[:max_len]


def parse_cursor(request: Request) -> int | None:
    return query_int(request, "cursor", minimum=0, code="5003")


async def chat_of(client: Client, chat_id: str, *, active: bool = False) -> ChatSession:
    async with client.rt.db.read() as s:
        chat = await service.get_for_client(
            session=s, tenant_id=client.tenant_id, chat_id=chat_id, client_key=client.client_key
        )
    if chat is None or (active and chat.state not in ACTIVE_STATES):
        raise chat_not_found()
    return chat


async def tenant_of_chat(rt: Runtime, chat_id: str) -> str | None:
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
        return chat.tenant_id if chat is not None else None


async def entry_open(client: Client) -> bool:
    if client.entry.hours_id is None:
        return True
    async with client.rt.db.read() as s:
        hours = await s.get(HoursOfOperation, client.entry.hours_id)
    return is_open(hours, utcnow())


async def chat_body(client: Client, chat: ChatSession, is_new: bool | None) -> dict[str, Any]:
    async with client.rt.db.read() as s:
        estimate = await ewt.for_chat(client.rt, s, chat)
    body: dict[str, Any] = {"chat_id": chat.id, "state": chat.state, "ewt": ewt.as_text(estimate)}
    if is_new is not None:
        body["is_new_chat"] = is_new
    if chat.phone_number:
        body["phone_number"] = chat.phone_number
    return body


def events_response(client: Client, answer: polling.Answer) -> Response:
    client.headers[CURSOR_HEADER] = str(answer.cursor)
    client.headers["Cache-Control"] = "no-store"
    return client.respond({"events": answer.events})


def parameter_type(spec: dict[str, Any]) -> str:
    name = str(spec.get("name", "")).upper()
    kind = str(spec.get("type", "string")).lower()
    if name in ("FIRST_NAME", "LAST_NAME", "ACCOUNT", "COMPANY"):
        return name
    if kind in ("phone", "email"):
        return kind.upper()
    if kind.upper() in ("PHONE", "TEXT", "EMAIL", "FIRST_NAME", "LAST_NAME", "ACCOUNT", "COMPANY"):
        return kind.upper()
    return "TEXT"


PUSH_KEYS = {
    "ios_apns_device_token": "ios_apns",
    "ios_firebase_device_token": "ios_firebase",
    "android_firebase_device_token": "android_firebase",
}

# images are never sniffed into anything else, nor scripts inside SVG run
SAFE_IMAGE = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}

DEFAULT_PHOTO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    b'<rect width="64" height="64" rx="8" fill="#6e7781"/>'
    b'<circle cx="32" cy="25" r="11" fill="#fff"/>'
    b'<path d="M12 56c3-11 11-16 20-16s17 5 20 16" fill="#fff"/></svg>'
)

CHAT_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    b'<circle cx="32" cy="32" r="32" fill="#1f6feb"/>'
    b'<circle cx="32" cy="25" r="11" fill="#fff"/>'
    b'<path d="M12 54c3-11 11-16 20-16s17 5 20 16" fill="#fff"/></svg>'
)


async def watch_disconnect(request: Request, waiter: Waiter) -> None:
    """Wake the held poll when the client closes the connection."""
    while True:
        message = await request.receive()
        if message.get("type") == "http.disconnect":
            waiter.wake(polling.DISCONNECTED)
            return


# ---- the operations (registered on both versions below) -----------------------------


def version_of(request: Request) -> int:
    return 2 if request.scope["path"].startswith("/clientweb/api/v2/") else 1


async def auth(request: Request, tenant_hint: str | None = None) -> Client:
    return await authenticate(request, version=version_of(request), tenant_hint=tenant_hint)


@guarded
async def availability(request: Request) -> Response:
    client = await auth(request)
    if not await entry_open(client):
        return client.respond({"chat": "notAvailable", "ewt": "0"})
    async with client.rt.db.read() as s:
        position = await ewt.queue_position(
            s, tenant_id=client.tenant_id, service_id=client.entry.service_id
        )
        estimate = await ewt.estimate(
            client.rt,
            s,
            tenant_id=client.tenant_id,
            service_id=client.entry.service_id,
            skills=dict(client.entry.requested_skills or {}),
            position=position,
        )
    return client.respond({"chat": "available", "ewt": ewt.as_text(estimate)})


@guarded
async def parameters(request: Request) -> Response:
    client = await auth(request)
    out = [
        {str(p.get("name", "")): parameter_type(p)}
        for p in client.entry.expected_parameters or []
        if p.get("name")
    ]
    return client.respond({"parameters": out})


MAX_PARAMETER_BYTES = 16 * 1024


def parameter_value(key: str, value: Any, max_depth: int) -> Any:
    """A parameter as stored: strings (numbers and booleans as text), or the objects and
    arrays that web widgets send (``location``, ``user_platform``), bounded in depth and
    size (400/5003)."""
    if value is None or isinstance(value, str):
        return value if value is None else value[:4096]
    if isinstance(value, bool | int | float):
        return str(value)[:4096]
    try:
        check_document(value, max_depth=max_depth, code="5003")
    except Invalid as e:
        raise bad_json(f"parameters.{key}: {e.message}") from e
    if len(json.dumps(value)) > MAX_PARAMETER_BYTES:
        raise bad_json(f"parameters.{key} is too large (at most {MAX_PARAMETER_BYTES} bytes)")
    return value


@guarded
async def request_chat(request: Request) -> Response:
    client = await auth(request)
    data = await json_object(request)
    raw_params = data.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise bad_json("parameters must be an object")
    if len(raw_params) > client.rt.settings.chat_max_parameters:
        raise Invalid("Too many parameters.", code="5603")
    params: dict[str, Any] = {
        str(key)[:255]: parameter_value(
            str(key), value, client.rt.settings.chat_parameter_max_depth
        )
        for key, value in raw_params.items()
    }
    for spec in client.entry.expected_parameters or []:
        name = str(spec.get("name", ""))
        if spec.get("required") and not params.get(name):
            raise bad_json(f"parameters.{name} is required")
    initial = data.get("initial_message")
    initial_event: dict[str, Any] | None = None
    if initial is not None:
        initial_event = ev.clean(initial, ev.CLIENT_EVENTS, where="initial_message")
        if initial_event["event"] != ev.MESSAGE:
            raise bad_json("initial_message must be a chat_session_message")
    phone = optional_text(data, "phone_number", 64)
    sender = optional_text(data, "from", 255)
    async with client.rt.db.read() as s:
        existing = await service.get_active_for_client(
            session=s, tenant_id=client.tenant_id, client_key=client.client_key
        )
    if existing is None and not await entry_open(client):
        raise Unavailable("No server is available to accept chat connection", code="5001")
    made = await interactions.request_chat(
        client.rt,
        tenant_id=client.tenant_id,
        entry=client.entry,
        client_key=client.client_key,
        user_agent=client.user_agent,
        phone_number=phone,
        from_address=sender,
        parameters=params,
        initial_message=initial_event,
        poll_abandon_seconds=actions.poll_abandon_seconds_for(client.rt, client.tenant_settings),
    )
    body: dict[str, Any] = {
        "chat_id": made.chat.id,
        "state": made.chat.state,
        "ewt": ewt.as_text(made.ewt),
        "is_new_chat": made.is_new,
    }
    if made.chat.phone_number:
        body["phone_number"] = made.chat.phone_number
    return client.respond(body)


@guarded
async def active_chat(request: Request) -> Response:
    client = await auth(request)
    async with client.rt.db.read() as s:
        chat = await service.get_active_for_client(
            session=s, tenant_id=client.tenant_id, client_key=client.client_key
        )
    if chat is None:
        raise chat_not_found()
    return client.respond(await chat_body(client, chat, None))


async def get_events(request: Request, chat_id: str) -> Response:
    client = await auth(request)
    answer = await polling.poll(
        client.rt,
        tenant_id=client.tenant_id,
        chat_id=chat_id,
        client_key=client.client_key,
        hold=client.rt.settings.long_poll_seconds,
        cursor=parse_cursor(request),
        watch=lambda waiter: watch_disconnect(request, waiter),
    )
    return events_response(client, answer)


@guarded
async def post_events(request: Request, chat_id: str) -> Response:
    client = await auth(request)
    data = await json_object(request, empty_ok=False)
    raw = data.get("events")
    if raw is None:
        raise Invalid("No events", code="5511")
    if not isinstance(raw, list):
        raise bad_json("events must be an array")
    if len(raw) > client.rt.settings.chat_max_events_per_request:
        raise bad_json("too many events in one request")
    cleaned = [ev.clean(item, ev.CLIENT_EVENTS, where=f"events[{i}]") for i, item in enumerate(raw)]
    cursor = parse_cursor(request)
    if cleaned:
        # signaling changes calls too (switchboard/calls), off the plain hot path
        on = calls.customer_events if calls.takes(cleaned) else interactions.customer_events
        await on(
            client.rt,
            tenant_id=client.tenant_id,
            chat_id=chat_id,
            client_key=client.client_key,
            events=cleaned,
        )
    if cursor is not None:
        # clients that track their cursor read every server event through polls
        return events_response(client, polling.Answer([], cursor))
    answer = await polling.claim_for_response(
        client.rt, tenant_id=client.tenant_id, chat_id=chat_id, client_key=client.client_key
    )
    return events_response(client, answer)


@guarded
async def history(request: Request, chat_id: str) -> Response:
    client = await auth(request)
    chat = await chat_of(client, chat_id)
    async with client.rt.db.read() as s:
        events, cursor = await service.history_and_cursor(session=s, chat_id=chat.id)
    client.headers[CURSOR_HEADER] = str(cursor)
    return client.respond({"events": events})


async def upload(request: Request) -> Response:
    client = await auth(request)
    async with client.rt.db.read() as s:
        chat = await service.get_active_for_client(
            session=s, tenant_id=client.tenant_id, client_key=client.client_key
        )
    if chat is None:
        raise chat_not_found()
    writer = files.UploadWriter(client.rt, client.tenant_id)
    await receive_file(request, writer)
    stored = await files.register(client.rt, writer, chat_id=chat.id, uploaded_by=chat.id)
    return client.respond({"file_id": stored.id, "file_name": stored.name})


async def get_file(request: Request, chat_id: str, file_id: str) -> Response:
    client = await auth(request, await tenant_of_chat(request.app.state.rt, chat_id))
    chat = await chat_of(client, chat_id)
    stored = await files.get(client.rt, file_id=file_id)
    if stored is None or stored.tenant_id != client.tenant_id or stored.chat_id != chat.id:
        raise NotFound("File not found", code="5502")
    return file_response(client, stored)


async def _image_chat(request: Request, chat_id: str) -> ChatSession:
    """Images that browsers load as ``<img>`` or CSS backgrounds come without headers:
    the chat id is the credential (a random UUID only the customer and agents know);
    when the request does carry an Authorization header it must match too."""
    rt: Runtime = request.app.state.rt
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, chat_id)
    if chat is None:
        raise chat_not_found()
    if request.headers.get("authorization"):
        client = await auth(request, chat.tenant_id)
        if client.tenant_id != chat.tenant_id or client.client_key != chat.client_key:
            raise chat_not_found()
    return chat


@guarded
async def profile_photo(request: Request, chat_id: str, party_id: str) -> Response:
    chat = await _image_chat(request, chat_id)
    rt: Runtime = request.app.state.rt
    async with rt.db.read() as s:
        party = await service.get_party(session=s, chat_id=chat.id, party_id=party_id)
        user = await s.get(User, party.user_id) if party and party.user_id else None
    if party is None or party.type == "customer":
        raise NotFound("Profile photo not found", code="5502")
    if user is None or not user.photo_data:
        return Response(
            content=DEFAULT_PHOTO,
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, max-age=300", **SAFE_IMAGE},
        )
    return Response(
        content=user.photo_data,
        media_type=user.photo_content_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=300", **SAFE_IMAGE},
    )


@guarded
async def chat_icon(request: Request, chat_id: str) -> Response:
    await _image_chat(request, chat_id)
    return Response(
        content=CHAT_ICON,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", **SAFE_IMAGE},
    )


@guarded
async def ice_servers(request: Request) -> Response:
    client = await auth(request)
    async with client.rt.db.read() as s:
        servers = await call_ice_servers(
            session=s, settings=client.rt.settings, tenant_id=client.tenant_id
        )
    return client.respond({"servers": servers})


@guarded
async def configuration(request: Request) -> Response:
    client = await auth(request)
    return client.respond(widget.get(entry=client.entry))


@guarded
async def notifications(request: Request, chat_id: str) -> Response:
    client = await auth(request)
    data = await json_object(request)
    given = {k: data.get(k) for k in PUSH_KEYS if data.get(k) not in (None, "")}
    if len(given) > 1:
        raise NotAcceptable("Too many parameters.", code="5603")
    kind: str | None = None
    token: str | None = None
    bundle: str | None = None
    if given:
        key, value = next(iter(given.items()))
        if not isinstance(value, str) or len(value) > 4096:
            raise bad_json(f"{key} must be a string")
        kind, token = PUSH_KEYS[key], value
        if kind == "ios_apns":
            bundle = optional_text(data, "ios_app_bundle_id", 255)
            if bundle is None:
                raise bad_json("ios_app_bundle_id is required with ios_apns_device_token")
    await actions.subscribe_push(
        client.rt,
        tenant_id=client.tenant_id,
        chat_id=chat_id,
        client_key=client.client_key,
        kind=kind,
        token=token,
        bundle_id=bundle,
    )
    return client.respond({})


async def case_chat(client: Client, chat_id: str | None) -> ChatSession:
    if chat_id is not None:
        return await chat_of(client, chat_id)
    async with client.rt.db.read() as s:
        chat = await service.get_latest_for_client(
            session=s, tenant_id=client.tenant_id, client_key=client.client_key
        )
    if chat is None:
        raise chat_not_found()
    return chat


async def _case_history(client: Client, chat_id: str | None) -> Response:
    chat = await case_chat(client, chat_id)
    if not chat.case_id:
        raise NotAcceptable("No case is specified for this session.", code="5601")
    async with client.rt.db.read() as s:
        sessions = await service.case_history(
            session=s, tenant_id=client.tenant_id, case_id=chat.case_id
        )
    return client.respond({"sessions": sessions})


async def _close_case(client: Client, chat_id: str | None) -> Response:
    chat = await case_chat(client, chat_id)
    await crm.close_case(
        client.rt,
        tenant_id=client.tenant_id,
        tenant=client.tenant_domain,
        chat=chat,
        client_key=client.client_key,
    )
    return client.respond({})


@guarded
async def case_history_top(request: Request) -> Response:
    return await _case_history(await auth(request), None)


@guarded
async def case_history_chat(request: Request, chat_id: str) -> Response:
    return await _case_history(await auth(request), chat_id)


@guarded
async def close_case_top(request: Request) -> Response:
    return await _close_case(await auth(request), None)


@guarded
async def close_case_chat(request: Request, chat_id: str) -> Response:
    return await _close_case(await auth(request), chat_id)


@guarded
async def server_version(request: Request) -> Response:
    client = await auth(request)
    return client.respond({"server_version": f"{__version__} (Switchboard)"})


# ---- URL -> operation ------------------------------------------------------------------

# (method, path, operation, response model, summary); the v2-only ones follow
BOTH: list[tuple[str, str, Any, Any, str]] = [
    ("GET", "/availability", availability, AvailabilityRead, "Check Availability (hours, EWT)"),
    ("GET", "/parameters", parameters, ParametersRead, "Expected Parameters of the entry"),
    ("POST", "/chats", request_chat, ChatRead, "Request Chat (new or existing)"),
    ("GET", "/chats/active", active_chat, ChatRead, "Get Active Chat"),
    ("GET", "/chats/{chat_id}/events", get_events, EventsRead, "Get New Chat Events (long poll)"),
    (
        "POST",
        "/chats/{chat_id}/events",
        post_events,
        EventsRead,
        "Send Events (answers with any new server events)",
    ),
    ("GET", "/chats/{chat_id}/history", history, EventsRead, "Get Chat History"),
    ("POST", "/files", upload, FileRead, "Upload File (multipart 'file')"),
    ("GET", "/chats/{chat_id}/files/{file_id}", get_file, None, "Get File"),
    (
        "GET",
        "/chats/{chat_id}/profilephotos/{party_id}",
        profile_photo,
        None,
        "Get Agent Profile Photo (the chat id is the credential)",
    ),
    ("GET", "/chats/{chat_id}/chaticon", chat_icon, None, "Default chat icon (web widget)"),
    ("GET", "/iceservers", ice_servers, IceServersRead, "Get ICE servers"),
    ("GET", "/configuration", configuration, ConfigurationRead, "Get Chat Widget Configuration"),
]
V2_ONLY: list[tuple[str, str, Any, Any, str]] = [
    (
        "POST",
        "/chats/{chat_id}/notifications",
        notifications,
        None,
        "Mobile Notification Subscription",
    ),
    ("GET", "/casehistory", case_history_top, CaseHistoryRead, "Get Case History"),
    (
        "GET",
        "/chats/{chat_id}/casehistory",
        case_history_chat,
        CaseHistoryRead,
        "Get Case History (the SDKs' path)",
    ),
    ("POST", "/closecase", close_case_top, None, "Close Case"),
    ("POST", "/chats/{chat_id}/closecase", close_case_chat, None, "Close Case (the SDKs' path)"),
    ("GET", "/version", server_version, VersionRead, "Get Version"),
]


class ChatRequest(BaseModel):
    """``POST chats``: parameter values are strings, or objects and arrays (web widgets
    send ``location`` and ``user_platform``)."""

    parameters: dict[str, Any] | None = None
    phone_number: str | None = None
    from_: str | None = Field(default=None, alias="from")
    initial_message: dict[str, Any] | None = None


class EventsRequest(BaseModel):
    events: list[dict[str, Any]]


class NotificationsRequest(BaseModel):
    ios_apns_device_token: str | None = None
    ios_app_bundle_id: str | None = None
    ios_firebase_device_token: str | None = None
    android_firebase_device_token: str | None = None


BODIES: dict[Any, dict[str, Any]] = {
    request_chat: body_doc(ChatRequest, required=False),
    post_events: body_doc(EventsRequest),
    notifications: body_doc(NotificationsRequest, required=False),
    upload: body_doc(
        {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        },
        "multipart/form-data",
    ),
}


def _router(version: int) -> APIRouter:
    router = APIRouter(
        prefix=f"/clientweb/api/v{version}",
        tags=[f"Mobile/Web Messaging v{version}"],
        responses=ERRORS,
    )
    for method, path, endpoint, model, summary in BOTH + (V2_ONLY if version >= 2 else []):
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=model,
            summary=summary,
            operation_id=f"messaging_v{version}_{endpoint.__name__}",
            openapi_extra=BODIES.get(endpoint),
        )
    return router


v1 = _router(1)
v2 = _router(2)


# The hottest paths also as plain Starlette routes, tried first by the /clientweb
# application (core/dispatch.py): the same operations without FastAPI's per-request
# dependency machinery (the FastAPI routes above document them and serve the rest).


async def get_events_route(request: Request) -> Response:
    return await get_events(request, request.path_params["chat_id"])


async def post_events_route(request: Request) -> Response:
    return await post_events(request, request.path_params["chat_id"])


FAST_ROUTES = [
    Route(f"/clientweb/api/v{v}/chats/{{chat_id}}/events", endpoint, methods=[method])
    for v in (1, 2)
    for method, endpoint in (("GET", get_events_route), ("POST", post_events_route))
]


def file_response(client: Client, stored: ChatFile) -> Response:
    path = files.path_of(client.rt, stored)
    if not path.is_file():
        raise NotFound("File not found", code="5502")
    # an uploaded file is never run as a page of ours (an SVG with a script, HTML)
    headers = upload_headers(stored.content_type, stored.name)
    response = FileResponse(
        path,
        media_type=headers.pop("Content-Type"),
        filename=stored.name,
        content_disposition_type="attachment" if "Content-Disposition" in headers else "inline",
        headers=headers,
    )
    client.set_cookie(response)
    return response


async def android_file(request: Request, file_id: str) -> Response:
    """``GET /clientweb/file/{fileId}``: the Android SDK's download path."""
    rt: Runtime = request.app.state.rt
    stored = await files.get(rt, file_id=file_id)
    if stored is None:
        raise NotFound("File not found", code="5502")
    client = await authenticate(request, version=2, tenant_hint=stored.tenant_id)
    if stored.tenant_id != client.tenant_id or stored.chat_id is None:
        raise NotFound("File not found", code="5502")
    try:
        await chat_of(client, stored.chat_id)
    except DomainError as e:
        raise NotFound("File not found", code="5502") from e
    return file_response(client, stored)


file_router = APIRouter(prefix="/clientweb", tags=["Mobile/Web Messaging v2"], responses=ERRORS)
file_router.add_api_route(
    "/file/{file_id}", android_file, methods=["GET"], summary="Get File (Android SDK path)"
)
