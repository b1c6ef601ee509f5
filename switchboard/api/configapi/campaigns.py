"""Configuration API v2: outbound campaigns.

Seed method: ``GET campaign/getAll/`` (enabled campaigns and their lists). Our extension:
``GET|POST /campaign``, ``GET|PUT|DELETE /campaign/{name}``, ``POST
/campaign/{name}/start|stop``, ``PUT|DELETE /campaign/{name}/lists/{list}`` and
``GET /campaign/{name}/statistics``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from switchboard.api.common import body_doc, parse
from switchboard.api.configapi.deps import CurrentPrincipal, require
from switchboard.auth.service import Principal
from switchboard.campaigns import actions, service
from switchboard.campaigns.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignSummary,
    CampaignUpdate,
)
from switchboard.core.db import utcnow
from switchboard.core.errors import Forbidden
from switchboard.core.runtime import Runtime
from switchboard.lists.records import fmt_time, parse_time
from switchboard.users.models import Privilege

router = APIRouter(tags=["Configuration API: campaigns"])

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_CAMPAIGNS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request (missing required fields or format not understood)"},
    401: {"description": "Authentication failed"},
    403: {"description": "User authenticated but does not have sufficient privileges"},
}
WITH_404: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "Campaign (or a list, service, DNC list it names) not found"},
}


async def _lists_or_campaigns(principal: CurrentPrincipal) -> Principal:
    if not (principal.has(Privilege.MANAGE_LISTS) or principal.has(Privilege.MANAGE_CAMPAIGNS)):
        raise Forbidden(
            f"Privilege required: {Privilege.MANAGE_LISTS} or {Privilege.MANAGE_CAMPAIGNS}"
        )
    return principal


Reader = Annotated[Principal, Depends(_lists_or_campaigns)]


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


@router.get(
    "/campaign/getAll/",
    summary="Get Campaigns",
    description="Enabled campaigns and the calling lists associated with them.",
    response_model=list[CampaignSummary],
    responses=ERRORS,
)
@router.get("/campaign/getAll", include_in_schema=False, response_model=list[CampaignSummary])
async def get_all(request: Request, principal: Reader) -> list[CampaignSummary]:
    async with _rt(request).db.read() as s:
        return await service.summaries(session=s, tenant_id=principal.tenant_id)


async def _read(rt: Runtime, tenant_id: str, name: str) -> CampaignRead:
    async with rt.db.read() as s:
        c = await service.get_or_raise(session=s, tenant_id=tenant_id, name=name)
        return await service.to_read(session=s, campaign=c)


@router.get(
    "/campaign",
    summary="List campaigns with their settings (extension)",
    response_model=list[CampaignRead],
    response_model_by_alias=True,
    responses=ERRORS,
)
async def list_campaigns(request: Request, principal: Manager) -> list[CampaignRead]:
    async with _rt(request).db.read() as s:
        return [
            await service.to_read(session=s, campaign=c)
            for c in await service.list_campaigns(session=s, tenant_id=principal.tenant_id)
        ]


@router.post(
    "/campaign",
    summary="Create a campaign (extension)",
    status_code=201,
    response_model=CampaignRead,
    response_model_by_alias=True,
    openapi_extra=body_doc(CampaignCreate),
    responses={**WITH_404, 409: {"description": "A campaign of that name exists"}},
)
async def create(request: Request, principal: Manager) -> CampaignRead:
    data = await parse(request, CampaignCreate)
    rt = _rt(request)
    c = await actions.create(rt, tenant_id=principal.tenant_id, data=data)
    return await _read(rt, principal.tenant_id, c.name)


@router.get(
    "/campaign/{name}",
    summary="Get a campaign (extension)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    responses=WITH_404,
)
async def get(name: str, request: Request, principal: Manager) -> CampaignRead:
    return await _read(_rt(request), principal.tenant_id, name)


@router.put(
    "/campaign/{name}",
    summary="Change a campaign (extension; lists and dncLists replace the bound lists)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    openapi_extra=body_doc(CampaignUpdate),
    responses=WITH_404,
)
async def update(name: str, request: Request, principal: Manager) -> CampaignRead:
    data = await parse(request, CampaignUpdate)
    rt = _rt(request)
    await actions.update(rt, tenant_id=principal.tenant_id, name=name, data=data)
    return await _read(rt, principal.tenant_id, name)


@router.delete(
    "/campaign/{name}",
    summary="Delete a stopped campaign and its results (extension)",
    status_code=204,
    responses={**WITH_404, 409: {"description": "The campaign is running"}},
)
async def delete(name: str, request: Request, principal: Manager) -> Response:
    await actions.delete_campaign(_rt(request), tenant_id=principal.tenant_id, name=name)
    return Response(status_code=204)


@router.post(
    "/campaign/{name}/start",
    summary="Start a campaign (extension)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    responses={**WITH_404, 409: {"description": "Disabled, or no calling list bound"}},
)
async def start(name: str, request: Request, principal: Manager) -> CampaignRead:
    rt = _rt(request)
    await actions.set_state(rt, tenant_id=principal.tenant_id, name=name, running=True)
    return await _read(rt, principal.tenant_id, name)


@router.post(
    "/campaign/{name}/stop",
    summary="Stop a campaign (extension)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    responses=WITH_404,
)
async def stop(name: str, request: Request, principal: Manager) -> CampaignRead:
    rt = _rt(request)
    await actions.set_state(rt, tenant_id=principal.tenant_id, name=name, running=False)
    return await _read(rt, principal.tenant_id, name)


@router.put(
    "/campaign/{name}/lists/{list_name}",
    summary="Bind a calling list to a campaign (extension)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    responses=WITH_404,
)
async def bind(name: str, list_name: str, request: Request, principal: Manager) -> CampaignRead:
    rt = _rt(request)
    await actions.bind_list(rt, tenant_id=principal.tenant_id, campaign=name, list_name=list_name)
    return await _read(rt, principal.tenant_id, name)


@router.delete(
    "/campaign/{name}/lists/{list_name}",
    summary="Unbind a calling list from a campaign (extension)",
    response_model=CampaignRead,
    response_model_by_alias=True,
    responses=WITH_404,
)
async def unbind(name: str, list_name: str, request: Request, principal: Manager) -> CampaignRead:
    rt = _rt(request)
    await actions.bind_list(
        rt, tenant_id=principal.tenant_id, campaign=name, list_name=list_name, bound=False
    )
    return await _read(rt, principal.tenant_id, name)


@router.get(
    "/campaign/{name}/statistics",
    summary="Outbound counters of a campaign (extension)",
    responses=WITH_404,
)
async def statistics(
    name: str,
    request: Request,
    principal: Manager,
    since: Annotated[str | None, Query(description="ISO time, UTC (default: 24 h ago)")] = None,
) -> dict[str, Any]:
    start_at = parse_time(since) if since else utcnow() - timedelta(days=1)
    async with _rt(request).db.read() as s:
        c = await service.get_or_raise(session=s, tenant_id=principal.tenant_id, name=name)
        totals = await service.outbound_totals(
            session=s, tenant_id=principal.tenant_id, since=start_at, campaign_id=c.id
        )
    return {"campaign": c.name, "since": fmt_time(start_at), **totals.as_dict()}
