"""Reading skills, services, dispositions and not-ready reasons."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import NOT_READY, AgentSession
from switchboard.campaigns.models import Campaign
from switchboard.chats.models import ChatSession
from switchboard.core.errors import NotFound
from switchboard.scenarios.models import ScenarioEntry
from switchboard.services.models import Disposition, NotReadyReason, Service, Skill
from switchboard.services.schemas import DispositionRead, ReasonRead, ServiceRead, SkillRead
from switchboard.users.models import UserSkill

WAITING_STATES = ("ivr", "queued", "connecting")


async def find_skill(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> Skill:
    stmt = select(Skill).where(
        Skill.tenant_id == tenant_id, (Skill.id == ref) | (Skill.name == ref)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Skill not found: {ref}")
    return found


async def list_skills(*, session: AsyncSession, tenant_id: str) -> Sequence[Skill]:
    stmt = select(Skill).where(Skill.tenant_id == tenant_id).order_by(Skill.name)
    return (await session.execute(stmt)).scalars().all()


async def skill_read(*, session: AsyncSession, skill: Skill) -> SkillRead:
    count = (
        await session.execute(
            select(func.count()).select_from(UserSkill).where(UserSkill.skill_id == skill.id)
        )
    ).scalar_one()
    return SkillRead(id=skill.id, name=skill.name, agents=int(count))


async def find_service(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> Service:
    stmt = select(Service).where(
        Service.tenant_id == tenant_id, (Service.id == ref) | (Service.name == ref)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Service not found: {ref}")
    return found


async def list_services(*, session: AsyncSession, tenant_id: str) -> Sequence[Service]:
    stmt = select(Service).where(Service.tenant_id == tenant_id).order_by(Service.name)
    return (await session.execute(stmt)).scalars().all()


async def waiting_chats(*, session: AsyncSession, service_id: str) -> int:
    stmt = (
        select(func.count())
        .select_from(ChatSession)
        .where(ChatSession.service_id == service_id, ChatSession.state.in_(WAITING_STATES))
    )
    return int((await session.execute(stmt)).scalar_one())


async def campaigns_of(
    *, session: AsyncSession, service_id: str, running_only: bool = False
) -> list[str]:
    stmt = select(Campaign.name).where(Campaign.service_id == service_id)
    if running_only:
        stmt = stmt.where(Campaign.state == "RUNNING")
    return [n for (n,) in (await session.execute(stmt.order_by(Campaign.name))).all()]


async def entries_of(*, session: AsyncSession, service_id: str) -> list[str]:
    stmt = (
        select(ScenarioEntry.app_id)
        .where(ScenarioEntry.service_id == service_id)
        .order_by(ScenarioEntry.app_id)
    )
    return [a for (a,) in (await session.execute(stmt)).all()]


async def service_read(*, session: AsyncSession, service: Service) -> ServiceRead:
    return ServiceRead(
        id=service.id,
        name=service.name,
        media=service.media,
        required_skills=dict(service.required_skills or {}),
        service_level_threshold_seconds=service.service_level_threshold_seconds,
        service_level_target_percent=service.service_level_target_percent,
        short_abandon_seconds=service.short_abandon_seconds,
        acw_timeout_seconds=service.acw_timeout_seconds,
        disposition_required=service.disposition_required,
        relaxation=[dict(r) for r in service.relaxation or []],
        enabled=service.enabled,
        waiting_chats=await waiting_chats(session=session, service_id=service.id),
        entries=await entries_of(session=session, service_id=service.id),
        campaigns=await campaigns_of(session=session, service_id=service.id),
    )


async def find_disposition(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> Disposition:
    stmt = select(Disposition).where(
        Disposition.tenant_id == tenant_id, (Disposition.id == ref) | (Disposition.name == ref)
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt.order_by(Disposition.sort_order))).scalars().all()
    if not found:
        raise NotFound(f"Disposition not found: {ref}")
    if len(found) > 1:
        from switchboard.core.errors import Conflict

        raise Conflict(f"Several dispositions are named {ref}: use the id")
    return found[0]


async def list_dispositions(*, session: AsyncSession, tenant_id: str) -> Sequence[Disposition]:
    stmt = (
        select(Disposition)
        .where(Disposition.tenant_id == tenant_id)
        .order_by(Disposition.sort_order, Disposition.name)
    )
    return (await session.execute(stmt)).scalars().all()


async def disposition_read(*, session: AsyncSession, disposition: Disposition) -> DispositionRead:
    svc = await session.get(Service, disposition.service_id) if disposition.service_id else None
    return DispositionRead(
        id=disposition.id,
        name=disposition.name,
        service=svc.name if svc else None,
        description=disposition.description,
        agent_can_select=disposition.agent_can_select,
        inbound=disposition.inbound,
        outbound=disposition.outbound,
        preview=disposition.preview,
        outcome=disposition.outcome,
        retry_minutes=disposition.retry_minutes,
        sort_order=disposition.sort_order,
    )


async def find_reason(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> NotReadyReason:
    stmt = select(NotReadyReason).where(
        NotReadyReason.tenant_id == tenant_id,
        (NotReadyReason.id == ref) | (NotReadyReason.name == ref),
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Not-ready reason not found: {ref}")
    return found


async def list_reasons(*, session: AsyncSession, tenant_id: str) -> Sequence[NotReadyReason]:
    stmt = (
        select(NotReadyReason)
        .where(NotReadyReason.tenant_id == tenant_id)
        .order_by(NotReadyReason.name)
    )
    return (await session.execute(stmt)).scalars().all()


async def reason_read(*, session: AsyncSession, reason: NotReadyReason) -> ReasonRead:
    count = (
        await session.execute(
            select(func.count())
            .select_from(AgentSession)
            .where(
                AgentSession.tenant_id == reason.tenant_id,
                AgentSession.state == NOT_READY,
                AgentSession.reason == reason.name,
            )
        )
    ).scalar_one()
    return ReasonRead(id=reason.id, name=reason.name, agents=int(count))
