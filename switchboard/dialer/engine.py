"""The dialer engine: one ``tick`` looks at every running campaign, reserves free agents,
claims eligible records, offers them (preview) or dials them (progressive); ``sweep``
recovers what timed out or was abandoned.

Eligible record: not completed, fewer dial attempts than the campaign allows, its retry
time passed, inside the campaign's calling hours in the record's time zone, and at least
one of its numbers not on a Do-Not-Call list that applies (otherwise the DNC hit is
recorded as an attempt that was never dialed and the record is closed).

Exactly-once across processes: records are claimed inside one write transaction. Known
records are ``RecordResult`` rows taken with ``FOR UPDATE SKIP LOCKED`` and moved to
``busy``; records never seen by the campaign get their ``RecordResult`` row with
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (only the process whose insert returned
the row may use it) below a per-(campaign, list) cursor locked ``FOR UPDATE``. SQLite
serialises writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.actions import claim_agent
from switchboard.campaigns import hours as hours_mod
from switchboard.campaigns.models import Campaign, campaign_dnc_lists, campaign_lists
from switchboard.core.runtime import Runtime
from switchboard.dialer import actions, calls
from switchboard.dialer.attempts import (
    MEDIA,
    SYSTEM_DISPOSITIONS,
    agent_in,
    attempt_event,
    changed,
    lock_attempt,
    settle,
)
from switchboard.dialer.attempts import now as dialer_now
from switchboard.dnc import phones
from switchboard.dnc import service as dnc_service
from switchboard.dnc.bulk import dialect_name
from switchboard.dnc.models import DncList
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.lists.records import display_key, entry
from switchboard.services.models import Service
from switchboard.tenants.models import Tenant
from switchboard.users.models import User

log = logging.getLogger(__name__)

BATCH = 50
BUDGET = 500  # records looked at by one claim at most (the rest wait for the next one)


@dataclass
class CampaignCtx:
    """What a tick needs to know about one running campaign."""

    id: str
    tenant_id: str
    name: str
    mode: str
    max_attempts: int
    hours: dict[str, list[list[str]]]
    fallback_tz: tzinfo
    caller_id: str | None
    retry: dict[str, float]
    preview_timeout: int
    skills: dict[str, int]
    lists: dict[str, CallingList] = field(default_factory=dict)
    dnc_lists: list[DncList] = field(default_factory=list)
    campaign_names: frozenset[str] = frozenset()


def record_zones(
    defn: CallingList, data: Mapping[str, Any], e164: str, fallback: tzinfo
) -> list[tzinfo]:
    """The record's time zone(s): its time-zone field, else its number's, else ``fallback``."""
    if defn.timezone_field:
        z = hours_mod.zone(str(data.get(defn.timezone_field) or ""))
        if z is not None:
            return [z]
    zones: list[tzinfo] = []
    for name in phones.time_zones(e164):
        with contextlib.suppress(Exception):
            zones.append(ZoneInfo(name))
    return zones or [fallback]


class Dialer:
    """One per runtime (``get_dialer``): ticks campaigns; the calls it places are tasks
    of ``switchboard.dialer.calls`` (``drain`` waits for them)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def drain(self) -> None:
        await calls.drain(self.rt)

    async def close(self) -> None:
        await calls.close(self.rt)

    # ---- the tick ---------------------------------------------------------------------

    async def tick(self) -> int:
        """One pass: recover timeouts, then fill every free agent of every running
        campaign. Returns the number of records offered or dialed."""
        await self.sweep()
        started = 0
        for ctx in await self.running():
            try:
                started += await self.run_campaign(ctx)
            except Exception:
                log.exception("dialer: campaign %s failed", ctx.name)
        return started

    async def running(self) -> list[CampaignCtx]:
        out: list[CampaignCtx] = []
        async with self.rt.db.read() as s:
            campaigns = (
                (
                    await s.execute(
                        select(Campaign)
                        .where(Campaign.state == "RUNNING", Campaign.enabled.is_(True))
                        .order_by(Campaign.started_at, Campaign.id)
                    )
                )
                .scalars()
                .all()
            )
            names: dict[str, frozenset[str]] = {}
            for c in campaigns:
                if c.tenant_id not in names:
                    rows = await s.execute(
                        select(Campaign.name).where(Campaign.tenant_id == c.tenant_id)
                    )
                    names[c.tenant_id] = frozenset(n for (n,) in rows.all())
                out.append(await self._context(s, c, names[c.tenant_id]))
        return out

    async def _context(self, s: AsyncSession, c: Campaign, names: frozenset[str]) -> CampaignCtx:
        tenant_tz = (
            await s.execute(select(Tenant.timezone).where(Tenant.id == c.tenant_id))
        ).scalar_one_or_none()
        skills: dict[str, int] = {}
        if c.service_id:
            svc = await s.get(Service, c.service_id)
            if svc is not None:
                skills.update(svc.required_skills or {})
        for k, v in (c.required_skills or {}).items():
            skills[k] = max(v, skills.get(k, 0))
        lists = (
            (
                await s.execute(
                    select(CallingList)
                    .join(campaign_lists, campaign_lists.c.list_id == CallingList.id)
                    .where(campaign_lists.c.campaign_id == c.id)
                    .order_by(campaign_lists.c.position, CallingList.name)
                )
            )
            .scalars()
            .all()
        )
        bound_dnc = [
            i
            for (i,) in (
                await s.execute(
                    select(campaign_dnc_lists.c.dnc_list_id).where(
                        campaign_dnc_lists.c.campaign_id == c.id
                    )
                )
            ).all()
        ]
        dnc_lists = await dnc_service.applicable_lists(
            session=s, tenant_id=c.tenant_id, bound_ids=bound_dnc
        )
        return CampaignCtx(
            id=c.id,
            tenant_id=c.tenant_id,
            name=c.name,
            mode=c.mode,
            max_attempts=c.max_attempts,
            hours=dict(c.calling_hours or {}),
            fallback_tz=hours_mod.zone(c.timezone) or hours_mod.zone(tenant_tz) or UTC,
            caller_id=c.caller_id,
            retry=dict(c.retry_minutes or {}),
            preview_timeout=c.preview_timeout_seconds,
            skills=skills,
            lists={d.id: d for d in lists},
            dnc_lists=dnc_lists,
            campaign_names=names,
        )

    async def has_work(self, ctx: CampaignCtx, now: datetime) -> bool:
        """Cheap check (two index probes per list) before reserving an agent."""
        if not ctx.lists:
            return False
        async with self.rt.db.read() as s:
            due = await s.execute(
                select(RecordResult.id)
                .where(
                    RecordResult.campaign_id == ctx.id,
                    RecordResult.state == "idle",
                    RecordResult.next_attempt_at <= now,
                    RecordResult.list_id.in_(list(ctx.lists)),
                )
                .limit(1)
            )
            if due.first() is not None:
                return True
            cursors = await s.execute(
                select(campaign_lists.c.list_id, campaign_lists.c.next_idx).where(
                    campaign_lists.c.campaign_id == ctx.id
                )
            )
            for list_id, next_idx in cursors.all():
                fresh = await s.execute(
                    select(CallingRecord.id)
                    .where(CallingRecord.list_id == list_id, CallingRecord.idx >= next_idx)
                    .limit(1)
                )
                if fresh.first() is not None:
                    return True
        return False

    async def run_campaign(self, ctx: CampaignCtx) -> int:
        started = 0
        tried: set[str] = set()
        while await self.has_work(ctx, dialer_now(self.rt)):
            agent = await claim_agent(
                self.rt,
                tenant_id=ctx.tenant_id,
                media=MEDIA,
                required_skills=ctx.skills,
                exclude=tried,
            )
            if agent is None:
                break
            tried.add(agent)
            if await self.claim_record(ctx, agent):
                started += 1
        return started

    # ---- claiming a record ------------------------------------------------------------

    async def claim_record(self, ctx: CampaignCtx, agent_user_id: str) -> bool:
        """In one write transaction: walk due and new records in order, close DNC hits,
        defer those outside calling hours, claim the first dialable one for the agent
        (tell it; progressive: create the call, placed after the commit), or give the
        agent back. False when nothing is dialable now."""
        at = dialer_now(self.rt)
        async with self.rt.db.write() as s:
            claimed = await self._claim_in(s, ctx, agent_user_id, at)
            if claimed is None:
                await agent_in(s, ctx.tenant_id, agent_user_id, release=True)
            changed(s, ctx.tenant_id, ctx.id)
        return claimed is not None

    async def _claim_in(
        self, s: AsyncSession, ctx: CampaignCtx, agent_user_id: str, at: datetime
    ) -> CallAttempt | None:
        agent = await s.get(User, agent_user_id)
        if agent is None:
            return None
        region = self.rt.settings.default_phone_region
        if calls.needs_agent_number(self.rt) and calls.agent_number(agent, region) is None:
            log.warning("dialer: agent %s has no phone number to connect", agent.login_id)
            return None
        stmt = (
            select(RecordResult, CallingRecord)
            .join(CallingRecord, CallingRecord.id == RecordResult.record_id)
            .where(
                RecordResult.campaign_id == ctx.id,
                RecordResult.state == "idle",
                RecordResult.next_attempt_at <= at,
                RecordResult.list_id.in_(list(ctx.lists)),
            )
            .order_by(RecordResult.next_attempt_at, RecordResult.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=RecordResult)
        )
        seen = 0
        for result, record in (await s.execute(stmt)).all():
            seen += 1
            claimed = await self._consider(s, ctx, result, record, agent, at)
            if claimed is not None:
                return claimed
        for list_id in ctx.lists:
            while seen < BUDGET:
                fresh = await self._take_new(s, ctx, list_id, at)
                if not fresh:
                    break
                for result, record in fresh:
                    seen += 1
                    claimed = await self._consider(s, ctx, result, record, agent, at)
                    if claimed is not None:
                        return claimed
        return None

    async def _take_new(
        self, s: AsyncSession, ctx: CampaignCtx, list_id: str, now: datetime
    ) -> list[tuple[RecordResult, CallingRecord]]:
        """Give the next records of ``list_id`` above the cursor their result rows."""
        cursor = (
            await s.execute(
                select(campaign_lists.c.next_idx)
                .where(
                    campaign_lists.c.campaign_id == ctx.id,
                    campaign_lists.c.list_id == list_id,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if cursor is None:
            return []
        records = (
            (
                await s.execute(
                    select(CallingRecord)
                    .where(CallingRecord.list_id == list_id, CallingRecord.idx >= cursor)
                    .order_by(CallingRecord.idx)
                    .limit(BATCH)
                )
            )
            .scalars()
            .all()
        )
        if not records:
            return []
        await s.execute(
            update(campaign_lists)
            .where(campaign_lists.c.campaign_id == ctx.id, campaign_lists.c.list_id == list_id)
            .values(next_idx=records[-1].idx + 1)
        )
        rows = [
            {
                "tenant_id": ctx.tenant_id,
                "campaign_id": ctx.id,
                "list_id": list_id,
                "record_id": r.id,
                "state": "idle",
                "completed": False,
                "total_attempts": 0,
                "dial_attempts": 0,
                "phone_index": 0,
                "next_attempt_at": now,
                "updated_at": now,
            }
            for r in records
        ]
        table: Table = RecordResult.__table__  # type: ignore[assignment]
        if dialect_name(s) == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(table).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing()
        mine = {rid for (rid,) in (await s.execute(stmt.returning(table.c.id), rows)).all()}
        if not mine:
            return []
        results = (
            (await s.execute(select(RecordResult).where(RecordResult.id.in_(mine)))).scalars().all()
        )
        by_record = {r.record_id: r for r in results}
        return [(by_record[r.id], r) for r in records if r.id in by_record]

    async def _consider(
        self,
        s: AsyncSession,
        ctx: CampaignCtx,
        result: RecordResult,
        record: CallingRecord,
        agent: User,
        now: datetime,
    ) -> CallAttempt | None:
        defn = ctx.lists[record.list_id]
        data = record.data or {}
        if result.dial_attempts >= ctx.max_attempts:
            settle(
                result,
                max_attempts=ctx.max_attempts,
                now=now,
                disposition=result.last_disposition,
                complete=True,
                reason="max_attempts",
            )
            return None
        numbers: list[tuple[str, str]] = []
        for fname in defn.phone_fields[result.phone_index :]:
            raw = str(data.get(fname) or "").strip()
            e164 = phones.normalize(raw, self.rt.settings.default_phone_region) if raw else None
            if e164 is not None:
                numbers.append((raw, e164))
        if not numbers:
            self._closed_without_call(s, ctx, result, record, "invalid", None, now)
            return None
        check = await dnc_service.check(
            session=s,
            lists=ctx.dnc_lists,
            numbers=[e for _, e in numbers],
            postal_code=str(data.get(defn.postal_field) or "") if defn.postal_field else None,
            record_key=display_key(record.key),
            campaign=ctx.name,
            campaign_names=ctx.campaign_names,
        )
        allowed = [(raw, e) for raw, e in numbers if check.blocks(e) is None]
        if not allowed:
            hit = check.record or check.phones.get(numbers[0][1])
            note = f"{hit.list_type} list {hit.list_name}" if hit else None
            self._closed_without_call(s, ctx, result, record, "dnc", numbers[0][0], now, note)
            return None
        raw, e164 = allowed[0]
        ok, reopen = hours_mod.check(
            ctx.hours, record_zones(defn, data, e164, ctx.fallback_tz), now
        )
        if not ok:
            result.next_attempt_at = reopen or now + timedelta(hours=1)
            result.reason = "calling_hours"
            return None
        progressive = ctx.mode == "progressive"
        lease = self.rt.settings.dialer_lease_seconds if progressive else ctx.preview_timeout
        attempt = CallAttempt(
            tenant_id=ctx.tenant_id,
            campaign_id=ctx.id,
            list_id=record.list_id,
            record_id=record.id,
            result_id=result.id,
            mode=ctx.mode,
            state="dialing" if progressive else "offered",
            phone=raw,
            phone_e164=e164,
            caller_id=ctx.caller_id,
            agent_user_id=agent.id,
            agent_login=agent.login_id,
            call_attempted=progressive,
            created_at=now,
            dial_started_at=now if progressive else None,
            lease_until=now + timedelta(seconds=lease),
        )
        s.add(attempt)
        await s.flush()
        result.state = "busy"
        result.reason = None
        result.total_attempts += 1
        if progressive:
            result.dial_attempts += 1
        result.giid = attempt.giid
        result.last_attempt_id = attempt.id
        result.last_phone = raw
        result.last_agent = agent.login_id
        result.last_date = now
        result.updated_at = now
        event = attempt_event(
            "outbound_dialing" if progressive else "outbound_preview",
            attempt,
            ctx.name,
            {
                "list": defn.name,
                "entry": entry(defn, data),
                "attemptNumber": result.dial_attempts if progressive else result.dial_attempts + 1,
                "timeoutSeconds": None if progressive else ctx.preview_timeout,
            },
        )
        await agent_in(s, ctx.tenant_id, agent.id, event=event)
        if progressive:
            await calls.dial_in(
                self.rt, s, attempt, attempt_number=result.dial_attempts, agent=agent, at=now
            )
        return attempt

    def _closed_without_call(
        self,
        s: AsyncSession,
        ctx: CampaignCtx,
        result: RecordResult,
        record: CallingRecord,
        outcome: str,
        phone: str | None,
        now: datetime,
        note: str | None = None,
    ) -> None:
        """A record closed without dialing (every number on DNC, or no usable number):
        recorded as an attempt with ``call_attempted: false``."""
        disposition = SYSTEM_DISPOSITIONS[outcome]
        attempt = CallAttempt(
            tenant_id=ctx.tenant_id,
            campaign_id=ctx.id,
            list_id=record.list_id,
            record_id=record.id,
            result_id=result.id,
            mode=ctx.mode,
            state="done",
            phone=phone,
            call_attempted=False,
            outcome=outcome,
            disposition=disposition,
            disposition_outcome="do_not_call" if outcome == "dnc" else "complete",
            notes=note,
            created_at=now,
            ended_at=now,
        )
        s.add(attempt)
        result.total_attempts += 1
        result.giid = attempt.giid
        result.last_attempt_id = attempt.id
        result.last_phone = phone
        result.last_date = now
        result.last_call_duration = 0
        settle(
            result,
            max_attempts=ctx.max_attempts,
            now=now,
            disposition=disposition,
            complete=True,
            reason=outcome,
        )

    # ---- recovery ---------------------------------------------------------------------

    async def fail_stale_call(self, attempt_id: str) -> int:
        """A call whose lease ran out (its process vanished, its carrier went silent):
        it ends as failed and is hung up."""
        at = dialer_now(self.rt)
        async with self.rt.db.write() as s:
            locked = await lock_attempt(s, attempt_id)
            if locked is None:
                return 0
            attempt, result, campaign = locked
            if attempt.state != "dialing" or (attempt.lease_until and attempt.lease_until > at):
                return 0
            await calls.unanswered_in(
                s, attempt, result, campaign, "failed", at, self.rt.settings.default_phone_region
            )
            calls.hangup_after_commit(self.rt, s, attempt_id)
            changed(s, attempt.tenant_id, attempt_id)
        return 1

    async def sweep(self) -> int:
        """Recover attempts whose time ran out: calls whose dialing process vanished,
        preview offers nobody answered (or of stopped campaigns), wrap-ups never
        disposed. Each is taken under a row lock, so any process may sweep."""
        at = dialer_now(self.rt)
        async with self.rt.db.read() as s:
            stale = (
                await s.execute(
                    select(CallAttempt.id, CallAttempt.state)
                    .where(
                        CallAttempt.state.in_(("offered", "dialing", "wrapup")),
                        CallAttempt.lease_until < at,
                    )
                    .limit(200)
                )
            ).all()
            withdrawn = (
                await s.execute(
                    select(CallAttempt.id)
                    .join(Campaign, Campaign.id == CallAttempt.campaign_id)
                    .where(
                        CallAttempt.state == "offered",
                        (Campaign.state != "RUNNING") | Campaign.enabled.is_(False),
                    )
                    .limit(200)
                )
            ).all()
        done = 0
        for (attempt_id,) in withdrawn:
            done += await actions.withdraw_offer(self.rt, attempt_id)
        for attempt_id, state in stale:
            if state == "dialing":
                done += await self.fail_stale_call(attempt_id)
            elif state == "offered":
                done += await actions.expire_offer(self.rt, attempt_id)
            else:
                done += await actions.auto_dispose(self.rt, attempt_id)
        return done


def get_dialer(rt: Runtime) -> Dialer:
    found = rt.providers.get("dialer")
    if found is None:
        found = Dialer(rt)
        rt.providers["dialer"] = found
    dialer: Dialer = found
    return dialer
