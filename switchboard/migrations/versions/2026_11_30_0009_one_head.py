"""One head: merge the domain branches that grew from 0001.

Revision ID: 0009
Revises: 0002, 0003, 0004, 0005, 0006, 0007, 0008
Create Date: 2026-11-30

From here on migrations form one line: each new revision names the current head as
its ``down_revision`` (``tests/test_platform.py`` checks there is exactly one head).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004", "0005", "0006", "0007", "0008")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
