"""Reading hours of operation, scenario entries and access numbers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.chats.models import ChatSession
from switchboard.core.db import utcnow
from switchboard.core.errors import NotFound
from switchboard.scenarios.models import AccessNumber, HoursOfOperation, ScenarioEntry
from switchboard.scenarios.schemas import EntryRead, HoursRead, NumberRead
from switchboard.services.models import Service
from switchboard.users.models import User

WAITING_STATES = ("ivr", "queued", "connecting")
LIVE_STATES = ("ivr", "queued", "connecting", "connected")


async def find_hours(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> HoursOfOperation:
    stmt = select(HoursOfOperation).where(
        HoursOfOperation.tenant_id == tenant_id,
        (HoursOfOperation.id == ref) | (HoursOfOperation.name == ref),
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Hours of operation not found: {ref}")
    return found


async def list_hours(*, session: AsyncSession, tenant_id: str) -> Sequence[HoursOfOperation]:
    stmt = (
        select(HoursOfOperation)
        .where(HoursOfOperation.tenant_id == tenant_id)
        .order_by(HoursOfOperation.name)
    )
    return (await session.execute(stmt)).scalars().all()


async def hours_read(*, session: AsyncSession, hours: HoursOfOperation) -> HoursRead:
    from switchboard.chats.hours import is_open

    users = (
        await session.execute(
            select(ScenarioEntry.app_id)
            .where(ScenarioEntry.hours_id == hours.id)
            .order_by(ScenarioEntry.app_id)
        )
    ).all()
    return HoursRead(
        id=hours.id,
        name=hours.name,
        timezone=hours.timezone,
        always_open=hours.always_open,
        weekly=dict(hours.weekly or {}),
        holidays=list(hours.holidays or []),
        open_now=is_open(hours, utcnow()),
        entries=[a for (a,) in users],
    )


async def find_entry(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> ScenarioEntry:
    stmt = select(ScenarioEntry).where(
        ScenarioEntry.tenant_id == tenant_id,
        (ScenarioEntry.app_id == ref) | (ScenarioEntry.id == ref),
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Scenario entry not found: {ref}")
    return found


async def list_entries(*, session: AsyncSession, tenant_id: str) -> Sequence[ScenarioEntry]:
    stmt = (
        select(ScenarioEntry)
        .where(ScenarioEntry.tenant_id == tenant_id)
        .order_by(ScenarioEntry.app_id)
    )
    return (await session.execute(stmt)).scalars().all()


async def chats_of_entry(
    *, session: AsyncSession, entry_id: str, states: tuple[str, ...] = LIVE_STATES
) -> int:
    stmt = (
        select(func.count())
        .select_from(ChatSession)
        .where(ChatSession.entry_id == entry_id, ChatSession.state.in_(states))
    )
    return int((await session.execute(stmt)).scalar_one())


async def entry_read(*, session: AsyncSession, entry: ScenarioEntry) -> EntryRead:
    service = await session.get(Service, entry.service_id) if entry.service_id else None
    hours = await session.get(HoursOfOperation, entry.hours_id) if entry.hours_id else None
    return EntryRead(
        id=entry.id,
        app_id=entry.app_id,
        name=entry.name,
        service=service.name if service else None,
        hours=hours.name if hours else None,
        expected_parameters=list(entry.expected_parameters or []),
        requested_skills=dict(entry.requested_skills or {}),
        priority=entry.priority,
        inactivity_timeout_seconds=entry.inactivity_timeout_seconds,
        inactivity_warning_seconds=entry.inactivity_warning_seconds,
        widget_configuration=dict(entry.widget_configuration or {}),
        allowed_origins=list(entry.allowed_origins or []),
        auto_callback=bool(entry.auto_callback),
        enabled=entry.enabled,
        waiting_chats=await chats_of_entry(
            session=session, entry_id=entry.id, states=WAITING_STATES
        ),
    )


async def find_number(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> AccessNumber:
    stmt = select(AccessNumber).where(
        AccessNumber.tenant_id == tenant_id,
        (AccessNumber.number == ref) | (AccessNumber.id == ref),
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Access number not found: {ref}")
    return found


async def list_numbers(*, session: AsyncSession, tenant_id: str) -> Sequence[AccessNumber]:
    stmt = (
        select(AccessNumber)
        .where(AccessNumber.tenant_id == tenant_id)
        .order_by(AccessNumber.number)
    )
    return (await session.execute(stmt)).scalars().all()


async def number_read(*, session: AsyncSession, number: AccessNumber) -> NumberRead:
    entry: str | None = None
    if number.scenario:
        found = (
            await session.execute(
                select(ScenarioEntry.app_id).where(
                    ScenarioEntry.tenant_id == number.tenant_id,
                    ScenarioEntry.app_id == number.scenario,
                )
            )
        ).first()
        entry = found[0] if found else None
    user = await session.get(User, number.user_id) if number.user_id else None
    return NumberRead(
        id=number.id,
        number=number.number,
        media=number.media,
        type=number.type,
        entry=entry,
        scenario=number.scenario,
        user=user.login_id if user else None,
    )
