"""Configuration API v2: users, user lock state, teams."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from switchboard.api.common import body_doc, parse
from switchboard.api.configapi.deps import require
from switchboard.auth import actions as auth_actions
from switchboard.auth.service import Principal
from switchboard.core.runtime import Runtime
from switchboard.teams import service as teams_service
from switchboard.users import actions, service
from switchboard.users.models import Privilege
from switchboard.users.schemas import LockState, TeamRead, UserCreate, UserRead, UserUpdate

router = APIRouter(tags=["Configuration API: users"])

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_USERS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the message says which attribute)"},
    401: {"description": "Missing, invalid or expired access token"},
    403: {"description": "The user lacks the privilege"},
    404: {"description": "User, team or role not found"},
    415: {"description": "Content-Type is not application/json"},
}


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


@router.post(
    "/user",
    summary="Create User",
    response_model=UserRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    openapi_extra=body_doc(UserCreate),
    responses={**ERRORS, 409: {"description": "loginId or extension already in use"}},
)
async def create_user(request: Request, principal: Manager) -> UserRead:
    data = await parse(request, UserCreate)
    rt = _rt(request)
    user = await actions.create_user(rt, tenant_id=principal.tenant_id, data=data)
    async with rt.db.read() as s:
        fresh = await service.get_by_login_or_raise(
            session=s, tenant_id=principal.tenant_id, login_id=user.login_id
        )
        return service.to_read(fresh)


@router.get(
    "/user/{username}",
    summary="Get User Data",
    response_model=UserRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def get_user(username: str, request: Request, principal: Manager) -> UserRead:
    async with _rt(request).db.read() as s:
        user = await service.get_by_login_or_raise(
            session=s, tenant_id=principal.tenant_id, login_id=username
        )
        return service.to_read(user)


@router.put(
    "/user/{username}",
    summary="Update User",
    response_model=UserRead,
    response_model_by_alias=True,
    response_model_exclude_none=True,
    openapi_extra=body_doc(UserUpdate),
    responses={**ERRORS, 409: {"description": "extension already in use"}},
)
async def update_user(username: str, request: Request, principal: Manager) -> UserRead:
    data = await parse(request, UserUpdate)
    rt = _rt(request)
    await actions.update_user(rt, tenant_id=principal.tenant_id, login_id=username, data=data)
    async with rt.db.read() as s:
        user = await service.get_by_login_or_raise(
            session=s, tenant_id=principal.tenant_id, login_id=username
        )
        return service.to_read(user)


@router.delete("/user/{username}", summary="Delete User", responses=ERRORS)
async def delete_user(username: str, request: Request, principal: Manager) -> Response:
    await actions.delete_user(_rt(request), tenant_id=principal.tenant_id, login_id=username)
    return Response(status_code=200)


@router.get(
    "/user/lock/{username}",
    summary="Get User Lock State",
    response_model=LockState,
    response_model_by_alias=True,
    responses=ERRORS,
)
async def get_lock(username: str, request: Request, principal: Manager) -> LockState:
    rt = _rt(request)
    async with rt.db.read() as s:
        await service.get_by_login_or_raise(
            session=s, tenant_id=principal.tenant_id, login_id=username
        )
    # locked out = failed logins are being delayed (switchboard.auth.throttle)
    state = await auth_actions.lock_state(rt, tenant_id=principal.tenant_id, login_id=username)
    return LockState(locked_out=state.locked)


@router.put(
    "/user/lock/{username}",
    summary="Clear User Lock State",
    response_model=LockState,
    response_model_by_alias=True,
    responses=ERRORS,
)
async def clear_lock(username: str, request: Request, principal: Manager) -> LockState:
    rt = _rt(request)
    await actions.unlock_user(rt, tenant_id=principal.tenant_id, login_id=username)
    await auth_actions.clear_lock(rt, tenant_id=principal.tenant_id, login_id=username)
    return LockState(locked_out=False)


@router.get("/team", summary="Get Teams", response_model=list[TeamRead], responses=ERRORS)
async def list_teams(request: Request, principal: Manager) -> list[TeamRead]:
    async with _rt(request).db.read() as s:
        teams = await teams_service.list_teams(session=s, tenant_id=principal.tenant_id)
        return [TeamRead(name=t.name) for t in teams]
