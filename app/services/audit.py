"""The audit log: who viewed or changed which resident's data, and every refused access.
Lines name objects by id, never by their personal data."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from app.i18n import BRUSSELS, N_
from app.models import AuditEvent
from app.services.auth import Principal

MAX_PAGE_SIZE = 200
OUTCOME_DENIED = "denied"
ACTION_LABELS: dict[str, str] = {
    "household.view": N_("Huishouden bekeken"),
    "household.list": N_("Lijst van huishoudens bekeken"),
    "household.export": N_("Huishoudens geëxporteerd (CSV)"),
    "household.paper_intake": N_("Papieren inschrijving ingevoerd"),
    "campaign.view": N_("Wijk bekeken"),
    "campaign.create": N_("Wijk aangemaakt"),
    "campaign.update": N_("Wijk gewijzigd"),
    "offer.view": N_("Aanbod bekeken"),
    "offer.create": N_("Aanbod aangemaakt"),
    "offer.update": N_("Aanbod gewijzigd"),
    "contractor.create": N_("Aannemer aangemaakt"),
    "group.list": N_("Groepen bekeken"),
    "batch.create": N_("Batch toegewezen aan aannemer"),
    "batch.view": N_("Batch bekeken"),
    "batch.export": N_("Batch geëxporteerd (CSV)"),
    "participation.status": N_("Status van een deelname gewijzigd"),
    "participation.withdraw": N_("Inschrijving ingetrokken door bewoner"),
    "quote_request.create": N_("Offerteaanvraag geopend"),
    "quote_request.compare": N_("Offertevergelijking bekeken"),
    "quote.accept": N_("Offerte aanvaard"),
    "claim.confirmed": N_("Inschrijving aan een bekend adres bevestigd"),
    "claim.rejected": N_("Inschrijving aan een bekend adres geweigerd"),
    "household.update_self": N_("Gegevens gewijzigd door bewoner"),
    "household.export_self": N_("Gegevens gedownload door bewoner"),
    "household.erase": N_("Gegevens gewist op vraag van bewoner"),
    "access_grant.create": N_("Toegang gegeven aan een platformbeheerder"),
    "access_grant.revoke": N_("Toegang van een platformbeheerder ingetrokken"),
    "access_grant.use": N_("Gegevens geopend met een toegangsrecht"),
    "savings_assumption.create": N_("Besparingsaanname toegevoegd"),
    "savings_assumption.update": N_("Besparingsaanname gewijzigd"),
    "savings_assumption.delete": N_("Besparingsaanname verwijderd"),
    "energy_factor.create": N_("Energieprijs en emissiefactor toegevoegd"),
    "energy_factor.update": N_("Energieprijs en emissiefactor gewijzigd"),
    "household.income_category": N_("Inkomenscategorie bewaard door bewoner"),
    "support_path.update": N_("Ondersteuningstraject gewijzigd"),
}


def record(
    session: Session,
    principal: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: int | None = None,
    household_id: int | None = None,
    organisation_id: int | None = None,
    ip: str = "",
    outcome: str = "ok",
    operator: str = "",
) -> None:
    """One line in an organisation's log (by default the caller's own). A line an admin writes
    in another organisation names the access grant that lets them act there. `operator` names
    who ran a command-line action (there is no principal then)."""
    organisation_id = organisation_id if organisation_id is not None else (
        principal.organisation_id if principal else None)
    actor_kind = principal.role.value if principal else ("operator" if operator else "anonymous")
    session.add(AuditEvent(
        organisation_id=organisation_id,
        actor_user_id=principal.user_id if principal else None,
        actor_kind=actor_kind,
        actor_label=principal.email if principal else operator,
        action=action,
        object_type=object_type,
        object_id=object_id,
        household_id=household_id,
        ip=ip,
        outcome=outcome,
        access_grant_id=principal.grant_for(organisation_id) if principal else None,
    ))


def record_grant_use(
    session: Session,
    principal: Principal,
    organisation_ids: Iterable[int | None],
    *,
    object_type: str,
    object_id: int | None = None,
    ip: str = "",
) -> None:
    """The caller reached data of these organisations: for each one reached through an access
    grant (not their own), a line in that organisation's log naming the object and the grant,
    once per object and request. Staff and admins in their own organisation write nothing."""
    for organisation_id in set(organisation_ids):
        if organisation_id is None or principal.grant_for(organisation_id) is None:
            continue
        use = (organisation_id, object_type, object_id)
        if use in principal.recorded_grant_uses:
            continue
        principal.recorded_grant_uses.add(use)
        record(session, principal, action="access_grant.use", object_type=object_type,
               object_id=object_id, organisation_id=organisation_id, ip=ip)


def record_denied(
    session: Session,
    principal: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: int | None = None,
    owner_organisation_id: int | None = None,
    ip: str = "",
) -> None:
    """A refused access (another organisation's object, or none at all). It is committed at
    once, because the request that caused it ends in an error and rolls back.

    It goes to the owning organisation's log when the object exists, so they see who tried;
    otherwise to the caller's."""
    record(session, principal, action=action, object_type=object_type, object_id=object_id,
           organisation_id=owner_organisation_id, ip=ip, outcome=OUTCOME_DENIED)
    session.commit()


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    household_id: int | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    page_size: int


# Dates outside this range select the same events as its ends (the log starts after 2000), and
# clamping keeps year 1 or 9999 from overflowing the conversion to UTC.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(9000, 1, 1)


def _day_start(day: date) -> datetime:
    day = min(max(day, EARLIEST_DAY), LATEST_DAY)
    return datetime.combine(day, time.min, tzinfo=BRUSSELS)


def list_events(
    session: Session,
    principal: Principal,
    filters: AuditFilters,
    *,
    page: int = 1,
    page_size: int = 50,
) -> AuditPage:
    """The events of the organisations the caller acts for (their own; an admin also those of
    a live access grant, which writes that use in their log), newest first, one page."""
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    record_grant_use(session, principal, principal.organisation_ids, object_type="audit_event")
    conditions: list[ColumnElement[bool]] = [
        col(AuditEvent.organisation_id).in_(principal.organisation_ids)]
    if filters.action:
        conditions.append(col(AuditEvent.action) == filters.action)
    if filters.actor:
        conditions.append(col(AuditEvent.actor_label).ilike(f"%{_escape(filters.actor)}%",
                                                          escape="\\"))
    if filters.object_type:
        conditions.append(col(AuditEvent.object_type) == filters.object_type)
    if filters.household_id is not None:
        conditions.append(col(AuditEvent.household_id) == filters.household_id)
    if filters.outcome:
        conditions.append(col(AuditEvent.outcome) == filters.outcome)
    if filters.date_from:
        conditions.append(col(AuditEvent.created_at) >= _day_start(filters.date_from))
    if filters.date_to:
        conditions.append(col(AuditEvent.created_at)
                          < _day_start(min(filters.date_to, LATEST_DAY) + timedelta(days=1)))
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    items = list(session.exec(
        select(AuditEvent).where(*conditions)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .offset((page - 1) * page_size).limit(page_size)
    ).all())
    return AuditPage(items=items, total=total, page=page, page_size=page_size)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
