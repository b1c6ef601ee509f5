"""Users, their roles (with privileges) and their skills."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from switchboard.core.db import Base, UTCDateTime, new_id, utcnow


class Privilege(StrEnum):
    STATS_API = "Access Realtime Stats API"
    STATS_AGENTS = "View real-time agent metrics"
    STATS_SERVICES = "View real-time service metrics"
    SMS_API = "Use SMS/MMS API"
    MANAGE_USERS = "Manage users"
    MANAGE_CONFIG = "Manage configuration"
    MANAGE_LISTS = "Manage calling lists"
    MANAGE_CAMPAIGNS = "Manage campaigns"
    RECORDINGS = "Access recordings"
    HANDLE_INTERACTIONS = "Handle interactions"
    SUPERVISE = "Supervise teams"
    TEAM_MESSAGES = "Post team messages"


BUILTIN_ROLES: dict[str, list[Privilege]] = {
    "System Administrator": list(Privilege),
    "Supervisor": [
        Privilege.STATS_API,
        Privilege.STATS_AGENTS,
        Privilege.STATS_SERVICES,
        Privilege.SUPERVISE,
        Privilege.TEAM_MESSAGES,
        Privilege.HANDLE_INTERACTIONS,
        Privilege.RECORDINGS,
    ],
    "Agent": [Privilege.HANDLE_INTERACTIONS, Privilege.TEAM_MESSAGES],
    "Campaign Operator": [
        Privilege.MANAGE_LISTS,
        Privilege.MANAGE_CAMPAIGNS,
        Privilege.STATS_API,
        Privilege.STATS_SERVICES,
        Privilege.SMS_API,
    ],
    "Reporting": [Privilege.STATS_API, Privilege.STATS_SERVICES, Privilege.RECORDINGS],
    # the other roles that seed 003's SCIM examples name (a user holding all eleven)
    "Campaign Administrator": [
        Privilege.MANAGE_LISTS,
        Privilege.MANAGE_CAMPAIGNS,
        Privilege.SMS_API,
        Privilege.STATS_API,
        Privilege.STATS_AGENTS,
        Privilege.STATS_SERVICES,
        Privilege.RECORDINGS,
    ],
    "Service Administrator": [
        Privilege.MANAGE_CONFIG,
        Privilege.STATS_API,
        Privilege.STATS_SERVICES,
    ],
    "Security Administrator": [Privilege.MANAGE_USERS],
    "Manager": [
        Privilege.STATS_API,
        Privilege.STATS_AGENTS,
        Privilege.STATS_SERVICES,
        Privilege.SUPERVISE,
        Privilege.TEAM_MESSAGES,
        Privilege.RECORDINGS,
    ],
    "Quality Evaluator": [Privilege.RECORDINGS, Privilege.STATS_API, Privilege.STATS_AGENTS],
    "Quality Evaluator Admin": [
        Privilege.RECORDINGS,
        Privilege.STATS_API,
        Privilege.STATS_AGENTS,
        Privilege.STATS_SERVICES,
    ],
    "Reviewer": [Privilege.RECORDINGS],
}


user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", String(36), ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    privileges: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class UserSkill(Base):
    __tablename__ = "user_skills"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer, default=100)

    skill: Mapped[Any] = relationship("Skill", lazy="selectin")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "login_id"),
        UniqueConstraint("tenant_id", "extension"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    login_id: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    api_secret_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    nickname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    title: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(32), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    extension: Mapped[str | None] = mapped_column(String(32), nullable=True)
    work_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mobile_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the "default hardphone number" (SCIM phoneNumbers of type "default")
    default_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    external_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    emails: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    photo_content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    photo_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    photo_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_mail: Mapped[bool] = mapped_column(Boolean, default=False)
    greeting: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    skills: Mapped[list[UserSkill]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    team: Mapped[Any] = relationship("Team", lazy="selectin", foreign_keys=[team_id])

    @property
    def privileges(self) -> set[str]:
        out: set[str] = set()
        for r in self.roles:
            out.update(r.privileges or [])
        return out

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return self.nickname or full or self.login_id


class UserAllocator(Base):
    """One row per tenant: the lock of user provisioning. Every transaction that creates
    a user or changes a loginId or an extension locks it first (``FOR UPDATE`` on
    PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so its checks
    and the automatic extension it picks cannot race with another request, in this
    process or another. ``last_extension`` is where the next search for a free
    extension starts."""

    __tablename__ = "user_allocators"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_extension: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allocations: Mapped[int] = mapped_column(Integer, default=0)
