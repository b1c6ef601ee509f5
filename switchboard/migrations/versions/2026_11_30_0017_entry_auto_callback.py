"""scenario entries: auto_callback (a chat's phone_number is called back as soon as an
agent accepts the chat, issue 15)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scenario_entries") as batch:
        batch.add_column(
            sa.Column("auto_callback", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("scenario_entries") as batch:
        batch.drop_column("auto_callback")
