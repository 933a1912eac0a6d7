"""Group commit of sign-ups (`signups.sign_up_many` and the per-process `SignupWriter`): a batch
gives every sign-up the answer it would have had alone, in arrival order."""

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.models import Household, OutboxMail, Participation, ParticipationEvent
from app.services import signups
from app.services.errors import Conflict, NotFound
from app.services.signup_writer import SignupWriter
from tests.factories import make_campaign, make_offer, make_participation
from tests.test_services_signups import form


def request(offer_id: int, number: int | str, **overrides: object) -> signups.SignupRequest:
    return signups.SignupRequest(offer_id, form(number, **overrides))


def test_a_batch_answers_each_signup_as_if_it_came_alone(db_session: Session) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=2)
    closed = make_offer(db_session, campaign=campaign,
                        signup_opens_at=datetime.now(UTC) - timedelta(days=9),
                        signup_closes_at=datetime.now(UTC) - timedelta(days=1))
    outcomes = signups.sign_up_many(db_session, [
        request(offer.id, 1),
        request(offer.id, 2, email="niet-geldig"),
        request(offer.id, 3),
        request(offer.id, 1, name="Zelfde adres"),  # this batch already signed it up
        request(offer.id, 4),
        request(closed.id, 5),
        request(999_999, 6),
        request(offer.id, 7),
    ])
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == ["SignupReceipt", "SignupInvalid", "SignupReceipt", "SignupReceipt",
                     "SignupReceipt", "Conflict", "NotFound", "SignupReceipt"]
    assert isinstance(outcomes[1], signups.SignupInvalid) and set(outcomes[1].errors) == {"email"}
    assert isinstance(outcomes[5], Conflict) and outcomes[5].message == signups.MSG_CLOSED
    assert isinstance(outcomes[6], NotFound)
    # The address this batch already signed up is answered like the others, as a claim that
    # holds the first place on the waitlist (app.services.claims).
    claim = outcomes[3]
    assert isinstance(claim, signups.SignupReceipt) and claim.claim_id is not None
    assert (claim.status, claim.waitlist_position) == ("waitlisted", 1)
    receipts = [o for o in outcomes if isinstance(o, signups.SignupReceipt) and not o.claim_id]
    assert [(r.status, r.waitlist_position) for r in receipts] == [
        ("registered", None), ("registered", None), ("waitlisted", 2), ("waitlisted", 3)]
    # What is stored matches the answers: rows, their history and one confirmation each.
    stored = db_session.exec(select(Participation.id, Participation.status)
                             .where(Participation.offer_id == offer.id)
                             .order_by(col(Participation.id))).all()
    assert stored == [(r.participation_id, r.status) for r in receipts]
    events = db_session.exec(select(ParticipationEvent.participation_id,
                                    ParticipationEvent.to_status)).all()
    assert sorted(events) == sorted((r.participation_id, r.status) for r in receipts)
    confirmations = db_session.exec(select(OutboxMail.household_id, OutboxMail.context)
                                    .where(OutboxMail.purpose == "signup_confirmation",
                                           col(OutboxMail.household_id).is_not(None))).all()
    assert sorted(h for h, _ in confirmations) == sorted(r.household_id for r in receipts)
    assert {c["waitlist_position"] for _, c in confirmations} == {None, 2, 3}
    # No second household; the first one is told on its own address.
    assert db_session.exec(select(func.count()).select_from(Household)
                           .where(Household.campaign_id == campaign.id)).one() == 4
    notices = db_session.exec(select(OutboxMail.household_id)
                              .where(OutboxMail.purpose == "claim_notice")).all()
    assert notices == [claim.household_id]


def test_a_batch_never_adds_a_strangers_contact_details_to_a_known_household(
    db_session: Session,
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign, capacity=5)
    other = make_offer(db_session, campaign=campaign, capacity=5)
    first = signups.sign_up(db_session, offer.id, form(8, email="eigen@example.be", phone=""))
    [outcome] = signups.sign_up_many(db_session, [
        request(other.id, 8, email="iemand-anders@example.be", phone="0470 12 34 56")])
    assert isinstance(outcome, signups.SignupReceipt) and outcome.claim_id is not None
    assert outcome.household_id == first.household.id
    household = db_session.get(Household, outcome.household_id)
    assert household is not None
    db_session.refresh(household)
    assert household.email == "eigen@example.be"
    assert household.phone is None  # not even a blank is filled in by an unproven sign-up


def test_freed_places_go_to_the_waitlist_before_a_new_batch(db_session: Session) -> None:
    offer = make_offer(db_session, capacity=1)
    make_participation(db_session, offer=offer)
    waiting = make_participation(db_session, offer=offer, status="waitlisted")
    offer.capacity = 2  # staff raised the capacity: the waitlisted household goes first
    db_session.add(offer)
    db_session.commit()
    [outcome] = signups.sign_up_many(db_session, [request(offer.id, 30)])
    db_session.refresh(waiting)
    assert waiting.status == "registered"
    assert isinstance(outcome, signups.SignupReceipt)
    assert (outcome.status, outcome.waitlist_position) == ("waitlisted", 1)


@contextlib.contextmanager
def _opener(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def test_the_writer_batches_concurrent_signups_without_overbooking(
    fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Session(fresh_engine, expire_on_commit=False) as setup:
        offer = make_offer(setup, capacity=25)
        setup.commit()
        offer_id = offer.id
    writer = SignupWriter(lambda: _opener(fresh_engine), lambda: _opener(fresh_engine))
    batches: list[int] = []
    real_commit = signups.commit_signups
    lock = threading.Lock()

    def counting_commit(session: Session, prepared: list[object]) -> list[object]:
        with lock:
            batches.append(len(prepared))
        return real_commit(session, prepared)  # type: ignore[arg-type]

    monkeypatch.setattr(signups, "commit_signups", counting_commit)
    futures = [writer.submit(request(offer_id, 100 + n)) for n in range(60)]
    outcomes = [future.result(timeout=60) for future in futures]
    assert all(isinstance(o, signups.SignupReceipt) for o in outcomes)
    receipts = [o for o in outcomes if isinstance(o, signups.SignupReceipt)]
    # Arrival order decides: the first 25 got the places, the rest queue in order.
    assert [r.status for r in receipts] == ["registered"] * 25 + ["waitlisted"] * 35
    assert [r.waitlist_position for r in receipts[25:]] == list(range(1, 36))
    assert sum(batches) == 60 and len(batches) < 60  # they were written together
    with Session(fresh_engine) as check:
        stored = check.exec(select(Participation.id, Participation.status)
                            .where(Participation.offer_id == offer_id)
                            .order_by(col(Participation.id))).all()
    assert stored == [(r.participation_id, r.status) for r in receipts]
