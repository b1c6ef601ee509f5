"""SMS/MMS messages (sent through the API, relayed chat replies, received) and the
conversations that tie a customer's number to a chat session.

A message's ``status`` is ``queued -> sending -> sent -> delivered | failed`` for
outbound messages (``sending`` is shown as ``queued``: the carrier has not answered
yet) and ``received`` for inbound ones. ``lease_until`` guards a claimed message: the
worker that claimed it sends it exactly once; a ``sending`` message whose lease ran out
(its process died mid-send) is failed, never sent again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

# directions: sent through the API, an agent's chat reply, received from a customer
OUTBOUND_API = "outbound-api"
OUTBOUND_REPLY = "outbound-reply"
INBOUND = "inbound"

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
RECEIVED = "received"
FINAL = (DELIVERED, FAILED, RECEIVED)


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_status_due", "status", "next_attempt_at"),
        Index("ix_sms_messages_tenant_created", "tenant_id", "date_created"),
        Index("ix_sms_messages_provider", "provider_sid"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16), default=OUTBOUND_API)
    # the numbers as the request wrote them (echoed in responses) and in E.164
    from_number: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64))
    from_e164: Mapped[str] = mapped_column(String(32))
    to_e164: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text, default="")
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    num_segments: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    error_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # the carrier's id of the message (delivery reports and status checks)
    provider_sid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # who sent it through the API; the chat it belongs to (replies and inbound)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    chat_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # queued: when it may be sent; sent (http carrier): when to ask for its status next
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    date_created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    date_sent: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    date_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsConversation(Base):
    """A chat session fed by SMS: the customer's replies go in, the agents' messages
    go out as ``outbound-reply`` messages (``relayed_seq``: the chat log seq relayed)."""

    __tablename__ = "sms_conversations"
    __table_args__ = (
        UniqueConstraint("chat_id"),
        Index("ix_sms_conversations_active", "active", "tenant_id"),
        Index("ix_sms_conversations_numbers", "tenant_id", "access_e164", "customer_e164"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(36))
    # the access number as configured (replies go out from it) and in E.164
    access_number: Mapped[str] = mapped_column(String(64))
    access_e164: Mapped[str] = mapped_column(String(32))
    customer_e164: Mapped[str] = mapped_column(String(32))
    relayed_seq: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
