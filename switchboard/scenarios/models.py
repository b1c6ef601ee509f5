"""Hours of operation, Messaging/Chat scenario entries and access numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

PARAMETER_TYPES = ("string", "phone", "email", "number", "boolean", "date", "list")


class HoursOfOperation(Base):
    __tablename__ = "hours_of_operation"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"mon": [["09:00", "17:00"]], "tue": [...], ...}; a missing day is closed
    weekly: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    # [{"date": "2026-12-25", "name": "Christmas"}]: closed all day
    holidays: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class ScenarioEntry(Base):
    __tablename__ = "scenario_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "app_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True
    )
    hours_id: Mapped[str | None] = mapped_column(
        ForeignKey("hours_of_operation.id", ondelete="SET NULL"), nullable=True
    )
    # [{"name": "FIRST_NAME", "type": "string", "required": false, ...}]
    expected_parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    inactivity_timeout_seconds: Mapped[int] = mapped_column(Integer, default=600)
    inactivity_warning_seconds: Mapped[int] = mapped_column(Integer, default=540)
    widget_configuration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # web sites (scheme://host[:port]) allowed to call the Messaging API cross-origin for
    # this entry (CORS, switchboard.core.middleware); [] allows none
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # a chat that gives a phone_number is called back at it as soon as an agent accepts
    # it (switchboard/gms/chat_callback.py); otherwise the agent may call it by hand
    auto_callback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessNumber(Base):
    __tablename__ = "access_numbers"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    media: Mapped[str] = mapped_column(String(32), default="voice_text")
    # "scenario" (routing point) or "user" (a DID)
    type: Mapped[str] = mapped_column(String(16), default="scenario")
    scenario: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
