"""Configuration lists for wallboards (``cfg/dispositions``, ``cfg/teams``,
``cfg/services``, ``cfg/statistics``) and ``info/check_available_agents``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from switchboard.api.common import bearer_token
from switchboard.api.statsapi.deps import TENANT_COOKIE, TOKEN_COOKIE, StatsPrincipal, runtime
from switchboard.auth.service import principal_from_token
from switchboard.core.errors import DomainError, Invalid, NotFound
from switchboard.stats import catalogue, service
from switchboard.stats.engine import get_engine
from switchboard.stats.render import ServiceGroup, service_value
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import get_by_domain
from switchboard.users.models import Privilege

router = APIRouter(tags=["Real-Time Statistics API"])

TRUE = ("1", "true", "yes")
FALSE = ("0", "false", "no")


class IdName(BaseModel):
    id: str
    name: str


class StatisticRead(BaseModel):
    name: str
    scopes: list[str]
    unit: str
    kind: str
    meaning: str


class Availability(BaseModel):
    availability: bool


def _flag(name: str, value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise Invalid(f"{name} must be 1 or 0")


@router.get(
    "/cfg/dispositions",
    summary="Get dispositions",
    response_model=list[str],
    responses={200: {"description": "Disposition names, sorted"}, 401: {}, 400: {}},
)
async def dispositions(
    request: Request,
    principal: StatsPrincipal,
    agent_can_select: Annotated[str | None, Query(alias="agentCanSelect")] = None,
    inbound: str | None = None,
    outbound: str | None = None,
    preview: str | None = None,
) -> list[str]:
    flags: dict[str, bool] = {}
    for name, raw in (
        ("agentCanSelect", agent_can_select),
        ("inbound", inbound),
        ("outbound", outbound),
        ("preview", preview),
    ):
        value = _flag(name, raw)
        if value is not None:
            flags[name] = value
    async with runtime(request).db.read() as s:
        return await service.list_disposition_names(
            session=s, tenant_id=principal.tenant_id, flags=flags
        )


@router.get(
    "/cfg/teams",
    summary="Get teams",
    response_model=list[IdName],
    responses={200: {"description": "The teams the user supervises"}, 401: {}},
)
async def teams(request: Request, principal: StatsPrincipal) -> list[IdName]:
    async with runtime(request).db.read() as s:
        rows = await service.list_supervised_teams(
            session=s, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
    return [IdName(id=i, name=n) for i, n in rows]


@router.get(
    "/cfg/services",
    summary="Get services",
    response_model=list[IdName],
    responses={200: {"description": "The tenant's enabled services"}, 401: {}, 403: {}},
)
async def services(request: Request, principal: StatsPrincipal) -> list[IdName]:
    principal.require(Privilege.STATS_SERVICES)
    async with runtime(request).db.read() as s:
        rows = await service.list_services(session=s, tenant_id=principal.tenant_id)
    return [IdName(id=i, name=n) for i, n in rows]


@router.get(
    "/cfg/statistics",
    summary="Supported statistics (our extension)",
    response_model=list[StatisticRead],
)
async def statistics(principal: StatsPrincipal) -> list[StatisticRead]:
    return [
        StatisticRead(
            name=s.name, scopes=sorted(s.scopes), unit=s.unit, kind=s.kind, meaning=s.meaning
        )
        for s in catalogue.STATS
    ]


async def _tenant_for(request: Request, explicit: str | None) -> Tenant:
    """The tenant of an unauthenticated request: ``tenant_url`` (or ``tenantUrl``), the
    statistics cookies or token, the Host header, or the only tenant of the server."""
    rt = runtime(request)
    if explicit:
        async with rt.db.read() as s:
            tenant = await get_by_domain(session=s, domain=explicit)
        if tenant is None:
            raise NotFound("Tenant not found")
        return tenant
    token = bearer_token(request) or request.cookies.get(TOKEN_COOKIE, "")
    if token:
        try:
            principal = await principal_from_token(rt, token, ("stats", "oauth", "agent"))
            async with rt.db.read() as s:
                found = await s.get(Tenant, principal.tenant_id)
            if found is not None:
                return found
        except DomainError:
            pass
    from sqlalchemy import select

    async with rt.db.read() as s:
        for candidate in (request.cookies.get(TENANT_COOKIE), request.headers.get("host")):
            if candidate:
                tenant = await get_by_domain(session=s, domain=candidate)
                if tenant is not None:
                    return tenant
        only = (await s.execute(select(Tenant).limit(2))).scalars().all()
    if len(only) == 1:
        return only[0]
    raise Invalid("tenant_url is required")


@router.get(
    "/info/check_available_agents",
    summary="Get available agents (no authentication)",
    response_model=Availability,
    responses={
        200: {"description": "Whether at least one agent is ready for the service"},
        400: {"description": "service (or the tenant) is missing"},
        404: {"description": "Unknown service or tenant"},
    },
)
async def check_available_agents(
    request: Request,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    tenant_url: str | None = None,
    tenant_url_camel: Annotated[str | None, Query(alias="tenantUrl")] = None,
) -> JSONResponse:
    if not service_name or not service_name.strip():
        raise Invalid("service (the service name) is required")
    tenant = await _tenant_for(request, tenant_url or tenant_url_camel)
    rt = runtime(request)
    snap = await get_engine(rt).fresh(rt, tenant.id)
    if snap is None:
        raise NotFound("Tenant not found")
    name = service_name.strip()
    svc = next((x for x in snap.services if x.name == name or x.id == name), None)
    if svc is None:
        raise NotFound(f"Service not found: {name}")
    group = ServiceGroup([svc], [snap.agents[i] for i in svc.agent_indexes])
    ready = service_value("agents_ready", group, snap.computed_at, None)
    return JSONResponse({"availability": int(ready or "0") > 0})
