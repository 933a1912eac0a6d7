"""Log-in, server-side sessions and bearer tokens for staff, contractors and residents."""

import hmac
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.config import get_settings
from app.i18n import N_
from app.models import AuthSession, Household, OrganisationAccessGrant, User
from app.models.base import utcnow
from app.models.enums import Role
from app.security import (
    count_attempt,
    give_back_attempt,
    new_token,
    reset_rate_limit,
    token_hash,
    verify_password,
)
from app.services.errors import Invalid, NotFound, RateLimited, Unauthorized
from app.services.validation import has_bad_character

LOGIN_WINDOW_SECONDS = 15 * 60
# Log-in attempts per account from one client address: the lock a stranger can put only on
# their own address, never on the account's owner logging in from elsewhere.
LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS = 5
# Attempts from one client address over all accounts (credential stuffing).
LOGIN_ATTEMPTS_PER_ADDRESS = 30
# Attempts on one account from all addresses together (guessing spread over many addresses).
# Past it the account is throttled, except for a caller who also gives a valid code of
# two-step log-in.
LOGIN_ATTEMPTS_PER_ACCOUNT = 100
MSG_TOO_MANY_ATTEMPTS = N_("Te veel mislukte aanmeldpogingen. Probeer het over 15 minuten "
                           "opnieuw.")
MSG_WRONG_PASSWORD = N_("Dit e-mailadres en wachtwoord horen niet bij elkaar.")
MSG_WRONG_CODE = N_("Deze code klopt niet. Kijk de tijd op je toestel na en probeer opnieuw.")
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


@dataclass(frozen=True)
class LoginKeys:
    """The rate-limit keys one log-in attempt counts on (stored only as HMACs)."""

    address: str
    account_at_address: str
    account: str


def login_keys(email: str, ip: str) -> LoginKeys:
    return LoginKeys(address=f"login:ip:{ip}", account_at_address=f"login:account-ip:{email}|{ip}",
                     account=f"login:account:{email}")


def _within_login_limits(session: Session, keys: LoginKeys, *, user: User | None,
                         totp: str | None) -> bool:
    """Count this attempt before any password is checked; False when a limit is used up.

    Each count is one atomic upsert answering the new count, so a parallel burst (any worker,
    any instance) gets no more password checks than the limit. Keys are counted in order and
    counting stops at the first limit used up: attempts refused at one address do not count
    against the account as a whole."""
    window = LOGIN_WINDOW_SECONDS
    if count_attempt(session, keys.address, window_seconds=window) > LOGIN_ATTEMPTS_PER_ADDRESS:
        return False
    if count_attempt(session, keys.account_at_address,
                     window_seconds=window) > LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS:
        return False
    if count_attempt(session, keys.account, window_seconds=window) > LOGIN_ATTEMPTS_PER_ACCOUNT:
        return bool(user is not None and user.totp_secret
                    and totp_step(user.totp_secret, totp) is not None)
    return True


def _forgive_attempt(session: Session, keys: LoginKeys) -> None:
    """A success clears the account's count at this address and gives back its unit of the
    others (so logging in to one's own account never resets an address's count)."""
    reset_rate_limit(session, keys.account_at_address)
    give_back_attempt(session, keys.address, window_seconds=LOGIN_WINDOW_SECONDS)
    give_back_attempt(session, keys.account, window_seconds=LOGIN_WINDOW_SECONDS)


def authenticate_user(
    session: Session, *, email: str, password: str, ip: str, totp: str | None = None
) -> User:
    """Check a password (and the TOTP code when the user turned it on).

    The attempt is counted and committed before the check (see `_within_login_limits`), and
    every attempt within the limits verifies exactly one argon2 hash, a dummy one for an
    unknown, implausible or inactive account, so the answer takes as long whether the account
    exists or not."""
    email = email.strip().lower()
    keys = login_keys(email, ip)
    # Text no account can have (NUL, or longer than an address) is not looked up at all.
    plausible = len(email) <= 254 and not has_bad_character(email)
    user = session.exec(select(User).where(User.email == email)).first() if plausible else None
    within_limits = _within_login_limits(session, keys, user=user, totp=totp)
    # The count must stay even though the request answers with an error, and no transaction
    # (on SQLite: the write lock) may be held while argon2 runs.
    session.commit()
    if not within_limits:
        raise RateLimited(MSG_TOO_MANY_ATTEMPTS)
    live_hash = user.password_hash if user is not None and user.is_active else None
    if not verify_password(live_hash, password) or user is None or live_hash is None:
        raise Unauthorized(MSG_WRONG_PASSWORD, field="password")
    if user.totp_secret and not accept_totp_code(session, user, totp):
        raise Unauthorized(
            N_("Vul de zescijferige code uit je authenticator-app in."), field="totp"
        )
    _forgive_attempt(session, keys)
    return user


def confirm_password(session: Session, user: User, *, password: str, ip: str,
                     field: str = "password") -> None:
    """Check a logged-in user's password again before a change to how they log in, under the
    same limits as a log-in (a stolen session cannot guess it any faster); `field` names the
    form field in the refusal."""
    keys = login_keys(user.email, ip)
    within_limits = _within_login_limits(session, keys, user=None, totp=None)
    session.commit()
    if not within_limits:
        raise RateLimited(MSG_TOO_MANY_ATTEMPTS)
    if not verify_password(user.password_hash, password):
        raise Invalid(N_("Dit wachtwoord klopt niet."), field=field)
    _forgive_attempt(session, keys)


