"""Groups of households, their members, and batches (a group assigned to a contractor)."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import GroupKind, Measure, enum_check


class Group(SQLModel, table=True):
    __tablename__ = "household_group"
    __table_args__ = (
        enum_check("kind", GroupKind),
        enum_check("measure", Measure, nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    offer_id: int | None = Field(default=None, foreign_key="offer.id", ondelete="SET NULL")
    measure: str | None = Field(default=None, max_length=32)
    criteria: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    locked: bool = False
    created_at: datetime = instant_field(default_now=True)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="household_group.id", index=True, ondelete="CASCADE")
    household_id: int = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    added_at: datetime = instant_field(default_now=True)


class Batch(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("group_id", "contractor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="household_group.id", index=True, ondelete="CASCADE")
    contractor_id: int = Field(foreign_key="contractor.id", index=True, ondelete="RESTRICT")
    offer_id: int | None = Field(default=None, foreign_key="offer.id", ondelete="SET NULL")
    created_at: datetime = instant_field(default_now=True)
