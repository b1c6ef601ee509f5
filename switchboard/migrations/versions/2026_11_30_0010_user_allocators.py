"""users: one allocator row per tenant, locked by every transaction that creates a user
or changes a loginId or extension (race-free automatic extensions, issue 17)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_allocators",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("last_extension", sa.Integer(), nullable=True),
        sa.Column("allocations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_user_allocators_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_user_allocators")),
    )


def downgrade() -> None:
    op.drop_table("user_allocators")
