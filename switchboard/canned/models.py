"""Canned responses: texts agents insert into chats, managed per tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow


class CannedResponse(Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    # may hold placeholders such as $(FIRST_NAME), filled from the chat's parameters
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # what an agent types to find it quickly ("/greet"); unique in the tenant when set
    shortcut: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # shown for this service's chats only (None: every chat)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=True, index=True
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
