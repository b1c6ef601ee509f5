"""Reading tenants; normalising the many ways clients spell a tenant's domain."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import NotFound
from switchboard.tenants.models import Tenant
from switchboard.tenants.schemas import RoleRead, TenantRead


def normalize_domain(raw: str | None) -> str:
    """``https%3A%2F%2FHost.example.com%2F`` -> ``host.example.com``."""
    if not raw:
        return ""
    value = raw.strip()
    for _ in range(2):
        if "%" in value:
            value = unquote(value)
    if "://" in value:
        value = urlsplit(value).netloc or value.split("://", 1)[1]
    value = value.split("/", 1)[0]
    return value.strip().lower().rstrip(".")


async def get_by_domain(*, session: AsyncSession, domain: str | None) -> Tenant | None:
    name = normalize_domain(domain)
    if not name:
        return None
    found = (
        await session.execute(select(Tenant).where(Tenant.domain == name))
    ).scalar_one_or_none()
    if found is None and ":" in name:
        host = name.split(":", 1)[0]
        found = (
            await session.execute(select(Tenant).where(Tenant.domain == host))
        ).scalar_one_or_none()
    return found


async def get_by_domain_or_raise(*, session: AsyncSession, domain: str | None) -> Tenant:
    tenant = await get_by_domain(session=session, domain=domain)
    if tenant is None:
        raise NotFound("Tenant not found")
    return tenant


async def get(*, session: AsyncSession, tenant_id: str) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def list_roles(*, session: AsyncSession, tenant_id: str) -> list[RoleRead]:
    from sqlalchemy import func

    from switchboard.users.models import Role, user_roles

    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(user_roles.c.role_id, func.count()).group_by(user_roles.c.role_id)
            )
        )
        .tuples()
        .all()
    )
    roles = (
        (await session.execute(select(Role).where(Role.tenant_id == tenant_id).order_by(Role.name)))
        .scalars()
        .all()
    )
    return [
        RoleRead(
            id=r.id,
            name=r.name,
            privileges=list(r.privileges or []),
            builtin=r.builtin,
            users=int(counts.get(r.id, 0)),
        )
        for r in roles
    ]


def tenant_read(tenant: Tenant) -> TenantRead:
    return TenantRead(
        id=tenant.id,
        domain=tenant.domain,
        name=tenant.name,
        timezone=tenant.timezone,
        daily_reset_time=tenant.daily_reset_time,
        extension_start=tenant.extension_start,
        extension_end=tenant.extension_end,
        settings=dict(tenant.settings or {}),
    )
