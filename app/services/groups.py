"""Groups of households and batches: create, rename, add/remove/move members, lock, accept a
suggestion, and assign a locked group to a contractor as a batch.

Membership rule: a household is a member of at most one group per campaign and measure (a
group's measure is its own, else its offer's, else none). So the same household can be in a
facade group and in a window-frames group, but not in two facade groups. A locked group keeps
its members (changes answer Conflict); only a locked group can become a batch, and a group with
a batch stays locked.

Every query is scoped to the organisations the caller acts for (their own; an admin also one of
a live access grant) in the query itself; another organisation's group, household or contractor
is NotFound.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from sqlalchemy import func, true
from sqlmodel import Session, col, delete, select

from app.i18n import N_
from app.models import (
    Batch,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    Offer,
    Participation,
)
from app.models.enums import GroupKind, Measure, ParticipationStatus
from app.services import audit
from app.services.auth import Principal
from app.services.campaigns import get_staff_campaign
from app.services.errors import Conflict, Invalid, NotFound
from app.services.grouping import (
    Scope,
    SuggestRequest,
    fixed_group,
    house_number_key,
    suggest_for_campaign,
    value_label,
)
from app.services.mail import queue_mail
from app.services.status_flow import Actor, change_status
from app.services.validation import CleanInput, DbId


class GroupCreate(CleanInput):
    name: str = Field(min_length=1, max_length=200)
    kind: GroupKind = GroupKind.framework
    offer_id: DbId | None = None
    measure: Measure | None = None
    household_ids: list[DbId] = Field(default_factory=list)
    criteria: dict[str, str] = Field(default_factory=dict)


class GroupUpdate(CleanInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    add_household_ids: list[DbId] = Field(default_factory=list)
    remove_household_ids: list[DbId] = Field(default_factory=list)
    locked: bool | None = None


class BatchCreate(CleanInput):
    contractor_id: DbId
    offer_id: DbId | None = None


@dataclass
class MemberView:
    household_id: int
    name: str
    street: str
    house_number: str
    box: str


@dataclass
class BatchView:
    id: int
    contractor_id: int
    contractor_name: str
    offer_id: int | None


@dataclass
class GroupView:
    """A group with its members and batches, as the pages and the API show it."""

    group: Group
    members: list[MemberView] = field(default_factory=list)
    batches: list[BatchView] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        group = self.group
        return {
            "id": group.id, "campaign_id": group.campaign_id, "name": group.name,
            "kind": group.kind, "offer_id": group.offer_id, "measure": group.measure,
            "criteria": group.criteria, "locked": group.locked,
            "created_at": group.created_at.isoformat(),
            "household_ids": [member.household_id for member in self.members],
            "size": len(self.members),
            "batches": [{"id": batch.id, "contractor_id": batch.contractor_id,
                         "contractor_name": batch.contractor_name, "offer_id": batch.offer_id}
                        for batch in self.batches],
        }


def get_group(session: Session, principal: Principal, group_id: int) -> Group:
    found = session.exec(
        select(Group, Campaign.organisation_id)
        .join(Campaign, col(Campaign.id) == col(Group.campaign_id))
        .where(Group.id == group_id, col(Campaign.organisation_id).in_(principal.organisation_ids))
    ).first()
    if found is None:
        raise NotFound(N_("Deze groep bestaat niet."))
    group, organisation_id = found
    audit.record_grant_use(session, principal, [organisation_id], object_type="group",
                           object_id=group_id)
    return group


def _effective_measure(session: Session, group: Group) -> str | None:
    if group.measure:
        return group.measure
    if group.offer_id is not None:
        offer = session.get(Offer, group.offer_id)
        return offer.measure if offer else None
    return None


def _campaign_offer(session: Session, campaign_id: int, offer_id: int) -> Offer:
    offer = session.exec(
        select(Offer).where(Offer.id == offer_id, Offer.campaign_id == campaign_id)
    ).first()
    if offer is None:
        raise Invalid(N_("Dit aanbod hoort niet bij deze wijk."), field="offer_id")
    return offer


def _check_households(
    session: Session, group: Group, household_ids: Sequence[int], *, field_name: str
) -> list[int]:
    """The ids, deduplicated, after checking they are this campaign's and in no other group of
    the same measure."""
    wanted = list(dict.fromkeys(household_ids))
    if not wanted:
        return []
    found = set(session.exec(
        select(Household.id).where(
            col(Household.id).in_(wanted),
            Household.campaign_id == group.campaign_id,
            col(Household.erased_at).is_(None),
        )
    ).all())
    missing = [household_id for household_id in wanted if household_id not in found]
    if missing:
        raise Invalid(
            N_("Deze huishoudens horen niet bij deze wijk: ") + ", ".join(map(str, missing)),
            field=field_name,
        )
    measure = _effective_measure(session, group)
    measure_condition = (col(Group.measure).is_(None) if measure is None
                         else Group.measure == measure)
    taken = session.exec(
        select(GroupMember.household_id, Group.name)
        .join(Group, col(Group.id) == col(GroupMember.group_id))
        .where(
            col(GroupMember.household_id).in_(wanted),
            Group.campaign_id == group.campaign_id,
            measure_condition,
            Group.id != group.id if group.id is not None else true(),
        )
    ).all()
    if taken:
        listed = ", ".join(f"{household_id} ({name})" for household_id, name in taken)
        raise Conflict(
            N_("Deze huishoudens zitten al in een andere groep voor dezelfde maatregel: ")
            + listed,
            field=field_name,
        )
    return wanted


def _add_members(session: Session, group: Group, household_ids: list[int]) -> None:
    present = set(session.exec(
        select(GroupMember.household_id).where(GroupMember.group_id == group.id)
    ).all())
    for household_id in household_ids:
        if household_id not in present:
            session.add(GroupMember(group_id=group.id, household_id=household_id))  # type: ignore[arg-type]


def create_group(
    session: Session, principal: Principal, slug: str, data: GroupCreate
) -> Group:
    """A new unlocked group in one of the caller's campaigns, with its members."""
    campaign = get_staff_campaign(session, principal, slug)
    assert campaign.id is not None
    measure = data.measure.value if data.measure else None
    if data.offer_id is not None:
        offer = _campaign_offer(session, campaign.id, data.offer_id)
        if measure is not None and measure != offer.measure:
            raise Invalid(N_("Deze maatregel hoort niet bij het gekozen aanbod."),
                          field="measure")
        measure = offer.measure
    group = Group(campaign_id=campaign.id, name=data.name.strip(), kind=data.kind,
                  offer_id=data.offer_id, measure=measure, criteria=dict(data.criteria))
    if not group.name:
        raise Invalid(N_("Geef de groep een naam."), field="name")
    members = _check_households(session, group, data.household_ids, field_name="household_ids")
    session.add(group)
    session.flush()
    _add_members(session, group, members)
    session.flush()
    return group


