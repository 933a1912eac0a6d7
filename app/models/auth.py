"""Server-side sessions and bearer tokens, magic-link tokens, and rate-limit counters."""

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.models.base import instant_field


class AuthSession(SQLModel, table=True):
    """A browser session (cookie) or an API bearer token; only the token's hash is stored."""

    __tablename__ = "auth_session"
    __table_args__ = (
        CheckConstraint("kind IN ('web', 'api')", name="kind"),
        CheckConstraint(
            "(user_id IS NOT NULL AND household_id IS NULL) OR "
            "(user_id IS NULL AND household_id IS NOT NULL) OR "
            "(user_id IS NULL AND household_id IS NULL AND kind = 'web')",
            name="subject",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True,
                                ondelete="CASCADE")
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True,
                                     ondelete="CASCADE")
    created_at: datetime = instant_field(default_now=True)
    last_seen_at: datetime = instant_field(default_now=True)
    expires_at: datetime = instant_field(index=True)
    revoked_at: datetime | None = instant_field(nullable=True)


class MagicLinkToken(SQLModel, table=True):
    __tablename__ = "magic_link_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    household_id: int = Field(foreign_key="household.id", index=True, ondelete="CASCADE")
    created_at: datetime = instant_field(default_now=True)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)


class RateLimitHit(SQLModel, table=True):
    """Attempts per key per fixed window, shared by every worker and instance.

    `key` is an HMAC of what is counted (an email or client address never appears); a row is
    deleted once its window has ended (`expires_at`, Unix seconds)."""

    __tablename__ = "rate_limit_hit"

    key: str = Field(primary_key=True, max_length=200)
    window_start: int = Field(primary_key=True)
    count: int = 0
    expires_at: int = Field(index=True)
