"""The groups JSON API: suggest (nothing saved), create, patch, batches, stats; the shapes of
DESIGN.md, 4xx naming the field, and another organisation's objects answering 404."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Campaign, Group, Offer, OutboxMail, Participation, User
from app.services.auth import start_session
from tests import factories


def bearer(db_session: Session, user: User) -> dict[str, str]:
    token = start_session(db_session, kind="api", user=user)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def offer(db_session: Session) -> Offer:
    return factories.make_offer(db_session)


@pytest.fixture
def campaign(db_session: Session, offer: Offer) -> Campaign:
    found = db_session.get(Campaign, offer.campaign_id)
    assert found is not None
    return found


@pytest.fixture
def staff(db_session: Session, campaign: Campaign) -> dict[str, str]:
    return bearer(db_session, factories.make_user(db_session,
                                                  organisation_id=campaign.organisation_id))


@pytest.fixture
def stranger(db_session: Session) -> dict[str, str]:
    return bearer(db_session, factories.make_user(db_session))


def sign_up(db_session: Session, offer: Offer, life_phase: str, street: str = "Kerkstraat",
            number: str = "1") -> int:
    campaign = db_session.get(Campaign, offer.campaign_id)
    household = factories.make_household(db_session, campaign=campaign, life_phase=life_phase,
                                         street=street, house_number=number)
    return factories.make_participation(db_session, offer=offer,
                                        household=household).household_id


def group_count(db_session: Session) -> int:
    return db_session.exec(select(func.count()).select_from(Group)).one()


def test_suggest_answers_the_proposed_groups_and_saves_nothing(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer,
    staff: dict[str, str]
) -> None:
    families = [sign_up(db_session, offer, "young_family", number=str(n)) for n in range(1, 24)]
    seniors = [sign_up(db_session, offer, "senior", number=str(n)) for n in range(30, 33)]

    response = client.post(f"/api/v1/campaigns/{campaign.slug}/groups/suggest", headers=staff,
                           json={"by": ["life_phase"], "min_size": 5, "max_size": 10,
                                 "offer_id": offer.id})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"groups", "unassigned"}
    assert [(g["size"], g["criteria"]) for g in body["groups"]] == [
        (8, {"life_phase": "young_family"}), (8, {"life_phase": "young_family"}),
        (7, {"life_phase": "young_family"})]
    assert body["groups"][0]["household_ids"] == families[:8]
    assert all(set(g) == {"name", "criteria", "household_ids", "size"} for g in body["groups"])
    assert body["unassigned"] == [
        {"household_id": h, "reason": "te weinig huishoudens met life_phase=senior: 3 < 5"}
        for h in seniors]
    assert group_count(db_session) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"by": ["shoe_size"]}, "by"),
    ({"min_size": 0}, "min_size"),
    ({"min_size": "vijf"}, "min_size"),
    ({"measure": "teleport"}, "measure"),
])
def test_suggest_refuses_bad_input_naming_the_field(
    client: TestClient, campaign: Campaign, staff: dict[str, str], body: dict[str, Any],
    field: str
) -> None:
    response = client.post(f"/api/v1/campaigns/{campaign.slug}/groups/suggest", headers=staff,
                           json=body)

    assert response.status_code == 422
    assert field in [part for error in response.json()["detail"] for part in error["loc"]]


def test_create_patch_lock_and_assign_a_batch(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer,
    staff: dict[str, str]
) -> None:
    households = [sign_up(db_session, offer, "senior", number=str(n)) for n in range(1, 5)]

    created = client.post(f"/api/v1/campaigns/{campaign.slug}/groups", headers=staff, json={
        "name": "Gevels", "kind": "framework", "offer_id": offer.id, "measure": None,
        "household_ids": households[:3]})
    assert created.status_code == 201
    group_id = created.json()["id"]
    assert created.json()["household_ids"] == households[:3]

    patched = client.patch(f"/api/v1/groups/{group_id}", headers=staff, json={
        "name": "Gevels oost", "add_household_ids": [households[3]],
        "remove_household_ids": [households[0]], "locked": True})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Gevels oost"
    assert patched.json()["locked"] is True
    assert sorted(patched.json()["household_ids"]) == sorted(households[1:])

    refused = client.patch(f"/api/v1/groups/{group_id}", headers=staff,
                           json={"add_household_ids": [households[0]]})
    assert refused.status_code == 409

    batch = client.post(f"/api/v1/groups/{group_id}/batches", headers=staff,
                        json={"contractor_id": offer.contractor_id, "offer_id": None})
    assert batch.status_code == 201
    assert isinstance(batch.json()["id"], int)
    statuses = set(db_session.exec(select(Participation.status).where(
        Participation.household_id.in_(households[1:]))).all())  # type: ignore[union-attr]
    assert statuses == {"assigned"}
    assert db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "batch_assigned")).first() is not None

    fetched = client.get(f"/api/v1/groups/{group_id}", headers=staff).json()
    assert fetched["batches"][0]["id"] == batch.json()["id"]
    listed = client.get(f"/api/v1/campaigns/{campaign.slug}/groups", headers=staff).json()
    assert [item["id"] for item in listed["items"]] == [group_id]


def test_create_with_a_household_of_another_campaign_names_household_ids(
    client: TestClient, db_session: Session, campaign: Campaign, staff: dict[str, str]
) -> None:
    outsider = factories.make_household(db_session)

    response = client.post(f"/api/v1/campaigns/{campaign.slug}/groups", headers=staff, json={
        "name": "X", "kind": "quotes", "offer_id": None, "measure": "heat_pump",
        "household_ids": [outsider.id]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "household_ids"]


def test_a_batch_of_an_unlocked_group_is_a_conflict(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer,
    staff: dict[str, str]
) -> None:
    group_id = client.post(f"/api/v1/campaigns/{campaign.slug}/groups", headers=staff, json={
        "name": "G", "kind": "framework", "offer_id": offer.id, "measure": None,
        "household_ids": [sign_up(db_session, offer, "senior")]}).json()["id"]

    response = client.post(f"/api/v1/groups/{group_id}/batches", headers=staff,
                           json={"contractor_id": offer.contractor_id, "offer_id": offer.id})

    assert response.status_code == 409
    assert "Vergrendel" in response.json()["detail"]


def test_another_organisation_gets_404_for_every_group_route(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer,
    staff: dict[str, str], stranger: dict[str, str]
) -> None:
    group_id = client.post(f"/api/v1/campaigns/{campaign.slug}/groups", headers=staff, json={
        "name": "G", "kind": "framework", "offer_id": offer.id, "measure": None,
        "household_ids": []}).json()["id"]
    slug = campaign.slug

    answers = [
        client.post(f"/api/v1/campaigns/{slug}/groups/suggest", headers=stranger, json={}),
        client.get(f"/api/v1/campaigns/{slug}/groups", headers=stranger),
        client.post(f"/api/v1/campaigns/{slug}/groups", headers=stranger,
                    json={"name": "X", "kind": "framework", "household_ids": []}),
        client.get(f"/api/v1/groups/{group_id}", headers=stranger),
        client.patch(f"/api/v1/groups/{group_id}", headers=stranger, json={"locked": True}),
        client.post(f"/api/v1/groups/{group_id}/batches", headers=stranger,
                    json={"contractor_id": offer.contractor_id}),
        client.get(f"/api/v1/campaigns/{slug}/stats", headers=stranger),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert db_session.get(Group, group_id).locked is False  # type: ignore[union-attr]


def test_group_routes_need_a_staff_token(client: TestClient, campaign: Campaign) -> None:
    response = client.post(f"/api/v1/campaigns/{campaign.slug}/groups/suggest", json={})

    assert response.status_code == 401


def test_stats_answer_the_funnel_streets_mix_klimaattafel_offers_and_lekp(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer,
    staff: dict[str, str]
) -> None:
    sign_up(db_session, offer, "senior")

    response = client.get(f"/api/v1/campaigns/{campaign.slug}/stats", headers=staff)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"funnel", "streets", "mix", "klimaattafel", "offers", "lekp"}
    assert body["funnel"][1] == {"stage": "registered", "count": 1}
    assert body["offers"][0]["participants"] == 1
