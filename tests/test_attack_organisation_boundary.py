"""Issue 11, "to decide": the organisation boundary.

- An admin belongs to one organisation like staff: another organisation's campaign, households,
  groups, quotes and audit log answer 404 (API and HTML), as they do for its staff.
- Cross-organisation access is explicit, narrow and audited: an access grant for one admin, one
  organisation, a reason and at most 8 hours, given by the operator (`wijkwerf grant-access`)
  or by that organisation's own staff (/beheer/toegang). While it is live the admin may act
  there and every use is in that organisation's audit log with the grant; expired or revoked,
  404 again.
- Contractors are unique per (organisation, VAT number): another organisation registering the
  same company is accepted, a duplicate within one organisation is 409.
"""

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from app.models import AuditEvent, OrganisationAccessGrant, User
from app.models.base import utcnow
from app.services import access
from app.services.auth import Principal, lookup_principal, start_session
from app.services.errors import Forbidden, Invalid, NotFound
from tests import factories
from tests.support.world import World, bearer, build_world, web_login
from tests.test_pages_beheer import field_error

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(db_session: Session) -> World:
    """Organisation B: a campaign with households, a batch, a quote request with a quote."""
    return build_world(db_session)


@pytest.fixture
def admin(db_session: Session) -> User:
    """A platform admin of organisation A (the hosting intercommunale)."""
    return factories.make_user(db_session, role="admin")


def _principal(session: Session, user: User) -> Principal:
    principal, _ = lookup_principal(session, start_session(session, kind="api", user=user),
                                    kind="api")
    assert principal is not None
    return principal


def _grant(session: Session, world: World, admin: User, *,
           hours: int = 2) -> OrganisationAccessGrant:
    """Organisation B's own staff let the admin in."""
    return access.grant_access(
        session, access.GrantCreate(email=admin.email, hours=hours,
                                    reason="Hulp bij het inlezen van papieren inschrijvingen"),
        organisation_id=world.campaign.organisation_id,
        granted_by=_principal(session, world.staff))


def _uses(session: Session, world: World, grant_id: int) -> int:
    """Lines in organisation B's log written through the grant."""
    return session.exec(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.organisation_id == world.campaign.organisation_id,
            AuditEvent.access_grant_id == grant_id)
    ).one()


# --- the routes of organisation B ------------------------------------------------------------

Route = tuple[str, str, Callable[[World], Any] | None]

API_ROUTES: list[Route] = [
    ("GET", "/api/v1/campaigns/{slug}/households", None),
    ("PATCH", "/api/v1/campaigns/{slug}", lambda w: {"description": "Bijgewerkt"}),
    ("GET", "/api/v1/campaigns/{slug}/groups", None),
    ("GET", "/api/v1/campaigns/{slug}/stats", None),
    ("GET", "/api/v1/groups/{group_id}", None),
    ("PATCH", "/api/v1/groups/{quote_group_id}", lambda w: {"name": "Daken oost"}),
    ("PATCH", "/api/v1/offers/{offer_id}", lambda w: {"description": "Bijgewerkt"}),
    ("GET", "/api/v1/quote-requests/{quote_request_id}/comparison", None),
    ("GET", "/api/v1/batches/{batch_id}.csv", None),
]
PAGES = [
    "/beheer/wijken/{slug}",
    "/beheer/wijken/{slug}/huishoudens",
    "/beheer/wijken/{slug}/huishoudens/{household_id}",
    "/beheer/wijken/{slug}/groepen",
    "/beheer/wijken/{slug}/dashboard",
    "/beheer/aanbod/{offer_id}/bewerken",
    "/beheer/offertes/{quote_request_id}",
    "/vergelijk/{quote_request_id}",
]


def _fill(path: str, world: World) -> str:
    return path.format(slug=world.campaign.slug, group_id=world.group.id,
                       quote_group_id=world.quote_group.id, offer_id=world.offer.id,
                       quote_request_id=world.quote_request.id, batch_id=world.batch.id,
                       household_id=world.resident.id)


