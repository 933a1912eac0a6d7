"""Claims: a sign-up at the address of a known household from someone who has not proved
control of that household (the identity rule of DESIGN.md, round 2). A claim holds what was
typed and the place it was given, and changes nothing in the household until the household's
own channel (its stored email) or staff confirm it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import instant_field


class HouseholdClaim(SQLModel, table=True):
    __tablename__ = "household_claim"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'withdrawn')",
                        name="status"),
        CheckConstraint("held_status IN ('registered', 'waitlisted')", name="held_status"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        # Places held by pending claims, counted with the offer's sign-ups.
        Index("ix_household_claim_offer_status", "offer_id", "status", "held_status",
              "created_at"),
        # The staff queue: a wijk's pending claims, oldest first.
        Index("ix_household_claim_campaign_status", "campaign_id", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    household_id: int = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    offer_id: int = Field(foreign_key="offer.id", ondelete="CASCADE")
    status: str = Field(default="pending", max_length=16)
    # The answer the sign-up got, and so the place it holds while pending.
    held_status: str = Field(max_length=16)
    # What was typed (households.HouseholdData as a dict); blanked once decided.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quantity: float | None = None
    share_contact_with_contractor: bool = False
    privacy_consent_version: str | None = Field(default=None, max_length=20)
    source: str = Field(default="online", max_length=16)
    locale: str = Field(default="nl", max_length=8)
    # The household already had a sign-up for this offer when the claim came in.
    already_signed_up: bool = False
    participation_id: int | None = Field(default=None, foreign_key="participation.id",
                                         ondelete="SET NULL")
    decided_at: datetime | None = instant_field(nullable=True)
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id",
                                           ondelete="SET NULL")
    # "household" (its stored email confirmed or refused) or "staff".
    decided_via: str | None = Field(default=None, max_length=16)
    decision_note: str = Field(default="", max_length=500)
    created_at: datetime = instant_field(default_now=True)


class ClaimToken(SQLModel, table=True):
    """A single-use link about a claim, stored as its hash: `notice` goes to the household's
    stored email (confirm or refuse), `receipt` to the one who signed up (their own view)."""

    __tablename__ = "claim_token"
    __table_args__ = (
        CheckConstraint("purpose IN ('notice', 'receipt')", name="purpose"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    claim_id: int = Field(foreign_key="household_claim.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=16)
    created_at: datetime = instant_field(default_now=True)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)
