"""Every change to calling lists and their records: validate, change, commit, then publish
``lists:<tenant>`` (and wake the dialer when records were added)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import campaign_lists
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Forbidden, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.dnc.bulk import fast_insert
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.lists.records import RecordError, clean, display_key, field_map, key_of
from switchboard.lists.schemas import CallingListCreate, CallingListUpdate, ListDefinition

DIALER_TOPIC = "dialer:wake"


def lists_topic(tenant_id: str) -> str:
    return f"lists:{tenant_id}"


@dataclass
class AddResult:
    added: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"added": self.added}
        if self.errors:
            out["errors"] = self.errors
        return out


def _writable(defn: CallingList) -> None:
    if defn.read_only:
        raise Forbidden(f"Modification of calling list {defn.name} is not allowed")


async def _lock(s: AsyncSession, tenant_id: str, name: str) -> CallingList:
    stmt = (
        select(CallingList)
        .where(CallingList.tenant_id == tenant_id, CallingList.name == name)
        .with_for_update()
    )
    found = (await s.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Calling list not found: {name}")
    return found


async def _published(rt: Runtime, tenant_id: str, *, wake: bool = False) -> None:
    await rt.bus.publish(lists_topic(tenant_id), "")
    if wake:
        await rt.bus.publish(DIALER_TOPIC, tenant_id)


async def create_list(rt: Runtime, *, tenant_id: str, data: CallingListCreate) -> CallingList:
    try:
        async with rt.db.write() as s:
            defn = CallingList(
                tenant_id=tenant_id,
                name=data.name,
                description=data.description,
                fields=list(data.fields),
                keys=list(data.keys),
                required=list(data.required),
                phone_fields=list(data.phone_fields),
                timezone_field=data.time_zone_field,
                postal_field=data.postal_code_field,
                read_only=data.read_only,
            )
            s.add(defn)
            await s.flush()
    except IntegrityError as e:
        raise Conflict(f"Calling list already exists: {data.name}") from e
    await _published(rt, tenant_id)
    return defn


async def update_list(
    rt: Runtime, *, tenant_id: str, name: str, data: CallingListUpdate
) -> CallingList:
    """Change the description, read-only flag, or definition (fields may be added and
    roles changed; key fields stay as they are)."""
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        if data.description is not None:
            defn.description = data.description
        if data.read_only is not None:
            defn.read_only = data.read_only
        touched = data.model_fields_set & {
            "fields",
            "required",
            "phone_fields",
            "time_zone_field",
            "postal_code_field",
        }
        if touched:
            fields = data.fields if data.fields is not None else list(defn.fields)
            missing = [f for f in defn.fields if f not in fields]
            if missing:
                raise Invalid("Fields cannot be removed: " + ", ".join(missing))
            try:
                checked = ListDefinition(
                    fields=fields,
                    keys=list(defn.keys),
                    required=data.required if data.required is not None else list(defn.required),
                    phone_fields=(
                        data.phone_fields
                        if data.phone_fields is not None
                        else list(defn.phone_fields)
                    ),
                    time_zone_field=(
                        data.time_zone_field
                        if "time_zone_field" in data.model_fields_set
                        else defn.timezone_field
                    ),
                    postal_code_field=(
                        data.postal_code_field
                        if "postal_code_field" in data.model_fields_set
                        else defn.postal_field
                    ),
                )
            except ValueError as e:
                raise Invalid(str(e)) from e
            defn.fields = list(checked.fields)
            defn.required = list(checked.required)
            defn.phone_fields = list(checked.phone_fields)
            defn.timezone_field = checked.time_zone_field
            defn.postal_field = checked.postal_code_field
        defn.updated_at = utcnow()
    await _published(rt, tenant_id)
    return defn


async def delete_list(rt: Runtime, *, tenant_id: str, name: str) -> None:
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        gone = await _erase(s, defn)
        await s.delete(defn)
    await _abandon(rt, gone)
    await _published(rt, tenant_id)


async def _erase(s: AsyncSession, defn: CallingList) -> list[Any]:
    """Delete the list's records, results and attempts; returns the open attempts."""
    from switchboard.dialer.actions import open_attempts

    gone = await open_attempts(s, CallAttempt.list_id == defn.id)
    await s.execute(delete(CallAttempt).where(CallAttempt.list_id == defn.id))
    await s.execute(delete(RecordResult).where(RecordResult.list_id == defn.id))
    await s.execute(delete(CallingRecord).where(CallingRecord.list_id == defn.id))
    return gone


async def _abandon(rt: Runtime, gone: list[Any]) -> None:
    """Calls and offers of deleted records end; their agents are freed."""
    if gone:
        from switchboard.dialer.actions import abandon

        await abandon(rt, gone)


