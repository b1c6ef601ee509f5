"""Reading Do-Not-Call lists, and the lookups the dialer (and SMS) run before every contact.

A lookup is one indexed query: ``value IN (...)`` over the unique ``(list_id, value)``
index, with a handful of candidate values (the record's numbers, their area-code
prefixes, its postal code and key); its cost does not depend on the size of the lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import NotFound
from switchboard.dnc import phones
from switchboard.dnc.models import DncEntry, DncList
from switchboard.dnc.schemas import DncListRead


async def get_list(*, session: AsyncSession, tenant_id: str, name: str) -> DncList | None:
    stmt = select(DncList).where(DncList.tenant_id == tenant_id, DncList.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_list_or_raise(*, session: AsyncSession, tenant_id: str, name: str) -> DncList:
    found = await get_list(session=session, tenant_id=tenant_id, name=name)
    if found is None:
        raise NotFound(f"Do Not Call list not found: {name}")
    return found


async def list_lists(*, session: AsyncSession, tenant_id: str) -> Sequence[DncList]:
    stmt = select(DncList).where(DncList.tenant_id == tenant_id).order_by(DncList.name)
    return (await session.execute(stmt)).scalars().all()


async def size(*, session: AsyncSession, list_id: str) -> int:
    stmt = select(func.count()).select_from(DncEntry).where(DncEntry.list_id == list_id)
    return int((await session.execute(stmt)).scalar_one())


async def to_read(*, session: AsyncSession, dnc: DncList) -> DncListRead:
    return DncListRead(
        name=dnc.name,
        type=dnc.type,
        description=dnc.description,
        all_campaigns=dnc.all_campaigns,
        read_only=dnc.read_only,
        size=await size(session=session, list_id=dnc.id),
    )


async def entries(
    *, session: AsyncSession, list_id: str, offset: int = 0, limit: int = 1000
) -> Sequence[DncEntry]:
    stmt = (
        select(DncEntry)
        .where(DncEntry.list_id == list_id)
        .order_by(DncEntry.id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


@dataclass(frozen=True)
class DncHit:
    list_name: str
    list_type: str
    value: str


@dataclass
class DncCheck:
    """The result of checking one record: blocked numbers, and a hit on the record itself."""

    phones: dict[str, DncHit] = field(default_factory=dict)
    record: DncHit | None = None

    def blocks(self, e164: str) -> DncHit | None:
        return self.record or self.phones.get(e164)


async def applicable_lists(
    *, session: AsyncSession, tenant_id: str, bound_ids: Iterable[str] = ()
) -> list[DncList]:
    """Lists that apply to a campaign: those for every campaign, plus those it binds."""
    ids = list(bound_ids)
    cond: ColumnElement[bool] = DncList.all_campaigns.is_(True)
    if ids:
        cond = or_(cond, DncList.id.in_(ids))
    stmt = select(DncList).where(DncList.tenant_id == tenant_id, cond)
    return list((await session.execute(stmt)).scalars().all())


async def check(
    *,
    session: AsyncSession,
    lists: Sequence[DncList],
    numbers: Sequence[str],
    postal_code: str | None = None,
    record_key: str | None = None,
    campaign: str | None = None,
    campaign_names: frozenset[str] = frozenset(),
) -> DncCheck:
    """Check E.164 ``numbers``, a postal code and a record key against ``lists``.

    An internal entry whose campaign names one of ``campaign_names`` (the tenant's
    campaigns) applies to that campaign only; any other value is a note.
    """
    out = DncCheck()
    if not lists:
        return out
    by_id = {d.id: d for d in lists}
    candidates: set[str] = set()
    for n in numbers:
        candidates.add(n)
        candidates.update(phones.prefixes(n))
    postal = phones.normalize_postal(postal_code or "")
    if postal:
        candidates.add(postal)
    if record_key:
        candidates.add(record_key)
    if not candidates:
        return out
    stmt = select(DncEntry.list_id, DncEntry.value, DncEntry.campaign).where(
        DncEntry.list_id.in_(list(by_id)), DncEntry.value.in_(sorted(candidates))
    )
    conn = await session.connection()  # Core, below the ORM: this runs before every dial
    for list_id, value, entry_campaign in (await conn.execute(stmt)).all():
        dnc = by_id[list_id]
        hit = DncHit(list_name=dnc.name, list_type=dnc.type, value=value)
        if dnc.type == "internal":
            if entry_campaign and entry_campaign in campaign_names and entry_campaign != campaign:
                continue
            if value in numbers:
                out.phones.setdefault(value, hit)
        elif dnc.type == "area_code":
            for n in numbers:
                if n.startswith(value):
                    out.phones.setdefault(n, hit)
        elif dnc.type == "geographic":
            if value == postal:
                out.record = out.record or hit
        elif dnc.type == "record_exclusion" and value == record_key:
            out.record = out.record or hit
    return out


async def is_number_blocked(
    *, session: AsyncSession, tenant_id: str, number: str, region: str = "US"
) -> DncHit | None:
    """Whether ``number`` is on a tenant-wide internal or area-code list (for SMS and
    anything else that contacts a number outside a campaign)."""
    e164 = phones.normalize(number, region)
    if e164 is None:
        return None
    lists = [
        d
        for d in await applicable_lists(session=session, tenant_id=tenant_id)
        if d.type in ("internal", "area_code")
    ]
    result = await check(session=session, lists=lists, numbers=[e164])
    return result.phones.get(e164)
