"""Groups and batches: the membership rule, locking, moving, accepting a suggestion, and
assigning a locked group to a contractor (participations assigned, contractor mailed)."""

import pytest
from sqlmodel import Session, col, select

from app.models import (
    AuditEvent,
    Batch,
    Campaign,
    Group,
    GroupMember,
    Offer,
    OutboxMail,
    Participation,
    ParticipationEvent,
)
from app.models.enums import Role
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.grouping import SuggestRequest
from app.services.groups import (
    BatchCreate,
    GroupCreate,
    GroupUpdate,
    accept_suggestion,
    create_batch,
    create_group,
    get_group,
    list_groups,
    move_member,
    update_group,
)
from app.services.stats import campaign_stats
from tests import factories


def staff_of(campaign: Campaign, user_id: int | None = None) -> Principal:
    return Principal(role=Role.staff, session_id=0, user_id=user_id,
                     organisation_id=campaign.organisation_id, email="staff@example.be")


def signed_up(session: Session, offer: Offer, count: int, **household: str) -> list[int]:
    campaign = session.get(Campaign, offer.campaign_id)
    return [factories.make_participation(
        session, offer=offer,
        household=factories.make_household(session, campaign=campaign, **household),
    ).household_id for _ in range(count)]


def members(session: Session, group_id: int | None) -> set[int]:
    return set(session.exec(
        select(GroupMember.household_id).where(GroupMember.group_id == group_id)).all())


@pytest.fixture
def offer(db_session: Session) -> Offer:
    return factories.make_offer(db_session)


@pytest.fixture
def campaign(db_session: Session, offer: Offer) -> Campaign:
    found = db_session.get(Campaign, offer.campaign_id)
    assert found is not None
    return found


def test_creating_a_group_stores_its_members_and_takes_the_offers_measure(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    households = signed_up(db_session, offer, 3)

    group = create_group(db_session, staff_of(campaign), campaign.slug, GroupCreate(
        name="Gevels oost", offer_id=offer.id, household_ids=households))

    assert group.measure == "facade_insulation"
    assert group.locked is False
    assert members(db_session, group.id) == set(households)


def test_a_household_of_another_campaign_is_refused_naming_household_ids(
    db_session: Session, campaign: Campaign
) -> None:
    outsider = factories.make_household(db_session)

    with pytest.raises(Invalid) as refused:
        create_group(db_session, staff_of(campaign), campaign.slug,
                     GroupCreate(name="X", household_ids=[outsider.id]))
    assert refused.value.field == "household_ids"
    assert str(outsider.id) in refused.value.message


def test_a_household_is_in_at_most_one_group_per_measure(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    households = signed_up(db_session, offer, 2)
    staff = staff_of(campaign)
    create_group(db_session, staff, campaign.slug,
                 GroupCreate(name="A", offer_id=offer.id, household_ids=households))

    with pytest.raises(Conflict):
        create_group(db_session, staff, campaign.slug,
                     GroupCreate(name="B", measure="facade_insulation",
                                 household_ids=households[:1]))
    other_measure = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="Ramen", measure="window_frames", household_ids=households[:1]))
    assert members(db_session, other_measure.id) == {households[0]}


def test_a_locked_group_refuses_member_changes_but_can_be_renamed(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    first, second = signed_up(db_session, offer, 2)
    staff = staff_of(campaign)
    group = create_group(db_session, staff, campaign.slug,
                         GroupCreate(name="A", offer_id=offer.id, household_ids=[first]))
    update_group(db_session, staff, group.id, GroupUpdate(locked=True))

    with pytest.raises(Conflict):
        update_group(db_session, staff, group.id, GroupUpdate(add_household_ids=[second]))
    renamed = update_group(db_session, staff, group.id, GroupUpdate(name="Gevels west"))

    assert renamed.name == "Gevels west"
    assert members(db_session, group.id) == {first}


def test_one_update_can_unlock_change_members_and_lock_again(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    first, second = signed_up(db_session, offer, 2)
    staff = staff_of(campaign)
    group = create_group(db_session, staff, campaign.slug,
                         GroupCreate(name="A", offer_id=offer.id, household_ids=[first]))
    update_group(db_session, staff, group.id, GroupUpdate(locked=True))

    update_group(db_session, staff, group.id, GroupUpdate(
        locked=False, add_household_ids=[second], remove_household_ids=[first]))

    assert members(db_session, group.id) == {second}


def test_moving_a_household_takes_it_out_of_one_group_into_the_other(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    households = signed_up(db_session, offer, 4)
    staff = staff_of(campaign)
    source = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=households[:2]))
    target = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="B", offer_id=offer.id, household_ids=households[2:]))

    move_member(db_session, staff, household_id=households[0], from_group_id=source.id,
                to_group_id=target.id)

    assert members(db_session, source.id) == {households[1]}
    assert members(db_session, target.id) == {households[0], *households[2:]}


def test_moving_into_a_locked_group_is_refused(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    households = signed_up(db_session, offer, 2)
    staff = staff_of(campaign)
    source = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=households[:1]))
    target = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="B", offer_id=offer.id, household_ids=households[1:]))
    update_group(db_session, staff, target.id, GroupUpdate(locked=True))

    with pytest.raises(Conflict):
        move_member(db_session, staff, household_id=households[0], from_group_id=source.id,
                    to_group_id=target.id)


