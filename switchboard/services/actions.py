"""Changing skills, services, dispositions and not-ready reasons.

One operation, one transaction; each queues ``config:<tenant_id>`` to be published after
the commit. A change that would break live work (waiting chats, a running campaign)
raises Conflict saying why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import Campaign
from switchboard.chats.models import ChatSession
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.services import service as svc
from switchboard.services.models import Disposition, NotReadyReason, Service, Skill
from switchboard.services.schemas import (
    DispositionCreate,
    DispositionUpdate,
    ReasonCreate,
    ReasonUpdate,
    ServiceCreate,
    ServiceUpdate,
    SkillCreate,
    SkillUpdate,
)
from switchboard.tenants.config import config_changed


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


async def check_skill_names(
    s: AsyncSession, tenant_id: str, names: Iterable[str], field: str
) -> None:
    """Invalid naming ``field`` when a skill name is not one of the tenant's skills."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    found = {
        n
        for (n,) in (
            await s.execute(
                select(Skill.name).where(Skill.tenant_id == tenant_id, Skill.name.in_(wanted))
            )
        ).all()
    }
    missing = [n for n in wanted if n not in found]
    if missing:
        raise Invalid(f"{field}: no such skill: {', '.join(missing)}", field=field)


async def _name_free(
    s: AsyncSession, model: Any, tenant_id: str, name: str, except_id: str | None
) -> None:
    stmt = select(model.id).where(model.tenant_id == tenant_id, model.name == name)
    if except_id is not None:
        stmt = stmt.where(model.id != except_id)
    if (await s.execute(stmt)).first() is not None:
        raise Conflict(f"{model.__name__} already exists: {name}", field="name")


# ---- skills ----------------------------------------------------------------------------


async def create_skill(rt: Runtime, *, tenant_id: str, data: SkillCreate) -> Skill:
    try:
        async with rt.db.write() as s:
            await _name_free(s, Skill, tenant_id, data.name, None)
            skill = Skill(tenant_id=tenant_id, name=data.name)
            s.add(skill)
            await s.flush()
            config_changed(s, tenant_id, f"skill:{skill.id}")
    except IntegrityError as e:
        raise Conflict(f"Skill already exists: {data.name}", field="name") from e
    return skill


async def _chats_requesting(s: AsyncSession, tenant_id: str, skill: str) -> int:
    rows = await s.execute(
        select(ChatSession.requested_skills).where(
            ChatSession.tenant_id == tenant_id, ChatSession.state.in_(svc.WAITING_STATES)
        )
    )
    return sum(1 for (req,) in rows.all() if skill in (req or {}))


async def _skill_users(s: AsyncSession, tenant_id: str, skill: str) -> dict[str, list[Any]]:
    """Services, entries and campaigns whose skill requirements name ``skill``."""
    out: dict[str, list[Any]] = {"services": [], "entries": [], "campaigns": []}
    for key, model, col in (
        ("services", Service, "required_skills"),
        ("entries", ScenarioEntry, "requested_skills"),
        ("campaigns", Campaign, "required_skills"),
    ):
        rows = (await s.execute(select(model).where(model.tenant_id == tenant_id))).scalars()
        out[key] = [r for r in rows if skill in (getattr(r, col) or {})]
    return out


