"""Chat sessions, their parties, the durable per-chat event log, and uploaded files.

Every client and server event of a chat is a ``ChatEvent`` row with a per-chat
sequence number (``seq``) assigned under a row lock on the chat; the log is the
source of truth for polling, history, agents' views and statistics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")

# ivr -> queued -> connecting -> connected -> completed | failed
CHAT_STATES = ("ivr", "queued", "connecting", "connected", "completed", "failed")
ACTIVE_STATES = ("ivr", "queued", "connecting", "connected")


class ChatSession(Base):
    __tablename__ = "chat_sessions"
    __table_args__ = (
        Index("ix_chat_sessions_queue", "tenant_id", "state", "priority", "queued_at"),
        Index("ix_chat_sessions_client", "tenant_id", "client_key", "state"),
        # one active session per client: set while active, NULL once ended (NULLs differ)
        UniqueConstraint("tenant_id", "active_client_key"),
        Index("ix_chat_sessions_case", "tenant_id", "case_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    giid: Mapped[str] = mapped_column(String(36), default=new_id, index=True)
    entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("scenario_entries.id", ondelete="SET NULL"), nullable=True
    )
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # who the customer is: the SDK's clientId, or "cookie:<id>" for WebChat browsers
    client_key: Mapped[str] = mapped_column(String(255))
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="ivr")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    requested_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    from_address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    phone_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # the agent currently owning the chat (routing sets it when the offer is accepted)
    agent_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # highest seq already delivered to the customer's poll
    client_cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_client_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # == client_key while the session is active, NULL once it ended (see the constraint)
    active_client_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # the long-poll lease: at most one poll is held per session, across processes
    poll_lease_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    poll_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the client is considered gone (the chat ends) when it has not polled by then
    poll_deadline_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, index=True
    )
    # the next inactivity warning or timeout of a connected chat (workers.py)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    inactivity_warning_seconds: Mapped[int] = mapped_column(Integer, default=0)
    inactivity_timeout_seconds: Mapped[int] = mapped_column(Integer, default=0)
    poll_abandon_seconds: Mapped[int] = mapped_column(Integer, default=120)
    # start of the current silence of a connected chat (customer or agent activity resets it)
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    warning_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    case_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChatParty(Base):
    """A participant of a chat; the customer's party id equals the chat id."""

    __tablename__ = "chat_parties"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    chat_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # "customer", "internal" (agent), "external", "scenario" (the bot/system)
    type: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    first_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChatEvent(Base):
    __tablename__ = "chat_events"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        # transient signaling rows are purged by type and age (workers.py)
        Index("ix_chat_events_type_created", "event_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # "client" (sent by the customer) or "server" (produced by the engine or an agent)
    direction: Mapped[str] = mapped_column(String(8))
    event_type: Mapped[str] = mapped_column(String(64))
    party_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # the event exactly as clients receive it (without timestamp, added on output)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatFile(Base):
    __tablename__ = "chat_files"
    __table_args__ = (Index("ix_chat_files_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    chat_id: Mapped[str | None] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="SET NULL"), nullable=True
    )
    uploaded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    name: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatPushSubscription(Base):
    """A mobile device token for push notifications about one chat (v2 notifications)."""

    __tablename__ = "chat_push_subscriptions"

    chat_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # "ios_apns", "ios_firebase" or "android_firebase"
    kind: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(4096))
    bundle_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
