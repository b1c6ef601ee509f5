"""Every change to Do-Not-Call lists: validate, change, commit, then publish ``dnc:<tenant>``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Forbidden, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.dnc import phones
from switchboard.dnc.bulk import fast_insert
from switchboard.dnc.models import DncEntry, DncList
from switchboard.dnc.schemas import DncItem, DncListCreate, DncListUpdate
from switchboard.dnc.service import get_list_or_raise


def dnc_topic(tenant_id: str) -> str:
    return f"dnc:{tenant_id}"


@dataclass
class BulkResult:
    count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # entries already listed whose comment (campaign, on internal lists) was replaced
    updated: int = 0

    def body(self, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {key: self.count}
        if self.errors:
            out["errors"] = self.errors
        return out


def normalize_value(list_type: str, raw: str, region: str) -> str | None:
    """The stored form of an entry of a list of ``list_type`` (None: not understood)."""
    raw = raw.strip()
    if list_type == "internal":
        return phones.normalize(raw, region)
    if list_type == "area_code":
        return phones.area_code_prefix(raw, region)
    if list_type == "geographic":
        return phones.normalize_postal(raw)
    return raw[:255] or None


def parse_items(body: Any) -> list[DncItem]:
    """``[["number", "optional comment"], ...]``; a bare string is accepted for an item."""
    if not isinstance(body, list):
        raise Invalid("Request body must be a JSON array of [value, optional comment] arrays")
    items: list[DncItem] = []
    for pos, item in enumerate(body):
        if isinstance(item, str | int) and not isinstance(item, bool):
            items.append(DncItem(value=str(item)))
            continue
        if (
            not isinstance(item, list)
            or not 1 <= len(item) <= 2
            or not all(isinstance(x, str | int) and not isinstance(x, bool) for x in item)
        ):
            raise Invalid(f"Item {pos} must be an array: [value, optional comment]")
        comment = str(item[1]).strip()[:255] if len(item) == 2 else None
        items.append(DncItem(value=str(item[0]), comment=comment or None))
    return items


def parse_keys(body: Any) -> list[str]:
    """``[{"key": "9999999"}, ...]`` (other fields of the objects are ignored)."""
    if not isinstance(body, list):
        raise Invalid('Request body must be a JSON array of {"key": value} objects')
    keys: list[str] = []
    for pos, item in enumerate(body):
        if isinstance(item, dict) and isinstance(item.get("key"), str | int):
            keys.append(str(item["key"]))
        elif isinstance(item, str):
            keys.append(item)
        else:
            raise Invalid(f'Item {pos} must be an object with a "key"')
    return keys


async def _lock(s: AsyncSession, tenant_id: str, name: str) -> DncList:
    """The list, locked: changes to one list's entries are serialised."""
    found = (
        await s.execute(
            select(DncList)
            .where(DncList.tenant_id == tenant_id, DncList.name == name)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Do Not Call list not found: {name}")
    return found


def _writable(dnc: DncList) -> None:
    if dnc.read_only:
        raise Forbidden(f"Modification of Do Not Call list {dnc.name} is not allowed")


COLUMNS = ("list_id", "value", "comment", "campaign", "created_at")


def _rows(
    dnc: DncList, items: Sequence[DncItem], region: str, result: BulkResult
) -> list[tuple[Any, ...]]:
    """Rows in ``COLUMNS`` order, normalised and without duplicates."""
    seen: dict[str, tuple[Any, ...]] = {}
    now = utcnow()
    list_id, list_type = dnc.id, dnc.type
    internal = list_type == "internal"
    errors = result.errors
    for pos, item in enumerate(items):
        value = normalize_value(list_type, item.value, region)
        if value is None:
            errors.append({"index": pos, "key": item.value, "error": "not understood"})
        elif value not in seen:
            comment = item.comment
            seen[value] = (
                (list_id, value, None, comment, now)
                if internal
                else (list_id, value, comment, None, now)
            )
    return list(seen.values())


def _table() -> Table:
    table: Table = DncEntry.__table__  # type: ignore[assignment]
    return table


async def create_list(rt: Runtime, *, tenant_id: str, data: DncListCreate) -> DncList:
    try:
        async with rt.db.write() as s:
            dnc = DncList(
                tenant_id=tenant_id,
                name=data.name,
                type=data.type,
                description=data.description,
                all_campaigns=data.all_campaigns,
                read_only=data.read_only,
            )
            s.add(dnc)
            await s.flush()
    except IntegrityError as e:
        raise Conflict(f"Do Not Call list already exists: {data.name}") from e
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return dnc


async def update_list(rt: Runtime, *, tenant_id: str, name: str, data: DncListUpdate) -> DncList:
    async with rt.db.write() as s:
        dnc = await get_list_or_raise(session=s, tenant_id=tenant_id, name=name)
        for attr in ("description", "all_campaigns", "read_only"):
            value = getattr(data, attr)
            if value is not None:
                setattr(dnc, attr, value)
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return dnc


async def delete_list(rt: Runtime, *, tenant_id: str, name: str) -> None:
    async with rt.db.write() as s:
        dnc = await get_list_or_raise(session=s, tenant_id=tenant_id, name=name)
        await s.execute(delete(DncEntry).where(DncEntry.list_id == dnc.id))
        await s.delete(dnc)
    await rt.bus.publish(dnc_topic(tenant_id), "")


async def add(
    rt: Runtime,
    *,
    tenant_id: str,
    name: str,
    items: Sequence[DncItem],
    force: bool = False,
    upsert: bool = False,
) -> BulkResult:
    """Append entries; duplicates (in the body or already listed) are ignored, or, with
    ``upsert``, entries already listed take the item's comment (campaign on internal
    lists)."""
    result = BulkResult()
    async with rt.db.write() as s:
        dnc = await _lock(s, tenant_id, name)
        if not force:
            _writable(dnc)
        rows = _rows(dnc, items, rt.settings.default_phone_region, result)
        result.count = await fast_insert(s, _table(), COLUMNS, rows, ignore_conflicts=True)
        if upsert and rows and result.count < len(rows):
            from sqlalchemy import bindparam, update

            stmt = (
                update(DncEntry)
                .where(DncEntry.list_id == dnc.id, DncEntry.value == bindparam("v"))
                .values(comment=bindparam("c"), campaign=bindparam("k"))
                .execution_options(synchronize_session=False)
            )
            conn = await s.connection()
            params = [{"v": r[1], "c": r[2], "k": r[3]} for r in rows]
            for start in range(0, len(params), 5000):
                await conn.execute(stmt, params[start : start + 5000])
            result.updated = len(rows) - result.count
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return result


async def replace_all(
    rt: Runtime, *, tenant_id: str, name: str, items: Sequence[DncItem], force: bool = False
) -> BulkResult:
    """Replace every entry in one transaction; returns the number inserted."""
    result = BulkResult()
    async with rt.db.write() as s:
        dnc = await _lock(s, tenant_id, name)
        if not force:
            _writable(dnc)
        rows = _rows(dnc, items, rt.settings.default_phone_region, result)
        await s.execute(delete(DncEntry).where(DncEntry.list_id == dnc.id))
        # the list is locked and emptied and the rows are distinct: nothing can conflict
        result.count = await fast_insert(s, _table(), COLUMNS, rows)
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return result


async def delete_all(rt: Runtime, *, tenant_id: str, name: str) -> int:
    async with rt.db.write() as s:
        dnc = await _lock(s, tenant_id, name)
        _writable(dnc)
        res = await s.execute(delete(DncEntry).where(DncEntry.list_id == dnc.id))
        deleted = int(getattr(res, "rowcount", 0) or 0)
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return deleted


async def delete_keys(rt: Runtime, *, tenant_id: str, name: str, keys: Sequence[str]) -> BulkResult:
    result = BulkResult()
    async with rt.db.write() as s:
        dnc = await _lock(s, tenant_id, name)
        _writable(dnc)
        values: dict[str, str] = {}
        for pos, raw in enumerate(keys):
            value = normalize_value(dnc.type, raw, rt.settings.default_phone_region)
            if value is None:
                result.errors.append({"index": pos, "key": raw, "error": "not understood"})
            else:
                values.setdefault(value, raw)
        present: set[str] = set()
        wanted = list(values)
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            found = await s.execute(
                select(DncEntry.value).where(DncEntry.list_id == dnc.id, DncEntry.value.in_(chunk))
            )
            present.update(v for (v,) in found.all())
            await s.execute(
                delete(DncEntry).where(DncEntry.list_id == dnc.id, DncEntry.value.in_(chunk))
            )
        for value, raw in values.items():
            if value not in present:
                result.errors.append({"key": raw, "error": "not found"})
        result.count = len(present)
    await rt.bus.publish(dnc_topic(tenant_id), "")
    return result


async def add_number(
    rt: Runtime, *, tenant_id: str, list_id: str, number: str, campaign: str | None
) -> None:
    """Put one number on an internal list (a "do not call" disposition)."""
    async with rt.db.write() as s:
        await s.execute(select(DncList.id).where(DncList.id == list_id).with_for_update())
        await fast_insert(
            s,
            _table(),
            COLUMNS,
            [(list_id, number, "disposition", campaign, utcnow())],
            ignore_conflicts=True,
        )
    await rt.bus.publish(dnc_topic(tenant_id), "")
