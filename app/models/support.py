"""Support paths (woonondersteuning per type): per campaign, one path for each kan/wil profile
and one for landlords and tenants, each a list of steps optionally run by a coalition partner."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import SupportProfile, SupportStepKind, enum_check


class SupportPath(SQLModel, table=True):
    __tablename__ = "support_path"
    __table_args__ = (
        UniqueConstraint("campaign_id", "profile"),
        enum_check("profile", SupportProfile),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    profile: str = Field(max_length=32)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=2000)
    updated_at: datetime = instant_field(default_now=True)


class SupportStep(SQLModel, table=True):
    __tablename__ = "support_step"
    __table_args__ = (
        UniqueConstraint("path_id", "position"),
        enum_check("kind", SupportStepKind),
    )

    id: int | None = Field(default=None, primary_key=True)
    path_id: int = Field(foreign_key="support_path.id", ondelete="CASCADE")
    position: int
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=4000)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True,
                                   ondelete="SET NULL")
    url: str | None = Field(default=None, max_length=500)
