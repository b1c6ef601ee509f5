"""Skills, services (with their dispositions) and not-ready reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

MEDIA = ("chat", "voice", "email", "outbound")


class Skill(Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    media: Mapped[str] = mapped_column(String(16), default="chat")
    # skill name -> minimum level (0-100) an agent needs to be offered this service
    required_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    service_level_threshold_seconds: Mapped[int] = mapped_column(Integer, default=30)
    service_level_target_percent: Mapped[int] = mapped_column(Integer, default=80)
    short_abandon_seconds: Mapped[int] = mapped_column(Integer, default=5)
    acw_timeout_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # after-call work on the service ends only with a disposition (a timeout still
    # ends it, without one)
    disposition_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # optional skill relaxation: [{"after_seconds": 60, "reduce_by": 20}, ...]
    relaxation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Disposition(Base):
    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("tenant_id", "service_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    agent_can_select: Mapped[bool] = mapped_column(Boolean, default=True)
    inbound: Mapped[bool] = mapped_column(Boolean, default=True)
    outbound: Mapped[bool] = mapped_column(Boolean, default=True)
    preview: Mapped[bool] = mapped_column(Boolean, default=True)
    # outcome for outbound records: "complete", "retry", "do_not_call", "none"
    outcome: Mapped[str] = mapped_column(String(32), default="complete")
    retry_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class NotReadyReason(Base):
    __tablename__ = "not_ready_reasons"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
