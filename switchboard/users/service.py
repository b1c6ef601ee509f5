"""Reading users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import NotFound
from switchboard.users.models import User
from switchboard.users.schemas import UserRead


async def get_by_login(*, session: AsyncSession, tenant_id: str, login_id: str) -> User | None:
    stmt = select(User).where(User.tenant_id == tenant_id, User.login_id == login_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_login_or_raise(*, session: AsyncSession, tenant_id: str, login_id: str) -> User:
    user = await get_by_login(session=session, tenant_id=tenant_id, login_id=login_id)
    if user is None:
        raise NotFound(f"User not found: {login_id}")
    return user


async def get(*, session: AsyncSession, tenant_id: str, user_id: str) -> User | None:
    user = await session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        return None
    return user


async def list_users(*, session: AsyncSession, tenant_id: str) -> Sequence[User]:
    stmt = select(User).where(User.tenant_id == tenant_id).order_by(User.extension, User.login_id)
    return (await session.execute(stmt)).scalars().all()


def to_read(user: User) -> UserRead:
    return UserRead(
        disabled=user.disabled,
        change_password=user.change_password,
        skills={us.skill.name: us.level for us in user.skills},
        login_id=user.login_id,
        first_name=user.first_name,
        last_name=user.last_name,
        team=user.team.name if user.team is not None else None,
        extension=user.extension,
        work_phone=user.work_phone,
        mobile_phone=user.mobile_phone,
        email=user.email,
        roles=sorted(r.name for r in user.roles),
    )
