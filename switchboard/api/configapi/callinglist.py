"""Configuration API v2: calling lists (the seed's eight methods, and list management).

Seed methods (all ``POST``, JSON): ``callinglist/add|addAll|update|deleteAll/{list}``,
``callinglist/getAll|getCompleted|getChanged|get/{list}/{campaign}``. Our extension:
``GET|POST /callinglist`` and ``GET|PUT|DELETE /callinglist/{list}`` manage definitions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from switchboard.api.common import body_doc, json_body, parse, validation_message
from switchboard.api.configapi.deps import require
from switchboard.auth.service import Principal
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime
from switchboard.lists import actions, service
from switchboard.lists.records import clean, parse_time
from switchboard.lists.schemas import (
    CallingListCreate,
    CallingListRead,
    CallingListUpdate,
    Paging,
    Since,
)
from switchboard.users.models import Privilege

router = APIRouter(tags=["Configuration API: calling lists"])

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_LISTS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request (missing required fields or format not understood)"},
    401: {"description": "Authentication failed"},
    403: {"description": "User authenticated but does not have sufficient privileges"},
    404: {"description": "Calling List is not found or invalid URL"},
    415: {"description": "Content-Type is not application/json"},
}
WITH_CAMPAIGN = {
    **ERRORS,
    404: {"description": "Calling List is not found, campaign is not found, or invalid URL"},
}
RECORD_EXAMPLE = {
    "ID": "4",
    "firstName": "Post",
    "lastName": "Melon",
    "Phone": "16505555555",
    "Status": "Platinum",
}


def _doc(example: Any) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {}, "example": example}},
        }
    }


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def _body(request: Request) -> Any:
    return await json_body(request, max_bytes=_rt(request).settings.lists_max_body_bytes)


def _model(data: Any, model: type[BaseModel]) -> Any:
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise Invalid(validation_message(e)) from e


# ---- the seed's methods ------------------------------------------------------------------


@router.post(
    "/callinglist/addAll/{list_name}",
    summary="Add Many Records",
    openapi_extra=_doc([RECORD_EXAMPLE]),
    responses={
        200: {"description": 'Success, may be partial: {"added": n, "errors": [...]}'},
        **{k: v for k, v in ERRORS.items() if k != 200},
    },
)
async def add_all(list_name: str, request: Request, principal: Manager) -> JSONResponse:
    body = await _body(request)
    result = await actions.add_many(
        _rt(request), tenant_id=principal.tenant_id, name=list_name, body=body
    )
    return JSONResponse(result.body())


@router.post(
    "/callinglist/add/{list_name}",
    summary="Add Record",
    openapi_extra=_doc(RECORD_EXAMPLE),
    responses={**ERRORS, 409: {"description": "Duplicate key error"}},
)
async def add(list_name: str, request: Request, principal: Manager) -> Response:
    body = await _body(request)
    await actions.add_record(_rt(request), tenant_id=principal.tenant_id, name=list_name, body=body)
    return Response(status_code=200)


@router.post(
    "/callinglist/update/{list_name}",
    summary="Update Record",
    openapi_extra=_doc({**RECORD_EXAMPLE, "firstName": "Posty"}),
    responses={
        **ERRORS,
        404: {"description": "Calling List is not found, record is not found, or invalid URL"},
    },
)
async def update(list_name: str, request: Request, principal: Manager) -> Response:
    body = await _body(request)
    await actions.update_record(
        _rt(request), tenant_id=principal.tenant_id, name=list_name, body=body
    )
    return Response(status_code=200)


@router.post(
    "/callinglist/deleteAll/{list_name}",
    summary="Delete All Records",
    description="Deletes every record and every result of the list.",
    responses={
        **ERRORS,
        403: {
            "description": "User authenticated but does not have sufficient privileges, or "
            "modification of this type of list is not allowed"
        },
    },
)
async def delete_all(list_name: str, request: Request, principal: Manager) -> Response:
    await actions.delete_all(_rt(request), tenant_id=principal.tenant_id, name=list_name)
    return Response(status_code=200)


@router.post(
    "/callinglist/getAll/{list_name}/{campaign_name}",
    summary="Get All Records",
    openapi_extra=_doc({"fromIndex": 0, "maxSize": 100}),
    responses=WITH_CAMPAIGN,
)
async def get_all(
    list_name: str, campaign_name: str, request: Request, principal: Manager
) -> JSONResponse:
    paging: Paging = _model(await _body(request), Paging)
    async with _rt(request).db.read() as s:
        defn = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        campaign_id = await service.campaign_id_or_raise(
            session=s, tenant_id=principal.tenant_id, name=campaign_name
        )
        items = await service.get_all(
            session=s,
            defn=defn,
            campaign_id=campaign_id,
            from_index=paging.fromIndex,
            max_size=paging.maxSize,
        )
    return JSONResponse(items)


async def _since(request: Request) -> Since:
    since: Since = _model(await _body(request), Since)
    return since


@router.post(
    "/callinglist/getCompleted/{list_name}/{campaign_name}",
    summary="Get Completed Records",
    openapi_extra=_doc({"fromTime": "2021-02-01T13:15:06.456", "maxSize": "100"}),
    responses=WITH_CAMPAIGN,
)
async def get_completed(
    list_name: str, campaign_name: str, request: Request, principal: Manager
) -> JSONResponse:
    since = await _since(request)
    from_time = parse_time(since.fromTime)
    async with _rt(request).db.read() as s:
        defn = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        campaign_id = await service.campaign_id_or_raise(
            session=s, tenant_id=principal.tenant_id, name=campaign_name
        )
        items = await service.get_completed(
            session=s,
            defn=defn,
            campaign_id=campaign_id,
            from_time=from_time,
            max_size=since.maxSize,
        )
    return JSONResponse(items)


@router.post(
    "/callinglist/getChanged/{list_name}/{campaign_name}",
    summary="Get Updated Records",
    description=(
        "Records with any activity in the campaign since fromTime, with every attempt. "
        "Also answered at callinglist/getUpdated/..."
    ),
    openapi_extra=_doc({"fromTime": "2021-01-01T13:15:06.456", "maxSize": "100"}),
    responses=WITH_CAMPAIGN,
)
@router.post(
    "/callinglist/getUpdated/{list_name}/{campaign_name}",
    include_in_schema=False,
)
async def get_changed(
    list_name: str, campaign_name: str, request: Request, principal: Manager
) -> JSONResponse:
    since = await _since(request)
    from_time = parse_time(since.fromTime)
    async with _rt(request).db.read() as s:
        defn = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        campaign_id = await service.campaign_id_or_raise(
            session=s, tenant_id=principal.tenant_id, name=campaign_name
        )
        items = await service.get_changed(
            session=s,
            defn=defn,
            campaign_id=campaign_id,
            from_time=from_time,
            max_size=since.maxSize,
        )
    return JSONResponse(items)


@router.post(
    "/callinglist/get/{list_name}/{campaign_name}",
    summary="Query a Record",
    description="Only key fields are used; an unknown campaign name gives an empty status.",
    openapi_extra=_doc({"ID": "2"}),
    responses={
        **ERRORS,
        404: {"description": "Calling List is not found, record is not found, or invalid URL"},
    },
)
async def get_record(
    list_name: str, campaign_name: str, request: Request, principal: Manager
) -> JSONResponse:
    body = await _body(request)
    async with _rt(request).db.read() as s:
        defn = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        if not isinstance(body, dict):
            raise Invalid("Request body must be a JSON object")
        fmap = {n.lower(): n for n in defn.fields}
        keys_only = {k: v for k, v in body.items() if fmap.get(str(k).lower()) in defn.keys}
        _, key = clean(defn, keys_only, partial=True)
        campaign_id = await service.campaign_id_of(
            session=s, tenant_id=principal.tenant_id, name=campaign_name
        )
        item = await service.query_record(session=s, defn=defn, key=key, campaign_id=campaign_id)
    return JSONResponse(item)


# ---- managing list definitions (our extension) -----------------------------------------


@router.get(
    "/callinglist",
    summary="List calling lists (extension)",
    response_model=list[CallingListRead],
    response_model_by_alias=True,
    responses=ERRORS,
)
async def list_lists(request: Request, principal: Manager) -> list[CallingListRead]:
    async with _rt(request).db.read() as s:
        return [
            await service.to_read(session=s, defn=d)
            for d in await service.list_lists(session=s, tenant_id=principal.tenant_id)
        ]


@router.post(
    "/callinglist",
    summary="Create a calling list (extension)",
    status_code=201,
    response_model=CallingListRead,
    response_model_by_alias=True,
    openapi_extra=body_doc(CallingListCreate),
    responses={**ERRORS, 409: {"description": "A list of that name exists"}},
)
async def create_list(request: Request, principal: Manager) -> CallingListRead:
    data = await parse(request, CallingListCreate)
    rt = _rt(request)
    defn = await actions.create_list(rt, tenant_id=principal.tenant_id, data=data)
    async with rt.db.read() as s:
        return await service.to_read(session=s, defn=defn)


@router.get(
    "/callinglist/{list_name}",
    summary="Get a calling list's definition (extension)",
    response_model=CallingListRead,
    response_model_by_alias=True,
    responses=ERRORS,
)
async def get_list(list_name: str, request: Request, principal: Manager) -> CallingListRead:
    async with _rt(request).db.read() as s:
        defn = await service.get_list_or_raise(
            session=s, tenant_id=principal.tenant_id, name=list_name
        )
        return await service.to_read(session=s, defn=defn)


@router.put(
    "/callinglist/{list_name}",
    summary="Change a calling list's definition (extension)",
    response_model=CallingListRead,
    response_model_by_alias=True,
    openapi_extra=body_doc(CallingListUpdate),
    responses=ERRORS,
)
async def update_list(list_name: str, request: Request, principal: Manager) -> CallingListRead:
    data = await parse(request, CallingListUpdate)
    rt = _rt(request)
    defn = await actions.update_list(rt, tenant_id=principal.tenant_id, name=list_name, data=data)
    async with rt.db.read() as s:
        return await service.to_read(session=s, defn=defn)


@router.delete(
    "/callinglist/{list_name}",
    summary="Delete a calling list, its records and results (extension)",
    status_code=204,
    responses=ERRORS,
)
async def delete_list(list_name: str, request: Request, principal: Manager) -> Response:
    await actions.delete_list(_rt(request), tenant_id=principal.tenant_id, name=list_name)
    return Response(status_code=204)
