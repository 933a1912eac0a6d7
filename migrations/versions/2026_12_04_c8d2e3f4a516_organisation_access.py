"""cross-organisation access: explicit, narrow and audited grants

An admin belongs to one organisation like staff. Acting in another needs a grant
(`organisation_access_grant`): one admin, one organisation, a reason, at most a few hours,
revocable; every audit line written through it names it (`audit_event.access_grant_id`).

Contractors stay unique per organisation and VAT number (`uq_contractor_organisation_id_vat_number`
since the initial schema), so nothing changes on `contractor`.

Revision ID: c8d2e3f4a516
Revises: b7c1d2e3f405
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import app.models.base

revision: str = "c8d2e3f4a516"
down_revision: str | None = "b7c1d2e3f405"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("granted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("granted_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.CheckConstraint("expires_at > created_at",
                           name=op.f("ck_organisation_access_grant_expires_after_start")),
        sa.CheckConstraint("length(reason) > 0",
                           name=op.f("ck_organisation_access_grant_reason_given")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE",
                                name=op.f("fk_organisation_access_grant_user_id_app_user")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], ondelete="CASCADE",
            name=op.f("fk_organisation_access_grant_organisation_id_organisation")),
        sa.ForeignKeyConstraint(
            ["granted_by_user_id"], ["app_user.id"], ondelete="SET NULL",
            name=op.f("fk_organisation_access_grant_granted_by_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_access_grant")),
    )
    op.create_index(op.f("ix_organisation_access_grant_organisation_id"),
                    "organisation_access_grant", ["organisation_id"], unique=False)
    op.create_index("ix_organisation_access_grant_user_expires", "organisation_access_grant",
                    ["user_id", "expires_at"], unique=False)
    # A plain nullable column: no table rebuild of the (large) audit log on SQLite.
    op.add_column("audit_event", sa.Column("access_grant_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_column("access_grant_id")
    op.drop_index("ix_organisation_access_grant_user_expires",
                  table_name="organisation_access_grant")
    op.drop_index(op.f("ix_organisation_access_grant_organisation_id"),
                  table_name="organisation_access_grant")
    op.drop_table("organisation_access_grant")