def update_group(
    session: Session, principal: Principal, group_id: int, data: GroupUpdate
) -> Group:
    """Rename, unlock, change members, lock — in that order, so one request can unlock, change
    and lock again."""
    group = get_group(session, principal, group_id)
    if data.name is not None:
        if not data.name.strip():
            raise Invalid(N_("Geef de groep een naam."), field="name")
        group.name = data.name.strip()
    if data.locked is False and group.locked:
        if _has_batch(session, group):
            raise Conflict(N_("Deze groep is al toegewezen als batch en blijft vergrendeld."),
                           field="locked")
        group.locked = False
    if data.add_household_ids or data.remove_household_ids:
        if group.locked:
            raise Conflict(N_("Deze groep is vergrendeld: ontgrendel ze eerst om leden te "
                              "wijzigen."), field="locked")
        overlap = set(data.add_household_ids) & set(data.remove_household_ids)
        if overlap:
            raise Invalid(N_("Een huishouden kan niet tegelijk toegevoegd en verwijderd worden."),
                          field="remove_household_ids")
        additions = _check_households(session, group, data.add_household_ids,
                                      field_name="add_household_ids")
        if data.remove_household_ids:
            session.exec(delete(GroupMember).where(  # type: ignore[call-overload]
                col(GroupMember.group_id) == group.id,
                col(GroupMember.household_id).in_(data.remove_household_ids),
            ))
        _add_members(session, group, additions)
    if data.locked is True:
        group.locked = True
    session.add(group)
    session.flush()
    return group


