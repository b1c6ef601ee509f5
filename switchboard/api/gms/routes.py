"""The GMS Service API (``/genesys/1/service``) and Storage API (``/genesys/1/storage``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from switchboard.api.gms import chat_routes, forms, tenancy
from switchboard.chats import service as chat_service
from switchboard.core.db import utcnow
from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.gms import actions, callbacks, files, service
from switchboard.gms.config import gms_settings
from switchboard.gms.models import GmsService, GmsStorageEntry
from switchboard.gms.schemas import CallbackRead, ErrorRead, ServiceCreated, StorageCreated
from switchboard.gms.values import digits, iso, phone, positive_int

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorRead, "description": "Bad parameters"},
    404: {"model": ErrorRead, "description": "No such service, id, entry or tenant"},
    409: {"model": ErrorRead, "description": "Not possible in the service's state"},
    413: {"model": ErrorRead, "description": "Body too large"},
    503: {"model": ErrorRead, "description": "No access number or code available"},
}

# mounted twice (``api/gms/__init__``): under ``/genesys/1`` and under the seed's
# ``/GMS-web/gms/1`` (its example of a service-specific request uses that path)
PREFIX = "/genesys/1"
ALIAS = "/GMS-web/gms/1"
router = APIRouter(tags=["GMS"], responses=ERRORS)


def base_of(request: Request) -> str:
    """The prefix the request came in through (answers point back under it)."""
    return ALIAS if request.url.path.startswith(ALIAS + "/") else PREFIX


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


# ---- callbacks (before the generic routes: /service/callback/... ) -------------------


async def _create_callback(request: Request, name: str) -> Response:
    rt = _rt(request)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        svc = await actions.create_callback(rt, tenant_id=tenant.id, name=name, params=params)
    return _json({"_id": svc.id, "_text": actions.callback_text(svc)})


async def _list_callbacks(request: Request, name: str | None) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    q = request.query_params
    number = phone("_customer_number", (q.get("_customer_number") or "").strip() or None)
    wanted_state = (q.get("_callback_state") or "").strip().upper() or None
    now = utcnow()
    async with rt.db.read() as s:
        rows = await service.list_callbacks(
            session=s,
            tenant_id=tenant.id,
            name=name,
            customer_digits=digits(number) if number else None,
            limit=gms_settings(rt).max_list,
        )
        progress = await callbacks.overlay_in(s, rows)
    out = [service.describe_callback(r, now) | _progress(progress, r.id) for r in rows]
    if wanted_state is not None:
        out = [c for c in out if c["_callback_state"] == wanted_state]
    return _json(out)


def _progress(found: dict[str, callbacks.Progress], service_id: str) -> dict[str, Any]:
    p = found.get(service_id)
    return p.fields() if p is not None else {}


async def _callback(
    rt: Runtime, tenant_id: str, name: str, service_id: str
) -> tuple[GmsService, dict[str, Any]]:
    """The callback, showing the progress of its calls, and the progress's fields."""
    async with rt.db.read() as s:
        svc = await service.get(session=s, tenant_id=tenant_id, service_id=service_id)
        if svc is None or svc.kind != "callback" or svc.name != name:
            raise NotFound(f"Callback not found: {service_id}")
        progress = await callbacks.overlay_in(s, [svc])
    return svc, _progress(progress, svc.id)


@router.post(
    "/service/callback",
    summary="Request a callback",
    response_model=ServiceCreated,
    openapi_extra=forms.CALLBACK_DOC,
)
async def create_callback(request: Request) -> Response:
    return await _create_callback(request, "callback")


@router.get(
    "/service/callback",
    summary="List callbacks (filters: _customer_number, _callback_state)",
    response_model=list[CallbackRead],
)
async def list_all_callbacks(request: Request) -> Response:
    return await _list_callbacks(request, None)


@router.post(
    "/service/callback/{name}",
    summary="Request a callback of the callback service {name}",
    response_model=ServiceCreated,
    openapi_extra=forms.CALLBACK_DOC,
)
async def create_named_callback(request: Request, name: str) -> Response:
    return await _create_callback(request, name)


@router.get(
    "/service/callback/{name}",
    summary="List the callbacks of {name} (filters: _customer_number, _callback_state)",
    response_model=list[CallbackRead],
)
async def list_callbacks(request: Request, name: str) -> Response:
    return await _list_callbacks(request, name)


