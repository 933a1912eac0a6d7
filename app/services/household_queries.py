"""What staff see of a campaign's households: the filtered, sorted, paginated list (one page
query and one count query, only the needed columns), one household's page with its sign-ups and
their history, and the CSV export of a filtered list. Every query is scoped to a campaign the
caller's organisation owns."""

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.i18n import N_, format_instant, gettext
from app.models import Campaign, Household, Offer, Participation, ParticipationEvent
from app.services import audit
from app.services.auth import Principal
from app.services.errors import NotFound
from app.services.labels import (  # noqa: F401  (re-exported for the pages)
    BUDGET_BAND_LABELS,
    DWELLING_TYPE_LABELS,
    LIFE_PHASE_LABELS,
    MEASURE_LABELS,
    PROFILE_LABELS,
    SOURCE_LABELS,
    TENURE_LABELS,
)
from app.services.status_flow import STATUS_LABELS
from app.services.validation import without_invisible_characters

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
SORTS = ("street", "name", "created_at")

# The columns a list row needs; never the whole row (income, energy bill, consents).
_LIST_COLUMNS = tuple(col(getattr(Household, name)) for name in (
    "id", "name", "email", "phone", "street", "house_number", "box", "postcode", "city",
    "dwelling_type", "build_year", "tenure", "life_phase", "budget_band", "profile", "source",
    "share_contact_with_contractor", "created_at",
))


@dataclass(frozen=True)
class HouseholdFilters:
    street: str | None = None
    life_phase: str | None = None
    budget_band: str | None = None
    profile: str | None = None
    tenure: str | None = None
    measure: str | None = None
    status: str | None = None
    q: str | None = None
    has_email: bool | None = None

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as URL query parameters (for links that keep them)."""
        items = [(name, str(value)) for name, value in vars(self).items()
                 if value not in (None, "") and name != "has_email"]
        if self.has_email is not None:
            items.append(("has_email", "true" if self.has_email else "false"))
        return items


@dataclass(frozen=True)
class ParticipationSummary:
    id: int
    offer_id: int | None
    measure: str | None
    status: str


@dataclass
class HouseholdRow:
    id: int
    name: str
    email: str | None
    phone: str | None
    street: str
    house_number: str
    box: str
    postcode: str
    city: str
    dwelling_type: str | None
    build_year: int | None
    tenure: str | None
    life_phase: str | None
    budget_band: str | None
    profile: str | None
    source: str
    share_contact_with_contractor: bool
    created_at: datetime
    participations: list[ParticipationSummary] = field(default_factory=list)


@dataclass(frozen=True)
class HouseholdPage:
    items: list[HouseholdRow]
    total: int
    page: int
    page_size: int
    sort: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class ParticipationDetail:
    participation: Participation
    offer: Offer | None
    events: list[ParticipationEvent]


@dataclass(frozen=True)
class HouseholdDetail:
    household: Household
    campaign: Campaign
    participations: list[ParticipationDetail]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: Any, pattern: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match. SQLite's LIKE already ignores the case of ASCII
    letters, exactly the letters its lower() folds, so `x LIKE p` matches what
    `lower(x) LIKE lower(p)` matches without lowering every row's text."""
    if dialect == "sqlite":
        return col(column).like(pattern, escape="\\")
    return col(column).ilike(pattern, escape="\\")


def _conditions(campaign_id: int, filters: HouseholdFilters,
                dialect: str = "") -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        col(Household.campaign_id) == campaign_id,
        col(Household.erased_at).is_(None),
    ]
    if filters.street:
        conditions.append(func.lower(col(Household.street)) == filters.street.strip().lower())
    for name in ("life_phase", "budget_band", "profile", "tenure"):
        value = getattr(filters, name)
        if value:
            conditions.append(getattr(Household, name) == value)
    if filters.measure or filters.status:
        # The households with such a sign-up, from ix_participation_measure_status (no probe
        # of every household's sign-ups).
        signed_up = select_columns(col(Participation.household_id))
        if filters.measure:
            signed_up = signed_up.where(col(Participation.measure) == filters.measure)
        if filters.status:
            signed_up = signed_up.where(col(Participation.status) == filters.status)
        conditions.append(col(Household.id).in_(signed_up))
    if filters.q and filters.q.strip():
        pattern = f"%{_escape_like(filters.q.strip())}%"
        conditions.append(or_(
            _contains(Household.name, pattern, dialect),
            _contains(Household.email, pattern, dialect),
            _contains(Household.street, pattern, dialect),
        ))
    if filters.has_email is True:
        conditions.append(col(Household.email).is_not(None))
        conditions.append(col(Household.email) != "")
    elif filters.has_email is False:
        conditions.append(or_(col(Household.email).is_(None), col(Household.email) == ""))
    return conditions


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "name":
        columns: list[Any] = [col(Household.name)]
    elif key == "created_at":
        columns = [col(Household.created_at)]
    else:
        # Neighbours together: "2" before "10" (shorter numbers first, then as text).
        columns = [col(Household.street), func.length(col(Household.house_number)),
                   col(Household.house_number), col(Household.box)]
    columns.append(col(Household.id))
    return [column.desc() if descending else column for column in columns]


