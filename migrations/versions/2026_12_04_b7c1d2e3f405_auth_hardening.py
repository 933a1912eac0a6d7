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
    # The counters kept email and client addresses as their key: they are short-lived (at most
    # a window of an hour), so they are dropped rather than rewritten as hashes.
    op.execute("DELETE FROM rate_limit_hit")
    # A NOT NULL column added to a SQLite table needs a default; the app always sets it.
    op.add_column("rate_limit_hit", sa.Column("expires_at", sa.Integer(), nullable=False,
                                              server_default="0"))
    op.create_index(op.f("ix_rate_limit_hit_expires_at"), "rate_limit_hit", ["expires_at"],
                    unique=False)
    op.add_column("app_user", sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("totp_last_step")
    op.drop_index(op.f("ix_rate_limit_hit_expires_at"), table_name="rate_limit_hit")
    with op.batch_alter_table("rate_limit_hit") as batch_op:
        batch_op.drop_column("expires_at")
