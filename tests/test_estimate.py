"""The estimate without HTTP: price at the tier reached, VAT from the build year, the premium of
the seeded rule, the net cost and the savings, in integer cents, against a hand computation;
the "which category am I?" helper; staff editing of the savings data scoped and audited."""

from datetime import date

import pytest
from sqlmodel import Session, select

from app.models import AuditEvent, EnergyFactor, Household, SavingsAssumption
from app.models.enums import Role
from app.services import estimates, premiums
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from tests import factories

ON = date(2026, 12, 4)


def seeded_offer(session: Session, **overrides: object) -> tuple[int, int]:
    """An offer of facade insulation at € 125,00 per m² (excl. VAT) with the demo's example
    premium rules, savings assumptions and energy factor; answers (offer id, organisation id)."""
    premiums.ensure_example_rules(session)
    estimates.ensure_example_data(session)
    campaign = factories.make_campaign(session)
    offer = factories.make_offer(session, campaign=campaign, tiers=[(0, 12_500)], **overrides)
    assert offer.id is not None
    return offer.id, campaign.organisation_id


def test_estimate_equals_the_hand_computation_from_the_seeded_rules(db_session: Session) -> None:
    offer_id, _org = seeded_offer(db_session)
    query = estimates.check_input(quantity=45, income_category="3", build_year=1962, on=ON)
    result = estimates.estimate_offer(db_session, offer_id, query, on=ON)
    # 45 m² × 12 500 = 562 500 excl.; a home of 1962 is ≥ 10 years old: 6 % → 596 250.
    excl = 45 * 12_500
    gross = excl * 106 // 100
    # Example rule, facade insulation, category 3: 3 000 cents per m², cap 600 000.
    premium = min(45 * 3_000, 600_000)
    assert (result.unit_price_cents, result.vat_rate) == (12_500, 6)
    assert (result.gross_cents, result.premium_cents, result.net_cents) == (
        gross, premium, gross - premium) == (596_250, 135_000, 461_250)
    assert result.rule is not None and result.rule.income_category == "cat3"
    # Savings: 60 kWh per m² a year × 45 = 2 700 kWh; × € 0,10 = € 270; × 202 g = 545,4 kg.
    assert result.savings is not None
    assert (result.savings.kwh_per_year, result.savings.eur_per_year,
            result.savings.co2_kg_per_year) == (2_700, 270, 545)
    body = result.as_json()
    assert body["premium_rule"]["income_category"] == "3"
    assert body["premium_rule"]["source_url"].startswith("https://")
    assert body["savings"]["assumptions"]["is_example"] is True
    assert body["savings"]["assumptions"]["source_url"]


def test_vat_is_six_percent_only_for_homes_of_ten_years_and_older(db_session: Session) -> None:
    offer_id, _org = seeded_offer(db_session, vat_rate=6)

    def vat(build_year: int | None) -> tuple[int, int]:
        query = estimates.check_input(quantity=10, income_category="unknown",
                                      build_year=build_year, on=ON)
        result = estimates.estimate_offer(db_session, offer_id, query, on=ON)
        return result.vat_rate, result.gross_cents

    assert vat(2016) == (6, 132_500)  # exactly 10 years old in 2026
    assert vat(2017) == (21, 151_250)  # whatever the offer says
    assert vat(None) == (6, 132_500)  # unknown: the offer's rate, and the page says why


def test_unknown_income_category_has_no_premium_and_no_rule(db_session: Session) -> None:
    offer_id, _org = seeded_offer(db_session)
    query = estimates.check_input(quantity=20, income_category="unknown", build_year=1970,
                                  on=ON)
    result = estimates.estimate_offer(db_session, offer_id, query, on=ON)
    assert (result.premium_cents, result.rule, result.net_cents) == (0, None, result.gross_cents)


def test_the_dwelling_types_own_assumption_wins_over_the_general_one(db_session: Session) -> None:
    offer_id, org = seeded_offer(db_session, measure="roof_insulation")
    db_session.add(SavingsAssumption(organisation_id=org, measure="roof_insulation",
                                     dwelling_type="detached", kwh_per_unit_year=100,
                                     valid_from=date(2026, 1, 1)))
    db_session.flush()

    def kwh(dwelling_type: str | None) -> int | None:
        query = estimates.check_input(quantity=10, income_category="2", build_year=1970,
                                      dwelling_type=dwelling_type, on=ON)
        found = estimates.estimate_offer(db_session, offer_id, query, on=ON).savings
        return found.kwh_per_year if found else None

    assert kwh("detached") == 1_000
    assert kwh("apartment") == 820  # the shared example for any dwelling type: 82 per m²


def test_no_assumption_means_no_savings_rather_than_a_guess(db_session: Session) -> None:
    offer_id, _org = seeded_offer(db_session, measure="window_frames", unit="piece")
    query = estimates.check_input(quantity=4, income_category="2", build_year=1970, on=ON)
    assert estimates.estimate_offer(db_session, offer_id, query, on=ON).savings is None


