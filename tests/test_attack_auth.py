"""Attack run, authentication findings of issue 11: log-in timing (5), TOTP (6), the log-in limit
under a parallel burst (7), rate-limit rows that kept email and client addresses (4), lockout a
stranger cannot trigger, and bearer tokens that idle out and can be revoked."""

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col, select

from app.config import get_settings
from app.deps import SESSION_COOKIE
from app.models import AuthSession, RateLimitHit, User
from app.models.base import utcnow
from app.security import count_attempt, purge_expired_rate_limits, verify_password
from app.services import auth as auth_service
from app.services import users as user_service
from app.services.errors import RateLimited, Unauthorized
from tests.factories import DEFAULT_PASSWORD, make_household, make_user
from tests.support.server import LiveServer
from tests.support.world import bearer, csrf_of, web_login

LIMIT_AT_ADDRESS = auth_service.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS


@pytest.fixture
def client_at(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """TestClients that each call from their own client address."""
    clients: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = TestClient(app, client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def api_login(client: TestClient, email: str, password: str, totp: str | None = None) -> int:
    body = {"email": email, "password": password} | ({"totp": totp} if totp else {})
    return client.post("/api/v1/auth/token", json=body).status_code


def form_login(client: TestClient, email: str, password: str, totp: str = "") -> int:
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "totp": totp,
                                       "csrf_token": csrf}, follow_redirects=False).status_code


