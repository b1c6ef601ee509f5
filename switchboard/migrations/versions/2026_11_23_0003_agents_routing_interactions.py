"""agents, routing and interactions: agent sessions, loads, state log, agent events,
interactions and their steps

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 08:58:14.932538
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.core.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
        sa.UniqueConstraint("user_id", "seq", name=op.f("uq_agent_events_user_id_seq")),
    )
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_events_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "agent_sessions",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("state_since", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("login_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("logout_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idle_since", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_sessions")),
    )
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_sessions_tenant_state", ["tenant_id", "state"], unique=False
        )

    op.create_table(
        "agent_state_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("started_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_state_log_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_state_log_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_state_log_tenant_started", ["tenant_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_agent_state_log_user_started", ["user_id", "started_at"], unique=False
        )

    op.create_table(
        "interactions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=36), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("client_key", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("agent_user_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.String(length=255), nullable=True),
        sa.Column("disposition", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("created_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_offered_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("answered_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_user_id"],
            ["users.id"],
            name=op.f("fk_interactions_agent_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_interactions_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_interactions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_interactions_chat_id")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interactions_agent_user_id"), ["agent_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interactions_external_id"), ["external_id"], unique=False
        )
        batch_op.create_index(
            "ix_interactions_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_interactions_tenant_state", ["tenant_id", "state"], unique=False)

    op.create_table(
        "agent_loads",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("wrapup", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_loads_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["agent_sessions.user_id"],
            name=op.f("fk_agent_loads_user_id_agent_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "media", name=op.f("pk_agent_loads")),
    )

    op.create_table(
        "interaction_steps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("interaction_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("deadline", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("party_id", sa.String(length=36), nullable=True),
        sa.Column("start_seq", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.String(length=36), nullable=True),
        sa.Column("offered_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", switchboard.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_steps_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_interaction_steps_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_interaction_steps_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_steps")),
    )
    with op.batch_alter_table("interaction_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interaction_steps_interaction_id"), ["interaction_id"], unique=False
        )
        batch_op.create_index(
            "ix_interaction_steps_phase_deadline", ["phase", "deadline"], unique=False
        )
        batch_op.create_index(
            "ix_interaction_steps_tenant_offered", ["tenant_id", "offered_at"], unique=False
        )
        batch_op.create_index("ix_interaction_steps_user_phase", ["user_id", "phase"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interaction_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_steps_user_phase")
        batch_op.drop_index("ix_interaction_steps_tenant_offered")
        batch_op.drop_index("ix_interaction_steps_phase_deadline")
        batch_op.drop_index(batch_op.f("ix_interaction_steps_interaction_id"))
    op.drop_table("interaction_steps")
    op.drop_table("agent_loads")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_tenant_state")
        batch_op.drop_index("ix_interactions_tenant_created")
        batch_op.drop_index(batch_op.f("ix_interactions_external_id"))
        batch_op.drop_index(batch_op.f("ix_interactions_agent_user_id"))
    op.drop_table("interactions")
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_state_log_user_started")
        batch_op.drop_index("ix_agent_state_log_tenant_started")
    op.drop_table("agent_state_log")
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_sessions_tenant_state")
    op.drop_table("agent_sessions")
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_events_created_at"))
    op.drop_table("agent_events")
