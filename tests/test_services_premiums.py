"""Premium rules as data: which rule applies on a date, how it is applied and capped, staff
editing scoped to their organisation, and the clearly labelled example rules."""

from datetime import date

import pytest
from sqlmodel import Session, select

from app.models import PremiumRule
from app.models.enums import Role
from app.services import premiums
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from tests import factories

JUNE = date(2025, 6, 1)
AUGUST = date(2025, 8, 1)


def rule(session: Session, **values: object) -> PremiumRule:
    defaults: dict[str, object] = {"measure": "heat_pump", "income_category": "cat3",
                                   "kind": "percentage", "rate": 35, "valid_from": date(2025, 7, 1)}
    created = PremiumRule(**(defaults | values))
    session.add(created)
    session.flush()
    return created


def staff(organisation_id: int, role: Role = Role.staff) -> Principal:
    return Principal(role=role, session_id=0, organisation_id=organisation_id)


def test_the_rule_valid_on_the_date_applies(db_session: Session) -> None:
    old = rule(db_session, rate=25, valid_from=date(2024, 1, 1), valid_to=date(2025, 6, 30))
    new = rule(db_session)
    find = premiums.rule_for
    assert find(db_session, organisation_id=None, measure="heat_pump", income_category="cat3",
                on=JUNE) == old
    assert find(db_session, organisation_id=None, measure="heat_pump", income_category="cat3",
                on=AUGUST) == new
    assert find(db_session, organisation_id=None, measure="heat_pump", income_category="cat1",
                on=AUGUST) is None


def test_an_organisations_own_rule_wins_over_the_shared_one(db_session: Session) -> None:
    organisation = factories.make_organisation(db_session)
    rule(db_session)
    own = rule(db_session, organisation_id=organisation.id, rate=40)
    other = factories.make_organisation(db_session)
    rule(db_session, organisation_id=other.id, rate=90)
    assert premiums.rule_for(db_session, organisation_id=organisation.id, measure="heat_pump",
                             income_category="cat3", on=AUGUST) == own


def test_percentage_and_per_unit_are_rounded_capped_and_never_exceed_the_cost(
    db_session: Session,
) -> None:
    percentage = rule(db_session, rate=35, cap_cents=100_000)
    assert premiums.apply_rule(percentage, cost_incl_vat_cents=123_457, quantity=None) == 43_210
    assert premiums.apply_rule(percentage, cost_incl_vat_cents=500_000, quantity=None) == 100_000
    per_unit = rule(db_session, kind="per_unit", rate=4000, measure="facade_insulation")
    assert premiums.apply_rule(per_unit, cost_incl_vat_cents=900_000, quantity=48.5) == 194_000
    assert premiums.apply_rule(per_unit, cost_incl_vat_cents=1_000, quantity=48.5) == 1_000


def test_estimate_without_income_category_is_unknown(db_session: Session) -> None:
    rule(db_session)
    estimate = premiums.estimate(db_session, organisation_id=None, measure="heat_pump",
                                 income_category=None, on=AUGUST, cost_incl_vat_cents=100_000,
                                 quantity=1)
    assert (estimate.known, estimate.amount_cents) == (False, 0)
    assert "onbekend" in estimate.reason


def test_staff_create_and_edit_their_own_rules_but_not_shared_or_others(
    db_session: Session,
) -> None:
    organisation = factories.make_organisation(db_session)
    shared = rule(db_session)
    rule_in = premiums.parse_rule_input({
        "measure": "roof_insulation", "income_category": "cat2", "kind": "per_unit",
        "rate": "800", "cap_cents": "200000", "valid_from": "2025-01-01",
        "source_url": "https://www.vlaanderen.be/mijn-verbouwpremie"})
    created = premiums.create_rule(db_session, staff(organisation.id), rule_in)
    assert created.organisation_id == organisation.id and created.is_example is False
    with pytest.raises(NotFound):
        premiums.update_rule(db_session, staff(organisation.id), shared.id, rule_in)
    with pytest.raises(NotFound):
        premiums.delete_rule(db_session, staff(factories.make_organisation(db_session).id),
                             created.id)
    premiums.delete_rule(db_session, staff(organisation.id), created.id)
    assert db_session.get(PremiumRule, created.id) is None


def test_invalid_rule_input_names_the_field(db_session: Session) -> None:
    base = {"measure": "heat_pump", "income_category": "cat1", "kind": "percentage",
            "rate": 20, "valid_from": "2025-07-01"}
    cases = [({"rate": 120}, "rate"), ({"valid_to": "2025-01-01"}, "valid_to"),
             ({"measure": "spaceship"}, "measure"), ({"source_url": "ftp://x"}, "source_url"),
             ({"rate": -1}, "rate")]
    for change, field in cases:
        with pytest.raises(Invalid) as refused:
            premiums.parse_rule_input(base | change)
        assert refused.value.field == field, change


def test_example_rules_are_added_once_and_labelled_as_examples(db_session: Session) -> None:
    first = premiums.ensure_example_rules(db_session)
    again = premiums.ensure_example_rules(db_session)
    assert first == len(premiums.EXAMPLE_RULES) and again == 0
    examples = db_session.exec(select(PremiumRule).where(
        PremiumRule.measure.in_(["facade_insulation", "roof_insulation",  # type: ignore[attr-defined]
                                 "window_frames"]))).all()
    assert len(examples) == len(premiums.EXAMPLE_RULES)
    assert all(example.is_example and example.source_url for example in examples)
