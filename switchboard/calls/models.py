"""Voice and video calls inside a chat (seed 003 ``chat_session_signaling``).

One ``Call`` row per call the customer requested (or the agent offered) in a chat: who
took part, when it was requested, answered and ended, and how it ended. The signaling
messages themselves are relayed through the chat log and never kept as history; when a
call ends it is also written as a step of the chat's interaction (``kind="call"``,
``phase="recorded"``), the record that reports and recordings read.

States: ``waiting`` (requested, no agent in the chat yet) -> ``ringing`` (an agent was
told) -> ``connecting`` (an offer was sent) -> ``connected`` (answered) -> ``ended``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

WAITING = "waiting"
RINGING = "ringing"
CONNECTING = "connecting"
CONNECTED = "connected"
ENDED = "ended"
OPEN_STATES = (WAITING, RINGING, CONNECTING, CONNECTED)

# outcomes
COMPLETED = "completed"  # answered, then hung up
DECLINED = "declined"  # CALL_REJECTED by either side before an answer
CANCELLED = "cancelled"  # ended before it was answered

# relay: the browsers talk to each other; server: the server terminates both sides
RELAY = "relay"
SERVER = "server"

# the interaction step that records a finished call
STEP_KIND = "call"
STEP_PHASE = "recorded"


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_chat_state", "chat_id", "state"),
        Index("ix_calls_tenant_requested", "tenant_id", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(36))
    interaction_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # the agent rung (and its party in the chat)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    party_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    video: Mapped[bool] = mapped_column(Boolean, default=False)
    media_path: Mapped[str] = mapped_column(String(16), default=RELAY)
    # "customer" or "agent": who asked for the call
    requested_by: Mapped[str] = mapped_column(String(16), default="customer")
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # customer | agent | system: who ended it; and why (end_call, rejected, party_left ...)
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rung_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