def test_accepting_a_suggestion_replaces_the_open_groups_and_keeps_locked_ones(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff = staff_of(campaign)
    kept = signed_up(db_session, offer, 2, life_phase="senior")
    seniors = signed_up(db_session, offer, 6, life_phase="senior")
    families = signed_up(db_session, offer, 5, life_phase="young_family")
    locked = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="Vast", offer_id=offer.id, household_ids=kept))
    update_group(db_session, staff, locked.id, GroupUpdate(locked=True))
    stale = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="Oud", offer_id=offer.id, household_ids=seniors[:2]))

    created = accept_suggestion(db_session, staff, campaign.slug, SuggestRequest(
        by=["life_phase"], min_size=5, max_size=12, offer_id=offer.id))

    assert sorted(members(db_session, group.id) for group in created) in (
        [set(seniors), set(families)], [set(families), set(seniors)])
    assert all(group.offer_id == offer.id and group.measure == offer.measure for group in created)
    assert {tuple(sorted(g.criteria.items())) for g in created} == {
        (("life_phase", "senior"),), (("life_phase", "young_family"),)}
    names = set(db_session.exec(select(Group.name).where(Group.campaign_id == campaign.id)))
    assert stale.name not in names and locked.name in names
    assert members(db_session, locked.id) == set(kept)


def test_assigning_a_locked_group_moves_registered_signups_and_mails_the_contractor(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff_user = factories.make_user(db_session, organisation_id=campaign.organisation_id)
    staff = staff_of(campaign, user_id=staff_user.id)
    households = signed_up(db_session, offer, 3)
    waiting = factories.make_participation(
        db_session, offer=offer, status="waitlisted",
        household=factories.make_household(db_session, campaign=campaign))
    group = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=[*households, waiting.household_id]))
    update_group(db_session, staff, group.id, GroupUpdate(locked=True))
    contractor = factories.make_contractor(db_session,
                                           organisation_id=campaign.organisation_id)

    batch = create_batch(db_session, staff, group.id, BatchCreate(contractor_id=contractor.id))

    assert batch.offer_id == offer.id
    statuses = dict(db_session.exec(select(Participation.household_id, Participation.status)
                                    .where(Participation.offer_id == offer.id)).all())
    assert [statuses[h] for h in households] == ["assigned"] * 3
    assert statuses[waiting.household_id] == "waitlisted"
    events = db_session.exec(select(ParticipationEvent).where(
        ParticipationEvent.to_status == "assigned")).all()
    assert {(e.actor_kind, e.actor_user_id) for e in events} == {("staff", staff_user.id)}
    mail = db_session.exec(select(OutboxMail).where(OutboxMail.purpose == "batch_assigned")
                           .order_by(col(OutboxMail.id).desc())).first()
    assert mail is not None and mail.recipient == contractor.email
    assert mail.household_id is None
    assert mail.context["batch_id"] == batch.id and mail.context["household_count"] == 4
    funnel = {row["stage"]: row["count"] for row in campaign_stats(db_session, campaign).funnel}
    assert funnel["assigned"] == 3


def test_an_unlocked_group_cannot_become_a_batch(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff = staff_of(campaign)
    group = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=signed_up(db_session, offer, 1)))

    with pytest.raises(Conflict):
        create_batch(db_session, staff, group.id, BatchCreate(contractor_id=offer.contractor_id))
    assert db_session.exec(select(Batch).where(Batch.group_id == group.id)).first() is None


def test_a_contractor_of_another_organisation_is_refused_naming_contractor_id(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff = staff_of(campaign)
    group = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=signed_up(db_session, offer, 1)))
    update_group(db_session, staff, group.id, GroupUpdate(locked=True))
    foreign = factories.make_contractor(db_session)

    with pytest.raises(Invalid) as refused:
        create_batch(db_session, staff, group.id, BatchCreate(contractor_id=foreign.id))
    assert refused.value.field == "contractor_id"


def test_a_group_with_a_batch_stays_locked(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff = staff_of(campaign)
    group = create_group(db_session, staff, campaign.slug, GroupCreate(
        name="A", offer_id=offer.id, household_ids=signed_up(db_session, offer, 1)))
    update_group(db_session, staff, group.id, GroupUpdate(locked=True))
    create_batch(db_session, staff, group.id, BatchCreate(contractor_id=offer.contractor_id))

    with pytest.raises(Conflict):
        update_group(db_session, staff, group.id, GroupUpdate(locked=False))


def test_another_organisations_group_is_not_found(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    group = create_group(db_session, staff_of(campaign), campaign.slug,
                         GroupCreate(name="A", offer_id=offer.id))
    stranger = Principal(role=Role.staff, session_id=0,
                         organisation_id=factories.make_organisation(db_session).id)
    admin_elsewhere = Principal(role=Role.admin, session_id=0,
                                organisation_id=factories.make_organisation(db_session).id)
    granted_admin = Principal(role=Role.admin, session_id=0,
                              organisation_id=admin_elsewhere.organisation_id,
                              grants=((campaign.organisation_id, 1),))

    for outsider in (stranger, admin_elsewhere):
        with pytest.raises(NotFound):
            get_group(db_session, outsider, group.id)
        with pytest.raises(NotFound):
            update_group(db_session, outsider, group.id, GroupUpdate(name="overgenomen"))
    assert get_group(db_session, granted_admin, group.id).id == group.id


def test_viewing_the_groups_is_written_to_the_audit_log(
    db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    staff = staff_of(campaign, user_id=factories.make_user(
        db_session, organisation_id=campaign.organisation_id).id)

    list_groups(db_session, staff, campaign.slug, ip="192.0.2.7")

    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "group.list")).one()
    assert (event.object_id, event.organisation_id, event.ip) == (
        campaign.id, campaign.organisation_id, "192.0.2.7")
