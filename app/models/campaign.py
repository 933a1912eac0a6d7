"""A wijk project (Campaign), its coalition partners, its framework offers and price tiers."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import CampaignStatus, Measure, PartnerKind, Unit, enum_check


class Campaign(SQLModel, table=True):
    __table_args__ = (
        enum_check("status", CampaignStatus),
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
                        name="period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=200)
    municipality: str = Field(max_length=120)
    description: str = ""
    postcodes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    streets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = Field(default=CampaignStatus.draft, max_length=16)
    # Bumped by every change that alters what the public pages show (cache key across workers).
    content_version: int = 0
    created_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class Partner(SQLModel, table=True):
    __table_args__ = (enum_check("kind", PartnerKind),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(default="", max_length=300)


class Offer(SQLModel, table=True):
    __table_args__ = (
        enum_check("measure", Measure),
        enum_check("unit", Unit),
        CheckConstraint("vat_rate IN (6, 21)", name="vat_rate"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("signup_closes_at > signup_opens_at", name="window"),
        CheckConstraint(
            "market_unit_price_cents IS NULL OR market_unit_price_cents >= 0",
            name="market_price",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    contractor_id: int = Field(foreign_key="contractor.id", index=True, ondelete="RESTRICT")
    measure: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = ""
    lot: str = Field(default="", max_length=40)
    procurement_reference: str = Field(default="", max_length=80)
    unit: str = Field(max_length=16)
    vat_rate: int = 6
    capacity: int
    signup_opens_at: datetime = instant_field()
    signup_closes_at: datetime = instant_field()
    market_unit_price_cents: int | None = None
    created_at: datetime = instant_field(default_now=True)


class PriceTier(SQLModel, table=True):
    __tablename__ = "price_tier"
    __table_args__ = (
        UniqueConstraint("offer_id", "min_participants"),
        CheckConstraint("min_participants >= 0", name="min_participants"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offer.id", index=True, ondelete="CASCADE")
    min_participants: int
    unit_price_cents: int
