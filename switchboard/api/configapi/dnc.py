"""Configuration API v2: Do-Not-Call lists.

Seed methods (``POST``, JSON): ``donotcalllist/add|replaceAll|deleteAll|delete/{list}``.
Our extension: ``GET|POST /donotcalllist``, ``GET|PUT|DELETE /donotcalllist/{list}`` and
``GET /donotcalllist/{list}/entries``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from switchboard.api.common import INT64_MAX, body_doc, json_body, parse
from switchboard.api.configapi.deps import require
from switchboard.auth.service import Principal
from switchboard.core.runtime import Runtime
from switchboard.dnc import actions, service
from switchboard.dnc.schemas import DncEntryRead, DncListCreate, DncListRead, DncListUpdate
from switchboard.users.models import Privilege

router = APIRouter(tags=["Configuration API: Do Not Call lists"])

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_LISTS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request (format not understood)"},
    401: {"description": "Authentication failed"},
    403: {
        "description": "User authenticated but does not have sufficient privileges, or "
        "modification of this type of list is not allowed"
    },
    404: {"description": "DNC List is not found or invalid URL"},
    415: {"description": "Content-Type is not application/json"},
}
ITEMS_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                },
                "example": [["123456789", "optional comment"], ["9999999999", "optional comment"]],
            }
        },
    }
}
KEYS_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"key": {"type": "string"}}},
                },
                "example": [{"key": "9999999"}, {"key": "8888888"}],
            }
        },
    }
}


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def _body(request: Request) -> Any:
    return await json_body(request, max_bytes=_rt(request).settings.lists_max_body_bytes)


@router.post(
    "/donotcalllist/add/{list_name}",
    summary="Add Records to DNC",
    openapi_extra=ITEMS_DOC,
    responses=ERRORS,
)
async def add(list_name: str, request: Request, principal: Manager) -> JSONResponse:
    items = actions.parse_items(await _body(request))
    result = await actions.add(
        _rt(request), tenant_id=principal.tenant_id, name=list_name, items=items
    )
    return JSONResponse(result.body("added"))


@router.post(
    "/donotcalllist/replaceAll/{list_name}",
    summary="Replace Records in DNC",
    openapi_extra=ITEMS_DOC,
    responses=ERRORS,
)
async def replace_all(list_name: str, request: Request, principal: Manager) -> JSONResponse:
    items = actions.parse_items(await _body(request))
    result = await actions.replace_all(
        _rt(request), tenant_id=principal.tenant_id, name=list_name, items=items
    )
    return JSONResponse(result.body("added"))


@router.post(
    "/donotcalllist/deleteAll/{list_name}",
    summary="Delete All Records",
    responses=ERRORS,
)
async def delete_all(list_name: str, request: Request, principal: Manager) -> JSONResponse:
    deleted = await actions.delete_all(_rt(request), tenant_id=principal.tenant_id, name=list_name)
    return JSONResponse({"deleted": deleted})


@router.post(
    "/donotcalllist/delete/{list_name}",
    summary="Delete Records",
    openapi_extra=KEYS_DOC,
    responses=ERRORS,
)
async def delete(list_name: str, request: Request, principal: Manager) -> JSONResponse:
    keys = actions.parse_keys(await _body(request))
    result = await actions.delete_keys(
        _rt(request), tenant_id=principal.tenant_id, name=list_name, keys=keys
    )
    return JSONResponse(result.body("deleted"))


# ---- managing the lists (our extension) ----------------------------------------------


@router.get(
    "/donotcalllist",
    summary="List Do Not Call lists (extension)",
    response_model=list[DncListRead],
    response_model_by_alias=True,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def list_lists(request: Request, principal: Manager) -> list[DncListRead]:
    async with _rt(request).db.read() as s:
        return [
            await service.to_read(session=s, dnc=d)
            for d in await service.list_lists(session=s, tenant_id=principal.tenant_id)
        ]


@router.post(
    "/donotcalllist",
    summary="Create a Do Not Call list (extension)",
    status_code=201,
    response_model=DncListRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    openapi_extra=body_doc(DncListCreate),
    responses={**ERRORS, 409: {"description": "A list of that name exists"}},
)
async def create_list(request: Request, principal: Manager) -> DncListRead:
    data = await parse(request, DncListCreate)
    rt = _rt(request)
    dnc = await actions.create_list(rt, tenant_id=principal.tenant_id, data=data)
    async with rt.db.read() as s:
        return await service.to_read(session=s, dnc=dnc)


@router.get(
    "/donotcalllist/{list_name}",
    summary="Get a Do Not Call list (extension)",
    response_model=DncListRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def get_list(list_name: str, request: Request, principal: Manager) -> DncListRead:
    async with _rt(request).db.read() as s:
        dnc = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        return await service.to_read(session=s, dnc=dnc)


@router.put(
    "/donotcalllist/{list_name}",
    summary="Change a Do Not Call list (extension)",
    response_model=DncListRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    openapi_extra=body_doc(DncListUpdate),
    responses=ERRORS,
)
async def update_list(list_name: str, request: Request, principal: Manager) -> DncListRead:
    data = await parse(request, DncListUpdate)
    rt = _rt(request)
    dnc = await actions.update_list(rt, tenant_id=principal.tenant_id, name=list_name, data=data)
    async with rt.db.read() as s:
        return await service.to_read(session=s, dnc=dnc)


@router.delete(
    "/donotcalllist/{list_name}",
    summary="Delete a Do Not Call list (extension)",
    status_code=204,
    responses=ERRORS,
)
async def delete_list(list_name: str, request: Request, principal: Manager) -> Response:
    await actions.delete_list(_rt(request), tenant_id=principal.tenant_id, name=list_name)
    return Response(status_code=204)


@router.get(
    "/donotcalllist/{list_name}/entries",
    summary="Read a Do Not Call list's entries (extension)",
    response_model=list[DncEntryRead],
    response_model_by_alias=True,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def entries(
    list_name: str,
    request: Request,
    principal: Manager,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DncEntryRead]:
    async with _rt(request).db.read() as s:
        dnc = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        rows = await service.entries(session=s, list_id=dnc.id, offset=offset, limit=limit)
        return [DncEntryRead(key=e.value, comment=e.comment, campaign=e.campaign) for e in rows]
