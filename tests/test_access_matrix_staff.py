"""Who may use every staff API route and /beheer page: staff and admins of the own organisation
may; staff and admins of another organisation get 404 for this organisation's objects (never
403, so nothing leaks; an admin acts in another organisation only through an access grant, see
test_attack_organisation_boundary); anonymous callers get 401 (API) or the log-in page;
contractors and residents get 403."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.models import AuditEvent, Campaign, Contractor, Household, Offer, User
from app.services.auth import start_session
from tests.factories import (
    belgian_vat_number,
    make_campaign,
    make_contractor,
    make_household,
    make_offer,
    make_participation,
    make_user,
)


@dataclass
class World:
    own_staff: User
    own_admin: User
    other_staff: User
    other_admin: User
    contractor_user: User
    resident: Household
    campaign: Campaign
    offer: Offer
    household: Household
    contractor: Contractor


@pytest.fixture
def world(db_session: Session) -> World:
    own_staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=own_staff.organisation_id,
                             status="draft")
    contractor = make_contractor(db_session, organisation_id=own_staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign, contractor=contractor)
    household = make_household(db_session, campaign=campaign)
    make_participation(db_session, household=household, offer=offer)
    resident_campaign = make_campaign(db_session)
    return World(
        own_staff=own_staff,
        own_admin=make_user(db_session, role="admin", organisation_id=own_staff.organisation_id),
        other_staff=make_user(db_session),
        other_admin=make_user(db_session, role="admin"),
        contractor_user=make_user(db_session, role="contractor", contractor=contractor),
        resident=make_household(db_session, campaign=resident_campaign),
        campaign=campaign, offer=offer, household=household, contractor=contractor,
    )


def _fill(path: str, world: World) -> str:
    return path.format(slug=world.campaign.slug, offer_id=world.offer.id,
                       household_id=world.household.id)


# --- JSON API --------------------------------------------------------------------------------

def _offer_body(world: World) -> dict[str, Any]:
    return {"measure": "window_frames", "title": "Ramen", "contractor_id": world.contractor.id,
            "unit": "piece", "price_tiers": [{"min_participants": 0, "unit_price_cents": 80000}],
            "vat_rate": 6, "capacity": 10, "signup_opens_at": "2026-02-01T00:00:00+01:00",
            "signup_closes_at": "2026-06-30T23:59:59+02:00"}


# (method, path, body builder, status for the own organisation's staff)
OBJECT_API_ROUTES = [
    ("GET", "/api/v1/campaigns/{slug}/households", None, 200),
    ("PATCH", "/api/v1/campaigns/{slug}", lambda w: {"name": "Andere naam"}, 200),
    ("POST", "/api/v1/campaigns/{slug}/offers", _offer_body, 201),
    ("PATCH", "/api/v1/offers/{offer_id}", lambda w: {"title": "Nieuwe titel"}, 200),
]
PLAIN_API_ROUTES = [
    ("GET", "/api/v1/audit", None, 200),
    ("GET", "/api/v1/contractors", None, 200),
    ("POST", "/api/v1/contractors", lambda w: {
        "name": "Dak NV", "vat_number": belgian_vat_number(4242), "email": "dak@example.be"}, 201),
    ("POST", "/api/v1/campaigns", lambda w: {
        "slug": "matrixwijk", "name": "Matrixwijk", "municipality": "Brugge",
        "postcodes": ["8000"]}, 201),
]


def _api(client: TestClient, db_session: Session, method: str, path: str, body: Any,
         *, user: User | None = None, household: Household | None = None) -> Any:
    headers = {}
    if user is not None or household is not None:
        token = start_session(db_session, kind="api", user=user, household=household)
        headers["Authorization"] = f"Bearer {token}"
    return client.request(method, path, json=body, headers=headers)


def _wrong_callers(client: TestClient, db_session: Session, world: World, method: str,
                   path: str, body: Any) -> None:
    assert _api(client, db_session, method, path, body).status_code == 401
    assert _api(client, db_session, method, path, body,
                user=world.contractor_user).status_code == 403
    assert _api(client, db_session, method, path, body,
                household=world.resident).status_code == 403


@pytest.mark.parametrize(("method", "path", "body", "own_status"), OBJECT_API_ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in OBJECT_API_ROUTES])
def test_api_object_route_answers_only_the_own_organisation(
    client: TestClient, db_session: Session, world: World, method: str, path: str,
    body: Any, own_status: int,
) -> None:
    url, payload = _fill(path, world), body(world) if body else None
    _wrong_callers(client, db_session, world, method, url, payload)
    for outsider in (world.other_staff, world.other_admin):
        other = _api(client, db_session, method, url, payload, user=outsider)
        assert other.status_code == 404, other.text
    for insider in (world.own_staff, world.own_admin):
        own = _api(client, db_session, method, url, payload, user=insider)
        assert own.status_code == own_status, own.text


@pytest.mark.parametrize(("method", "path", "body", "own_status"), PLAIN_API_ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in PLAIN_API_ROUTES])
def test_api_staff_route_refuses_other_roles(
    client: TestClient, db_session: Session, world: World, method: str, path: str,
    body: Any, own_status: int,
) -> None:
    payload = body(world) if body else None
    _wrong_callers(client, db_session, world, method, path, payload)
    own = _api(client, db_session, method, path, payload, user=world.own_staff)
    assert own.status_code == own_status, own.text


def test_api_lists_never_show_another_organisations_rows(
    client: TestClient, db_session: Session, world: World
) -> None:
    _api(client, db_session, "GET", f"/api/v1/campaigns/{world.campaign.slug}/households", None,
         user=world.own_staff)
    contractors = _api(client, db_session, "GET", "/api/v1/contractors", None,
                       user=world.other_staff).json()
    log = _api(client, db_session, "GET", "/api/v1/audit", None, user=world.other_staff).json()
    campaigns = _api(client, db_session, "GET", "/api/v1/campaigns", None,
                     user=world.other_staff).json()
    assert world.contractor.id not in [c["id"] for c in contractors]
    assert log["total"] == 0
    assert world.campaign.slug not in [c["slug"] for c in campaigns]
    assert _api(client, db_session, "GET", f"/api/v1/campaigns/{world.campaign.slug}", None,
                user=world.other_staff).status_code == 404
    assert _api(client, db_session, "GET", f"/api/v1/campaigns/{world.campaign.slug}", None,
                user=world.own_staff).status_code == 200


def test_admin_sees_only_its_own_organisation(client: TestClient, db_session: Session,
                                              world: World) -> None:
    households = f"/api/v1/campaigns/{world.campaign.slug}/households"
    outsider = _api(client, db_session, "GET", households, None, user=world.other_admin)
    insider = _api(client, db_session, "GET", households, None, user=world.own_admin)
    assert outsider.status_code == 404
    assert insider.status_code == 200 and insider.json()["total"] == 1
    contractors = _api(client, db_session, "GET", "/api/v1/contractors", None,
                       user=world.other_admin).json()
    campaigns = _api(client, db_session, "GET", "/api/v1/campaigns", None,
                     user=world.other_admin).json()
    log = _api(client, db_session, "GET", "/api/v1/audit", None, user=world.other_admin).json()
    assert world.contractor.id not in [c["id"] for c in contractors]
    assert world.campaign.slug not in [c["slug"] for c in campaigns]
    assert log["total"] == 0


# --- HTML pages ------------------------------------------------------------------------------

OBJECT_PAGES = [
    ("GET", "/beheer/wijken/{slug}", 200),
    ("GET", "/beheer/wijken/{slug}/bewerken", 200),
    ("POST", "/beheer/wijken/{slug}/bewerken", 422),
    ("GET", "/beheer/wijken/{slug}/aanbod/nieuw", 200),
    ("POST", "/beheer/wijken/{slug}/aanbod/nieuw", 422),
    ("GET", "/beheer/aanbod/{offer_id}/bewerken", 200),
    ("POST", "/beheer/aanbod/{offer_id}/bewerken", 422),
    ("GET", "/beheer/wijken/{slug}/huishoudens", 200),
    ("GET", "/beheer/wijken/{slug}/huishoudens.csv", 200),
    ("GET", "/beheer/wijken/{slug}/huishoudens/nieuw", 200),
    ("POST", "/beheer/wijken/{slug}/huishoudens/nieuw", 422),
    ("GET", "/beheer/wijken/{slug}/huishoudens/{household_id}", 200),
]
PLAIN_PAGES = [
    ("GET", "/beheer", 200),
    ("GET", "/beheer/wijken/nieuw", 200),
    ("POST", "/beheer/wijken/nieuw", 422),
    ("GET", "/beheer/aannemers", 200),
    ("POST", "/beheer/aannemers", 422),
    ("GET", "/beheer/audit", 200),
]


def _page(client: TestClient, db_session: Session, method: str, path: str, *,
          user: User | None = None, household: Household | None = None) -> Any:
    client.cookies.clear()
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', client.get("/login").text)
    assert match
    if user is not None or household is not None:
        client.cookies.set(SESSION_COOKIE, start_session(db_session, kind="web", user=user,
                                                         household=household))
    if method == "POST":
        return client.post(path, data={"csrf_token": match.group(1)}, follow_redirects=False)
    return client.get(path, follow_redirects=False)


def _wrong_visitors(client: TestClient, db_session: Session, world: World, method: str,
                    path: str) -> None:
    anonymous = _page(client, db_session, method, path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert _page(client, db_session, method, path,
                 user=world.contractor_user).status_code == 403
    assert _page(client, db_session, method, path, household=world.resident).status_code == 403


@pytest.mark.parametrize(("method", "path", "own_status"), OBJECT_PAGES,
                         ids=[f"{m} {p}" for m, p, _ in OBJECT_PAGES])
def test_page_about_an_object_answers_only_the_own_organisation(
    client: TestClient, db_session: Session, world: World, method: str, path: str,
    own_status: int,
) -> None:
    url = _fill(path, world)
    _wrong_visitors(client, db_session, world, method, url)
    for outsider in (world.other_staff, world.other_admin):
        other = _page(client, db_session, method, url, user=outsider)
        assert other.status_code == 404
        assert "Niet gevonden" in other.text and world.household.name not in other.text
    for insider in (world.own_staff, world.own_admin):
        assert _page(client, db_session, method, url, user=insider).status_code == own_status


@pytest.mark.parametrize(("method", "path", "own_status"), PLAIN_PAGES,
                         ids=[f"{m} {p}" for m, p, _ in PLAIN_PAGES])
def test_staff_page_refuses_other_roles(
    client: TestClient, db_session: Session, world: World, method: str, path: str,
    own_status: int,
) -> None:
    _wrong_visitors(client, db_session, world, method, path)
    assert _page(client, db_session, method, path, user=world.own_staff).status_code == own_status


def test_refused_page_access_is_logged_for_the_owning_organisation(
    client: TestClient, db_session: Session, world: World
) -> None:
    _page(client, db_session, "GET",
          f"/beheer/wijken/{world.campaign.slug}/huishoudens/{world.household.id}",
          user=world.other_staff)
    event = db_session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert event.organisation_id == world.own_staff.organisation_id
    assert event.actor_user_id == world.other_staff.id
    assert event.object_type == "campaign" and event.object_id == world.campaign.id
