"""Interaction records and their steps, for statistics, reports and recordings.

An ``Interaction`` is one customer contact (a chat session, later calls and e-mails);
each ``InteractionStep`` is one agent's part in it: offered, answered (or rejected or
missed), ended, wrapped up, with the agent's disposition and notes.

Step phases: ``offered`` -> ``connected`` -> ``wrap_up`` -> ``done``; an offer that is
not accepted goes straight to ``done`` with outcome ``rejected``, ``missed`` or
``revoked``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

# interaction states
QUEUED = "queued"
OFFERED = "offered"
CONNECTED = "connected"
WRAP_UP = "wrap_up"
COMPLETED = "completed"
ABANDONED = "abandoned"

# step phases (OFFERED, CONNECTED, WRAP_UP shared with the names above)
DONE = "done"
OPEN_PHASES = (OFFERED, CONNECTED)
HOLDING_PHASES = (OFFERED, CONNECTED, WRAP_UP)

# step kinds
ROUTE = "route"
TRANSFER = "transfer"
CONFERENCE = "conference"


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_tenant_created", "tenant_id", "created_at"),
        Index("ix_interactions_tenant_state", "tenant_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    media: Mapped[str] = mapped_column(String(16), default="chat")
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    # the chat session (one interaction per chat); other media use external_id
    chat_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    client_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # the agent handling it now (or last)
    agent_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    case_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    offers: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InteractionStep(Base):
    __tablename__ = "interaction_steps"
    __table_args__ = (
        Index("ix_interaction_steps_user_phase", "user_id", "phase"),
        Index("ix_interaction_steps_phase_deadline", "phase", "deadline"),
        Index("ix_interaction_steps_tenant_offered", "tenant_id", "offered_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    interaction_id: Mapped[str] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    media: Mapped[str] = mapped_column(String(16), default="chat")
    kind: Mapped[str] = mapped_column(String(16), default=ROUTE)
    phase: Mapped[str] = mapped_column(String(16), default=OFFERED)
    # accepted | rejected | missed | revoked | completed | transferred | left
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # offered: the offer's expiry; wrap_up: the end of after-call work
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    party_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # the chat's last seq when the step began: the agent's channel starts after it
    start_seq: Mapped[int] = mapped_column(Integer, default=0)
    from_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
