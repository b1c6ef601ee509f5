"""Every state change of GMS services and storage entries.

Each function validates (400 for bad parameters), opens one short write transaction,
locks what it changes, commits, and then publishes ``gms_topic(tenant_id)`` on the bus
with the id of what changed. Files of storage entries are written before the
transaction that records them and removed again when it fails.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import new_id, utcnow
from switchboard.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
)
from switchboard.core.runtime import Runtime
from switchboard.gms import callbacks, files, service
from switchboard.gms.config import gms_settings
from switchboard.gms.models import GmsChat, GmsService, GmsStorageEntry
from switchboard.gms.schemas import Params
from switchboard.gms.values import boolean, digits, expiration, iso, parse_time, phone
from switchboard.scenarios.models import AccessNumber

log = logging.getLogger(__name__)

INTERACTION_KINDS = ("request-interaction", "request-access")


def gms_topic(tenant_id: str) -> str:
    return f"gms:{tenant_id}"


async def _publish(rt: Runtime, tenant_id: str, object_id: str) -> None:
    await rt.bus.publish(gms_topic(tenant_id), object_id)


def _not_found(service_id: str) -> NotFound:
    return NotFound(f"Service not found: {service_id}")


# ---- storage ---------------------------------------------------------------------------


def _size(values: dict[str, str], metas: dict[str, dict[str, Any]]) -> int:
    return sum(len(k) + len(v.encode()) for k, v in values.items()) + sum(
        int(m.get("size", 0)) for m in metas.values()
    )


def _check_size(rt: Runtime, size: int) -> None:
    limit = rt.settings.max_upload_bytes
    if size > limit:
        raise TooLarge(f"The stored data exceeds {limit} bytes")


class QuotaExceeded(DomainError):
    status = 507
    kind = "insufficient_storage"


async def _check_quota(
    rt: Runtime, s: AsyncSession, *, tenant_id: str, adding: int, new_entry: bool, now: datetime
) -> None:
    """The tenant's live storage stays within ``max_entries_per_tenant`` entries and
    ``max_bytes_per_tenant`` bytes (concurrent writers may overshoot by a request)."""
    cfg = gms_settings(rt)
    count, total = (
        await s.execute(
            select(func.count(), func.coalesce(func.sum(GmsStorageEntry.size), 0)).where(
                GmsStorageEntry.tenant_id == tenant_id, GmsStorageEntry.expires_at > now
            )
        )
    ).one()
    if new_entry and int(count) >= cfg.max_entries_per_tenant:
        raise QuotaExceeded("The tenant's GMS storage is full (entries)")
    if adding > 0 and int(total) + adding > cfg.max_bytes_per_tenant:
        raise QuotaExceeded("The tenant's GMS storage is full (bytes)")


def _check_keys(data: Params) -> None:
    for key in [*data.fields, *(f.key for f in data.files)]:
        if not key or len(key) > 255:
            raise Invalid("Keys must be 1-255 characters")


async def _new_entry(
    rt: Runtime,
    s: AsyncSession,
    *,
    tenant_id: str,
    entry_id: str,
    data: Params,
    metas: dict[str, dict[str, Any]],
    expires_at: datetime,
    now: datetime,
) -> GmsStorageEntry:
    values = {k: v for k, v in data.fields.items() if k not in metas}
    await _check_quota(
        rt, s, tenant_id=tenant_id, adding=_size(values, metas), new_entry=True, now=now
    )
    entry = GmsStorageEntry(
        id=entry_id,
        tenant_id=tenant_id,
        values=values,
        files=metas,
        size=_size(values, metas),
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    s.add(entry)
    await s.flush()
    return entry


async def create_entry(
    rt: Runtime, *, tenant_id: str, ttl_seconds: int, data: Params
) -> GmsStorageEntry:
    """``POST /genesys/1/storage/{ttl}``: a new entry that expires after ``ttl``."""
    _check_keys(data)
    entry_id = new_id()
    metas = await files.write(rt, tenant_id=tenant_id, entry_id=entry_id, uploads=data.files)
    now = utcnow()
    try:
        _check_size(rt, _size(data.fields, metas))
        async with rt.db.write() as s:
            entry = await _new_entry(
                rt,
                s,
                tenant_id=tenant_id,
                entry_id=entry_id,
                data=data,
                metas=metas,
                expires_at=now + timedelta(seconds=ttl_seconds),
                now=now,
            )
    except BaseException:
        files.remove_entry(rt, tenant_id, entry_id)
        raise
    await _publish(rt, tenant_id, entry.id)
    return entry


async def update_entry(
    rt: Runtime, *, tenant_id: str, entry_id: str, ttl_seconds: int, data: Params
) -> GmsStorageEntry:
    """``POST /genesys/1/storage/{id}/{ttl}``: add or replace keys; the TTL starts anew."""
    _check_keys(data)
    metas = await files.write(rt, tenant_id=tenant_id, entry_id=entry_id, uploads=data.files)
    replaced: list[dict[str, Any]] = []
    now = utcnow()
    try:
        async with rt.db.write() as s:
            entry = await _lock_entry(s, tenant_id, entry_id, now)
            values = dict(entry.values or {})
            stored = dict(entry.files or {})
            for key, value in data.fields.items():
                if key in stored:
                    replaced.append(stored.pop(key))
                values[key] = value
            for key, meta in metas.items():
                if key in stored:
                    replaced.append(stored[key])
                values.pop(key, None)
                stored[key] = meta
            size = _size(values, stored)
            _check_size(rt, size)
            await _check_quota(
                rt, s, tenant_id=tenant_id, adding=size - entry.size, new_entry=False, now=now
            )
            entry.values = values
            entry.files = stored
            entry.size = size
            entry.expires_at = now + timedelta(seconds=ttl_seconds)
            entry.updated_at = now
    except BaseException:
        files.remove(list(metas.values()), rt)
        raise
    files.remove(replaced, rt)
    await _publish(rt, tenant_id, entry_id)
    return entry


async def _lock_entry(
    s: AsyncSession, tenant_id: str, entry_id: str, now: datetime
) -> GmsStorageEntry:
    stmt = (
        select(GmsStorageEntry)
        .where(GmsStorageEntry.id == entry_id, GmsStorageEntry.tenant_id == tenant_id)
        .with_for_update()
    )
    entry = (await s.execute(stmt)).scalar_one_or_none()
    if entry is None or entry.expires_at <= now:
        raise NotFound(f"Storage entry not found: {entry_id}")
    return entry


async def delete_entry(
    rt: Runtime, *, tenant_id: str, entry_id: str, key: str | None = None
) -> None:
    """Delete the entry, or only one of its keys."""
    now = utcnow()
    removed: list[dict[str, Any]] = []
    async with rt.db.write() as s:
        entry = await _lock_entry(s, tenant_id, entry_id, now)
        if key is None:
            await s.delete(entry)
        else:
            values = dict(entry.values or {})
            stored = dict(entry.files or {})
            if key in values:
                values.pop(key)
            elif key in stored:
                removed.append(stored.pop(key))
            else:
                raise NotFound(f"Key not found: {key}")
            entry.values = values
            entry.files = stored
            entry.size = _size(values, stored)
            entry.updated_at = now
    if key is None:
        files.remove_entry(rt, tenant_id, entry_id)
    else:
        files.remove(removed, rt)
    await _publish(rt, tenant_id, entry_id)


# ---- creating services ---------------------------------------------------------------


async def _with_user_data(
    rt: Runtime,
    *,
    tenant_id: str,
    data: Params,
    expires_at: datetime,
    build: Any,
) -> GmsService:
    """Store the user data and run ``build(session, data_id, now)`` in one transaction
    (retried on a unique-key collision: a concurrent request took the same code)."""
    _check_keys(data)
    entry_id = new_id()
    metas = await files.write(rt, tenant_id=tenant_id, entry_id=entry_id, uploads=data.files)
    grace = timedelta(seconds=gms_settings(rt).user_data_grace_seconds)
    try:
        _check_size(rt, _size(data.fields, metas))
        for attempt in range(6):
            now = utcnow()
            try:
                async with rt.db.write() as s:
                    await _new_entry(
                        rt,
                        s,
                        tenant_id=tenant_id,
                        entry_id=entry_id,
                        data=data,
                        metas=metas,
                        expires_at=max(expires_at, now) + grace,
                        now=now,
                    )
                    svc: GmsService = await build(s, entry_id, now)
                    s.add(svc)
                    await s.flush()
                break
            except sa_exc.IntegrityError:
                if attempt == 5:
                    raise Unavailable("No access code could be allocated") from None
    except BaseException:
        files.remove_entry(rt, tenant_id, entry_id)
        raise
    await _publish(rt, tenant_id, svc.id)
    return svc


# access-number media a caller can dial (text-only numbers carry SMS, not calls)
VOICE_MEDIA = ("voice", "voice_text")


async def _numbers(s: AsyncSession, tenant_id: str) -> Sequence[AccessNumber]:
    stmt = (
        select(AccessNumber)
        .where(
            AccessNumber.tenant_id == tenant_id,
            AccessNumber.type == "scenario",
            AccessNumber.media.in_(VOICE_MEDIA),
        )
        .order_by(AccessNumber.number)
    )
    return (await s.execute(stmt)).scalars().all()


async def _pick_number(s: AsyncSession, tenant_id: str, group: str | None, now: datetime) -> str:
    """The least busy access number (of the ``_resource_group`` when given)."""
    numbers = list(await _numbers(s, tenant_id))
    if group is not None:
        numbers = [n for n in numbers if (n.scenario or "").lower() == group.lower()]
        if not numbers:
            raise Invalid(f"Unknown _resource_group: {group}")
    if not numbers:
        raise Unavailable("No access number is configured for this tenant")
    stmt = (
        select(GmsService.access_number, func.count())
        .where(
            GmsService.tenant_id == tenant_id,
            GmsService.state == "active",
            GmsService.expires_at > now,
            GmsService.access_number.in_([n.number for n in numbers]),
        )
        .group_by(GmsService.access_number)
    )
    load = {str(num): int(count) for num, count in (await s.execute(stmt)).all()}
    return min(numbers, key=lambda n: (load.get(n.number, 0), n.number)).number


async def _pick_code(
    s: AsyncSession, tenant_id: str, number: str, now: datetime, code_digits: int
) -> str:
    """A code not in use on ``number`` (expired codes are released first)."""
    await s.execute(
        update(GmsService)
        .where(
            GmsService.tenant_id == tenant_id,
            GmsService.access_number == number,
            GmsService.access_code.is_not(None),
            GmsService.expires_at <= now,
        )
        .values(access_code=None)
        .execution_options(synchronize_session=False)
    )
    taken = set(
        (
            await s.execute(
                select(GmsService.access_code).where(
                    GmsService.tenant_id == tenant_id,
                    GmsService.access_number == number,
                    GmsService.access_code.is_not(None),
                )
            )
        )
        .scalars()
        .all()
    )
    space = 10**code_digits
    if len(taken) >= space // 2:
        raise Unavailable("No access code is available on this number right now")
    while True:
        code = f"{secrets.randbelow(space):0{code_digits}d}"
        if code not in taken:
            return code


async def request_interaction(
    rt: Runtime, *, tenant_id: str, name: str, params: Params
) -> GmsService:
    """``request-interaction`` / ``request-access``: an access number (and a code with
    ``_provide_code``; request-access provides one unless ``_provide_code=false``),
    valid until ``_expiration_time``; the user data is stored."""
    cfg = gms_settings(rt)
    now = utcnow()
    number_to_call = phone("_phone_number", params.get("_phone_number"))
    provide = boolean(
        "_provide_code", params.get("_provide_code"), default=name == "request-access"
    )
    expires = expiration(
        "_expiration_time",
        params.get("_expiration_time"),
        now=now,
        default=cfg.default_expiration_seconds,
        limit=cfg.max_expiration_seconds,
    )
    group = params.get("_resource_group")

    async def build(s: AsyncSession, data_id: str, at: datetime) -> GmsService:
        number = await _pick_number(s, tenant_id, group, at)
        code = (
            await _pick_code(s, tenant_id, number, at, cfg.access_code_digits) if provide else None
        )
        return GmsService(
            tenant_id=tenant_id,
            name=name,
            kind=name,
            state="active",
            parameters=params.service_params(),
            data_id=data_id,
            phone_digits=digits(number_to_call) if number_to_call else None,
            access_number=number,
            access_code=code,
            expires_at=expires,
            created_at=at,
            updated_at=at,
        )

    return await _with_user_data(
        rt, tenant_id=tenant_id, data=params.user_data(), expires_at=expires, build=build
    )


async def request_chat(
    rt: Runtime, *, tenant_id: str, params: Params, default_service: str | None
) -> GmsService:
    """``request-chat``: the chat service (scenario entry appId) to create the chat on."""
    cfg = gms_settings(rt)
    now = utcnow()
    app_id = params.get("_chat_service") or default_service
    if app_id is None:
        raise Unavailable("No chat service is configured for this tenant")
    async with rt.db.read() as s:
        entry = await service.get_scenario_entry(session=s, tenant_id=tenant_id, app_id=app_id)
    if entry is None or not entry.enabled:
        raise Invalid(f"Unknown _chat_service: {app_id}")
    expires = expiration(
        "_expiration_time",
        params.get("_expiration_time"),
        now=now,
        default=cfg.default_expiration_seconds,
        limit=cfg.max_expiration_seconds,
    )

    async def build(_s: AsyncSession, data_id: str, at: datetime) -> GmsService:
        return GmsService(
            tenant_id=tenant_id,
            name="request-chat",
            kind="request-chat",
            state="active",
            parameters=params.service_params(),
            data_id=data_id,
            chat_service=app_id,
            expires_at=expires,
            created_at=at,
            updated_at=at,
        )

    return await _with_user_data(
        rt, tenant_id=tenant_id, data=params.user_data(), expires_at=expires, build=build
    )


async def create_callback(rt: Runtime, *, tenant_id: str, name: str, params: Params) -> GmsService:
    """``callback``: call ``_customer_number`` back at ``_desired_time`` (default: now)."""
    cfg = gms_settings(rt)
    now = utcnow()
    number = phone("_customer_number", params.get("_customer_number"), required=True)
    assert number is not None
    desired = _desired(params.get("_desired_time"), now, cfg.max_callback_days)
    expires = desired + timedelta(seconds=cfg.callback_window_seconds)
    user_data = dict(params.user_data().fields)

    async def build(s: AsyncSession, data_id: str, at: datetime) -> GmsService:
        svc = GmsService(
            tenant_id=tenant_id,
            name=name,
            kind="callback",
            state="active",
            parameters=params.service_params(),
            data_id=data_id,
            phone_digits=digits(number),
            customer_number=number,
            desired_time=desired,
            callback_state="SCHEDULED" if desired > at else "QUEUED",
            expires_at=expires,
            created_at=at,
            updated_at=at,
        )
        s.add(svc)
        await s.flush()
        # the dialer places it (switchboard/gms/callbacks.py)
        await callbacks.enqueue_in(s, svc, user_data, at, rt.settings.default_phone_region)
        return svc

    return await _with_user_data(
        rt, tenant_id=tenant_id, data=params.user_data(), expires_at=expires, build=build
    )


def _desired(value: str | None, now: datetime, max_days: int) -> datetime:
    if value is None:
        return now
    desired = parse_time("_desired_time", value)
    if desired < now - timedelta(seconds=60):
        raise Invalid("_desired_time is in the past")
    if desired > now + timedelta(days=max_days):
        raise Invalid(f"_desired_time is more than {max_days} days ahead")
    return max(desired, now)


def callback_text(svc: GmsService) -> str:
    if svc.callback_state == "SCHEDULED":
        return f"Your callback is scheduled for {iso(svc.desired_time)}."
    return "Your callback request is queued: you will be called back shortly."


# ---- changing services ---------------------------------------------------------------


async def _lock(s: AsyncSession, tenant_id: str, service_id: str) -> GmsService:
    stmt = (
        select(GmsService)
        .where(GmsService.id == service_id, GmsService.tenant_id == tenant_id)
        .with_for_update()
    )
    svc = (await s.execute(stmt)).scalar_one_or_none()
    if svc is None:
        raise _not_found(service_id)
    return svc


def _end(svc: GmsService, state: str, now: datetime) -> None:
    svc.state = state
    svc.access_code = None
    svc.updated_at = now
    svc.ended_at = now


async def _access_number_of(s: AsyncSession, tenant_id: str, raw: str) -> str:
    """The configured access number that ``raw`` spells (digits compared)."""
    wanted = digits(raw)
    for n in await _numbers(s, tenant_id):
        if digits(n.number) == wanted:
            return n.number
    return raw


async def match_interaction(rt: Runtime, *, tenant_id: str, params: Params) -> GmsService:
    """``match-interaction``: the waiting interaction an inbound call belongs to, by
    ``_access_number`` + ``_access_code``, else by ``_phone_number``; it is consumed."""
    number_raw = params.get("_access_number")
    code = params.get("_access_code")
    caller = phone("_phone_number", params.get("_phone_number"))
    if code is not None and number_raw is None:
        raise Invalid("_access_number is required with _access_code")
    if code is None and caller is None:
        raise Invalid("Give _access_number and _access_code, or _phone_number")
    now = utcnow()
    async with rt.db.write() as s:
        stmt = select(GmsService).where(
            GmsService.tenant_id == tenant_id,
            GmsService.kind.in_(INTERACTION_KINDS),
            GmsService.state == "active",
            GmsService.expires_at > now,
        )
        if code is not None and number_raw is not None:
            number = await _access_number_of(s, tenant_id, number_raw)
            stmt = stmt.where(GmsService.access_number == number, GmsService.access_code == code)
        else:
            assert caller is not None
            stmt = stmt.where(GmsService.phone_digits == digits(caller))
        stmt = stmt.order_by(GmsService.created_at.desc(), GmsService.id).limit(1)
        svc = (await s.execute(stmt.with_for_update())).scalar_one_or_none()
        if svc is None:
            raise NotFound("No waiting interaction matches")
        _end(svc, "matched", now)
    await _publish(rt, tenant_id, svc.id)
    return svc


async def match_by_id(rt: Runtime, *, tenant_id: str, service_id: str) -> GmsService:
    """``POST /genesys/1/service/{id}/match``: consume this waiting interaction."""
    now = utcnow()
    async with rt.db.write() as s:
        svc = await _lock(s, tenant_id, service_id)
        if svc.kind not in INTERACTION_KINDS:
            raise NotFound(f"Unknown request for {svc.name}: match")
        state = service.state_of(svc, now)
        if state != "active":
            raise Conflict(f"The service is {state}")
        _end(svc, "matched", now)
    await _publish(rt, tenant_id, svc.id)
    return svc


async def cancel(
    rt: Runtime, *, tenant_id: str, service_id: str, name: str | None = None
) -> GmsService:
    """Cancel a service (idempotent); 409 once it was matched, completed or expired.

    ``name``: the callback service the caller addressed (another name: 404)."""
    now = utcnow()
    async with rt.db.write() as s:
        svc = await _lock(s, tenant_id, service_id)
        if name is not None and (svc.kind != "callback" or svc.name != name):
            raise _not_found(service_id)
        if svc.kind == "callback":
            current = service.callback_state(svc, now)
            if current not in ("SCHEDULED", "QUEUED", "CANCELLED"):
                raise Conflict(f"The callback is {current}")
            if current != "CANCELLED" and await callbacks.stop_in(s, svc, "cancelled", now):
                raise Conflict("The callback is COMPLETED")
            svc.callback_state = "CANCELLED"
            if svc.state == "active":
                _end(svc, "cancelled", now)
        else:
            state = service.state_of(svc, now)
            if state not in ("active", "cancelled"):
                raise Conflict(f"The service is {state}")
            if state == "active":
                _end(svc, "cancelled", now)
    await _publish(rt, tenant_id, svc.id)
    return svc


async def reschedule_callback(
    rt: Runtime, *, tenant_id: str, service_id: str, name: str, params: Params
) -> GmsService:
    """Move a pending callback to another ``_desired_time``."""
    cfg = gms_settings(rt)
    raw = params.get("_desired_time")
    if raw is None:
        raise Invalid("_desired_time is required")
    now = utcnow()
    desired = _desired(raw, now, cfg.max_callback_days)
    number = phone("_customer_number", params.get("_customer_number"))
    async with rt.db.write() as s:
        svc = await _lock(s, tenant_id, service_id)
        if svc.kind != "callback" or svc.name != name:
            raise _not_found(service_id)
        current = service.callback_state(svc, now)
        if current not in ("SCHEDULED", "QUEUED"):
            raise Conflict(f"The callback is {current}")
        await callbacks.reschedule_in(s, svc, desired, now)
        svc.desired_time = desired
        svc.expires_at = desired + timedelta(seconds=cfg.callback_window_seconds)
        svc.callback_state = "SCHEDULED" if desired > now else "QUEUED"
        if number is not None:
            svc.customer_number = number
            svc.phone_digits = digits(number)
        svc.updated_at = now
    await _publish(rt, tenant_id, svc.id)
    return svc


async def claim_chat_request(rt: Runtime, *, tenant_id: str, service_id: str) -> GmsService:
    """``ixn/chat`` of a request-chat service: it may create one chat, before it expires.

    The service moves to ``completed`` here (so that a concurrent second request gets
    409); ``release_chat_request`` undoes that when the chat could not be created."""
    now = utcnow()
    async with rt.db.write() as s:
        svc = await _lock(s, tenant_id, service_id)
        if svc.kind != "request-chat":
            raise NotFound(f"Unknown request for {svc.name}: ixn/chat")
        state = service.state_of(svc, now)
        if state != "active" or svc.chat_id is not None:
            raise Conflict(f"The service is {state}")
        _end(svc, "completed", now)
    return svc


async def release_chat_request(
    rt: Runtime, *, tenant_id: str, service_id: str, chat_id: str | None
) -> None:
    """Record the chat created for a claimed request-chat (or give the claim back)."""
    async with rt.db.write() as s:
        svc = await _lock(s, tenant_id, service_id)
        if chat_id is None:
            svc.state = "active"
            svc.ended_at = None
        else:
            svc.chat_id = chat_id
        svc.updated_at = utcnow()
    await _publish(rt, tenant_id, service_id)


# ---- expiry and purge (workers.py) ---------------------------------------------------


async def purge(rt: Runtime, *, limit: int = 200) -> int:
    """Expire due services and callbacks, delete expired storage entries (and their
    files), ended services past the retention and chat links whose chat is gone.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
    writers), so N processes never delete the same entry's files twice."""
    from switchboard.chats.models import ACTIVE_STATES, ChatSession

    cfg = gms_settings(rt)
    now = utcnow()
    done = 0
    doomed: list[tuple[str, str]] = []
    async with rt.db.write() as s:
        due = (
            (
                await s.execute(
                    select(GmsService)
                    .where(GmsService.state == "active", GmsService.expires_at <= now)
                    .order_by(GmsService.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for svc in due:
            if svc.kind == "callback":
                try:
                    ended = await callbacks.stop_in(s, svc, "expired", now)
                except Conflict:
                    continue  # a call in progress: it expires after it
                svc.callback_state = ended or "EXPIRED"
            _end(svc, "completed" if svc.callback_state == "COMPLETED" else "expired", now)
        done += len(due)
        queued = await s.execute(
            update(GmsService)
            .where(
                GmsService.kind == "callback",
                GmsService.callback_state == "SCHEDULED",
                GmsService.desired_time <= now,
            )
            .values(callback_state="QUEUED", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        done += int(getattr(queued, "rowcount", 0) or 0)
        entries = (
            await s.execute(
                select(GmsStorageEntry.id, GmsStorageEntry.tenant_id)
                .where(GmsStorageEntry.expires_at <= now)
                .order_by(GmsStorageEntry.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if entries:
            ids = [e[0] for e in entries]
            await s.execute(
                update(GmsService)
                .where(GmsService.data_id.in_(ids))
                .values(data_id=None)
                .execution_options(synchronize_session=False)
            )
            await s.execute(delete(GmsStorageEntry).where(GmsStorageEntry.id.in_(ids)))
            doomed = [(str(e[1]), str(e[0])) for e in entries]
            done += len(entries)
        cutoff = now - timedelta(seconds=cfg.retention_seconds)
        old = (
            (
                await s.execute(
                    select(GmsService.id)
                    .where(GmsService.state != "active", GmsService.updated_at <= cutoff)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        if old:
            await s.execute(
                update(GmsChat)
                .where(GmsChat.service_id.in_(old))
                .values(service_id=None)
                .execution_options(synchronize_session=False)
            )
            await s.execute(delete(GmsService).where(GmsService.id.in_(old)))
            done += len(old)
        stale = (
            (
                await s.execute(
                    select(GmsChat.chat_id)
                    .outerjoin(ChatSession, ChatSession.id == GmsChat.chat_id)
                    .where(
                        GmsChat.created_at <= cutoff,
                        (ChatSession.id.is_(None)) | (ChatSession.state.not_in(ACTIVE_STATES)),
                    )
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        if stale:
            await s.execute(delete(GmsChat).where(GmsChat.chat_id.in_(stale)))
            done += len(stale)
    for tenant_id, entry_id in doomed:
        files.remove_entry(rt, tenant_id, entry_id)
    return done
