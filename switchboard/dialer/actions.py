"""What agents do with outbound attempts (start or skip a preview, hang up, set the
disposition) and what the sweeper does when they don't. Each action is one transaction:
it locks the attempt (then its record's result, then the agent), changes them, queues
the agent's realtime event, and the bus wake-ups (``outbound:<tenant>``, the agent's
topics) and carrier requests (place, hang up) follow the commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns import service as campaigns_service
from switchboard.campaigns.models import Campaign
from switchboard.core.db import after_commit, call_after_commit
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.dialer import calls
from switchboard.dialer.attempts import (
    ACTIVE,
    SYSTEM_DISPOSITIONS,
    agent_in,
    attempt_event,
    changed,
    lock_attempt,
    now,
    outbound_topic,
    retry_minutes,
    settle,
)
from switchboard.dnc import actions as dnc_actions
from switchboard.dnc.models import DncList
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.lists.records import entry, fmt_time
from switchboard.services.models import Disposition
from switchboard.users.models import User


def _seconds(start: datetime | None, end: datetime) -> int:
    return max(0, round((end - start).total_seconds())) if start else 0


# ---- reading ----------------------------------------------------------------------------


async def current(rt: Runtime, *, tenant_id: str, user_id: str) -> list[dict[str, Any]]:
    """The agent's open outbound attempts (offered, dialing, connected, wrap-up)."""
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(CallAttempt, Campaign.name, CallingRecord, CallingList)
                .join(Campaign, Campaign.id == CallAttempt.campaign_id)
                .join(CallingRecord, CallingRecord.id == CallAttempt.record_id)
                .join(CallingList, CallingList.id == CallAttempt.list_id)
                .where(
                    CallAttempt.tenant_id == tenant_id,
                    CallAttempt.agent_user_id == user_id,
                    CallAttempt.state.in_(ACTIVE),
                )
                .order_by(CallAttempt.created_at)
            )
        ).all()
        out = []
        for attempt, campaign, record, defn in rows:
            out.append(view(attempt, campaign, defn, record))
        return out


def view(
    attempt: CallAttempt, campaign: str, defn: CallingList, record: CallingRecord
) -> dict[str, Any]:
    return {
        "attemptId": attempt.id,
        "campaign": campaign,
        "list": defn.name,
        "mode": attempt.mode,
        "state": attempt.state,
        "phone": attempt.phone,
        "outcome": attempt.outcome,
        "disposition": attempt.disposition,
        "notes": attempt.notes,
        "globalInteractionID": attempt.giid,
        "entry": entry(defn, record.data or {}),
        "createdAt": fmt_time(attempt.created_at),
        "answeredAt": fmt_time(attempt.answered_at),
        "expiresAt": fmt_time(attempt.lease_until),
    }


async def get_view(rt: Runtime, *, tenant_id: str, user_id: str, attempt_id: str) -> dict[str, Any]:
    async with rt.db.read() as s:
        row = (
            await s.execute(
                select(CallAttempt, Campaign.name, CallingRecord, CallingList)
                .join(Campaign, Campaign.id == CallAttempt.campaign_id)
                .join(CallingRecord, CallingRecord.id == CallAttempt.record_id)
                .join(CallingList, CallingList.id == CallAttempt.list_id)
                .where(
                    CallAttempt.id == attempt_id,
                    CallAttempt.tenant_id == tenant_id,
                    CallAttempt.agent_user_id == user_id,
                )
            )
        ).one_or_none()
        if row is None:
            raise NotFound("Outbound attempt not found")
        attempt, campaign, record, defn = row
        return view(attempt, campaign, defn, record)


async def dispositions_for(
    rt: Runtime, *, tenant_id: str, user_id: str, attempt_id: str
) -> Sequence[Disposition]:
    async with rt.db.read() as s:
        attempt = await _owned(s, tenant_id, user_id, attempt_id)
        campaign = await s.get(Campaign, attempt.campaign_id)
        if campaign is None:
            raise NotFound("Campaign not found")
        return [
            d
            for d in await campaigns_service.dispositions(session=s, campaign=campaign)
            if d.agent_can_select
        ]


