"""GMS service instances, Storage API entries and the Chat API v2 sessions.

A service instance (``GmsService``) is created by ``POST /genesys/1/service/{name}``:
its ``_``-prefixed parameters drive it and are kept in ``parameters``; every other
parameter is user data, kept in a storage entry (``GmsStorageEntry``) that the service
names in ``data_id`` (clients read it through the Storage API with ``_data_id``).
A GMS chat (``GmsChat``) links a chat session of our engine to the customer's
``userId`` and the SHA-256 digest of its ``secureKey`` (the key itself is never stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

# the kinds of service we implement (the name a client posts may be a callback's own)
KINDS = ("request-interaction", "request-access", "request-chat", "callback")
# active -> matched | cancelled | expired | completed
STATES = ("active", "matched", "cancelled", "expired", "completed")
# SCHEDULED (desired time ahead) -> QUEUED (due) -> COMPLETED | CANCELLED | EXPIRED
CALLBACK_STATES = ("SCHEDULED", "QUEUED", "COMPLETED", "CANCELLED", "EXPIRED")


class GmsService(Base):
    __tablename__ = "gms_services"
    __table_args__ = (
        # a code is unique per access number while it is valid (cleared when it ends;
        # NULLs never collide)
        UniqueConstraint("tenant_id", "access_number", "access_code"),
        Index("ix_gms_services_phone", "tenant_id", "phone_digits", "state"),
        Index("ix_gms_services_kind", "tenant_id", "kind", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # the service name (``_service_name``): the kind, or a callback service's own name
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="active")
    # the ``_``-prefixed parameters as the client sent them
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the storage entry holding the user data (every parameter without ``_``)
    data_id: Mapped[str | None] = mapped_column(
        ForeignKey("gms_storage.id", ondelete="SET NULL"), nullable=True
    )
    # digits of ``_phone_number`` / ``_customer_number`` (matching and filtering)
    phone_digits: Mapped[str | None] = mapped_column(String(32), nullable=True)
    customer_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    access_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    access_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    desired_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    callback_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # request-chat: the scenario entry (appId) and, once created, the chat session
    chat_service: Mapped[str | None] = mapped_column(String(255), nullable=True)
    chat_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GmsStorageEntry(Base):
    """Key/values (``values``) and uploaded files (``files``) that expire together."""

    __tablename__ = "gms_storage"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # key -> {"name", "content_type", "size", "path"} (path relative to data_dir)
    files: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GmsChat(Base):
    """A Chat API v2 session: one chat session of the engine (same id)."""

    __tablename__ = "gms_chats"

    # the chat session's id (no foreign key: the chat tables come from another branch
    # of the migrations; the purge worker drops rows whose chat is gone)
    chat_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(64))
    secure_key_digest: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str] = mapped_column(String(32))
    nickname: Mapped[str] = mapped_column(String(255), default="")
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("gms_services.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
