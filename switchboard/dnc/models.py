"""Do-Not-Call lists and their entries.

An entry's ``value`` is normalised by the list's type (E.164 numbers for internal lists,
E.164 prefixes for area codes, upper-case postal codes, record keys for record
exclusion); the unique index on ``(list_id, value)`` makes a lookup one index probe,
whatever the size of the list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow

BigIntId = BigInteger().with_variant(Integer, "sqlite")

# internal: phone numbers; geographic: postal codes; area_code: number prefixes;
# record_exclusion: calling-list record keys (e.g. account numbers)
DNC_TYPES = ("internal", "geographic", "area_code", "record_exclusion")


class DncList(Base):
    __tablename__ = "dnc_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32), default="internal")
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # applies to every campaign of the tenant (otherwise only to campaigns that bind it)
    all_campaigns: Mapped[bool] = mapped_column(Boolean, default=True)
    # read-only lists (e.g. a national registry loaded by the CLI) refuse API changes
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DncEntry(Base):
    __tablename__ = "dnc_entries"
    __table_args__ = (UniqueConstraint("list_id", "value"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("dnc_lists.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # internal lists: the campaign the entry is restricted to (None: every campaign)
    campaign: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