def _api(client: TestClient, session: Session, user: User, route: Route, world: World) -> Any:
    method, path, body = route
    headers = bearer(start_session(session, kind="api", user=user))
    return client.request(method, _fill(path, world), json=body(world) if body else None,
                          headers=headers)


def _page(client: TestClient, session: Session, user: User, path: str, world: World) -> Any:
    client.cookies.clear()
    web_login(client, session, user=user)
    return client.get(_fill(path, world), follow_redirects=False)


def _ids(routes: list[Route]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in routes]


@pytest.mark.parametrize("route", API_ROUTES, ids=_ids(API_ROUTES))
def test_admin_of_another_organisation_gets_404_on_its_api(
    client: TestClient, db_session: Session, world: World, admin: User, route: Route
) -> None:
    response = _api(client, db_session, admin, route, world)
    assert response.status_code == 404, response.text
    assert world.resident.name not in response.text
    assert _api(client, db_session, world.staff, route, world).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_admin_of_another_organisation_gets_404_on_its_pages(
    client: TestClient, db_session: Session, world: World, admin: User, path: str
) -> None:
    response = _page(client, db_session, admin, path, world)
    assert response.status_code == 404
    assert world.resident.name not in response.text
    assert _page(client, db_session, world.staff, path, world).status_code == 200


def test_admin_of_another_organisation_sees_none_of_it_in_lists(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    _api(client, db_session, world.staff, API_ROUTES[0], world)  # a line in B's audit log
    headers = bearer(start_session(db_session, kind="api", user=admin))
    log = client.get("/api/v1/audit", headers=headers).json()
    contractors = client.get("/api/v1/contractors", headers=headers).json()
    assert log["total"] == 0
    assert world.contractor.id not in [c["id"] for c in contractors]
    web_login(client, db_session, user=admin)
    for path in ("/beheer", "/beheer/audit", "/beheer/aannemers", "/beheer/offertes",
                 "/beheer/premies"):
        page = client.get(path)
        assert page.status_code == 200, path
        for secret in (world.campaign.name, world.contractor.name, world.staff.email,
                       world.quote_group.name):
            assert secret not in page.text, (path, secret)


def test_admin_cannot_move_a_participation_of_another_organisation(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    response = client.post(f"/api/v1/participations/{world.registered.id}/status",
                           json={"status": "assigned", "note": ""},
                           headers=bearer(start_session(db_session, kind="api", user=admin)))
    assert response.status_code == 404
    db_session.refresh(world.registered)
    assert world.registered.status == "registered"


# --- with a live grant -----------------------------------------------------------------------


@pytest.mark.parametrize("route", API_ROUTES, ids=_ids(API_ROUTES))
def test_granted_admin_acts_in_the_organisation_and_each_use_is_logged_there(
    client: TestClient, db_session: Session, world: World, admin: User, route: Route
) -> None:
    grant = _grant(db_session, world, admin)
    assert grant.id is not None
    before = _uses(db_session, world, grant.id)
    response = _api(client, db_session, admin, route, world)
    assert response.status_code == 200, response.text
    assert _uses(db_session, world, grant.id) > before
    line = db_session.exec(
        select(AuditEvent).where(AuditEvent.access_grant_id == grant.id)
        .order_by(col(AuditEvent.id).desc())).first()
    assert line is not None
    assert (line.actor_user_id, line.actor_label, line.organisation_id) == (
        admin.id, admin.email, world.campaign.organisation_id)
    # Nothing of it goes to the admin's own organisation's log.
    assert db_session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.organisation_id == admin.organisation_id)).one() == 0


@pytest.mark.parametrize("path", PAGES)
def test_granted_admin_opens_the_pages_and_each_visit_is_logged_there(
    client: TestClient, db_session: Session, world: World, admin: User, path: str
) -> None:
    grant = _grant(db_session, world, admin)
    assert grant.id is not None
    before = _uses(db_session, world, grant.id)
    assert _page(client, db_session, admin, path, world).status_code == 200
    after = _uses(db_session, world, grant.id)
    assert after > before
    assert _page(client, db_session, admin, path, world).status_code == 200
    assert _uses(db_session, world, grant.id) > after