async def update_skill(rt: Runtime, *, tenant_id: str, ref: str, data: SkillUpdate) -> Skill:
    """Rename a skill; the services, entries and campaigns requiring it follow."""
    try:
        async with rt.db.write() as s:
            skill = await svc.find_skill(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            old = skill.name
            if data.name != old:
                await _name_free(s, Skill, tenant_id, data.name, skill.id)
                waiting = await _chats_requesting(s, tenant_id, old)
                if waiting:
                    raise Conflict(
                        f"{_plural(waiting, 'waiting chat')} request skill {old}: "
                        "rename it when they have been answered"
                    )
                users = await _skill_users(s, tenant_id, old)
                for key, col in (
                    ("services", "required_skills"),
                    ("entries", "requested_skills"),
                    ("campaigns", "required_skills"),
                ):
                    for row in users[key]:
                        levels = dict(getattr(row, col) or {})
                        levels[data.name] = levels.pop(old)
                        setattr(row, col, levels)
                skill.name = data.name
            await s.flush()
            config_changed(s, tenant_id, f"skill:{skill.id}")
    except IntegrityError as e:
        raise Conflict(f"Skill already exists: {data.name}", field="name") from e
    return skill


async def delete_skill(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        skill = await svc.find_skill(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        users = await _skill_users(s, tenant_id, skill.name)
        named = [
            f"{key} " + ", ".join(getattr(r, "app_id", None) or r.name for r in rows)
            for key, rows in users.items()
            if rows
        ]
        if named:
            raise Conflict(f"Skill {skill.name} is required by " + "; ".join(named))
        waiting = await _chats_requesting(s, tenant_id, skill.name)
        if waiting:
            raise Conflict(f"{_plural(waiting, 'waiting chat')} request skill {skill.name}")
        await s.delete(skill)
        config_changed(s, tenant_id, f"skill:{skill.id}")


# ---- services --------------------------------------------------------------------------


def _apply_service(service: Service, data: ServiceCreate | ServiceUpdate) -> None:
    for field in data.model_fields_set:
        value = getattr(data, field)
        if value is None and field != "name":
            continue
        if field == "relaxation":
            value = [r.model_dump() for r in data.relaxation or []]
        if value is not None:
            setattr(service, field, value)


async def create_service(rt: Runtime, *, tenant_id: str, data: ServiceCreate) -> Service:
    try:
        async with rt.db.write() as s:
            await _name_free(s, Service, tenant_id, data.name, None)
            await check_skill_names(
                s, tenant_id, (data.required_skills or {}).keys(), "requiredSkills"
            )
            service = Service(tenant_id=tenant_id, name=data.name)
            _apply_service(service, data)
            s.add(service)
            await s.flush()
            config_changed(s, tenant_id, f"service:{service.id}")
    except IntegrityError as e:
        raise Conflict(f"Service already exists: {data.name}", field="name") from e
    return service


async def update_service(rt: Runtime, *, tenant_id: str, ref: str, data: ServiceUpdate) -> Service:
    try:
        async with rt.db.write() as s:
            service = await svc.find_service(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            if data.name is not None and data.name != service.name:
                await _name_free(s, Service, tenant_id, data.name, service.id)
            if data.required_skills is not None:
                await check_skill_names(s, tenant_id, data.required_skills.keys(), "requiredSkills")
            disabling = data.enabled is False and service.enabled
            new_media = data.media is not None and data.media != service.media
            if disabling or new_media:
                what = "disabled" if disabling else "given another media"
                waiting = await svc.waiting_chats(session=s, service_id=service.id)
                if waiting:
                    raise Conflict(
                        f"Service {service.name} has {_plural(waiting, 'waiting chat')}: "
                        f"it cannot be {what} until they are answered"
                    )
                running = await svc.campaigns_of(
                    session=s, service_id=service.id, running_only=True
                )
                if running:
                    raise Conflict(
                        f"Service {service.name} is used by the running campaign "
                        f"{', '.join(running)}: stop it before the service is {what}"
                    )
            _apply_service(service, data)
            await s.flush()
            config_changed(s, tenant_id, f"service:{service.id}")
    except IntegrityError as e:
        raise Conflict(f"Service already exists: {data.name}", field="name") from e
    return service


async def delete_service(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        service = await svc.find_service(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        waiting = await svc.waiting_chats(session=s, service_id=service.id)
        if waiting:
            raise Conflict(f"Service {service.name} has {_plural(waiting, 'waiting chat')}")
        running = await svc.campaigns_of(session=s, service_id=service.id, running_only=True)
        if running:
            raise Conflict(
                f"Service {service.name} is used by the running campaign {', '.join(running)}"
            )
        entries = await svc.entries_of(session=s, service_id=service.id)
        if entries:
            raise Conflict(
                f"Service {service.name} is the service of the scenario entries "
                f"{', '.join(entries)}: give them another service first"
            )
        campaigns = await svc.campaigns_of(session=s, service_id=service.id)
        if campaigns:
            raise Conflict(
                f"Service {service.name} is the service of the campaigns {', '.join(campaigns)}"
            )
        await s.delete(service)
        config_changed(s, tenant_id, f"service:{service.id}")


# ---- dispositions ----------------------------------------------------------------------


async def _disposition_name_free(
    s: AsyncSession, tenant_id: str, service_id: str | None, name: str, except_id: str | None
) -> None:
    stmt = select(Disposition.id).where(
        Disposition.tenant_id == tenant_id,
        Disposition.name == name,
        Disposition.service_id.is_(None)
        if service_id is None
        else Disposition.service_id == service_id,
    )
    if except_id is not None:
        stmt = stmt.where(Disposition.id != except_id)
    if (await s.execute(stmt)).first() is not None:
        raise Conflict(f"Disposition already exists: {name}", field="name")


def _apply_disposition(d: Disposition, data: DispositionCreate | DispositionUpdate) -> None:
    for field in data.model_fields_set - {"service"}:
        value = getattr(data, field)
        if value is None and field not in ("description", "retry_minutes"):
            continue
        setattr(d, field, value)
    if d.outcome == "retry" and not d.retry_minutes:
        raise Invalid("retryMinutes is required when the outcome is retry", field="retryMinutes")


async def _service_id(s: AsyncSession, tenant_id: str, ref: str | None) -> str | None:
    if not ref:
        return None
    try:
        return (await svc.find_service(session=s, tenant_id=tenant_id, ref=ref)).id
    except NotFound as e:
        raise Invalid(f"service: no such service: {ref}", field="service") from e


async def create_disposition(
    rt: Runtime, *, tenant_id: str, data: DispositionCreate
) -> Disposition:
    try:
        async with rt.db.write() as s:
            service_id = await _service_id(s, tenant_id, data.service)
            await _disposition_name_free(s, tenant_id, service_id, data.name, None)
            d = Disposition(tenant_id=tenant_id, service_id=service_id, name=data.name)
            _apply_disposition(d, data)
            s.add(d)
            await s.flush()
            config_changed(s, tenant_id, f"disposition:{d.id}")
    except IntegrityError as e:
        raise Conflict(f"Disposition already exists: {data.name}", field="name") from e
    return d


async def update_disposition(
    rt: Runtime, *, tenant_id: str, ref: str, data: DispositionUpdate
) -> Disposition:
    try:
        async with rt.db.write() as s:
            d = await svc.find_disposition(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            if "service" in data.model_fields_set:
                d.service_id = await _service_id(s, tenant_id, data.service)
            name = data.name or d.name
            await _disposition_name_free(s, tenant_id, d.service_id, name, d.id)
            _apply_disposition(d, data)
            await s.flush()
            config_changed(s, tenant_id, f"disposition:{d.id}")
    except IntegrityError as e:
        raise Conflict(f"Disposition already exists: {data.name}", field="name") from e
    return d


async def delete_disposition(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        d = await svc.find_disposition(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        await s.delete(d)
        config_changed(s, tenant_id, f"disposition:{d.id}")


# ---- not-ready reasons -----------------------------------------------------------------


async def create_reason(rt: Runtime, *, tenant_id: str, data: ReasonCreate) -> NotReadyReason:
    try:
        async with rt.db.write() as s:
            await _name_free(s, NotReadyReason, tenant_id, data.name, None)
            reason = NotReadyReason(tenant_id=tenant_id, name=data.name)
            s.add(reason)
            await s.flush()
            config_changed(s, tenant_id, f"reason:{reason.id}")
    except IntegrityError as e:
        raise Conflict(f"Not-ready reason already exists: {data.name}", field="name") from e
    return reason


async def update_reason(
    rt: Runtime, *, tenant_id: str, ref: str, data: ReasonUpdate
) -> NotReadyReason:
    try:
        async with rt.db.write() as s:
            reason = await svc.find_reason(session=s, tenant_id=tenant_id, ref=ref, lock=True)
            if data.name != reason.name:
                await _name_free(s, NotReadyReason, tenant_id, data.name, reason.id)
                reason.name = data.name
            await s.flush()
            config_changed(s, tenant_id, f"reason:{reason.id}")
    except IntegrityError as e:
        raise Conflict(f"Not-ready reason already exists: {data.name}", field="name") from e
    return reason


async def delete_reason(rt: Runtime, *, tenant_id: str, ref: str) -> None:
    async with rt.db.write() as s:
        reason = await svc.find_reason(session=s, tenant_id=tenant_id, ref=ref, lock=True)
        await s.delete(reason)
        config_changed(s, tenant_id, f"reason:{reason.id}")
