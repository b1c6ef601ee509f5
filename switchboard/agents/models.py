"""Agent sessions (the current ACD state of each agent), their load per media, the
state-change log that statistics read, and the durable per-agent event queue that the
realtime channel delivers with a resume cursor.

States: ``logged_out``, ``ready``, ``not_ready`` (with a reason), ``busy`` (handling at
least one interaction) and ``after_call_work``. ``presence`` is what the agent chose
(``ready`` or ``not_ready``); ``state`` is derived from presence and the load and is
what statistics show (``acd_state``); presence is ``acd_next_state`` while busy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")

LOGGED_OUT = "logged_out"
READY = "ready"
NOT_READY = "not_ready"
BUSY = "busy"
ACW = "after_call_work"
STATES = (LOGGED_OUT, READY, NOT_READY, BUSY, ACW)


class AgentSession(Base):
    """One row per agent (created at first login); locked for every change of its load."""

    __tablename__ = "agent_sessions"
    __table_args__ = (Index("ix_agent_sessions_tenant_state", "tenant_id", "state"),)

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=LOGGED_OUT)
    presence: Mapped[str] = mapped_column(String(16), default=NOT_READY)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    logout_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the longest-idle rule compares this: last offer, last return to an empty desk,
    # or last change to ready, whichever is latest
    idle_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # id of the open row of agent_state_log
    log_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    # sequence number of the last event queued for this agent (the resume cursor)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentLoad(Base):
    """Capacity and load of one agent for one media slot (``chat``, ``voice``, ``email``;
    ``outbound`` shares the ``voice`` slot). ``active`` counts offered and connected
    interactions, ``wrapup`` those in after-call work: both hold a slot."""

    __tablename__ = "agent_loads"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("agent_sessions.user_id", ondelete="CASCADE"), primary_key=True
    )
    media: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[int] = mapped_column(Integer, default=0)
    wrapup: Mapped[int] = mapped_column(Integer, default=0)


class AgentStateChange(Base):
    """The state log: one row per period in a state; ``ended_at`` is null while current."""

    __tablename__ = "agent_state_log"
    __table_args__ = (
        Index("ix_agent_state_log_tenant_started", "tenant_id", "started_at"),
        Index("ix_agent_state_log_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgentEvent(Base):
    """The durable realtime queue of one agent, numbered by ``seq`` under the agent's
    row lock (so a reader never skips an event committed late)."""

    __tablename__ = "agent_events"
    __table_args__ = (UniqueConstraint("user_id", "seq"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
