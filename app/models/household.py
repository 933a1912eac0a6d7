"""Households, their sign-ups (Participation) with status history, and klimaattafel answers."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import (
    BudgetBand,
    DwellingType,
    Horizon,
    HouseholdSource,
    IncomeCategory,
    LifePhase,
    Measure,
    ParticipationStatus,
    Profile,
    Tenure,
    enum_check,
)


class Household(SQLModel, table=True):
    __table_args__ = (
        # One household per address within a campaign; erased households free their address.
        UniqueConstraint("campaign_id", "address_key"),
        enum_check("dwelling_type", DwellingType, nullable=True),
        enum_check("tenure", Tenure, nullable=True),
        enum_check("life_phase", LifePhase, nullable=True),
        enum_check("budget_band", BudgetBand, nullable=True),
        enum_check("profile", Profile, nullable=True),
        enum_check("income_category", IncomeCategory, nullable=True),
        enum_check("source", HouseholdSource),
        CheckConstraint("build_year IS NULL OR build_year BETWEEN 1500 AND 2100",
                        name="build_year"),
        CheckConstraint("energy_cost_cents_year IS NULL OR energy_cost_cents_year >= 0",
                        name="energy_cost"),
        Index("ix_household_campaign_street", "campaign_id", "street", "house_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=32)
    street: str = Field(default="", max_length=200)
    house_number: str = Field(default="", max_length=20)
    box: str = Field(default="", max_length=20)
    postcode: str = Field(default="", max_length=4)
    city: str = Field(default="", max_length=120)
    # Normalised street|number|box|postcode; NULL once erased.
    address_key: str | None = Field(default=None, max_length=300)
    dwelling_type: str | None = Field(default=None, max_length=32)
    build_year: int | None = None
    tenure: str | None = Field(default=None, max_length=32)
    life_phase: str | None = Field(default=None, max_length=32)
    budget_band: str | None = Field(default=None, max_length=16)
    profile: str | None = Field(default=None, max_length=32)
    income_category: str | None = Field(default=None, max_length=8)
    energy_kwh_year: int | None = None
    energy_cost_cents_year: int | None = None
    privacy_consent_version: str | None = Field(default=None, max_length=20)
    privacy_consented_at: datetime | None = instant_field(nullable=True)
    share_contact_with_contractor: bool = False
    source: str = Field(default=HouseholdSource.online, max_length=16)
    erased_at: datetime | None = instant_field(nullable=True)
    created_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class Participation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("offer_id", "household_id"),
        enum_check("status", ParticipationStatus),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        CheckConstraint("personal_offer_cents IS NULL OR personal_offer_cents >= 0",
                        name="personal_offer"),
        CheckConstraint("offer_id IS NOT NULL OR group_id IS NOT NULL", name="target"),
        Index("ix_participation_offer_status", "offer_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    offer_id: int | None = Field(default=None, foreign_key="offer.id", ondelete="CASCADE")
    # Quote-track sign-ups belong to a group rather than an offer.
    group_id: int | None = Field(
        default=None, foreign_key="household_group.id", index=True, ondelete="SET NULL"
    )
    measure: str | None = Field(default=None, max_length=32)
    quantity: float | None = None
    status: str = Field(max_length=16)
    measured_quantity: float | None = None
    personal_offer_cents: int | None = None
    personal_offer_deadline: date | None = None
    cancel_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = instant_field(default_now=True)
    status_changed_at: datetime = instant_field(default_now=True)


class ParticipationEvent(SQLModel, table=True):
    """Every status change: who, when and why."""

    __tablename__ = "participation_event"
    __table_args__ = (
        enum_check("to_status", ParticipationStatus),
        enum_check("from_status", ParticipationStatus, nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    participation_id: int = Field(
        foreign_key="participation.id", index=True, ondelete="CASCADE"
    )
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    occurred_on: date | None = None
    note: str = Field(default="", max_length=2000)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    actor_kind: str = Field(default="system", max_length=16)
    created_at: datetime = instant_field(default_now=True)


class InterestSubmission(SQLModel, table=True):
    """One klimaattafel form as submitted; counts are per submission."""

    __tablename__ = "interest_submission"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    household_id: int | None = Field(
        default=None, foreign_key="household.id", index=True, ondelete="SET NULL"
    )
    postcode: str = Field(default="", max_length=4)
    street: str = Field(default="", max_length=200)
    created_at: datetime = instant_field(default_now=True)


class Interest(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("submission_id", "measure"),
        enum_check("measure", Measure),
        enum_check("horizon", Horizon),
        Index("ix_interest_campaign_measure", "campaign_id", "measure", "horizon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(
        foreign_key="interest_submission.id", index=True, ondelete="CASCADE"
    )
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    measure: str = Field(max_length=32)
    horizon: str = Field(max_length=4)
