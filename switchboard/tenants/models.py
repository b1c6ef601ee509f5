"""A tenant: one contact center, identified by its domain name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    extension_start: Mapped[int] = mapped_column(Integer, default=1000)
    extension_end: Mapped[int] = mapped_column(Integer, default=9999)
    daily_reset_time: Mapped[str] = mapped_column(String(5), default="00:00")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def setting(self, key: str, default: Any = None) -> Any:
        return (self.settings or {}).get(key, default)