async def _owned(s: AsyncSession, tenant_id: str, user_id: str, attempt_id: str) -> CallAttempt:
    attempt = await s.get(CallAttempt, attempt_id)
    if attempt is None or attempt.tenant_id != tenant_id or attempt.agent_user_id != user_id:
        raise NotFound("Outbound attempt not found")
    owned: CallAttempt = attempt
    return owned


async def _locked(
    s: AsyncSession, tenant_id: str, user_id: str, attempt_id: str
) -> tuple[CallAttempt, RecordResult, Campaign]:
    await _owned(s, tenant_id, user_id, attempt_id)
    locked = await lock_attempt(s, attempt_id)
    if locked is None:
        raise NotFound("Outbound attempt not found")
    return locked


# ---- the agent's actions ------------------------------------------------------------------


async def start_preview(rt: Runtime, *, tenant_id: str, user_id: str, attempt_id: str) -> None:
    """Preview: the agent places the call of the offered record."""
    at = now(rt)
    async with rt.db.write() as s:
        attempt, result, campaign = await _locked(s, tenant_id, user_id, attempt_id)
        if attempt.state != "offered":
            raise Conflict(f"The attempt is {attempt.state}, not offered")
        attempt.state = "dialing"
        attempt.call_attempted = True
        attempt.dial_started_at = at
        attempt.lease_until = at + timedelta(seconds=rt.settings.dialer_lease_seconds)
        result.dial_attempts += 1
        result.last_date = at
        result.updated_at = at
        agent = await s.get(User, user_id)
        await agent_in(
            s,
            tenant_id,
            user_id,
            event=attempt_event(
                "outbound_dialing", attempt, campaign.name, {"attemptNumber": result.dial_attempts}
            ),
        )
        await calls.dial_in(rt, s, attempt, attempt_number=result.dial_attempts, agent=agent, at=at)
        changed(s, tenant_id, attempt_id)


async def skip_preview(
    rt: Runtime, *, tenant_id: str, user_id: str, attempt_id: str, notes: str | None = None
) -> None:
    """Preview: the agent passes on the record; it is offered again after the campaign's
    ``retryMinutes.skipped``."""
    at = now(rt)
    async with rt.db.write() as s:
        attempt, result, campaign = await _locked(s, tenant_id, user_id, attempt_id)
        if attempt.state != "offered":
            raise Conflict(f"The attempt is {attempt.state}, not offered")
        await _close_unattempted_in(s, attempt, result, campaign, "skipped", at, notes)


async def _close_unattempted_in(
    s: AsyncSession,
    attempt: CallAttempt,
    result: RecordResult,
    campaign: Campaign,
    outcome: str,
    at: datetime,
    notes: str | None = None,
) -> None:
    attempt.state = "done"
    attempt.outcome = outcome
    attempt.disposition = SYSTEM_DISPOSITIONS[outcome]
    attempt.disposition_outcome = "retry"
    attempt.ended_at = at
    attempt.lease_until = None
    if notes is not None:
        attempt.notes = notes
    settle(
        result,
        max_attempts=campaign.max_attempts,
        now=at,
        disposition=attempt.disposition,
        retry_minutes=retry_minutes(campaign, outcome),
    )
    await agent_in(
        s,
        attempt.tenant_id,
        attempt.agent_user_id,
        release=True,
        event=attempt_event("outbound_ended", attempt, campaign.name),
    )
    changed(s, attempt.tenant_id, attempt.id)


async def hangup(rt: Runtime, *, tenant_id: str, user_id: str, attempt_id: str) -> None:
    """End a connected call; the agent goes to after-call work until the disposition (or
    the campaign's wrap-up timeout)."""
    at = now(rt)
    async with rt.db.write() as s:
        attempt, result, campaign = await _locked(s, tenant_id, user_id, attempt_id)
        if attempt.state == "dialing":
            raise Conflict("The call is still dialing")
        if attempt.state != "connected":
            raise Conflict(f"The attempt is {attempt.state}, not connected")
        attempt.state = "wrapup"
        attempt.hangup_at = at
        attempt.call_duration = _seconds(attempt.answered_at, at)
        attempt.lease_until = at + timedelta(seconds=campaign.wrapup_timeout_seconds)
        result.last_call_duration = attempt.call_duration
        result.updated_at = at
        await agent_in(s, tenant_id, user_id, release=True, wrap_up=True)
        calls.hangup_after_commit(rt, s, attempt_id)
        changed(s, tenant_id, attempt_id)