def test_granted_admin_reads_the_organisations_audit_log_and_that_is_logged_too(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    _api(client, db_session, world.staff, API_ROUTES[0], world)
    grant = _grant(db_session, world, admin)
    log = client.get("/api/v1/audit", headers=bearer(
        start_session(db_session, kind="api", user=admin))).json()
    actions = [item["action"] for item in log["items"]]
    assert "household.list" in actions and "access_grant.create" in actions
    uses = [item for item in log["items"] if item["action"] == "access_grant.use"]
    assert uses == [] or all(item["access_grant_id"] == grant.id for item in uses)
    stored = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "access_grant.use", AuditEvent.object_type == "audit_event")).one()
    assert (stored.organisation_id, stored.access_grant_id) == (
        world.campaign.organisation_id, grant.id)


def test_the_organisations_audit_page_names_the_grant_of_each_use(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    grant = _grant(db_session, world, admin)
    _page(client, db_session, admin, "/beheer/wijken/{slug}/huishoudens/{household_id}", world)
    page = _page(client, db_session, world.staff, "/beheer/audit", world)
    assert f"via toegangsrecht {grant.id}" in page.text
    assert admin.email in page.text


@pytest.mark.parametrize("ending", ["expired", "revoked by the organisation",
                                    "ended by the admin", "revoked by the operator"])
def test_an_ended_grant_gives_404_again(
    client: TestClient, db_session: Session, world: World, admin: User, ending: str
) -> None:
    grant = _grant(db_session, world, admin)
    assert grant.id is not None
    route = API_ROUTES[0]
    assert _api(client, db_session, admin, route, world).status_code == 200
    if ending == "expired":
        db_session.exec(update(OrganisationAccessGrant)  # type: ignore[call-overload]
                        .where(col(OrganisationAccessGrant.id) == grant.id)
                        .values(created_at=utcnow() - timedelta(hours=3),
                                expires_at=utcnow() - timedelta(seconds=1)))
    elif ending == "revoked by the organisation":
        csrf = web_login(client, db_session, user=world.staff)
        response = client.post(f"/beheer/toegang/{grant.id}/intrekken",
                               data={"csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 303
    elif ending == "ended by the admin":
        access.revoke_grant(db_session, _principal(db_session, admin), grant.id)
    else:
        assert access.revoke_grants_of(db_session, email=admin.email) == 1
    db_session.commit()
    assert _api(client, db_session, admin, route, world).status_code == 404
    assert _page(client, db_session, admin, PAGES[1], world).status_code == 404
    if ending != "expired":
        db_session.refresh(grant)
        assert grant.revoked_at is not None
        assert db_session.exec(select(AuditEvent).where(
            AuditEvent.action == "access_grant.revoke")).one().organisation_id == (
            world.campaign.organisation_id)


def test_a_grant_reaches_only_its_own_organisation(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    _grant(db_session, world, admin)
    third = factories.make_campaign(db_session)
    factories.make_household(db_session, campaign=third)
    response = client.get(f"/api/v1/campaigns/{third.slug}/households",
                          headers=bearer(start_session(db_session, kind="api", user=admin)))
    assert response.status_code == 404


# --- who may give and end a grant --------------------------------------------------------------


def test_staff_give_access_from_their_beheer_page_and_see_it_listed(
    client: TestClient, db_session: Session, world: World, admin: User
) -> None:
    csrf = web_login(client, db_session, user=world.staff)
    form = {"csrf_token": csrf, "email": admin.email, "hours": "3",
            "reason": "Hulp bij de groepsvorming"}
    response = client.post("/beheer/toegang", data=form, follow_redirects=False)
    assert response.status_code == 303
    grant = db_session.exec(select(OrganisationAccessGrant)).one()
    assert (grant.user_id, grant.organisation_id, grant.granted_by) == (
        admin.id, world.campaign.organisation_id, world.staff.email)
    assert timedelta(hours=2, minutes=59) < grant.expires_at - grant.created_at <= timedelta(
        hours=3)
    page = client.get("/beheer/toegang")
    assert admin.email in page.text and "Hulp bij de groepsvorming" in page.text
    held = _page(client, db_session, admin, "/beheer/toegang", world)
    assert "Hulp bij de groepsvorming" in held.text and "Jouw toegang" in held.text


@pytest.mark.parametrize(("change", "field"), [
    ({"hours": "9"}, "hours"), ({"hours": "0"}, "hours"), ({"hours": "²"}, "hours"),
    ({"hours": "9" * 25}, "hours"), ({"reason": "   "}, "reason"),
    ({"email": "nobody@example.be"}, "email"),
])
def test_the_grant_form_refuses_what_is_not_narrow(
    client: TestClient, db_session: Session, world: World, admin: User,
    change: dict[str, str], field: str,
) -> None:
    csrf = web_login(client, db_session, user=world.staff)
    form = {"csrf_token": csrf, "email": admin.email, "hours": "2", "reason": "Hulp"} | change
    response = client.post("/beheer/toegang", data=form, follow_redirects=False)
    assert response.status_code == 422
    assert field_error(response.text, field)
    assert db_session.exec(select(func.count()).select_from(OrganisationAccessGrant)).one() == 0


def test_only_admins_of_another_organisation_can_be_granted(
    db_session: Session, world: World, admin: User
) -> None:
    staff_b = _principal(db_session, world.staff)
    organisation_id = world.campaign.organisation_id
    other_staff = factories.make_user(db_session)
    own_admin = factories.make_user(db_session, role="admin", organisation_id=organisation_id)
    for user in (other_staff, own_admin, world.contractor_user):
        with pytest.raises(Invalid) as refused:
            access.grant_access(db_session, access.GrantCreate(
                email=user.email, hours=1, reason="Hulp"),
                organisation_id=organisation_id, granted_by=staff_b)
        assert refused.value.field == "email"


def test_a_granted_admin_cannot_extend_or_hand_on_access_to_that_organisation(
    db_session: Session, world: World, admin: User
) -> None:
    _grant(db_session, world, admin)
    granted = _principal(db_session, admin)
    assert world.campaign.organisation_id in granted.organisation_ids
    other_admin = factories.make_user(db_session, role="admin")
    for email in (admin.email, other_admin.email):
        with pytest.raises(Forbidden):
            access.grant_access(db_session, access.GrantCreate(
                email=email, hours=8, reason="Verlengen"),
                organisation_id=world.campaign.organisation_id, granted_by=granted)
    # Nor does it see the organisation's list of grants: only its own organisation's.
    assert access.grants_on_own_organisation(db_session, granted) == []


def test_staff_of_a_third_organisation_cannot_end_a_grant(
    db_session: Session, world: World, admin: User
) -> None:
    grant = _grant(db_session, world, admin)
    assert grant.id is not None
    stranger = _principal(db_session, factories.make_user(db_session))
    with pytest.raises(NotFound):
        access.revoke_grant(db_session, stranger, grant.id)
    db_session.refresh(grant)
    assert grant.revoked_at is None


def test_an_admin_without_a_grant_has_only_its_own_organisation(
    db_session: Session, world: World, admin: User
) -> None:
    principal = _principal(db_session, admin)
    assert principal.organisation_ids == frozenset({admin.organisation_id})
    staff = _principal(db_session, world.staff)
    assert staff.grants == () and staff.organisation_ids == frozenset(
        {world.campaign.organisation_id})


# --- the operator's command line -------------------------------------------------------------


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WIJKWERF_ENV="dev", DATABASE_URL=url, MAIL_URL="null://")
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_operator_grants_and_revokes_access_on_the_command_line(fresh_engine: Engine) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    for role, email, organisation in (("admin", "beheer@intercommunale.be", "Intercommunale"),
                                      ("staff", "els@brugge.be", "Energiehuis Brugge")):
        created = _run(["create-user", "--email", email, "--password", "lang-genoeg-wachtwoord",
                        "--role", role, "--organisation", organisation], url)
        assert created.returncode == 0, created.stderr
    too_long = _run(["grant-access", "--email", "beheer@intercommunale.be", "--organisation",
                     "Energiehuis Brugge", "--hours", "9", "--reason", "Hulp"], url)
    assert too_long.returncode == 1 and "--hours" in too_long.stderr
    to_staff = _run(["grant-access", "--email", "els@brugge.be", "--organisation",
                     "Intercommunale", "--hours", "1", "--reason", "Hulp"], url)
    assert to_staff.returncode == 1
    granted = _run(["grant-access", "--email", "beheer@intercommunale.be", "--organisation",
                    "Energiehuis Brugge", "--hours", "4", "--reason", "Migratie van de wijk"],
                   url)
    assert granted.returncode == 0, granted.stderr
    assert "Energiehuis Brugge" in granted.stdout
    with Session(fresh_engine) as session:
        grant = session.exec(select(OrganisationAccessGrant)).one()
        assert (grant.granted_by, grant.reason, grant.revoked_at) == (
            "operator", "Migratie van de wijk", None)
        assert grant.expires_at - grant.created_at == timedelta(hours=4)
        line = session.exec(select(AuditEvent)).one()
        assert (line.action, line.actor_kind, line.organisation_id) == (
            "access_grant.create", "operator", grant.organisation_id)
    revoked = _run(["revoke-access", "--email", "beheer@intercommunale.be"], url)
    assert revoked.returncode == 0 and "1 access grant" in revoked.stdout
    with Session(fresh_engine) as session:
        assert session.exec(select(OrganisationAccessGrant)).one().revoked_at is not None


# --- contractors: unique per organisation and VAT number -------------------------------------


CONTRACTOR = {"name": "Gevelwerken Kust NV", "vat_number": "BE0123456749",
              "email": "offertes@gevelwerken-kust.be"}


def test_another_organisation_registers_the_same_contractor_without_a_hint(
    client: TestClient, db_session: Session
) -> None:
    first, second = factories.make_user(db_session), factories.make_user(db_session)
    created = client.post("/api/v1/contractors", json=CONTRACTOR,
                          headers=bearer(start_session(db_session, kind="api", user=first)))
    again = client.post("/api/v1/contractors", json=CONTRACTOR,
                        headers=bearer(start_session(db_session, kind="api", user=second)))
    assert created.status_code == 201 and again.status_code == 201
    assert created.json()["id"] != again.json()["id"]
    csrf = web_login(client, db_session, user=factories.make_user(db_session))
    page = client.post("/beheer/aannemers", data={"csrf_token": csrf} | CONTRACTOR,
                       follow_redirects=False)
    assert page.status_code == 303


def test_a_duplicate_vat_number_within_one_organisation_is_409(
    client: TestClient, db_session: Session
) -> None:
    staff = factories.make_user(db_session)
    admin = factories.make_user(db_session, role="admin", organisation_id=staff.organisation_id)
    assert client.post("/api/v1/contractors", json=CONTRACTOR, headers=bearer(
        start_session(db_session, kind="api", user=staff))).status_code == 201
    duplicate = client.post("/api/v1/contractors", json=CONTRACTOR | {"name": "Andere naam"},
                            headers=bearer(start_session(db_session, kind="api", user=admin)))
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "Er bestaat al een aannemer met dit btw-nummer."


def test_a_contractor_of_one_organisation_cannot_serve_anothers_offer(
    client: TestClient, db_session: Session, world: World
) -> None:
    """The same company registered by two organisations is two contractors: an offer, batch or
    quote request of one organisation only takes its own."""
    elsewhere = factories.make_contractor(db_session, vat_number=world.contractor.vat_number)
    response = client.patch(f"/api/v1/offers/{world.offer.id}",
                            json={"contractor_id": elsewhere.id},
                            headers=bearer(start_session(db_session, kind="api",
                                                         user=world.staff)))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "contractor_id"]
