"""Organisations (municipality, energiehuis, intercommunale), users and contractors."""

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import Role, enum_check


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = instant_field(default_now=True)


class Contractor(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation_id", "vat_number"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    vat_number: str = Field(max_length=12)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime = instant_field(default_now=True)


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        enum_check("role", Role),
        CheckConstraint(
            "(role = 'contractor' AND contractor_id IS NOT NULL) OR "
            "(role IN ('admin', 'staff') AND organisation_id IS NOT NULL)",
            name="role_link",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    contractor_id: int | None = Field(
        default=None, foreign_key="contractor.id", index=True, ondelete="CASCADE"
    )
    totp_secret: str | None = Field(default=None, max_length=64)
    is_active: bool = True
    created_at: datetime = instant_field(default_now=True)
