"""Offer rules without HTTP: tier validation, own contractors only, the sign-up window, and
edits that may only go the residents' way unless confirmed (then applied with their effect)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from app.models import Participation, ParticipationEvent, PriceTier
from app.models.enums import Role
from app.services import offers
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from tests.factories import (
    make_campaign,
    make_contractor,
    make_offer,
    make_participation,
    make_user,
)


def principal_of(user) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(role=Role(user.role), session_id=0, user_id=user.id,
                     organisation_id=user.organisation_id, email=user.email)


def tiers(*pairs: tuple[int, int]) -> list[offers.PriceTierIn]:
    return [offers.PriceTierIn(min_participants=n, unit_price_cents=p) for n, p in pairs]


@pytest.mark.parametrize(("pairs", "problem"), [
    ((), "minstens één"),
    (((1, 100),), "vanaf 0"),
    (((0, 100), (10, 100), (10, 90)), "meer deelnemers"),
    (((0, 100), (10, 101)), "niet duurder"),
])
def test_price_tiers_must_start_at_zero_rise_in_threshold_and_not_in_price(
    pairs: tuple[tuple[int, int], ...], problem: str
) -> None:
    assert problem in (offers.tier_problem(tiers(*pairs)) or "")


def test_equal_prices_over_tiers_are_allowed() -> None:
    assert offers.tier_problem(tiers((0, 100), (10, 100), (20, 90))) is None


def test_offer_input_refuses_vat_rates_other_than_6_or_21() -> None:
    with pytest.raises(ValidationError) as error:
        offers.OfferUpdate(vat_rate=12)
    assert error.value.errors()[0]["loc"] == ("vat_rate",)


def _create(db_session: Session, staff, contractor_id: int, **overrides: object):  # type: ignore[no-untyped-def]
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "measure": "roof_insulation", "title": "Dakisolatie", "contractor_id": contractor_id,
        "unit": "m2", "price_tiers": tiers((0, 6800), (20, 6300)), "vat_rate": 6,
        "capacity": 50, "signup_opens_at": now, "signup_closes_at": now + timedelta(days=30),
    }
    values.update(overrides)
    return campaign, offers.create_offer(db_session, principal_of(staff), campaign.slug,
                                         offers.OfferCreate.model_validate(values))


def test_create_offer_stores_tiers_and_bumps_the_campaign_version(db_session: Session) -> None:
    staff = make_user(db_session)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    campaign, offer = _create(db_session, staff, contractor.id)
    stored = db_session.exec(select(PriceTier).where(PriceTier.offer_id == offer.id)).all()
    assert sorted((t.min_participants, t.unit_price_cents) for t in stored) == [
        (0, 6800), (20, 6300)]
    assert campaign.content_version == 1


def test_offer_contractor_must_be_of_the_own_organisation(db_session: Session) -> None:
    staff = make_user(db_session)
    with pytest.raises(Invalid) as error:
        _create(db_session, staff, make_contractor(db_session).id)
    assert error.value.field == "contractor_id"


def test_window_must_close_after_it_opens(db_session: Session) -> None:
    staff = make_user(db_session)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    now = datetime.now(UTC)
    with pytest.raises(Invalid) as error:
        _create(db_session, staff, contractor.id, signup_opens_at=now, signup_closes_at=now)
    assert error.value.field == "signup_closes_at"


def _offer_with_sign_ups(db_session: Session, staff, count: int, capacity: int):  # type: ignore[no-untyped-def]
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign, capacity=capacity,
                       tiers=[(0, 12000), (3, 10000)])
    base = datetime.now(UTC) - timedelta(days=1)
    sign_ups = [make_participation(db_session, offer=offer,
                                   created_at=base + timedelta(minutes=i),
                                   status="registered" if i < capacity else "waitlisted")
                for i in range(count)]
    return offer, sign_ups


def test_changes_that_help_residents_need_no_confirmation(db_session: Session) -> None:
    staff = make_user(db_session)
    offer, _ = _offer_with_sign_ups(db_session, staff, 3, 5)
    change = offers.update_offer(db_session, principal_of(staff), offer.id, offers.OfferUpdate(
        capacity=10, price_tiers=tiers((0, 11000), (3, 9000)),
        signup_closes_at=offer.signup_closes_at + timedelta(days=10)))
    assert change.effects == [] and offer.capacity == 10


@pytest.mark.parametrize(("update", "effect"), [
    ({"price_tiers": tiers((0, 12000), (3, 10500))}, "stijgt de prijs van"),
    ({"price_tiers": tiers((0, 12000))}, "stijgt de prijs van"),
    ({"vat_rate": 21}, "btw-tarief stijgt"),
    ({"capacity": 4}, "capaciteit daalt"),
    ({"measure": "heat_pump"}, "maatregel verandert"),
])
def test_changes_that_hurt_residents_are_explained_and_refused_without_confirm(
    db_session: Session, update: dict[str, object], effect: str
) -> None:
    staff = make_user(db_session)
    offer, _ = _offer_with_sign_ups(db_session, staff, 3, 5)
    with pytest.raises(offers.NeedsConfirmation) as refused:
        offers.update_offer(db_session, principal_of(staff), offer.id,
                            offers.OfferUpdate.model_validate(update))
    assert any(effect in text for text in refused.value.effects), refused.value.effects
    assert refused.value.status_code == 409


def test_shortening_the_window_is_explained(db_session: Session) -> None:
    staff = make_user(db_session)
    offer, _ = _offer_with_sign_ups(db_session, staff, 1, 5)
    with pytest.raises(offers.NeedsConfirmation) as refused:
        offers.update_offer(db_session, principal_of(staff), offer.id, offers.OfferUpdate(
            signup_closes_at=offer.signup_closes_at - timedelta(days=1)))
    assert "sluit vroeger" in refused.value.effects[0]


def test_confirmed_lower_capacity_moves_the_newest_registered_to_the_waitlist(
    db_session: Session,
) -> None:
    staff = make_user(db_session)
    offer, sign_ups = _offer_with_sign_ups(db_session, staff, 4, 4)
    change = offers.update_offer(db_session, principal_of(staff), offer.id,
                                 offers.OfferUpdate(capacity=2, confirm=True))
    assert any("2 inschrijving(en) gaan naar de wachtlijst" in e for e in change.effects)
    assert [p.status for p in sign_ups] == ["registered", "registered", "waitlisted", "waitlisted"]
    history = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.participation_id == sign_ups[3].id,
        ParticipationEvent.to_status == "waitlisted")).one()
    assert history.actor_kind == "staff" and history.actor_user_id == staff.id


def test_capacity_cannot_drop_below_places_already_assigned(db_session: Session) -> None:
    staff = make_user(db_session)
    offer, sign_ups = _offer_with_sign_ups(db_session, staff, 3, 3)
    for participation in sign_ups:
        participation.status = "assigned"
    db_session.flush()
    with pytest.raises(Invalid) as error:
        offers.update_offer(db_session, principal_of(staff), offer.id,
                            offers.OfferUpdate(capacity=1, confirm=True))
    assert error.value.field == "capacity"


def test_raising_capacity_promotes_the_waitlist(db_session: Session) -> None:
    staff = make_user(db_session)
    offer, sign_ups = _offer_with_sign_ups(db_session, staff, 4, 2)
    offers.update_offer(db_session, principal_of(staff), offer.id,
                        offers.OfferUpdate(capacity=3))
    statuses = [db_session.get(Participation, p.id).status for p in sign_ups]  # type: ignore[union-attr]
    assert statuses == ["registered", "registered", "registered", "waitlisted"]


def test_another_organisations_offer_is_not_found(db_session: Session) -> None:
    offer = make_offer(db_session)
    with pytest.raises(NotFound):
        offers.update_offer(db_session, principal_of(make_user(db_session)), offer.id,
                            offers.OfferUpdate(title="Overgenomen"))
