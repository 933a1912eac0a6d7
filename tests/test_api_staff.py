"""The staff JSON API: campaigns, contractors, offers, the household list and the audit log,
with the exact shapes of DESIGN.md and 4xx answers that name the field."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent, Campaign, Offer, Participation, Partner, PriceTier, User
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


def bearer(db_session: Session, user: User) -> dict[str, str]:
    token = start_session(db_session, kind="api", user=user)
    return {"Authorization": f"Bearer {token}"}


CAMPAIGN_BODY: dict[str, Any] = {
    "slug": "westerkwartier-2", "name": "Klimaatwijk Westerkwartier", "municipality": "Oostende",
    "description": "Samen renoveren.", "postcodes": ["8400"], "streets": [],
    "starts_on": "2026-01-01", "ends_on": "2030-12-31", "status": "open",
    "partners": [{"kind": "ocmw", "name": "OCMW Oostende",
                  "role": "toeleiding kwetsbare eigenaars"}],
}


def offer_body(contractor_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "measure": "facade_insulation", "title": "Buitengevelisolatie",
        "description": "EPS 14 cm met crepi", "lot": "1",
        "procurement_reference": "2026/OOST/017", "contractor_id": contractor_id, "unit": "m2",
        "price_tiers": [{"min_participants": 0, "unit_price_cents": 12000},
                        {"min_participants": 25, "unit_price_cents": 10800}],
        "vat_rate": 6, "capacity": 60,
        "signup_opens_at": "2026-02-01T00:00:00+01:00",
        "signup_closes_at": "2026-06-30T23:59:59+02:00",
    }
    body.update(overrides)
    return body


def test_staff_create_a_campaign_and_get_it_back_with_the_same_fields(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    response = client.post("/api/v1/campaigns", json=CAMPAIGN_BODY,
                           headers=bearer(db_session, staff))

    assert response.status_code == 201
    created = response.json()
    assert isinstance(created["id"], int)
    assert {key: created[key] for key in CAMPAIGN_BODY} == CAMPAIGN_BODY
    stored = db_session.get(Campaign, created["id"])
    assert stored is not None and stored.organisation_id == staff.organisation_id
    assert client.get("/api/v1/campaigns/westerkwartier-2").json() == created


def test_campaign_slug_taken_answers_409(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    make_campaign(db_session, slug="westerkwartier-2")
    response = client.post("/api/v1/campaigns", json=CAMPAIGN_BODY,
                           headers=bearer(db_session, staff))
    assert response.status_code == 409
    assert "slug" in response.json()["detail"]


def test_campaign_input_errors_name_the_field(client: TestClient, db_session: Session) -> None:
    headers = bearer(db_session, make_user(db_session))
    cases = {
        "slug": {"slug": "Wester Kwartier"},
        "postcodes": {"postcodes": ["840"]},
        "ends_on": {"starts_on": "2026-05-01", "ends_on": "2026-04-30"},
        "status": {"status": "published"},
        "kind": {"partners": [{"kind": "bank", "name": "X", "role": ""}]},
    }
    for field, change in cases.items():
        response = client.post("/api/v1/campaigns", json=CAMPAIGN_BODY | change, headers=headers)
        assert response.status_code == 422, field
        locs = [error["loc"] for error in response.json()["detail"]]
        assert any(field in loc for loc in locs), (field, locs)


def test_campaign_list_shows_open_ones_to_anyone_and_own_drafts_to_staff(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    own_draft = make_campaign(db_session, organisation_id=staff.organisation_id, status="draft")
    other_draft = make_campaign(db_session, status="draft")
    other_open = make_campaign(db_session, status="open")

    anonymous = {c["slug"] for c in client.get("/api/v1/campaigns").json()}
    as_staff = {c["slug"] for c in client.get("/api/v1/campaigns",
                                              headers=bearer(db_session, staff)).json()}

    assert other_open.slug in anonymous and own_draft.slug not in anonymous
    assert {own_draft.slug, other_open.slug} <= as_staff
    assert other_draft.slug not in as_staff
    assert client.get(f"/api/v1/campaigns/{own_draft.slug}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{own_draft.slug}",
                      headers=bearer(db_session, staff)).status_code == 200


def test_patch_campaign_replaces_partners_and_bumps_the_content_version(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    version = campaign.content_version
    response = client.patch(
        f"/api/v1/campaigns/{campaign.slug}",
        json={"name": "Nieuwe naam", "partners": [
            {"kind": "opbouwwerk", "name": "Samenlevingsopbouw", "role": "infoavonden"}]},
        headers=bearer(db_session, staff),
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Nieuwe naam"
    assert response.json()["partners"] == [{"kind": "opbouwwerk", "name": "Samenlevingsopbouw",
                                            "role": "infoavonden"}]
    db_session.refresh(campaign)
    assert campaign.content_version == version + 1
    partners = db_session.exec(select(Partner).where(Partner.campaign_id == campaign.id)).all()
    assert len(partners) == 1


def test_create_contractor_checks_the_belgian_vat_number(
    client: TestClient, db_session: Session
) -> None:
    headers = bearer(db_session, make_user(db_session))
    body = {"name": "Gevelwerken NV", "vat_number": "BE0123456749",
            "email": "info@gevelwerken.be", "phone": "+3250123456"}
    created = client.post("/api/v1/contractors", json=body, headers=headers)
    assert created.status_code == 201
    assert isinstance(created.json()["id"], int)

    wrong = client.post("/api/v1/contractors", json=body | {"vat_number": "BE0123456748"},
                        headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "vat_number"]
    bad_mail = client.post("/api/v1/contractors",
                           json=body | {"vat_number": belgian_vat_number(77), "email": "geen"},
                           headers=headers)
    assert bad_mail.json()["detail"][0]["loc"] == ["body", "email"]
    duplicate = client.post("/api/v1/contractors", json=body, headers=headers)
    assert duplicate.status_code == 409


def test_create_offer_with_tiers_as_designed(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    response = client.post(f"/api/v1/campaigns/{campaign.slug}/offers",
                           json=offer_body(contractor.id), headers=bearer(db_session, staff))
    assert response.status_code == 201, response.text
    offer = db_session.get(Offer, response.json()["id"])
    assert offer is not None and offer.campaign_id == campaign.id and offer.capacity == 60
    tiers = db_session.exec(select(PriceTier).where(PriceTier.offer_id == offer.id)
                            .order_by(PriceTier.min_participants)).all()
    assert [(t.min_participants, t.unit_price_cents) for t in tiers] == [(0, 12000), (25, 10800)]


def test_offer_rules_answer_422_naming_the_field(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    other_contractor = make_contractor(db_session)
    headers = bearer(db_session, staff)
    cases = {
        "price_tiers": [
            {"price_tiers": []},
            {"price_tiers": [{"min_participants": 5, "unit_price_cents": 100}]},
            {"price_tiers": [{"min_participants": 0, "unit_price_cents": 100},
                             {"min_participants": 0, "unit_price_cents": 90}]},
            {"price_tiers": [{"min_participants": 0, "unit_price_cents": 100},
                             {"min_participants": 10, "unit_price_cents": 110}]},
        ],
        "vat_rate": [{"vat_rate": 12}],
        "capacity": [{"capacity": 0}],
        "contractor_id": [{"contractor_id": other_contractor.id}],
        "signup_closes_at": [{"signup_closes_at": "2026-01-01T00:00:00+01:00"}],
    }
    for field, changes in cases.items():
        for change in changes:
            response = client.post(f"/api/v1/campaigns/{campaign.slug}/offers",
                                   json=offer_body(contractor.id) | change, headers=headers)
            assert response.status_code == 422, (field, change, response.text)
            assert response.json()["detail"][0]["loc"][:2] == ["body", field], response.text


def test_lowering_capacity_needs_confirmation_then_moves_newest_to_the_waitlist(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign, capacity=5)
    sign_ups = [make_participation(db_session, offer=offer) for _ in range(5)]
    headers = bearer(db_session, staff)

    refused = client.patch(f"/api/v1/offers/{offer.id}", json={"capacity": 2}, headers=headers)
    assert refused.status_code == 409
    assert "3 inschrijving(en) gaan naar de wachtlijst" in refused.json()["detail"]

    confirmed = client.patch(f"/api/v1/offers/{offer.id}", json={"capacity": 2, "confirm": True},
                             headers=headers)
    assert confirmed.status_code == 200
    assert confirmed.json()["capacity"] == 2
    statuses = [db_session.get(Participation, p.id).status for p in sign_ups]  # type: ignore[union-attr]
    assert statuses == ["registered", "registered", "waitlisted", "waitlisted", "waitlisted"]


def test_household_list_filters_sorts_and_paginates(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign)
    a = make_household(db_session, campaign=campaign, name="An Peeters", street="Zwaluwenstraat",
                       house_number="10")
    b = make_household(db_session, campaign=campaign, name="Bart Maes", street="Zwaluwenstraat",
                       house_number="2", email=None, life_phase="senior")
    make_household(db_session, campaign=campaign, name="Els Claes", street="Duinenstraat",
                   house_number="5")
    make_participation(db_session, household=a, offer=offer, status="waitlisted")
    headers = bearer(db_session, staff)
    url = f"/api/v1/campaigns/{campaign.slug}/households"

    page = client.get(url, params={"street": "Zwaluwenstraat"}, headers=headers).json()
    assert page["total"] == 2 and page["page"] == 1 and page["page_size"] == 50
    assert [item["id"] for item in page["items"]] == [b.id, a.id]  # 2 before 10
    assert page["items"][1]["participations"] == [
        {"id": page["items"][1]["participations"][0]["id"], "offer_id": offer.id,
         "measure": "facade_insulation", "status": "waitlisted"}]
    assert client.get(url, params={"has_email": "false"}, headers=headers).json()["items"][0][
        "id"] == b.id
    assert [i["name"] for i in client.get(url, params={"status": "waitlisted"},
                                          headers=headers).json()["items"]] == ["An Peeters"]
    assert client.get(url, params={"q": "peet"}, headers=headers).json()["total"] == 1
    assert client.get(url, params={"life_phase": "senior"}, headers=headers).json()["total"] == 1
    second = client.get(url, params={"sort": "name", "page": 2, "page_size": 2},
                        headers=headers).json()
    assert [i["name"] for i in second["items"]] == ["Els Claes"] and second["total"] == 3
    assert client.get(url, params={"page_size": 500}, headers=headers).status_code == 422
    assert client.get(url, params={"life_phase": "toddler"}, headers=headers).status_code == 422


def test_household_list_is_audited_without_personal_data(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    make_household(db_session, campaign=campaign, name="Zeer Geheim")
    client.get(f"/api/v1/campaigns/{campaign.slug}/households", params={"q": "Geheim"},
               headers=bearer(db_session, staff))
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "household.list")).one()
    assert event.organisation_id == staff.organisation_id and event.object_id == campaign.id
    assert "Geheim" not in repr(event)


def test_audit_log_lists_own_organisation_events_including_refused_access(
    client: TestClient, db_session: Session
) -> None:
    owner = make_user(db_session)
    intruder = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=owner.organisation_id)

    refused = client.get(f"/api/v1/campaigns/{campaign.slug}/households",
                         headers=bearer(db_session, intruder))
    assert refused.status_code == 404
    log = client.get("/api/v1/audit", headers=bearer(db_session, owner)).json()

    assert log["total"] == 1 and log["page"] == 1
    item = log["items"][0]
    assert item["actor"] == intruder.email and item["outcome"] == "denied"
    assert item["object_type"] == "campaign" and item["object_id"] == campaign.id
    assert {"created_at", "action", "ip"} <= set(item)
    assert client.get("/api/v1/audit", headers=bearer(db_session, intruder)).json()["total"] == 0
