"""Households, their sign-ups (Participation) with status history, and klimaattafel answers."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel, col

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


def _live_index(name: str, *columns: Any) -> Index:
    """An index over the households that are not erased. It holds erased_at too: SQLite only
    reads a partial index without the table when the index has every column the query names."""
    live = text("erased_at IS NULL")
    return Index(name, *columns, "erased_at", sqlite_where=live, postgresql_where=live)


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
        # The staff list and the dashboard read a campaign's households that are not erased:
        # partial indexes over those only (both databases use them for `erased_at IS NULL`),
        # so the columns after campaign_id give the order. By name and by sign-up date (the
        # list's other sorts), in street order (below the class: it has an expression), and
        # one holding every column the list filters on (a filtered list's count, the text
        # search and the social mix, without reading the rows).
        _live_index("ix_household_campaign_live_name", "campaign_id", "name", "id"),
        _live_index("ix_household_campaign_live_created", "campaign_id", "created_at", "id"),
        _live_index("ix_household_campaign_live_filters", "campaign_id", "tenure", "life_phase",
                    "budget_band", "profile", "street", "name", "email"),
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


# The list's default order, neighbours together: street, then shorter house numbers first ("2"
# before "10"), then the number as text, the box, the id (household_queries._order); also the
# street filter's options and participation per street.
_live_index("ix_household_campaign_live_street", col(Household.campaign_id),
            col(Household.street), func.length(col(Household.house_number)),
            col(Household.house_number), col(Household.box), col(Household.id))


class Participation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("offer_id", "household_id"),
        enum_check("status", ParticipationStatus),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        CheckConstraint("personal_offer_cents IS NULL OR personal_offer_cents >= 0",
                        name="personal_offer"),
        CheckConstraint("offer_id IS NOT NULL OR group_id IS NOT NULL", name="target"),
        Index("ix_participation_offer_status", "offer_id", "status", "id"),
        # A household's sign-ups by status (signed up or not, for every household of the
        # dashboard) and, the other way round, the households with a measure and status (the
        # list's sign-up filters).
        Index("ix_participation_household_status", "household_id", "status", "measure"),
        Index("ix_participation_measure_status", "measure", "status", "household_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", ondelete="CASCADE")
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
        # The funnel reads only which statuses each sign-up reached.
        Index("ix_participation_event_participation_status", "participation_id", "to_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    participation_id: int = Field(foreign_key="participation.id", ondelete="CASCADE")
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
    # The dashboard counts the submissions of people who are not (yet) a household.
    __table_args__ = (
        Index("ix_interest_submission_campaign_household", "campaign_id", "household_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
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


class InterestTally(SQLModel, table=True):
    """How many klimaattafel answers a campaign has per measure and horizon: the count of its
    `interest` rows, kept exact by database triggers on `interest` (insert, update and delete,
    created by migration 2026_11_27_5c0a1e7d3b21), so the dashboard and the public summary
    read at most 36 rows instead of counting a million. Never written by the app itself."""

    __tablename__ = "interest_tally"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    measure: str = Field(primary_key=True, max_length=32)
    horizon: str = Field(primary_key=True, max_length=4)
    answers: int = 0


class HouseholdProgress(SQLModel, table=True):
    """Per household with at least one sign-up: whether one of them is not cancelled, and the
    furthest funnel stage (stats.FUNNEL_STAGES, 1 = assigned ... 5 = completed; 0 = none) that
    the status history of any of them reached. Kept exact by database triggers on
    participation, participation_event and household (created by migration
    2026_11_27_5c0a1e7d3b21), so the dashboard reads one narrow row per household instead of
    every sign-up and status event. Never written by the app itself."""

    __tablename__ = "household_progress"
    __table_args__ = (
        Index("ix_household_progress_campaign", "campaign_id", "signed_up", "stage",
              "household_id"),
    )

    household_id: int = Field(foreign_key="household.id", primary_key=True, ondelete="CASCADE")
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    signed_up: bool = False
    stage: int = 0


class StreetTally(SQLModel, table=True):
    """Per campaign and street: the households that are not erased, and how many of them have
    a sign-up that is not cancelled (HouseholdProgress.signed_up). Kept exact by database
    triggers on household and household_progress (migration 2026_11_27_7d2e4f9a1c35), so the
    dashboard reads a row per street instead of grouping every household. Never written by the
    app itself."""

    __tablename__ = "street_tally"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    street: str = Field(primary_key=True, max_length=200)
    households: int = 0
    signed_up: int = 0


class MixTally(SQLModel, table=True):
    """The same per combination of the social-mix answers (an unanswered one is stored as '',
    a key cannot be NULL): what the dashboard's social-mix tables add up."""

    __tablename__ = "mix_tally"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    tenure: str = Field(primary_key=True, max_length=32)
    life_phase: str = Field(primary_key=True, max_length=32)
    budget_band: str = Field(primary_key=True, max_length=16)
    profile: str = Field(primary_key=True, max_length=32)
    households: int = 0
    signed_up: int = 0
