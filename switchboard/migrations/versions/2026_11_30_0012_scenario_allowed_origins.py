"""scenario entries: allowed_origins (the web sites allowed to call the Messaging API
cross-origin for this entry, issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scenario_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allowed_origins", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("scenario_entries", schema=None) as batch_op:
        batch_op.drop_column("allowed_origins")
