"""Password hashing (argon2id), random tokens and their hashes, CSRF tokens, rate limits."""

import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

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


# rate_limit_hit.key holds at most this many characters.
MAX_RATE_LIMIT_KEY = 200


def _stored_key(key: str) -> str:
    """Keys carry what a visitor typed (an email address): one too long for the column, or with
    a character the database cannot store, is kept as its hash (same key, same counter)."""
    if len(key) <= MAX_RATE_LIMIT_KEY and key.isprintable():
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hit_rate_limit(session: Session, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for `key`; True when the key is over `limit` in the current window.

    Counters live in the database so that every worker and instance shares them. The upsert is
    atomic on both SQLite and PostgreSQL.
    """
    key = _stored_key(key)
    window_start = int(time.time()) // window_seconds * window_seconds
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitHit).values(key=key, window_start=window_start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"count": RateLimitHit.count + 1},  # type: ignore[operator]
    )
    session.exec(statement)  # type: ignore[call-overload]
    count = session.exec(
        select(RateLimitHit.count).where(
            RateLimitHit.key == key, RateLimitHit.window_start == window_start
        )
    ).one()
    return count > limit


def rate_limited(session: Session, key: str, *, limit: int, window_seconds: int) -> bool:
    """True when `key` is already over `limit` in the current window, without counting."""
    key = _stored_key(key)
    window_start = int(time.time()) // window_seconds * window_seconds
    count = session.exec(
        select(RateLimitHit.count).where(
            RateLimitHit.key == key, RateLimitHit.window_start == window_start
        )
    ).first()
    return (count or 0) >= limit


def reset_rate_limit(session: Session, key: str) -> None:
    key = _stored_key(key)
    session.exec(  # type: ignore[call-overload]
        update(RateLimitHit).where(RateLimitHit.key == key).values(count=0)  # type: ignore[arg-type]
    )
