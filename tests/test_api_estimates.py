"""The estimate API with the exact shape of DESIGN.md (round 2, "Estimate"), 422 naming the
field, and the staff API for savings assumptions and energy factors, scoped and audited."""

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AuditEvent, SavingsAssumption, User
from app.services import estimates, premiums
from app.services.auth import start_session
from tests import factories

BUILD_YEAR = 1962


def bearer(db_session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {start_session(db_session, kind='api', user=user)}"}


def seeded_offer(db_session: Session, **overrides: object) -> int:
    premiums.ensure_example_rules(db_session)
    estimates.ensure_example_data(db_session)
    offer = factories.make_offer(db_session, tiers=[(0, 12_500)], **overrides)
    assert offer.id is not None
    return offer.id


def test_estimate_has_the_contract_shape_and_the_hand_computed_figures(
    client: TestClient, db_session: Session
) -> None:
    offer_id = seeded_offer(db_session)
    answer = client.get(f"/api/v1/offers/{offer_id}/estimate",
                        params={"quantity": 45, "income_category": "3",
                                "build_year": BUILD_YEAR})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"offer_id", "quantity", "unit_price_cents", "vat_rate", "gross_cents",
                         "premium_cents", "net_cents", "premium_rule", "savings"}
    assert (body["unit_price_cents"], body["vat_rate"], body["gross_cents"],
            body["premium_cents"], body["net_cents"]) == (12_500, 6, 596_250, 135_000, 461_250)
    assert set(body["premium_rule"]) == {"id", "measure", "income_category", "valid_from",
                                         "valid_to", "source_url"}
    assert body["premium_rule"]["income_category"] == "3"
    assert body["premium_rule"]["valid_from"] == "2025-01-01"
    assert set(body["savings"]) == {"kwh_per_year", "eur_per_year", "co2_kg_per_year",
                                    "assumptions"}
    assert (body["savings"]["kwh_per_year"], body["savings"]["eur_per_year"],
            body["savings"]["co2_kg_per_year"]) == (2_700, 270, 545)
    assert body["savings"]["assumptions"]["source_url"]


def test_a_young_home_pays_21_percent_whatever_the_offer_says(
    client: TestClient, db_session: Session
) -> None:
    offer_id = seeded_offer(db_session, vat_rate=6)
    young = date.today().year - 3
    body = client.get(f"/api/v1/offers/{offer_id}/estimate",
                      params={"quantity": 10, "build_year": young}).json()
    assert (body["vat_rate"], body["gross_cents"]) == (21, 151_250)
    assert (body["premium_cents"], body["premium_rule"]) == (0, None)  # category unknown


def test_bad_input_is_422_naming_the_field(client: TestClient, db_session: Session) -> None:
    offer_id = seeded_offer(db_session)
    url = f"/api/v1/offers/{offer_id}/estimate"
    for params, field in (({"quantity": 0}, "quantity"), ({}, "quantity"),
                          ({"quantity": "veel"}, "quantity"),
                          ({"quantity": 5, "income_category": "5"}, "income_category"),
                          ({"quantity": 5, "build_year": date.today().year + 1}, "build_year"),
                          ({"quantity": 5, "build_year": "oud"}, "build_year")):
        answer = client.get(url, params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", field], params


def test_an_offer_of_a_draft_campaign_has_no_estimate(client: TestClient,
                                                     db_session: Session) -> None:
    draft = factories.make_campaign(db_session, status="draft")
    offer_id = seeded_offer(db_session, campaign=draft)
    assert client.get(f"/api/v1/offers/{offer_id}/estimate?quantity=5").status_code == 404
    assert client.get("/api/v1/offers/999999/estimate?quantity=5").status_code == 404


def test_staff_manage_their_assumptions_and_another_organisation_gets_404(
    client: TestClient, db_session: Session
) -> None:
    estimates.ensure_example_data(db_session)
    own = factories.make_user(db_session, role="staff")
    other = factories.make_user(db_session, role="staff")
    body = {"measure": "facade_insulation", "dwelling_type": "row_house",
            "kwh_per_unit_year": 70, "valid_from": "2026-01-01",
            "source_url": "https://example.be/besparing", "note": "Eigen meting"}
    created = client.post("/api/v1/savings-assumptions", json=body,
                          headers=bearer(db_session, own))
    assert created.status_code == 201, created.text
    assumption_id = created.json()["id"]
    assert created.json()["organisation_id"] == own.organisation_id
    theirs = client.get("/api/v1/savings-assumptions", headers=bearer(db_session, other)).json()
    assert assumption_id not in [row["id"] for row in theirs]
    assert client.put(f"/api/v1/savings-assumptions/{assumption_id}", json=body,
                      headers=bearer(db_session, other)).status_code == 404
    changed = client.put(f"/api/v1/savings-assumptions/{assumption_id}",
                         json=body | {"kwh_per_unit_year": 75},
                         headers=bearer(db_session, own))
    assert changed.json()["kwh_per_unit_year"] == 75
    wrong = client.post("/api/v1/savings-assumptions", json=body | {"valid_to": "2025-01-01"},
                        headers=bearer(db_session, own))
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "valid_to"]
    assert client.delete(f"/api/v1/savings-assumptions/{assumption_id}",
                         headers=bearer(db_session, own)).status_code == 204
    assert db_session.get(SavingsAssumption, assumption_id) is None
    factor = client.post("/api/v1/energy-factors",
                         json={"price_cents_per_mwh": 11_000, "co2_grams_per_kwh": 202,
                               "valid_from": "2026-01-01"}, headers=bearer(db_session, own))
    assert factor.status_code == 201, factor.text
    assert client.put(f"/api/v1/energy-factors/{factor.json()['id']}",
                      json={"price_cents_per_mwh": 12_000, "co2_grams_per_kwh": 202,
                            "valid_from": "2026-01-01"},
                      headers=bearer(db_session, other)).status_code == 404
    actions = {e.action for e in db_session.exec(select(AuditEvent).where(
        AuditEvent.organisation_id == own.organisation_id)).all()}
    assert {"savings_assumption.create", "savings_assumption.update",
            "savings_assumption.delete", "energy_factor.create"} <= actions