async def dispose(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    attempt_id: str,
    disposition: str,
    notes: str | None = None,
    retry_minutes: float | None = None,
) -> None:
    """Set the disposition (and notes): the disposition's outcome decides the record's
    fate — ``complete`` closes it, ``retry`` makes it due again after its minutes,
    ``do_not_call`` puts the number on the campaign's internal DNC list and closes it,
    ``none`` retries like an unanswered call. Ends a connected call; ends wrap-up."""
    if retry_minutes is not None and retry_minutes < 0:
        raise Invalid("retryMinutes must not be negative")
    at = now(rt)
    async with rt.db.write() as s:
        attempt, result, campaign = await _locked(s, tenant_id, user_id, attempt_id)
        if attempt.state not in ("offered", "connected", "wrapup"):
            raise Conflict(f"The attempt is {attempt.state}: no disposition can be set")
        choices = {
            d.name: d
            for d in await campaigns_service.dispositions(session=s, campaign=campaign)
            if d.agent_can_select
        }
        chosen = choices.get(disposition)
        if chosen is None:
            raise Invalid(f"Unknown disposition: {disposition}")
        if attempt.state == "offered" and not chosen.preview:
            raise Invalid(f"Disposition {disposition} is not available in preview")
        previous = attempt.state
        if previous == "connected":
            attempt.hangup_at = at
            attempt.call_duration = _seconds(attempt.answered_at, at)
            result.last_call_duration = attempt.call_duration
        attempt.state = "done"
        attempt.ended_at = at
        attempt.lease_until = None
        attempt.disposition = chosen.name
        attempt.disposition_outcome = chosen.outcome
        if notes is not None:
            attempt.notes = notes
        target: str | None = None
        if chosen.outcome == "do_not_call" and attempt.phone_e164:
            target = await _dnc_target(s, campaign)
        minutes = retry_minutes
        if minutes is None:
            minutes = float(
                chosen.retry_minutes
                if chosen.retry_minutes is not None
                else (campaign.retry_minutes or {}).get("no_answer", 0.0)
            )
        settle(
            result,
            max_attempts=campaign.max_attempts,
            now=at,
            disposition=chosen.name,
            complete=chosen.outcome in ("complete", "do_not_call"),
            retry_minutes=minutes,
            reason=chosen.outcome,
        )
        await agent_in(
            s,
            tenant_id,
            user_id,
            release=previous in ("offered", "connected"),
            finish_wrap_up=previous == "wrapup",
            event=attempt_event("outbound_ended", attempt, campaign.name),
        )
        if previous == "connected":
            calls.hangup_after_commit(rt, s, attempt_id)
        if target is not None and attempt.phone_e164:
            _dnc_after_commit(rt, s, tenant_id, target, attempt.phone_e164)
        changed(s, tenant_id, attempt_id)


def _dnc_after_commit(
    rt: Runtime, s: AsyncSession, tenant_id: str, list_id: str, number: str
) -> None:
    """The number goes on the DNC list once the disposition is committed (the DNC domain
    has no in-transaction variant of ``add_number`` yet)."""

    async def add() -> None:
        await dnc_actions.add_number(
            rt, tenant_id=tenant_id, list_id=list_id, number=number, campaign=None
        )

    call_after_commit(s, add)


async def _dnc_target(s: AsyncSession, campaign: Campaign) -> str | None:
    """The internal list a "do not call" disposition feeds: the campaign's, else the
    tenant's first internal list for every campaign, else a new ``Internal DNC``."""
    if campaign.dnc_target_list_id:
        return campaign.dnc_target_list_id
    found = (
        await s.execute(
            select(DncList.id)
            .where(
                DncList.tenant_id == campaign.tenant_id,
                DncList.type == "internal",
                DncList.all_campaigns.is_(True),
            )
            .order_by(DncList.created_at, DncList.name)
            .limit(1)
        )
    ).scalar_one_or_none()
    if found is not None:
        return str(found)
    dnc = DncList(tenant_id=campaign.tenant_id, name="Internal DNC", type="internal")
    s.add(dnc)
    await s.flush()
    return dnc.id


# ---- the sweeper's actions ----------------------------------------------------------------


