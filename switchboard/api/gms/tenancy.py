"""Which tenant a GMS request is for: GMS clients send no tenant of their own.

1. the ``Host`` the request was sent to, when it is a tenant's domain;
2. else ``tenantUrl`` (query, any spelling) or the ``_tenant`` form field / query
   parameter: it must name an existing tenant (404 otherwise);
3. else the setting ``gms_default_tenant`` (unset: ``demo_tenant``; empty: none).

When the Host is a tenant's domain, a ``tenantUrl``/``_tenant`` naming another tenant
is refused (400): a request never reaches a tenant other than the one it was sent to.
"""

from __future__ import annotations

from fastapi import Request

from switchboard.core.errors import Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.gms.schemas import Params
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import get_by_domain, normalize_domain

QUERY_KEYS = ("tenantUrl", "tenanturl", "tenant_url", "TenantUrl", "_tenant")


def named_tenant(request: Request, params: Params | None) -> str | None:
    for key in QUERY_KEYS:
        value = request.query_params.get(key)
        if value:
            return value
    if params is not None:
        return params.get("_tenant")
    return None


async def resolve(rt: Runtime, request: Request, params: Params | None = None) -> Tenant:
    named = named_tenant(request, params)
    async with rt.db.read() as s:
        by_host = await get_by_domain(session=s, domain=request.headers.get("host"))
        if by_host is not None:
            if named and normalize_domain(named) not in (
                by_host.domain,
                normalize_domain(request.headers.get("host")),
            ):
                raise Invalid("tenantUrl names another tenant than the Host")
            return by_host
        if named:
            tenant = await get_by_domain(session=s, domain=named)
            if tenant is None:
                raise NotFound(f"Tenant not found: {normalize_domain(named)}")
            return tenant
        default = rt.settings.gms_default_tenant
        if default is None:
            default = rt.settings.demo_tenant
        tenant = await get_by_domain(session=s, domain=default) if default else None
        if tenant is None:
            raise NotFound("Tenant not found: send tenantUrl or call the tenant's domain")
        return tenant
