"""Password hashing (argon2id), random tokens and their hashes, CSRF tokens, rate limits."""

import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.config import get_settings
from app.models import RateLimitHit

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this keeps a log-in for an unknown account as slow as for a known one
    (made on first use, so that starting a process does not pay for it)."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256 (they are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(csrf_cookie: str) -> str:
    """The CSRF token a page embeds: an HMAC of the visitor's random CSRF cookie (signed
    double-submit), so a token cannot be forged without both the cookie and the app's key."""
    key = get_settings().SECRET_KEY.encode()
    return hmac.new(key, b"csrf|" + csrf_cookie.encode(), hashlib.sha256).hexdigest()


def csrf_token_valid(csrf_cookie: str | None, presented: str | None) -> bool:
    if not csrf_cookie or not presented:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    return hmac.compare_digest(csrf_token_for(csrf_cookie).encode(),
                               presented.encode("utf-8", "surrogatepass"))


# At most this many expired counters are deleted each time a new counter row is made, so the
# table stays as small as its live windows without a sweep that could take long.
PURGE_BATCH = 20


def rate_limit_key(key: str) -> str:
    """What rate_limit_hit stores for a key: an HMAC with the app's key, so no email address,
    client address or household id is kept (and the same key always counts on the same row)."""
    secret = get_settings().SECRET_KEY.encode()
    message = b"rate-limit|" + key.encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def count_attempt(session: Session, key: str, *, window_seconds: int) -> int:
    """Count one attempt for `key` in the current window and answer the new count.

    One upsert that increments and returns the count, atomic on SQLite and PostgreSQL, so
    concurrent attempts (any worker, any instance) each see their own number: a caller that
    compares it with its limit before doing the work cannot be outrun by a parallel burst.
    """
    now = int(time.time())
    window_start = now // window_seconds * window_seconds
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitHit).values(
        key=rate_limit_key(key), window_start=window_start,
        expires_at=window_start + window_seconds, count=1,
    ).on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"count": RateLimitHit.count + 1},  # type: ignore[operator]
    ).returning(col(RateLimitHit.count))
    count = int(session.exec(statement).scalar_one())  # type: ignore[call-overload]
    if count == 1:
        purge_expired_rate_limits(session, now=now)
    return count


def purge_expired_rate_limits(session: Session, *, now: int | None = None,
                              batch: int = PURGE_BATCH) -> None:
    """Delete up to `batch` counters whose window has ended (run whenever a counter row is made,
    so expired rows never pile up); rows another transaction holds are left for the next time."""
    expired = (
        select(RateLimitHit.key, RateLimitHit.window_start)
        .where(RateLimitHit.expires_at <= (int(time.time()) if now is None else now))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    session.exec(  # type: ignore[call-overload]
        delete(RateLimitHit).where(
            tuple_(RateLimitHit.key, RateLimitHit.window_start).in_(expired)  # type: ignore[arg-type]
        )
    )


def hit_rate_limit(session: Session, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for `key`; True when the key is over `limit` in the current window.

    Counters live in the database so that every worker and instance shares them."""
    return count_attempt(session, key, window_seconds=window_seconds) > limit


def rate_limited(session: Session, key: str, *, limit: int, window_seconds: int) -> bool:
    """True when `key` is already over `limit` in the current window, without counting."""
    window_start = int(time.time()) // window_seconds * window_seconds
    count = session.exec(
        select(RateLimitHit.count).where(
            RateLimitHit.key == rate_limit_key(key), RateLimitHit.window_start == window_start
        )
    ).first()
    return (count or 0) >= limit


def give_back_attempt(session: Session, key: str, *, window_seconds: int) -> None:
    """Undo one counted attempt of the current window (a success does not use up a limit)."""
    window_start = int(time.time()) // window_seconds * window_seconds
    session.exec(  # type: ignore[call-overload]
        update(RateLimitHit)
        .where(RateLimitHit.key == rate_limit_key(key),  # type: ignore[arg-type]
               RateLimitHit.window_start == window_start,  # type: ignore[arg-type]
               RateLimitHit.count > 0)  # type: ignore[arg-type]
        .values(count=RateLimitHit.count - 1)  # type: ignore[operator]
    )


def reset_rate_limit(session: Session, key: str) -> None:
    session.exec(  # type: ignore[call-overload]
        delete(RateLimitHit).where(RateLimitHit.key == rate_limit_key(key))  # type: ignore[arg-type]
    )
