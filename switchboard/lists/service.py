"""Reading calling lists, records and their results in a campaign (the seed's answers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import Campaign, campaign_lists
from switchboard.core.errors import NotFound
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.lists.records import entry, fmt_time
from switchboard.lists.schemas import CallingListRead

MAX_PAGE = 1000


async def get_list(*, session: AsyncSession, tenant_id: str, name: str) -> CallingList | None:
    stmt = select(CallingList).where(CallingList.tenant_id == tenant_id, CallingList.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_list_or_raise(*, session: AsyncSession, tenant_id: str, name: str) -> CallingList:
    found = await get_list(session=session, tenant_id=tenant_id, name=name)
    if found is None:
        raise NotFound(f"Calling list not found: {name}")
    return found


async def list_lists(*, session: AsyncSession, tenant_id: str) -> Sequence[CallingList]:
    stmt = select(CallingList).where(CallingList.tenant_id == tenant_id).order_by(CallingList.name)
    return (await session.execute(stmt)).scalars().all()


async def size(*, session: AsyncSession, list_id: str) -> int:
    stmt = select(func.count()).select_from(CallingRecord).where(CallingRecord.list_id == list_id)
    return int((await session.execute(stmt)).scalar_one())


async def to_read(*, session: AsyncSession, defn: CallingList) -> CallingListRead:
    names = (
        await session.execute(
            select(Campaign.name)
            .join(campaign_lists, campaign_lists.c.campaign_id == Campaign.id)
            .where(campaign_lists.c.list_id == defn.id)
            .order_by(Campaign.name)
        )
    ).all()
    return CallingListRead(
        name=defn.name,
        description=defn.description,
        fields=list(defn.fields),
        keys=list(defn.keys),
        required=list(defn.required),
        phone_fields=list(defn.phone_fields),
        time_zone_field=defn.timezone_field,
        postal_code_field=defn.postal_field,
        read_only=defn.read_only,
        size=await size(session=session, list_id=defn.id),
        campaigns=[n for (n,) in names],
    )


async def campaign_id_of(*, session: AsyncSession, tenant_id: str, name: str) -> str | None:
    stmt = select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def campaign_id_or_raise(*, session: AsyncSession, tenant_id: str, name: str) -> str:
    found = await campaign_id_of(session=session, tenant_id=tenant_id, name=name)
    if found is None:
        raise NotFound(f"Campaign not found: {name}")
    return found


def status(result: RecordResult | None) -> dict[str, Any]:
    """The seed's ``status`` object; ``completed`` is always present."""
    if result is None:
        return {"completed": False}
    out: dict[str, Any] = {
        "globalInteractionID": result.giid,
        "lastCallDuration": result.last_call_duration,
        "lastDisposition": result.last_disposition,
        "totalAttempts": result.total_attempts,
        "completed": result.completed,
        "lastAgent": result.last_agent,
        "lastPhone": result.last_phone,
        "lastDate": fmt_time(result.last_date),
    }
    if not result.total_attempts:
        out.pop("totalAttempts")
    return {k: v for k, v in out.items() if v is not None}


def attempt_item(a: CallAttempt) -> dict[str, Any]:
    return {
        "call_attempted": a.call_attempted,
        "disposition": a.disposition or "",
        "dispositionCode": a.disposition_code or "",
        "date": fmt_time(a.dial_started_at or a.created_at),
        "phone": a.phone or "",
        "callDuration": a.call_duration,
        "dialingDuration": a.dialing_duration,
        "callNotes": a.notes or "",
        "agent": a.agent_login or "",
        "globalInteractionID": a.giid,
        "CPADuration": a.cpa_duration,
    }


async def get_all(
    *,
    session: AsyncSession,
    defn: CallingList,
    campaign_id: str | None,
    from_index: int,
    max_size: int,
) -> list[dict[str, Any]]:
    limit = max(0, min(max_size, MAX_PAGE))
    if limit == 0:
        return []
    stmt = (
        select(CallingRecord)
        .where(CallingRecord.list_id == defn.id, CallingRecord.idx >= from_index)
        .order_by(CallingRecord.idx)
        .limit(limit)
    )
    records = (await session.execute(stmt)).scalars().all()
    results = await _results(session, campaign_id, [r.id for r in records])
    return [
        {"entry": entry(defn, r.data), "index": r.idx, "status": status(results.get(r.id))}
        for r in records
    ]


