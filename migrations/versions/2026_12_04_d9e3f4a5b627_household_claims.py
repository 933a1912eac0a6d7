"""household claims: a sign-up at a known address from an unproven contact

The identity rule (DESIGN.md, round 2): an address counts a household but never opens it. A
sign-up at the address of a known household from someone who has not proved control of its
stored email is kept as a claim (`household_claim`) that changes nothing in the household until
its own channel or staff confirm it; `claim_token` holds the hashes of the links about a claim.

Revision ID: d9e3f4a5b627
Revises: c8d2e3f4a516
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "d9e3f4a5b627"
down_revision: str | None = "c8d2e3f4a516"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held_status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("share_contact_with_contractor", sa.Boolean(), nullable=False),
        sa.Column("privacy_consent_version", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("already_signed_up", sa.Boolean(), nullable=False),
        sa.Column("participation_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_via", sa.String(length=16), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'withdrawn')",
                           name=op.f("ck_household_claim_status")),
        sa.CheckConstraint("held_status IN ('registered', 'waitlisted')",
                           name=op.f("ck_household_claim_held_status")),
        sa.CheckConstraint("quantity IS NULL OR quantity >= 0",
                           name=op.f("ck_household_claim_quantity")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE",
                                name=op.f("fk_household_claim_campaign_id_campaign")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE",
                                name=op.f("fk_household_claim_household_id_household")),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"], ondelete="CASCADE",
                                name=op.f("fk_household_claim_offer_id_offer")),
        sa.ForeignKeyConstraint(["participation_id"], ["participation.id"], ondelete="SET NULL",
                                name=op.f("fk_household_claim_participation_id_participation")),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["app_user.id"], ondelete="SET NULL",
                                name=op.f("fk_household_claim_decided_by_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_claim")),
    )
    op.create_index("ix_household_claim_household_id", "household_claim", ["household_id"])
    op.create_index("ix_household_claim_offer_status", "household_claim",
                    ["offer_id", "status", "held_status", "created_at"])
    op.create_index("ix_household_claim_campaign_status", "household_claim",
                    ["campaign_id", "status", "created_at"])
    op.create_table(
        "claim_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('notice', 'receipt')",
                           name=op.f("ck_claim_token_purpose")),
        sa.ForeignKeyConstraint(["claim_id"], ["household_claim.id"], ondelete="CASCADE",
                                name=op.f("fk_claim_token_claim_id_household_claim")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_claim_token_token_hash")),
    )
    op.create_index("ix_claim_token_claim_id", "claim_token", ["claim_id"])


def downgrade() -> None:
    op.drop_table("claim_token")
    op.drop_table("household_claim")
