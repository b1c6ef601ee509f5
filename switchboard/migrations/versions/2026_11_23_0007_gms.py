"""gms: service instances, storage entries with TTL, Chat API v2 sessions

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-23 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gms_storage",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gms_storage_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gms_storage")),
    )
    with op.batch_alter_table("gms_storage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gms_storage_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gms_storage_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "gms_services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("data_id", sa.String(length=36), nullable=True),
        sa.Column("phone_digits", sa.String(length=32), nullable=True),
        sa.Column("customer_number", sa.String(length=64), nullable=True),
        sa.Column("access_number", sa.String(length=64), nullable=True),
        sa.Column("access_code", sa.String(length=16), nullable=True),
        sa.Column("expires_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("desired_time", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("callback_state", sa.String(length=16), nullable=True),
        sa.Column("chat_service", sa.String(length=255), nullable=True),
        sa.Column("chat_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_id"],
            ["gms_storage.id"],
            name=op.f("fk_gms_services_data_id_gms_storage"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gms_services_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gms_services")),
        sa.UniqueConstraint(
            "tenant_id",
            "access_number",
            "access_code",
            name=op.f("uq_gms_services_tenant_id_access_number_access_code"),
        ),
    )
    with op.batch_alter_table("gms_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gms_services_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_gms_services_kind", ["tenant_id", "kind", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_gms_services_phone", ["tenant_id", "phone_digits", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gms_services_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gms_services_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "gms_chats",
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("secure_key_digest", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=32), nullable=False),
        sa.Column("nickname", sa.String(length=255), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["gms_services.id"],
            name=op.f("fk_gms_chats_service_id_gms_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gms_chats_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_gms_chats")),
    )
    with op.batch_alter_table("gms_chats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gms_chats_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gms_chats_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gms_chats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gms_chats_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_gms_chats_created_at"))

    op.drop_table("gms_chats")
    with op.batch_alter_table("gms_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gms_services_updated_at"))
        batch_op.drop_index(batch_op.f("ix_gms_services_tenant_id"))
        batch_op.drop_index("ix_gms_services_phone")
        batch_op.drop_index("ix_gms_services_kind")
        batch_op.drop_index(batch_op.f("ix_gms_services_expires_at"))

    op.drop_table("gms_services")
    with op.batch_alter_table("gms_storage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gms_storage_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_gms_storage_expires_at"))

    op.drop_table("gms_storage")
