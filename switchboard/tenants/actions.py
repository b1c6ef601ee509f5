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
