"""Making recordings of finished calls, and erasing them.

Calls of a real carrier are recorded by the carrier: when it reports the recording
(``telephony_calls.recording_status = "pending"``), ``fetch_carrier_recordings`` downloads
it (retried every ``carrier_recording_retry_seconds``, ``carrier_recording_max_tries``
times) and stores it like the others. Calls of the simulated carrier have no audio, so
recordings are made from what the dialer and the interaction records store: an
answered outbound attempt that was hung up (``wrapup`` or ``done`` with
``answered_at``), and an answered step of a *voice* interaction that ended.
``record_finished`` finds those without a recording, synthesises the call's audio
(``audio.py``) into files under ``data_dir/recordings/<tenant>/<giid>/``, then inserts
the row; the unique ``(source, source_id)`` makes N processes create each recording
once (files are written atomically to deterministic paths, so a process that loses the
race wrote the same bytes).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.campaigns.models import Campaign
from switchboard.core.db import utcnow
from switchboard.core.errors import NotFound
from switchboard.core.runtime import Runtime
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.lists.models import CallAttempt
from switchboard.recordings import audio
from switchboard.recordings.models import INTERACTION, OUTBOUND, Recording
from switchboard.services.models import Service
from switchboard.telephony import fetch_recording
from switchboard.telephony.models import TelephonyCall
from switchboard.tenants.models import Tenant
from switchboard.users.models import User

log = logging.getLogger(__name__)
audit = logging.getLogger("switchboard.audit")

BATCH = 20
LOOKBACK = timedelta(days=1)  # how far back a process looks after it starts
SLACK = timedelta(seconds=120)  # transactions that commit late
OPEN_ATTEMPTS = ("offered", "dialing", "connected")
WATERMARKS = "recordings.watermarks"


@dataclass
class Party:
    party_type: str  # USER | CONTACT | UNIDENTIFIED
    phone: str | None
    user_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    offset: float = 0.0
    duration: float = 0.0


@dataclass
class Call:
    """What a recording is made of (read from the dialer or the interaction records)."""

    tenant_id: str
    source: str
    source_id: str
    giid: str
    step_id: str
    interaction_id: str
    started_at: datetime
    ended_at: datetime
    direction: str
    customer_phone: str | None
    service_name: str | None
    disposition: str | None
    notes: str | None
    agent: User | None
    parties: list[Party] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return max(1.0, (self.ended_at - self.started_at).total_seconds())


def party_id(step_id: str, index: int) -> str:
    """A stable numeric party id (the seed's look: ``"704384191"``)."""
    digest = hashlib.sha256(f"{step_id}:{index}".encode()).digest()
    return str(100_000_000 + int.from_bytes(digest[:4], "big") % 900_000_000)


def local_time(value: datetime, tz_name: str | None) -> datetime:
    try:
        tz = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return value.astimezone(tz)


def file_name(call: Call, tz_name: str | None) -> str:
    """``20190315124931_Restricted_navarro_C6A1ECF16C4E4D13B848718273ECB0CA.wav``."""
    stamp = local_time(call.started_at, tz_name).strftime("%Y%m%d%H%M%S")
    phone = (call.customer_phone or "Restricted").lstrip("+") or "Restricted"
    parts = [stamp, phone]
    if call.agent is not None:
        parts.append(call.agent.login_id)
    parts.append(call.step_id.replace("-", "").upper())
    return "_".join(parts) + ".wav"


# ---- finding finished calls -----------------------------------------------------------


def _watermarks(rt: Runtime) -> dict[str, datetime]:
    found = rt.providers.get(WATERMARKS)
    if not isinstance(found, dict):
        found = {}
        rt.providers[WATERMARKS] = found
    return found


async def _outbound_calls(
    rt: Runtime, s: AsyncSession, tenants: list[str], since: datetime
) -> list[Call]:
    stmt = (
        select(CallAttempt, Campaign.name, Service.name, User)
        .join(Campaign, Campaign.id == CallAttempt.campaign_id)
        .outerjoin(Service, Service.id == Campaign.service_id)
        .outerjoin(User, User.id == CallAttempt.agent_user_id)
        .outerjoin(
            Recording,
            and_(Recording.source == OUTBOUND, Recording.source_id == CallAttempt.id),
        )
        .outerjoin(TelephonyCall, TelephonyCall.id == CallAttempt.id)
        .where(
            or_(TelephonyCall.id.is_(None), TelephonyCall.provider == "simulated"),
            CallAttempt.tenant_id.in_(tenants),
            CallAttempt.created_at >= since,
            CallAttempt.outcome == "answer",
            CallAttempt.answered_at.is_not(None),
            CallAttempt.state.in_(("wrapup", "done")),
            Recording.id.is_(None),
        )
        .order_by(CallAttempt.created_at)
        .limit(BATCH)
    )
    return [
        outbound_call(rt, attempt, campaign, agent)
        for attempt, campaign, _service, agent in (await s.execute(stmt)).all()
    ]


def outbound_call(rt: Runtime, attempt: CallAttempt, campaign: str, agent: User | None) -> Call:
    started = attempt.answered_at or attempt.created_at
    ended = attempt.hangup_at or attempt.ended_at or utcnow()
    limit = started + timedelta(seconds=max(1, rt.settings.recordings_max_seconds))
    call = Call(
        tenant_id=attempt.tenant_id,
        source=OUTBOUND,
        source_id=attempt.id,
        giid=attempt.giid,
        step_id=attempt.id,
        interaction_id=attempt.id,
        started_at=started,
        ended_at=max(started, min(ended, limit)),
        direction="OUTBOUND",
        customer_phone=attempt.phone_e164 or attempt.phone,
        service_name=campaign,
        disposition=attempt.disposition,
        notes=attempt.notes,
        agent=agent,
    )
    call.parties.append(
        Party("CONTACT", attempt.phone_e164 or attempt.phone, duration=call.duration)
    )
    if agent is not None:
        call.parties.append(
            Party(
                "USER",
                agent.extension,
                agent.id,
                agent.first_name,
                agent.last_name,
                duration=call.duration,
            )
        )
    return call


async def _voice_calls(
    rt: Runtime, s: AsyncSession, tenants: list[str], since: datetime
) -> list[Call]:
    stmt = (
        select(InteractionStep, Interaction, Service.name, User)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .outerjoin(Service, Service.id == Interaction.service_id)
        .outerjoin(User, User.id == InteractionStep.user_id)
        .outerjoin(
            Recording,
            and_(Recording.source == INTERACTION, Recording.source_id == InteractionStep.id),
        )
        .where(
            Interaction.tenant_id.in_(tenants),
            Interaction.created_at >= since,
            Interaction.media == "voice",
            InteractionStep.answered_at.is_not(None),
            InteractionStep.ended_at.is_not(None),
            Recording.id.is_(None),
        )
        .order_by(Interaction.created_at)
        .limit(BATCH)
    )
    calls = []
    for step, inter, service, agent in (await s.execute(stmt)).all():
        started = step.answered_at or step.offered_at
        limit = started + timedelta(seconds=max(1, rt.settings.recordings_max_seconds))
        customer_since = inter.answered_at or started
        call = Call(
            tenant_id=inter.tenant_id,
            source=INTERACTION,
            source_id=step.id,
            giid=inter.id,
            step_id=step.id,
            interaction_id=inter.id,
            started_at=min(started, customer_since),
            ended_at=max(started, min(step.ended_at or started, limit)),
            direction=(inter.direction or "inbound").upper(),
            customer_phone=inter.external_id,
            service_name=service,
            disposition=step.disposition or inter.disposition,
            notes=step.notes or inter.notes,
            agent=agent,
        )
        # the customer is recorded from the call's start, the agent from the answer
        call.parties.append(Party("UNIDENTIFIED", inter.external_id, duration=call.duration))
        if agent is not None:
            offset = (started - call.started_at).total_seconds()
            call.parties.append(
                Party(
                    "USER",
                    agent.extension,
                    agent.id,
                    agent.first_name,
                    agent.last_name,
                    offset=offset,
                    duration=max(1.0, call.duration - offset),
                )
            )
        calls.append(call)
    return calls


async def _next_watermark(
    s: AsyncSession, kind: str, tenants: list[str], since: datetime
) -> datetime:
    """Everything created before the oldest still-open call has been looked at."""
    now = utcnow()
    if kind == OUTBOUND:
        stmt = select(func.min(CallAttempt.created_at)).where(
            CallAttempt.tenant_id.in_(tenants),
            CallAttempt.created_at >= since,
            CallAttempt.state.in_(OPEN_ATTEMPTS),
        )
    else:
        stmt = select(func.min(Interaction.created_at)).where(
            Interaction.tenant_id.in_(tenants),
            Interaction.created_at >= since,
            Interaction.media == "voice",
            Interaction.completed_at.is_(None),
        )
    oldest = (await s.execute(stmt)).scalar_one_or_none()
    return max(since, min(oldest or now, now) - SLACK)


async def finished_calls(rt: Runtime) -> list[Call]:
    """Answered calls that ended and have no recording yet (oldest first).

    Each kind is read with one query over the ``(tenant_id, created_at)`` indexes, from a
    per-process watermark: the creation time of the oldest call that was still open at
    the previous pass (a day back after a start). The watermark only saves work; the
    unique ``(source, source_id)`` decides what is recorded.
    """
    marks = _watermarks(rt)
    out: list[Call] = []
    async with rt.db.read() as s:
        outbound = list((await s.execute(select(Campaign.tenant_id).distinct())).scalars())
        everyone = list((await s.execute(select(Tenant.id))).scalars())
        for kind, tenants in ((OUTBOUND, outbound), (INTERACTION, everyone)):
            if not tenants:
                continue
            # never ahead of the clock: a clock stepped back (or a test's moved clock
            # put back) must not hide the calls created since
            since = min(marks.get(kind, utcnow() - LOOKBACK), utcnow() - SLACK)
            reader = _outbound_calls if kind == OUTBOUND else _voice_calls
            found = await reader(rt, s, tenants, since)
            out.extend(found)
            if len(found) < BATCH:
                marks[kind] = await _next_watermark(s, kind, tenants, since)
    return out


# ---- making a recording -------------------------------------------------------------


def _render_files(
    rt: Runtime, call: Call, base: Path, recorded: bytes | None = None
) -> tuple[str, int, list[dict[str, Any]]]:
    """Write the call's files — the carrier's ``recorded`` WAV (one channel per party,
    as Twilio's dual-channel recordings: customer, then agent) or synthesised audio;
    (format, size, parties) — blocking."""
    if recorded is not None:
        channels = audio.decode_wav(recorded)
        mixed = audio.mix(channels)
        if len(channels) == 1 and len(call.parties) > 1:
            channels = [channels[0]] * len(call.parties)
        call.parties = call.parties[: len(channels)]
        channels = channels[: len(call.parties)]
    else:
        voices = [audio.Voice(p.offset, p.duration or call.duration) for p in call.parties]
        mixed, channels = audio.synthesize(call.step_id, call.duration, voices)
    data, fmt = audio.encode(mixed, rt.settings.recordings_format)
    root = Path(rt.settings.data_dir)
    audio.write_atomic(root / base / f"{call.step_id}.wav", data)
    parties: list[dict[str, Any]] = []
    for index, (p, pcm) in enumerate(zip(call.parties, channels, strict=True)):
        pid = party_id(call.step_id, index)
        segment = base / f"{call.step_id}-{pid}-0.wav"
        audio.write_atomic(root / segment, audio.pcm_wav(pcm))
        entry: dict[str, Any] = {"party_id": pid, "party_type": p.party_type, "phone": p.phone}
        if p.first_name is not None:
            entry["first_name"] = p.first_name
        if p.last_name is not None:
            entry["last_name"] = p.last_name
        if p.user_id is not None:
            entry["user_id"] = p.user_id
        start = call.started_at + timedelta(seconds=p.offset)
        entry["recordings"] = [
            {
                "duration": max(1, round(len(pcm) / audio.RATE)),
                "start_ms": int(start.timestamp() * 1000),
                "path": str(segment),
            }
        ]
        parties.append(entry)
    return fmt, len(data), parties


async def record(
    rt: Runtime, call: Call, recorded: bytes | None = None, carrier_call: str | None = None
) -> bool:
    """Make the recording of ``call`` (from the carrier's ``recorded`` audio when given,
    marking ``carrier_call`` fetched in the same transaction); False when another
    process made it first."""
    async with rt.db.read() as s:
        tenant = await s.get(Tenant, call.tenant_id)
    tz_name = tenant.timezone if tenant else None
    base = Path("recordings") / call.tenant_id / call.giid
    fmt, size, parties = await asyncio.to_thread(_render_files, rt, call, base, recorded)
    try:
        async with rt.db.write() as s:
            if carrier_call is not None:
                row = await s.get(TelephonyCall, carrier_call, with_for_update=True)
                if row is not None:
                    row.recording_status = "fetched"
                    row.recording_due_at = None
            s.add(
                Recording(
                    tenant_id=call.tenant_id,
                    giid=call.giid,
                    step_id=call.step_id,
                    interaction_id=call.interaction_id,
                    source=call.source,
                    source_id=call.source_id,
                    format=fmt,
                    file_name=file_name(call, tz_name),
                    path=str(base / f"{call.step_id}.wav"),
                    size=size,
                    duration=round(call.duration),
                    started_at=call.started_at,
                    ended_at=call.ended_at,
                    direction=call.direction,
                    customer_phone=call.customer_phone,
                    agent_user_id=call.agent.id if call.agent else None,
                    agent_login=call.agent.login_id if call.agent else None,
                    agent_first_name=call.agent.first_name if call.agent else None,
                    agent_last_name=call.agent.last_name if call.agent else None,
                    service_name=call.service_name,
                    disposition=call.disposition,
                    notes=call.notes,
                    parties=parties,
                )
            )
    except sa_exc.IntegrityError:
        return False
    return True


async def record_finished(rt: Runtime) -> int:
    """One pass of the worker: record every finished call found; how many were made."""
    made = 0
    for call in await finished_calls(rt):
        try:
            if await record(rt, call):
                made += 1
        except OSError:
            log.exception("recordings: cannot write the files of %s", call.step_id)
    return made


# ---- carriers' recordings ----------------------------------------------------------


async def fetch_carrier_recordings(rt: Runtime) -> int:
    """One pass: download the recordings carriers reported and store them. Each is
    claimed under a row lock with a lease (its next try), so N processes fetch it once;
    a failure is retried until ``carrier_recording_max_tries``."""
    at = utcnow()
    retry = timedelta(seconds=rt.settings.carrier_recording_retry_seconds)
    async with rt.db.write() as s:
        rows = (
            (
                await s.execute(
                    select(TelephonyCall)
                    .where(
                        TelephonyCall.recording_status == "pending",
                        or_(
                            TelephonyCall.recording_due_at.is_(None),
                            TelephonyCall.recording_due_at <= at,
                        ),
                    )
                    .order_by(TelephonyCall.recording_due_at, TelephonyCall.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        claimed = []
        for row in rows:
            row.recording_tries += 1
            row.recording_due_at = at + retry
            claimed.append((row.id, row.provider, row.recording_url or "", row.recording_tries))
    made = 0
    for call_id, provider, url, tries in claimed:
        try:
            made += await _fetch_one(rt, call_id, provider, url)
        except Exception as e:
            log.warning("recordings: fetching %s failed (try %d): %s", call_id, tries, e)
            if tries >= rt.settings.carrier_recording_max_tries:
                async with rt.db.write() as s:
                    failed = await s.get(TelephonyCall, call_id, with_for_update=True)
                    if failed is not None and failed.recording_status == "pending":
                        failed.recording_status = "failed"
    return made


async def _fetch_one(rt: Runtime, call_id: str, provider: str, url: str) -> int:
    async with rt.db.read() as s:
        row = (
            await s.execute(
                select(CallAttempt, Campaign.name, User)
                .join(Campaign, Campaign.id == CallAttempt.campaign_id)
                .outerjoin(User, User.id == CallAttempt.agent_user_id)
                .where(CallAttempt.id == call_id)
            )
        ).one_or_none()
    if row is None:  # its record is gone: nothing to attach the audio to
        async with rt.db.write() as s:
            gone = await s.get(TelephonyCall, call_id, with_for_update=True)
            if gone is not None:
                gone.recording_status = "failed"
        return 0
    attempt, campaign, agent = row
    data, _content_type = await fetch_recording(rt, provider, url)
    call = outbound_call(rt, attempt, campaign, agent)
    if await record(rt, call, recorded=data, carrier_call=call_id):
        return 1
    async with rt.db.write() as s:  # made by another process meanwhile
        done = await s.get(TelephonyCall, call_id, with_for_update=True)
        if done is not None:
            done.recording_status = "fetched"
    return 0


# ---- erasing ------------------------------------------------------------------------


def _delete(root: Path, relative: str | None) -> None:
    if not relative:
        return
    path = (root / relative).resolve()
    if root.resolve() in path.parents:
        path.unlink(missing_ok=True)


async def erase(rt: Runtime, *, tenant_id: str, giid: str, user: str, reason: str | None) -> int:
    """Delete every audio file of the GIID's recordings (regular and multichannel); the
    rows stay as the trace of the erasure. 404 when the GIID has no recording."""
    root = Path(rt.settings.data_dir)
    now = utcnow()
    erased = 0
    async with rt.db.write() as s:
        stmt = (
            select(Recording)
            .where(Recording.tenant_id == tenant_id, func.lower(Recording.giid) == giid.lower())
            .order_by(Recording.id)
            .with_for_update()
        )
        rows = list((await s.execute(stmt)).scalars().all())
        if not rows:
            raise NotFound(f"No recording of interaction {giid}")
        for rec in rows:
            if rec.erased_at is not None:
                continue
            _delete(root, rec.path)
            parties = []
            for party in rec.parties or []:
                for segment in party.get("recordings", []):
                    _delete(root, segment.get("path"))
                parties.append(
                    {
                        **party,
                        "recordings": [
                            {k: v for k, v in seg.items() if k != "path"}
                            for seg in party.get("recordings", [])
                        ],
                    }
                )
            rec.parties = parties
            rec.path = None
            rec.size = 0
            rec.erased_at = now
            rec.erased_by = user
            rec.erase_reason = (reason or "")[:1024] or None
            erased += 1
    audit.warning(
        "recordings erased: tenant=%s giid=%s count=%d by=%s reason=%r",
        tenant_id,
        giid,
        erased,
        user,
        reason,
    )
    return erased


def oid(recording_id: str) -> str:
    """A 24-hex ``$oid`` for the structure's ``_id`` (internal use, as the seed says)."""
    return uuid.UUID(recording_id).hex[:24]
