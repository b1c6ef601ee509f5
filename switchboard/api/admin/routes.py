"""Administration API routes: the tenant, its privileges and roles, and the collections
of ``resources.RESOURCES``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.api.admin.catalog import RESOURCES
from switchboard.api.admin.common import ERRORS, PREFIX, WRITE_ERRORS, Admin, parse_body, rt_of
from switchboard.api.admin.resources import register
from switchboard.api.common import body_doc
from switchboard.canned import service as canned
from switchboard.canned.schemas import CannedRead
from switchboard.core.errors import NotFound
from switchboard.tenants import actions as tenant_actions
from switchboard.tenants import service as tenants
from switchboard.tenants.config import TENANT_SETTINGS
from switchboard.tenants.models import Tenant
from switchboard.tenants.schemas import (
    SettingKey,
    TenantPatch,
    TenantRead,
)
from switchboard.users.models import Privilege

router = APIRouter(prefix=PREFIX, tags=["Administration"])


# ---- the tenant --------------------------------------------------------------------------


async def _tenant(s: AsyncSession, tenant_id: str) -> Tenant:
    found = await s.get(Tenant, tenant_id)
    if found is None:
        raise NotFound("Tenant not found")
    return found


@router.get(
    "/tenant", summary="The tenant and its settings", response_model=TenantRead, responses=ERRORS
)
async def get_tenant(request: Request, principal: Admin) -> TenantRead:
    async with rt_of(request).db.read() as s:
        return tenants.tenant_read(await _tenant(s, principal.tenant_id))


@router.patch(
    "/tenant",
    summary="Change the tenant's name, time zone, day start, extension range or settings",
    response_model=TenantRead,
    responses=WRITE_ERRORS,
    openapi_extra=body_doc(TenantPatch),
)
async def patch_tenant(request: Request, principal: Admin) -> TenantRead:
    data = await parse_body(request, TenantPatch)
    rt = rt_of(request)
    await tenant_actions.update_settings(rt, tenant_id=principal.tenant_id, changes=data.changes())
    async with rt.db.read() as s:
        return tenants.tenant_read(await _tenant(s, principal.tenant_id))


@router.get(
    "/tenant/setting-keys",
    summary="The tenant settings the server reads (others are refused)",
    response_model=list[SettingKey],
    responses=ERRORS,
)
async def setting_keys(principal: Admin) -> list[SettingKey]:
    return [
        SettingKey(
            key=k,
            kind=v.kind,
            description=v.description,
            choices=list(v.choices),
            minimum=v.minimum,
        )
        for k, v in sorted(TENANT_SETTINGS.items())
    ]


@router.get(
    "/privileges",
    summary="The privileges a role may grant",
    response_model=list[str],
    responses=ERRORS,
)
async def privileges(principal: Admin) -> list[str]:
    return [str(p) for p in Privilege]


@router.get(
    "/canned-responses/search",
    summary="Search canned responses (every word of q in the title, text, shortcut, "
    "category or tags)",
    response_model=list[CannedRead],
    responses=ERRORS,
)
async def search_canned(
    request: Request,
    principal: Admin,
    q: str | None = None,
    category: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CannedRead]:
    async with rt_of(request).db.read() as s:
        rows = await canned.search(
            session=s,
            tenant_id=principal.tenant_id,
            q=q,
            category=category,
            limit=max(1, min(limit, 1000)),
            offset=max(0, offset),
        )
        return [await canned.to_read(session=s, canned=c) for c in rows]


for _res in RESOURCES:
    register(router, _res)
