"""Creating tenants (with their built-in roles)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from switchboard.core.errors import Conflict, Invalid
from switchboard.core.runtime import Runtime
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import normalize_domain
from switchboard.users.models import BUILTIN_ROLES, Role


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
        raise Invalid("A tenant needs a domain name")
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
    await rt.bus.publish("tenants", tenant.id)
    return tenant


# Columns of Tenant that ``update_settings`` sets directly; other keys go to Tenant.settings.
TENANT_COLUMNS = {
    "name": str,
    "timezone": str,
    "daily_reset_time": str,
    "extension_start": int,
    "extension_end": int,
}


async def update_settings(rt: Runtime, *, domain: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change tenant columns (name, timezone, daily_reset_time, extension range) and
    free-form settings keys (``null`` removes a key). Returns the resulting view."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from switchboard.tenants.service import get_by_domain_or_raise

    async with rt.db.write() as s:
        tenant = await get_by_domain_or_raise(session=s, domain=domain)
        extra = dict(tenant.settings or {})
        for key, value in changes.items():
            kind = TENANT_COLUMNS.get(key)
            if kind is None:
                if value is None:
                    extra.pop(key, None)
                else:
                    extra[key] = value
                continue
            if not isinstance(value, kind):
                raise Invalid(f"{key} must be a {kind.__name__}")
            if key == "timezone":
                try:
                    ZoneInfo(str(value))
                except (ZoneInfoNotFoundError, ValueError) as e:
                    raise Invalid(f"Unknown time zone: {value}") from e
            if key == "daily_reset_time":
                hh, _, mm = str(value).partition(":")
                if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
                    raise Invalid("daily_reset_time must be HH:MM")
            setattr(tenant, key, value)
        if tenant.extension_start > tenant.extension_end:
            raise Invalid("extension_start must not exceed extension_end")
        tenant.settings = extra
        view: dict[str, Any] = {k: getattr(tenant, k) for k in TENANT_COLUMNS}
        view.update(extra)
    await rt.bus.publish("tenants", tenant.id)
    return view
