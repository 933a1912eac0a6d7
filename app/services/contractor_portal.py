"""A contractor's batches (a group assigned to it) with their households, scoped in the query to
the caller's contractor (or the staff's organisation), and the batch as CSV for a spreadsheet.

Which participations belong to a batch: those of its offer (the batch's, else the group's);
for a batch without an offer, the group's own quote-track sign-ups or the group's measure.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlmodel import Session, col, select

from app.i18n import N_, gettext
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
from app.models.enums import ParticipationStatus, Role
from app.services import audit
from app.services.auth import Principal
from app.services.errors import NotFound
from app.services.status_flow import STATUS_LABELS
from app.services.validation import without_invisible_characters


def participation_in_batch() -> ColumnElement[bool]:
    """SQL condition tying Participation to the Batch and Group of the same query."""
    offer_id = func.coalesce(Batch.offer_id, Group.offer_id)
    return and_(
        col(GroupMember.group_id) == col(Group.id),
        col(GroupMember.household_id) == col(Participation.household_id),
        or_(
            col(Participation.offer_id) == offer_id,
            and_(
                offer_id.is_(None),
                or_(col(Participation.group_id) == col(Group.id),
                    and_(col(Group.measure).is_not(None),
                         col(Participation.measure) == col(Group.measure))),
            ),
        ),
    )


def visible_batches(principal: Principal):  # type: ignore[no-untyped-def]
    """Batches the caller may see: a contractor its own, staff and admins those of the
    organisations they act for."""
    statement = (
        select(Batch)
        .join(Group, col(Group.id) == Batch.group_id)
        .join(Campaign, col(Campaign.id) == Group.campaign_id)
    )
    if principal.role == Role.contractor:
        return statement.where(Batch.contractor_id == principal.contractor_id)
    if principal.is_staff:
        return statement.where(col(Campaign.organisation_id).in_(principal.organisation_ids))
    return statement.where(false())


@dataclass
class BatchHousehold:
    household: Household
    participations: list[Participation]
    contact_shared: bool


@dataclass
class BatchView:
    batch: Batch
    group: Group
    campaign: Campaign
    contractor: Contractor
    offer: Offer | None
    households: list[BatchHousehold] = field(default_factory=list)

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.households:
            for participation in entry.participations:
                counts[participation.status] = counts.get(participation.status, 0) + 1
        return counts


def _house_number_key(household: Household) -> tuple[str, int, str, str]:
    digits = "".join(ch for ch in household.house_number if ch.isdigit())
    return (household.street.lower(), int(digits) if digits else 0, household.house_number,
            household.box)


def _load(session: Session, batch: Batch) -> BatchView:
    group = session.get(Group, batch.group_id)
    assert group is not None
    campaign = session.get(Campaign, group.campaign_id)
    contractor = session.get(Contractor, batch.contractor_id)
    assert campaign is not None and contractor is not None
    offer_id = batch.offer_id or group.offer_id
    offer = session.get(Offer, offer_id) if offer_id else None
    households = session.exec(
        select(Household)
        .join(GroupMember, col(GroupMember.household_id) == Household.id)
        .where(GroupMember.group_id == group.id, col(Household.erased_at).is_(None))
    ).all()
    participations = session.exec(
        select(Participation)
        .join(GroupMember, col(GroupMember.household_id) == Participation.household_id)
        .join(Group, col(Group.id) == GroupMember.group_id)
        .join(Batch, col(Batch.group_id) == Group.id)
        .where(Batch.id == batch.id, participation_in_batch())
        .order_by(col(Participation.id))
    ).all()
    by_household: dict[int, list[Participation]] = {}
    for participation in participations:
        by_household.setdefault(participation.household_id, []).append(participation)
    view = BatchView(batch, group, campaign, contractor, offer)
    for household in sorted(households, key=_house_number_key):
        assert household.id is not None
        view.households.append(BatchHousehold(
            household, by_household.get(household.id, []), household.share_contact_with_contractor
        ))
    return view


def list_batches(session: Session, principal: Principal) -> list[BatchView]:
    """The caller's batches, newest first, each with its households."""
    batches = session.exec(visible_batches(principal).order_by(col(Batch.id).desc())).all()
    views = [_load(session, batch) for batch in batches]
    audit.record_grant_use(session, principal, (view.campaign.organisation_id for view in views),
                           object_type="batch")
    return views


