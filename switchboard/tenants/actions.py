"""Creating tenants (with their built-in roles), changing their settings, and managing
their roles.

Every change queues ``config:<tenant_id>`` (``tenants.config.config_changed``) and
``tenants`` inside its one write transaction; both are published after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import after_commit
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.tenants.config import check_setting, config_changed
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import normalize_domain
from switchboard.users.models import BUILTIN_ROLES, Privilege, Role, user_roles


async def create_tenant(
    rt: Runtime,
    *,
    domain: str,
    name: str | None = None,
    timezone: str = "UTC",
    settings: dict[str, Any] | None = None,
) -> Tenant:
    normalized = normalize_domain(domain)
    if not normalized or " " in normalized:
        raise Invalid("A tenant needs a domain name", field="domain")
    async with rt.db.write() as s:
        if (await s.execute(select(Tenant.id).where(Tenant.domain == normalized))).first():
            raise Conflict(f"Tenant already exists: {normalized}")
        tenant = Tenant(
            domain=normalized,
            name=name or normalized,
            timezone=timezone,
            settings=settings or {},
        )
        s.add(tenant)
        await s.flush()
        for role_name, privileges in BUILTIN_ROLES.items():
            s.add(
                Role(
                    tenant_id=tenant.id,
                    name=role_name,
                    privileges=[str(p) for p in privileges],
                    builtin=True,
                )
            )
        after_commit(s, "tenants", tenant.id)
    return tenant


# Columns of Tenant that ``update_settings`` sets directly; other keys go to Tenant.settings.
TENANT_COLUMNS = {
    "name": str,
    "timezone": str,
    "daily_reset_time": str,
    "extension_start": int,
    "extension_end": int,
}


def tenant_view(tenant: Tenant) -> dict[str, Any]:
    """The tenant's columns and settings, as ``update_settings`` answers them."""
    view: dict[str, Any] = {k: getattr(tenant, k) for k in TENANT_COLUMNS}
    view.update(tenant.settings or {})
    return view


def _check_column(key: str, value: Any) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    kind = TENANT_COLUMNS[key]
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Invalid(f"{key} must be a {'text' if kind is str else 'whole number'}", field=key)
    if key == "name" and not str(value).strip():
        raise Invalid("name must not be empty", field=key)
    if key == "timezone":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise Invalid(f"Unknown time zone: {value}", field=key) from e
    if key == "daily_reset_time":
        hh, _, mm = str(value).partition(":")
        if not (len(hh) == 2 and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise Invalid("daily_reset_time must be HH:MM", field=key)
    return value


async def update_settings(
    rt: Runtime,
    *,
    domain: str | None = None,
    tenant_id: str | None = None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Change tenant columns (name, timezone, daily_reset_time, extension range) and the
    settings of ``tenants.config.TENANT_SETTINGS`` (``null`` removes a setting); unknown
    keys are refused. Returns the resulting view."""
    from switchboard.tenants.service import get_by_domain_or_raise

    async with rt.db.write() as s:
        if tenant_id is not None:
            found = await s.get(Tenant, tenant_id)
            if found is None:
                raise NotFound("Tenant not found")
            tenant = found
        else:
            tenant = await get_by_domain_or_raise(session=s, domain=domain)
        extra = dict(tenant.settings or {})
        for key, value in changes.items():
            if key in TENANT_COLUMNS:
                setattr(tenant, key, _check_column(key, value))
                continue
            checked = check_setting(key, value)
            if checked is None:
                extra.pop(key, None)
            else:
                extra[key] = checked
        if tenant.extension_start > tenant.extension_end:
            raise Invalid("extension_start must not exceed extension_end", field="extension_start")
        tenant.settings = extra
        view = tenant_view(tenant)
        config_changed(s, tenant.id, "tenant")
        after_commit(s, "tenants", tenant.id)
    return view


# ---- roles ---------------------------------------------------------------------------


def _check_privileges(privileges: Iterable[str]) -> list[str]:
    known = {str(p) for p in Privilege}
    out = list(dict.fromkeys(privileges))
    bad = [p for p in out if p not in known]
    if bad:
        raise Invalid(
            "Unknown privilege: " + ", ".join(bad) + " (known: " + ", ".join(sorted(known)) + ")",
            field="privileges",
        )
    return out


def _check_role_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 128:
        raise Invalid("A role needs a name of 1 to 128 characters", field="name")
    return name


async def _role(s: AsyncSession, tenant_id: str, ref: str, *, lock: bool = False) -> Role:
    stmt = select(Role).where(Role.tenant_id == tenant_id, (Role.id == ref) | (Role.name == ref))
    if lock:
        stmt = stmt.with_for_update()
    role = (await s.execute(stmt)).scalars().first()
    if role is None:
        raise NotFound(f"Role not found: {ref}")
    return role


async def role_holders(s: AsyncSession, role_id: str) -> int:
    stmt = select(func.count()).select_from(user_roles).where(user_roles.c.role_id == role_id)
    return int((await s.execute(stmt)).scalar_one())


async def create_role(rt: Runtime, *, tenant_id: str, name: str, privileges: list[str]) -> Role:
    name = _check_role_name(name)
    privs = _check_privileges(privileges)
    try:
        async with rt.db.write() as s:
            taken = await s.execute(
                select(Role.id).where(Role.tenant_id == tenant_id, Role.name == name)
            )
            if taken.first() is not None:
                raise Conflict(f"Role already exists: {name}", field="name")
            role = Role(tenant_id=tenant_id, name=name, privileges=privs, builtin=False)
            s.add(role)
            await s.flush()
            config_changed(s, tenant_id, f"role:{role.id}")
    except IntegrityError as e:
        raise Conflict(f"Role already exists: {name}", field="name") from e
    return role


async def update_role(
    rt: Runtime,
    *,
    tenant_id: str,
    ref: str,
    name: str | None = None,
    privileges: list[str] | None = None,
) -> Role:
    """Rename a role or set its privileges. Built-in roles cannot change (409): the
    documented roles must mean the same thing in every tenant."""
    async with rt.db.write() as s:
        role = await _role(s, tenant_id, ref, lock=True)
        if role.builtin:
            raise Conflict(f"{role.name} is a built-in role and cannot be changed")
        if name is not None:
            new_name = _check_role_name(name)
            if new_name != role.name:
                taken = await s.execute(
                    select(Role.id).where(Role.tenant_id == tenant_id, Role.name == new_name)
                )
                if taken.first() is not None:
                    raise Conflict(f"Role already exists: {new_name}", field="name")
                role.name = new_name
        if privileges is not None:
            role.privileges = _check_privileges(privileges)
        await s.flush()
        config_changed(s, tenant_id, f"role:{role.id}")
        # users' privileges come from their roles: token holders see the change at once
        after_commit(s, f"tenant:{tenant_id}:users", "")
    return role


async def delete_role(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        role = await _role(s, tenant_id, ref, lock=True)
        if role.builtin:
            raise Conflict(f"{role.name} is a built-in role and cannot be deleted")
        holders = await role_holders(s, role.id)
        if holders:
            raise Conflict(
                f"Role {role.name} is held by {holders} user(s): take it from them first"
            )
        await s.delete(role)
        config_changed(s, tenant_id, f"role:{role.id}")