def normalise_sort(sort: str | None) -> str:
    if sort and sort.lstrip("-") in SORTS:
        return sort
    return "street"


def _rows(session: Session, statement: Any) -> list[HouseholdRow]:
    return [HouseholdRow(**row._asdict()) for row in session.execute(statement).all()]


def _attach_participations(session: Session, rows: list[HouseholdRow]) -> None:
    if not rows:
        return
    by_household = {row.id: row for row in rows}
    for participation_id, household_id, offer_id, measure, status in session.execute(
        select_columns(col(Participation.id), col(Participation.household_id),
                       col(Participation.offer_id), col(Participation.measure),
                       col(Participation.status))
        .where(col(Participation.household_id).in_(list(by_household)))
        .order_by(col(Participation.id))
    ).all():
        assert participation_id is not None
        by_household[household_id].participations.append(
            ParticipationSummary(participation_id, offer_id, measure, status))


def list_households(
    session: Session,
    principal: Principal,
    campaign: Campaign,
    filters: HouseholdFilters,
    *,
    sort: str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    ip: str = "",
) -> HouseholdPage:
    """One page of a campaign's households; the view is written to the audit log. The campaign
    comes from a scoped lookup (campaigns.get_staff_campaign), so the caller may see it."""
    assert campaign.id is not None
    audit.record(session, principal, action="household.list", object_type="campaign",
                 object_id=campaign.id, organisation_id=campaign.organisation_id, ip=ip)
    sort = normalise_sort(sort)
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    conditions = _conditions(campaign.id, filters, _dialect(session))
    total = session.exec(
        select(func.count(col(Household.id))).where(*conditions)
    ).one()
    rows = _rows(session, select_columns(*_LIST_COLUMNS).where(*conditions).order_by(*_order(sort))
                 .offset((page - 1) * page_size).limit(page_size))
    _attach_participations(session, rows)
    return HouseholdPage(items=rows, total=total, page=page, page_size=page_size, sort=sort)


def campaign_streets(session: Session, campaign: Campaign) -> list[str]:
    """The streets to filter on: the wijk's own list, else the streets households live in."""
    if campaign.streets:
        return sorted(campaign.streets)
    return list(session.exec(
        select(Household.street).where(Household.campaign_id == campaign.id,
                                       col(Household.erased_at).is_(None))
        .distinct().order_by(col(Household.street))
    ).all())


def get_household_detail(
    session: Session, principal: Principal, campaign: Campaign, household_id: int,
    *, ip: str | None = None,
) -> HouseholdDetail:
    """One household of a campaign the caller may see, with its sign-ups and their history.
    The view is written to the audit log (a refusal too, when `ip` is given)."""
    statement = (
        select(Household).join(Campaign, col(Campaign.id) == col(Household.campaign_id))
        .where(Household.id == household_id, Household.campaign_id == campaign.id,
               col(Campaign.organisation_id).in_(principal.organisation_ids))
    )
    household = session.exec(statement).first()
    if household is None:
        if ip is not None:
            audit.record_denied(session, principal, action="household.view",
                                object_type="household", object_id=household_id,
                                owner_organisation_id=household_owner_organisation(
                                    session, household_id), ip=ip)
        raise NotFound(N_("Dit huishouden bestaat niet."))
    audit.record(session, principal, action="household.view", object_type="household",
                 object_id=household_id, household_id=household_id,
                 organisation_id=campaign.organisation_id, ip=ip or "")
    participations = list(session.exec(
        select(Participation).where(Participation.household_id == household_id)
        .order_by(col(Participation.id))
    ).all())
    offer_ids = [p.offer_id for p in participations if p.offer_id is not None]
    offers = {offer.id: offer for offer in session.exec(
        select(Offer).where(col(Offer.id).in_(offer_ids)))} if offer_ids else {}
    events: dict[int, list[ParticipationEvent]] = {p.id: [] for p in participations}  # type: ignore[misc]
    if participations:
        for event in session.exec(
            select(ParticipationEvent)
            .where(col(ParticipationEvent.participation_id).in_(list(events)))
            .order_by(col(ParticipationEvent.created_at), col(ParticipationEvent.id))
        ).all():
            events[event.participation_id].append(event)
    return HouseholdDetail(
        household=household, campaign=campaign,
        participations=[
            ParticipationDetail(p, offers.get(p.offer_id), events[p.id])  # type: ignore[index, arg-type]
            for p in participations
        ],
    )


