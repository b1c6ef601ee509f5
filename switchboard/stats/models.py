"""Statistics subscriptions (one per client token) and team messages.

A subscription lives in the database so that any server process can answer
``GET /statsapi/subscription/data`` for it; it disappears with its token (logout,
expiry) or after ``subscription_idle_seconds`` without a poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow


class StatsSubscription(Base):
    __tablename__ = "stats_subscriptions"
    __table_args__ = (Index("ix_stats_subscriptions_tenant_polled", "tenant_id", "polled_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # the client: one active subscription per access token
    token_id: Mapped[str] = mapped_column(
        ForeignKey("access_tokens.id", ondelete="CASCADE"), unique=True
    )
    # the normalised definition (switchboard.stats.definition.SubscriptionDef)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    polled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMessage(Base):
    """An internal message a supervisor or an agent posts to teams (``chat_messages``)."""

    __tablename__ = "team_messages"
    __table_args__ = (Index("ix_team_messages_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sender_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # kept with the message so it still reads right after the sender is renamed or deleted
    sender_login_id: Mapped[str] = mapped_column(String(255))
    sender_first_name: Mapped[str] = mapped_column(String(255), default="")
    sender_last_name: Mapped[str] = mapped_column(String(255), default="")
    # the teams it is addressed to; empty = everybody in the tenant
    team_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    content: Mapped[str] = mapped_column(Text)
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
