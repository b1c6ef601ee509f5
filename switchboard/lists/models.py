"""Calling lists, their records, and what the dialer did with each record per campaign.

* ``CallingRecord.idx`` is the insertion index (0, 1, 2...) the seed's ``getAll`` pages by;
  ``key`` is the record's key-field values joined by ``KEY_SEP`` (unique per list).
* ``RecordResult`` is the state of one record in one campaign (created the first time
  the dialer considers the record): attempts, last call, completion, when it may be
  dialed next, and ``state`` (``idle`` or ``busy`` while an attempt is in progress).
* ``CallAttempt`` is one attempt (the seed's ``attempts`` items); it is also the source
  of the outbound statistics (indexed by time, campaign and agent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")
KEY_SEP = "\x1f"


class CallingList(Base):
    __tablename__ = "calling_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone_field: Mapped[str | None] = mapped_column(String(255), nullable=True)
    postal_field: Mapped[str | None] = mapped_column(String(255), nullable=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallingRecord(Base):
    __tablename__ = "calling_records"
    __table_args__ = (UniqueConstraint("list_id", "key"), UniqueConstraint("list_id", "idx"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("calling_lists.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(512))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordResult(Base):
    __tablename__ = "calling_record_results"
    __table_args__ = (
        UniqueConstraint("campaign_id", "record_id"),
        Index("ix_calling_record_results_due", "campaign_id", "state", "next_attempt_at"),
        Index("ix_calling_record_results_changed", "campaign_id", "list_id", "updated_at"),
        Index("ix_calling_record_results_completed", "campaign_id", "list_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("outbound_campaigns.id", ondelete="CASCADE")
    )
    list_id: Mapped[str] = mapped_column(ForeignKey("calling_lists.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(
        ForeignKey("calling_records.id", ondelete="CASCADE"), index=True
    )
    # idle: may be dialed once next_attempt_at has passed; busy: an attempt is running;
    # done: completed (or out of attempts / blocked) and never dialed again
    state: Mapped[str] = mapped_column(String(16), default="idle")
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    total_attempts: Mapped[int] = mapped_column(Integer, default=0)
    dial_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # why the record waits or stopped: "calling_hours", "retry", "dnc", "max_attempts"...
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phone_index: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_disposition_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_call_duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    giid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    record_disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    record_disposition_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallAttempt(Base):
    __tablename__ = "outbound_attempts"
    __table_args__ = (
        Index("ix_outbound_attempts_tenant_created", "tenant_id", "created_at"),
        Index("ix_outbound_attempts_campaign_created", "campaign_id", "created_at"),
        Index("ix_outbound_attempts_agent_created", "agent_user_id", "created_at"),
        Index("ix_outbound_attempts_state", "state", "lease_until"),
        Index("ix_outbound_attempts_result", "result_id", "created_at"),
        Index("ix_outbound_attempts_record", "record_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("outbound_campaigns.id", ondelete="CASCADE")
    )
    list_id: Mapped[str] = mapped_column(ForeignKey("calling_lists.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("calling_records.id", ondelete="CASCADE"))
    result_id: Mapped[int] = mapped_column(
        ForeignKey("calling_record_results.id", ondelete="CASCADE")
    )
    giid: Mapped[str] = mapped_column(String(36), default=new_id)
    # preview | progressive
    mode: Mapped[str] = mapped_column(String(16))
    # offered (preview, waiting for the agent) -> dialing -> connected -> wrapup -> done
    state: Mapped[str] = mapped_column(String(16), default="dialing")
    # the number as written in the record, and as dialed
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone_e164: Mapped[str | None] = mapped_column(String(32), nullable=True)
    caller_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    agent_login: Mapped[str | None] = mapped_column(String(255), nullable=True)
    call_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    # answer | busy | no_answer | invalid | failed | dnc | skipped | timeout
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disposition_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # complete | retry | do_not_call | none (what the disposition did to the record)
    disposition_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dial_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hangup_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dialing_duration: Mapped[int] = mapped_column(Integer, default=0)
    call_duration: Mapped[int] = mapped_column(Integer, default=0)
    cpa_duration: Mapped[int] = mapped_column(Integer, default=0)
    # a process working on the attempt renews this; a stale lease is recovered
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