async def expire_offer(rt: Runtime, attempt_id: str) -> int:
    """A preview offer the agent neither started nor skipped in time."""
    at = now(rt)
    async with rt.db.write() as s:
        locked = await lock_attempt(s, attempt_id)
        if locked is None:
            return 0
        attempt, result, campaign = locked
        if attempt.state != "offered" or (attempt.lease_until and attempt.lease_until > at):
            return 0
        await _close_unattempted_in(s, attempt, result, campaign, "timeout", at)
    return 1


async def withdraw_offer(rt: Runtime, attempt_id: str) -> int:
    """A preview offer of a campaign that stopped: it never happened (the record is
    due again when the campaign restarts)."""
    at = now(rt)
    async with rt.db.write() as s:
        locked = await lock_attempt(s, attempt_id)
        if locked is None:
            return 0
        attempt, result, campaign = locked
        if attempt.state != "offered" or (campaign.state == "RUNNING" and campaign.enabled):
            return 0
        tenant_id, agent = attempt.tenant_id, attempt.agent_user_id
        event = attempt_event("outbound_withdrawn", attempt, campaign.name)
        result.state = "idle"
        result.total_attempts = max(0, result.total_attempts - 1)
        result.next_attempt_at = at
        result.updated_at = at
        await s.delete(attempt)
        await agent_in(s, tenant_id, agent, release=True, event=event)
        changed(s, tenant_id, attempt_id)
    return 1


async def auto_dispose(rt: Runtime, attempt_id: str) -> int:
    """Wrap-up that outlived the campaign's timeout: "No disposition", retried later."""
    at = now(rt)
    async with rt.db.write() as s:
        locked = await lock_attempt(s, attempt_id)
        if locked is None:
            return 0
        attempt, result, campaign = locked
        if attempt.state != "wrapup" or (attempt.lease_until and attempt.lease_until > at):
            return 0
        attempt.state = "done"
        attempt.ended_at = at
        attempt.lease_until = None
        attempt.disposition = SYSTEM_DISPOSITIONS["no_disposition"]
        attempt.disposition_outcome = "retry"
        settle(
            result,
            max_attempts=campaign.max_attempts,
            now=at,
            disposition=attempt.disposition,
            retry_minutes=retry_minutes(campaign, "timeout"),
        )
        await agent_in(
            s,
            attempt.tenant_id,
            attempt.agent_user_id,
            finish_wrap_up=True,
            event=attempt_event("outbound_ended", attempt, campaign.name),
        )
        changed(s, attempt.tenant_id, attempt_id)
    return 1


# ---- attempts whose record or campaign is being deleted -----------------------------------


@dataclass(frozen=True)
class Open:
    """An open attempt about to be deleted with its record or campaign."""

    attempt_id: str
    tenant_id: str
    agent: str | None
    state: str
    campaign: str


async def open_attempts(s: AsyncSession, *conditions: Any) -> list[Open]:
    """The open attempts matching ``conditions`` (call before deleting them)."""
    rows = await s.execute(
        select(
            CallAttempt.id,
            CallAttempt.tenant_id,
            CallAttempt.agent_user_id,
            CallAttempt.state,
            Campaign.name,
        )
        .join(Campaign, Campaign.id == CallAttempt.campaign_id)
        .where(CallAttempt.state.in_(ACTIVE), *conditions)
    )
    return [Open(*row) for row in rows.all()]


async def abandon(rt: Runtime, attempts: Sequence[Open]) -> None:
    """After their rows were deleted: hang up their calls and free their agents (one
    transaction for the agents)."""
    if not attempts:
        return
    async with rt.db.write() as s:
        for a in sorted(attempts, key=lambda a: a.agent or ""):
            if a.state in ("dialing", "connected"):
                calls.hangup_after_commit(rt, s, a.attempt_id)
            event = {
                "type": "outbound_withdrawn",
                "attemptId": a.attempt_id,
                "campaign": a.campaign,
                "state": "deleted",
            }
            await agent_in(
                s,
                a.tenant_id,
                a.agent,
                release=a.state != "wrapup",
                finish_wrap_up=a.state == "wrapup",
                event=event,
            )
            after_commit(s, outbound_topic(a.tenant_id), a.attempt_id)
