"""Isolation: a contractor reaches only its own batches, sign-ups and quote requests, on every
contractor route (HTML and API); staff of another organisation get 404; anonymous callers 401
(API) or the log-in page (HTML)."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.deps import SESSION_COOKIE
from app.models import Batch, Group, GroupMember, User
from app.models.enums import Role
from app.services import auth as auth_service
from app.services import quotes
from app.services.auth import Principal
from app.services.quotes import QuoteRequestCreate
from tests import factories


@dataclass
class Side:
    """One contractor's world: its user, batch, a sign-up in it, and a quote request."""

    user: User
    batch_id: int
    participation_id: int
    quote_request_id: int


@dataclass
class World:
    a: Side
    b: Side
    outsider_staff: User


def _side(session: Session, campaign: factories.Campaign, staff: Principal) -> Side:
    contractor = factories.make_contractor(session, organisation_id=campaign.organisation_id)
    offer = factories.make_offer(session, campaign=campaign, contractor=contractor)
    participation = factories.make_participation(session, offer=offer, status="assigned")
    group = Group(campaign_id=campaign.id, name=f"Groep {contractor.name}", kind="framework",
                  offer_id=offer.id, locked=True)
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, household_id=participation.household_id))
    batch = Batch(group_id=group.id, contractor_id=contractor.id, offer_id=offer.id)
    session.add(batch)
    session.flush()
    request = quotes.create_quote_request(session, staff, group.id, QuoteRequestCreate(
        measure="facade_insulation", deadline=datetime.now(UTC) + timedelta(days=5),  # type: ignore[arg-type]
        contractor_ids=[contractor.id]))
    user = factories.make_user(session, role="contractor", contractor=contractor)
    return Side(user, batch.id, participation.id, request.id)  # type: ignore[arg-type]


@pytest.fixture
def world(db_session: Session) -> World:
    campaign = factories.make_campaign(db_session)
    staff = Principal(role=Role.staff, session_id=0, organisation_id=campaign.organisation_id)
    a, b = _side(db_session, campaign, staff), _side(db_session, campaign, staff)
    outsider = factories.make_user(db_session, role="staff")
    return World(a, b, outsider)


def bearer(session: Session, user: User) -> dict[str, str]:
    token = auth_service.start_session(session, kind="api", user=user)
    return {"Authorization": f"Bearer {token}"}


def web_login(client: TestClient, session: Session, user: User) -> str:
    """Log the client in with a web session; returns the page's CSRF token."""
    client.cookies.set(SESSION_COOKIE, auth_service.start_session(session, kind="web", user=user))
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', client.get("/aannemer").text)
    assert match
    return match.group(1)


QUOTE = {"lines": [{"description": "Gevelisolatie", "quantity": 40, "unit": "m2",
                    "unit_price_cents": 11_000}],
         "vat_rate": 6, "valid_until": (date.today() + timedelta(days=60)).isoformat(),
         "lead_time_weeks": 6, "warranty_years": 10, "notes": ""}


def api_calls(side: Side) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", f"/api/v1/batches/{side.batch_id}.csv", None),
        ("POST", f"/api/v1/participations/{side.participation_id}/status",
         {"status": "visit_planned", "note": "", "occurred_on": date.today().isoformat()}),
        ("POST", f"/api/v1/quote-requests/{side.quote_request_id}/quotes", QUOTE),
    ]


def html_calls(side: Side, own: Side) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", f"/aannemer/batches/{side.batch_id}", None),
        ("GET", f"/aannemer/batches/{side.batch_id}.csv", None),
        ("POST", f"/aannemer/batches/{side.batch_id}/deelnames/{side.participation_id}/status",
         {"status": "visit_planned"}),
        # the participation of the other side through the caller's own batch URL
        ("POST", f"/aannemer/batches/{own.batch_id}/deelnames/{side.participation_id}/status",
         {"status": "visit_planned"}),
        ("GET", f"/aannemer/offerteaanvragen/{side.quote_request_id}", None),
        ("POST", f"/aannemer/offerteaanvragen/{side.quote_request_id}",
         {"action": "add_line"}),
    ]


