"""Personal data stays where it belongs (issue 11, findings 3, 4 and 9): no answer with personal
data may be cached, the log holds no personal data or token, the file mailer's copies go with an
erasure, and a database outage is a 503 the caller can read rather than a bare 500.
"""

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app import db as app_db
from app.config import get_settings
from app.main import create_app
from app.middleware import CSRF_COOKIE
from app.models import Household
from app.services import mail, residents
from app.services.auth import Principal, Role
from tests import factories
from tests.support.world import World, bearer, build_world, csrf_of, web_login


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world(db_session)


# --- finding 3: nothing personal is cacheable, in development and in production ---------------


def personal_api_requests(world: World, session: Session) -> list[tuple[str, dict[str, str]]]:
    staff, contractor = world.staff_headers(session), world.contractor_headers(session)
    resident = world.resident_headers(session)
    slug = world.campaign.slug
    return [
        ("/api/v1/me", resident),
        ("/api/v1/me/export", resident),
        (f"/api/v1/quote-requests/{world.quote_request.id}/comparison", resident),
        (f"/api/v1/campaigns/{slug}/households", staff),
        (f"/api/v1/campaigns/{slug}/groups", staff),
        (f"/api/v1/groups/{world.group.id}", staff),
        ("/api/v1/audit", staff),
        ("/api/v1/claims", staff),
        ("/api/v1/contractors", staff),
        (f"/api/v1/batches/{world.batch.id}.csv", contractor),
        ("/api/v1/contractor/batches", contractor),
        ("/api/v1/contractor/quote-requests", contractor),
    ]


@pytest.mark.parametrize("in_production", [False, True])
def test_no_api_answer_with_personal_data_may_be_stored(
    app: FastAPI, db_session: Session, world: World, request: pytest.FixtureRequest,
    in_production: bool
) -> None:
    if in_production:
        request.getfixturevalue("production")
    with TestClient(app, base_url="https://testserver") as client:
        for path, headers in personal_api_requests(world, db_session):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            assert response.headers["cache-control"] == "no-store", path
            assert ("strict-transport-security" in response.headers) is in_production


def test_static_files_may_be_kept_for_an_hour(client: TestClient) -> None:
    static = client.get("/static/app.css")
    assert static.status_code == 200
    assert static.headers["cache-control"] == "public, max-age=3600"


def test_the_middlewares_own_refusals_carry_hsts_and_no_store_in_production(
    app: FastAPI, world: World, production: None
) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        client.get("/login")
        no_csrf = client.post("/login", data={"email": "a@example.be", "password": "x"})
        assert no_csrf.status_code == 403
        wrong_type = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                                 content=b"name=x", headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415
        assert wrong_type.json() == {"detail": "Content-Type must be application/json"}
        for response in (no_csrf, wrong_type):
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-content-type-options"] == "nosniff"


# --- finding 4c: the access log names routes, never tokens, searches or contacts -------------