def start_session(
    session: Session, *, kind: str, user: User | None = None, household: Household | None = None
) -> str:
    """A new session (always a new id, so a fixed session cannot be carried over a log-in)."""
    token = new_token()
    lifetime = _absolute_lifetime(kind)
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
    now = utcnow()
    auth = session.exec(
        select(AuthSession).where(
            AuthSession.token_hash == token_hash(token), AuthSession.kind == kind
        )
    ).first()
    if auth is None or not _is_live(auth, now):
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


def _absolute_lifetime(kind: str) -> timedelta:
    settings = get_settings()
    hours = settings.API_TOKEN_ABSOLUTE_HOURS if kind == "api" else settings.SESSION_ABSOLUTE_HOURS
    return timedelta(hours=hours)


def _idle_timeout(kind: str) -> timedelta:
    settings = get_settings()
    minutes = settings.API_TOKEN_IDLE_MINUTES if kind == "api" else settings.SESSION_IDLE_MINUTES
    return timedelta(minutes=minutes)


def _is_live(auth: AuthSession, now: datetime) -> bool:
    """Not revoked, not past its absolute expiry, and used within its idle timeout."""
    return (auth.revoked_at is None and auth.expires_at > now
            and now - auth.last_seen_at <= _idle_timeout(auth.kind))


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


def end_session_by_id(session: Session, session_id: int) -> None:
    """Revoke one session or bearer token (the caller's own: API log-out)."""
    session.exec(  # type: ignore[call-overload]
        update(AuthSession)
        .where(AuthSession.id == session_id)  # type: ignore[arg-type]
        .where(col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def end_user_sessions(session: Session, user_id: int) -> None:
    """Revoke every browser session and bearer token of a user (password changed, account
    deactivated)."""
    session.exec(  # type: ignore[call-overload]
        update(AuthSession)
        .where(AuthSession.user_id == user_id)  # type: ignore[arg-type]
        .where(col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def live_sessions(session: Session, user_id: int) -> list[AuthSession]:
    """A user's sessions and bearer tokens that still work, the most recently used first."""
    now = utcnow()
    candidates = session.exec(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, col(AuthSession.revoked_at).is_(None),
               AuthSession.expires_at > now)
        .order_by(col(AuthSession.last_seen_at).desc(), col(AuthSession.id).desc())
    ).all()
    return [auth for auth in candidates if _is_live(auth, now)]


def revoke_own_session(session: Session, user_id: int, session_id: int) -> None:
    """Revoke one of the user's own sessions or tokens; another user's is not found."""
    result = session.exec(  # type: ignore[call-overload]
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.user_id == user_id)  # type: ignore[arg-type]
        .where(col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount != 1:
        raise NotFound(N_("Deze sessie bestaat niet of is al beëindigd."), field="session")


def end_household_sessions(session: Session, household_id: int) -> None:
    session.exec(  # type: ignore[call-overload]
        update(AuthSession)
        .where(AuthSession.household_id == household_id)  # type: ignore[arg-type]
        .where(AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )


# A secret as new_totp_secret makes it (pyotp's base32, 32 characters); one typed or sent
# otherwise is refused before pyotp would fail on it.
_TOTP_SECRET = re.compile(r"[A-Z2-7]{16,64}")


def totp_step(secret: str, code: str | None) -> int | None:
    """The time step a six-digit code is valid for (now, or one step of clock drift either
    way), or None when it is not valid."""
    code = (code or "").replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or not _TOTP_SECRET.fullmatch(
        secret
    ):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_totp_code(session: Session, user: User, code: str | None) -> bool:
    """Whether the code is valid for the user's secret and of a later time step than the last
    accepted one; then that step is recorded, so the same code never works twice. One
    conditional update: of two requests with the same code, only one can pass."""
    step = totp_step(user.totp_secret, code) if user.totp_secret else None
    if step is None:
        return False
    result = session.exec(  # type: ignore[call-overload]
        update(User)
        .where(User.id == user.id)  # type: ignore[arg-type]
        .where(or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def new_totp_secret() -> str:
    return pyotp.random_base32()


def is_totp_secret(secret: str) -> bool:
    """A base32 secret of 80 to 320 bits, as `new_totp_secret` makes (and apps accept)."""
    return bool(_TOTP_SECRET.fullmatch(secret))


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Wijkwerf")


def set_totp(session: Session, user_id: int, *, secret: str | None, code: str, password: str,
             ip: str) -> None:
    """Turn two-step log-in on (`secret`, with a `code` from it) or off (no `secret`, with a
    current code). Both need the password, and an active secret is only ever removed with a
    current code of it (a new device: turn it off, then on), so a stolen session can neither
    take two-step log-in over nor switch it off."""
    user = session.get(User, user_id)
    assert user is not None
    if user.totp_secret and secret:
        raise Invalid(N_("Tweestapsverificatie staat al aan. Zet ze eerst uit met een code van "
                         "je huidige toestel."), field="code")
    confirm_password(session, user, password=password, ip=ip)
    if user.totp_secret:
        if not accept_totp_code(session, user, code):
            raise Invalid(MSG_WRONG_CODE, field="code")
    else:
        step = totp_step(secret or "", code)
        if step is None:
            raise Invalid(MSG_WRONG_CODE, field="code")
        # The code that turned it on cannot log in afterwards.
        user.totp_last_step = max(step, user.totp_last_step or 0)
    user.totp_secret = secret
    session.add(user)
