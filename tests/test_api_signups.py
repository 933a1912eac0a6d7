"""The public JSON API: offers as listed and signing up, with the shapes of DESIGN.md."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Household, OutboxMail, Participation
from tests.factories import make_campaign, make_offer, make_participation


def body(number: int = 12, **household: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "An Peeters", "email": f"an{number}@example.be", "phone": "+32470123456",
        "street": "Torhoutsesteenweg", "house_number": str(number), "box": "",
        "postcode": "8400", "city": "Oostende", "dwelling_type": "row_house",
        "build_year": 1962, "tenure": "owner_occupier", "life_phase": "young_family",
        "budget_band": "5k_15k", "profile": "can_and_will",
    }
    values.update(household)
    return {"household": values, "quantity": 48.5, "consent": True,
            "share_contact_with_contractor": True}


def test_offers_listing_has_exactly_the_documented_shape(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="westerkwartier-api")
    offer = make_offer(db_session, campaign=campaign, capacity=2,
                       tiers=[(0, 12000), (1, 10800), (3, 9800)])
    make_participation(db_session, offer=offer, status="registered")
    make_participation(db_session, offer=offer, status="waitlisted")
    response = client.get("/api/v1/campaigns/westerkwartier-api/offers")
    assert response.status_code == 200
    [listed] = response.json()
    assert set(listed) == {
        "id", "measure", "title", "description", "lot", "procurement_reference", "contractor",
        "unit", "price_tiers", "vat_rate", "capacity", "participants", "waitlisted",
        "remaining", "current_unit_price_cents", "next_tier", "signup_opens_at",
        "signup_closes_at", "status"}
    assert listed["id"] == offer.id
    assert set(listed["contractor"]) == {"id", "name"}
    assert listed["price_tiers"] == [
        {"min_participants": 0, "unit_price_cents": 12000},
        {"min_participants": 1, "unit_price_cents": 10800},
        {"min_participants": 3, "unit_price_cents": 9800}]
    assert (listed["capacity"], listed["participants"], listed["waitlisted"],
            listed["remaining"]) == (2, 1, 1, 1)
    assert listed["current_unit_price_cents"] == 10800
    assert listed["next_tier"] == {"min_participants": 3, "unit_price_cents": 9800}
    assert listed["status"] == "open" and listed["unit"] == "m2" and listed["vat_rate"] == 6
    assert datetime.fromisoformat(listed["signup_opens_at"]).utcoffset() is not None


def test_offers_listing_status_upcoming_and_closed(client: TestClient, db_session: Session) -> None:
    campaign = make_campaign(db_session, slug="statuswijk")
    now = datetime.now(UTC)
    make_offer(db_session, campaign=campaign, lot="1", signup_opens_at=now + timedelta(days=3),
               signup_closes_at=now + timedelta(days=30))
    make_offer(db_session, campaign=campaign, lot="2", signup_opens_at=now - timedelta(days=30),
               signup_closes_at=now - timedelta(days=3), tiers=[])
    listed = client.get("/api/v1/campaigns/statuswijk/offers").json()
    assert [offer["status"] for offer in listed] == ["upcoming", "closed"]
    assert listed[1]["current_unit_price_cents"] is None and listed[1]["next_tier"] is None


def test_offers_of_a_draft_or_unknown_campaign_are_404(
    client: TestClient, db_session: Session
) -> None:
    make_offer(db_session, campaign=make_campaign(db_session, slug="conceptwijk", status="draft"))
    assert client.get("/api/v1/campaigns/conceptwijk/offers").status_code == 404
    assert client.get("/api/v1/campaigns/bestaat-niet/offers").status_code == 404


def test_sign_up_answers_201_with_the_documented_shape_and_stores_the_household(
    client: TestClient, db_session: Session
) -> None:
    offer = make_offer(db_session, capacity=1)
    response = client.post(f"/api/v1/offers/{offer.id}/participations", json=body(12))
    assert response.status_code == 201
    created = response.json()
    assert created == {"id": created["id"], "offer_id": offer.id, "status": "registered",
                       "waitlist_position": None}
    waitlisted = client.post(f"/api/v1/offers/{offer.id}/participations", json=body(14))
    assert waitlisted.status_code == 201
    assert waitlisted.json()["status"] == "waitlisted"
    assert waitlisted.json()["waitlist_position"] == 1
    participation = db_session.get(Participation, created["id"])
    assert participation is not None and participation.quantity == 48.5
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    assert (household.street, household.house_number, household.city, household.tenure) == (
        "Torhoutsesteenweg", "12", "Oostende", "owner_occupier")
    mail = db_session.exec(select(OutboxMail).where(OutboxMail.household_id == household.id)).one()
    assert mail.purpose == "signup_confirmation" and "token" not in str(mail.context)


def test_sign_up_with_only_the_required_fields(client: TestClient, db_session: Session) -> None:
    offer = make_offer(db_session)
    minimal = {"household": {"name": "Jef", "phone": "0470 12 34 56", "street": "Kerkstraat",
                             "house_number": "3", "postcode": "8400"}, "consent": True}
    response = client.post(f"/api/v1/offers/{offer.id}/participations", json=minimal)
    assert response.status_code == 201, response.text
    household = db_session.exec(select(Household).where(Household.street == "Kerkstraat")).one()
    assert household.email is None and household.phone == "+32470123456"
    assert household.city == "Oostende" and household.source == "online"
    assert db_session.exec(select(OutboxMail)).all() == []


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"household": {"email": "an@"}}, ["body", "household", "email"]),
        ({"household": {"phone": "12345"}}, ["body", "household", "phone"]),
        ({"household": {"email": None, "phone": None}}, ["body", "household", "email"]),
        ({"household": {"postcode": "9000"}}, ["body", "household", "postcode"]),
        ({"household": {"postcode": "84"}}, ["body", "household", "postcode"]),
        ({"household": {"name": " "}}, ["body", "household", "name"]),
        ({"household": {"dwelling_type": "castle"}}, ["body", "household", "dwelling_type"]),
        ({"household": {"build_year": 1200}}, ["body", "household", "build_year"]),
        ({"consent": False}, ["body", "consent"]),
        ({"quantity": -1}, ["body", "quantity"]),
    ],
)
def test_sign_up_refusals_are_422_naming_the_field(
    client: TestClient, db_session: Session, change: dict[str, Any], loc: list[str]
) -> None:
    offer = make_offer(db_session)
    payload = body()
    payload["household"].update(change.pop("household", {}))
    payload.update(change)
    response = client.post(f"/api/v1/offers/{offer.id}/participations", json=payload)
    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert db_session.exec(select(Participation)).all() == []


def test_sign_up_with_a_street_outside_the_wijk_is_422_on_street(
    client: TestClient, db_session: Session
) -> None:
    offer = make_offer(db_session, campaign=make_campaign(db_session, streets=["Kerkstraat"]))
    response = client.post(f"/api/v1/offers/{offer.id}/participations", json=body())
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "household", "street"]
    assert "hoort niet bij deze wijk" in error["msg"]


def test_missing_consent_field_is_422(client: TestClient, db_session: Session) -> None:
    offer = make_offer(db_session)
    payload = body()
    del payload["consent"]
    response = client.post(f"/api/v1/offers/{offer.id}/participations", json=payload)
    assert response.status_code == 422
    assert ["body", "consent"] in [error["loc"] for error in response.json()["detail"]]


def test_same_address_twice_gets_the_same_answer_as_a_new_address_and_adds_nothing(
    client: TestClient, db_session: Session
) -> None:
    offer = make_offer(db_session)
    first = client.post(f"/api/v1/offers/{offer.id}/participations", json=body(5))
    assert first.status_code == 201
    again = client.post(f"/api/v1/offers/{offer.id}/participations",
                        json=body(5, street="TORHOUTSESTEENWEG", name="An P."))
    fresh = client.post(f"/api/v1/offers/{offer.id}/participations", json=body(6))
    # No 409 that would tell anyone the address is known: the same status and the same shape.
    assert again.status_code == fresh.status_code == 201
    assert set(again.json()) == set(fresh.json()) == {"id", "offer_id", "status",
                                                      "waitlist_position"}
    assert again.json()["status"] == fresh.json()["status"] == "registered"
    assert len(db_session.exec(select(Participation)).all()) == 2
    purposes = sorted(mail.purpose for mail in db_session.exec(select(OutboxMail)).all())
    assert purposes == ["claim_notice", "signup_confirmation", "signup_confirmation",
                        "signup_confirmation"]


def test_closed_offer_is_409_and_unknown_offer_404(client: TestClient, db_session: Session) -> None:
    now = datetime.now(UTC)
    closed = make_offer(db_session, signup_opens_at=now - timedelta(days=9),
                        signup_closes_at=now - timedelta(seconds=1))
    response = client.post(f"/api/v1/offers/{closed.id}/participations", json=body())
    assert response.status_code == 409 and "afgesloten" in response.json()["detail"]
    assert client.post("/api/v1/offers/999999/participations", json=body()).status_code == 404


def test_sign_up_needs_a_json_body(client: TestClient, db_session: Session) -> None:
    offer = make_offer(db_session)
    response = client.post(f"/api/v1/offers/{offer.id}/participations",
                           content="name=An", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
