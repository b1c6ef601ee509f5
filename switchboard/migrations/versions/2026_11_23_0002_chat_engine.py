"""chat engine: one active session per client, poll lease, timers, push subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_push_subscriptions",
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=4096), nullable=False),
        sa.Column("bundle_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_push_subscriptions_chat_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_push_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_push_subscriptions")),
    )
    with op.batch_alter_table("chat_push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_push_subscriptions_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("chat_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_events_type_created", ["event_type", "created_at"], unique=False
        )

    utc = switchboard.core.db.UTCDateTime(timezone=True)
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_client_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("poll_lease_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("poll_lease_until", utc, nullable=True))
        batch_op.add_column(sa.Column("last_poll_at", utc, nullable=True))
        batch_op.add_column(sa.Column("poll_deadline_at", utc, nullable=True))
        batch_op.add_column(sa.Column("due_at", utc, nullable=True))
        batch_op.add_column(
            sa.Column(
                "inactivity_warning_seconds", sa.Integer(), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column(
                "inactivity_timeout_seconds", sa.Integer(), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column("poll_abandon_seconds", sa.Integer(), nullable=False, server_default="120")
        )
        batch_op.add_column(sa.Column("idle_since", utc, nullable=True))
        batch_op.add_column(sa.Column("warning_sent_at", utc, nullable=True))
        batch_op.add_column(sa.Column("case_closed_at", utc, nullable=True))
        batch_op.create_index("ix_chat_sessions_case", ["tenant_id", "case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_sessions_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_poll_deadline_at"), ["poll_deadline_at"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_chat_sessions_tenant_id_active_client_key"),
            ["tenant_id", "active_client_key"],
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_chat_sessions_tenant_id_active_client_key"), type_="unique"
        )
        batch_op.drop_index(batch_op.f("ix_chat_sessions_poll_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_chat_sessions_due_at"))
        batch_op.drop_index("ix_chat_sessions_case")
        batch_op.drop_column("case_closed_at")
        batch_op.drop_column("warning_sent_at")
        batch_op.drop_column("idle_since")
        batch_op.drop_column("poll_abandon_seconds")
        batch_op.drop_column("inactivity_timeout_seconds")
        batch_op.drop_column("inactivity_warning_seconds")
        batch_op.drop_column("due_at")
        batch_op.drop_column("poll_deadline_at")
        batch_op.drop_column("last_poll_at")
        batch_op.drop_column("poll_lease_until")
        batch_op.drop_column("poll_lease_id")
        batch_op.drop_column("active_client_key")

    with op.batch_alter_table("chat_events", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_events_type_created")

    with op.batch_alter_table("chat_push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_push_subscriptions_tenant_id"))

    op.drop_table("chat_push_subscriptions")
