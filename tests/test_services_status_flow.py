"""Moving participations through the works: who may move which, what is recorded, which steps
mail the resident, and the resident's own decision on the personal offer."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.models import (
    Batch,
    Campaign,
    Group,
    GroupMember,
    Household,
    Offer,
    OutboxMail,
    Participation,
    ParticipationEvent,
)
from app.models.enums import Role
from app.services.auth import Principal
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.participation_status import (
    PERSONAL_OFFER_DAYS,
    StatusChange,
    allowed_next_steps,
    decide_personal_offer,
    move_participation,
    today,
)
from app.services.status_flow import CONTRACTOR_STEPS, next_steps
from tests import factories


def staff_of(organisation_id: int) -> Principal:
    return Principal(role=Role.staff, session_id=0, user_id=None, organisation_id=organisation_id)


def contractor_principal(contractor_id: int) -> Principal:
    return Principal(role=Role.contractor, session_id=0, contractor_id=contractor_id)


def batch_with_participation(session: Session, status: str = "assigned"):  # type: ignore[no-untyped-def]
    """An offer's participation in a group assigned to the offer's contractor."""
    offer = factories.make_offer(session)
    participation = factories.make_participation(session, offer=offer, status=status)
    group = Group(campaign_id=offer.campaign_id, name="Straat A", kind="framework",
                  offer_id=offer.id, locked=True)
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, household_id=participation.household_id))
    batch = Batch(group_id=group.id, contractor_id=offer.contractor_id, offer_id=offer.id)
    session.add(batch)
    session.flush()
    return offer, participation, batch


def outbox(session: Session, purpose: str) -> list[OutboxMail]:
    return list(session.exec(select(OutboxMail).where(OutboxMail.purpose == purpose)).all())


def test_contractor_plans_a_visit_and_the_resident_is_mailed_with_the_date(
    db_session: Session,
) -> None:
    offer, participation, _ = batch_with_participation(db_session)
    visit = today() + timedelta(days=7)

    move_participation(db_session, contractor_principal(offer.contractor_id), participation.id,
                       StatusChange(status="visit_planned", note="Voormiddag",
                                    occurred_on=visit))

    assert participation.status == "visit_planned"
    event = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.participation_id == participation.id,
        ParticipationEvent.to_status == "visit_planned")).one()
    assert (event.from_status, event.occurred_on, event.note, event.actor_kind) == (
        "assigned", visit, "Voormiddag", "contractor")
    [mail] = outbox(db_session, "status_update")
    assert mail.household_id == participation.household_id
    assert mail.context["visit_date"]
    assert mail.recipient is None  # the sender looks the address up; no personal data stored


def test_personal_offer_stores_amount_and_deadline_and_mails_the_resident(
    db_session: Session,
) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="measured")
    deadline = today() + timedelta(days=14)

    move_participation(db_session, contractor_principal(offer.contractor_id), participation.id,
                       StatusChange(status="offered", personal_offer_cents=512_345,
                                    personal_offer_deadline=deadline))

    assert (participation.personal_offer_cents, participation.personal_offer_deadline) == (
        512_345, deadline)
    [mail] = outbox(db_session, "personal_offer")
    assert mail.context["personal_offer_cents"] == 512_345


def test_personal_offer_without_deadline_gets_the_standard_term(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="measured")
    move_participation(db_session, staff_of(_org(db_session, offer)), participation.id,
                       StatusChange(status="offered", personal_offer_cents=100))
    assert participation.personal_offer_deadline == today() + timedelta(days=PERSONAL_OFFER_DAYS)


def test_measuring_records_the_measured_quantity(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="visit_planned")
    move_participation(db_session, contractor_principal(offer.contractor_id), participation.id,
                       StatusChange(status="measured", measured_quantity=52.25))
    assert participation.measured_quantity == 52.25
    assert outbox(db_session, "status_update") == []  # no action needed from the resident


def test_refused_transition_is_a_conflict_and_changes_nothing(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session)
    with pytest.raises(Conflict):
        move_participation(db_session, contractor_principal(offer.contractor_id),
                           participation.id, StatusChange(status="completed"))
    assert participation.status == "assigned"


def test_contractor_may_not_set_the_residents_decision(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="offered")
    with pytest.raises(Forbidden):
        move_participation(db_session, contractor_principal(offer.contractor_id),
                           participation.id, StatusChange(status="accepted"))
    assert participation.status == "offered"


def test_staff_records_acceptance_on_the_residents_behalf(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="offered")
    move_participation(db_session, staff_of(_org(db_session, offer)), participation.id,
                       StatusChange(status="accepted", note="Telefonisch bevestigd"))
    assert participation.status == "accepted"


def test_cancelling_needs_a_reason(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session)
    with pytest.raises(Invalid) as refused:
        move_participation(db_session, contractor_principal(offer.contractor_id),
                           participation.id, StatusChange(status="cancelled"))
    assert refused.value.field == "note"


def test_measured_quantity_belongs_to_the_measured_step(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session)
    with pytest.raises(Invalid) as refused:
        move_participation(db_session, contractor_principal(offer.contractor_id),
                           participation.id,
                           StatusChange(status="visit_planned", measured_quantity=3))
    assert refused.value.field == "measured_quantity"
    assert participation.status == "assigned"


def test_another_contractor_and_another_organisation_get_not_found(db_session: Session) -> None:
    _, participation, _ = batch_with_participation(db_session)
    stranger = factories.make_contractor(db_session)
    with pytest.raises(NotFound):
        move_participation(db_session, contractor_principal(stranger.id), participation.id,
                           StatusChange(status="visit_planned"))
    with pytest.raises(NotFound):
        move_participation(db_session, staff_of(stranger.organisation_id), participation.id,
                           StatusChange(status="visit_planned"))


def test_contractor_of_a_batch_cannot_move_the_households_other_sign_ups(
    db_session: Session,
) -> None:
    offer, participation, _ = batch_with_participation(db_session)
    household = db_session.get(Household, participation.household_id)
    other_offer = factories.make_offer(db_session, campaign=db_session.get(
        Campaign, offer.campaign_id), measure="roof_insulation")
    other = factories.make_participation(db_session, household=household, offer=other_offer,
                                         status="assigned")
    with pytest.raises(NotFound):
        move_participation(db_session, contractor_principal(offer.contractor_id), other.id,
                           StatusChange(status="visit_planned"))


def test_contractor_sees_only_its_own_next_steps() -> None:
    assert set(next_steps("offered", contractor=True)) == {"cancelled"}
    assert set(next_steps("offered")) == {"accepted", "declined", "cancelled"}
    assert set(next_steps("assigned", contractor=True)) <= CONTRACTOR_STEPS


def test_allowed_next_steps_depend_on_the_role(db_session: Session) -> None:
    offer, participation, _ = batch_with_participation(db_session, status="offered")
    assert allowed_next_steps(contractor_principal(offer.contractor_id), participation) == [
        "cancelled"]


def test_resident_accepts_their_personal_offer(db_session: Session) -> None:
    _, participation, _ = batch_with_participation(db_session, status="offered")
    participation.personal_offer_deadline = today() + timedelta(days=3)

    decide_personal_offer(db_session, participation.household_id, participation.id, True)

    stored = db_session.get(Participation, participation.id)
    assert stored is not None and stored.status == "accepted"
    event = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.participation_id == participation.id,
        ParticipationEvent.to_status == "accepted")).one()
    assert event.actor_kind == "resident"


def test_resident_cannot_answer_after_the_deadline_or_for_another_household(
    db_session: Session,
) -> None:
    _, participation, _ = batch_with_participation(db_session, status="offered")
    participation.personal_offer_deadline = today() - timedelta(days=1)
    with pytest.raises(Conflict):
        decide_personal_offer(db_session, participation.household_id, participation.id, False)
    other = factories.make_household(db_session)
    with pytest.raises(NotFound):
        decide_personal_offer(db_session, other.id, participation.id, False)
    assert participation.status == "offered"


def _org(session: Session, offer: Offer) -> int:
    campaign = session.get(Campaign, offer.campaign_id)
    assert campaign is not None
    return campaign.organisation_id
