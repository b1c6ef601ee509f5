"""Placing the calls of outbound attempts and acting on what the carrier reports.

An attempt moves to ``dialing`` in a transaction that also creates its carrier call row
(``telephony_calls``, same id); after the commit the call is placed (a task of this
process). Every carrier event — from the simulator or from Twilio's status callbacks,
in whichever process receives them — goes to ``on_event``, which in ONE transaction
applies it to the call row, moves the attempt (connected, answering machine, busy...),
settles its record, frees the agent or puts it in after-call work, and queues the
agent's realtime event.

The agent's leg: ``agent_number`` is the phone the answered call is bridged to (the
agent's mobile, work, default or external number). It is the seam for the WebRTC leg to
the desktop: when that exists, return its address here (e.g. Twilio's ``client:``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import Campaign
from switchboard.core.db import call_after_commit
from switchboard.core.runtime import Runtime
from switchboard.dialer.attempts import (
    SYSTEM_DISPOSITIONS,
    agent_in,
    attempt_event,
    changed,
    lock_attempt,
    next_number_in,
    now,
    retry_minutes,
    settle,
)
from switchboard.dnc import phones
from switchboard.lists.models import CallAttempt, RecordResult
from switchboard.recordings.actions import fetch_carrier_recordings
from switchboard.telephony import CallEvent, CallRequest, CarrierError, Telephony, get_telephony
from switchboard.telephony.calls import Change, apply_in, lock_call, new_call
from switchboard.telephony.models import TelephonyCall, TelephonyCampaignOptions
from switchboard.users.models import User

log = logging.getLogger(__name__)

TASKS_KEY = "dialer.tasks"


def carrier(rt: Runtime) -> Telephony:
    return get_telephony(rt, functools.partial(on_event, rt))


# ---- this process's call tasks ----------------------------------------------------------


def _tasks(rt: Runtime) -> set[asyncio.Task[None]]:
    found = rt.providers.get(TASKS_KEY)
    if not isinstance(found, set):
        found = set()
        rt.providers[TASKS_KEY] = found
    return found


def spawn(rt: Runtime, coro: Coroutine[Any, Any, None]) -> None:
    tasks = _tasks(rt)
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drain(rt: Runtime) -> None:
    """Wait until the calls this process is placing, and the events its carrier owes,
    are done (tests drive the dialer with this instead of sleeping)."""
    for _ in range(100):
        tasks = list(_tasks(rt))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await carrier(rt).drain()
        if not _tasks(rt):
            return


async def close(rt: Runtime) -> None:
    for task in list(_tasks(rt)):
        task.cancel()
    for task in list(_tasks(rt)):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


# ---- starting a call --------------------------------------------------------------------


def agent_number(user: User | None, region: str) -> str | None:
    """The phone the agent's leg rings (see the module doc: the WebRTC seam)."""
    if user is None:
        return None
    for raw in (user.mobile_phone, user.work_phone, user.default_phone, user.external_number):
        if raw and raw.strip():
            e164 = phones.normalize(raw.strip(), region)
            if e164:
                return e164
    return None


def needs_agent_number(rt: Runtime) -> bool:
    """Whether the carrier connects the agent by calling the agent's phone."""
    return rt.settings.telephony_provider != "simulated"


async def dial_in(
    rt: Runtime,
    s: AsyncSession,
    attempt: CallAttempt,
    *,
    attempt_number: int,
    agent: User | None,
    at: datetime,
) -> None:
    """Inside the transaction that moved ``attempt`` to ``dialing``: create its carrier
    call row, and place the call once the transaction has committed."""
    options = await s.get(TelephonyCampaignOptions, attempt.campaign_id)
    request = CallRequest(
        tenant_id=attempt.tenant_id,
        call_id=attempt.id,
        number=attempt.phone_e164 or "",
        caller_id=attempt.caller_id,
        attempt_number=max(1, attempt_number),
        agent_number=agent_number(agent, rt.settings.default_phone_region),
        machine_detection=options.machine_detection if options else "off",
        record=options.record if options else True,
    )
    tel = carrier(rt)
    s.add(new_call(request, provider=tel.name, purpose="outbound", now=at))

    async def place_later() -> None:
        spawn(rt, place(rt, request))

    call_after_commit(s, place_later)


async def place(rt: Runtime, request: CallRequest) -> None:
    """Hand the call to the carrier; a refusal ends the attempt like a failed call."""
    try:
        sid = await carrier(rt).place_call(request)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.shield(on_event(rt, _refused(request.call_id, "failed", "shutdown"))),
                timeout=2,
            )
        raise
    except CarrierError as e:
        log.warning("carrier refused call %s: %s", request.call_id, e)
        await on_event(rt, _refused(request.call_id, e.outcome, str(e)))
        return
    except Exception as e:
        log.exception("carrier failed on call %s", request.call_id)
        await on_event(rt, _refused(request.call_id, "failed", str(e)))
        return
    async with rt.db.write() as s:
        call = await lock_call(s, request.call_id)
        if call is not None and not call.carrier_sid:
            call.carrier_sid = sid
            if call.status == "placing":
                call.status = "queued"


def _refused(call_id: str, outcome: Any, error: str) -> CallEvent:
    return CallEvent(call_id, "ended", "failed", outcome=outcome, error=error[:255])


