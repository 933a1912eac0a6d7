"""The security baseline: CSRF, log-in with rate limits, server-side sessions, headers."""

import re
import time

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuthSession
from tests.factories import DEFAULT_PASSWORD, make_user


def csrf_from(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def login(client: TestClient, email: str, password: str) -> "object":
    token = csrf_from(client.get("/").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_every_form_post_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    for path in ("/login", "/logout", "/mijn/link", "/anything"):
        response = client.post(path, data={"email": "a@example.be", "password": "x"})
        assert response.status_code == 403, path
        assert "formulier is verlopen" in response.text


def test_a_forged_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": "a@b.be", "password": "x", "csrf_token": "0" * 64}
    )
    assert response.status_code == 403


def test_csrf_header_is_accepted_for_htmx_requests(client: TestClient, db_session: Session) -> None:
    user = make_user(db_session)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": user.email, "password": DEFAULT_PASSWORD},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/beheer"


def test_staff_login_starts_a_server_side_session_with_safe_cookie(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session)
    response = login(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/beheer"
    cookie = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith("ww_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    raw = cookie.split(";")[0].split("=", 1)[1]
    stored = db_session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    assert len(stored) == 1
    assert stored[0].token_hash != raw  # only the hash is kept


def test_a_new_login_gets_a_new_session_id(client: TestClient, db_session: Session) -> None:
    user = make_user(db_session)
    first = login(client, user.email, DEFAULT_PASSWORD).cookies.get("ww_session")
    second = login(client, user.email, DEFAULT_PASSWORD).cookies.get("ww_session")
    assert first and second and first != second


def test_wrong_password_gets_a_clear_message_next_to_the_field(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session)
    response = login(client, user.email, "wrong password")
    assert response.status_code == 401
    assert "horen niet bij elkaar" in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="password-error"' in response.text


def test_repeated_wrong_passwords_are_rate_limited_even_with_the_right_one(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session)
    statuses = [login(client, user.email, "wrong").status_code for _ in range(5)]
    assert statuses == [401] * 5
    blocked = login(client, user.email, DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    assert "Te veel mislukte aanmeldpogingen" in blocked.text


def test_api_login_is_rate_limited_per_account(client: TestClient, db_session: Session) -> None:
    user = make_user(db_session)
    for _ in range(5):
        response = client.post("/api/v1/auth/token", json={"email": user.email, "password": "x"})
        assert response.status_code == 401
    response = client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429


def test_api_token_login_answers_the_contract_shape(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session, role="admin")
    response = client.post(
        "/api/v1/auth/token", json={"email": user.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "role"}
    assert body["token_type"] == "bearer" and body["role"] == "admin"


def test_logout_revokes_the_session_on_the_server(client: TestClient, db_session: Session) -> None:
    user = make_user(db_session)
    login(client, user.email, DEFAULT_PASSWORD)
    token = csrf_from(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    revoked = db_session.exec(select(AuthSession).where(AuthSession.user_id == user.id)).one()
    assert revoked.revoked_at is not None


def test_pages_send_security_headers(client: TestClient) -> None:
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_api_refuses_bodies_that_are_not_json(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"email": "a", "password": "b"})
    assert response.status_code == 415
    assert response.json() == {"detail": "Content-Type must be application/json"}


def test_api_names_the_missing_field(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"email": "a@b.be"})
    assert response.status_code == 422
    assert ["body", "password"] in [error["loc"] for error in response.json()["detail"]]


def test_healthz_reports_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok",
        "outbox": {"due": 0, "oldest_due_seconds": 0.0, "failed": 0}}


def test_templates_escape_user_content(client: TestClient) -> None:
    response = client.get("/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)</script>" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text


def test_two_step_login_needs_the_code_once_turned_on(
    client: TestClient, db_session: Session
) -> None:
    import pyotp

    user = make_user(db_session)
    login(client, user.email, DEFAULT_PASSWORD)
    page = client.get("/account")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    wrong = client.post(
        "/account/totp",
        data={"secret": secret, "code": "000000", "password": DEFAULT_PASSWORD,
              "csrf_token": csrf_from(page.text)},
    )
    assert wrong.status_code == 422 and "code klopt niet" in wrong.text
    saved = client.post(
        "/account/totp",
        data={
            "secret": secret,
            "code": pyotp.TOTP(secret).at(time.time() - 30),
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.cookies.clear()
    without_code = login(client, user.email, DEFAULT_PASSWORD)
    assert (
        without_code.status_code == 401
        and 'aria-describedby="totp-hint totp-error"' in without_code.text
    )
    token = csrf_from(client.get("/").text)
    with_code = client.post(
        "/login",
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "totp": pyotp.TOTP(secret).now(),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert with_code.status_code == 303