@pytest.mark.parametrize("index", range(3))
def test_contractor_api_reaches_its_own_and_gets_404_for_the_others(
    client: TestClient, db_session: Session, world: World, index: int,
) -> None:
    headers = bearer(db_session, world.a.user)
    method, path, body = api_calls(world.b)[index]
    assert client.request(method, path, json=body, headers=headers).status_code == 404
    method, path, body = api_calls(world.a)[index]
    assert client.request(method, path, json=body, headers=headers).status_code in (200, 201)


@pytest.mark.parametrize("index", range(6))
def test_contractor_pages_reach_its_own_and_get_404_for_the_others(
    client: TestClient, db_session: Session, world: World, index: int,
) -> None:
    csrf = web_login(client, db_session, world.a.user)
    method, path, form = html_calls(world.b, world.a)[index]
    data = None if form is None else {**form, "csrf_token": csrf}
    response = client.request(method, path, data=data, follow_redirects=False)
    assert response.status_code == 404
    if index == 3:
        return  # the mixed URL has no "own" counterpart
    method, path, form = html_calls(world.a, world.a)[index]
    data = None if form is None else {**form, "csrf_token": csrf}
    assert client.request(method, path, data=data, follow_redirects=False).status_code in (
        200, 303)


def test_contractor_lists_show_only_its_own(client: TestClient, db_session: Session,
                                            world: World) -> None:
    headers = bearer(db_session, world.a.user)
    batches = client.get("/api/v1/contractor/batches", headers=headers).json()
    assert [batch["id"] for batch in batches] == [world.a.batch_id]
    requests = client.get("/api/v1/contractor/quote-requests", headers=headers).json()
    assert [request["id"] for request in requests] == [world.a.quote_request_id]
    web_login(client, db_session, world.a.user)
    page = client.get("/aannemer").text
    assert f"/aannemer/batches/{world.a.batch_id}" in page
    assert f"/aannemer/batches/{world.b.batch_id}" not in page


def test_contractors_never_see_the_comparison(client: TestClient, db_session: Session,
                                              world: World) -> None:
    headers = bearer(db_session, world.a.user)
    response = client.get(f"/api/v1/quote-requests/{world.a.quote_request_id}/comparison",
                          headers=headers)
    assert response.status_code == 404
    web_login(client, db_session, world.a.user)
    assert client.get(f"/vergelijk/{world.a.quote_request_id}").status_code == 404


def test_staff_of_another_organisation_get_404(client: TestClient, db_session: Session,
                                               world: World) -> None:
    headers = bearer(db_session, world.outsider_staff)
    for path in (f"/api/v1/batches/{world.a.batch_id}.csv",
                 f"/api/v1/quote-requests/{world.a.quote_request_id}/comparison"):
        assert client.get(path, headers=headers).status_code == 404
    response = client.post(f"/api/v1/participations/{world.a.participation_id}/status",
                           json={"status": "visit_planned", "note": ""}, headers=headers)
    assert response.status_code == 404
    web_login(client, db_session, world.outsider_staff)
    assert client.get(f"/vergelijk/{world.a.quote_request_id}").status_code == 404
    assert client.get(f"/beheer/offertes/{world.a.quote_request_id}").status_code == 404


def test_anonymous_callers_get_401_or_the_login_page(client: TestClient, world: World) -> None:
    for method, path, body in api_calls(world.a):
        assert client.request(method, path, json=body).status_code == 401
    for path in ("/api/v1/contractor/batches", "/api/v1/contractor/quote-requests"):
        assert client.get(path).status_code == 401
    for path in ("/aannemer", f"/aannemer/batches/{world.a.batch_id}",
                 f"/aannemer/offerteaanvragen/{world.a.quote_request_id}",
                 f"/vergelijk/{world.a.quote_request_id}", "/beheer/offertes", "/beheer/premies"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert "next=" in response.headers["location"]
