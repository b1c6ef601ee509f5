"""Every change to campaigns: validate, change, commit, then publish ``campaigns:<tenant>``
(and wake the dialer when a campaign starts)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import (
    Campaign,
    campaign_dnc_lists,
    campaign_lists,
    default_calling_hours,
    default_retry_minutes,
)
from switchboard.campaigns.schemas import CampaignCreate, CampaignFields
from switchboard.campaigns.service import get_or_raise
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.dnc.models import DncList
from switchboard.lists.models import CallingList
from switchboard.services.models import Service

DIALER_TOPIC = "dialer:wake"


def campaigns_topic(tenant_id: str) -> str:
    return f"campaigns:{tenant_id}"


async def _published(rt: Runtime, tenant_id: str, *, wake: bool = False) -> None:
    await rt.bus.publish(campaigns_topic(tenant_id), "")
    if wake:
        await rt.bus.publish(DIALER_TOPIC, tenant_id)


async def _ids_by_name(
    s: AsyncSession, model: type[CallingList] | type[DncList], tenant_id: str, names: Sequence[str]
) -> list[str]:
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    rows = (
        await s.execute(
            select(model.name, model.id).where(model.tenant_id == tenant_id, model.name.in_(wanted))
        )
    ).all()
    found = {n: i for n, i in rows}
    kind = "Calling list" if model is CallingList else "Do Not Call list"
    for n in wanted:
        if n not in found:
            raise NotFound(f"{kind} not found: {n}")
    return [found[n] for n in wanted]


async def _apply(s: AsyncSession, c: Campaign, data: CampaignFields) -> None:
    given = data.model_fields_set
    for attr in (
        "description",
        "enabled",
        "mode",
        "max_attempts",
        "calling_hours",
        "caller_id",
        "preview_timeout_seconds",
        "wrapup_timeout_seconds",
    ):
        value = getattr(data, attr)
        if attr in given and (value is not None or attr in ("description", "caller_id")):
            setattr(c, attr, value)
    if "required_skills" in given:
        c.required_skills = dict(data.required_skills or {})
    if "time_zone" in given:
        c.timezone = data.time_zone
    if "retry_minutes" in given:
        c.retry_minutes = {**default_retry_minutes(), **(data.retry_minutes or {})}
    if "service" in given:
        c.service_id = None
        if data.service:
            sid = (
                await s.execute(
                    select(Service.id).where(
                        Service.tenant_id == c.tenant_id, Service.name == data.service
                    )
                )
            ).scalar_one_or_none()
            if sid is None:
                raise NotFound(f"Service not found: {data.service}")
            c.service_id = sid
    if "dnc_target_list" in given:
        c.dnc_target_list_id = None
        if data.dnc_target_list:
            target = (
                await s.execute(
                    select(DncList).where(
                        DncList.tenant_id == c.tenant_id, DncList.name == data.dnc_target_list
                    )
                )
            ).scalar_one_or_none()
            if target is None:
                raise NotFound(f"Do Not Call list not found: {data.dnc_target_list}")
            if target.type != "internal":
                raise Invalid("dncTargetList must be an internal Do Not Call list")
            c.dnc_target_list_id = target.id
    await s.flush()
    if data.lists is not None:
        ids = await _ids_by_name(s, CallingList, c.tenant_id, data.lists)
        await s.execute(delete(campaign_lists).where(campaign_lists.c.campaign_id == c.id))
        for pos, list_id in enumerate(ids):
            await s.execute(
                insert(campaign_lists).values(campaign_id=c.id, list_id=list_id, position=pos)
            )
    if data.dnc_lists is not None:
        ids = await _ids_by_name(s, DncList, c.tenant_id, data.dnc_lists)
        await s.execute(delete(campaign_dnc_lists).where(campaign_dnc_lists.c.campaign_id == c.id))
        for dnc_id in ids:
            await s.execute(insert(campaign_dnc_lists).values(campaign_id=c.id, dnc_list_id=dnc_id))
    c.updated_at = utcnow()


async def create(rt: Runtime, *, tenant_id: str, data: CampaignCreate) -> Campaign:
    try:
        async with rt.db.write() as s:
            c = Campaign(
                tenant_id=tenant_id,
                name=data.name,
                state="STOPPED",
                enabled=True if data.enabled is None else data.enabled,
                mode=data.mode or "progressive",
                max_attempts=data.max_attempts or 3,
                calling_hours=default_calling_hours(),
                retry_minutes=default_retry_minutes(),
            )
            s.add(c)
            await s.flush()
            await _apply(s, c, data)
    except IntegrityError as e:
        raise Conflict(f"Campaign already exists: {data.name}") from e
    await _published(rt, tenant_id)
    return c


async def update(rt: Runtime, *, tenant_id: str, name: str, data: CampaignFields) -> Campaign:
    async with rt.db.write() as s:
        c = await get_or_raise(session=s, tenant_id=tenant_id, name=name)
        await _apply(s, c, data)
    await _published(rt, tenant_id, wake=c.state == "RUNNING")
    return c


async def delete_campaign(rt: Runtime, *, tenant_id: str, name: str) -> None:
    """Delete a stopped campaign with its results and attempts (calls still in progress
    end, their agents are freed)."""
    from switchboard.dialer.actions import abandon, open_attempts
    from switchboard.lists.models import CallAttempt

    async with rt.db.write() as s:
        c = await get_or_raise(session=s, tenant_id=tenant_id, name=name)
        if c.state == "RUNNING":
            raise Conflict(f"Campaign {name} is running: stop it first")
        gone = await open_attempts(s, CallAttempt.campaign_id == c.id)
        await s.delete(c)
    await abandon(rt, gone)
    await _published(rt, tenant_id)


async def set_state(rt: Runtime, *, tenant_id: str, name: str, running: bool) -> Campaign:
    """Start or stop a campaign (starting a disabled campaign or one without lists is 409)."""
    async with rt.db.write() as s:
        c = await get_or_raise(session=s, tenant_id=tenant_id, name=name)
        if running:
            if not c.enabled:
                raise Conflict(f"Campaign {name} is disabled")
            bound = await s.execute(
                select(campaign_lists.c.list_id).where(campaign_lists.c.campaign_id == c.id)
            )
            if bound.first() is None:
                raise Conflict(f"Campaign {name} has no calling list")
            if c.state != "RUNNING":
                c.state = "RUNNING"
                c.started_at = utcnow()
        elif c.state != "STOPPED":
            c.state = "STOPPED"
            c.stopped_at = utcnow()
        c.updated_at = utcnow()
    await _published(rt, tenant_id, wake=True)
    return c


async def bind_list(
    rt: Runtime, *, tenant_id: str, campaign: str, list_name: str, bound: bool = True
) -> None:
    async with rt.db.write() as s:
        c = await get_or_raise(session=s, tenant_id=tenant_id, name=campaign)
        (list_id,) = await _ids_by_name(s, CallingList, tenant_id, [list_name])
        exists = (
            await s.execute(
                select(campaign_lists.c.list_id).where(
                    campaign_lists.c.campaign_id == c.id, campaign_lists.c.list_id == list_id
                )
            )
        ).first()
        if bound and exists is None:
            count = len(
                (
                    await s.execute(
                        select(campaign_lists.c.list_id).where(campaign_lists.c.campaign_id == c.id)
                    )
                ).all()
            )
            await s.execute(
                insert(campaign_lists).values(campaign_id=c.id, list_id=list_id, position=count)
            )
        elif not bound and exists is not None:
            await s.execute(
                delete(campaign_lists).where(
                    campaign_lists.c.campaign_id == c.id, campaign_lists.c.list_id == list_id
                )
            )
        c.updated_at = utcnow()
    await _published(rt, tenant_id, wake=True)
