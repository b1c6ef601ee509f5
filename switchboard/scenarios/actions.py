"""Changing hours of operation, scenario entries and access numbers.

One operation, one transaction; each queues ``config:<tenant_id>``, published after the
commit, so every process drops what it cached (the Messaging API's entry cache). A change
that would break chats in progress answers Conflict saying why.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.scenarios import service as svc
from switchboard.scenarios.models import AccessNumber, HoursOfOperation, ScenarioEntry
from switchboard.scenarios.schemas import (
    EntryCreate,
    EntryUpdate,
    HoursCreate,
    HoursUpdate,
    NumberCreate,
    NumberUpdate,
)
from switchboard.services import service as services
from switchboard.services.actions import check_skill_names
from switchboard.tenants.config import config_changed
from switchboard.users.models import User


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---- hours of operation ----------------------------------------------------------------


def _apply_hours(h: HoursOfOperation, data: HoursCreate | HoursUpdate) -> None:
    for field in data.model_fields_set:
        value = getattr(data, field)
        if value is None:
            continue
        if field == "holidays":
            value = [x.model_dump() for x in data.holidays or []]
        setattr(h, field, value)


async def _hours_name_free(
    s: AsyncSession, tenant_id: str, name: str, except_id: str | None
) -> None:
    stmt = select(HoursOfOperation.id).where(
        HoursOfOperation.tenant_id == tenant_id, HoursOfOperation.name == name
    )
    if except_id:
        stmt = stmt.where(HoursOfOperation.id != except_id)
    if (await s.execute(stmt)).first() is not None:
        raise Conflict(f"Hours of operation already exist: {name}", field="name")


async def create_hours(rt: Runtime, *, tenant_id: str, data: HoursCreate) -> HoursOfOperation:
    try:
        async with rt.db.write() as s:
            await _hours_name_free(s, tenant_id, data.name, None)
            h = HoursOfOperation(
                tenant_id=tenant_id, name=data.name, weekly={}, holidays=[], timezone="UTC"
            )
            _apply_hours(h, data)
            s.add(h)
            await s.flush()
            config_changed(s, tenant_id, f"hours:{h.id}")
    except IntegrityError as e:
        raise Conflict(f"Hours of operation already exist: {data.name}", field="name") from e
    return h


async def update_hours(
    rt: Runtime, *, tenant_id: str, ref: str, data: HoursUpdate
) -> HoursOfOperation:
    try:
        async with rt.db.write() as s:
            h = await svc.find_hours(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            if data.name is not None and data.name != h.name:
                await _hours_name_free(s, tenant_id, data.name, h.id)
            _apply_hours(h, data)
            await s.flush()
            config_changed(s, tenant_id, f"hours:{h.id}")
    except IntegrityError as e:
        raise Conflict(f"Hours of operation already exist: {data.name}", field="name") from e
    return h


async def delete_hours(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        h = await svc.find_hours(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        used = (
            await s.execute(
                select(ScenarioEntry.app_id)
                .where(ScenarioEntry.hours_id == h.id)
                .order_by(ScenarioEntry.app_id)
            )
        ).all()
        if used:
            raise Conflict(
                f"Hours {h.name} are used by the scenario entries "
                f"{', '.join(a for (a,) in used)}: give them other hours first"
            )
        await s.delete(h)
        config_changed(s, tenant_id, f"hours:{h.id}")


# ---- scenario entries ------------------------------------------------------------------


async def _apply_entry(
    s: AsyncSession, tenant_id: str, entry: ScenarioEntry, data: EntryCreate | EntryUpdate
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
            entry.service_id = found.id
        else:
            entry.service_id = None
    if "hours" in fields:
        if data.hours:
            try:
                hours = await svc.find_hours(session=s, tenant_id=tenant_id, ref=data.hours)
            except NotFound as e:
                raise Invalid(
                    f"hours: no such hours of operation: {data.hours}", field="hours"
                ) from e
            entry.hours_id = hours.id
        else:
            entry.hours_id = None
    if data.requested_skills is not None:
        await check_skill_names(s, tenant_id, data.requested_skills.keys(), "requestedSkills")
        entry.requested_skills = dict(data.requested_skills)
    if data.expected_parameters is not None:
        entry.expected_parameters = [
            p.model_dump(exclude_none=True) for p in data.expected_parameters
        ]
    if "allowed_origins" in fields:
        entry.allowed_origins = list(dict.fromkeys(data.allowed_origins or []))
    for field in (
        "name",
        "priority",
        "inactivity_timeout_seconds",
        "inactivity_warning_seconds",
        "widget_configuration",
        "auto_callback",
        "enabled",
        "app_id",
    ):
        if field in fields and getattr(data, field) is not None:
            setattr(entry, field, getattr(data, field))
    if (
        "inactivity_timeout_seconds" in fields
        and "inactivity_warning_seconds" not in fields
        and entry.inactivity_warning_seconds >= entry.inactivity_timeout_seconds
    ):
        # the warning follows a shorter timeout: a minute before it
        entry.inactivity_warning_seconds = max(0, entry.inactivity_timeout_seconds - 60)
    if entry.inactivity_warning_seconds >= entry.inactivity_timeout_seconds:
        raise Invalid(
            "inactivityWarningSeconds must be less than inactivityTimeoutSeconds",
            field="inactivityWarningSeconds",
        )


async def _app_id_free(s: AsyncSession, tenant_id: str, app_id: str, except_id: str | None) -> None:
    stmt = select(ScenarioEntry.id).where(
        ScenarioEntry.tenant_id == tenant_id, ScenarioEntry.app_id == app_id
    )
    if except_id:
        stmt = stmt.where(ScenarioEntry.id != except_id)
    if (await s.execute(stmt)).first() is not None:
        raise Conflict(f"Scenario entry already exists: {app_id}", field="appId")


async def create_entry(rt: Runtime, *, tenant_id: str, data: EntryCreate) -> ScenarioEntry:
    try:
        async with rt.db.write() as s:
            await _app_id_free(s, tenant_id, data.app_id, None)
            entry = ScenarioEntry(
                tenant_id=tenant_id,
                app_id=data.app_id,
                name=data.name or data.app_id,
                expected_parameters=[],
                requested_skills={},
                widget_configuration={},
                allowed_origins=[],
                auto_callback=False,
                priority=0,
                inactivity_timeout_seconds=600,
                inactivity_warning_seconds=540,
                enabled=True,
            )
            await _apply_entry(s, tenant_id, entry, data)
            s.add(entry)
            await s.flush()
            config_changed(s, tenant_id, f"entry:{entry.app_id}")
    except IntegrityError as e:
        raise Conflict(f"Scenario entry already exists: {data.app_id}", field="appId") from e
    return entry


async def _refuse_if_live(s: AsyncSession, entry: ScenarioEntry, what: str) -> None:
    live = await svc.chats_of_entry(session=s, entry_id=entry.id)
    if live:
        waiting = await svc.chats_of_entry(session=s, entry_id=entry.id, states=svc.WAITING_STATES)
        raise Conflict(
            f"Scenario entry {entry.app_id} has {_plural(live, 'chat')} in progress "
            f"({waiting} waiting): it cannot be {what} until they end"
        )


async def update_entry(
    rt: Runtime, *, tenant_id: str, ref: str, data: EntryUpdate
) -> ScenarioEntry:
    try:
        async with rt.db.write() as s:
            entry = await svc.find_entry(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            old_app_id = entry.app_id
            if data.app_id is not None and data.app_id != entry.app_id:
                await _app_id_free(s, tenant_id, data.app_id, entry.id)
                # the customers' clients name the entry by its appId on every request
                await _refuse_if_live(s, entry, "given another appId")
            if data.enabled is False and entry.enabled:
                # a disabled entry refuses its customers' requests, polls included
                await _refuse_if_live(s, entry, "disabled")
            await _apply_entry(s, tenant_id, entry, data)
            await s.flush()
            config_changed(s, tenant_id, f"entry:{old_app_id}")
            if entry.app_id != old_app_id:
                config_changed(s, tenant_id, f"entry:{entry.app_id}")
    except IntegrityError as e:
        raise Conflict(f"Scenario entry already exists: {data.app_id}", field="appId") from e
    return entry


async def delete_entry(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        entry = await svc.find_entry(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        await _refuse_if_live(s, entry, "deleted")
        await s.delete(entry)
        config_changed(s, tenant_id, f"entry:{entry.app_id}")


# ---- access numbers ---------------------------------------------------------------------


def _check_number(raw: str, region: str) -> str:
    from switchboard.dnc.phones import normalize

    value = raw.strip()
    if normalize(value, region) is None:
        raise Invalid(f"number: {raw!r} is not a phone number", field="number")
    return value


async def _apply_number(
    s: AsyncSession, tenant_id: str, n: AccessNumber, data: NumberCreate | NumberUpdate
) -> None:
    fields = data.model_fields_set
    if data.media is not None:
        if not data.media.strip() or len(data.media) > 32:
            raise Invalid("media: 1 to 32 characters", field="media")
        n.media = data.media
    if data.type is not None:
        n.type = data.type
    if "entry" in fields and data.entry:
        try:
            entry = await svc.find_entry(session=s, tenant_id=tenant_id, ref=data.entry)
        except NotFound as e:
            raise Invalid(f"entry: no such scenario entry: {data.entry}", field="entry") from e
        n.scenario = entry.app_id
    elif "scenario" in fields:
        n.scenario = data.scenario or None
    elif "entry" in fields:
        n.scenario = None
    if "user" in fields:
        if data.user:
            user = (
                await s.execute(
                    select(User).where(User.tenant_id == tenant_id, User.login_id == data.user)
                )
            ).scalar_one_or_none()
            if user is None:
                raise Invalid(f"user: no such user: {data.user}", field="user")
            n.user_id = user.id
        else:
            n.user_id = None
    if n.type == "user" and n.user_id is None:
        raise Invalid("user: a number of type user needs a user", field="user")
    if n.type == "scenario":
        n.user_id = None
        if not n.scenario:
            raise Invalid("entry: a number of type scenario routes to an entry", field="entry")


async def create_number(rt: Runtime, *, tenant_id: str, data: NumberCreate) -> AccessNumber:
    number = _check_number(data.number, rt.settings.default_phone_region)
    try:
        async with rt.db.write() as s:
            taken = await s.execute(
                select(AccessNumber.id).where(
                    AccessNumber.tenant_id == tenant_id, AccessNumber.number == number
                )
            )
            if taken.first() is not None:
                raise Conflict(f"Access number already exists: {number}", field="number")
            n = AccessNumber(
                tenant_id=tenant_id, number=number, media="voice_text", type="scenario"
            )
            await _apply_number(s, tenant_id, n, data)
            s.add(n)
            await s.flush()
            config_changed(s, tenant_id, f"number:{n.number}")
    except IntegrityError as e:
        raise Conflict(f"Access number already exists: {number}", field="number") from e
    return n


async def update_number(
    rt: Runtime, *, tenant_id: str, ref: str, data: NumberUpdate
) -> AccessNumber:
    async with rt.db.write() as s:
        n = await svc.find_number(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        await _apply_number(s, tenant_id, n, data)
        await s.flush()
        config_changed(s, tenant_id, f"number:{n.number}")
    return n


async def delete_number(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    from switchboard.sms.models import SmsConversation

    async with rt.db.write() as s:
        n = await svc.find_number(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        active = (
            await s.execute(
                select(SmsConversation.id).where(
                    SmsConversation.tenant_id == tenant_id,
                    SmsConversation.access_number == n.number,
                    SmsConversation.active.is_(True),
                )
            )
        ).all()
        if active:
            raise Conflict(
                f"Access number {n.number} carries {_plural(len(active), 'SMS conversation')} "
                "in progress"
            )
        await s.delete(n)
        config_changed(s, tenant_id, f"number:{n.number}")
