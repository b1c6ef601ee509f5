"""statistics: subscriptions and team messages

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("sender_user_id", sa.String(length=36), nullable=True),
        sa.Column("sender_login_id", sa.String(length=255), nullable=False),
        sa.Column("sender_first_name", sa.String(length=255), nullable=False),
        sa.Column("sender_last_name", sa.String(length=255), nullable=False),
        sa.Column("team_ids", sa.JSON(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("is_urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_user_id"],
            ["users.id"],
            name=op.f("fk_team_messages_sender_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_team_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_messages")),
    )
    with op.batch_alter_table("team_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_team_messages_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "stats_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("polled_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_stats_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["access_tokens.id"],
            name=op.f("fk_stats_subscriptions_token_id_access_tokens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_stats_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_subscriptions")),
        sa.UniqueConstraint("token_id", name=op.f("uq_stats_subscriptions_token_id")),
    )
    with op.batch_alter_table("stats_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stats_subscriptions_tenant_polled", ["tenant_id", "polled_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stats_subscriptions_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stats_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stats_subscriptions_user_id"))
        batch_op.drop_index("ix_stats_subscriptions_tenant_polled")
    op.drop_table("stats_subscriptions")
    with op.batch_alter_table("team_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_team_messages_tenant_created")
    op.drop_table("team_messages")