def test_the_access_log_holds_no_token_search_or_contact(
    client: TestClient, db_session: Session, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wijkwerf.access")
    resident_email = "lieve.peeters@example.be"
    link_token = mail.mint_magic_link(db_session, world.resident.id).rsplit("/r/", 1)[1]  # type: ignore[arg-type]
    db_session.flush()
    assert client.get(f"/r/{link_token}").status_code == 200
    api_token = world.resident_headers(db_session)["Authorization"].split()[1]
    assert client.get("/api/v1/me", headers=bearer(api_token)).status_code == 200
    signed_up = client.post(f"/api/v1/offers/{world.offer.id}/participations", json={
        "household": {"name": "Lieve Peeters", "email": resident_email,
                      "street": "Zeedijk", "house_number": "101", "postcode": "8400"},
        "quantity": 20, "consent": True})
    assert signed_up.status_code == 201, signed_up.text
    client.cookies.clear()
    web_login(client, db_session, user=world.staff)
    search = client.get(f"/beheer/wijken/{world.campaign.slug}/huishoudens",
                        params={"q": "Peeters", "email": resident_email})
    assert search.status_code == 200

    lines = [record.getMessage() for record in caplog.records
             if record.name == "wijkwerf.access"]
    logged = "\n".join(lines)
    assert "GET /r/{token} 200" in logged
    assert "GET /beheer/wijken/{slug}/huishoudens 200" in logged
    assert "POST /api/v1/offers/{offer_id}/participations 201" in logged
    for secret in (link_token, api_token, "Peeters", resident_email, "Zeedijk", "q=",
                   world.campaign.slug):
        assert secret not in logged, secret


def test_a_broken_constraint_names_no_value_in_the_error_or_its_log_line(
    db_session: Session
) -> None:
    """Server errors reach the error log with SQLAlchemy's message: it must not carry the
    statement's values (names, emails)."""
    household = factories.make_household(db_session, email="uniek.adres@example.be")
    db_session.commit()
    duplicate = Household(**{name: getattr(household, name) for name in (
        "campaign_id", "name", "email", "street", "house_number", "postcode", "address_key")})
    duplicate.id = household.id
    db_session.add(duplicate)
    with pytest.raises(IntegrityError) as raised:
        db_session.flush()
    db_session.rollback()
    for shown in (str(raised.value), app_db.constraint_name(raised.value)):
        assert "uniek.adres@example.be" not in shown, shown
        assert household.name not in shown, shown


# --- finding 4b: the file mailer's copies go with the household ------------------------------


def test_erasure_deletes_the_file_mailers_copies_of_the_households_mails(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAIL_URL", f"file://{tmp_path}")
    campaign = factories.make_campaign(db_session)
    erased = factories.make_household(db_session, campaign=campaign, name="Mieke Vos",
                                      email="mieke.vos@example.be")
    kept = factories.make_household(db_session, campaign=campaign, name="Jef Claes",
                                    email="jef.claes@example.be")
    for household in (erased, kept):
        mail.queue_mail(db_session, "magic_link", household_id=household.id)
    db_session.flush()
    mail.send_due_mails(db_session.get_bind())  # type: ignore[arg-type]
    assert len(list(tmp_path.glob("*.eml"))) == 2

    residents.erase_household(db_session, Principal(
        role=Role.resident, session_id=0, household_id=erased.id))

    left = [path.read_text() for path in tmp_path.glob("*.eml")]
    assert len(left) == 1 and "jef.claes@example.be" in left[0]
    assert not any("mieke.vos@example.be" in text or "Mieke" in text for text in left)


def test_the_file_mailer_deletes_its_files_after_the_retention(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAIL_URL", f"file://{tmp_path}")
    monkeypatch.setattr(get_settings(), "MAIL_FILE_RETENTION_DAYS", 7.0)
    monkeypatch.setattr(mail, "_last_purge", 0.0)
    old, recent = tmp_path / "1-magic_link-h1.eml", tmp_path / "2-magic_link-h2.eml"
    for path, age_days in ((old, 8), (recent, 6)):
        path.write_text("To: someone@example.be\n")
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
    mail.queue_mail(db_session, "test_message", recipient="els@example.be",
                    context={"name": "Els"})
    db_session.flush()
    mail.send_due_mails(db_session.get_bind())  # type: ignore[arg-type]
    names = {path.name for path in tmp_path.glob("*.eml")}
    assert old.name not in names and recent.name in names and len(names) == 2


# --- finding 9: the database is down --------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def app_without_database(request: pytest.FixtureRequest, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """The app with DATABASE_URL on a database that cannot be reached: a PostgreSQL port where
    nothing listens, or an SQLite file that cannot be opened (a directory)."""
    unreachable = ("postgresql+psycopg://wijkwerf@127.0.0.1:9/wijkwerf?connect_timeout=2"
                   if request.param == "postgresql" else f"sqlite:///{tmp_path}")
    monkeypatch.setenv("DATABASE_URL", unreachable)
    for cached in (get_settings, app_db.get_engine, app_db.get_read_engine):
        cached.cache_clear()
    try:
        yield create_app(start_mail_sender=False)
    finally:
        app_db.get_engine().dispose()
        app_db.get_read_engine().dispose()
        monkeypatch.undo()
        for cached in (get_settings, app_db.get_engine, app_db.get_read_engine):
            cached.cache_clear()


def test_a_database_outage_is_a_json_503_on_the_api_and_the_error_page_in_html(
    app_without_database: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(app_without_database, raise_server_exceptions=False) as client:
        for path in ("/api/v1/campaigns", "/api/v1/campaigns/wijk/offers"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.status_code, response.text)
            assert response.headers["content-type"] == "application/json"
            assert "detail" in response.json()
            assert response.headers["retry-after"] == "5"
            assert response.headers["cache-control"] == "no-store"
        me = client.get("/api/v1/me", headers=bearer("a" * 43))
        assert me.status_code == 503 and "detail" in me.json()

        page = client.get("/wijken/kustwijk")
        assert page.status_code == 503, page.text[:300]
        assert page.headers["content-type"].startswith("text/html")
        assert "Probeer het over enkele ogenblikken opnieuw" in page.text
        assert "<html" in page.text and page.headers["retry-after"] == "5"

        csrf = csrf_of(client.get("/login").text)
        login = client.post("/login", data={"email": "a@example.be", "password": "x" * 12,
                                            "csrf_token": csrf})
        assert login.status_code == 503 and "ogenblikken" in login.text
        assert client.cookies.get(CSRF_COOKIE)
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