def household_owner_organisation(session: Session, household_id: int) -> int | None:
    """Which organisation a household belongs to (for logging a refused access only)."""
    return session.exec(
        select(Campaign.organisation_id).join(Household,
                                              col(Household.campaign_id) == col(Campaign.id))
        .where(Household.id == household_id)
    ).first()


_FORMULA_START = re.compile(r"^[=@\t\r]|^[+\-](?![\d\s]+$)")


def _cell(value: object) -> str:
    """Text for a spreadsheet cell; a value that Excel would run as a formula is quoted, and
    invisible or direction-changing characters are left out (first, so none hides a formula)."""
    text = "" if value is None else without_invisible_characters(str(value))
    return "'" + text if _FORMULA_START.match(text) else text


def _label(labels: Mapping[Any, str], value: str | None) -> str:
    return gettext(labels[value]) if value in labels else (value or "")


def export_households_csv(
    session: Session,
    principal: Principal,
    campaign: Campaign,
    filters: HouseholdFilters,
    *,
    sort: str | None = None,
    ip: str = "",
) -> str:
    """The whole filtered list as CSV for Dutch Excel: UTF-8 with BOM, `;` separated. The
    export is written to the audit log."""
    assert campaign.id is not None
    audit.record(session, principal, action="household.export", object_type="campaign",
                 object_id=campaign.id, organisation_id=campaign.organisation_id, ip=ip)
    return "".join(_csv_chunks(session, campaign.id, filters, sort))


def _csv_chunks(
    session: Session, campaign_id: int, filters: HouseholdFilters, sort: str | None
) -> Iterator[str]:
    conditions = _conditions(campaign_id, filters, _dialect(session))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([gettext(h) for h in (
        N_("id"), N_("naam"), N_("e-mail"), N_("telefoon"), N_("straat"), N_("huisnummer"),
        N_("bus"), N_("postcode"), N_("gemeente"), N_("woningtype"), N_("bouwjaar"),
        N_("eigendom"), N_("levensfase"), N_("budget"), N_("kan/wil"), N_("bron"),
        N_("ingeschreven op"), N_("inschrijvingen"),
    )])
    yield "\ufeff" + flush()
    offset, chunk = 0, 1000
    while True:
        rows = _rows(session, select_columns(*_LIST_COLUMNS).where(*conditions)
                     .order_by(*_order(normalise_sort(sort))).offset(offset).limit(chunk))
        if not rows:
            return
        _attach_participations(session, rows)
        for row in rows:
            sign_ups = ", ".join(
                f"{_label(MEASURE_LABELS, p.measure)}: {_label(STATUS_LABELS, p.status)}"
                for p in row.participations
            )
            writer.writerow([_cell(value) for value in (
                row.id, row.name, row.email, row.phone, row.street, row.house_number, row.box,
                row.postcode, row.city, _label(DWELLING_TYPE_LABELS, row.dwelling_type),
                row.build_year, _label(TENURE_LABELS, row.tenure),
                _label(LIFE_PHASE_LABELS, row.life_phase),
                _label(BUDGET_BAND_LABELS, row.budget_band), _label(PROFILE_LABELS, row.profile),
                _label(SOURCE_LABELS, row.source), format_instant(row.created_at, "short"),
                sign_ups,
            )])
        yield flush()
        offset += chunk
