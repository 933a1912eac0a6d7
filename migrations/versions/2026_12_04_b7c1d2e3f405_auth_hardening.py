"""log-in hardening: rate-limit expiry, single-use TOTP, revocable bearer tokens

Revision ID: b7c1d2e3f405
Revises: 8e3f5a0b2d46
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c1d2e3f405"
down_revision: str | None = "8e3f5a0b2d46"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
