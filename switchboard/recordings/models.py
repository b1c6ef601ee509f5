"""Call recordings: one row per recorded call step, with its regular (all voices mixed)
audio file and the per-party segments of its multichannel recording.

A recording is made from a finished call: an answered outbound attempt of the dialer
(``source="outbound"``, ``source_id`` = the attempt id, step id = the attempt id) or an
answered step of a voice interaction (``source="interaction"``, ``source_id`` = the
step id). ``(source, source_id)`` is unique, so N worker processes create it once.
Erasing deletes the files and keeps the row as the trace of who erased what and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

OUTBOUND = "outbound"
INTERACTION = "interaction"


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_recordings_tenant_giid", "tenant_id", "giid"),
        Index("ix_recordings_tenant_step", "tenant_id", "step_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    giid: Mapped[str] = mapped_column(String(36))
    step_id: Mapped[str] = mapped_column(String(36))
    # the multichannel structure's interaction_id
    interaction_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(36))
    # "gsm" (GSM 6.10 in a WAV file) or "wav" (16-bit PCM)
    format: Mapped[str] = mapped_column(String(8), default="gsm")
    # the seed's RecordingId, e.g. 20190315124931_+14155550100_agent1_<STEPID>.wav
    file_name: Mapped[str] = mapped_column(String(255))
    # relative to data_dir; None once erased
    path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(16), default="OUTBOUND")
    customer_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    agent_login: Mapped[str | None] = mapped_column(String(255), nullable=True)
    agent_first_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    agent_last_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    service_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # when the recording was made (the source may change them later: read live)
    disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{"party_id", "party_type", "first_name", "last_name", "phone", "user_id",
    #   "recordings": [{"duration": 26, "start_ms": 1552679373768, "path": "..."}]}]
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erased_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    erase_reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