async def _results(
    session: AsyncSession, campaign_id: str | None, record_ids: list[int]
) -> dict[int, RecordResult]:
    if campaign_id is None or not record_ids:
        return {}
    stmt = select(RecordResult).where(
        RecordResult.campaign_id == campaign_id, RecordResult.record_id.in_(record_ids)
    )
    return {r.record_id: r for r in (await session.execute(stmt)).scalars()}


async def _attempts(session: AsyncSession, result_ids: list[int]) -> dict[int, list[CallAttempt]]:
    attempts: dict[int, list[CallAttempt]] = defaultdict(list)
    for start in range(0, len(result_ids), 500):
        found = await session.execute(
            select(CallAttempt)
            .where(CallAttempt.result_id.in_(result_ids[start : start + 500]))
            .order_by(CallAttempt.created_at, CallAttempt.id)
        )
        for a in found.scalars():
            attempts[a.result_id].append(a)
    return attempts


def _outcome(res: RecordResult, attempts: list[CallAttempt]) -> dict[str, Any]:
    """The record's outcome in the campaign, as the seed's examples at the getCompleted
    URL show it: ``completed``, ``recordDisposition(Code)``, ``totalAttempts``, and
    every ``attempts`` item."""
    return {
        "completed": res.completed,
        "recordDisposition": res.record_disposition or "",
        "recordDispositionCode": res.record_disposition_code or "",
        "totalAttempts": res.total_attempts,
        "attempts": [attempt_item(a) for a in attempts],
    }


async def get_completed(
    *,
    session: AsyncSession,
    defn: CallingList,
    campaign_id: str,
    from_time: datetime,
    max_size: int,
) -> list[dict[str, Any]]:
    """Completed records by completion time: ``completedTime``, ``entry`` and ``status``
    (the seed's "Get Completed Records") with the outcome fields of its second example
    at the same URL ("Get Updated Records": ``completed``, ``recordDisposition``,
    ``totalAttempts``, ``attempts``)."""
    limit = max(0, min(max_size, MAX_PAGE))
    stmt = (
        select(RecordResult, CallingRecord)
        .join(CallingRecord, CallingRecord.id == RecordResult.record_id)
        .where(
            RecordResult.campaign_id == campaign_id,
            RecordResult.list_id == defn.id,
            RecordResult.completed_at >= from_time,
            RecordResult.completed.is_(True),
        )
        .order_by(RecordResult.completed_at, RecordResult.id)
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    attempts = await _attempts(session, [res.id for res, _ in rows])
    return [
        {
            "completedTime": fmt_time(res.completed_at),
            "entry": entry(defn, rec.data),
            **_outcome(res, attempts.get(res.id, [])),
            "status": status(res),
        }
        for res, rec in rows
    ]


async def get_changed(
    *,
    session: AsyncSession,
    defn: CallingList,
    campaign_id: str,
    from_time: datetime,
    max_size: int,
) -> list[dict[str, Any]]:
    """Records with any activity in the campaign since ``from_time``, with their attempts."""
    limit = max(0, min(max_size, MAX_PAGE))
    stmt = (
        select(RecordResult, CallingRecord)
        .join(CallingRecord, CallingRecord.id == RecordResult.record_id)
        .where(
            RecordResult.campaign_id == campaign_id,
            RecordResult.list_id == defn.id,
            RecordResult.updated_at >= from_time,
            RecordResult.total_attempts > 0,
        )
        .order_by(RecordResult.updated_at, RecordResult.id)
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    attempts = await _attempts(session, [res.id for res, _ in rows])
    out: list[dict[str, Any]] = []
    for res, rec in rows:
        item: dict[str, Any] = {
            "entry": entry(defn, rec.data),
            **_outcome(res, attempts.get(res.id, [])),
            "status": status(res),
        }
        if res.completed_at is not None:
            item["completedTime"] = fmt_time(res.completed_at)
        out.append(item)
    return out


async def get_record(*, session: AsyncSession, defn: CallingList, key: str) -> CallingRecord | None:
    stmt = select(CallingRecord).where(CallingRecord.list_id == defn.id, CallingRecord.key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def query_record(
    *, session: AsyncSession, defn: CallingList, key: str, campaign_id: str | None
) -> dict[str, Any]:
    rec = await get_record(session=session, defn=defn, key=key)
    if rec is None:
        raise NotFound("Record not found")
    results = await _results(session, campaign_id, [rec.id])
    return {"entry": entry(defn, rec.data), "status": status(results.get(rec.id))}
