"""Reading recordings: by GIID and step, their metadata and multichannel structure in
the seed's shapes, and the paths of their audio files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import DomainError, NotFound
from switchboard.interactions.models import InteractionStep
from switchboard.lists.models import CallAttempt
from switchboard.recordings.actions import local_time, oid
from switchboard.recordings.models import OUTBOUND, Recording
from switchboard.tenants.models import Tenant


class Gone(DomainError):
    """The recording existed and was erased."""

    status = 410
    kind = "gone"


async def for_giid(*, session: AsyncSession, tenant_id: str, giid: str) -> Sequence[Recording]:
    """The GIID's recordings, oldest first (GIIDs compare case-insensitively)."""
    stmt = (
        select(Recording)
        .where(Recording.tenant_id == tenant_id, func.lower(Recording.giid) == giid.lower())
        .order_by(Recording.started_at, Recording.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def get_or_raise(
    *, session: AsyncSession, tenant_id: str, giid: str, step_id: str | None
) -> Recording:
    """The recording of the GIID's step (without a step: its first recording)."""
    rows = await for_giid(session=session, tenant_id=tenant_id, giid=giid)
    if step_id:
        rows = [r for r in rows if r.step_id.lower() == step_id.lower()]
    if not rows:
        where = f" step {step_id}" if step_id else ""
        raise NotFound(f"No recording of interaction {giid}{where}")
    return rows[0]


def audio_path(data_dir: Path, recording: Recording) -> Path:
    if recording.erased_at is not None or not recording.path:
        raise _erased(recording)
    path = data_dir / recording.path
    if not path.is_file():
        raise NotFound("The recording's audio file is missing")
    return path


def segment_path(
    data_dir: Path, recording: Recording, party_id: str, index: int
) -> tuple[Path, str]:
    """The file of one party's segment, and the name to download it as."""
    for party in recording.parties or []:
        if str(party.get("party_id")) != party_id:
            continue
        segments = party.get("recordings") or []
        if not 0 <= index < len(segments):
            raise NotFound(f"Party {party_id} has no recording segment {index}")
        if recording.erased_at is not None or not segments[index].get("path"):
            raise _erased(recording)
        path = data_dir / str(segments[index]["path"])
        if not path.is_file():
            raise NotFound("The segment's audio file is missing")
        return path, f"{recording.interaction_id}_{party_id}_{index}.wav"
    raise NotFound(f"No party {party_id} in interaction {recording.interaction_id}")


def _erased(recording: Recording) -> Gone:
    when = recording.erased_at.isoformat() if recording.erased_at else "earlier"
    why = f" ({recording.erase_reason})" if recording.erase_reason else ""
    return Gone(f"The recording was erased {when}{why}", code="erased")


def start_time(value: datetime, tz_name: str | None) -> str:
    """``03/15/2019 07:49:31 PM UTC +00:00`` in the tenant's time zone."""
    local = local_time(value, tz_name)
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    return f"{local.strftime('%m/%d/%Y %I:%M:%S %p')} {local.tzname() or 'UTC'} {offset}"


def talk_time(seconds: int) -> str:
    """``0:38``, ``12:05``, ``1:02:03``."""
    h, rest = divmod(max(0, seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


async def _live(session: AsyncSession, recording: Recording) -> tuple[str | None, str | None]:
    """The disposition and notes as they are now (set after the call, changeable)."""
    if recording.source == OUTBOUND:
        attempt = await session.get(CallAttempt, recording.source_id)
        if attempt is not None:
            return attempt.disposition, attempt.notes
    else:
        step = await session.get(InteractionStep, recording.source_id)
        if step is not None:
            return step.disposition, step.notes
    return recording.disposition, recording.notes


async def metadata(*, session: AsyncSession, recording: Recording, base_url: str) -> dict[str, Any]:
    tenant = await session.get(Tenant, recording.tenant_id)
    disposition, notes = await _live(session, recording)
    query = urlencode({"giid": recording.giid, "stepid": recording.step_id})
    return {
        "Start Time": start_time(recording.started_at, tenant.timezone if tenant else None),
        "Agent loginId": recording.agent_login,
        "Agent First Name": recording.agent_first_name,
        "Agent Last Name": recording.agent_last_name,
        "Customer phone": recording.customer_phone or "Restricted",
        "Direction": recording.direction,
        "Service": recording.service_name or "",
        "Disposition": disposition or "",
        "Notes": notes or "",
        "Voice Signature": "0",
        "Flagged": "0",
        "Talk Time": talk_time(recording.duration),
        "RecordingId": recording.file_name,
        "Global Interaction ID": recording.giid,
        "Review URL": f"{base_url.rstrip('/')}/configapi/v2/recordings/audio?{query}",
        "Screen Recording": "0",
        "Erased": "1" if recording.erased_at is not None else "0",
    }


def structure(recording: Recording) -> dict[str, Any]:
    parties = []
    for party in recording.parties or []:
        out: dict[str, Any] = {}
        for key in ("first_name", "last_name"):
            if party.get(key):
                out[key] = party[key]
        out["party_id"] = str(party.get("party_id"))
        out["party_type"] = party.get("party_type", "UNIDENTIFIED")
        out["phone"] = party.get("phone") or "Restricted"
        out["recordings"] = [
            {"duration": str(seg.get("duration", 0)), "start_time": {"$date": seg.get("start_ms")}}
            for seg in party.get("recordings") or []
        ]
        if party.get("user_id"):
            out["user_id"] = party["user_id"]
        parties.append(out)
    return {
        "_id": {"$oid": oid(recording.id)},
        "tenant_id": recording.tenant_id,
        "global_interaction_id": recording.giid,
        "interaction_id": recording.interaction_id,
        "parties": parties,
    }
