"""Every change to a user: validate, change, commit, then publish ``tenant:<id>:users``.

Provisioning is race-free (issue 17): every transaction that creates a user or changes a
loginId or an extension first locks the tenant's ``user_allocators`` row
(:func:`lock_provisioning`), so its uniqueness checks and the automatic extension it
picks see every earlier provisioning commit, in this process or any other; a 409 then
always means that the login or extension named really exists. Skills and teams created
on the way are inserted with ``ON CONFLICT DO NOTHING``. Password hashes are computed
before the transaction, off the event loop, so the lock is held for milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.actions import revoke_user_tokens_in
from switchboard.auth.guards import after_user_change_in, ensure_other_admin_in, is_admin
from switchboard.core.db import after_commit, utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.core.security import generate_secret, hash_secret
from switchboard.services.models import Skill
from switchboard.teams.models import Team
from switchboard.tenants.models import Tenant
from switchboard.users import scim
from switchboard.users.models import Role, User, UserAllocator, UserSkill
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


async def hash_off_loop(value: str) -> str:
    """argon2 is slow by design: hash in a thread, before any transaction opens."""
    return await asyncio.to_thread(hash_secret, value)


# ---- race-free provisioning -------------------------------------------------------------


async def insert_missing(
    s: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, skipping those whose unique ``keys`` already exist (also when a
    concurrent transaction inserts the same key first: PostgreSQL waits for it, SQLite
    writers are serialised). Rows are inserted in key order so that two transactions
    never wait on each other's keys in opposite orders."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))
    bind = s.get_bind()
    if bind.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(ordered).on_conflict_do_nothing(index_elements=keys)
        await s.execute(pg)
    else:
        lite = sqlite.insert(table).values(ordered).on_conflict_do_nothing(index_elements=keys)
        await s.execute(lite)


async def lock_provisioning(s: AsyncSession, tenant_id: str) -> UserAllocator:
    """Lock the tenant's provisioning row (creating it on first use). Take it first,
    before any user row, in every transaction that creates a user or changes a loginId
    or extension; it is held until the transaction ends."""
    stmt = (
        select(UserAllocator)
        .where(UserAllocator.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await s.execute(stmt)).scalar_one_or_none()
    if row is None:
        table = UserAllocator.__table__
        assert isinstance(table, Table)
        await insert_missing(s, table, [{"tenant_id": tenant_id, "allocations": 0}], ["tenant_id"])
        row = (await s.execute(stmt)).scalar_one()
    return row


async def resolve_team(s: AsyncSession, tenant_id: str, name: str) -> Team:
    team = (
        await s.execute(select(Team).where(Team.tenant_id == tenant_id, Team.name == name))
    ).scalar_one_or_none()
    if team is None:
        raise NotFound(f"Team not found: {name}")
    return team


async def ensure_team(s: AsyncSession, tenant_id: str, name: str) -> Team:
    """The tenant's team of this name, created when missing (the CLI's ``--team``)."""
    table = Team.__table__
    assert isinstance(table, Table)
    exists = (
        await s.execute(select(Team.id).where(Team.tenant_id == tenant_id, Team.name == name))
    ).first()
    if exists is None:
        from switchboard.core.db import new_id

        await insert_missing(
            s,
            table,
            [
                {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "name": name,
                    "default_chat_capacity": 3,
                    "created_at": utcnow(),
                }
            ],
            ["tenant_id", "name"],
        )
    return await resolve_team(s, tenant_id, name)


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
    """Skills are plain names: ones a user is given that the tenant lacks are created
    (``ON CONFLICT DO NOTHING``: two requests naming the same new skill both succeed)."""
    from switchboard.core.db import new_id

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}

    async def known() -> dict[str, Skill]:
        found = (
            await s.execute(
                select(Skill).where(Skill.tenant_id == tenant_id, Skill.name.in_(wanted))
            )
        ).scalars()
        return {sk.name: sk for sk in found}

    by_name = await known()
    missing = [n for n in wanted if n not in by_name]
    if missing:
        table = Skill.__table__
        assert isinstance(table, Table)
        await insert_missing(
            s,
            table,
            [{"id": new_id(), "tenant_id": tenant_id, "name": n} for n in missing],
            ["tenant_id", "name"],
        )
        by_name = await known()
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


EXTENSION_BATCH = 200


async def next_extension(s: AsyncSession, tenant: Tenant, allocator: UserAllocator) -> str:
    """The next free extension of the tenant's range, searched from just after the last
    one allocated and wrapping around once (so a deleted user's extension is not handed
    to someone else at once). Call with ``allocator`` locked (:func:`lock_provisioning`)."""
    start, end = tenant.extension_start, tenant.extension_end
    size = end - start + 1
    last = allocator.last_extension
    n = last + 1 if last is not None and start <= last < end else start
    checked = 0
    while checked < size:
        batch: list[int] = []
        while len(batch) < EXTENSION_BATCH and checked < size:
            batch.append(n)
            checked += 1
            n = n + 1 if n < end else start
        used = set(
            (
                await s.execute(
                    select(User.extension).where(
                        User.tenant_id == tenant.id,
                        User.extension.in_([str(x) for x in batch]),
                    )
                )
            ).scalars()
        )
        for x in batch:
            if str(x) not in used:
                allocator.last_extension = x
                allocator.allocations = (allocator.allocations or 0) + 1
                return str(x)
    raise Conflict("No free extension left in the tenant's extension range")


async def apply_fields(
    rt: Runtime,
    s: AsyncSession,
    user: User,
    data: UserFields,
    fields: set[str],
    *,
    password_hash: str | None = None,
) -> None:
    """Copy the given fields of ``data`` onto ``user`` (shared by create and update).
    ``password_hash`` is the hash of ``data.password``, computed before the transaction."""
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
        user.password_hash = password_hash or hash_secret(data.password)
    if "extension" in fields and data.extension:
        if await extension_in_use(s, user.tenant_id, data.extension, user.id):
            raise Conflict(f"Extension already in use: {data.extension}")
        user.extension = data.extension


async def create_user_in(
    rt: Runtime,
    s: AsyncSession,
    *,
    tenant_id: str,
    data: UserCreate,
    password_hash: str,
    extra: dict[str, Any] | None = None,
    create_team: bool = False,
) -> User:
    """Create a user in the caller's write transaction (``password_hash`` is the hash of
    ``data.password``). ``create_team``: a missing team is created instead of a 404."""
    allocator = await lock_provisioning(s, tenant_id)
    tenant = await s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found")
    exists = (
        await s.execute(
            select(User.id).where(User.tenant_id == tenant_id, User.login_id == data.login_id)
        )
    ).first()
    if exists:
        raise Conflict(f"User already exists: {data.login_id}")
    if create_team:
        await ensure_team(s, tenant_id, data.team)
    user = User(tenant_id=tenant_id, login_id=data.login_id, skills=[], roles=[])
    s.add(user)
    await s.flush()
    await apply_fields(
        rt, s, user, data, set(data.model_fields_set) | {"password"}, password_hash=password_hash
    )
    if not data.extension:
        user.extension = await next_extension(s, tenant, allocator)
    for key, value in (extra or {}).items():
        setattr(user, key, value)
    await s.flush()
    after_commit(s, users_topic(tenant_id), user.id)
    return user


async def create_user(
    rt: Runtime,
    *,
    tenant_id: str,
    data: UserCreate,
    extra: dict[str, Any] | None = None,
    create_team: bool = False,
) -> User:
    check_password(rt, data.password, data.login_id)
    password_hash = await hash_off_loop(data.password)
    try:
        async with rt.db.write() as s:
            return await create_user_in(
                rt,
                s,
                tenant_id=tenant_id,
                data=data,
                password_hash=password_hash,
                extra=extra,
                create_team=create_team,
            )
    except IntegrityError as e:
        raise Conflict("User or extension already exists") from e


async def update_user(rt: Runtime, *, tenant_id: str, login_id: str, data: UserFields) -> User:
    fields = set(data.model_fields_set)
    password_hash = None
    if "password" in fields and data.password is not None:
        check_password(rt, data.password, login_id)
        password_hash = await hash_off_loop(data.password)
    try:
        async with rt.db.write() as s:
            if fields & {"extension", "login_id", "disabled", "roles"}:
                await lock_provisioning(s, tenant_id)
            user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
            new_login = getattr(data, "login_id", None)
            if new_login is not None and new_login != login_id:
                raise Invalid("loginId cannot be changed")
            before = (is_admin(user), user.password_hash, user.api_secret_hash, user.disabled)
            await apply_fields(rt, s, user, data, fields, password_hash=password_hash)
            user.updated_at = utcnow()
            user.version += 1
            await s.flush()
            # issue 12: revoke tokens on a new password or disabling; keep an administrator
            await after_user_change_in(
                s,
                user,
                was_admin=before[0],
                old_password_hash=before[1],
                old_api_secret_hash=before[2],
                was_disabled=before[3],
            )
            after_commit(s, users_topic(tenant_id), user.id)
    except IntegrityError as e:
        raise Conflict("Extension already in use") from e
    return user


async def delete_user(rt: Runtime, *, tenant_id: str, login_id: str) -> None:
    async with rt.db.write() as s:
        await lock_provisioning(s, tenant_id)
        user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
        if is_admin(user):
            await ensure_other_admin_in(s, user)  # issue 12: never the last administrator
        await s.delete(user)
        after_commit(s, users_topic(tenant_id), "")


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
    hashed = await hash_off_loop(value)
    async with rt.db.write() as s:
        user = await get_by_login_or_raise(session=s, tenant_id=tenant_id, login_id=login_id)
        user.api_secret_hash = hashed
        await revoke_user_tokens_in(s, user.id, kinds=("oauth",))  # the old secret's tokens
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


async def _scim_password_hash(rt: Runtime, st: scim.UserState, *, creating: bool) -> str | None:
    """The hash a SCIM write stores, computed before its transaction (None: none, or
    the password is not written)."""
    from switchboard.core.security import generate_password

    if "password" not in st.assigned:
        return None
    if st.password:
        check_password(rt, st.password, st.login_id)
        return await hash_off_loop(st.password)
    if creating:
        return await hash_off_loop(generate_password())
    return None


async def _apply_scim_state(
    s: AsyncSession,
    tenant: Tenant,
    allocator: UserAllocator,
    user: User,
    st: scim.UserState,
    photo: scim.FetchedPhoto | None,
    password_hash: str | None,
) -> None:
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
        user.extension = await next_extension(s, tenant, allocator)
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
        # None on a replace/patch without a password: removed, the user signs in by
        # single sign-on only
        user.password_hash = password_hash


async def scim_create_user(
    rt: Runtime,
    *,
    tenant_id: str,
    state: scim.UserState,
    photo: scim.FetchedPhoto | None = None,
) -> User:
    """Create a user from a SCIM resource mapped by ``users.scim.user_state``."""
    password_hash = await _scim_password_hash(rt, state, creating=True)
    try:
        async with rt.db.write() as s:
            allocator = await lock_provisioning(s, tenant_id)
            tenant = await s.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound("Tenant not found")
            if await login_taken(s, tenant_id, state.login_id):
                raise Conflict(f"User already exists: {state.login_id}", code="uniqueness")
            user = User(tenant_id=tenant_id, login_id=state.login_id, skills=[], roles=[])
            s.add(user)
            await s.flush()
            await _apply_scim_state(s, tenant, allocator, user, state, photo, password_hash)
            await s.flush()
            after_commit(s, users_topic(tenant_id), user.id)
    except IntegrityError as e:
        raise Conflict("User or extension already exists", code="uniqueness") from e
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
    password_hash = await _scim_password_hash(rt, state, creating=False)
    try:
        async with rt.db.write() as s:
            # the provisioning lock before the user's row (lock order of this module)
            allocator = await lock_provisioning(s, tenant_id)
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
            before = (is_admin(user), user.password_hash, user.api_secret_hash, user.disabled)
            await _apply_scim_state(s, tenant, allocator, user, state, photo, password_hash)
            user.updated_at = utcnow()
            user.version += 1
            await s.flush()
            await after_user_change_in(
                s,
                user,
                was_admin=before[0],
                old_password_hash=before[1],
                old_api_secret_hash=before[2],
                was_disabled=before[3],
            )
            after_commit(s, users_topic(tenant_id), user_id)
    except IntegrityError as e:
        raise Conflict("User or extension already exists", code="uniqueness") from e
    return user


async def scim_delete_user(
    rt: Runtime, *, tenant_id: str, user_id: str, expected_version: str | None = None
) -> None:
    try:
        async with rt.db.write() as s:
            await lock_provisioning(s, tenant_id)
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
            if is_admin(user):
                await ensure_other_admin_in(s, user)  # issue 12
            await s.delete(user)
            after_commit(s, users_topic(tenant_id), user_id)
    except IntegrityError as e:
        raise Conflict("The user is still referenced and cannot be deleted") from e
