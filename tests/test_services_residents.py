"""The resident's account: magic links, /mijn data, editing, withdrawing, export and erasure."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from app.db import make_engine
from app.models import (
    AuthSession,
    Batch,
    Group,
    GroupMember,
    Household,
    InterestSubmission,
    MagicLinkToken,
    Offer,
    OutboxMail,
    Participation,
)
from app.models.base import utcnow
from app.models.enums import Role
from app.security import token_hash
from app.services import interests as interest_service
from app.services import mail as mail_service
from app.services import residents
from app.services.auth import Principal, principal_for_token
from app.services.errors import Conflict, NotFound, RateLimited, Unauthorized
from tests import factories
from tests.support.smtp import as_delivered


def resident(household: Household) -> Principal:
    return Principal(role=Role.resident, session_id=0, household_id=household.id)


def mint_token(session: Session, household: Household, *, minutes: int = 30) -> str:
    link = mail_service.mint_magic_link(session, household.id)  # type: ignore[arg-type]
    session.flush()
    token = link.rsplit("/r/", 1)[1]
    if minutes != 30:
        row = session.exec(
            select(MagicLinkToken).where(MagicLinkToken.token_hash == token_hash(token))
        ).one()
        row.expires_at = utcnow() + timedelta(minutes=minutes)
        session.add(row)
        session.flush()
    return token


def outbox(session: Session, purpose: str) -> list[OutboxMail]:
    return list(session.exec(select(OutboxMail).where(OutboxMail.purpose == purpose)).all())


# --- magic links --------------------------------------------------------------------------------


def test_link_request_queues_one_mail_per_household_with_that_address(db_session: Session) -> None:
    first = factories.make_household(db_session, email="an@example.be")
    second = factories.make_household(db_session, email="an@example.be")
    factories.make_household(db_session, email="someone.else@example.be")

    queued = residents.request_magic_link(db_session, email="  AN@example.be ")

    assert queued == 2
    mails = outbox(db_session, "magic_link")
    assert {mail.household_id for mail in mails} == {first.id, second.id}
    assert all(mail.recipient is None for mail in mails)


def test_link_request_for_unknown_or_erased_address_queues_nothing(db_session: Session) -> None:
    factories.make_household(db_session, email="gone@example.be", erased_at=utcnow())

    assert residents.request_magic_link(db_session, email="nobody@example.be") == 0
    assert residents.request_magic_link(db_session, email="gone@example.be") == 0
    assert outbox(db_session, "magic_link") == []


def test_link_requests_are_limited_per_address(db_session: Session) -> None:
    factories.make_household(db_session, email="busy@example.be")

    results = [residents.request_magic_link(db_session, email="busy@example.be")
               for _ in range(residents.LINK_REQUESTS_PER_EMAIL + 2)]

    assert results == [1] * residents.LINK_REQUESTS_PER_EMAIL + [0, 0]
    assert len(outbox(db_session, "magic_link")) == residents.LINK_REQUESTS_PER_EMAIL


def test_only_the_hash_of_a_link_token_is_stored(db_session: Session) -> None:
    household = factories.make_household(db_session)
    residents.request_magic_link(db_session, email=household.email)  # type: ignore[arg-type]
    mail = outbox(db_session, "magic_link")[0]

    rendered = mail_service.render_mail(db_session, mail)
    db_session.flush()

    assert rendered is not None
    message = as_delivered(rendered)
    token = message.get_content().split("/r/", 1)[1].split()[0]
    stored = db_session.exec(select(MagicLinkToken)).all()
    assert [row.token_hash for row in stored] == [token_hash(token)]
    assert token not in str(mail.context)
    assert "Aanmelden" in message.get_content()


def test_a_token_logs_in_its_own_household_once(db_session: Session) -> None:
    household = factories.make_household(db_session)
    other = factories.make_household(db_session)
    token = mint_token(db_session, household)

    session_token = residents.log_in_with_magic_link(db_session, token=token, ip="1.2.3.4",
                                                     kind="api")

    principal = principal_for_token(db_session, session_token, kind="api")
    assert principal is not None and principal.household_id == household.id != other.id
    with pytest.raises(Unauthorized):
        residents.log_in_with_magic_link(db_session, token=token, ip="1.2.3.4", kind="api")


def test_an_expired_or_unknown_token_is_refused(db_session: Session) -> None:
    household = factories.make_household(db_session)
    expired = mint_token(db_session, household, minutes=-1)

    assert not residents.magic_link_is_usable(db_session, expired)
    with pytest.raises(Unauthorized):
        residents.log_in_with_magic_link(db_session, token=expired, ip="1.2.3.4", kind="web")
    with pytest.raises(Unauthorized):
        residents.log_in_with_magic_link(db_session, token="made-up", ip="1.2.3.4",  # noqa: S106
                                         kind="web")


def test_a_token_of_an_erased_household_is_refused(db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = mint_token(db_session, household)
    household.erased_at = utcnow()
    db_session.add(household)

    assert residents.consume_magic_link(db_session, token) is None


def test_failed_token_uses_are_limited_per_address(db_session: Session) -> None:
    household = factories.make_household(db_session)
    good = mint_token(db_session, household)
    for attempt in range(residents.FAILED_TOKEN_USES_PER_ADDRESS):
        with pytest.raises(Unauthorized):
            residents.log_in_with_magic_link(db_session, token=f"guess-{attempt}",
                                             ip="6.6.6.6", kind="api")

    with pytest.raises(RateLimited):
        residents.log_in_with_magic_link(db_session, token=good, ip="6.6.6.6", kind="api")
    assert residents.log_in_with_magic_link(db_session, token=good, ip="7.7.7.7", kind="api")


# --- /mijn ------------------------------------------------------------------------------------


def test_waitlist_positions_count_only_those_still_waiting(db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    campaign_id = offer.campaign_id
    factories.make_participation(db_session, offer=offer, status="registered")
    start = utcnow() - timedelta(hours=5)
    waiting = []
    for hour in range(3):
        household = factories.make_household(db_session, campaign_id=campaign_id)
        waiting.append((household, factories.make_participation(
            db_session, offer=offer, household=household, status="waitlisted",
            status_changed_at=start + timedelta(hours=hour))))
    first, _second, third = waiting
    first[1].status = "cancelled"
    db_session.add(first[1])
    db_session.flush()

    views = residents.list_signups(db_session, resident(third[0]))

    assert [view.waitlist_position for view in views] == [2]
    assert views[0].status_label == "Op de wachtlijst"
    assert views[0].steps[0].state == "current"


def test_overview_shows_only_the_callers_signups(db_session: Session) -> None:
    offer = factories.make_offer(db_session)
    mine = factories.make_participation(db_session, offer=offer)
    factories.make_participation(db_session, offer=offer)
    household = db_session.get(Household, mine.household_id)
    assert household is not None

    overview = residents.overview(db_session, resident(household))

    assert [view.participation.id for view in overview.signups] == [mine.id]
    assert overview.signups[0].title == offer.title


def test_details_are_validated_field_by_field(db_session: Session) -> None:
    household = factories.make_household(db_session)

    with pytest.raises(residents.DetailsInvalid) as refused:
        residents.update_details(db_session, resident(household), {
            "name": "", "email": "not-an-email", "postcode": "9000", "build_year": 1200,
            "energy_kwh_year": -5,
        })

    assert set(refused.value.errors) == {"name", "email", "postcode", "build_year",
                                         "energy_kwh_year"}
    db_session.refresh(household)
    assert household.name.startswith("Bewoner")


def test_details_are_saved_with_the_city_and_address_key(db_session: Session) -> None:
    household = factories.make_household(db_session)

    residents.update_details(db_session, resident(household), {
        "name": "An Peeters", "phone": "0470 12 34 56", "street": "Leffingestraat",
        "house_number": "7", "tenure": "private_tenant", "share_contact_with_contractor": False,
    })

    db_session.refresh(household)
    assert (household.name, household.phone, household.street) == (
        "An Peeters", "+32470123456", "Leffingestraat")
    assert household.address_key is not None and household.address_key.startswith("leffinge")
    assert household.tenure == "private_tenant"
    assert household.share_contact_with_contractor is False


def test_moving_onto_a_neighbours_address_is_refused(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    factories.make_household(db_session, campaign=campaign, street="Kerkstraat",
                             house_number="1")
    household = factories.make_household(db_session, campaign=campaign)

    with pytest.raises(Conflict):
        residents.update_details(db_session, resident(household),
                                 {"street": "Kerkstraat", "house_number": "1"})


def test_energy_bill_is_stored_in_cents(db_session: Session) -> None:
    household = factories.make_household(db_session)

    residents.update_energy_bill(db_session, resident(household), kwh_year="3.500",
                                 euros_year="1.234,56")

    db_session.refresh(household)
    assert (household.energy_kwh_year, household.energy_cost_cents_year) == (3500, 123456)
    with pytest.raises(residents.DetailsInvalid) as refused:
        residents.update_energy_bill(db_session, resident(household), kwh_year="veel",
                                     euros_year="duur")
    assert set(refused.value.errors) == {"energy_kwh_year", "energy_cost_euros_year"}


def test_withdrawing_promotes_the_first_waitlisted(db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    mine = factories.make_participation(db_session, offer=offer, status="registered")
    waiting = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, mine.household_id)
    assert household is not None

    residents.withdraw_participation(db_session, resident(household), mine.id)  # type: ignore[arg-type]

    db_session.refresh(waiting)
    assert (mine.status, waiting.status) == ("cancelled", "registered")
    assert [mail.household_id for mail in outbox(db_session, "waitlist_promoted")] == [
        waiting.household_id]


def test_withdrawing_another_households_signup_is_not_found(db_session: Session) -> None:
    theirs = factories.make_participation(db_session)
    me = factories.make_household(db_session)

    with pytest.raises(NotFound):
        residents.withdraw_participation(db_session, resident(me), theirs.id)  # type: ignore[arg-type]
    db_session.refresh(theirs)
    assert theirs.status == "registered"


# --- export and erasure ----------------------------------------------------------------------


def test_export_holds_every_stored_field_of_the_household(db_session: Session) -> None:
    participation = factories.make_participation(db_session)
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    campaign = factories._campaign_of(db_session, household)
    assert campaign is not None
    interest_service.submit_interests(db_session, campaign, postcode="8400",
                                      street="Torhoutsesteenweg", answers=[("solar_pv", "1y")],
                                      household_id=household.id)

    data = residents.export_data(db_session, resident(household))

    assert set(data["household"]) == set(Household.model_fields)
    assert data["household"]["email"] == household.email
    assert data["participations"][0]["history"][0]["to_status"] == "registered"
    assert data["interests"][0]["answers"] == [{"measure": "solar_pv", "horizon": "1y"}]
    assert data["consents"]["privacy_consent_version"] == "2026-01"


def test_erasure_leaves_no_personal_field_and_keeps_counts(db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    mine = factories.make_participation(db_session, offer=offer, status="registered")
    waiting = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, mine.household_id)
    assert household is not None
    household.income_category, household.energy_kwh_year = "cat2", 4000
    db_session.add(household)
    personal = {household.name, household.email, household.phone, household.address_key}
    campaign = factories._campaign_of(db_session, household)
    assert campaign is not None
    interest_service.submit_interests(db_session, campaign, postcode="8400",
                                      street="Torhoutsesteenweg", answers=[("solar_pv", "1y")],
                                      household_id=household.id)
    token = mint_token(db_session, household)
    web = residents.start_session(db_session, kind="web", household=household)
    residents.request_magic_link(db_session, email=household.email)  # type: ignore[arg-type]

    residents.erase_household(db_session, resident(household))

    db_session.refresh(household)
    assert household.erased_at is not None
    for name, blank in residents.PERSONAL_FIELDS.items():
        assert getattr(household, name) == blank, name
    assert (household.postcode, household.tenure, household.life_phase) == (
        "8400", "owner_occupier", "young_family")
    row = db_session.exec(
        text("SELECT * FROM household WHERE id = :id"), params={"id": household.id}  # type: ignore[call-overload]
    ).one()
    assert not personal & {str(value) for value in row}
    db_session.refresh(mine)
    db_session.refresh(waiting)
    assert (mine.status, mine.cancel_reason) == ("cancelled", residents.ERASE_REASON)
    assert waiting.status == "registered"
    assert db_session.exec(select(MagicLinkToken).where(
        MagicLinkToken.household_id == household.id)).all() == []
    assert db_session.exec(select(OutboxMail).where(
        OutboxMail.household_id == household.id)).all() == []
    assert residents.consume_magic_link(db_session, token) is None
    assert principal_for_token(db_session, web, kind="web") is None
    assert db_session.exec(select(AuthSession).where(
        AuthSession.household_id == household.id,
        col(AuthSession.revoked_at).is_(None))).all() == []
    submission = db_session.exec(select(InterestSubmission).where(
        InterestSubmission.household_id == household.id)).one()
    assert (submission.street, submission.postcode) == ("", "8400")
    summary = {(cell.measure, cell.horizon): cell for cell in
               interest_service.interest_summary(db_session, campaign)}
    assert ("solar_pv", "1y") in summary
    assert len(db_session.exec(select(Participation).where(
        Participation.offer_id == offer.id)).all()) == 2


def test_erasure_tells_the_contractor_of_their_batch(db_session: Session) -> None:
    participation = factories.make_participation(db_session, status="assigned")
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    offer = db_session.get(Offer, participation.offer_id)
    assert offer is not None
    group = Group(campaign_id=offer.campaign_id, name="Gevels noord", kind="framework",
                  offer_id=offer.id)
    db_session.add(group)
    db_session.flush()
    db_session.add(GroupMember(group_id=group.id, household_id=household.id))  # type: ignore[arg-type]
    batch = Batch(group_id=group.id, contractor_id=offer.contractor_id, offer_id=offer.id)  # type: ignore[arg-type]
    db_session.add(batch)
    db_session.flush()
    name = household.name

    residents.erase_household(db_session, resident(household))

    notices = outbox(db_session, "erased_batch_notice")
    assert len(notices) == 1
    assert notices[0].household_id is None
    assert notices[0].context["batch_id"] == batch.id
    assert name not in str(notices[0].context)
    rendered = mail_service.render_mail(db_session, notices[0])
    assert rendered is not None
    message = as_delivered(rendered)
    assert str(batch.id) in message["Subject"]
    assert name not in message.get_content()


def test_wal_checkpoint_empties_the_write_ahead_log(tmp_path: Path) -> None:
    engine: Engine = make_engine(f"sqlite:///{tmp_path}/wal.db", pool_size=1)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE secret (value TEXT)"))
        connection.execute(text("INSERT INTO secret VALUES ('An Peeters')"))
    wal = f"{tmp_path}/wal.db-wal"
    assert os.path.getsize(wal) > 0

    residents.checkpoint_wal(engine)

    assert os.path.getsize(wal) == 0
    engine.dispose()
