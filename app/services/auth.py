"""Log-in, server-side sessions and bearer tokens for staff, contractors and residents."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.config import get_settings
from app.i18n import N_
from app.models import AuthSession, Household, OrganisationAccessGrant, User
from app.models.base import utcnow
from app.models.enums import Role
from app.security import (
    hit_rate_limit,
    new_token,
    rate_limited,
    reset_rate_limit,
    token_hash,
    verify_password,
)
from app.services.errors import Invalid, RateLimited, Unauthorized
from app.services.validation import has_bad_character

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 30
# Touch last_seen_at at most this often, so that reading pages does not write every time.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a staff/admin/contractor user or a resident household."""

    role: Role
    session_id: int
    user_id: int | None = None
    household_id: int | None = None
    organisation_id: int | None = None
    contractor_id: int | None = None
    email: str = ""
    # Other organisations an admin may act for right now, each with the live access grant that
    # allows it: (organisation id, grant id). Filled in when the principal is built.
    grants: tuple[tuple[int, int], ...] = ()
    # The grant uses this request already wrote to the audit log (audit.record_grant_use).
    recorded_grant_uses: set[tuple[int, str, int | None]] = field(
        default_factory=set, init=False, compare=False, repr=False)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.staff, Role.admin)

    @property
    def organisation_ids(self) -> frozenset[int]:
        """The organisations whose data the caller may act on, for scoped queries: staff and
        admins their own, an admin also each one of a live access grant. Contractors and
        residents none (they are scoped by contractor or household)."""
        if not self.is_staff:
            return frozenset()
        own = () if self.organisation_id is None else (self.organisation_id,)
        return frozenset((*own, *(organisation_id for organisation_id, _ in self.grants)))

    def grant_for(self, organisation_id: int | None) -> int | None:
        """The access grant through which the caller reaches this organisation; None for their
        own organisation and for one they cannot reach."""
        if organisation_id is None or organisation_id == self.organisation_id:
            return None
        return next((grant_id for granted, grant_id in self.grants
                     if granted == organisation_id), None)


def live_grants(session: Session, user_id: int, now: datetime) -> tuple[tuple[int, int], ...]:
    """An admin's access grants that are neither revoked nor expired, as (organisation id, grant
    id), the newest grant for each organisation."""
    rows = session.exec(
        select(OrganisationAccessGrant.organisation_id, OrganisationAccessGrant.id)
        .where(OrganisationAccessGrant.user_id == user_id,
               col(OrganisationAccessGrant.revoked_at).is_(None),
               OrganisationAccessGrant.expires_at > now)
        .order_by(col(OrganisationAccessGrant.id).desc())
    ).all()
    newest: dict[int, int] = {}
    for organisation_id, grant_id in rows:
        assert grant_id is not None
        newest.setdefault(organisation_id, grant_id)
    return tuple(sorted(newest.items()))


def authenticate_user(
    session: Session, *, email: str, password: str, ip: str, totp: str | None = None
) -> User:
    """Check a password (and the TOTP code when the user turned it on); failures are counted
    per account and per address, shared by every worker and instance."""
    email = email.strip().lower()
    account_key, address_key = f"login:account:{email}", f"login:ip:{ip}"
    if rate_limited(
        session, account_key, limit=LOGIN_FAILURES_PER_ACCOUNT, window_seconds=LOGIN_WINDOW_SECONDS
    ) or rate_limited(
        session, address_key, limit=LOGIN_FAILURES_PER_ADDRESS, window_seconds=LOGIN_WINDOW_SECONDS
    ):
        raise RateLimited(
            N_("Te veel mislukte aanmeldpogingen. Probeer het over 15 minuten opnieuw.")
        )
    # Text no account can have (NUL, or longer than an address) is not looked up at all.
    plausible = len(email) <= 254 and not has_bad_character(email)
    user = session.exec(select(User).where(User.email == email)).first() if plausible else None
    failure: Unauthorized | None = None
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        failure = Unauthorized(N_("Dit e-mailadres en wachtwoord horen niet bij elkaar."),
                               field="password")
    elif user.totp_secret and not totp_code_valid(user.totp_secret, totp):
        failure = Unauthorized(
            N_("Vul de zescijferige code uit je authenticator-app in."), field="totp"
        )
    if failure is not None:
        for key in (account_key, address_key):
            hit_rate_limit(session, key, limit=0, window_seconds=LOGIN_WINDOW_SECONDS)
        # The failure must be counted even though the request answers with an error.
        session.commit()
        raise failure
    assert user is not None
    reset_rate_limit(session, account_key)
    return user


