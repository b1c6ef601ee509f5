"""Administration API routes: the tenant, its privileges and roles, and the collections
of ``resources.RESOURCES``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.api.admin.common import ERRORS, PREFIX, WRITE_ERRORS, Admin, parse_body, rt_of
from switchboard.api.admin.resources import Resource, register
from switchboard.api.common import body_doc
from switchboard.canned import actions as canned_actions
from switchboard.canned import service as canned
from switchboard.canned.schemas import CannedCreate, CannedRead, CannedUpdate
from switchboard.core.errors import NotFound
from switchboard.scenarios import actions as sc_actions
from switchboard.scenarios import service as sc
from switchboard.scenarios.schemas import (
    EntryCreate,
    EntryRead,
    EntryUpdate,
    HoursCreate,
    HoursRead,
    HoursUpdate,
    NumberCreate,
    NumberRead,
    NumberUpdate,
)
from switchboard.services import actions as sv_actions
from switchboard.services import service as sv
from switchboard.services.schemas import (
    DispositionCreate,
    DispositionRead,
    DispositionUpdate,
    ReasonCreate,
    ReasonRead,
    ReasonUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
    SkillCreate,
    SkillRead,
    SkillUpdate,
)
from switchboard.teams import actions as team_actions
from switchboard.teams import service as teams
from switchboard.teams.schemas import TeamAdminRead, TeamCreate, TeamUpdate
from switchboard.tenants import actions as tenant_actions
from switchboard.tenants import service as tenants
from switchboard.tenants.config import TENANT_SETTINGS
from switchboard.tenants.models import Tenant
from switchboard.tenants.schemas import (
    RoleCreate,
    RoleRead,
    RoleUpdate,
    SettingKey,
    TenantPatch,
    TenantRead,
)
from switchboard.users.models import Privilege, Role

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


# ---- collections ---------------------------------------------------------------------------


async def _role_read(s: AsyncSession, role: Role) -> RoleRead:
    for r in await tenants.list_roles(session=s, tenant_id=role.tenant_id):
        if r.id == role.id:
            return r
    raise NotFound(f"Role not found: {role.name}")


async def _find_role(s: AsyncSession, tenant_id: str, ref: str) -> Role:
    role = (
        (
            await s.execute(
                select(Role).where(
                    Role.tenant_id == tenant_id, (Role.id == ref) | (Role.name == ref)
                )
            )
        )
        .scalars()
        .first()
    )
    if role is None:
        raise NotFound(f"Role not found: {ref}")
    return role


async def _list_roles(s: AsyncSession, tenant_id: str) -> list[Role]:
    stmt = select(Role).where(Role.tenant_id == tenant_id).order_by(Role.name)
    return list((await s.execute(stmt)).scalars().all())


async def _list_canned(s: AsyncSession, tenant_id: str) -> list[Any]:
    return list(await canned.search(session=s, tenant_id=tenant_id, limit=10_000))


RESOURCES: list[Resource] = [
    Resource(
        "/entries",
        "scenario entry",
        "scenario entries",
        "appId (or id)",
        EntryCreate,
        EntryUpdate,
        EntryRead,
        lambda s, t: sc.list_entries(session=s, tenant_id=t),
        lambda s, t, r: sc.find_entry(session=s, tenant_id=t, ref=r),
        lambda s, x: sc.entry_read(session=s, entry=x),
        lambda rt, t, d: sc_actions.create_entry(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sc_actions.update_entry(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sc_actions.delete_entry(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/hours",
        "hours of operation",
        "hours of operation",
        "name (or id)",
        HoursCreate,
        HoursUpdate,
        HoursRead,
        lambda s, t: sc.list_hours(session=s, tenant_id=t),
        lambda s, t, r: sc.find_hours(session=s, tenant_id=t, ref=r),
        lambda s, x: sc.hours_read(session=s, hours=x),
        lambda rt, t, d: sc_actions.create_hours(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sc_actions.update_hours(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sc_actions.delete_hours(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/numbers",
        "access number",
        "access numbers",
        "number as stored (or id)",
        NumberCreate,
        NumberUpdate,
        NumberRead,
        lambda s, t: sc.list_numbers(session=s, tenant_id=t),
        lambda s, t, r: sc.find_number(session=s, tenant_id=t, ref=r),
        lambda s, x: sc.number_read(session=s, number=x),
        lambda rt, t, d: sc_actions.create_number(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sc_actions.update_number(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sc_actions.delete_number(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/skills",
        "skill",
        "skills",
        "name (or id)",
        SkillCreate,
        SkillUpdate,
        SkillRead,
        lambda s, t: sv.list_skills(session=s, tenant_id=t),
        lambda s, t, r: sv.find_skill(session=s, tenant_id=t, ref=r),
        lambda s, x: sv.skill_read(session=s, skill=x),
        lambda rt, t, d: sv_actions.create_skill(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sv_actions.update_skill(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sv_actions.delete_skill(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/services",
        "service",
        "services",
        "name (or id)",
        ServiceCreate,
        ServiceUpdate,
        ServiceRead,
        lambda s, t: sv.list_services(session=s, tenant_id=t),
        lambda s, t, r: sv.find_service(session=s, tenant_id=t, ref=r),
        lambda s, x: sv.service_read(session=s, service=x),
        lambda rt, t, d: sv_actions.create_service(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sv_actions.update_service(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sv_actions.delete_service(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/dispositions",
        "disposition",
        "dispositions",
        "id (or name when unique)",
        DispositionCreate,
        DispositionUpdate,
        DispositionRead,
        lambda s, t: sv.list_dispositions(session=s, tenant_id=t),
        lambda s, t, r: sv.find_disposition(session=s, tenant_id=t, ref=r),
        lambda s, x: sv.disposition_read(session=s, disposition=x),
        lambda rt, t, d: sv_actions.create_disposition(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sv_actions.update_disposition(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sv_actions.delete_disposition(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/not-ready-reasons",
        "not-ready reason",
        "not-ready reasons",
        "name (or id)",
        ReasonCreate,
        ReasonUpdate,
        ReasonRead,
        lambda s, t: sv.list_reasons(session=s, tenant_id=t),
        lambda s, t, r: sv.find_reason(session=s, tenant_id=t, ref=r),
        lambda s, x: sv.reason_read(session=s, reason=x),
        lambda rt, t, d: sv_actions.create_reason(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: sv_actions.update_reason(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: sv_actions.delete_reason(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/teams",
        "team",
        "teams",
        "name (or id)",
        TeamCreate,
        TeamUpdate,
        TeamAdminRead,
        lambda s, t: teams.list_teams(session=s, tenant_id=t),
        lambda s, t, r: teams.find_team(session=s, tenant_id=t, ref=r),
        lambda s, x: teams.team_read(session=s, team=x),
        lambda rt, t, d: team_actions.save_team(rt, tenant_id=t, ref=None, data=d),
        lambda rt, t, r, d: team_actions.save_team(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: team_actions.delete_team(rt, tenant_id=t, team_id=r, by_name=True),
    ),
    Resource(
        "/roles",
        "role",
        "roles",
        "name (or id)",
        RoleCreate,
        RoleUpdate,
        RoleRead,
        _list_roles,
        _find_role,
        _role_read,
        lambda rt, t, d: tenant_actions.create_role(
            rt, tenant_id=t, name=d.name, privileges=d.privileges
        ),
        lambda rt, t, r, d: tenant_actions.update_role(
            rt, tenant_id=t, ref=r, name=d.name, privileges=d.privileges
        ),
        lambda rt, t, r: tenant_actions.delete_role(rt, tenant_id=t, ref=r),
    ),
    Resource(
        "/canned-responses",
        "canned response",
        "canned responses",
        "id (or shortcut)",
        CannedCreate,
        CannedUpdate,
        CannedRead,
        _list_canned,
        lambda s, t, r: canned.find(session=s, tenant_id=t, ref=r),
        lambda s, x: canned.to_read(session=s, canned=x),
        lambda rt, t, d: canned_actions.create(rt, tenant_id=t, data=d),
        lambda rt, t, r, d: canned_actions.update(rt, tenant_id=t, ref=r, data=d),
        lambda rt, t, r: canned_actions.delete(rt, tenant_id=t, ref=r),
    ),
]


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