@router.get(
    "/service/callback/{name}/{service_id}",
    summary="Query one callback",
    response_model=CallbackRead,
)
async def get_callback(request: Request, name: str, service_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    svc, extra = await _callback(rt, tenant.id, name, service_id)
    return _json(service.describe_callback(svc, utcnow()) | extra)


@router.put(
    "/service/callback/{name}/{service_id}",
    summary="Reschedule a callback (_desired_time)",
    response_model=ServiceCreated,
    openapi_extra=forms.CALLBACK_DOC,
)
async def reschedule_callback(request: Request, name: str, service_id: str) -> Response:
    rt = _rt(request)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        svc = await actions.reschedule_callback(
            rt, tenant_id=tenant.id, service_id=service_id, name=name, params=params
        )
    return _json({"_id": svc.id, "_text": actions.callback_text(svc)})


@router.delete(
    "/service/callback/{name}/{service_id}",
    summary="Cancel a callback",
    response_model=CallbackRead,
)
async def cancel_callback(request: Request, name: str, service_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    svc = await actions.cancel(rt, tenant_id=tenant.id, service_id=service_id, name=name)
    return _json(service.describe_callback(svc, utcnow()))


# ---- services --------------------------------------------------------------------------


def _interaction_answer(svc: GmsService) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": svc.id, "_action": "DialNumber"}
    if svc.access_number is not None:
        out["_access_number"] = svc.access_number
        out["_tel_url"] = f"tel:{svc.access_number}"
    if svc.access_code is not None:
        out["_access_code"] = svc.access_code
    out["_expiration_time"] = iso(svc.expires_at)
    out["_data_id"] = svc.data_id
    return out


def _match_answer(svc: GmsService) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": svc.id,
        "_data_id": svc.data_id,
        "_service_name": svc.name,
        "_access_number": svc.access_number,
    }
    if "_phone_number" in svc.parameters:
        out["_phone_number"] = svc.parameters["_phone_number"]
    return out


@router.post(
    "/service/{name}",
    summary="Create a service: request-interaction, request-access, match-interaction, "
    "request-chat or callback",
    response_model=ServiceCreated,
    openapi_extra=forms.SERVICE_DOC,
)
async def create_service(request: Request, name: str) -> Response:
    rt = _rt(request)
    if name not in ("request-interaction", "request-access", "match-interaction", "request-chat"):
        # callback has its own route; nothing else exists (checked before reading the body)
        raise NotFound(f"Service not found: {name}")
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        if name == "match-interaction":
            svc = await actions.match_interaction(rt, tenant_id=tenant.id, params=params)
            return _json(_match_answer(svc))
        if name == "request-chat":
            async with rt.db.read() as s:
                default = await service.default_chat_service(session=s, tenant_id=tenant.id)
            svc = await actions.request_chat(
                rt, tenant_id=tenant.id, params=params, default_service=default
            )
            return _json(
                {
                    "_id": svc.id,
                    "_chatIxnAPI-CREATE-URL": f"{base_of(request)}/service/{svc.id}/ixn/chat",
                    "_data_id": svc.data_id,
                    "_expiration_time": iso(svc.expires_at),
                }
            )
        svc = await actions.request_interaction(rt, tenant_id=tenant.id, name=name, params=params)
    return _json(_interaction_answer(svc))


async def _describe(rt: Runtime, tenant_id: str, service_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        svc = await service.get(session=s, tenant_id=tenant_id, service_id=service_id)
        if svc is None:
            raise NotFound(f"Service not found: {service_id}")
        chat_state: str | None = None
        if svc.chat_id is not None:
            chat = await chat_service.get_chat(session=s, tenant_id=tenant_id, chat_id=svc.chat_id)
            chat_state = chat.state if chat is not None else None
        progress = await callbacks.overlay_in(s, [svc])
    return service.describe(svc, utcnow(), chat_state) | _progress(progress, svc.id)


@router.get("/service/{service_id}", summary="Query a service")
async def get_service(request: Request, service_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    return _json(await _describe(rt, tenant.id, service_id))


@router.delete("/service/{service_id}", summary="Cancel (delete) a service")
async def delete_service(request: Request, service_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    await actions.cancel(rt, tenant_id=tenant.id, service_id=service_id)
    return _json(await _describe(rt, tenant.id, service_id))


@router.post(
    "/service/{service_id}/ixn/chat",
    summary="Create the chat of a request-chat service (answers in the Chat API v2 shape)",
    openapi_extra=forms.CHAT_DOC,
)
async def create_service_chat(request: Request, service_id: str) -> Response:
    return await chat_routes.create_for_service(request, service_id)


@router.post(
    "/service/{service_id}/ixn/chat/{action}",
    summary="refresh, send, startTyping, stopTyping, disconnect of a request-chat's chat",
    openapi_extra=forms.CHAT_DOC,
)
async def service_chat_action(request: Request, service_id: str, action: str) -> Response:
    return await chat_routes.action_for_service(request, service_id, action)


@router.get("/service/{service_id}/status", summary="The status of a service (as POST)")
async def get_status(request: Request, service_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    return _json(await _describe(rt, tenant.id, service_id))


@router.post(
    "/service/{service_id}/{request_name}",
    summary="A service-specific request: status, cancel, match",
    openapi_extra=forms.STORAGE_DOC,
)
async def service_request(request: Request, service_id: str, request_name: str) -> Response:
    rt = _rt(request)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
    if request_name == "status":
        return _json(await _describe(rt, tenant.id, service_id))
    if request_name == "cancel":
        await actions.cancel(rt, tenant_id=tenant.id, service_id=service_id)
        return _json(await _describe(rt, tenant.id, service_id))
    if request_name == "match":
        svc = await actions.match_by_id(rt, tenant_id=tenant.id, service_id=service_id)
        return _json(_match_answer(svc))
    await _describe(rt, tenant.id, service_id)  # 404 for an unknown id first
    raise NotFound(f"Unknown request: {request_name}")


# ---- storage ---------------------------------------------------------------------------


def _ttl(rt: Runtime, raw: str) -> int:
    limit = gms_settings(rt).max_storage_ttl_seconds
    return positive_int("ttl", raw, default=0, limit=limit)


async def _entry(rt: Runtime, tenant_id: str, entry_id: str) -> GmsStorageEntry:
    async with rt.db.read() as s:
        entry = await service.get_entry(
            session=s, tenant_id=tenant_id, entry_id=entry_id, now=utcnow()
        )
    if entry is None:
        raise NotFound(f"Storage entry not found: {entry_id}")
    return entry


@router.post(
    "/storage/{ttl}",
    summary="Store key/values (and files) for ttl seconds",
    response_model=StorageCreated,
    openapi_extra=forms.STORAGE_DOC,
)
async def storage_create(request: Request, ttl: str) -> Response:
    rt = _rt(request)
    seconds = _ttl(rt, ttl)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        params.fields.pop("_tenant", None)
        if not params.fields and not params.files:
            raise Invalid("Nothing to store: send at least one key/value")
        entry = await actions.create_entry(
            rt, tenant_id=tenant.id, ttl_seconds=seconds, data=params
        )
    return _json({"id": entry.id})


@router.post(
    "/storage/{entry_id}/{ttl}",
    summary="Add or replace keys; the entry then expires after ttl seconds",
    response_model=StorageCreated,
    openapi_extra=forms.STORAGE_DOC,
)
async def storage_update(request: Request, entry_id: str, ttl: str) -> Response:
    rt = _rt(request)
    seconds = _ttl(rt, ttl)
    async with forms.body_of(rt, request) as params:
        tenant = await tenancy.resolve(rt, request, params)
        params.fields.pop("_tenant", None)
        entry = await actions.update_entry(
            rt, tenant_id=tenant.id, entry_id=entry_id, ttl_seconds=seconds, data=params
        )
    return _json({"id": entry.id})


def _file_view(base: str, entry_id: str, key: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": meta.get("name"),
        "content_type": meta.get("content_type"),
        "size": meta.get("size"),
        "url": f"{base}/storage/{entry_id}/{key}",
    }


@router.get("/storage/{entry_id}", summary="Read every key of an entry")
async def storage_read(request: Request, entry_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    entry = await _entry(rt, tenant.id, entry_id)
    body: dict[str, Any] = dict(entry.values or {})
    for key, meta in (entry.files or {}).items():
        body[key] = _file_view(base_of(request), entry.id, key, meta)
    return _json(body)


@router.get("/storage/{entry_id}/{key}", summary="Read one key (a value, or the file)")
async def storage_read_key(request: Request, entry_id: str, key: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    entry = await _entry(rt, tenant.id, entry_id)
    if key in (entry.values or {}):
        return Response(
            content=entry.values[key],
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )
    meta = (entry.files or {}).get(key)
    if meta is None:
        raise NotFound(f"Key not found: {key}")
    path = files.path_of(rt, meta)
    if not path.is_file():
        raise NotFound(f"Key not found: {key}")
    return FileResponse(
        path,
        media_type=str(meta.get("content_type") or "application/octet-stream"),
        filename=str(meta.get("name") or key),
        headers={"Cache-Control": "no-store"},
    )


@router.delete("/storage/{entry_id}", summary="Delete an entry")
async def storage_delete(request: Request, entry_id: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    await actions.delete_entry(rt, tenant_id=tenant.id, entry_id=entry_id)
    return _json({})


@router.delete("/storage/{entry_id}/{key}", summary="Delete one key of an entry")
async def storage_delete_key(request: Request, entry_id: str, key: str) -> Response:
    rt = _rt(request)
    tenant = await tenancy.resolve(rt, request)
    await actions.delete_entry(rt, tenant_id=tenant.id, entry_id=entry_id, key=key)
    return _json({})
