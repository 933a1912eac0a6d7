"""Organisations (municipality, energiehuis, intercommunale), users, contractors, and the
access grants that let a platform admin act in another organisation for a few hours."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
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
    # The time step of the last accepted code: a code is accepted only for a later step, so the
    # same code cannot log in twice.
    totp_last_step: int | None = None
    is_active: bool = True
    created_at: datetime = instant_field(default_now=True)


class OrganisationAccessGrant(SQLModel, table=True):
    """An admin's explicit, time-limited access to another organisation, given by the operator
    (`wijkwerf grant-access`) or by that organisation's own staff. While it is live (not revoked,
    not expired) the admin acts there as its staff would; every use is in that organisation's
    audit log with the grant's id."""

    __tablename__ = "organisation_access_grant"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_start"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        # The grants a principal is built with: the admin's, newest expiry first.
        Index("ix_organisation_access_grant_user_expires", "user_id", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    reason: str = Field(max_length=500)
    # Who gave it: a staff user of the organisation, or the operator on the command line
    # (then no user, and `granted_by` says "operator").
    granted_by_user_id: int | None = Field(default=None, foreign_key="app_user.id",
                                           ondelete="SET NULL")
    granted_by: str = Field(max_length=254)
    created_at: datetime = instant_field(default_now=True)
    expires_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(nullable=True)
    revoked_by: str = Field(default="", max_length=254)
