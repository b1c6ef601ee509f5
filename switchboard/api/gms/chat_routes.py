"""The GMS Chat API v2 (``/genesys/2/chat/{service}``), mapped onto our chat engine.

``{service}`` is the appId of a scenario entry of the tenant. Create answers
``{statusCode: 0, chatId, alias, secureKey, userId, chatEnded, nextPosition, messages}``;
``refresh``, ``send``, ``startTyping``, ``stopTyping`` and ``disconnect`` require the
``secureKey`` (403 otherwise) and answer the same shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from switchboard.api.gms import forms, tenancy
from switchboard.chats import events as ev
from switchboard.chats.config import chat_settings
from switchboard.core.db import utcnow
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.gms import actions, chat, service
from switchboard.gms.models import GmsChat, GmsService
from switchboard.gms.schemas import ChatAnswer, ErrorRead, Params
from switchboard.tenants.models import Tenant

ACTIONS = ("refresh", "send", "startTyping", "stopTyping", "disconnect")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorRead, "description": "Bad parameters (errors[].code 102)"},
    403: {"model": ErrorRead, "description": "Wrong secureKey or userId (104)"},
    404: {"model": ErrorRead, "description": "No such chat service or chat (103)"},
    409: {"model": ErrorRead, "description": "The chat has ended (105)"},
    503: {"model": ErrorRead, "description": "The chat service is closed (107)"},
}

router = APIRouter(prefix="/genesys/2/chat", tags=["GMS Chat API v2"], responses=ERRORS)


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def _body(
    link: GmsChat,
    *,
    secure_key: str | None,
    ended: bool,
    messages: list[dict[str, Any]] | None = None,
    next_position: int | None = None,
) -> JSONResponse:
    out: dict[str, Any] = {
        "statusCode": 0,
        "chatId": link.chat_id,
        "alias": link.alias,
        "secureKey": secure_key,
        "userId": link.user_id,
        "chatEnded": ended,
        "messages": messages or [],
    }
    if next_position is not None:
        out["nextPosition"] = next_position
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


def _chat_parameters(params: Params, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The chat's parameters (shown to agents): the names our entries expect, subject,
    nickname, and every ``userData[KEY]`` (or ``userData.KEY``) as ``KEY``."""
    out: dict[str, Any] = dict(extra or {})
    mapping = {
        "firstName": "FIRST_NAME",
        "lastName": "LAST_NAME",
        "emailAddress": "EMAIL",
        "subject": "subject",
        "nickname": "nickname",
    }
    for src, dest in mapping.items():
        value = params.get(src)
        if value is not None:
            out[dest] = value
    for key, value in params.fields.items():
        name: str | None = None
        if key.startswith("userData[") and key.endswith("]"):
            name = key[len("userData[") : -1]
        elif key.startswith("userData."):
            name = key[len("userData.") :]
        if name:
            out[name[:255]] = value
    return out


