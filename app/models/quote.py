"""Quote requests to contractors, their quotes with line items, and premium rules."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import (
    IncomeCategory,
    Measure,
    PremiumKind,
    QuoteRequestStatus,
    QuoteStatus,
    Unit,
    enum_check,
)


class QuoteRequest(SQLModel, table=True):
    __tablename__ = "quote_request"
    __table_args__ = (
        enum_check("measure", Measure),
        enum_check("status", QuoteRequestStatus),
        enum_check("unit", Unit),
        CheckConstraint(
            "market_unit_price_cents IS NULL OR market_unit_price_cents >= 0", name="market_price"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="household_group.id", index=True, ondelete="CASCADE")
    measure: str = Field(max_length=32)
    unit: str = Field(default="m2", max_length=16)
    description: str = ""
    deadline: datetime = instant_field()
    status: str = Field(default=QuoteRequestStatus.open, max_length=16)
    market_unit_price_cents: int | None = None
    created_at: datetime = instant_field(default_now=True)


class QuoteInvitation(SQLModel, table=True):
    __tablename__ = "quote_invitation"
    __table_args__ = (UniqueConstraint("quote_request_id", "contractor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    quote_request_id: int = Field(foreign_key="quote_request.id", index=True, ondelete="CASCADE")
    contractor_id: int = Field(foreign_key="contractor.id", index=True, ondelete="CASCADE")
    created_at: datetime = instant_field(default_now=True)


class Quote(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("quote_request_id", "contractor_id"),
        enum_check("status", QuoteStatus),
        CheckConstraint("vat_rate IN (6, 21)", name="vat_rate"),
        CheckConstraint("lead_time_weeks >= 0", name="lead_time"),
        CheckConstraint("warranty_years >= 0", name="warranty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    quote_request_id: int = Field(foreign_key="quote_request.id", index=True, ondelete="CASCADE")
    contractor_id: int = Field(foreign_key="contractor.id", index=True, ondelete="CASCADE")
    vat_rate: int = 6
    valid_until: date
    lead_time_weeks: int = 0
    warranty_years: int = 0
    notes: str = ""
    status: str = Field(default=QuoteStatus.submitted, max_length=16)
    submitted_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class QuoteLine(SQLModel, table=True):
    __tablename__ = "quote_line"
    __table_args__ = (
        enum_check("unit", Unit),
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key="quote.id", index=True, ondelete="CASCADE")
    position: int = 0
    description: str = Field(max_length=300)
    quantity: float
    unit: str = Field(max_length=16)
    unit_price_cents: int


class PremiumRule(SQLModel, table=True):
    __tablename__ = "premium_rule"
    __table_args__ = (
        enum_check("measure", Measure),
        enum_check("income_category", IncomeCategory),
        enum_check("kind", PremiumKind),
        CheckConstraint("rate >= 0", name="rate"),
        CheckConstraint("cap_cents IS NULL OR cap_cents >= 0", name="cap"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    measure: str = Field(max_length=32)
    income_category: str = Field(max_length=8)
    kind: str = Field(max_length=16)
    # Cents per unit for per_unit rules; whole percent of the invoice for percentage rules.
    rate: int
    cap_cents: int | None = None
    valid_from: date
    valid_to: date | None = None
    source_url: str = Field(default="", max_length=500)
    is_example: bool = True
