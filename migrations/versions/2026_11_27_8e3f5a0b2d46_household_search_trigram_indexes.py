"""trigram indexes for the staff household search on PostgreSQL

Issue 6, point 7: the household list's text search (`ILIKE '%…%'` over name, e-mail and street)
read every row of the wijk's partial index on PostgreSQL: 310–340 ms p95 at 100,000 households
for the first searches. With pg_trgm, a GIN trigram index per column (over the households that
are not erased) answers a pattern of three characters or more from the index. SQLite needs
none (its LIKE reads the covering partial index in about 80–150 ms).

pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13+): the owner of the
database may create it. Where it is not available or not allowed, the migration leaves the
indexes out and says so; the search still works, by scanning. These indexes live only in the
database: `app.db.DATABASE_ONLY_INDEXES` keeps them out of the comparison with the models.

Revision ID: 8e3f5a0b2d46
Revises: 7d2e4f9a1c35
Create Date: 2026-11-27 15:05:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e3f5a0b2d46"
down_revision: str | None = "7d2e4f9a1c35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

COLUMNS = ["name", "email", "street"]


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    available = bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        log.warning("pg_trgm is not installed: the household search will scan")
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm could not be created (%s): the household search will scan",
                    exc.orig)
        return
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_household_live_{column}_trgm ON household "
                   f"USING gin ({column} gin_trgm_ops) WHERE erased_at IS NULL")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_household_live_{column}_trgm")