def start_session(
    session: Session, *, kind: str, user: User | None = None, household: Household | None = None
) -> str:
    """A new session (always a new id, so a fixed session cannot be carried over a log-in)."""
    settings = get_settings()
    token = new_token()
    lifetime = timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            kind=kind,
            user_id=user.id if user else None,
            household_id=household.id if household else None,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return token


def principal_for_token(session: Session, token: str | None, *, kind: str) -> Principal | None:
    """The principal behind a session cookie or bearer token, if it is live; marks the session
    as seen (at most once a minute) in the caller's transaction."""
    principal, stale_session_id = lookup_principal(session, token, kind=kind)
    if stale_session_id is not None:
        touch_session(session, stale_session_id)
    return principal


def lookup_principal(session: Session, token: str | None, *, kind: str
                     ) -> tuple[Principal | None, int | None]:
    """The live principal behind a token without writing anything, and the id of its session
    when that is due to be marked as seen (`touch_session`), else None."""
    if not token:
        return None, None
    settings = get_settings()
    now = utcnow()
    auth = session.exec(
        select(AuthSession).where(
            AuthSession.token_hash == token_hash(token), AuthSession.kind == kind
        )
    ).first()
    if auth is None or auth.revoked_at is not None or auth.expires_at <= now:
        return None, None
    if kind == "web" and now - auth.last_seen_at > timedelta(minutes=settings.SESSION_IDLE_MINUTES):
        return None, None
    assert auth.id is not None
    stale = auth.id if now - auth.last_seen_at > _TOUCH_INTERVAL else None
    if auth.user_id is not None:
        user = session.get(User, auth.user_id)
        if user is None or not user.is_active:
            return None, None
        assert user.id is not None
        role = Role(user.role)
        return Principal(
            role=role,
            session_id=auth.id,
            user_id=user.id,
            organisation_id=user.organisation_id,
            contractor_id=user.contractor_id,
            email=user.email,
            grants=live_grants(session, user.id, now) if role == Role.admin else (),
        ), stale
    if auth.household_id is not None:
        household = session.get(Household, auth.household_id)
        if household is None or household.erased_at is not None:
            return None, None
        return Principal(role=Role.resident, session_id=auth.id, household_id=household.id), stale
    return None, None


def touch_session(session: Session, session_id: int) -> None:
    """Mark a session as seen now (the idle timeout counts from here)."""
    session.exec(  # type: ignore[call-overload]
        update(AuthSession).where(AuthSession.id == session_id)  # type: ignore[arg-type]
        .values(last_seen_at=utcnow())
    )


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.exec(  # type: ignore[call-overload]
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash(token))  # type: ignore[arg-type]
            .values(revoked_at=utcnow())
        )


def end_household_sessions(session: Session, household_id: int) -> None:
    session.exec(  # type: ignore[call-overload]
        update(AuthSession)
        .where(AuthSession.household_id == household_id)  # type: ignore[arg-type]
        .where(AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )


def totp_code_valid(secret: str, code: str | None) -> bool:
    """A time-based one-time code, allowing one step of clock drift."""
    code = (code or "").replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Wijkwerf")


def set_totp(session: Session, user_id: int, secret: str | None, code: str) -> None:
    """Turn two-step log-in on (with a new secret) or off; both need a valid current code."""
    user = session.get(User, user_id)
    assert user is not None
    check_secret = secret or user.totp_secret
    if not check_secret or not totp_code_valid(check_secret, code):
        raise Invalid(N_("Deze code klopt niet. Kijk de tijd op je toestel na en probeer opnieuw."),
                      field="totp")
    user.totp_secret = secret
    session.add(user)