def move_member(
    session: Session, principal: Principal, *, household_id: int, from_group_id: int,
    to_group_id: int
) -> tuple[Group, Group]:
    """Move one household from one group to another of the same campaign and measure."""
    source = get_group(session, principal, from_group_id)
    target = get_group(session, principal, to_group_id)
    if source.id == target.id:
        raise Invalid(N_("Kies een andere groep."), field="to_group_id")
    if target.campaign_id != source.campaign_id or (
        _effective_measure(session, source) != _effective_measure(session, target)
    ):
        raise Invalid(N_("Deze groep hoort niet bij dezelfde wijk en maatregel."),
                      field="to_group_id")
    for group in (source, target):
        if group.locked:
            raise Conflict(N_("Groep “%s” is vergrendeld.") % group.name, field="to_group_id")
    member = session.exec(select(GroupMember).where(
        GroupMember.group_id == source.id, GroupMember.household_id == household_id)).first()
    if member is None:
        raise NotFound(N_("Dit huishouden zit niet in deze groep."))
    member.group_id = target.id  # type: ignore[assignment]
    session.add(member)
    session.flush()
    return source, target


def accept_suggestion(
    session: Session, principal: Principal, slug: str, request: SuggestRequest
) -> list[Group]:
    """Save the suggestion for these settings as groups. The open groups of the same measure are
    replaced (their households are regrouped); fixed groups (locked, or with a batch or a quote
    request) stay as they are, and their members were left out of the suggestion."""
    suggestion, scope = suggest_for_campaign(session, principal, slug, request)
    campaign = get_staff_campaign(session, principal, slug)
    measures = _suggested_measures(scope, suggestion.groups)
    for measure in measures:
        condition = (col(Group.measure).is_(None) if measure is None
                     else col(Group.measure) == measure)
        session.exec(delete(Group).where(  # type: ignore[call-overload]
            col(Group.campaign_id) == campaign.id, condition, ~fixed_group(),
        ))
    session.flush()
    created = []
    for proposed in suggestion.groups:
        measure = scope.measure or proposed.criteria.get("measure")
        group = Group(campaign_id=campaign.id, name=proposed.name[:200],  # type: ignore[arg-type]
                      kind=GroupKind.framework if scope.offer else GroupKind.quotes,
                      offer_id=scope.offer.id if scope.offer else None, measure=measure,
                      criteria=proposed.criteria)
        session.add(group)
        session.flush()
        _add_members(session, group, proposed.household_ids)
        created.append(group)
    session.flush()
    return created


def _suggested_measures(scope: Scope, groups: Sequence[Any]) -> set[str | None]:
    if scope.measure is not None:
        return {scope.measure}
    return {group.criteria.get("measure") for group in groups} or {None}


def unlocked_groups_count(session: Session, campaign_id: int, measure: str | None) -> int:
    """How many open groups accepting a suggestion for `measure` would replace."""
    condition = (col(Group.measure).is_(None) if measure is None
                 else col(Group.measure) == measure)
    return session.exec(select(func.count()).select_from(Group).where(
        Group.campaign_id == campaign_id, condition, ~fixed_group())).one()


def _has_batch(session: Session, group: Group) -> bool:
    return session.exec(select(Batch.id).where(Batch.group_id == group.id)).first() is not None


