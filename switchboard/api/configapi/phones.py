"""Configuration API v2: the phone directory and access numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from switchboard.api.configapi.deps import CurrentPrincipal
from switchboard.auth.service import Principal
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import AccessNumber
from switchboard.users import service as users_service
from switchboard.users.models import User
from switchboard.users.schemas import AccessNumberRead, DirectoryEntry

router = APIRouter(tags=["Configuration API: phones"])


async def _any_user(principal: CurrentPrincipal) -> Principal:
    # The directory is visible to every authenticated user of the tenant.
    return principal


Reader = Annotated[Principal, Depends(_any_user)]


@router.get(
    "/phone/user",
    summary="Get Directory",
    response_model=list[DirectoryEntry],
    response_model_by_alias=True,
    response_model_exclude_none=True,
)
async def directory(request: Request, principal: Reader) -> list[DirectoryEntry]:
    rt: Runtime = request.app.state.rt
    async with rt.db.read() as s:
        users = await users_service.list_users(session=s, tenant_id=principal.tenant_id)
        dids = {
            n.user_id: n.number
            for n in (
                await s.execute(
                    select(AccessNumber).where(
                        AccessNumber.tenant_id == principal.tenant_id,
                        AccessNumber.type == "user",
                    )
                )
            ).scalars()
        }
        return [_entry(u, dids.get(u.id)) for u in users]


def _entry(u: User, did: str | None) -> DirectoryEntry:
    return DirectoryEntry(
        extension=u.extension,
        login_id=u.login_id,
        first_name=u.first_name,
        last_name=u.last_name,
        external=did or u.external_number,
        voice_mail=u.voice_mail,
        greeting=u.greeting,
    )


@router.get(
    "/phone/ext",
    summary="Get Access Numbers",
    response_model=list[AccessNumberRead],
    response_model_exclude_none=True,
)
async def access_numbers(request: Request, principal: Reader) -> list[AccessNumberRead]:
    rt: Runtime = request.app.state.rt
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(AccessNumber, User.login_id)
                .outerjoin(User, User.id == AccessNumber.user_id)
                .where(AccessNumber.tenant_id == principal.tenant_id)
                .order_by(AccessNumber.number)
            )
        ).all()
        return [
            AccessNumberRead(
                number=n.number, media=n.media, type=n.type, scenario=n.scenario, user=login
            )
            for n, login in rows
        ]