@pytest.mark.parametrize(("values", "field"), [
    ({"quantity": 0, "income_category": "2", "build_year": 1970}, "quantity"),
    ({"quantity": 10, "income_category": "5", "build_year": 1970}, "income_category"),
    ({"quantity": 10, "income_category": "2", "build_year": 2027}, "build_year"),
])
def test_bad_input_names_its_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        estimates.check_input(on=ON, **values)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_page_input_gives_a_message_per_field() -> None:
    query, errors = estimates.parse_page_input(
        {"quantity": "veel", "income_category": "9", "build_year": "1850a"}, on=ON)
    assert query is None and set(errors) == {"quantity", "income_category", "build_year"}
    query, errors = estimates.parse_page_input({"quantity": "12,5", "income_category": "4"},
                                               on=ON)
    assert errors == {} and query is not None
    assert (query.quantity, query.income_category, query.build_year) == (12.5, "cat4", None)


@pytest.mark.parametrize(("adults", "dependants", "income", "expected"), [
    ("1", "0", "24.230", "4"),  # at the single limit of category 4
    ("1", "0", "24.231", "3"),
    ("2", "0", "59.270", "3"),  # a couple: the couple limit
    ("1", "1", "59.270", "3"),  # a single parent with one child counts as a couple
    ("2", "2", "85.620", "2"),  # couple limit of cat. 2 (76 980) + 2 × 4 320 = 85 620
    ("2", "2", "85.621", "1"),
    ("1", "3", "85.620", "2"),  # single + 1 dependant is the couple limit, + 2 further
])
def test_which_category_follows_the_seeded_limits(db_session: Session, adults: str,
                                                   dependants: str, income: str,
                                                   expected: str) -> None:
    estimates.ensure_example_data(db_session)
    before = db_session.exec(select(Household)).all()
    question, errors = estimates.parse_category_question(
        {"adults": adults, "dependants": dependants, "taxable_income": income})
    assert errors == {} and question is not None
    answer = estimates.which_category(db_session, question, on=ON)
    assert answer is not None and answer.code == expected
    assert answer.is_example  # the limits are labelled examples
    assert db_session.exec(select(Household)).all() == before  # nothing stored


def test_which_category_without_limits_says_nothing(db_session: Session) -> None:
    question = estimates.CategoryQuestion(adults=1, dependants=0, taxable_income_cents=1)
    assert estimates.which_category(db_session, question, on=date(1990, 1, 1)) is None


def staff(organisation_id: int, role: Role = Role.staff) -> Principal:
    return Principal(role=role, session_id=0, organisation_id=organisation_id, user_id=None)


def test_staff_edit_their_own_assumptions_audited_and_not_anothers(db_session: Session) -> None:
    estimates.ensure_example_data(db_session)
    own = factories.make_organisation(db_session)
    other = factories.make_organisation(db_session)
    data = estimates.parse_assumption_input({
        "measure": "facade_insulation", "dwelling_type": "row_house", "kwh_per_unit_year": 70,
        "valid_from": "2026-01-01", "source_url": "https://example.be/besparing"})
    mine = estimates.create_assumption(db_session, staff(own.id), data)  # type: ignore[arg-type]
    assert mine.organisation_id == own.id
    listed = estimates.list_assumptions(db_session, staff(other.id))  # type: ignore[arg-type]
    assert mine not in listed and any(a.organisation_id is None for a in listed)
    with pytest.raises(NotFound):
        estimates.update_assumption(db_session, staff(other.id), mine.id, data)  # type: ignore[arg-type]
    shared = db_session.exec(select(EnergyFactor)).first()
    assert shared is not None and shared.organisation_id is None
    factor = estimates.parse_factor_input({"price_cents_per_mwh": 12_000,
                                           "co2_grams_per_kwh": 200,
                                           "valid_from": "2026-01-01"})
    with pytest.raises(NotFound):  # shared rows: admins only
        estimates.update_factor(db_session, staff(own.id), shared.id, factor)  # type: ignore[arg-type]
    estimates.update_factor(db_session, staff(own.id, Role.admin), shared.id, factor)  # type: ignore[arg-type]
    estimates.delete_assumption(db_session, staff(own.id), mine.id)  # type: ignore[arg-type]
    actions = [e.action for e in db_session.exec(
        select(AuditEvent).order_by(AuditEvent.id)).all()]  # type: ignore[arg-type]
    assert actions == ["savings_assumption.create", "energy_factor.update",
                       "savings_assumption.delete"]


def test_assumption_input_names_the_wrong_field() -> None:
    with pytest.raises(Invalid) as raised:
        estimates.parse_assumption_input({"measure": "facade_insulation",
                                          "kwh_per_unit_year": -1, "valid_from": "2026-01-01"})
    assert raised.value.field == "kwh_per_unit_year"
    with pytest.raises(Invalid) as raised:
        estimates.parse_assumption_input({"measure": "facade_insulation",
                                          "kwh_per_unit_year": 1, "valid_from": "2026-01-01",
                                          "valid_to": "2025-01-01"})
    assert raised.value.field == "valid_to"