async def hangup(rt: Runtime, call_id: str) -> None:
    """Hang the call up at the carrier (after a commit; errors are logged)."""
    async with rt.db.read() as s:
        call = await s.get(TelephonyCall, call_id)
        sid = call.carrier_sid if call is not None else None
    try:
        await carrier(rt).hangup(call_id, sid)
    except Exception:
        log.warning("hanging up call %s failed", call_id, exc_info=True)


def hangup_after_commit(rt: Runtime, s: AsyncSession, call_id: str) -> None:
    async def go() -> None:
        await hangup(rt, call_id)

    call_after_commit(s, go)


# ---- what the carrier reports -----------------------------------------------------------


async def on_event(rt: Runtime, event: CallEvent) -> None:
    """Apply one carrier event, in one transaction (the sink of every carrier)."""
    at = now(rt)
    async with rt.db.write() as s:
        call = await lock_call(s, event.call_id)
        if call is None:
            log.info("event for an unknown call %s ignored", event.call_id)
            return
        change = apply_in(call, event, at)
        if change is None:
            return
        if change.kind == "recording":
            if call.recording_status == "pending":
                call_after_commit(s, functools.partial(_fetch_recordings, rt))
            return
        await _attempt_changed(rt, s, event.call_id, change, at)


async def answer(rt: Runtime, event: CallEvent) -> str | None:
    """The called party answered (the carrier asks what to do with the call): apply
    the verdict; the number to bridge the call to, when an agent waits for it (None:
    hang up — a machine, or the attempt ended meanwhile)."""
    await on_event(rt, event)
    async with rt.db.read() as s:
        call = await s.get(TelephonyCall, event.call_id)
        attempt = await s.get(CallAttempt, event.call_id)
    if call is None or attempt is None or attempt.state != "connected":
        return None
    return call.agent_number


async def _fetch_recordings(rt: Runtime) -> None:
    spawn(rt, _quietly(fetch_carrier_recordings(rt)))


async def _quietly(coro: Coroutine[Any, Any, int]) -> None:
    try:
        await coro
    except Exception:
        log.exception("fetching carrier recordings failed")


async def _attempt_changed(
    rt: Runtime, s: AsyncSession, attempt_id: str, change: Change, at: datetime
) -> None:
    locked = await lock_attempt(s, attempt_id)
    if locked is None:
        if change.kind in ("answered", "machine"):
            hangup_after_commit(rt, s, attempt_id)  # its record is gone
        return
    attempt, result, campaign = locked
    if change.kind == "answered":
        if attempt.state != "dialing":
            hangup_after_commit(rt, s, attempt_id)  # ended meanwhile (sweep, deletion)
            return
        attempt.state = "connected"
        attempt.outcome = "answer"
        attempt.answered_at = at
        attempt.dialing_duration = _seconds(attempt.dial_started_at, at)
        attempt.lease_until = None
        result.updated_at = at
        await agent_in(
            s,
            attempt.tenant_id,
            attempt.agent_user_id,
            event=attempt_event("outbound_connected", attempt, campaign.name),
        )
    elif change.kind in ("machine", "unanswered"):
        if attempt.state != "dialing":
            return
        if change.kind == "machine":
            hangup_after_commit(rt, s, attempt_id)
        await unanswered_in(
            s,
            attempt,
            result,
            campaign,
            change.outcome or "failed",
            at,
            rt.settings.default_phone_region,
        )
        if change.error:
            attempt.notes = attempt.notes or change.error
    else:  # hung_up: the customer ended the call
        if attempt.state != "connected":
            return
        attempt.state = "wrapup"
        attempt.hangup_at = at
        attempt.call_duration = _seconds(attempt.answered_at, at)
        attempt.lease_until = at + timedelta(seconds=campaign.wrapup_timeout_seconds)
        result.last_call_duration = attempt.call_duration
        result.updated_at = at
        await agent_in(
            s,
            attempt.tenant_id,
            attempt.agent_user_id,
            release=True,
            wrap_up=True,
            event=attempt_event("outbound_hangup", attempt, campaign.name),
        )
    changed(s, attempt.tenant_id, attempt.id)


def _seconds(start: datetime | None, end: datetime) -> int:
    return max(0, round((end - start).total_seconds())) if start else 0


async def unanswered_in(
    s: AsyncSession,
    attempt: CallAttempt,
    result: RecordResult,
    campaign: Campaign,
    outcome: str,
    at: datetime,
    region: str,
) -> None:
    """Busy, no answer, answering machine, invalid number or failure: close the
    attempt, schedule the record (an invalid number moves on to the record's next
    phone), free the agent and tell it."""
    attempt.state = "done"
    attempt.outcome = outcome
    attempt.disposition = SYSTEM_DISPOSITIONS.get(outcome, "Failed")
    attempt.ended_at = at
    attempt.dialing_duration = _seconds(attempt.dial_started_at, at)
    attempt.lease_until = None
    result.last_call_duration = 0
    if outcome == "invalid":
        await next_number_in(s, attempt, result, region)
        settle(
            result,
            max_attempts=campaign.max_attempts,
            now=at,
            disposition=attempt.disposition,
            complete=result.phone_index < 0,
            reason="invalid",
        )
        result.phone_index = max(0, result.phone_index)
    else:
        settle(
            result,
            max_attempts=campaign.max_attempts,
            now=at,
            disposition=attempt.disposition,
            retry_minutes=retry_minutes(campaign, outcome),
        )
    attempt.disposition_outcome = "complete" if result.completed else "retry"
    await agent_in(
        s,
        attempt.tenant_id,
        attempt.agent_user_id,
        release=True,
        event=attempt_event("outbound_ended", attempt, campaign.name),
    )
