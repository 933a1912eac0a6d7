"""estimate and support paths (issue 13): savings assumptions per measure and dwelling type,
energy price and emission factor, support paths per campaign and profile with their steps

Revision ID: e4a5b6c7d839
Revises: d9e3f4a5b627
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

revision: str = "e4a5b6c7d839"
down_revision: str | None = "d9e3f4a5b627"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
