"""Creating, changing and deleting canned responses (one transaction each; publishes
``config:<tenant_id>`` after the commit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.canned import service as svc
from switchboard.canned.models import CannedResponse
from switchboard.canned.schemas import CannedCreate, CannedUpdate
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.services import service as services
from switchboard.tenants.config import config_changed


async def _shortcut_free(
    s: AsyncSession, tenant_id: str, shortcut: str | None, except_id: str | None
) -> None:
    if not shortcut:
        return
    stmt = select(CannedResponse.id).where(
        CannedResponse.tenant_id == tenant_id, CannedResponse.shortcut == shortcut
    )
    if except_id:
        stmt = stmt.where(CannedResponse.id != except_id)
    if (await s.execute(stmt)).first() is not None:
        raise Conflict(f"Shortcut already in use: {shortcut}", field="shortcut")


async def _apply(
    s: AsyncSession, tenant_id: str, c: CannedResponse, data: CannedCreate | CannedUpdate
) -> None:
    fields = data.model_fields_set
    if "service" in fields:
        if data.service:
            try:
                found = await services.find_service(
                    session=s, tenant_id=tenant_id, ref=data.service
                )
            except NotFound as e:
                raise Invalid(f"service: no such service: {data.service}", field="service") from e
            c.service_id = found.id
        else:
            c.service_id = None
    if data.title is not None:
        c.title = data.title
    if data.text is not None:
        c.text = data.text
    if "category" in fields:
        c.category = data.category or None
    if "shortcut" in fields:
        await _shortcut_free(s, tenant_id, data.shortcut, c.id)
        c.shortcut = data.shortcut or None
    if data.tags is not None:
        c.tags = list(dict.fromkeys(t.strip() for t in data.tags))
    c.updated_at = utcnow()


async def create(rt: Runtime, *, tenant_id: str, data: CannedCreate) -> CannedResponse:
    try:
        async with rt.db.write() as s:
            c = CannedResponse(tenant_id=tenant_id, title=data.title, text=data.text, tags=[])
            await _apply(s, tenant_id, c, data)
            s.add(c)
            await s.flush()
            config_changed(s, tenant_id, f"canned:{c.id}")
    except IntegrityError as e:
        raise Conflict(f"Shortcut already in use: {data.shortcut}", field="shortcut") from e
    return c


async def update(rt: Runtime, *, tenant_id: str, ref: str, data: CannedUpdate) -> CannedResponse:
    try:
        async with rt.db.write() as s:
            c = await svc.find(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            await _apply(s, tenant_id, c, data)
            await s.flush()
            config_changed(s, tenant_id, f"canned:{c.id}")
    except IntegrityError as e:
        raise Conflict(f"Shortcut already in use: {data.shortcut}", field="shortcut") from e
    return c


async def delete(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        c = await svc.find(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        await s.delete(c)
        config_changed(s, tenant_id, f"canned:{c.id}")
