"""Reading GMS services, storage entries and chat links; rendering them for clients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gms.models import GmsChat, GmsService, GmsStorageEntry
from switchboard.gms.values import iso
from switchboard.scenarios.models import ScenarioEntry
from switchboard.tenants.models import Tenant

ENDED_CALLBACK_STATES = ("COMPLETED", "CANCELLED", "EXPIRED")


async def get(*, session: AsyncSession, tenant_id: str, service_id: str) -> GmsService | None:
    svc = await session.get(GmsService, service_id)
    if svc is None or svc.tenant_id != tenant_id:
        return None
    return svc


async def get_entry(
    *, session: AsyncSession, tenant_id: str, entry_id: str, now: datetime
) -> GmsStorageEntry | None:
    """A storage entry of the tenant that has not expired."""
    entry = await session.get(GmsStorageEntry, entry_id)
    if entry is None or entry.tenant_id != tenant_id or entry.expires_at <= now:
        return None
    return entry


async def list_callbacks(
    *,
    session: AsyncSession,
    tenant_id: str,
    name: str | None,
    customer_digits: str | None,
    limit: int,
) -> Sequence[GmsService]:
    """The tenant's callbacks (of the service ``name`` when given), newest first."""
    stmt = select(GmsService).where(
        GmsService.tenant_id == tenant_id, GmsService.kind == "callback"
    )
    if name is not None:
        stmt = stmt.where(GmsService.name == name)
    if customer_digits is not None:
        stmt = stmt.where(GmsService.phone_digits == customer_digits)
    stmt = stmt.order_by(GmsService.created_at.desc(), GmsService.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def get_scenario_entry(
    *, session: AsyncSession, tenant_id: str, app_id: str
) -> ScenarioEntry | None:
    stmt = select(ScenarioEntry).where(
        ScenarioEntry.tenant_id == tenant_id, ScenarioEntry.app_id == app_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def default_chat_service(*, session: AsyncSession, tenant_id: str) -> str | None:
    """The tenant setting ``gms_chat_service``, else its first enabled scenario entry."""
    tenant = await session.get(Tenant, tenant_id)
    configured = tenant.setting("gms_chat_service") if tenant is not None else None
    if configured:
        return str(configured)
    stmt = (
        select(ScenarioEntry.app_id)
        .where(ScenarioEntry.tenant_id == tenant_id, ScenarioEntry.enabled.is_(True))
        .order_by(ScenarioEntry.created_at, ScenarioEntry.app_id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_chat(*, session: AsyncSession, tenant_id: str, chat_id: str) -> GmsChat | None:
    link = await session.get(GmsChat, chat_id)
    if link is None or link.tenant_id != tenant_id:
        return None
    return link


# ---- rendering ------------------------------------------------------------------------


def callback_state(svc: GmsService, now: datetime) -> str:
    """The stored state, brought up to date (the worker persists the same changes)."""
    state = svc.callback_state or "SCHEDULED"
    if state in ENDED_CALLBACK_STATES:
        return state
    if svc.expires_at is not None and svc.expires_at <= now:
        return "EXPIRED"
    if state == "SCHEDULED" and svc.desired_time is not None and svc.desired_time <= now:
        return "QUEUED"
    return state


def state_of(svc: GmsService, now: datetime) -> str:
    if svc.state == "active" and svc.expires_at is not None and svc.expires_at <= now:
        return "expired"
    return svc.state


def describe_callback(svc: GmsService, now: datetime) -> dict[str, Any]:
    return {
        "_id": svc.id,
        "_desired_time": iso(svc.desired_time),
        "_service_name": svc.name,
        "_callback_state": callback_state(svc, now),
        "_expiration_time": iso(svc.expires_at),
        "_customer_number": svc.customer_number or "",
    }


def describe(svc: GmsService, now: datetime, chat_state: str | None = None) -> dict[str, Any]:
    """A service as ``GET /genesys/1/service/{id}`` and the ``status`` request show it."""
    if svc.kind == "callback":
        out = describe_callback(svc, now)
        out["_data_id"] = svc.data_id
        out["status"] = out["_callback_state"].lower()
        out["dialog"] = dialog_of(out["status"])
        return out
    state = state_of(svc, now)
    out = {
        "_id": svc.id,
        "_service_name": svc.name,
        "_state": state,
        "status": _status(svc, state, chat_state),
        "dialog": dialog_of(_status(svc, state, chat_state)),
        "_data_id": svc.data_id,
        "_expiration_time": iso(svc.expires_at),
    }
    if svc.access_number is not None:
        out["_access_number"] = svc.access_number
    if svc.access_code is not None and state == "active":
        out["_access_code"] = svc.access_code
    if svc.phone_digits is not None and svc.kind != "request-chat":
        out["_phone_number"] = svc.parameters.get("_phone_number", svc.phone_digits)
    if svc.kind == "request-chat":
        out["_chat_service"] = svc.chat_service
        if svc.chat_id is not None:
            out["_chat_id"] = svc.chat_id
    return out


def dialog_of(status: str) -> str:
    """The page a GMS client shows for a status (the seed: ``"waiting-for-agent"`` ->
    ``"/waitingforagent.html"``)."""
    return "/" + "".join(c for c in status.lower() if c.isalnum()) + ".html"


def _status(svc: GmsService, state: str, chat_state: str | None) -> str:
    if svc.kind == "request-chat" and svc.chat_id is not None:
        if chat_state in ("ivr", "queued", "connecting"):
            return "waiting-for-agent"
        if chat_state == "connected":
            return "connected"
        return "completed"
    if state == "active":
        return "waiting-for-chat" if svc.kind == "request-chat" else "waiting-for-call"
    return state
