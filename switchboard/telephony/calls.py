"""Carrier calls as rows: creating them, and applying a carrier's events to them.

``apply_in`` runs inside the caller's write transaction on a locked ``TelephonyCall``
and tells what the event changed for the call's owner (``Change``), or None when it
changes nothing (a duplicate, an event older than the last one applied, progress).
Carriers report in their own order and may repeat themselves; the rules:

* the first verdict wins: ``answered`` (a person) or ``machine`` (answering-machine
  detection); with detection on, an answer without a verdict only marks the call as
  in progress (the verdict follows);
* an end after a verdict is a hang-up (``hung_up``); before one, the call was not
  answered (``unanswered`` with the carrier's outcome); later ends are ignored;
* a recording can be reported after the end (``recording``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.telephony.models import TelephonyCall
from switchboard.telephony.protocol import CallEvent, CallRequest, Outcome

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")

ChangeKind = Literal["answered", "machine", "unanswered", "hung_up", "recording"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    outcome: Outcome | None = None
    error: str | None = None


def new_call(request: CallRequest, *, provider: str, purpose: str, now: datetime) -> TelephonyCall:
    return TelephonyCall(
        id=request.call_id,
        tenant_id=request.tenant_id,
        purpose=purpose,
        provider=provider,
        number=request.number,
        caller_id=request.caller_id,
        agent_number=request.agent_number,
        machine_detection=request.machine_detection,
        record=request.record,
        status="placing",
        sequence=-1,
        created_at=now,
        duration=0,
        recording_duration=0,
        recording_tries=0,
    )


async def lock_call(s: AsyncSession, call_id: str) -> TelephonyCall | None:
    stmt = select(TelephonyCall).where(TelephonyCall.id == call_id).with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


def apply_in(call: TelephonyCall, event: CallEvent, now: datetime) -> Change | None:
    if event.carrier_sid and not call.carrier_sid:
        call.carrier_sid = event.carrier_sid
    if event.kind == "recording":
        if call.recording_status in ("pending", "fetched"):
            return None
        if event.recording_url:
            call.recording_sid = event.recording_sid
            call.recording_url = event.recording_url
            call.recording_duration = event.recording_duration
            call.recording_status = "pending"
            call.recording_due_at = None  # at once (then: the fetcher's retry time)
        else:
            call.recording_status = "absent"
        return Change("recording")
    if event.sequence is not None:
        if event.sequence <= call.sequence:
            return None
        call.sequence = event.sequence
    if call.status in FINAL:
        return None
    if event.kind == "ringing":
        if call.answered_at is None:
            call.status = event.status
        return None
    if event.kind == "answered":
        call.status = "in-progress"
        call.answered_at = call.answered_at or now
        outcome = event.outcome
        if outcome is None and call.machine_detection == "off":
            outcome = "answer"
        if outcome is None or call.answered_by is not None:
            return None
        call.answered_by = event.answered_by or ("human" if outcome == "answer" else "machine")
        return Change("machine" if outcome == "machine" else "answered", outcome)
    # ended
    call.status = event.status
    call.ended_at = now
    call.duration = event.duration
    call.error = (event.error or "")[:255] or None
    if call.answered_by is not None:
        return Change("hung_up")
    return Change("unanswered", event.outcome or "no_answer", event.error)
