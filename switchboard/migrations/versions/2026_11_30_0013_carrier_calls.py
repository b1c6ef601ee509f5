"""real carriers (issue 15): telephony_calls (one row per call placed through a carrier:
its carrier id, progress, answering-machine verdict and recording) and
telephony_campaign_options (answering-machine detection and recording per campaign)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from switchboard.core.db import UTCDateTime

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telephony_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("carrier_sid", sa.String(length=64), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("agent_number", sa.String(length=64), nullable=True),
        sa.Column("machine_detection", sa.String(length=24), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("recording_url", sa.String(length=1024), nullable=True),
        sa.Column("recording_status", sa.String(length=16), nullable=True),
        sa.Column("recording_duration", sa.Integer(), nullable=False),
        sa.Column("recording_tries", sa.Integer(), nullable=False),
        sa.Column("recording_due_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_telephony_calls_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_calls")),
    )
    op.create_index(
        "ix_telephony_calls_carrier_sid", "telephony_calls", ["carrier_sid"], unique=False
    )
    op.create_index(
        "ix_telephony_calls_recording_due",
        "telephony_calls",
        ["recording_status", "recording_due_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_telephony_calls_tenant_id"), "telephony_calls", ["tenant_id"], unique=False
    )
    op.create_table(
        "telephony_campaign_options",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("machine_detection", sa.String(length=24), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["outbound_campaigns.id"],
            name=op.f("fk_telephony_campaign_options_campaign_id_outbound_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_telephony_campaign_options_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_telephony_campaign_options")),
    )
    op.create_index(
        op.f("ix_telephony_campaign_options_tenant_id"),
        "telephony_campaign_options",
        ["tenant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_telephony_campaign_options_tenant_id"), table_name="telephony_campaign_options"
    )
    op.drop_table("telephony_campaign_options")
    op.drop_index(op.f("ix_telephony_calls_tenant_id"), table_name="telephony_calls")
    op.drop_index("ix_telephony_calls_recording_due", table_name="telephony_calls")
    op.drop_index("ix_telephony_calls_carrier_sid", table_name="telephony_calls")
    op.drop_table("telephony_calls")