async def _start(
    rt: Runtime,
    tenant: Tenant,
    app_id: str,
    params: Params,
    *,
    service_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> chat.Started:
    entry = await chat.entry_for(rt, tenant_id=tenant.id, app_id=app_id)
    parameters = _chat_parameters(params, extra)
    if len(parameters) > chat_settings(rt).max_parameters:
        raise Invalid("Too many parameters")
    for spec in entry.expected_parameters or []:
        name = str(spec.get("name", ""))
        if spec.get("required") and not parameters.get(name):
            raise Invalid(f"{name} is required by the chat service")
    first, last = params.get("firstName"), params.get("lastName")
    nickname = params.get("nickname") or " ".join(x for x in (first, last) if x) or "Customer"
    return await chat.start(
        rt,
        tenant=tenant,
        entry=entry,
        nickname=nickname,
        parameters=parameters,
        email=params.get("emailAddress"),
        text=params.get("text"),
        service_id=service_id,
    )


def _created(started: chat.Started) -> JSONResponse:
    return _body(
        started.link, secure_key=started.secure_key, ended=False, messages=[], next_position=1
    )


async def _act(rt: Runtime, link: GmsChat, action: str, params: Params) -> JSONResponse:
    secure_key = params.get("secureKey")
    if action == "refresh":
        position = _position(params.get("fromPosition"))
        message = params.get("message")
        if message is not None:
            await chat.post(rt, link, {"event": ev.MESSAGE, "msg": message})
        await chat.keep_alive(rt, link)
        found = await chat.transcript(rt, link, from_position=position)
        return _body(
            link,
            secure_key=secure_key,
            ended=found.ended,
            messages=found.messages,
            next_position=found.next_position,
        )
    if action == "send":
        message = params.get("message")
        if message is None:
            raise Invalid("message is required")
        await chat.post(rt, link, {"event": ev.MESSAGE, "msg": message})
    elif action == "startTyping":
        await chat.post(rt, link, {"event": "chat_session_typing"})
    elif action == "stopTyping":
        await chat.post(rt, link, {"event": "chat_session_not_typing"})
    elif action == "disconnect":
        await chat.disconnect(rt, link)
        return _body(link, secure_key=secure_key, ended=True)
    return _body(link, secure_key=secure_key, ended=False)


def _position(raw: str | None) -> int:
    if raw is None:
        return 1
    text = raw.strip()
    # ASCII digits, 18 at most: a number SQL takes (a position past the end reads nothing)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Invalid("fromPosition must be a non-negative integer")
    return max(int(text), 1)


async def _authorized(
    rt: Runtime, tenant_id: str, app_id: str | None, chat_id: str, params: Params
) -> GmsChat:
    return await chat.authorize(
        rt,
        tenant_id=tenant_id,
        app_id=app_id,
        chat_id=chat_id,
        secure_key=params.get("secureKey"),
        user_id=params.get("userId"),
    )


@router.post(
    "/{chat_service}",
    summary="Request a chat",
    response_model=ChatAnswer,
    openapi_extra=forms.CHAT_DOC,
)
async def create(request: Request, chat_service: str) -> Response:
    rt = _rt(request)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        return _created(await _start(rt, tenant, chat_service, params))


@router.post(
    "/{chat_service}/{chat_id}/{action}",
    summary="refresh (transcript from fromPosition), send, startTyping, stopTyping, disconnect",
    response_model=ChatAnswer,
    openapi_extra=forms.CHAT_DOC,
)
async def act(request: Request, chat_service: str, chat_id: str, action: str) -> Response:
    rt = _rt(request)
    if action not in ACTIONS:
        raise NotFound(f"Unknown chat request: {action}")
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        link = await _authorized(rt, tenant.id, chat_service, chat_id, params)
        return await _act(rt, link, action, params)


# ---- the same through a request-chat service (/genesys/1/service/{id}/ixn/chat) --------


async def create_for_service(request: Request, service_id: str) -> Response:
    rt = _rt(request)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        svc = await actions.claim_chat_request(rt, tenant_id=tenant.id, service_id=service_id)
        extra: dict[str, str] = {}
        if svc.data_id is not None:
            async with rt.db.read() as s:
                entry = await service.get_entry(
                    session=s, tenant_id=tenant.id, entry_id=svc.data_id, now=utcnow()
                )
            extra = dict(entry.values or {}) if entry is not None else {}
        try:
            started = await _start(
                rt, tenant, svc.chat_service or "", params, service_id=svc.id, extra=extra
            )
        except BaseException:
            await actions.release_chat_request(
                rt, tenant_id=tenant.id, service_id=svc.id, chat_id=None
            )
            raise
        await actions.release_chat_request(
            rt, tenant_id=tenant.id, service_id=svc.id, chat_id=started.link.chat_id
        )
        answer = _created(started)
        return answer


async def _service_chat(rt: Runtime, tenant_id: str, service_id: str) -> GmsService:
    async with rt.db.read() as s:
        svc = await service.get(session=s, tenant_id=tenant_id, service_id=service_id)
    if svc is None:
        raise NotFound(f"Service not found: {service_id}")
    if svc.kind != "request-chat" or svc.chat_id is None:
        raise NotFound(f"No chat was created for the service {service_id}")
    return svc


async def action_for_service(request: Request, service_id: str, action: str) -> Response:
    rt = _rt(request)
    if action not in ACTIONS:
        raise NotFound(f"Unknown chat request: {action}")
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        svc = await _service_chat(rt, tenant.id, service_id)
        assert svc.chat_id is not None
        link = await _authorized(rt, tenant.id, None, svc.chat_id, params)
        return await _act(rt, link, action, params)
