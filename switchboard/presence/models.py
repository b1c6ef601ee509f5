"""One row per agent who opened a realtime socket: how many are open now (across every
server process), when one of them last proved alive, and when the last one closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, utcnow


class AgentPresence(Base):
    __tablename__ = "agent_presence"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # open sockets of the agent, counted by the processes holding them
    sockets: Mapped[int] = mapped_column(Integer, default=0)
    # last proof of life: a socket opened or closed, or its process refreshed the lease
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # when the last socket closed (null while one is open)
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
