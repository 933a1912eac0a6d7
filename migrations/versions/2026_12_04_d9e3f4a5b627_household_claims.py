"""household claims: a sign-up at a known address from an unproven contact

Revision ID: d9e3f4a5b627
Revises: c8d2e3f4a516
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9e3f4a5b627"
down_revision: str | None = "c8d2e3f4a516"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