def seconds(call: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


# --- finding 5: log-in takes as long whether the account exists or not --------------------------


def test_log_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    """Medians of 7 attempts each, known and unknown interleaved so both see the same load, via
    the API and via the form; the unknown account must also pay for a full argon2 verify."""
    samples = 7
    known = [make_user(db_session) for _ in range(samples)]
    stored_hash = known[0].password_hash
    api, form = client_at("198.51.100.1"), client_at("198.51.100.2")
    form.get("/login")
    api_login(api, "warm-up@example.be", "x")  # makes the dummy hash once
    times: dict[str, list[float]] = {"api known": [], "api unknown": [], "form known": [],
                                     "form unknown": [], "verify": []}
    for i, user in enumerate(known):
        times["api known"].append(seconds(api_login, api, user.email, "wrong"))
        times["api unknown"].append(
            seconds(api_login, api, f"nobody{i}@example.be", "wrong"))
        times["form known"].append(seconds(form_login, form, user.email, "wrong"))
        times["form unknown"].append(
            seconds(form_login, form, f"niemand{i}@example.be", "wrong"))
        times["verify"].append(seconds(verify_password, stored_hash, "wrong"))
    median = {name: statistics.median(values) for name, values in times.items()}
    for channel in ("api", "form"):
        ratio = median[f"{channel} unknown"] / median[f"{channel} known"]
        assert 0.6 <= ratio <= 1.6, (channel, median)
        assert median[f"{channel} unknown"] >= 0.85 * median["verify"], (channel, median)


def test_inactive_implausible_and_two_step_accounts_also_pay_for_one_password_check(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    samples = 3
    inactive = [make_user(db_session, is_active=False) for _ in range(samples)]
    two_step = [make_user(db_session, totp_secret=pyotp.random_base32()) for _ in range(samples)]
    api, form = client_at("198.51.100.3"), client_at("198.51.100.4")
    stored_hash = inactive[0].password_hash
    api_login(api, "warm-up@example.be", "x")
    times: dict[str, list[float]] = {"inactive": [], "implausible": [], "two-step": [],
                                     "verify": []}
    for i in range(samples):
        # Right password of an inactive account; wrong one of a two-step account.
        times["inactive"].append(
            seconds(api_login, api, inactive[i].email, DEFAULT_PASSWORD))
        times["two-step"].append(seconds(api_login, api, two_step[i].email, "wrong"))
        # The API refuses such text before a log-in (422); the form looks nothing up.
        times["implausible"].append(
            seconds(form_login, form, f"{'x' * 300}{i}@example.be", "wrong"))
        times["verify"].append(seconds(verify_password, stored_hash, "wrong"))
    median = {name: statistics.median(values) for name, values in times.items()}
    for case in ("inactive", "implausible", "two-step"):
        assert median[case] >= 0.85 * median["verify"], (case, median)
    assert api_login(api, inactive[0].email, DEFAULT_PASSWORD) == 401


# --- finding 6: TOTP --------------------------------------------------------------------------


def previous_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() - 30)


def test_a_logged_in_session_cannot_replace_an_active_totp_secret(
    client: TestClient, db_session: Session
) -> None:
    secret = pyotp.random_base32()
    user = make_user(db_session, totp_secret=secret)
    csrf = web_login(client, db_session, user=user)
    attackers = pyotp.random_base32()
    response = client.post("/account/totp", data={
        "secret": attackers, "code": pyotp.TOTP(attackers).now(), "password": DEFAULT_PASSWORD,
        "csrf_token": csrf})
    assert response.status_code == 422
    assert "huidige toestel" in response.text
    db_session.refresh(user)
    assert user.totp_secret == secret


def test_turning_two_step_off_needs_a_current_code_and_the_password(
    client: TestClient, db_session: Session
) -> None:
    secret = pyotp.random_base32()
    user = make_user(db_session, totp_secret=secret)
    csrf = web_login(client, db_session, user=user)
    no_code = client.post("/account/totp", data={"code": "", "password": DEFAULT_PASSWORD,
                                                 "csrf_token": csrf})
    assert no_code.status_code == 422 and "code klopt niet" in no_code.text
    no_password = client.post("/account/totp", data={
        "code": pyotp.TOTP(secret).now(), "password": "", "csrf_token": csrf})
    assert no_password.status_code == 422 and "wachtwoord klopt niet" in no_password.text
    db_session.refresh(user)
    assert user.totp_secret == secret
    off = client.post("/account/totp", data={"code": pyotp.TOTP(secret).now(),
                                             "password": DEFAULT_PASSWORD, "csrf_token": csrf},
                      follow_redirects=False)
    assert off.status_code == 303
    db_session.refresh(user)
    assert user.totp_secret is None


def test_turning_two_step_on_needs_the_password(client: TestClient, db_session: Session) -> None:
    user = make_user(db_session)
    csrf = web_login(client, db_session, user=user)
    secret = pyotp.random_base32()
    response = client.post("/account/totp", data={
        "secret": secret, "code": pyotp.TOTP(secret).now(), "password": "guess",
        "csrf_token": csrf})
    assert response.status_code == 422 and "wachtwoord klopt niet" in response.text
    db_session.refresh(user)
    assert user.totp_secret is None


@pytest.mark.parametrize("typed", ["ABCDEFGHIJKLMNOP"[:10], "abc", "ÄÖÜ" * 8, "A" * 400])
def test_a_typed_over_secret_gets_the_page_again_with_a_new_one(
    client: TestClient, db_session: Session, typed: str
) -> None:
    user = make_user(db_session)
    csrf = web_login(client, db_session, user=user)
    response = client.post("/account/totp", data={
        "secret": typed, "code": "123456", "password": DEFAULT_PASSWORD, "csrf_token": csrf})
    assert response.status_code == 422 and "code klopt niet" in response.text
    assert f'value="{typed}"' not in response.text
    db_session.refresh(user)
    assert user.totp_secret is None


def test_the_same_code_logs_in_only_once(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    secret = pyotp.random_base32()
    user = make_user(db_session, totp_secret=secret)
    api, form = client_at("192.0.2.10"), client_at("192.0.2.11")
    code = pyotp.TOTP(secret).now()
    assert api_login(api, user.email, DEFAULT_PASSWORD, code) == 200
    assert api_login(api, user.email, DEFAULT_PASSWORD, code) == 401
    assert form_login(form, user.email, DEFAULT_PASSWORD, code) == 401
    # A code of an earlier step than the one used is refused too.
    assert api_login(api, user.email, DEFAULT_PASSWORD, previous_code(secret)) == 401


def test_the_code_that_turned_two_step_on_cannot_log_in(
    client: TestClient, db_session: Session, client_at: Callable[[str], TestClient]
) -> None:
    user = make_user(db_session)
    csrf = web_login(client, db_session, user=user)
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).now()
    on = client.post("/account/totp", data={"secret": secret, "code": code,
                                            "password": DEFAULT_PASSWORD, "csrf_token": csrf},
                     follow_redirects=False)
    assert on.status_code == 303
    assert api_login(client_at("192.0.2.12"), user.email, DEFAULT_PASSWORD, code) == 401


def test_two_parallel_log_ins_with_one_code_let_only_one_in(fresh_engine: Engine) -> None:
    secret = pyotp.random_base32()
    with Session(fresh_engine) as session:
        user = make_user(session, totp_secret=secret)
        session.commit()
        email = user.email
    code = pyotp.TOTP(secret).now()
    barrier = threading.Barrier(2)

    def attempt(index: int) -> str:
        with Session(fresh_engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                auth_service.authenticate_user(session, email=email, password=DEFAULT_PASSWORD,
                                               ip=f"192.0.2.{20 + index}", totp=code)
                session.commit()
                return "in"
            except Unauthorized:
                return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(attempt, range(2)))
    assert outcomes == ["in", "refused"]


# --- finding 7: the limit is taken before the password check ------------------------------------


def test_a_parallel_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit(
    fresh_engine: Engine,
) -> None:
    """20 threads, each with its own connection, start at once against one account."""
    with Session(fresh_engine) as session:
        email = make_user(session).email
        session.commit()
    burst = 20
    barrier = threading.Barrier(burst)

    def attempt(_: int) -> int:
        with Session(fresh_engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                auth_service.authenticate_user(session, email=email, password="wrong",
                                               ip="192.0.2.30")
            except Unauthorized:
                return 401
            except RateLimited:
                return 429
            return 200

    with ThreadPoolExecutor(max_workers=burst) as pool:
        statuses = list(pool.map(attempt, range(burst)))
    assert statuses.count(401) == LIMIT_AT_ADDRESS, statuses
    assert statuses.count(429) == burst - LIMIT_AT_ADDRESS, statuses


def test_a_burst_against_two_server_workers_gets_no_more_checks_than_the_limit(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(workers=2)
    server.cli("create-user", "--email", "els@energiehuis.be", "--password", DEFAULT_PASSWORD,
               "--role", "staff", "--organisation", "Energiehuis Brugge")
    url = f"{server.url}/api/v1/auth/token"
    burst = 20
    barrier = threading.Barrier(burst)

    def attempt(_: int) -> int:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return http.post(url, json={"email": "els@energiehuis.be",
                                        "password": "wrong"}).status_code

    with ThreadPoolExecutor(max_workers=burst) as pool:
        statuses = list(pool.map(attempt, range(burst)))
    assert statuses.count(401) == LIMIT_AT_ADDRESS, statuses
    assert statuses.count(429) == burst - LIMIT_AT_ADDRESS, statuses
    # Deactivating the account from the command line ends its tokens on every worker.
    with httpx.Client(timeout=30) as http:
        http.post(f"{server.url}/api/v1/auth/token",
                  json={"email": "els@energiehuis.be", "password": DEFAULT_PASSWORD})
    server.cli("deactivate-user", "--email", "els@energiehuis.be")
    with Session(server.engine) as session:
        live = session.exec(select(AuthSession).where(
            col(AuthSession.revoked_at).is_(None))).all()
        assert live == []


# --- finding 4: rate-limit rows hold neither email nor address, and are purged ------------------


def test_rate_limit_rows_hold_neither_the_email_nor_the_client_address(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    address = "203.0.113.77"
    household = make_household(db_session, email="an.peeters@example.be")
    staff = make_user(db_session, email="els.staff@example.be")
    client = client_at(address)
    assert client.post("/api/v1/auth/resident-link",
                       json={"email": household.email}).status_code == 202
    assert api_login(client, staff.email, "wrong") == 401
    assert form_login(client, staff.email, "wrong") == 401
    rows = db_session.exec(text("SELECT * FROM rate_limit_hit")).all()  # type: ignore[call-overload]
    assert rows
    stored = " ".join(str(value) for row in rows for value in row).lower()
    for secret_text in ("an.peeters", "example.be", "els.staff", address, "login", "magic"):
        assert secret_text not in stored


def test_rate_limit_rows_of_an_ended_window_are_purged(db_session: Session) -> None:
    now = int(time.time())
    db_session.add_all([RateLimitHit(key=f"old-{i}", window_start=now - 7200, count=3,
                                     expires_at=now - 3600) for i in range(5)])
    db_session.add(RateLimitHit(key="live", window_start=now - 60, count=1, expires_at=now + 600))
    db_session.flush()
    # A new counter row makes room: up to PURGE_BATCH ended windows go.
    count_attempt(db_session, "login:ip:192.0.2.40", window_seconds=900)
    keys = set(db_session.exec(select(RateLimitHit.key)).all())
    assert not {key for key in keys if key.startswith("old-")}
    assert "live" in keys and len(keys) == 2


def test_the_purge_is_bounded(db_session: Session) -> None:
    now = int(time.time())
    db_session.add_all([RateLimitHit(key=f"old-{i}", window_start=now - 7200, count=1,
                                     expires_at=now - 3600) for i in range(30)])
    db_session.flush()
    purge_expired_rate_limits(db_session, batch=10)
    assert len(db_session.exec(select(RateLimitHit.key)).all()) == 20


# --- decision: lockout a stranger cannot trigger against someone else --------------------------


def test_a_strangers_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(
    client_at: Callable[[str], TestClient], db_session: Session
) -> None:
    owner = make_user(db_session)
    stranger, at_home = client_at("203.0.113.5"), client_at("198.51.100.50")
    statuses = [api_login(stranger, owner.email, "guess") for _ in range(LIMIT_AT_ADDRESS + 3)]
    assert statuses == [401] * LIMIT_AT_ADDRESS + [429] * 3
    assert api_login(at_home, owner.email, DEFAULT_PASSWORD) == 200
    assert form_login(at_home, owner.email, DEFAULT_PASSWORD) == 303
    # The stranger stays locked out at their own address, even with the right password.
    assert api_login(stranger, owner.email, DEFAULT_PASSWORD) == 429


def test_one_address_trying_many_accounts_is_limited(
    client_at: Callable[[str], TestClient], db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth_service, "LOGIN_ATTEMPTS_PER_ADDRESS", 3)
    client = client_at("203.0.113.6")
    users = [make_user(db_session) for _ in range(4)]
    statuses = [api_login(client, user.email, "Welkom123!") for user in users]
    assert statuses == [401, 401, 401, 429]


def test_guessing_one_account_from_many_addresses_throttles_it_but_two_step_still_passes(
    client_at: Callable[[str], TestClient], db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth_service, "LOGIN_ATTEMPTS_PER_ACCOUNT", 3)
    secret = pyotp.random_base32()
    with_totp, without_totp = make_user(db_session, totp_secret=secret), make_user(db_session)
    for user in (with_totp, without_totp):
        for n in range(3):
            assert api_login(client_at(f"203.0.113.{100 + n}"), user.email, "guess") == 401
    fresh = client_at("198.51.100.60")
    assert api_login(fresh, without_totp.email, DEFAULT_PASSWORD) == 429
    assert api_login(fresh, with_totp.email, DEFAULT_PASSWORD) == 429
    assert api_login(fresh, with_totp.email, DEFAULT_PASSWORD, pyotp.TOTP(secret).now()) == 200


def test_a_success_does_not_reset_the_count_of_its_address(
    client_at: Callable[[str], TestClient], db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A credential stuffer cannot clear their address by logging in to their own account."""
    monkeypatch.setattr(auth_service, "LOGIN_ATTEMPTS_PER_ADDRESS", 3)
    own, victims = make_user(db_session), [make_user(db_session) for _ in range(3)]
    client = client_at("203.0.113.7")
    assert [api_login(client, victim.email, "guess") for victim in victims[:2]] == [401, 401]
    assert api_login(client, own.email, DEFAULT_PASSWORD) == 200
    assert api_login(client, victims[2].email, "guess") == 401
    assert api_login(client, victims[0].email, "guess") == 429


# --- decision: bearer tokens and sessions idle out, expire and can be revoked -------------------


def test_an_idle_bearer_token_is_refused(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    resident = make_household(db_session)
    staff_token = auth_service.start_session(db_session, kind="api", user=staff)
    resident_token = auth_service.start_session(db_session, kind="api", household=resident)
    assert client.get("/api/v1/audit", headers=bearer(staff_token)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(resident_token)).status_code == 200
    idle = timedelta(minutes=get_settings().API_TOKEN_IDLE_MINUTES + 1)
    db_session.exec(update(AuthSession).values(last_seen_at=utcnow() - idle))  # type: ignore[call-overload]
    assert client.get("/api/v1/audit", headers=bearer(staff_token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(resident_token)).status_code == 401


def test_a_bearer_token_ends_at_its_absolute_expiry_even_when_used(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    token = auth_service.start_session(db_session, kind="api", user=staff)
    stored = db_session.exec(select(AuthSession).where(AuthSession.user_id == staff.id)).one()
    lifetime = stored.expires_at - stored.created_at
    assert abs(lifetime - timedelta(hours=get_settings().API_TOKEN_ABSOLUTE_HOURS)) < timedelta(
        minutes=1)
    db_session.exec(update(AuthSession).values(  # type: ignore[call-overload]
        expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401


def test_api_logout_revokes_only_the_presented_token(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    token = auth_service.start_session(db_session, kind="api", user=staff)
    other = auth_service.start_session(db_session, kind="api", user=staff)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/audit", headers=bearer(other)).status_code == 200
    resident_token = auth_service.start_session(db_session, kind="api",
                                                household=make_household(db_session))
    assert client.post("/api/v1/auth/logout", headers=bearer(resident_token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(resident_token)).status_code == 401


def test_the_account_page_lists_sessions_and_tokens_and_revokes_one(
    client: TestClient, db_session: Session
) -> None:
    user, someone_else = make_user(db_session), make_user(db_session)
    csrf = web_login(client, db_session, user=user)
    token = auth_service.start_session(db_session, kind="api", user=user)
    others = auth_service.start_session(db_session, kind="web", user=someone_else)
    page = client.get("/account")
    assert page.status_code == 200
    assert "API-sleutel" in page.text and "deze sessie" in page.text
    rows = db_session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    api_row = next(row for row in rows if row.kind == "api")
    assert f'action="/account/sessies/{api_row.id}/intrekken"' in page.text
    without_csrf = client.post(f"/account/sessies/{api_row.id}/intrekken")
    assert without_csrf.status_code == 403
    revoked = client.post(f"/account/sessies/{api_row.id}/intrekken",
                          data={"csrf_token": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    assert f"/account/sessies/{api_row.id}/" not in client.get("/account").text
    # Another user's session cannot be ended from here.
    other_row = db_session.exec(select(AuthSession).where(
        AuthSession.user_id == someone_else.id)).one()
    assert client.post(f"/account/sessies/{other_row.id}/intrekken",
                       data={"csrf_token": csrf}).status_code == 404
    client.cookies.set(SESSION_COOKIE, others)
    assert client.get("/account").status_code == 200


def test_a_password_change_ends_every_session_and_token(
    client: TestClient, db_session: Session, client_at: Callable[[str], TestClient]
) -> None:
    user = make_user(db_session)
    csrf = web_login(client, db_session, user=user)
    old_cookie = client.cookies.get(SESSION_COOKIE)
    token = auth_service.start_session(db_session, kind="api", user=user)
    wrong = client.post("/account/wachtwoord", data={
        "current_password": "guess", "new_password": "een nieuw lang wachtwoord",
        "csrf_token": csrf})
    assert wrong.status_code == 422 and "wachtwoord klopt niet" in wrong.text
    changed = client.post("/account/wachtwoord", data={
        "current_password": DEFAULT_PASSWORD, "new_password": "een nieuw lang wachtwoord",
        "csrf_token": csrf}, follow_redirects=False)
    assert changed.status_code == 303
    new_cookie = changed.cookies.get(SESSION_COOKIE)
    assert new_cookie and new_cookie != old_cookie
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, new_cookie)
    assert client.get("/account").status_code == 200  # this browser has a new session
    client.cookies.set(SESSION_COOKIE, old_cookie)
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    live = auth_service.live_sessions(db_session, user.id)  # type: ignore[arg-type]
    assert len(live) == 1
    elsewhere = client_at("198.51.100.70")
    assert api_login(elsewhere, user.email, DEFAULT_PASSWORD) == 401
    assert api_login(elsewhere, user.email, "een nieuw lang wachtwoord") == 200


def test_deactivating_a_user_ends_their_sessions_and_tokens(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session)
    token = auth_service.start_session(db_session, kind="api", user=user)
    auth_service.start_session(db_session, kind="web", user=user)
    user_service.deactivate_user(db_session, user.email.upper())
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    rows = db_session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    # Turned on again by hand, the account does not bring its old sessions back.
    db_session.exec(update(User).where(User.id == user.id)  # type: ignore[call-overload, arg-type]
                    .values(is_active=True))
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
