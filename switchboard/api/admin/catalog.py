"""The Administration API's collections: for each, its shapes and the one service read
or action of each operation. Used by the HTTP routes (``resources.register``) and by the
CLI (``switchboard admin``); importing it does not import FastAPI routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.canned import actions as canned_actions
from switchboard.canned import service as canned
from switchboard.canned.schemas import CannedCreate, CannedRead, CannedUpdate
from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime
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
from switchboard.tenants.schemas import RoleCreate, RoleRead, RoleUpdate
from switchboard.users.models import Role

Lister = Callable[[AsyncSession, str], Awaitable[Sequence[Any]]]
Finder = Callable[[AsyncSession, str, str], Awaitable[Any]]
Reader = Callable[[AsyncSession, Any], Awaitable[BaseModel]]
Creator = Callable[[Runtime, str, Any], Awaitable[Any]]
Updater = Callable[[Runtime, str, str, Any], Awaitable[Any]]
Deleter = Callable[[Runtime, str, str], Awaitable[None]]


@dataclass
class Resource:
    path: str  # "/services"
    singular: str  # "service"
    plural: str  # "services"
    key: str  # how {ref} names one: "name or id"
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    read_model: type[BaseModel]
    list_all: Lister
    find: Finder
    read: Reader
    create: Creator
    update: Updater
    delete: Deleter


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
