"""Reading campaigns, their lists and dispositions, and the outbound statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import Campaign, campaign_dnc_lists, campaign_lists
from switchboard.campaigns.schemas import CampaignRead, CampaignSummary, DispositionRead
from switchboard.core.errors import NotFound
from switchboard.dnc.models import DncList
from switchboard.lists.models import CallAttempt, CallingList
from switchboard.services.models import Disposition, Service


async def get(*, session: AsyncSession, tenant_id: str, name: str) -> Campaign | None:
    stmt = select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_or_raise(*, session: AsyncSession, tenant_id: str, name: str) -> Campaign:
    found = await get(session=session, tenant_id=tenant_id, name=name)
    if found is None:
        raise NotFound(f"Campaign not found: {name}")
    return found


async def list_campaigns(
    *, session: AsyncSession, tenant_id: str, enabled_only: bool = False
) -> Sequence[Campaign]:
    stmt = select(Campaign).where(Campaign.tenant_id == tenant_id)
    if enabled_only:
        stmt = stmt.where(Campaign.enabled.is_(True))
    return (await session.execute(stmt.order_by(Campaign.name))).scalars().all()


async def list_names(*, session: AsyncSession, campaign_id: str) -> list[str]:
    stmt = (
        select(CallingList.name)
        .join(campaign_lists, campaign_lists.c.list_id == CallingList.id)
        .where(campaign_lists.c.campaign_id == campaign_id)
        .order_by(campaign_lists.c.position, CallingList.name)
    )
    return [n for (n,) in (await session.execute(stmt)).all()]


async def list_ids(*, session: AsyncSession, campaign_id: str) -> list[str]:
    stmt = (
        select(campaign_lists.c.list_id)
        .where(campaign_lists.c.campaign_id == campaign_id)
        .order_by(campaign_lists.c.position)
    )
    return [i for (i,) in (await session.execute(stmt)).all()]


async def dnc_list_ids(*, session: AsyncSession, campaign_id: str) -> list[str]:
    stmt = select(campaign_dnc_lists.c.dnc_list_id).where(
        campaign_dnc_lists.c.campaign_id == campaign_id
    )
    return [i for (i,) in (await session.execute(stmt)).all()]


async def summaries(*, session: AsyncSession, tenant_id: str) -> list[CampaignSummary]:
    """``campaign/getAll``: enabled campaigns with their calling lists."""
    out = []
    for c in await list_campaigns(session=session, tenant_id=tenant_id, enabled_only=True):
        out.append(
            CampaignSummary(
                name=c.name,
                state=c.state,
                lists=await list_names(session=session, campaign_id=c.id),
            )
        )
    return out


async def dispositions(*, session: AsyncSession, campaign: Campaign) -> list[Disposition]:
    """Outbound dispositions of the campaign's service, and the tenant-wide ones."""
    cond: ColumnElement[bool] = Disposition.service_id.is_(None)
    if campaign.service_id:
        cond = or_(cond, Disposition.service_id == campaign.service_id)
    stmt = (
        select(Disposition)
        .where(
            Disposition.tenant_id == campaign.tenant_id,
            Disposition.outbound.is_(True),
            cond,
        )
        .order_by(Disposition.sort_order, Disposition.name)
    )
    return list((await session.execute(stmt)).scalars().all())


async def to_read(*, session: AsyncSession, campaign: Campaign) -> CampaignRead:
    service_name = None
    if campaign.service_id:
        service_name = (
            await session.execute(select(Service.name).where(Service.id == campaign.service_id))
        ).scalar_one_or_none()
    dnc_names = (
        await session.execute(
            select(DncList.name)
            .join(campaign_dnc_lists, campaign_dnc_lists.c.dnc_list_id == DncList.id)
            .where(campaign_dnc_lists.c.campaign_id == campaign.id)
            .order_by(DncList.name)
        )
    ).all()
    target = None
    if campaign.dnc_target_list_id:
        target = (
            await session.execute(
                select(DncList.name).where(DncList.id == campaign.dnc_target_list_id)
            )
        ).scalar_one_or_none()
    return CampaignRead(
        name=campaign.name,
        description=campaign.description,
        enabled=campaign.enabled,
        state=campaign.state,
        mode=campaign.mode,
        service=service_name,
        required_skills=dict(campaign.required_skills or {}),
        max_attempts=campaign.max_attempts,
        calling_hours=dict(campaign.calling_hours or {}),
        time_zone=campaign.timezone,
        caller_id=campaign.caller_id,
        retry_minutes=dict(campaign.retry_minutes or {}),
        preview_timeout_seconds=campaign.preview_timeout_seconds,
        wrapup_timeout_seconds=campaign.wrapup_timeout_seconds,
        lists=await list_names(session=session, campaign_id=campaign.id),
        dnc_lists=[n for (n,) in dnc_names],
        dnc_target_list=target,
        dispositions=[
            DispositionRead(name=d.name, outcome=d.outcome, retry_minutes=d.retry_minutes)
            for d in await dispositions(session=session, campaign=campaign)
        ],
        started_at=campaign.started_at,
        stopped_at=campaign.stopped_at,
    )