def create_batch(
    session: Session, principal: Principal, group_id: int, data: BatchCreate
) -> Batch:
    """Assign a locked group to a contractor of the same organisation: its members' registered
    participations (for the offer, else the group's measure) become `assigned`, and the
    contractor gets a mail without any resident's personal data."""
    group = get_group(session, principal, group_id)
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None and campaign.id is not None
    if not group.locked:
        raise Conflict(N_("Vergrendel de groep voor je ze toewijst."), field="locked")
    contractor = session.exec(select(Contractor).where(
        Contractor.id == data.contractor_id,
        Contractor.organisation_id == campaign.organisation_id,
    )).first()
    if contractor is None:
        raise Invalid(N_("Kies een aannemer van je organisatie."), field="contractor_id")
    offer_id = data.offer_id if data.offer_id is not None else group.offer_id
    offer = _campaign_offer(session, campaign.id, offer_id) if offer_id is not None else None
    measure = offer.measure if offer else _effective_measure(session, group)
    if offer is None and measure is None:
        raise Invalid(N_("Kies het aanbod waarvoor deze batch geldt."), field="offer_id")
    if session.exec(select(Batch.id).where(Batch.group_id == group.id,
                                           Batch.contractor_id == contractor.id)).first():
        raise Conflict(N_("Deze groep is al aan deze aannemer toegewezen."),
                       field="contractor_id")
    batch = Batch(group_id=group.id, contractor_id=contractor.id,  # type: ignore[arg-type]
                  offer_id=offer.id if offer else None)
    session.add(batch)
    session.flush()
    participations = session.exec(
        select(Participation)
        .join(GroupMember, col(GroupMember.household_id) == col(Participation.household_id))
        .where(
            GroupMember.group_id == group.id,
            Participation.status == ParticipationStatus.registered,
            (col(Participation.offer_id) == offer.id) if offer is not None
            else (col(Participation.measure) == measure),
        )
        .order_by(col(Participation.id))
    ).all()
    actor = Actor("staff", principal.user_id)
    for participation in participations:
        change_status(session, participation, ParticipationStatus.assigned, actor=actor,
                      note=f"batch {batch.id}")
    household_count = session.exec(select(func.count()).select_from(GroupMember).where(
        GroupMember.group_id == group.id)).one()
    queue_mail(session, "batch_assigned", recipient=contractor.email, context={
        "batch_id": batch.id, "campaign_name": campaign.name,
        "municipality": campaign.municipality,
        "measure": value_label(measure) if measure else None,
        "household_count": household_count, "assigned_count": len(participations),
    })
    audit.record(session, principal, action="batch.create", object_type="batch",
                 object_id=batch.id, organisation_id=campaign.organisation_id)
    session.flush()
    return batch


def group_views(session: Session, groups: Sequence[Group]) -> list[GroupView]:
    """Members (ordered as neighbours) and batches of these groups, in two queries."""
    if not groups:
        return []
    views = {group.id: GroupView(group) for group in groups}
    ids = list(views)
    for group_id, household in session.exec(
        select(GroupMember.group_id, Household)
        .join(Household, col(Household.id) == col(GroupMember.household_id))
        .where(col(GroupMember.group_id).in_(ids))
        .order_by(col(Household.street), col(Household.house_number), col(Household.id))
    ).all():
        views[group_id].members.append(MemberView(
            household_id=household.id, name=household.name,  # type: ignore[arg-type]
            street=household.street, house_number=household.house_number, box=household.box,
        ))
    for batch, contractor_name in session.exec(
        select(Batch, Contractor.name)
        .join(Contractor, col(Contractor.id) == col(Batch.contractor_id))
        .where(col(Batch.group_id).in_(ids))
        .order_by(col(Batch.id))
    ).all():
        views[batch.group_id].batches.append(BatchView(
            id=batch.id, contractor_id=batch.contractor_id,  # type: ignore[arg-type]
            contractor_name=contractor_name, offer_id=batch.offer_id,
        ))
    for view in views.values():
        view.members.sort(key=lambda member: (member.street.lower(),
                                              house_number_key(member.house_number),
                                              member.household_id))
    return list(views.values())


def list_groups(session: Session, principal: Principal, slug: str, *,
                ip: str | None = None) -> tuple[Campaign, list[GroupView]]:
    """The groups of one of the caller's campaigns (members' names and addresses: the view is
    written to the audit log), grouped by measure."""
    campaign = get_staff_campaign(session, principal, slug, ip=ip)
    audit.record(session, principal, action="group.list", object_type="campaign",
                 object_id=campaign.id, organisation_id=campaign.organisation_id, ip=ip or "")
    groups = session.exec(
        select(Group).where(Group.campaign_id == campaign.id)
        .order_by(col(Group.measure), col(Group.id))
    ).all()
    return campaign, group_views(session, groups)


def get_group_view(session: Session, principal: Principal, group_id: int) -> GroupView:
    return group_views(session, [get_group(session, principal, group_id)])[0]


def organisation_contractors(session: Session, campaign: Campaign) -> list[Contractor]:
    return list(session.exec(
        select(Contractor).where(Contractor.organisation_id == campaign.organisation_id)
        .order_by(col(Contractor.name))
    ).all())


def campaign_offers(session: Session, campaign: Campaign) -> list[Offer]:
    return list(session.exec(
        select(Offer).where(Offer.campaign_id == campaign.id).order_by(col(Offer.id))
    ).all())
