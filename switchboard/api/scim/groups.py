"""``/configapi/v2/scim/groups``: the tenant's teams as SCIM groups, with their members.

A user belongs to one team at most: adding him to a group moves him out of his former
team.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from scim2_models import Context, PatchOp, SearchRequest
from sqlalchemy import select

from switchboard.api.scim import bodies
from switchboard.api.scim.common import (
    WRITE_ATTEMPTS,
    Manager,
    base_url,
    check_if_match,
    dump,
    normalize_id,
    not_modified,
    page,
    query_search,
    read_object,
    response,
    response_parameters,
    runtime,
    scim_call,
    search_request,
)
from switchboard.api.scim.errors import ScimError, method_not_allowed
from switchboard.api.scim.routing import route
from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime
from switchboard.teams import actions
from switchboard.teams.models import Team
from switchboard.users import scim
from switchboard.users.models import User
from switchboard.users.scim import ScimGroup

router = APIRouter(tags=["SCIM 2.0: groups (teams)"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalidValue (e.g. an unknown member), invalidSyntax, invalidFilter"},
    401: {"description": "Missing, invalid or expired access token"},
    403: {"description": "The privilege Manage users is missing"},
    404: {"description": "No such group"},
    409: {"description": "displayName already in use (scimType uniqueness)"},
    412: {"description": "If-Match does not match the group's version"},
    415: {"description": "Content-Type is not application/scim+json or application/json"},
}


async def load_groups(
    rt: Runtime, tenant_id: str, base: str, team_id: str | None = None
) -> list[ScimGroup]:
    async with rt.db.read() as s:
        stmt = select(Team).where(Team.tenant_id == tenant_id)
        users = select(User.id, User.team_id).where(
            User.tenant_id == tenant_id, User.team_id.is_not(None)
        )
        if team_id is not None:
            stmt = stmt.where(Team.id == team_id)
            users = users.where(User.team_id == team_id)
        teams = (await s.execute(stmt.order_by(Team.created_at, Team.id))).scalars().all()
        members: dict[str, list[str]] = defaultdict(list)
        for uid, tid in (await s.execute(users)).all():
            members[tid or ""].append(uid)
        return [scim.to_scim_group(t, members[t.id], base) for t in teams]


async def _load(rt: Runtime, tenant_id: str, group_id: str, base: str) -> ScimGroup:
    found = await load_groups(rt, tenant_id, base, normalize_id(group_id))
    if not found:
        raise NotFound(f"Group not found: {group_id}")
    return found[0]


def _version(resource: ScimGroup) -> str:
    return resource.meta.version if resource.meta and resource.meta.version else ""


def _member_ids(resource: ScimGroup) -> list[str]:
    out = []
    for m in resource.members or []:
        ident = m.value or (str(m.ref).rstrip("/").rsplit("/", 1)[-1] if m.ref else "")
        if not ident:
            raise ScimError(400, "A member needs a value (the user's id)", "invalidValue")
        out.append(normalize_id(ident))
    return out


def _snapshot(resource: ScimGroup) -> actions.TeamSnapshot:
    return actions.TeamSnapshot(
        resource.display_name or "", tuple(m.value or "" for m in resource.members or [])
    )


def _answer(
    request: Request, resource: ScimGroup, ctx: Context, *, status: int = 200
) -> JSONResponse:
    params = response_parameters(ScimGroup, request)
    location = resource.meta.location if resource.meta and status == 201 else None
    return response(
        dump(resource, ctx, params), status=status, version=_version(resource), location=location
    )


@route(
    router,
    "POST",
    "/groups",
    status_code=201,
    summary="Create Group (team)",
    responses=ERRORS,
    openapi_extra=bodies.GROUP_DOC,
)
async def create_group(request: Request, principal: Manager) -> JSONResponse:
    rt = runtime(request)
    payload = {
        k: v for k, v in (await read_object(request)).items() if k.lower() not in ("id", "meta")
    }
    resource = scim_call(
        lambda: ScimGroup.model_validate(
            payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=scim.POLICY
        )
    )
    team = await actions.create_team(
        rt,
        tenant_id=principal.tenant_id,
        name=resource.display_name or "",
        members=_member_ids(resource),
    )
    created = await _load(rt, principal.tenant_id, team.id, base_url(request))
    return _answer(request, created, Context.RESOURCE_CREATION_RESPONSE, status=201)


@route(router, ["GET", "PUT", "PATCH", "DELETE"], "/groups/.search", include_in_schema=False)
async def search_other(request: Request) -> None:
    raise method_not_allowed(["POST"])


@route(router, "GET", "/groups/{group_id}", summary="Get Group by ID", responses=ERRORS)
async def get_group(group_id: str, request: Request, principal: Manager) -> Response:
    resource = await _load(runtime(request), principal.tenant_id, group_id, base_url(request))
    unchanged = not_modified(request, _version(resource))
    if unchanged is not None:
        return unchanged
    return _answer(request, resource, Context.RESOURCE_QUERY_RESPONSE)


async def search_groups(
    rt: Runtime, tenant_id: str, search: SearchRequest[Any], base: str
) -> list[ScimGroup]:
    groups = await load_groups(rt, tenant_id, base)
    if search.filter is None:
        return groups
    flt = search.filter
    return [g for g in groups if flt.match(g)]


@route(router, "GET", "/groups", summary="List or filter groups", responses=ERRORS)
async def list_groups(request: Request, principal: Manager) -> JSONResponse:
    search = query_search(ScimGroup, request)
    found = await search_groups(runtime(request), principal.tenant_id, search, base_url(request))
    return response(page(search, found, Context.RESOURCE_QUERY_RESPONSE))


@route(
    router,
    "POST",
    "/groups/.search",
    summary="Search groups",
    responses=ERRORS,
    openapi_extra=bodies.SEARCH_DOC,
)
async def search_groups_post(request: Request, principal: Manager) -> JSONResponse:
    search = search_request(ScimGroup, await read_object(request))
    found = await search_groups(runtime(request), principal.tenant_id, search, base_url(request))
    return response(page(search, found, Context.SEARCH_RESPONSE))


Wanted = tuple[str, list[str] | None]


async def _write(
    request: Request,
    principal: Manager,
    group_id: str,
    compute: Callable[[ScimGroup], Wanted | None],
) -> ScimGroup:
    rt = runtime(request)
    base = base_url(request)
    for _ in range(WRITE_ATTEMPTS):
        current = await _load(rt, principal.tenant_id, group_id, base)
        check_if_match(request, _version(current))
        wanted = compute(current)
        if wanted is None:
            return current
        name, members = wanted
        try:
            await actions.update_team(
                rt,
                tenant_id=principal.tenant_id,
                team_id=current.id or "",
                name=name,
                members=members,
                expected=_snapshot(current),
            )
        except actions.StaleTeam:
            continue
        return await _load(rt, principal.tenant_id, group_id, base)
    raise ScimError(409, "The group is being changed concurrently; try again")


@route(
    router,
    "PUT",
    "/groups/{group_id}",
    summary="Replace Group",
    responses=ERRORS,
    openapi_extra=bodies.GROUP_DOC,
)
async def replace_group(group_id: str, request: Request, principal: Manager) -> JSONResponse:
    payload = await read_object(request)
    asserted = {k.lower() for k in payload}

    def compute(current: ScimGroup) -> tuple[str, list[str] | None]:
        resource = scim_call(
            lambda: ScimGroup.model_validate(
                payload, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=scim.POLICY
            )
        )
        # A PUT that does not mention members keeps them (they are often managed
        # in Switchboard); "members": [] empties the team.
        members = _member_ids(resource) if "members" in asserted else None
        return resource.display_name or "", members

    updated = await _write(request, principal, group_id, compute)
    return _answer(request, updated, Context.RESOURCE_REPLACEMENT_RESPONSE)


@route(
    router,
    "PATCH",
    "/groups/{group_id}",
    summary="Update Group (PATCH)",
    responses=ERRORS,
    openapi_extra=bodies.PATCH_DOC,
)
async def patch_group(group_id: str, request: Request, principal: Manager) -> JSONResponse:
    body = await read_object(request)
    patch: PatchOp[ScimGroup] = scim_call(
        lambda: PatchOp[ScimGroup].model_validate(
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=scim.POLICY
        )
    )

    def compute(current: ScimGroup) -> tuple[str, list[str] | None] | None:
        resource = current.model_copy(deep=True)
        if not scim_call(lambda: patch.patch(resource, scim_policy=scim.POLICY)):
            return None
        return resource.display_name or "", _member_ids(resource)

    updated = await _write(request, principal, group_id, compute)
    return _answer(request, updated, Context.RESOURCE_PATCH_RESPONSE)


@route(
    router,
    "DELETE",
    "/groups/{group_id}",
    status_code=204,
    summary="Delete Group",
    responses=ERRORS,
)
async def delete_group(group_id: str, request: Request, principal: Manager) -> Response:
    rt = runtime(request)
    for _ in range(WRITE_ATTEMPTS):
        current = await _load(rt, principal.tenant_id, group_id, base_url(request))
        check_if_match(request, _version(current))
        try:
            await actions.delete_team(
                rt,
                tenant_id=principal.tenant_id,
                team_id=current.id or "",
                expected=_snapshot(current) if request.headers.get("if-match") else None,
            )
        except actions.StaleTeam:
            continue
        return Response(status_code=204)
    raise ScimError(409, "The group is being changed concurrently; try again")


@route(router, ["PUT", "PATCH", "DELETE"], "/groups", include_in_schema=False)
async def groups_other(request: Request) -> None:
    raise method_not_allowed(["GET", "POST"])


@route(router, ["POST"], "/groups/{group_id}", include_in_schema=False)
async def group_other(group_id: str, request: Request) -> None:
    raise method_not_allowed(["GET", "PUT", "PATCH", "DELETE"])
