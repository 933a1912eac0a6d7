"""Klimaattafel answers, the suppressed public summary, and the energy-bill median."""

import pytest
from sqlmodel import Session, select

from app.models import Interest, InterestSubmission
from app.services import interests
from tests import factories


def answer(session: Session, campaign: object, answers: list[tuple[str, str]], **kwargs: object
           ) -> InterestSubmission:
    return interests.submit_interests(session, campaign, postcode="8400",  # type: ignore[arg-type]
                                      street="Kerkstraat", answers=answers, **kwargs)  # type: ignore[arg-type]


def test_summary_has_every_cell_and_hides_those_under_five(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    for _ in range(5):
        answer(db_session, campaign, [("solar_pv", "1y"), ("heat_pump", "no")])
    for _ in range(4):
        answer(db_session, campaign, [("solar_pv", "5y")])

    cells = {(cell.measure, cell.horizon): cell.count
             for cell in interests.interest_summary(db_session, campaign)}

    assert len(cells) == len(interests.MEASURE_LABELS) * 3
    assert cells[("solar_pv", "1y")] == 5
    assert cells[("heat_pump", "no")] == 5
    assert cells[("solar_pv", "5y")] is None
    assert cells[("rainwater_tank", "1y")] is None


def test_summary_counts_only_this_wijk(db_session: Session) -> None:
    campaign, other = factories.make_campaign(db_session), factories.make_campaign(db_session)
    for _ in range(5):
        answer(db_session, other, [("depaving", "1y")])

    cells = {(cell.measure, cell.horizon): cell.count
             for cell in interests.interest_summary(db_session, campaign)}

    assert cells[("depaving", "1y")] is None


def test_typing_a_households_email_does_not_attach_answers_to_it(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    household = factories.make_household(db_session, campaign=campaign, email="an@example.be")

    submission = answer(db_session, campaign, [("facade_garden", "5y")], email="AN@example.be")

    assert submission.household_id is None
    stored = db_session.exec(select(Interest).where(
        Interest.submission_id == submission.id)).all()
    assert [(row.measure, row.horizon) for row in stored] == [("facade_garden", "5y")]
    assert interests.own_latest_answers(db_session, household.id, campaign) == {}


def test_answers_of_the_logged_in_resident_are_linked_to_their_household(
    db_session: Session,
) -> None:
    campaign = factories.make_campaign(db_session)
    household = factories.make_household(db_session, campaign=campaign, email="an@example.be")

    submission = interests.submit_interests(
        db_session, campaign, postcode="8400", street="Kerkstraat",
        answers=[("facade_garden", "5y")], household_id=household.id)

    assert submission.household_id == household.id
    assert interests.own_latest_answers(db_session, household.id, campaign) == {
        "facade_garden": "5y"}


def test_refused_answers_name_their_fields(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session, streets=["Kerkstraat"])

    with pytest.raises(interests.InterestsInvalid) as outside:
        interests.submit_interests(db_session, campaign, postcode="9000", street="Kerkstraat",
                                   answers=[("solar_pv", "1y")])
    with pytest.raises(interests.InterestsInvalid) as wrong_street:
        interests.submit_interests(db_session, campaign, postcode="8400", street="Dorpsplein",
                                   answers=[("solar_pv", "1y")])
    with pytest.raises(interests.InterestsInvalid) as twice:
        answer(db_session, campaign, [("solar_pv", "1y"), ("solar_pv", "no")])
    with pytest.raises(interests.InterestsInvalid) as bad_email:
        answer(db_session, campaign, [("solar_pv", "1y")], email="geen adres")

    assert set(outside.value.errors) == {"postcode"}
    assert set(wrong_street.value.errors) == {"street"}
    assert set(twice.value.errors) == {"answers"}
    assert set(bad_email.value.errors) == {"email"}
    assert db_session.exec(select(InterestSubmission).where(
        InterestSubmission.campaign_id == campaign.id)).all() == []


def test_energy_median_needs_five_households(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    mine = factories.make_household(db_session, campaign=campaign, energy_kwh_year=5000,
                                    energy_cost_cents_year=200000)
    for kwh in (3000, 3500, 4000):
        factories.make_household(db_session, campaign=campaign, energy_kwh_year=kwh,
                                 energy_cost_cents_year=kwh * 40)
    factories.make_household(db_session, energy_kwh_year=1000)  # another wijk
    assert interests.energy_comparison(db_session, mine) is None

    factories.make_household(db_session, campaign=campaign, energy_kwh_year=4500,
                             energy_cost_cents_year=180000)
    comparison = interests.energy_comparison(db_session, mine)

    assert comparison is not None
    assert comparison.households == 5
    assert comparison.median_kwh_year == 4000
    assert comparison.median_cost_cents_year == 160000
    assert comparison.kwh_difference_pct == pytest.approx(0.25)
