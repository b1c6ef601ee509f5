"""Calls placed through a carrier, and the carrier options of a campaign.

``TelephonyCall`` is one outbound call leg we asked a carrier to place: its id is ours
(the outbound attempt's id, so one attempt has one call), ``carrier_sid`` the carrier's
(Twilio's ``CallSid``). Carrier events (status callbacks) are applied to it in the same
transaction as the attempt they move, and ignored when older than the last one applied
(``sequence``). A recording the carrier made is noted here (``recording_*``) and fetched
into the recordings store by the recordings worker, retried until it succeeds.

``TelephonyCampaignOptions`` holds what only carriers care about per campaign:
answering-machine detection and call recording.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, utcnow

# answering-machine detection: off, enable (human / machine as soon as known),
# detect_message_end (machine: after the greeting's beep, to leave a message)
MACHINE_DETECTION = ("off", "enable", "detect_message_end")


class TelephonyCall(Base):
    __tablename__ = "telephony_calls"
    __table_args__ = (
        Index("ix_telephony_calls_carrier_sid", "carrier_sid"),
        Index("ix_telephony_calls_recording_due", "recording_status", "recording_due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # who placed it: "outbound" (a dialer attempt)
    purpose: Mapped[str] = mapped_column(String(16), default="outbound")
    provider: Mapped[str] = mapped_column(String(16))
    carrier_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number: Mapped[str] = mapped_column(String(32))
    caller_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the agent's leg: the phone number the answered call is bridged to
    agent_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    machine_detection: Mapped[str] = mapped_column(String(24), default="off")
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    # placing -> queued -> ringing -> in-progress -> completed | busy | no-answer |
    # failed | canceled (Twilio's CallStatus values)
    status: Mapped[str] = mapped_column(String(16), default="placing")
    # human | machine_start | machine_end_beep | ... | fax | unknown
    answered_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=-1)
    error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    recording_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recording_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # pending (to fetch) -> fetched | failed (gave up) | absent (nothing was recorded)
    recording_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recording_duration: Mapped[int] = mapped_column(Integer, default=0)
    recording_tries: Mapped[int] = mapped_column(Integer, default=0)
    recording_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TelephonyCampaignOptions(Base):
    __tablename__ = "telephony_campaign_options"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("outbound_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    machine_detection: Mapped[str] = mapped_column(String(24), default="off")
    record: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
