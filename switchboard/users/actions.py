"""Every change to a user: validate, change, commit, then publish ``tenant:<id>:users``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.core.security import generate_secret, hash_secret
from switchboard.services.models import Skill
from switchboard.teams.models import Team
from switchboard.tenants.models import Tenant
from switchboard.users.models import Role, User, UserSkill
from switchboard.users.schemas import UserCreate, UserFields
from switchboard.users.service import get_by_login_or_raise


def users_topic(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:users"


def check_password(rt: Runtime, password: str, login_id: str) -> None:
    if len(password) < rt.settings.password_min_length:
        raise Invalid(
            f"Password must be at least {rt.settings.password_min_length} characters long"
        )
    if password == login_id:
        raise Invalid("Password must differ from the loginId")


async def resolve_team(s: AsyncSession, tenant_id: str, name: str) -> Team:
    team = (
        await s.execute(select(Team).where(Team.tenant_id == tenant_id, Team.name == name))
    ).scalar_one_or_none()
    if team is None:
        raise NotFound(f"Team not found: {name}")
    return team


async def resolve_roles(s: AsyncSession, tenant_id: str, names: Iterable[str]) -> list[Role]:
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    found = (
        (await s.execute(select(Role).where(Role.tenant_id == tenant_id, Role.name.in_(wanted))))
        .scalars()
        .all()
    )
    by_name = {r.name: r for r in found}
    for name in wanted:
        if name not in by_name:
            raise NotFound(f"Role not found: {name}")
    return [by_name[n] for n in wanted]


async def ensure_skills(s: AsyncSession, tenant_id: str, names: Iterable[str]) -> dict[str, Skill]:
    """Skills are plain names: ones a user is given that the tenant lacks are created."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    found = (
        (await s.execute(select(Skill).where(Skill.tenant_id == tenant_id, Skill.name.in_(wanted))))
        .scalars()
        .all()
    )
    by_name = {sk.name: sk for sk in found}
    for name in wanted:
        if name not in by_name:
            sk = Skill(tenant_id=tenant_id, name=name)
            s.add(sk)
            by_name[name] = sk
    await s.flush()
    return by_name


async def set_skills(s: AsyncSession, user: User, skills: dict[str, int]) -> None:
    by_name = await ensure_skills(s, user.tenant_id, skills)
    user.skills = [
        UserSkill(user_id=user.id, skill_id=by_name[name].id, level=level, skill=by_name[name])
        for name, level in skills.items()
    ]


async def extension_in_use(
    s: AsyncSession, tenant_id: str, extension: str, except_user: str | None = None
) -> bool:
    stmt = select(User.id).where(User.tenant_id == tenant_id, User.extension == extension)
    if except_user:
        stmt = stmt.where(User.id != except_user)
    return (await s.execute(stmt)).first() is not None


async def next_extension(s: AsyncSession, tenant: Tenant) -> str:
    used = {
        e
        for (e,) in (
            await s.execute(select(User.extension).where(User.tenant_id == tenant.id))
        ).all()
        if e
    }
    for n in range(tenant.extension_start, tenant.extension_end + 1):
        if str(n) not in used:
            return str(n)
    raise Conflict("No free extension left in the tenant's extension range")


async def apply_fields(
    rt: Runtime, s: AsyncSession, user: User, data: UserFields, fields: set[str]
) -> None:
    """Copy the given fields of ``data`` onto ``user`` (shared by create and update)."""
    simple = {
        "first_name": "first_name",
        "last_name": "last_name",
        "work_phone": "work_phone",
        "mobile_phone": "mobile_phone",
        "email": "email",
        "nickname": "nickname",
        "title": "title",
        "timezone": "timezone",
        "disabled": "disabled",
        "change_password": "change_password",
    }
    for field, attr in simple.items():
        if field in fields:
            value = getattr(data, field)
            if value is None and attr in ("disabled", "change_password"):
                raise Invalid(f"{field} must be true or false")
            if attr in ("first_name", "last_name") and not value:
                raise Invalid(f"{field} must not be empty")
            setattr(user, attr, value)
    if "team" in fields:
        user.team_id = (
            None if data.team is None else (await resolve_team(s, user.tenant_id, data.team)).id
        )
    if "roles" in fields:
        user.roles = await resolve_roles(s, user.tenant_id, data.roles or [])
    if "skills" in fields:
        await set_skills(s, user, data.skills or {})
    if "password" in fields and data.password is not None:
        check_password(rt, data.password, user.login_id)
        user.password_hash = hash_secret(data.password)
    if "extension" in fields and data.extension:
        if await extension_in_use(s, user.tenant_id, data.extension, user.id):
            raise Conflict(f"Extension already in use: {data.extension}")
        user.extension = data.extension


async def create_user(
    rt: Runtime, *, tenant_id: str, data: UserCreate, extra: dict[str, Any] | None = None
) -> User:
    check_password(rt, data.password, data.login_id)
    try:
        async with rt.db.write() as s:
            tenant = await s.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound("Tenant not found")
            exists = (
                await s.execute(
                    select(User.id).where(
                        User.tenant_id == tenant_id, User.login_id == data.login_id
                    )
                )
            ).first()
            if exists:
                raise Conflict(f"User already exists: {data.login_id}")
            user = User(tenant_id=tenant_id, login_id=data.login_id, skills=[], roles=[])
            s.add(user)
            await s.flush()
            await apply_fields(rt, s, user, data, set(data.model_fields_set) | {"password"})
            if not data.extension:
                user.extension = await next_extension(s, tenant)
            for key, value in (extra or {}).items():
                setattr(user, key, value)
            await s.flush()
    except IntegrityError as e:
        raise Conflict("User or extension already exists") from e
    await rt.bus.publish(users_topic(tenant_id), user.id)
    return user


async def update_user(rt: Runtime, *, tenant_id: str, login_id: str, data: UserFields) -> User:
    fields = set(data.model_fields_set)
    try:
        async with rt.db.write() as s:
            user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
            new_login = getattr(data, "login_id", None)
            if new_login is not None and new_login != login_id:
                raise Invalid("loginId cannot be changed")
            await apply_fields(rt, s, user, data, fields)
            user.updated_at = utcnow()
            user.version += 1
            await s.flush()
    except IntegrityError as e:
        raise Conflict("Extension already in use") from e
    await rt.bus.publish(users_topic(tenant_id), user.id)
    return user


async def delete_user(rt: Runtime, *, tenant_id: str, login_id: str) -> None:
    async with rt.db.write() as s:
        user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
        await s.delete(user)
    await rt.bus.publish(users_topic(tenant_id), "")


async def unlock_user(rt: Runtime, *, tenant_id: str, login_id: str) -> User:
    async with rt.db.write() as s:
        user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
        user.locked_until = None
        user.failed_logins = 0
    return user


async def generate_api_secret(
    rt: Runtime, *, tenant_id: str, login_id: str, secret: str | None = None
) -> str:
    """Give the user a new API secret; returns it (only its hash is stored)."""
    value = secret or generate_secret(64)
    async with rt.db.write() as s:
        user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
        user.api_secret_hash = hash_secret(value)
    return value
