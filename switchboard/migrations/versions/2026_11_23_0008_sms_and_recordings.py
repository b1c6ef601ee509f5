"""SMS/MMS messages and conversations; call recordings

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-23 09:47:43.263644
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_conversations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("access_number", sa.String(length=64), nullable=False),
        sa.Column("access_e164", sa.String(length=32), nullable=False),
        sa.Column("customer_e164", sa.String(length=32), nullable=False),
        sa.Column("relayed_seq", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_conversations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_conversations")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_sms_conversations_chat_id")),
    )
    with op.batch_alter_table("sms_conversations", schema=None) as batch_op:
        batch_op.create_index("ix_sms_conversations_active", ["active", "tenant_id"], unique=False)
        batch_op.create_index(
            "ix_sms_conversations_numbers",
            ["tenant_id", "access_e164", "customer_e164"],
            unique=False,
        )
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("giid", sa.String(length=36), nullable=False),
        sa.Column("step_id", sa.String(length=36), nullable=False),
        sa.Column("interaction_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("started_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("customer_phone", sa.String(length=64), nullable=True),
        sa.Column("agent_user_id", sa.String(length=36), nullable=True),
        sa.Column("agent_login", sa.String(length=255), nullable=True),
        sa.Column("agent_first_name", sa.String(length=255), nullable=True),
        sa.Column("agent_last_name", sa.String(length=255), nullable=True),
        sa.Column("service_name", sa.String(length=255), nullable=True),
        sa.Column("disposition", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("erased_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.String(length=255), nullable=True),
        sa.Column("erase_reason", sa.String(length=1024), nullable=True),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_user_id"],
            ["users.id"],
            name=op.f("fk_recordings_agent_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_recordings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_recordings_source_source_id")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_tenant_giid", ["tenant_id", "giid"], unique=False)
        batch_op.create_index("ix_recordings_tenant_step", ["tenant_id", "step_id"], unique=False)
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("from_number", sa.String(length=64), nullable=False),
        sa.Column("to_number", sa.String(length=64), nullable=False),
        sa.Column("from_e164", sa.String(length=32), nullable=False),
        sa.Column("to_e164", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media_urls", sa.JSON(), nullable=False),
        sa.Column("num_segments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("error_message", sa.String(length=1024), nullable=True),
        sa.Column("provider_sid", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("chat_id", sa.String(length=36), nullable=True),
        sa.Column("lease_until", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("date_created", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("date_sent", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("date_updated", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sms_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sms_messages_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_messages_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index("ix_sms_messages_provider", ["provider_sid"], unique=False)
        batch_op.create_index(
            "ix_sms_messages_status_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_sms_messages_tenant_created", ["tenant_id", "date_created"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_tenant_created")
        batch_op.drop_index("ix_sms_messages_status_due")
        batch_op.drop_index("ix_sms_messages_provider")
        batch_op.drop_index(batch_op.f("ix_sms_messages_chat_id"))
    op.drop_table("sms_messages")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_tenant_step")
        batch_op.drop_index("ix_recordings_tenant_giid")
    op.drop_table("recordings")
    with op.batch_alter_table("sms_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_conversations_numbers")
        batch_op.drop_index("ix_sms_conversations_active")
    op.drop_table("sms_conversations")
