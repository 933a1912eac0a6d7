"""estimate and support paths (issue 13): savings assumptions per measure and dwelling type,
energy price and emission factor, support paths per campaign and profile with their steps

Also the income limits of the four Mijn VerbouwPremie categories (from 2025), for the "which
category am I?" helper. Every amount is a row with a validity and a source; none is seeded here
(the demo adds labelled examples, app.services.estimates.ensure_example_data).

Revision ID: e4a5b6c7d839
Revises: d9e3f4a5b627
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "e4a5b6c7d839"
down_revision: str | None = "d9e3f4a5b627"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = ("'facade_insulation', 'window_frames', 'roof_insulation', 'cavity_wall_insulation', "
            "'floor_insulation', 'heat_pump', 'solar_pv', 'solar_water_heater', 'ventilation', "
            "'facade_garden', 'depaving', 'rainwater_tank'")


def _validity(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from",
                              name=op.f(f"ck_{table}_validity"))


def _organisation(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_organisation_id_organisation"))


def upgrade() -> None:
    op.create_table(
        "income_threshold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("income_category", sa.String(length=8), nullable=False),
        sa.Column("single_max_cents", sa.Integer(), nullable=True),
        sa.Column("couple_max_cents", sa.Integer(), nullable=True),
        sa.Column("per_dependant_cents", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        sa.CheckConstraint("income_category IN ('cat1', 'cat2', 'cat3', 'cat4')",
                           name=op.f("ck_income_threshold_income_category_enum")),
        sa.CheckConstraint("couple_max_cents IS NULL OR couple_max_cents >= 0",
                           name=op.f("ck_income_threshold_couple")),
        sa.CheckConstraint("per_dependant_cents >= 0",
                           name=op.f("ck_income_threshold_per_dependant")),
        sa.CheckConstraint("single_max_cents IS NULL OR single_max_cents >= 0",
                           name=op.f("ck_income_threshold_single")),
        _validity("income_threshold"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_income_threshold")),
    )
    op.create_table(
        "energy_factor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("price_cents_per_mwh", sa.Integer(), nullable=False),
        sa.Column("co2_grams_per_kwh", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("price_source_url", sa.String(length=500), nullable=False),
        sa.Column("co2_source_url", sa.String(length=500), nullable=False),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        sa.CheckConstraint("co2_grams_per_kwh >= 0", name=op.f("ck_energy_factor_co2")),
        sa.CheckConstraint("price_cents_per_mwh >= 0", name=op.f("ck_energy_factor_price")),
        _validity("energy_factor"),
        _organisation("energy_factor"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_factor")),
    )
    op.create_index("ix_energy_factor_organisation_id", "energy_factor", ["organisation_id"])
    op.create_table(
        "savings_assumption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("dwelling_type", sa.String(length=32), nullable=True),
        sa.Column("kwh_per_unit_year", sa.Integer(), nullable=False),
        sa.Column("price_cents_per_mwh", sa.Integer(), nullable=True),
        sa.Column("co2_grams_per_kwh", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        sa.CheckConstraint("dwelling_type IS NULL OR dwelling_type IN ('row_house', "
                           "'semi_detached', 'detached', 'apartment')",
                           name=op.f("ck_savings_assumption_dwelling_type_enum")),
        sa.CheckConstraint(f"measure IN ({MEASURES})",
                           name=op.f("ck_savings_assumption_measure_enum")),
        sa.CheckConstraint("co2_grams_per_kwh IS NULL OR co2_grams_per_kwh >= 0",
                           name=op.f("ck_savings_assumption_co2")),
        sa.CheckConstraint("kwh_per_unit_year >= 0", name=op.f("ck_savings_assumption_kwh")),
        sa.CheckConstraint("price_cents_per_mwh IS NULL OR price_cents_per_mwh >= 0",
                           name=op.f("ck_savings_assumption_price")),
        _validity("savings_assumption"),
        _organisation("savings_assumption"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_savings_assumption")),
    )
    op.create_index("ix_savings_assumption_organisation_id", "savings_assumption",
                    ["organisation_id"])
    op.create_table(
        "support_path",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("profile IN ('can_and_will', 'can_but_wont', 'cannot_but_will', "
                           "'cannot_and_wont', 'landlord_tenant')",
                           name=op.f("ck_support_path_profile_enum")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE",
                                name=op.f("fk_support_path_campaign_id_campaign")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_path")),
        sa.UniqueConstraint("campaign_id", "profile",
                            name=op.f("uq_support_path_campaign_id_profile")),
    )
    op.create_table(
        "support_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.CheckConstraint("kind IN ('premium', 'loan', 'coach', 'ocmw', 'ambassador', "
                           "'landlord', 'social_housing', 'other')",
                           name=op.f("ck_support_step_kind_enum")),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="SET NULL",
                                name=op.f("fk_support_step_partner_id_partner")),
        sa.ForeignKeyConstraint(["path_id"], ["support_path.id"], ondelete="CASCADE",
                                name=op.f("fk_support_step_path_id_support_path")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_step")),
        sa.UniqueConstraint("path_id", "position",
                            name=op.f("uq_support_step_path_id_position")),
    )
    op.create_index("ix_support_step_partner_id", "support_step", ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_support_step_partner_id", table_name="support_step")
    op.drop_table("support_step")
    op.drop_table("support_path")
    op.drop_index("ix_savings_assumption_organisation_id", table_name="savings_assumption")
    op.drop_table("savings_assumption")
    op.drop_index("ix_energy_factor_organisation_id", table_name="energy_factor")
    op.drop_table("energy_factor")
    op.drop_table("income_threshold")
