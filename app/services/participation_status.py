"""Moving a household's participation through the works: by staff of its organisation, by the
contractor whose batch holds it, or by the resident deciding on the personal offer. Every move
goes through status_flow.change_status (recorded with who, when and why), and the steps that
need the resident's action (visit planned, personal offer) mail the resident a magic link."""

from datetime import date, timedelta

from pydantic import Field
from sqlalchemy import exists
from sqlmodel import Session, col, select

from app.i18n import BRUSSELS, N_, format_day
from app.models import Batch, Campaign, Contractor, Group, GroupMember, Household, Participation
from app.models.base import utcnow
from app.models.enums import ParticipationStatus as S
from app.models.enums import Role
from app.services import audit
from app.services.auth import Principal
from app.services.contractor_portal import participation_in_batch
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.mail import queue_mail
from app.services.status_flow import (
    CONTRACTOR_STEPS,
    STATUS_LABELS,
    Actor,
    change_status,
    check_transition,
    next_steps,
)
from app.services.validation import CleanInput

# A personal offer without a stated deadline can be answered for this many days.
PERSONAL_OFFER_DAYS = 30


class StatusChange(CleanInput):
    """A move to another status, with the date it happened (or is planned) and a note."""

    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=2000)
    occurred_on: date | None = None
    measured_quantity: float | None = Field(default=None, ge=0, le=100_000)
    personal_offer_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    personal_offer_deadline: date | None = None


def today() -> date:
    return utcnow().astimezone(BRUSSELS).date()


def get_participation_for(session: Session, principal: Principal,
                          participation_id: int) -> Participation:
    """A participation the caller may move: staff of its organisation, or the contractor whose
    batch holds it. Anyone else: NotFound."""
    statement = select(Participation).where(Participation.id == participation_id)
    if principal.role == Role.contractor:
        in_own_batch = (
            select(Batch.id)
            .join(Group, col(Group.id) == Batch.group_id)
            .where(Batch.contractor_id == principal.contractor_id, GroupMember.group_id == Group.id,
                   participation_in_batch())
            .correlate(Participation)
        )
        statement = statement.where(exists(in_own_batch))
    elif principal.is_staff:
        statement = (
            statement.join(Household, col(Household.id) == Participation.household_id)
            .join(Campaign, col(Campaign.id) == Household.campaign_id)
            .where(col(Campaign.organisation_id).in_(principal.organisation_ids))
        )
    else:
        raise NotFound(N_("Deze deelname bestaat niet."))
    participation = session.exec(statement).first()
    if participation is None:
        raise NotFound(N_("Deze deelname bestaat niet."))
    return participation


def allowed_next_steps(principal: Principal, participation: Participation) -> list[S]:
    return next_steps(participation.status, contractor=principal.role == Role.contractor)


def move_participation(session: Session, principal: Principal, participation_id: int,
                       change: StatusChange, *, ip: str = "") -> Participation:
    """Move a participation on; refusals say why (409 transition, 403 not this role's step,
    422 a field). Nothing is changed unless everything is valid."""
    participation = get_participation_for(session, principal, participation_id)
    target = check_transition(participation.status, change.status, note=change.note)
    if principal.role == Role.contractor and target not in CONTRACTOR_STEPS:
        raise Forbidden(
            N_("Deze stap zet de bewoner of het energiehuis, niet de aannemer."), field="status"
        )
    if change.measured_quantity is not None and target != S.measured:
        raise Invalid(N_("Een opgemeten hoeveelheid hoort bij de stap ‘Opgemeten’."),
                      field="measured_quantity")
    if target != S.offered and (change.personal_offer_cents is not None
                                or change.personal_offer_deadline is not None):
        raise Invalid(N_("Een persoonlijke offerte hoort bij de stap ‘Persoonlijke offerte’."),
                      field="personal_offer_cents")
    if change.personal_offer_deadline is not None and change.personal_offer_deadline < today():
        raise Invalid(N_("De antwoordtermijn ligt in het verleden."),
                      field="personal_offer_deadline")
    if target == S.visit_planned and change.occurred_on is not None \
            and change.occurred_on < today() - timedelta(days=365):
        raise Invalid(N_("Deze datum ligt te ver in het verleden."), field="occurred_on")

    actor = Actor(principal.role.value, principal.user_id)
    change_status(session, participation, target, actor=actor, note=change.note,
                  occurred_on=change.occurred_on)
    if target == S.measured and change.measured_quantity is not None:
        participation.measured_quantity = change.measured_quantity
    if target == S.offered:
        if change.personal_offer_cents is not None:
            participation.personal_offer_cents = change.personal_offer_cents
        participation.personal_offer_deadline = (
            change.personal_offer_deadline or today() + timedelta(days=PERSONAL_OFFER_DAYS)
        )
    session.add(participation)
    household = session.get(Household, participation.household_id)
    assert household is not None
    _notify_resident(session, principal, participation, household, change)
    campaign = session.get(Campaign, household.campaign_id)
    audit.record(session, principal, action="participation.status", object_type="participation",
                 object_id=participation.id, household_id=household.id,
                 organisation_id=campaign.organisation_id if campaign else None, ip=ip)
    session.flush()
    return participation


def _contractor_name(session: Session, principal: Principal) -> str:
    if principal.contractor_id is None:
        return ""
    contractor = session.get(Contractor, principal.contractor_id)
    return contractor.name if contractor else ""


def _notify_resident(session: Session, principal: Principal, participation: Participation,
                     household: Household, change: StatusChange) -> None:
    """Mail the resident at the steps that need their action. Without an email address the
    household is on the staff's call list instead."""
    status = S(participation.status)
    if status not in (S.visit_planned, S.offered) or not household.email:
        return
    context = {
        "participation_id": participation.id,
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "measure": participation.measure or "",
        "note": change.note.strip(),
        "contractor_name": _contractor_name(session, principal),
    }
    if status == S.visit_planned:
        context["visit_date"] = format_day(change.occurred_on) if change.occurred_on else ""
        queue_mail(session, "status_update", household_id=household.id, context=context)
    else:
        context["personal_offer_cents"] = participation.personal_offer_cents
        context["deadline"] = format_day(participation.personal_offer_deadline)
        queue_mail(session, "personal_offer", household_id=household.id, context=context)


def decide_personal_offer(session: Session, household_id: int, participation_id: int,
                          accept: bool) -> Participation:
    """The resident accepts or declines their personal offer before its deadline."""
    participation = session.exec(
        select(Participation).where(Participation.id == participation_id,
                                    Participation.household_id == household_id)
    ).first()
    if participation is None:
        raise NotFound(N_("Deze deelname bestaat niet."))
    if participation.status != S.offered:
        raise Conflict(N_("Er staat geen persoonlijke offerte open om te beantwoorden."),
                       field="decision")
    deadline = participation.personal_offer_deadline
    if deadline is not None and deadline < today():
        raise Conflict(N_("De termijn om op deze offerte te antwoorden is verstreken. "
                          "Neem contact op met het energiehuis."), field="decision")
    target = S.accepted if accept else S.declined
    change_status(session, participation, target, actor=Actor("resident"),
                  note=N_("Beslissing van de bewoner"), occurred_on=today())
    session.flush()
    return participation