async def add_record(rt: Runtime, *, tenant_id: str, name: str, body: Any) -> None:
    """One record; 400 when it lacks key/required fields, 409 when its key exists."""
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        _writable(defn)
        data, key = clean(defn, body)
        exists = await s.execute(
            select(CallingRecord.id).where(
                CallingRecord.list_id == defn.id, CallingRecord.key == key
            )
        )
        if exists.first() is not None:
            raise Conflict(f"Duplicate key: {display_key(key)}")
        s.add(CallingRecord(list_id=defn.id, idx=defn.next_index, key=key, data=data))
        defn.next_index += 1
        defn.updated_at = utcnow()
    await _published(rt, tenant_id, wake=True)


async def add_many(rt: Runtime, *, tenant_id: str, name: str, body: Any) -> AddResult:
    """Many records; the ones that fail (bad fields, duplicate keys) are reported in the
    answer's ``errors`` with their position in the request, the others are added."""
    if not isinstance(body, list):
        raise Invalid("Request body must be a JSON array of records")
    result = AddResult()
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        _writable(defn)
        result = await insert_records(s, defn, body)
    if result.added:
        await _published(rt, tenant_id, wake=True)
    return result


async def insert_records(
    s: AsyncSession, defn: CallingList, body: Sequence[Any], *, offset: int = 0
) -> AddResult:
    """Validate and insert ``body`` into the locked list ``defn`` (also used by the CSV import;
    ``offset`` shifts the positions reported in errors)."""
    result = AddResult()
    fmap = field_map(defn)
    pending: dict[str, tuple[int, dict[str, str]]] = {}
    for pos, item in enumerate(body):
        try:
            data, key = clean(defn, item, fmap=fmap)
        except RecordError as e:
            result.errors.append({"index": pos + offset, "error": e.message})
            continue
        if key in pending:
            result.errors.append(
                {"index": pos + offset, "error": f"Duplicate key: {display_key(key)}"}
            )
            continue
        pending[key] = (pos, data)
    keys = list(pending)
    conn = await s.connection()
    empty = (
        await conn.execute(
            select(CallingRecord.id).where(CallingRecord.list_id == defn.id).limit(1)
        )
    ).first() is None
    for start in range(0, 0 if empty else len(keys), 5000):
        chunk = keys[start : start + 5000]
        found = await conn.execute(
            select(CallingRecord.key).where(
                CallingRecord.list_id == defn.id, CallingRecord.key.in_(chunk)
            )
        )
        for (dup,) in found.all():
            pos, _ = pending.pop(dup)
            result.errors.append(
                {"index": pos + offset, "error": f"Duplicate key: {display_key(dup)}"}
            )
    result.errors.sort(key=lambda e: int(e["index"]))
    now = utcnow()
    list_id, first = defn.id, defn.next_index
    rows = [
        (list_id, first + n, key, data, now)
        for n, (key, (_, data)) in enumerate(sorted(pending.items(), key=lambda kv: kv[1][0]))
    ]
    table: Table = CallingRecord.__table__  # type: ignore[assignment]
    await fast_insert(s, table, ("list_id", "idx", "key", "data", "updated_at"), rows)
    defn.next_index += len(rows)
    defn.updated_at = now
    result.added = len(rows)
    return result


async def update_record(rt: Runtime, *, tenant_id: str, name: str, body: Any) -> None:
    """Change non-key fields of the record the body's key fields identify."""
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        _writable(defn)
        data, key = clean(defn, body, partial=True)
        rec = (
            await s.execute(
                select(CallingRecord).where(
                    CallingRecord.list_id == defn.id, CallingRecord.key == key
                )
            )
        ).scalar_one_or_none()
        if rec is None:
            raise NotFound(f"Record not found: {display_key(key)}")
        merged = {**rec.data, **data}
        key_of(defn, merged)  # required fields may not be emptied
        rec.data = merged
        rec.updated_at = utcnow()
    await _published(rt, tenant_id, wake=True)


async def delete_all(rt: Runtime, *, tenant_id: str, name: str) -> None:
    """Delete every record and every result of the list (numbering restarts at 0)."""
    async with rt.db.write() as s:
        defn = await _lock(s, tenant_id, name)
        _writable(defn)
        gone = await _erase(s, defn)
        await s.execute(
            update(campaign_lists).where(campaign_lists.c.list_id == defn.id).values(next_idx=0)
        )
        defn.next_index = 0
        defn.updated_at = utcnow()
    await _abandon(rt, gone)
    await _published(rt, tenant_id)
