"""cross-organisation access: explicit, narrow and audited grants

Revision ID: c8d2e3f4a516
Revises: b7c1d2e3f405
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c8d2e3f4a516"
down_revision: str | None = "b7c1d2e3f405"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
