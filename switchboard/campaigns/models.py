"""Outbound campaigns and the calling lists and Do-Not-Call lists bound to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

STATES = ("RUNNING", "STOPPED")
MODES = ("preview", "progressive")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_calling_hours() -> dict[str, list[list[str]]]:
    """08:00-21:00 every day, in the record's time zone (the US TCPA window)."""
    return {d: [["08:00", "21:00"]] for d in DAYS}


def default_retry_minutes() -> dict[str, float]:
    return {"busy": 10.0, "no_answer": 60.0, "failed": 5.0, "skipped": 60.0, "timeout": 5.0}


campaign_lists = Table(
    "campaign_lists",
    Base.metadata,
    Column(
        "campaign_id",
        String(36),
        ForeignKey("outbound_campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "list_id",
        String(36),
        ForeignKey("calling_lists.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("position", Integer, nullable=False, default=0),
    # the dialer has taken every record of the list below this insertion index
    Column("next_idx", Integer, nullable=False, default=0),
)

campaign_dnc_lists = Table(
    "campaign_dnc_lists",
    Base.metadata,
    Column(
        "campaign_id",
        String(36),
        ForeignKey("outbound_campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "dnc_list_id",
        String(36),
        ForeignKey("dnc_lists.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Campaign(Base):
    __tablename__ = "outbound_campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # disabled campaigns are hidden from campaign/getAll and never dial
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="STOPPED", index=True)
    mode: Mapped[str] = mapped_column(String(16), default="progressive")
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    # skill name -> minimum level, on top of the service's required skills
    required_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # {"mon": [["08:00", "21:00"]], ...} in the record's time zone; a missing day is closed
    calling_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(
        JSON, default=default_calling_hours
    )
    # used when neither the record nor its phone number tells the time zone
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    caller_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # minutes before a record is retried after a call outcome without an agent disposition
    retry_minutes: Mapped[dict[str, float]] = mapped_column(JSON, default=default_retry_minutes)
    preview_timeout_seconds: Mapped[int] = mapped_column(Integer, default=120)
    wrapup_timeout_seconds: Mapped[int] = mapped_column(Integer, default=300)
    # where a "do not call" disposition puts the number (default: the first internal list)
    dnc_target_list_id: Mapped[str | None] = mapped_column(
        ForeignKey("dnc_lists.id", ondelete="SET NULL"), nullable=True
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
