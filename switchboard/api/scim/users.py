"""``/configapi/v2/scim/users``: SCIM 2.0 users (seed 003, "Users SCIM Provisioning")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from scim2_models import Context, PatchOp, SearchRequest
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)
from sqlalchemy import ColumnElement, and_, func, select

from switchboard.api.scim import bodies
from switchboard.api.scim.common import (
    WRITE_ATTEMPTS,
    Manager,
    base_url,
    check_if_match,
    dump,
    fetch_photo,
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
    tenant_facts,
)
from switchboard.api.scim.errors import ScimError, method_not_allowed
from switchboard.api.scim.routing import route
from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime
from switchboard.users import actions, scim
from switchboard.users.models import User
from switchboard.users.scim import ScimUser

router = APIRouter(tags=["SCIM 2.0: users"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalidValue, invalidSyntax, invalidFilter, mutability..."},
    401: {"description": "Missing, invalid or expired access token"},
    403: {"description": "The privilege Manage users is missing"},
    404: {"description": "No such user (or role, team, photo)"},
    409: {"description": "userName or extension already in use (scimType uniqueness)"},
    412: {"description": "If-Match does not match the user's version"},
    415: {"description": "Content-Type is not application/scim+json or application/json"},
}


def _asserted(payload: dict[str, Any]) -> set[str]:
    return {k.lower() for k in payload}


async def _load(rt: Runtime, tenant_id: str, user_id: str, base: str) -> ScimUser:
    async with rt.db.read() as s:
        user = (
            await s.execute(
                select(User).where(User.id == normalize_id(user_id), User.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"User not found: {user_id}")
        return scim.to_scim_user(user, base)


def _version(resource: ScimUser) -> str:
    return resource.meta.version if resource.meta and resource.meta.version else ""


def _answer(
    request: Request, resource: ScimUser, ctx: Context, *, status: int = 200
) -> JSONResponse:
    params = response_parameters(ScimUser, request)
    location = resource.meta.location if resource.meta and status == 201 else None
    return response(
        dump(resource, ctx, params), status=status, version=_version(resource), location=location
    )


# ---- create -------------------------------------------------------------------------


@route(
    router,
    "POST",
    "/users",
    status_code=201,
    summary="Create User",
    responses=ERRORS,
    openapi_extra=bodies.USER_DOC,
)
async def create_user(request: Request, principal: Manager) -> JSONResponse:
    rt = runtime(request)
    payload = scim.prepare_user_payload(await read_object(request))
    if "active" not in _asserted(payload):
        payload["active"] = True
    resource = scim_call(
        lambda: ScimUser.model_validate(
            payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=scim.POLICY
        )
    )
    state = scim.user_state(resource, mode="create", asserted=_asserted(payload))
    photo = None
    if state.photo_url:
        facts = await tenant_facts(rt, principal.tenant_id)
        photo = await fetch_photo(rt, state.photo_url, facts.photos)
    user = await actions.scim_create_user(
        rt, tenant_id=principal.tenant_id, state=state, photo=photo
    )
    created = await _load(rt, principal.tenant_id, user.id, base_url(request))
    return _answer(request, created, Context.RESOURCE_CREATION_RESPONSE, status=201)


@route(router, ["GET", "PUT", "PATCH", "DELETE"], "/users/.search", include_in_schema=False)
async def search_other(request: Request) -> None:
    raise method_not_allowed(["POST"])


# ---- read -----------------------------------------------------------------------------


@route(router, "GET", "/users/{user_id}", summary="Get User by ID", responses=ERRORS)
async def get_user(user_id: str, request: Request, principal: Manager) -> Response:
    resource = await _load(runtime(request), principal.tenant_id, user_id, base_url(request))
    unchanged = not_modified(request, _version(resource))
    if unchanged is not None:
        return unchanged
    return _answer(request, resource, Context.RESOURCE_QUERY_RESPONSE)


def _sql_hint(node: FilterNode) -> ColumnElement[bool] | None:
    """A SQL condition every user matching ``node`` satisfies (None: no hint). The
    filter itself is always evaluated on the resources; this only narrows the read."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        hints = [h for t in node.terms if (h := _sql_hint(t)) is not None]
        return and_(*hints) if hints else None
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq:
        return None
    path = node.attr_path
    if path.sub_attr is not None or (path.uri and path.uri.lower() != scim.USER_SCHEMA.lower()):
        return None
    attr, value = path.attr.lower(), node.value
    if not isinstance(value, str):
        return None
    if attr == "username" and value.isascii():
        return func.lower(User.login_id) == value.lower()
    if attr == "id":
        return User.id == value
    if attr == "externalid":
        return User.external_id == value
    return None


async def search_users(
    rt: Runtime, tenant_id: str, search: SearchRequest[Any], base: str
) -> list[ScimUser]:
    stmt = select(User).where(User.tenant_id == tenant_id)
    hint = _sql_hint(search.filter.ast) if search.filter is not None else None
    if hint is not None:
        stmt = stmt.where(hint)
    async with rt.db.read() as s:
        users = (await s.execute(stmt.order_by(User.created_at, User.id))).scalars().all()
        resources = [scim.to_scim_user(u, base) for u in users]
    if search.filter is None:
        return resources
    flt = search.filter
    return [r for r in resources if flt.match(r)]


