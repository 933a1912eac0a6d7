"""What an operator watches, through the test client: /metrics behind its token and the figures
it shows, /healthz's outbox lag, and the request id in headers, error pages, mails and log
lines (app/observability.py). The served versions (several workers, JSON lines on stderr, a
PostgreSQL outage) are in tests/test_observability_server.py."""

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from app import observability
from app.config import get_settings
from app.models import OutboxMail
from app.models.base import utcnow
from app.models.enums import MailStatus
from app.services import mail, page_cache
from tests.support.world import World, build_world

TOKEN = "scrape-token-for-the-tests-0123456789"


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world(db_session)


@pytest.fixture
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield TOKEN
    monkeypatch.delenv("METRICS_TOKEN")
    get_settings.cache_clear()


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def sign_up(client: TestClient, world: World, email: str = "an.claes@example.be",
            house_number: str = "7") -> object:
    return client.post(f"/api/v1/offers/{world.offer.id}/participations", json={
        "household": {"name": "An Claes", "email": email, "street": "Kerkstraat",
                      "house_number": house_number, "postcode": "8400"},
        "quantity": 10, "consent": True})


def test_metrics_are_not_served_without_a_token_setting(client: TestClient) -> None:
    assert get_settings().METRICS_TOKEN == ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_scrape_without_the_right_token_is_refused(client: TestClient,
                                                      metrics_token: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": metrics_token},
                    {"Authorization": f"Basic {metrics_token}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert "wijkwerf_" not in response.text
    assert client.get("/metrics", params={"token": metrics_token}).status_code == 401


@pytest.fixture
def page_cache_on() -> Iterator[None]:
    """The micro-cache as served (the tests turn it off: PUBLIC_CACHE_SECONDS=0)."""
    page_cache.public_pages.clear()
    page_cache.public_pages.ttl = 30.0
    yield
    page_cache.public_pages.ttl = 0.0
    page_cache.public_pages.clear()


def test_metrics_count_requests_per_route_signups_by_outcome_and_cache_hits(
    client: TestClient, world: World, metrics_token: str, page_cache_on: None,
) -> None:
    before = scrape(client)
    first = sign_up(client, world)
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    # The same address again, from someone who proved nothing: a claim (the identity rule).
    assert sign_up(client, world).status_code == 201  # type: ignore[attr-defined]
    assert client.post(f"/api/v1/offers/{world.offer.id}/participations",
                       json={"household": {}, "quantity": 1}).status_code == 422
    page = f"/wijken/{world.campaign.slug}"
    for _ in range(3):
        assert client.get(page).status_code == 200
    after = scrape(client)

    route = "/api/v1/offers/{offer_id}/participations"
    for status, count in (("201", 2), ("422", 1)):
        assert value(after, "wijkwerf_http_requests_total", method="POST", route=route,
                     status=status) - value(before, "wijkwerf_http_requests_total",
                                            method="POST", route=route, status=status) == count
    assert value(after, "wijkwerf_http_request_duration_seconds_count", method="POST",
                 route=route) - value(before, "wijkwerf_http_request_duration_seconds_count",
                                      method="POST", route=route) == 3
    # The 422 is refused by FastAPI's validation before the writer; the other two reach it.
    assert sum(value(after, "wijkwerf_signups_total", outcome=outcome) - value(
        before, "wijkwerf_signups_total", outcome=outcome)
        for outcome in ("registered", "waitlisted")) == 1  # the world's offer is full
    assert value(after, "wijkwerf_signups_total", outcome="claim") - value(
        before, "wijkwerf_signups_total", outcome="claim") == 1
    # Three visits of one public page: the first builds it, the next are answered from the
    # micro-cache (fresh hits by the middleware, under the route's template).
    built = value(after, "wijkwerf_page_cache_requests_total", result="miss") - value(
        before, "wijkwerf_page_cache_requests_total", result="miss")
    served = sum(value(after, "wijkwerf_page_cache_requests_total", result=result) - value(
        before, "wijkwerf_page_cache_requests_total", result=result) for result in
        ("hit", "stale"))
    assert (built, served) == (1, 2)
    assert value(after, "wijkwerf_http_requests_total", method="GET", route="/wijken/{slug}",
                 status="200") - value(before, "wijkwerf_http_requests_total", method="GET",
                                       route="/wijken/{slug}", status="200") == 3
    # No value from a request reaches a label: no slug, no id.
    labels = {label for key in after for label in key[1]}
    assert not any(world.campaign.slug in label_value for _name, label_value in labels)


def test_the_outbox_figures_equal_the_outbox(client: TestClient, db_session: Session,
                                             metrics_token: str) -> None:
    db_session.exec(OutboxMail.__table__.delete())  # type: ignore[call-overload, attr-defined]
    now = utcnow()
    for minutes, status in ((-10, MailStatus.pending), (-2, MailStatus.pending),
                            (5, MailStatus.pending), (-30, MailStatus.sent),
                            (-30, MailStatus.failed)):
        db_session.add(OutboxMail(purpose="signup_confirmation", recipient="x@example.be",
                                  status=status, next_attempt_at=now + timedelta(minutes=minutes)))
    db_session.flush()

    samples = scrape(client)
    assert value(samples, "wijkwerf_outbox_due") == 2  # the future one and the sent one not
    assert 600 <= value(samples, "wijkwerf_outbox_oldest_due_age_seconds") < 660
    assert value(samples, "wijkwerf_outbox_failed") == 1
    health = client.get("/healthz").json()
    assert health["outbox"]["due"] == 2 and health["outbox"]["failed"] == 1
    assert 600 <= health["outbox"]["oldest_due_seconds"] < 660

    pending = db_session.exec(select(OutboxMail).where(
        OutboxMail.status == MailStatus.pending)).all()
    for row in pending:
        row.status = MailStatus.sent
        db_session.add(row)
    db_session.flush()
    samples = scrape(client)
    assert value(samples, "wijkwerf_outbox_due") == 0
    assert value(samples, "wijkwerf_outbox_oldest_due_age_seconds") == 0
    assert client.get("/healthz").json()["outbox"] == {"due": 0, "oldest_due_seconds": 0.0,
                                                       "failed": 1}


def test_every_answer_names_its_request_id_and_keeps_a_plain_one_from_the_proxy(
    client: TestClient,
) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(rid) == 16 and int(rid, 16) >= 0 for rid in ids) and ids[0] != ids[1]
    nginx_id = "5f0c2a9e8d7b4c3a1f2e3d4c5b6a7980"
    assert client.get("/healthz", headers={"X-Request-ID": nginx_id}
                      ).headers["x-request-id"] == nginx_id
    for forged in ("short", "x" * 65, "id with spaces and <b>", "id;injected=1234"):
        answered = client.get("/healthz", headers={"X-Request-ID": forged}
                              ).headers["x-request-id"]
        assert answered != forged and len(answered) == 16


def test_the_error_page_gives_the_request_id_as_a_reference(client: TestClient) -> None:
    response = client.get("/wijken/bestaat-niet")
    assert response.status_code == 404
    rid = response.headers["x-request-id"]
    assert f"Geef dan deze referentie mee: {rid}." in response.text
    english = client.get("/wijken/bestaat-niet?lang=en")
    assert f"give this reference: {english.headers['x-request-id']}." in english.text


def test_a_signup_mail_carries_the_request_id_of_the_signup(
    client: TestClient, world: World, db_session: Session,
) -> None:
    response = sign_up(client, world, email="jef.wouters@example.be", house_number="12")
    assert response.status_code == 201  # type: ignore[attr-defined]
    rid = response.headers["x-request-id"]  # type: ignore[attr-defined]
    queued = db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "signup_confirmation").order_by(
        OutboxMail.id.desc())).first()  # type: ignore[union-attr]
    assert queued is not None and queued.context["request_id"] == rid
    message = mail.render_mail(db_session, queued)
    assert message is not None and message["X-Request-ID"] == rid
    # A mail queued outside a request (the CLI, the sender itself) has none.
    outside = mail.queue_mail(db_session, "signup_confirmation", recipient="x@example.be")
    assert "request_id" not in outside.context


def test_a_log_line_is_one_json_object_with_the_request_id() -> None:
    formatter = observability.LogFormatter()
    record = logging.LogRecord("wijkwerf.access", logging.INFO, __file__, 1, "%s %s %d",
                               ("GET", "/wijken/{slug}", 200), None)
    record.route, record.status = "/wijken/{slug}", 200
    token = observability.request_id.set("abcdef0123456789")
    try:
        line = formatter.format(record)
    finally:
        observability.request_id.reset(token)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "GET /wijken/{slug} 200"
    assert (data["level"], data["logger"], data["request_id"]) == (
        "INFO", "wijkwerf.access", "abcdef0123456789")
    assert (data["route"], data["status"]) == ("/wijken/{slug}", 200)
    assert data["time"].startswith(str(utcnow().year))