@dataclass(frozen=True)
class OutboundTotals:
    """Counters over attempts in a time range (for the ``out_calls_*`` statistics)."""

    attempted: int  # records taken by the dialer (including DNC hits and skips)
    dialed: int  # calls placed
    answered: int  # answered by the called party
    handled: int  # answered and connected to an agent
    busy: int
    no_answer: int
    invalid: int
    dnc_blocked: int
    skipped: int
    talk_seconds: int
    dialing_seconds: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _columns() -> list[Any]:
    def count(*c: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*c), 1), else_=0)), 0)

    return [
        func.count(),
        count(CallAttempt.call_attempted.is_(True)),
        count(CallAttempt.outcome == "answer"),
        count(CallAttempt.outcome == "answer", CallAttempt.agent_user_id.is_not(None)),
        count(CallAttempt.outcome == "busy"),
        count(CallAttempt.outcome == "no_answer"),
        count(CallAttempt.outcome == "invalid"),
        count(CallAttempt.outcome == "dnc"),
        count(CallAttempt.outcome == "skipped"),
        func.coalesce(func.sum(CallAttempt.call_duration), 0),
        func.coalesce(func.sum(CallAttempt.dialing_duration), 0),
    ]


def _window(tenant_id: str, since: datetime, until: datetime | None) -> list[Any]:
    conds: list[Any] = [CallAttempt.tenant_id == tenant_id, CallAttempt.created_at >= since]
    if until is not None:
        conds.append(CallAttempt.created_at < until)
    return conds


async def outbound_totals(
    *,
    session: AsyncSession,
    tenant_id: str,
    since: datetime,
    until: datetime | None = None,
    campaign_id: str | None = None,
    agent_user_id: str | None = None,
) -> OutboundTotals:
    """Counts of attempts created in ``[since, until)``, optionally for one campaign or
    agent. Statistics can call this per interval, or group the same columns themselves:
    ``outbound_attempts(tenant_id, created_at, campaign_id, agent_user_id, outcome,
    call_attempted, call_duration, dialing_duration)``, indexed by time."""
    conds = _window(tenant_id, since, until)
    if campaign_id is not None:
        conds.append(CallAttempt.campaign_id == campaign_id)
    if agent_user_id is not None:
        conds.append(CallAttempt.agent_user_id == agent_user_id)
    row = (await session.execute(select(*_columns()).where(*conds))).one()
    return OutboundTotals(*(int(v or 0) for v in row))


async def outbound_totals_by(
    *,
    session: AsyncSession,
    tenant_id: str,
    since: datetime,
    until: datetime | None = None,
    by: Literal["service", "campaign", "agent"] = "service",
) -> dict[str | None, OutboundTotals]:
    """The same counters grouped by the campaign's service id, the campaign id, or the
    agent's user id (one query; e.g. ``out_calls_*_per_day`` of the service grid)."""
    key: Any = {
        "service": Campaign.service_id,
        "campaign": CallAttempt.campaign_id,
        "agent": CallAttempt.agent_user_id,
    }[by]
    stmt = select(key, *_columns()).where(*_window(tenant_id, since, until))
    if by == "service":
        stmt = stmt.join(Campaign, Campaign.id == CallAttempt.campaign_id)
    rows = (await session.execute(stmt.group_by(key))).all()
    return {row[0]: OutboundTotals(*(int(v or 0) for v in row[1:])) for row in rows}
