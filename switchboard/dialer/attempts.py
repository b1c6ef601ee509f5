"""What every dialer operation shares: the clock, attempt rows and their events, record
settling, and the agent side of an attempt inside the caller's transaction.

Lock order in every dialer transaction: the carrier call row, the attempt, its record's
result, then the agent's session row. Agents are changed through the agents domain's
in-transaction helpers (``lock_agent``, ``release_in``, ``queue_event``); their bus
wake-ups are queued with ``after_commit``, so an operation is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.actions import agent_topic, lock_agent, queue_event, release_in
from switchboard.campaigns.models import Campaign
from switchboard.chats.log import routing_topic
from switchboard.core.db import after_commit, utcnow
from switchboard.core.runtime import Runtime
from switchboard.dnc import phones
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult

MEDIA = "outbound"  # the agents domain's media of outbound calls (its "voice" slot)
SLOT = "voice"
CLOCK_KEY = "dialer.clock"
ACTIVE = ("offered", "dialing", "connected", "wrapup")
SYSTEM_DISPOSITIONS = {
    "busy": "Busy",
    "no_answer": "No answer",
    "invalid": "Invalid number",
    "failed": "Failed",
    "machine": "Answering machine",
    "dnc": "Do Not Call",
    "skipped": "Skipped",
    "timeout": "Preview timeout",
    "no_disposition": "No disposition",
}
# the campaign's retryMinutes key of each outcome (a machine is retried as no answer)
RETRY_KEY = {"machine": "no_answer"}


def now(rt: Runtime) -> datetime:
    """The dialer's time: ``rt.providers[CLOCK_KEY]()`` when a test injected a clock."""
    clock: Callable[[], datetime] | None = rt.providers.get(CLOCK_KEY)
    return clock() if clock is not None else utcnow()


def outbound_topic(tenant_id: str) -> str:
    """Published after every change of an attempt (statistics and supervisors listen)."""
    return f"outbound:{tenant_id}"


def retry_minutes(campaign: Campaign, outcome: str) -> float:
    return float((campaign.retry_minutes or {}).get(RETRY_KEY.get(outcome, outcome), 0.0))


def settle(
    result: RecordResult,
    *,
    max_attempts: int,
    now: datetime,
    disposition: str | None,
    complete: bool = False,
    retry_minutes: float = 0.0,
    reason: str | None = None,
) -> None:
    """Close an attempt on its record: complete it, or make it due again after
    ``retry_minutes`` (complete anyway once the dial attempts are used up)."""
    result.last_disposition = disposition
    result.updated_at = now
    if not complete and result.dial_attempts >= max_attempts:
        complete, reason = True, "max_attempts"
    if complete:
        result.state = "done"
        result.completed = True
        result.completed_at = now
        result.record_disposition = disposition
        result.reason = reason
    else:
        result.state = "idle"
        result.next_attempt_at = now + timedelta(minutes=max(0.0, retry_minutes))
        result.reason = reason or "retry"


def attempt_event(
    kind: str, attempt: CallAttempt, campaign: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind,
        "attemptId": attempt.id,
        "campaign": campaign,
        "mode": attempt.mode,
        "state": attempt.state,
        "phone": attempt.phone,
        "globalInteractionID": attempt.giid,
    }
    if attempt.outcome:
        body["outcome"] = attempt.outcome
    body.update(extra or {})
    return body


async def lock_attempt(
    s: AsyncSession, attempt_id: str
) -> tuple[CallAttempt, RecordResult, Campaign] | None:
    """The attempt, its record's result and its campaign; attempt then result locked."""
    attempt = (
        await s.execute(select(CallAttempt).where(CallAttempt.id == attempt_id).with_for_update())
    ).scalar_one_or_none()
    if attempt is None:
        return None
    result = (
        await s.execute(
            select(RecordResult).where(RecordResult.id == attempt.result_id).with_for_update()
        )
    ).scalar_one_or_none()
    campaign = await s.get(Campaign, attempt.campaign_id)
    if result is None or campaign is None:
        return None
    return attempt, result, campaign


async def next_number_in(
    s: AsyncSession, attempt: CallAttempt, result: RecordResult, region: str
) -> None:
    """After an invalid number, move on to the record's next phone field (-1: none)."""
    defn = await s.get(CallingList, attempt.list_id)
    record = await s.get(CallingRecord, attempt.record_id)
    if defn is None or record is None:
        result.phone_index = -1
        return
    fields = defn.phone_fields
    for i in range(result.phone_index, len(fields)):
        raw = str((record.data or {}).get(fields[i]) or "").strip()
        if raw and phones.normalize(raw, region) == attempt.phone_e164:
            later = [f for f in fields[i + 1 :] if str((record.data or {}).get(f) or "").strip()]
            result.phone_index = i + 1 if later else -1
            return
    result.phone_index = -1


def changed(s: AsyncSession, tenant_id: str, attempt_id: str) -> None:
    after_commit(s, outbound_topic(tenant_id), attempt_id)


# ---- the agent's side, inside the caller's transaction ------------------------------


async def agent_in(
    s: AsyncSession,
    tenant_id: str,
    user_id: str | None,
    *,
    release: bool = False,
    wrap_up: bool = False,
    finish_wrap_up: bool = False,
    event: Mapping[str, Any] | None = None,
) -> None:
    """Free the agent's slot (or move it to after-call work, or end that), and queue an
    event on its realtime channel; the wake-ups follow the commit."""
    if not user_id:
        return
    agent = await lock_agent(s, tenant_id, user_id)
    if agent is None:
        return
    if finish_wrap_up:
        await release_in(s, agent, SLOT, from_wrapup=True)
    elif release:
        await release_in(s, agent, SLOT, wrap_up=wrap_up)
    if event is not None:
        payload = {k: v for k, v in event.items() if k != "type"}
        queue_event(s, agent, str(event["type"]), payload)
    after_commit(s, agent_topic(user_id), "")
    if finish_wrap_up or (release and not wrap_up):
        after_commit(s, routing_topic(tenant_id), "agent")
