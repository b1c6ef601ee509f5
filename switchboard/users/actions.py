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
from switchboard.users import scim
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


# ---- SCIM provisioning (switchboard.api.scim; mapping in switchboard.users.scim) ------


class StaleWrite(Exception):
    """The resource changed between the read a SCIM write was computed from and the
    write: the caller reads again and recomputes (optimistic concurrency)."""


async def login_taken(
    s: AsyncSession, tenant_id: str, login_id: str, except_user: str | None = None
) -> bool:
    """Whether another user of the tenant has this loginId, ignoring case (SCIM's
    userName is case-insensitive)."""
    from sqlalchemy import func

    stmt = select(User.id).where(
        User.tenant_id == tenant_id,
        (User.login_id == login_id) | (func.lower(User.login_id) == login_id.lower()),
    )
    if except_user:
        stmt = stmt.where(User.id != except_user)
    return (await s.execute(stmt.limit(1))).first() is not None


async def _apply_scim_state(
    rt: Runtime,
    s: AsyncSession,
    tenant: Tenant,
    user: User,
    st: scim.UserState,
    photo: scim.FetchedPhoto | None,
    *,
    creating: bool,
) -> None:
    from switchboard.core.security import generate_password

    a = st.assigned
    user.first_name, user.last_name = st.first_name, st.last_name
    for attr in ("nickname", "title", "timezone", "external_id", "disabled"):
        if attr in a:
            setattr(user, attr, getattr(st, attr))
    if "email" in a:
        user.email, user.emails = st.email, list(st.emails)
    if "addresses" in a:
        user.addresses = list(st.addresses)
    for attr in ("work_phone", "mobile_phone", "default_phone"):
        if attr in a:
            setattr(user, attr, getattr(st, attr))
    if "extension" in a:
        if st.extension and await extension_in_use(s, tenant.id, st.extension, user.id):
            raise Conflict(f"Extension already in use: {st.extension}", code="uniqueness")
        user.extension = st.extension
    elif "default_extension" in a and tenant.setting(scim.SETTING_ASSIGN_EXTENSION, True):
        user.extension = await next_extension(s, tenant)
    if "photo" in a:
        user.photo_url = photo.url if photo else None
        user.photo_data = photo.data if photo else None
        user.photo_content_type = photo.content_type if photo else None
    if "roles" in a:
        user.roles = await resolve_roles(s, tenant.id, st.roles)
    elif "default_roles" in a:
        wanted = tenant.setting(scim.SETTING_DEFAULT_ROLES, scim.DEFAULT_ROLES) or []
        found = (
            (
                await s.execute(
                    select(Role).where(Role.tenant_id == tenant.id, Role.name.in_(wanted))
                )
            )
            .scalars()
            .all()
        )
        user.roles = sorted(found, key=lambda r: r.name)
    if "team" in a:
        user.team_id = None if st.team is None else (await resolve_team(s, tenant.id, st.team)).id
    if "skills" in a:
        await set_skills(s, user, st.skills)
    if "password" in a:
        if st.password:
            check_password(rt, st.password, st.login_id)
            user.password_hash = hash_secret(st.password)
        elif creating:
            user.password_hash = hash_secret(generate_password())
        else:
            user.password_hash = None  # removed: the user signs in by single sign-on only


async def scim_create_user(
    rt: Runtime,
    *,
    tenant_id: str,
    state: scim.UserState,
    photo: scim.FetchedPhoto | None = None,
) -> User:
    """Create a user from a SCIM resource mapped by ``users.scim.user_state``."""
    try:
        async with rt.db.write() as s:
            tenant = await s.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound("Tenant not found")
            if await login_taken(s, tenant_id, state.login_id):
                raise Conflict(f"User already exists: {state.login_id}", code="uniqueness")
            user = User(tenant_id=tenant_id, login_id=state.login_id, skills=[], roles=[])
            s.add(user)
            await s.flush()
            await _apply_scim_state(rt, s, tenant, user, state, photo, creating=True)
            await s.flush()
            user_id = user.id
    except IntegrityError as e:
        raise Conflict("User or extension already exists", code="uniqueness") from e
    await rt.bus.publish(users_topic(tenant_id), user_id)
    return user


async def scim_update_user(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    state: scim.UserState,
    photo: scim.FetchedPhoto | None = None,
    expected_version: str | None = None,
) -> User:
    """Replace or patch a user with a SCIM state. ``expected_version`` is the
    ``meta.version`` the state was computed from; :class:`StaleWrite` if it changed."""

    try:
        async with rt.db.write() as s:
            tenant = await s.get(Tenant, tenant_id)
            user = (
                await s.execute(
                    select(User)
                    .where(User.id == user_id, User.tenant_id == tenant_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if user is None or tenant is None:
                raise NotFound(f"User not found: {user_id}")
            if expected_version is not None:
                if scim.version_of(scim.to_scim_user(user)) != expected_version:
                    raise StaleWrite(user_id)
            if state.login_id != user.login_id:
                if not tenant.setting(scim.SETTING_ALLOW_USERNAME_CHANGE, False):
                    raise Invalid(
                        "userName cannot be changed in this contact center", code="mutability"
                    )
                if await login_taken(s, tenant_id, state.login_id, user.id):
                    raise Conflict(f"User already exists: {state.login_id}", code="uniqueness")
                user.login_id = state.login_id
            await _apply_scim_state(rt, s, tenant, user, state, photo, creating=False)
            user.updated_at = utcnow()
            user.version += 1
            await s.flush()
    except IntegrityError as e:
        raise Conflict("User or extension already exists", code="uniqueness") from e
    await rt.bus.publish(users_topic(tenant_id), user_id)
    return user


async def scim_delete_user(
    rt: Runtime, *, tenant_id: str, user_id: str, expected_version: str | None = None
) -> None:

    try:
        async with rt.db.write() as s:
            user = (
                await s.execute(
                    select(User)
                    .where(User.id == user_id, User.tenant_id == tenant_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if user is None:
                raise NotFound(f"User not found: {user_id}")
            if expected_version is not None:
                if scim.version_of(scim.to_scim_user(user)) != expected_version:
                    raise StaleWrite(user_id)
            await s.delete(user)
    except IntegrityError as e:
        raise Conflict("The user is still referenced and cannot be deleted") from e
    await rt.bus.publish(users_topic(tenant_id), user_id)
