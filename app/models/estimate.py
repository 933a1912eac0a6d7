"""What an estimate is computed from besides the offer and the premium rules: savings per
measure and dwelling type, the default energy price and emission factor, and the income limits
of the Mijn VerbouwPremie categories. Each row has a validity and a source; rows without an
organisation are shared by every organisation (the demo's examples)."""

from datetime import date

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.models.enums import DwellingType, IncomeCategory, Measure, enum_check


class SavingsAssumption(SQLModel, table=True):
    """What one unit of a measure saves per year in a dwelling type (none: any dwelling type).
    A price or emission factor of its own overrides the default one (e.g. electricity for solar
    panels, where the default is gas)."""

    __tablename__ = "savings_assumption"
    __table_args__ = (
        enum_check("measure", Measure),
        enum_check("dwelling_type", DwellingType, nullable=True),
        CheckConstraint("kwh_per_unit_year >= 0", name="kwh"),
        CheckConstraint("price_cents_per_mwh IS NULL OR price_cents_per_mwh >= 0", name="price"),
        CheckConstraint("co2_grams_per_kwh IS NULL OR co2_grams_per_kwh >= 0", name="co2"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    measure: str = Field(max_length=32)
    dwelling_type: str | None = Field(default=None, max_length=32)
    kwh_per_unit_year: int
    price_cents_per_mwh: int | None = None
    co2_grams_per_kwh: int | None = None
    valid_from: date
    valid_to: date | None = None
    source_url: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=500)
    is_example: bool = True


class EnergyFactor(SQLModel, table=True):
    """The default energy price (cents per MWh: € 0,105 per kWh is 10 500) and emission factor
    (grams of CO2 per kWh) that turn saved kWh into euros and kilograms."""

    __tablename__ = "energy_factor"
    __table_args__ = (
        CheckConstraint("price_cents_per_mwh >= 0", name="price"),
        CheckConstraint("co2_grams_per_kwh >= 0", name="co2"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    price_cents_per_mwh: int
    co2_grams_per_kwh: int
    valid_from: date
    valid_to: date | None = None
    price_source_url: str = Field(default="", max_length=500)
    co2_source_url: str = Field(default="", max_length=500)
    is_example: bool = True


class IncomeThreshold(SQLModel, table=True):
    """The upper income limit of a category: for a single person, for a couple or a single
    person with one dependant, plus an amount per further dependant. No limit (NULL) for the
    highest-income category, which is everyone above the others."""

    __tablename__ = "income_threshold"
    __table_args__ = (
        enum_check("income_category", IncomeCategory),
        CheckConstraint("single_max_cents IS NULL OR single_max_cents >= 0", name="single"),
        CheckConstraint("couple_max_cents IS NULL OR couple_max_cents >= 0", name="couple"),
        CheckConstraint("per_dependant_cents >= 0", name="per_dependant"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    income_category: str = Field(max_length=8)
    single_max_cents: int | None = None
    couple_max_cents: int | None = None
    per_dependant_cents: int = 0
    valid_from: date
    valid_to: date | None = None
    source_url: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=500)
    is_example: bool = True