def get_batch(session: Session, principal: Principal, batch_id: int, *, ip: str = "",
              action: str = "batch.view") -> BatchView:
    """One batch the caller may see (else NotFound); the view of residents' data is audited."""
    batch = session.exec(visible_batches(principal).where(Batch.id == batch_id)).first()
    if batch is None:
        raise NotFound(N_("Deze batch bestaat niet."))
    view = _load(session, batch)
    audit.record(session, principal, action=action, object_type="batch", object_id=batch.id,
                 organisation_id=view.campaign.organisation_id, ip=ip)
    return view


def ensure_visible_batch(session: Session, principal: Principal, batch_id: int) -> None:
    """NotFound unless the caller may see this batch (a URL naming another contractor's batch
    must not act, even on a sign-up of the caller's own)."""
    if session.exec(visible_batches(principal).where(Batch.id == batch_id)).first() is None:
        raise NotFound(N_("Deze batch bestaat niet."))


def household_json(entry: BatchHousehold) -> dict[str, Any]:
    household = entry.household
    return {
        "id": household.id,
        "street": household.street,
        "house_number": household.house_number,
        "box": household.box,
        "postcode": household.postcode,
        "city": household.city,
        "dwelling_type": household.dwelling_type,
        "contact_shared": entry.contact_shared,
        "name": household.name if entry.contact_shared else None,
        "email": household.email if entry.contact_shared else None,
        "phone": household.phone if entry.contact_shared else None,
        "participations": [
            {
                "id": participation.id,
                "offer_id": participation.offer_id,
                "measure": participation.measure,
                "quantity": participation.quantity,
                "measured_quantity": participation.measured_quantity,
                "status": participation.status,
                "personal_offer_cents": participation.personal_offer_cents,
                "personal_offer_deadline": participation.personal_offer_deadline,
            }
            for participation in entry.participations
        ],
    }


def batch_json(view: BatchView) -> dict[str, Any]:
    return {
        "id": view.batch.id,
        "group": {"id": view.group.id, "name": view.group.name, "kind": view.group.kind},
        "campaign": {"slug": view.campaign.slug, "name": view.campaign.name,
                     "municipality": view.campaign.municipality},
        "contractor": {"id": view.contractor.id, "name": view.contractor.name},
        "offer_id": view.offer.id if view.offer else None,
        "measure": view.offer.measure if view.offer else view.group.measure,
        "unit": view.offer.unit if view.offer else None,
        "created_at": view.batch.created_at,
        "households": [household_json(entry) for entry in view.households],
    }


CSV_HEADER = [
    N_("Straat"), N_("Huisnummer"), N_("Bus"), N_("Postcode"), N_("Gemeente"), N_("Woningtype"),
    N_("Maatregel"), N_("Hoeveelheid"), N_("Opgemeten hoeveelheid"), N_("Status"), N_("Naam"),
    N_("E-mail"), N_("Telefoon"),
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """Text for a spreadsheet cell; text that a spreadsheet would run as a formula is quoted,
    and invisible or direction-changing characters are left out (first, so none hides one)."""
    text = "" if value is None else without_invisible_characters(str(value))
    if text.startswith(_FORMULA_START) and not text[1:].replace(" ", "").isdigit():
        return "'" + text
    return text


def _decimal_comma(value: float | None) -> str:
    """48.5 → `48,5`, 40.0 → `40`: what a Dutch spreadsheet reads as a number."""
    if value is None:
        return ""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def batch_csv(view: BatchView) -> str:
    """The batch as CSV for a Dutch spreadsheet: `;`-separated, decimal comma, UTF-8 with BOM;
    one row per sign-up (a household without one gets one row); contact only when shared."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([gettext(title) for title in CSV_HEADER])
    for entry in view.households:
        household = entry.household
        contact = ([household.name, household.email, household.phone] if entry.contact_shared
                   else ["", "", ""])
        rows: list[Participation | None] = list(entry.participations) or [None]
        for participation in rows:
            status = ParticipationStatus(participation.status) if participation else None
            writer.writerow([_cell(value) for value in [
                household.street, household.house_number, household.box, household.postcode,
                household.city, household.dwelling_type,
                participation.measure if participation else "",
                _decimal_comma(participation.quantity if participation else None),
                _decimal_comma(participation.measured_quantity if participation else None),
                gettext(STATUS_LABELS[status]) if status else "",
                *contact,
            ]])
    return buffer.getvalue()
