"""Sign-up rules without HTTP: capacity, the waitlist, withdrawal, dedup by address, refusals."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import Household, OutboxMail, Participation, ParticipationEvent
from app.services import offers_public, postcodes, signups
from app.services.errors import Conflict, NotFound
from app.services.households import address_key
from app.services.status_flow import Actor, change_status
from tests.factories import make_campaign, make_offer, make_participation

RESIDENT = Actor("resident")


def form(number: int | str = 1, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "An Peeters", "email": f"an{number}@example.be", "phone": "",
        "street": "Torhoutsesteenweg", "house_number": str(number), "box": "",
        "postcode": "8400", "city": "", "quantity": "48,5", "consent": "true",
        "share_contact_with_contractor": "true",
    }
    values.update(overrides)
    return values


def statuses(session: Session, offer_id: int) -> list[str]:
    return list(session.exec(
        select(Participation.status).where(Participation.offer_id == offer_id)
        .order_by(col(Participation.id))
    ).all())


def test_signup_is_registered_with_consent_recorded_and_confirmation_queued(
    db_session: Session,
) -> None:
    offer = make_offer(db_session, capacity=5)
    result = signups.sign_up(db_session, offer.id, form(12, box="bus 3"))
    participation, household = result.participation, result.household
    assert participation.status == "registered" and result.waitlist_position is None
    assert participation.quantity == 48.5 and participation.measure == "facade_insulation"
    assert household.city == "Oostende" and household.source == "online"
    assert household.address_key == "torhoutsesteenweg|12|3|8400"
    assert household.privacy_consent_version == "2026-01"
    assert household.privacy_consented_at is not None
    assert household.share_contact_with_contractor is True
    events = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.participation_id == participation.id)).all()
    assert [(e.from_status, e.to_status, e.actor_kind) for e in events] == [
        (None, "registered", "resident")]
    mails = db_session.exec(select(OutboxMail).where(OutboxMail.household_id == household.id)).all()
    assert [mail.purpose for mail in mails] == ["signup_confirmation"]
    assert mails[0].context["status"] == "registered"


def test_capacity_boundary_puts_the_next_signup_on_the_waitlist(db_session: Session) -> None:
    offer = make_offer(db_session, capacity=2)
    results = [signups.sign_up(db_session, offer.id, form(n)) for n in range(1, 5)]
    assert [r.participation.status for r in results] == [
        "registered", "registered", "waitlisted", "waitlisted"]
    assert [r.waitlist_position for r in results] == [None, None, 1, 2]
    listing = offers_public.list_offers(db_session, offer_campaign(db_session, offer))[0]
    assert (listing.participants, listing.waitlisted, listing.remaining) == (2, 2, 0)


def offer_campaign(session: Session, offer: Any) -> Any:
    from app.models import Campaign
    return session.get(Campaign, offer.campaign_id)


def test_waitlist_positions_close_up_after_a_waitlisted_withdrawal(db_session: Session) -> None:
    offer = make_offer(db_session, capacity=1)
    results = [signups.sign_up(db_session, offer.id, form(n)) for n in range(1, 6)]
    waiting = [r.participation for r in results[1:]]
    signups.withdraw(db_session, waiting[1], RESIDENT)
    positions = [signups.waitlist_position(db_session, p) for p in waiting]
    assert positions == [1, None, 2, 3]
    assert waiting[1].status == "cancelled"
    assert waiting[1].cancel_reason == "Ingetrokken door bewoner"
    by_household = signups.waitlist_positions(db_session, waiting[3].household_id)
    assert by_household == {waiting[3].id: 3}


def test_withdrawing_a_registered_signup_promotes_the_oldest_waitlisted_and_mails_them(
    db_session: Session,
) -> None:
    offer = make_offer(db_session, capacity=2)
    first, _second, third, fourth = (
        signups.sign_up(db_session, offer.id, form(n)).participation for n in range(1, 5))
    signups.withdraw(db_session, first, RESIDENT)
    assert statuses(db_session, offer.id) == ["cancelled", "registered", "registered", "waitlisted"]
    assert signups.waitlist_position(db_session, fourth) == 1
    promoted_mail = db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "waitlist_promoted")).all()
    assert [mail.household_id for mail in promoted_mail] == [third.household_id]
    event = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.participation_id == third.id,
        ParticipationEvent.to_status == "registered")).one()
    assert event.from_status == "waitlisted"


def test_withdrawing_twice_is_refused(db_session: Session) -> None:
    offer = make_offer(db_session, capacity=2)
    participation = signups.sign_up(db_session, offer.id, form(1)).participation
    signups.withdraw(db_session, participation, RESIDENT)
    with pytest.raises(Conflict):
        signups.withdraw(db_session, participation, RESIDENT)


def test_a_new_signup_does_not_jump_a_waitlist_when_a_place_freed_without_promotion(
    db_session: Session,
) -> None:
    offer = make_offer(db_session, capacity=1)
    first = signups.sign_up(db_session, offer.id, form(1)).participation
    waiting = signups.sign_up(db_session, offer.id, form(2)).participation
    change_status(db_session, first, "cancelled", actor=Actor("staff"), note="verhuisd")
    late = signups.sign_up(db_session, offer.id, form(3))
    assert waiting.status == "registered"
    assert late.participation.status == "waitlisted" and late.waitlist_position == 1


def test_same_address_twice_by_its_own_resident_is_refused_and_the_link_is_sent_again(
    db_session: Session,
) -> None:
    offer = make_offer(db_session)
    first = signups.sign_up(db_session, offer.id, form(7))
    with pytest.raises(Conflict) as refused:
        signups.sign_up(db_session, offer.id, form(7, street=" torhoutsesteenweg ",
                                                    house_number="7 ", email="x@example.be"),
                        proven_household_id=first.household.id)
    assert "al ingeschreven" in refused.value.message
    assert len(statuses(db_session, offer.id)) == 1
    purposes = db_session.exec(select(OutboxMail.purpose).order_by(col(OutboxMail.id))).all()
    assert list(purposes)[-1] == "magic_link"


def test_same_address_twice_by_someone_else_is_answered_as_any_signup_and_adds_nothing(
    db_session: Session,
) -> None:
    offer = make_offer(db_session)
    signups.sign_up(db_session, offer.id, form(7))
    again = signups.sign_up(db_session, offer.id, form(7, street=" torhoutsesteenweg ",
                                                        house_number="7 ", email="x@example.be"))
    assert again.participation is None and again.claim is not None
    assert again.claim.already_signed_up
    assert len(statuses(db_session, offer.id)) == 1
    mails = db_session.exec(select(OutboxMail).order_by(col(OutboxMail.id))).all()
    # The household is told on its own address; the signer gets the usual confirmation.
    assert [(m.purpose, m.recipient) for m in mails[-2:]] == [
        ("claim_notice", None), ("signup_confirmation", "x@example.be")]


def test_another_offer_by_a_stranger_at_a_known_address_changes_nothing_in_the_household(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    first_offer = make_offer(db_session, campaign=campaign)
    second_offer = make_offer(db_session, campaign=campaign, measure="window_frames", unit="piece")
    first = signups.sign_up(db_session, first_offer.id, form(3, phone="", email="an@example.be",
                                                             share_contact_with_contractor=""))
    consented_at = first.household.privacy_consented_at
    second = signups.sign_up(db_session, second_offer.id, form(
        3, email="someone.else@example.be", phone="0470 12 34 56", tenure="landlord",
        share_contact_with_contractor="true"))
    assert second.claim is not None and second.participation is None
    household = db_session.get(Household, first.household.id)
    assert household is not None
    assert (household.email, household.phone, household.tenure) == ("an@example.be", None, None)
    assert household.share_contact_with_contractor is False
    assert household.privacy_consented_at == consented_at
    assert statuses(db_session, second_offer.id) == []
    count = db_session.exec(select(Household).where(Household.campaign_id == campaign.id)).all()
    assert len(count) == 1


def test_signing_up_for_another_offer_as_the_household_reuses_it_and_fills_blanks_only(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    first_offer = make_offer(db_session, campaign=campaign)
    second_offer = make_offer(db_session, campaign=campaign, measure="window_frames", unit="piece")
    first = signups.sign_up(db_session, first_offer.id, form(3, phone="", email="an@example.be"))
    second = signups.sign_up(db_session, second_offer.id, form(
        3, email="someone.else@example.be", phone="0470 12 34 56", tenure="landlord"),
        proven_household_id=first.household.id)
    assert first.household.id == second.household.id
    household = db_session.get(Household, first.household.id)
    assert household is not None
    assert household.email == "an@example.be"
    assert household.phone == "+32470123456"
    assert household.tenure == "landlord"
    count = db_session.exec(select(Household).where(Household.campaign_id == campaign.id)).all()
    assert len(count) == 1


def test_refusals_name_each_failing_field(db_session: Session) -> None:
    campaign = make_campaign(db_session, streets=["Torhoutsesteenweg"])
    offer = make_offer(db_session, campaign=campaign)
    with pytest.raises(signups.SignupInvalid) as refused:
        signups.sign_up(db_session, offer.id, form(
            1, name=" ", email="an@", phone="12", postcode="9000", consent="",
            quantity="-2", dwelling_type="castle", build_year="1200"))
    assert set(refused.value.errors) == {
        "name", "email", "phone", "postcode", "consent", "quantity", "dwelling_type",
        "build_year"}
    assert "privacyverklaring" in refused.value.errors["consent"]
    assert refused.value.field == "household.name"
    with pytest.raises(signups.SignupInvalid) as outside:
        signups.sign_up(db_session, offer.id, form(1, street="Kerkstraat"))
    assert "straat hoort niet bij deze wijk" in outside.value.errors["street"]
    with pytest.raises(signups.SignupInvalid) as no_contact:
        signups.sign_up(db_session, offer.id, form(1, email="", phone=""))
    assert list(no_contact.value.errors) == ["email"]
    assert statuses(db_session, offer.id) == []


def test_signup_without_email_queues_no_mail_and_keeps_the_phone(db_session: Session) -> None:
    offer = make_offer(db_session)
    result = signups.sign_up(db_session, offer.id, form(4, email="", phone="050 33 44 55"))
    assert result.household.email is None and result.household.phone == "+3250334455"
    assert db_session.exec(select(OutboxMail)).all() == []


@pytest.mark.parametrize(
    ("overrides", "campaign_status", "message"),
    [
        ({"signup_opens_at": datetime.now(UTC) + timedelta(days=2)}, "open", "nog niet begonnen"),
        ({"signup_opens_at": datetime.now(UTC) - timedelta(days=9),
          "signup_closes_at": datetime.now(UTC) - timedelta(days=1)}, "open", "afgesloten"),
        ({}, "closed", "geen inschrijvingen"),
    ],
)
def test_signup_outside_the_window_or_in_a_closed_wijk_is_refused(
    db_session: Session, overrides: dict[str, Any], campaign_status: str, message: str
) -> None:
    campaign = make_campaign(db_session, status=campaign_status)
    offer = make_offer(db_session, campaign=campaign, **overrides)
    with pytest.raises(Conflict) as refused:
        signups.sign_up(db_session, offer.id, form(1))
    assert message in refused.value.message


def test_offer_of_a_draft_campaign_does_not_exist_for_the_public(db_session: Session) -> None:
    offer = make_offer(db_session, campaign=make_campaign(db_session, status="draft"))
    with pytest.raises(NotFound):
        signups.sign_up(db_session, offer.id, form(1))


def test_listing_counts_places_waitlist_and_price_tiers(db_session: Session) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=3,
                       tiers=[(0, 12000), (2, 10800), (5, 9800)])
    for status in ("registered", "assigned", "waitlisted", "cancelled", "declined"):
        make_participation(db_session, offer=offer, status=status)
    make_offer(db_session, campaign=campaign, lot="2", capacity=10)
    first, second = offers_public.list_offers(db_session, campaign)
    data = first.as_json()
    assert (data["participants"], data["waitlisted"], data["remaining"]) == (2, 1, 1)
    assert data["current_unit_price_cents"] == 10800
    assert data["next_tier"] == {"min_participants": 5, "unit_price_cents": 9800}
    assert data["status"] == "open" and data["contractor"]["name"].startswith("Gevelwerken")
    assert first.signups_to_next_tier == 3
    assert (second.participants, second.waitlisted, second.remaining) == (0, 0, 10)


def test_confirmation_ref_is_signed_and_carries_the_answer_not_an_id(
    db_session: Session,
) -> None:
    offer = make_offer(db_session)
    participation = signups.sign_up(db_session, offer.id, form(1)).participation
    assert participation is not None and participation.id is not None
    receipt = signups.SignupReceipt(participation_id=participation.id, offer_id=offer.id,
                                    household_id=participation.household_id,
                                    status="registered", waitlist_position=None, mailed=True)
    ref = signups.confirmation_ref(receipt)
    assert str(participation.id) not in ref.split(".")[0] or len(ref) > 20
    found = signups.read_confirmation_ref(ref)
    assert found == signups.Confirmation(offer_id=offer.id, status="registered",
                                         waitlist_position=None, mailed=True)
    text, _, _signature = ref.partition(".")
    assert signups.read_confirmation_ref(f"{text}.forged") is None
    assert signups.read_confirmation_ref("nonsense") is None
    assert signups.confirmation_ref(receipt) != ref  # a nonce: two refs never compare


def test_address_key_ignores_case_spacing_and_box_prefix() -> None:
    assert address_key(" Torhoutse  Steenweg", "12 a", "Bus 3", "8400") == \
        address_key("torhoutse steenweg", "12A", "3", " 8400")


def test_postcode_lookup_gives_the_municipality_or_none() -> None:
    assert postcodes.municipality_for("8500") == "Kortrijk"
    assert postcodes.municipality_for("B-8000") == "Brugge"
    assert postcodes.municipality_for("9999") is None
