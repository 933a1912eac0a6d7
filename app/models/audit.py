"""The audit log and the mail outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import instant_field
from app.models.enums import MailStatus, enum_check


class AuditEvent(SQLModel, table=True):
    """Who viewed or changed which object; never the personal data itself."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_created", "organisation_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id",
                                        ondelete="CASCADE")
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id",
                                      ondelete="SET NULL")
    actor_kind: str = Field(max_length=16)
    actor_label: str = Field(default="", max_length=254)
    action: str = Field(max_length=40)
    object_type: str = Field(max_length=40)
    object_id: int | None = None
    household_id: int | None = Field(default=None, index=True)
    ip: str = Field(default="", max_length=64)
    outcome: str = Field(default="ok", max_length=16)
    # The organisation access grant the actor used, when they acted in this organisation
    # through one (a platform admin); no foreign key, so the line outlives any change to it.
    access_grant_id: int | None = None
    created_at: datetime = instant_field(default_now=True)


class OutboxMail(SQLModel, table=True):
    """A mail to send, written in the same transaction as the change that causes it.

    Household mails reference the household, never its address or a raw token: the sender
    renders them (and mints any magic link) at delivery time.
    """

    __tablename__ = "outbox_mail"
    __table_args__ = (
        enum_check("status", MailStatus),
        Index("ix_outbox_mail_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=40)
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True,
                                     ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="CASCADE")
    recipient: str | None = Field(default=None, max_length=254)
    locale: str = Field(default="nl", max_length=8)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=MailStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = instant_field(default_now=True)
    sent_at: datetime | None = instant_field(nullable=True)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = instant_field(default_now=True)