@route(router, "GET", "/users", summary="List or filter users", responses=ERRORS)
async def list_users(request: Request, principal: Manager) -> JSONResponse:
    search = query_search(ScimUser, request)
    found = await search_users(runtime(request), principal.tenant_id, search, base_url(request))
    return response(page(search, found, Context.RESOURCE_QUERY_RESPONSE))


@route(
    router,
    "POST",
    "/users/.search",
    summary="Search users",
    responses=ERRORS,
    openapi_extra=bodies.SEARCH_DOC,
)
async def search_users_post(request: Request, principal: Manager) -> JSONResponse:
    body = await read_object(request)
    search = search_request(ScimUser, body)
    found = await search_users(runtime(request), principal.tenant_id, search, base_url(request))
    return response(page(search, found, Context.SEARCH_RESPONSE))


# ---- replace, patch -----------------------------------------------------------------


async def _write(
    request: Request,
    principal: Manager,
    user_id: str,
    compute: Callable[[ScimUser], scim.UserState | None],
) -> ScimUser:
    """Read the user, compute the state to store (``compute(current)`` returns it, or
    None for no change), fetch the photo, write; again if the user changed meanwhile."""
    rt = runtime(request)
    base = base_url(request)
    photos: dict[str, scim.FetchedPhoto] = {}
    facts = None
    for _ in range(WRITE_ATTEMPTS):
        current = await _load(rt, principal.tenant_id, user_id, base)
        check_if_match(request, _version(current))
        state: scim.UserState | None = compute(current)
        if state is None:
            return current
        photo = None
        if state.photo_url:
            if state.photo_url not in photos:
                facts = facts or await tenant_facts(rt, principal.tenant_id)
                photos[state.photo_url] = await fetch_photo(rt, state.photo_url, facts.photos)
            photo = photos[state.photo_url]
        try:
            await actions.scim_update_user(
                rt,
                tenant_id=principal.tenant_id,
                user_id=current.id or "",
                state=state,
                photo=photo,
                expected_version=_version(current),
            )
        except actions.StaleWrite:
            continue
        return await _load(rt, principal.tenant_id, user_id, base)
    raise ScimError(409, "The user is being changed concurrently; try again")


@route(
    router,
    "PUT",
    "/users/{user_id}",
    summary="Replace User",
    responses=ERRORS,
    openapi_extra=bodies.USER_DOC,
)
async def replace_user(user_id: str, request: Request, principal: Manager) -> JSONResponse:
    payload = scim.prepare_user_payload(await read_object(request))
    asserted = _asserted(payload)

    def compute(current: ScimUser) -> scim.UserState:
        body = dict(payload)
        if "active" not in asserted:
            body["active"] = current.active  # not asserted: kept
        resource = scim_call(
            lambda: ScimUser.model_validate(
                body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=scim.POLICY
            )
        )
        return scim.user_state(resource, mode="replace", asserted=asserted)

    updated = await _write(request, principal, user_id, compute)
    return _answer(request, updated, Context.RESOURCE_REPLACEMENT_RESPONSE)


@route(
    router,
    "PATCH",
    "/users/{user_id}",
    summary="Update User (PATCH)",
    responses=ERRORS,
    openapi_extra=bodies.PATCH_DOC,
)
async def patch_user(user_id: str, request: Request, principal: Manager) -> JSONResponse:
    body = await read_object(request)
    patch: PatchOp[ScimUser] = scim_call(
        lambda: PatchOp[ScimUser].model_validate(
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=scim.POLICY
        )
    )
    touched = scim.touched_attributes(patch.operations or [])

    def compute(current: ScimUser) -> scim.UserState | None:
        resource = current.model_copy(deep=True)
        changed = scim_call(lambda: patch.patch(resource, scim_policy=scim.POLICY))
        if not changed and not touched & {"password", "photos"}:
            return None
        return scim.user_state(resource, mode="patch", asserted=set(), touched=touched)

    updated = await _write(request, principal, user_id, compute)
    return _answer(request, updated, Context.RESOURCE_PATCH_RESPONSE)


# ---- delete ---------------------------------------------------------------------------


@route(
    router, "DELETE", "/users/{user_id}", status_code=204, summary="Delete User", responses=ERRORS
)
async def delete_user(user_id: str, request: Request, principal: Manager) -> Response:
    rt = runtime(request)
    for _ in range(WRITE_ATTEMPTS):
        current = await _load(rt, principal.tenant_id, user_id, base_url(request))
        check_if_match(request, _version(current))
        try:
            await actions.scim_delete_user(
                rt,
                tenant_id=principal.tenant_id,
                user_id=current.id or "",
                expected_version=_version(current) if request.headers.get("if-match") else None,
            )
        except actions.StaleWrite:
            continue
        return Response(status_code=204)
    raise ScimError(409, "The user is being changed concurrently; try again")


# ---- other methods ----------------------------------------------------------------------


@route(router, ["PUT", "PATCH", "DELETE"], "/users", include_in_schema=False)
async def users_other(request: Request) -> None:
    raise method_not_allowed(["GET", "POST"])


@route(router, ["POST"], "/users/{user_id}", include_in_schema=False)
async def user_other(user_id: str, request: Request) -> None:
    raise method_not_allowed(["GET", "PUT", "PATCH", "DELETE"])
