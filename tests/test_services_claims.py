"""The identity rule without HTTP (app.services.claims): an address counts a household but never
opens it. A sign-up at a known address from an unproven contact is a claim that changes nothing
until the household's own channel or staff confirm it."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import (
    AuditEvent,
    ClaimToken,
    Household,
    HouseholdClaim,
    MagicLinkToken,
    OutboxMail,
    Participation,
)
from app.models.enums import Role
from app.services import claims, offers_public, residents, signups
from app.services.auth import Principal
from app.services.errors import Conflict, NotFound, Unauthorized
from app.services.mail import render_mail
from tests.factories import make_campaign, make_household, make_offer, make_participation


def form(number: int | str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Vreemde", "email": "attacker@example.org", "phone": "",
        "street": "Duinenstraat", "house_number": str(number), "box": "", "postcode": "8400",
        "quantity": "40", "consent": "true", "share_contact_with_contractor": "true",
    }
    values.update(overrides)
    return values


def staff_of(campaign: Any) -> Principal:
    return Principal(role=Role.staff, session_id=0, user_id=None,
                     organisation_id=campaign.organisation_id)


def phone_only_household(session: Session, campaign: Any, number: int = 78) -> Household:
    return make_household(session, campaign=campaign, email=None, phone="+3259123456",
                          street="Duinenstraat", house_number=str(number), source="paper",
                          share_contact_with_contractor=False)


def link_in(session: Session, mail: OutboxMail) -> str:
    message = render_mail(session, mail)
    assert message is not None
    session.flush()
    body = message.get_payload()
    assert isinstance(body, str)
    found = re.search(r"https?://\S+/(?:r|adres-bevestigen)/(\S+)", body)
    assert found, body
    return found.group(1)


def test_a_strangers_signup_at_a_phone_only_address_changes_nothing_and_opens_nothing(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    victim = phone_only_household(db_session, campaign)
    before = victim.model_dump()

    result = signups.sign_up(db_session, offer.id, form(78))  # type: ignore[arg-type]

    assert result.participation is None and result.claim is not None
    assert result.claim.household_id == victim.id and result.claim.held_status == "registered"
    db_session.refresh(victim)
    assert victim.model_dump() == before  # no email, no consent, nothing at all
    assert db_session.exec(select(Participation).where(
        Participation.household_id == victim.id)).all() == []
    # The stranger's email opens nothing: no household has it.
    assert residents.request_magic_link(db_session, email="attacker@example.org") == 0
    # The household has no email: it is on the staff's queue, to be called.
    items, total = claims.pending_claims(db_session, staff_of(campaign))
    assert total == 1 and items[0].needs_call and items[0].household.id == victim.id
    assert "bel" in items[0].reason


def test_the_stranger_gets_the_mail_of_any_signup_and_its_link_opens_only_their_claim(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    phone_only_household(db_session, campaign)
    signups.sign_up(db_session, offer.id, form(78))  # type: ignore[arg-type]
    fresh = signups.sign_up(db_session, offer.id, form(  # type: ignore[arg-type]
        79, email="new@example.org"))
    assert fresh.participation is not None
    mails = {mail.recipient or "household": mail for mail in db_session.exec(
        select(OutboxMail).where(OutboxMail.purpose == "signup_confirmation")).all()}
    claim_message = render_mail(db_session, mails["attacker@example.org"])
    fresh_message = render_mail(db_session, mails["household"])
    assert claim_message is not None and fresh_message is not None
    assert claim_message["Subject"] == fresh_message["Subject"]
    strip = re.compile(r"/r/\S+")
    assert (strip.sub("/r/TOKEN", str(claim_message.get_payload()))
            == strip.sub("/r/TOKEN", str(fresh_message.get_payload())).replace(
                "new@example.org", "attacker@example.org"))
    token = link_in(db_session, mails["attacker@example.org"])
    # Not a log-in link: it does not open a household, whatever is tried with it.
    assert db_session.exec(select(MagicLinkToken)).all() == [] or all(
        row.household_id == fresh.household.id for row in db_session.exec(
            select(MagicLinkToken)).all())
    with pytest.raises(Unauthorized):
        residents.log_in_with_magic_link(db_session, token=token, ip="192.0.2.9", kind="api")
    shown = claims.use_token(db_session, token, "receipt")
    assert shown is not None and shown.details["email"] == "attacker@example.org"
    assert claims.use_token(db_session, token, "receipt") is None  # once


def test_the_household_confirms_from_its_own_mail_and_the_signup_takes_the_place_held(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=5)
    household = make_household(db_session, campaign=campaign, email="eigen@example.be",
                               phone=None, street="Duinenstraat", house_number="12")
    result = signups.sign_up(db_session, offer.id, form(  # type: ignore[arg-type]
        12, name="Partner", email="partner@example.be", phone="0470 11 22 33"))
    assert result.claim is not None
    notice = db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "claim_notice")).one()
    assert notice.household_id == household.id  # told on its own address, not the stranger's
    token = link_in(db_session, notice)

    claim = claims.decide_by_household(db_session, token=token, confirm=True)

    assert claim.status == "confirmed" and claim.participation_id is not None
    participation = db_session.get(Participation, claim.participation_id)
    assert participation is not None and participation.household_id == household.id
    assert participation.status == "registered"
    assert participation.created_at == result.claim.created_at  # its place in line
    db_session.refresh(household)
    assert household.email == "eigen@example.be"  # the household's own address stays
    assert household.phone == "+32470112233"  # a blank, filled in once the household agreed
    assert claim.details == {}  # the typed details are not kept once decided
    with pytest.raises(NotFound):
        claims.decide_by_household(db_session, token=token, confirm=False)
    assert db_session.exec(select(AuditEvent.action).where(
        AuditEvent.household_id == household.id)).all() == ["claim.confirmed"]


def test_a_claim_holds_its_place_and_a_refusal_gives_it_to_the_waitlist(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=2)
    first = make_household(db_session, campaign=campaign, street="Duinenstraat",
                           house_number="1")
    make_participation(db_session, household=first, offer=offer)
    claim = signups.sign_up(db_session, offer.id, form(1)).claim  # type: ignore[arg-type]
    assert claim is not None and claim.already_signed_up and claim.held_status == "registered"
    later = signups.sign_up(db_session, offer.id, form(  # type: ignore[arg-type]
        2, email="later@example.be"))
    assert later.participation is not None and later.participation.status == "waitlisted"
    listing = offers_public.list_offers(db_session, offer_campaign(db_session, offer))[0]
    assert (listing.participants, listing.waitlisted) == (2, 1)

    claims.decide_by_staff(db_session, staff_of(campaign), claim.id,  # type: ignore[arg-type]
                           decision="reject", note="gebeld: niemand van het gezin")

    db_session.refresh(later.participation)
    assert later.participation.status == "registered"
    listing = offers_public.list_offers(db_session, offer_campaign(db_session, offer))[0]
    assert (listing.participants, listing.waitlisted) == (2, 0)
    assert signups.places_held(db_session, offer.id) == 2  # type: ignore[arg-type]


def offer_campaign(session: Session, offer: Any) -> Any:
    from app.models import Campaign

    return session.get(Campaign, offer.campaign_id)


def test_staff_confirm_a_phone_only_claim_after_calling_and_only_in_their_organisation(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    elsewhere = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    household = phone_only_household(db_session, campaign)
    claim = signups.sign_up(db_session, offer.id, form(  # type: ignore[arg-type]
        78, email="", phone="0470 99 88 77", name="Zoon")).claim
    assert claim is not None and claim.id is not None
    with pytest.raises(NotFound):
        claims.decide_by_staff(db_session, staff_of(elsewhere), claim.id, decision="confirm")
    assert claims.pending_claims(db_session, staff_of(elsewhere)) == ([], 0)

    decided = claims.decide_by_staff(db_session, staff_of(campaign), claim.id,
                                     decision="confirm", note="gebeld met mevrouw")

    assert decided.status == "confirmed" and decided.decided_via == "staff"
    assert decided.decision_note == "gebeld met mevrouw"
    participation = db_session.get(Participation, decided.participation_id)
    assert participation is not None and participation.household_id == household.id
    with pytest.raises(Conflict):
        claims.decide_by_staff(db_session, staff_of(campaign), claim.id, decision="reject")


def test_an_expired_claim_holds_no_place_and_cannot_be_confirmed(db_session: Session) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=1)
    phone_only_household(db_session, campaign)
    claim = signups.sign_up(db_session, offer.id, form(78)).claim  # type: ignore[arg-type]
    assert claim is not None and claim.id is not None
    assert signups.places_held(db_session, offer.id) == 1  # type: ignore[arg-type]
    claim.created_at = datetime.now(UTC) - timedelta(days=claims.CLAIM_DAYS, minutes=1)
    db_session.add(claim)
    db_session.flush()
    assert signups.places_held(db_session, offer.id) == 0  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        claims.decide_by_staff(db_session, staff_of(campaign), claim.id, decision="confirm")
    rejected = claims.decide_by_staff(db_session, staff_of(campaign), claim.id,
                                      decision="reject")
    assert rejected.status == "rejected"


def test_the_households_own_resident_and_staff_intake_are_not_claims(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    other = make_offer(db_session, campaign=campaign, measure="window_frames", unit="piece")
    household = phone_only_household(db_session, campaign)
    own = signups.sign_up(db_session, offer.id, form(78),  # type: ignore[arg-type]
                          proven_household_id=household.id)
    paper = signups.sign_up(db_session, other.id, form(78, email="", phone="059123456"),  # type: ignore[arg-type]
                            actor=signups.status_flow.Actor("staff"), source="paper")
    assert own.participation is not None and paper.participation is not None
    assert own.claim is None and paper.claim is None
    assert db_session.exec(select(HouseholdClaim)).all() == []


def test_erasing_a_household_erases_the_claims_at_its_address(db_session: Session) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    household = make_household(db_session, campaign=campaign, street="Duinenstraat",
                               house_number="5")
    signups.sign_up(db_session, offer.id, form(5))  # type: ignore[arg-type]
    notice = db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "claim_notice")).one()
    link_in(db_session, notice)
    assert db_session.exec(select(ClaimToken)).all()
    residents.erase_household(db_session, Principal(
        role=Role.resident, session_id=0, household_id=household.id))
    assert db_session.exec(select(HouseholdClaim).where(
        col(HouseholdClaim.household_id) == household.id)).all() == []
    assert db_session.exec(select(ClaimToken)).all() == []
