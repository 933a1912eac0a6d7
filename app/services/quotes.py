"""Quote requests for a group: invitations to contractors, quotes with line items (revisable
until the deadline, locked after it), the side-by-side comparison with each household's share,
premium estimate and net cost, and accepting one quote for the group.

Money is integer cents. A quote's total excl. VAT is the sum of its lines (each rounded once);
VAT is computed once on that total; the total incl. VAT is split over the households by
`pricing.split_by_shares` so the shares add up exactly. A household's share weight is its
(measured, else signed-up) quantity for the request's measure; households without a quantity
count as the average of those with one, or all equally when nobody has one.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import Field, field_validator
from sqlmodel import Session, col, func, select

from app.i18n import BRUSSELS, N_, format_instant, format_money, gettext
from app.models import (
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    Organisation,
    Participation,
    Quote,
    QuoteInvitation,
    QuoteLine,
    QuoteRequest,
)
from app.models.base import utcnow
from app.models.enums import (
    Measure,
    ParticipationStatus,
    QuoteRequestStatus,
    QuoteStatus,
    Role,
    Unit,
)
from app.services import audit, estimates, premiums
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.labels import MEASURE_LABELS
from app.services.mail import queue_mail
from app.services.pricing import line_total_cents, split_by_shares, unit_price_cents, with_vat_cents
from app.services.validation import CleanInput, DbId, instant_in_range

REQUEST_STATUS_LABELS: dict[str, str] = {
    QuoteRequestStatus.open: N_("Open"),
    QuoteRequestStatus.awarded: N_("Toegekend"),
    QuoteRequestStatus.cancelled: N_("Geannuleerd"),
}
QUOTE_STATUS_LABELS: dict[str, str] = {
    QuoteStatus.submitted: N_("Ingediend"),
    QuoteStatus.accepted: N_("Aanvaard"),
    QuoteStatus.declined: N_("Niet gekozen"),
}
DEADLINE_PASSED = N_("De termijn is verstreken: offertes kunnen niet meer worden ingediend of "
                     "aangepast.")
# Participations that no longer count for a household's quantity.
_INACTIVE = {ParticipationStatus.cancelled, ParticipationStatus.declined,
             ParticipationStatus.waitlisted}


def today() -> date:
    return utcnow().astimezone(BRUSSELS).date()


def as_instant(value: datetime) -> datetime:
    """A datetime from a form or JSON; without an offset it is Brussels time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BRUSSELS)
    return value.astimezone(UTC)


# --- input models ----------------------------------------------------------------------------


class QuoteRequestCreate(CleanInput):
    measure: Measure
    unit: Unit = Unit.m2
    description: str = Field(default="", max_length=5000)
    deadline: datetime
    contractor_ids: list[DbId] = Field(min_length=1, max_length=20)
    market_unit_price_cents: int | None = Field(default=None, ge=0, le=100_000_000)

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: datetime) -> datetime | None:
        return instant_in_range(value)


class QuoteLineInput(CleanInput):
    description: str = Field(min_length=1, max_length=300)
    quantity: float = Field(gt=0, le=1_000_000)
    unit: Unit
    unit_price_cents: int = Field(ge=0, le=100_000_000)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("Beschrijf deze regel."))
        return value


class QuoteInput(CleanInput):
    lines: list[QuoteLineInput] = Field(min_length=1, max_length=100)
    vat_rate: Literal[6, 21]
    valid_until: date
    lead_time_weeks: int = Field(ge=0, le=520)
    warranty_years: int = Field(ge=0, le=50)
    notes: str = Field(default="", max_length=5000)


# --- quote requests (staff) ------------------------------------------------------------------


def _staff_scope(statement, principal: Principal):  # type: ignore[no-untyped-def]
    """Limit a statement that joins Campaign to the organisations the caller acts for (none
    for contractors and residents)."""
    return statement.where(col(Campaign.organisation_id).in_(principal.organisation_ids))


def get_staff_group(session: Session, principal: Principal, group_id: int) -> Group:
    statement = select(Group).join(Campaign, col(Campaign.id) == Group.campaign_id).where(
        Group.id == group_id)
    group = session.exec(_staff_scope(statement, principal)).first()
    if group is None:
        raise NotFound(N_("Deze groep bestaat niet."))
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None
    audit.record_grant_use(session, principal, [campaign.organisation_id], object_type="group",
                           object_id=group.id)
    return group


def create_quote_request(session: Session, principal: Principal, group_id: int,
                         data: QuoteRequestCreate, *, ip: str = "") -> QuoteRequest:
    """Open a request for a group and invite contractors of the same organisation (mailed)."""
    group = get_staff_group(session, principal, group_id)
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None
    deadline = as_instant(data.deadline)
    if deadline <= utcnow():
        raise Invalid(N_("De termijn moet in de toekomst liggen."), field="deadline")
    contractor_ids = list(dict.fromkeys(data.contractor_ids))
    contractors = session.exec(
        select(Contractor).where(col(Contractor.id).in_(contractor_ids),
                                 Contractor.organisation_id == campaign.organisation_id)
    ).all()
    if len(contractors) != len(contractor_ids):
        raise Invalid(N_("Kies aannemers van je eigen organisatie."), field="contractor_ids")
    request = QuoteRequest(group_id=group.id, measure=data.measure, unit=data.unit,  # type: ignore[arg-type]
                           description=data.description.strip(), deadline=deadline,
                           market_unit_price_cents=data.market_unit_price_cents)
    session.add(request)
    session.flush()
    organisation = session.get(Organisation, campaign.organisation_id)
    household_count = len(_member_ids(session, group.id))  # type: ignore[arg-type]
    for contractor in contractors:
        session.add(QuoteInvitation(quote_request_id=request.id, contractor_id=contractor.id))  # type: ignore[arg-type]
        queue_mail(session, "quote_request_invitation", recipient=contractor.email, context={
            "quote_request_id": request.id,
            "contractor_name": contractor.name,
            "organisation_name": organisation.name if organisation else "",
            "campaign_name": campaign.name,
            "group_name": group.name,
            "household_count": household_count,
            "measure_label": gettext(MEASURE_LABELS[data.measure]),
            "description": request.description,
            "deadline": _format_deadline(deadline),
        })
    audit.record(session, principal, action="quote_request.create", object_type="quote_request",
                 object_id=request.id, organisation_id=campaign.organisation_id, ip=ip)
    session.flush()
    return request


def _format_deadline(deadline: datetime) -> str:
    return format_instant(deadline, "short")


def _member_ids(session: Session, group_id: int) -> list[int]:
    return list(session.exec(
        select(GroupMember.household_id)
        .join(Household, col(Household.id) == GroupMember.household_id)
        .where(GroupMember.group_id == group_id, col(Household.erased_at).is_(None))
    ).all())


@dataclass
class QuoteRequestSummary:
    request: QuoteRequest
    group: Group
    campaign: Campaign
    invited: list[Contractor]
    quotes: list[Quote]

    @property
    def deadline_passed(self) -> bool:
        return self.request.deadline <= utcnow()

    @property
    def can_accept(self) -> bool:
        """Open, with quotes, and after the deadline or once every invited contractor replied."""
        replied = {quote.contractor_id for quote in self.quotes}
        return (self.request.status == QuoteRequestStatus.open and bool(self.quotes)
                and (self.deadline_passed or replied >= {c.id for c in self.invited}))


def _summary(session: Session, request: QuoteRequest) -> QuoteRequestSummary:
    group = session.get(Group, request.group_id)
    assert group is not None
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None
    invited = list(session.exec(
        select(Contractor)
        .join(QuoteInvitation, col(QuoteInvitation.contractor_id) == Contractor.id)
        .where(QuoteInvitation.quote_request_id == request.id).order_by(col(Contractor.name))
    ).all())
    quotes = list(session.exec(
        select(Quote).where(Quote.quote_request_id == request.id).order_by(col(Quote.id))
    ).all())
    return QuoteRequestSummary(request, group, campaign, invited, quotes)


def list_quote_requests(session: Session, principal: Principal,
                        group_id: int | None = None) -> list[QuoteRequestSummary]:
    """The organisation's quote requests (of one group, if given), newest first."""
    statement = (select(QuoteRequest)
                 .join(Group, col(Group.id) == QuoteRequest.group_id)
                 .join(Campaign, col(Campaign.id) == Group.campaign_id))
    if group_id is not None:
        statement = statement.where(QuoteRequest.group_id == group_id)
    requests = session.exec(
        _staff_scope(statement, principal).order_by(col(QuoteRequest.id).desc())).all()
    summaries = [_summary(session, request) for request in requests]
    audit.record_grant_use(session, principal, (s.campaign.organisation_id for s in summaries),
                           object_type="quote_request")
    return summaries


def get_staff_quote_request(session: Session, principal: Principal,
                            quote_request_id: int) -> QuoteRequestSummary:
    statement = (select(QuoteRequest)
                 .join(Group, col(Group.id) == QuoteRequest.group_id)
                 .join(Campaign, col(Campaign.id) == Group.campaign_id)
                 .where(QuoteRequest.id == quote_request_id))
    request = session.exec(_staff_scope(statement, principal)).first()
    if request is None:
        raise NotFound(N_("Deze offerteaanvraag bestaat niet."))
    summary = _summary(session, request)
    audit.record_grant_use(session, principal, [summary.campaign.organisation_id],
                           object_type="quote_request", object_id=request.id)
    return summary


def groups_for_staff(session: Session, principal: Principal) -> list[tuple[Group, Campaign]]:
    """Groups a quote request can be opened for, with their campaign."""
    statement = select(Group, Campaign).join(Campaign, col(Campaign.id) == Group.campaign_id)
    rows = session.exec(_staff_scope(statement, principal).order_by(
        col(Campaign.name), col(Group.name))).all()
    audit.record_grant_use(session, principal, (campaign.organisation_id for _, campaign in rows),
                           object_type="group")
    return [(group, campaign) for group, campaign in rows]


def contractors_for_staff(session: Session, principal: Principal) -> list[Contractor]:
    statement = select(Contractor).where(
        col(Contractor.organisation_id).in_(principal.organisation_ids))
    found = list(session.exec(statement.order_by(col(Contractor.name))).all())
    audit.record_grant_use(session, principal, (c.organisation_id for c in found),
                           object_type="contractor")
    return found


# --- invitations and quotes (contractor) -----------------------------------------------------


@dataclass
class Invitation:
    """A request as an invited contractor sees it: no residents' names or addresses."""

    request: QuoteRequest
    group: Group
    campaign: Campaign
    household_count: int
    quantities: list[float]
    quote: Quote | None
    lines: list[QuoteLine]

    @property
    def deadline_passed(self) -> bool:
        return self.request.deadline <= utcnow()

    @property
    def total_quantity(self) -> float:
        return sum(self.quantities)

    @property
    def can_submit(self) -> bool:
        return self.request.status == QuoteRequestStatus.open and not self.deadline_passed


def _invitation(session: Session, request: QuoteRequest, contractor_id: int) -> Invitation:
    group = session.get(Group, request.group_id)
    assert group is not None
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None
    quantities = member_quantities(session, group, request.measure)
    quote = session.exec(select(Quote).where(Quote.quote_request_id == request.id,
                                             Quote.contractor_id == contractor_id)).first()
    lines = _lines(session, quote.id) if quote and quote.id else []
    return Invitation(request, group, campaign, len(quantities),
                      [quantity for quantity in quantities.values() if quantity is not None],
                      quote, lines)


def contractor_invitations(session: Session, principal: Principal) -> list[Invitation]:
    """The requests the caller's contractor is invited to, newest first."""
    requests = session.exec(
        select(QuoteRequest)
        .join(QuoteInvitation, col(QuoteInvitation.quote_request_id) == QuoteRequest.id)
        .where(QuoteInvitation.contractor_id == principal.contractor_id)
        .order_by(col(QuoteRequest.id).desc())
    ).all()
    assert principal.contractor_id is not None or not requests
    return [_invitation(session, request, principal.contractor_id) for request in requests]  # type: ignore[arg-type]


def get_invitation(session: Session, principal: Principal, quote_request_id: int) -> Invitation:
    """A request the caller's contractor is invited to; anyone else: NotFound."""
    request = session.exec(
        select(QuoteRequest)
        .join(QuoteInvitation, col(QuoteInvitation.quote_request_id) == QuoteRequest.id)
        .where(QuoteRequest.id == quote_request_id,
               QuoteInvitation.contractor_id == principal.contractor_id)
    ).first()
    if request is None or principal.contractor_id is None:
        raise NotFound(N_("Deze offerteaanvraag bestaat niet."))
    return _invitation(session, request, principal.contractor_id)


def _lines(session: Session, quote_id: int) -> list[QuoteLine]:
    return list(session.exec(
        select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(col(QuoteLine.position))
    ).all())


def submit_quote(session: Session, principal: Principal, quote_request_id: int,
                 data: QuoteInput) -> tuple[Quote, bool]:
    """Submit a quote, or revise it (lines replaced) until the deadline. Returns the quote and
    whether it is new. After the deadline, or once the request is closed: Conflict."""
    invitation = get_invitation(session, principal, quote_request_id)
    if invitation.request.status != QuoteRequestStatus.open:
        raise Conflict(N_("Deze offerteaanvraag is afgesloten."))
    if invitation.deadline_passed:
        raise Conflict(DEADLINE_PASSED)
    if data.valid_until < today():
        raise Invalid(N_("De offerte moet vandaag nog geldig zijn."), field="valid_until")
    quote = invitation.quote
    created = quote is None
    now = utcnow()
    if quote is None:
        quote = Quote(quote_request_id=quote_request_id, contractor_id=principal.contractor_id,  # type: ignore[arg-type]
                      valid_until=data.valid_until, submitted_at=now)
    else:
        for old_line in invitation.lines:
            session.delete(old_line)
    quote.vat_rate = data.vat_rate
    quote.valid_until = data.valid_until
    quote.lead_time_weeks = data.lead_time_weeks
    quote.warranty_years = data.warranty_years
    quote.notes = data.notes.strip()
    quote.updated_at = now
    session.add(quote)
    session.flush()
    for position, line in enumerate(data.lines):
        session.add(QuoteLine(quote_id=quote.id, position=position,  # type: ignore[arg-type]
                              description=line.description, quantity=line.quantity,
                              unit=line.unit, unit_price_cents=line.unit_price_cents))
    session.flush()
    return quote, created


# --- comparison ------------------------------------------------------------------------------


def member_quantities(session: Session, group: Group, measure: str) -> dict[int, float | None]:
    """Each member household's quantity for `measure` (measured beats signed up; the group's own
    sign-up beats the group's offer beats any other); None when unknown."""
    members = _member_ids(session, group.id)  # type: ignore[arg-type]
    quantities: dict[int, float | None] = dict.fromkeys(members)
    if not members:
        return quantities
    participations = session.exec(
        select(Participation).where(col(Participation.household_id).in_(members),
                                    Participation.measure == measure)
    ).all()

    def rank(participation: Participation) -> tuple[int, int]:
        if participation.group_id == group.id:
            return (0, participation.id or 0)
        if group.offer_id is not None and participation.offer_id == group.offer_id:
            return (1, participation.id or 0)
        return (2, participation.id or 0)

    for participation in sorted(participations, key=rank, reverse=True):
        if participation.status in _INACTIVE:
            continue
        quantity = participation.measured_quantity
        if quantity is None:
            quantity = participation.quantity
        if quantity is not None:
            quantities[participation.household_id] = quantity
    return quantities


def share_weights(quantities: list[float | None]) -> list[float]:
    """Weights for splitting: the quantity, or the average of the known ones when unknown."""
    known = [quantity for quantity in quantities if quantity]
    fallback = sum(known) / len(known) if known else 1.0
    return [quantity if quantity else fallback for quantity in quantities]


@dataclass
class Member:
    household: Household
    quantity: float | None
    # What the works save this household a year (app.services.estimates), whichever quote.
    savings: "estimates.Savings | None" = None


@dataclass
class MemberCost:
    household_id: int
    share_incl_vat_cents: int
    premium: premiums.PremiumEstimate
    net_cents: int


@dataclass
class QuoteColumn:
    quote: Quote
    contractor: Contractor
    lines: list[QuoteLine]
    total_excl_vat_cents: int
    total_incl_vat_cents: int
    main_quantity: float
    unit_price_cents: int | None
    members: list[MemberCost]
    premium_total_cents: int
    net_total_cents: int
    market_difference_pct: int | None = None
    lowest_net_cost: bool = False
    best_value: bool = False

    @property
    def vat_cents(self) -> int:
        return self.total_incl_vat_cents - self.total_excl_vat_cents

    @property
    def net_per_warranty_year_cents(self) -> int | None:
        if self.quote.warranty_years <= 0:
            return None
        return self.net_total_cents // self.quote.warranty_years


@dataclass
class Comparison:
    request: QuoteRequest
    group: Group
    campaign: Campaign
    members: list[Member]
    columns: list[QuoteColumn] = field(default_factory=list)
    lowest_net_cost_reason: str = ""
    best_value_reason: str = ""
    # Set for a resident: they see their own household's row only.
    viewer_household_id: int | None = None

    @property
    def visible_members(self) -> list[Member]:
        if self.viewer_household_id is None:
            return self.members
        return [m for m in self.members if m.household.id == self.viewer_household_id]


def quote_date(quote: Quote) -> date:
    """The date that decides which premium rule applies: the quote's first submission."""
    return quote.submitted_at.astimezone(BRUSSELS).date()


def build_column(session: Session, request: QuoteRequest, organisation_id: int,
                 quote: Quote, contractor: Contractor, members: list[Member]) -> QuoteColumn:
    lines = _lines(session, quote.id)  # type: ignore[arg-type]
    total_excl = sum(line_total_cents(line.quantity, line.unit_price_cents) for line in lines)
    total_incl = with_vat_cents(total_excl, quote.vat_rate)
    main_quantity = sum(line.quantity for line in lines if line.unit == request.unit)
    shares = split_by_shares(total_incl, share_weights([m.quantity for m in members]))
    on = quote_date(quote)
    costs: list[MemberCost] = []
    rules: premiums.RuleCache = {}
    for member, share in zip(members, shares, strict=True):
        estimate = premiums.estimate(
            session, organisation_id=organisation_id, measure=request.measure,
            income_category=member.household.income_category, on=on,
            cost_incl_vat_cents=share, quantity=member.quantity, rules=rules,
        )
        costs.append(MemberCost(member.household.id, share, estimate,  # type: ignore[arg-type]
                                share - estimate.amount_cents))
    premium_total = sum(cost.premium.amount_cents for cost in costs)
    column = QuoteColumn(
        quote=quote, contractor=contractor, lines=lines, total_excl_vat_cents=total_excl,
        total_incl_vat_cents=total_incl, main_quantity=main_quantity,
        unit_price_cents=unit_price_cents(total_excl, main_quantity),
        members=costs, premium_total_cents=premium_total,
        net_total_cents=total_incl - premium_total,
    )
    market = request.market_unit_price_cents
    if market and column.unit_price_cents is not None:
        column.market_difference_pct = round((column.unit_price_cents - market) * 100 / market)
    return column


def _highlight(comparison: Comparison) -> None:
    """Mark the lowest net cost for the group, and the best value: the lowest net cost per year
    of warranty (a quote without warranty cannot be the best value)."""
    columns = comparison.columns
    if not columns:
        return
    lowest = min(column.net_total_cents for column in columns)
    for column in columns:
        column.lowest_net_cost = column.net_total_cents == lowest
    comparison.lowest_net_cost_reason = gettext(
        "Laagste netto kost voor de hele groep: %(amount)s (totaal incl. btw min de geschatte "
        "premies)."
    ) % {"amount": format_money(lowest)}
    rated = [column for column in columns if column.net_per_warranty_year_cents is not None]
    if not rated:
        comparison.best_value_reason = gettext(
            "Geen beste prijs-kwaliteit aangeduid: geen enkele offerte vermeldt garantie.")
        return
    best = min(rated, key=lambda column: (column.net_per_warranty_year_cents,
                                          column.net_total_cents))
    best.best_value = True
    comparison.best_value_reason = gettext(
        "Beste prijs-kwaliteit: %(contractor)s, met de laagste netto kost per jaar garantie: "
        "%(amount)s per jaar (%(years)s jaar garantie)."
    ) % {"contractor": best.contractor.name,
         "amount": format_money(best.net_per_warranty_year_cents),
         "years": best.quote.warranty_years}


def _build(session: Session, request: QuoteRequest, *,
           viewer_household_id: int | None = None) -> Comparison:
    group = session.get(Group, request.group_id)
    assert group is not None
    campaign = session.get(Campaign, group.campaign_id)
    assert campaign is not None
    quantities = member_quantities(session, group, request.measure)
    households = session.exec(
        select(Household).where(col(Household.id).in_(list(quantities)))
    ).all()
    households = sorted(households, key=lambda h: (h.street.lower(), _number(h.house_number),
                                                   h.house_number, h.box, h.id or 0))
    on = estimates.today()
    members = []
    for household in households:
        quantity = quantities[household.id]  # type: ignore[index]
        members.append(Member(household, quantity, estimates.savings(
            session, organisation_id=campaign.organisation_id, measure=request.measure,
            dwelling_type=household.dwelling_type, quantity=quantity, on=on)
            if quantity else None))
    comparison = Comparison(request, group, campaign, members,
                            viewer_household_id=viewer_household_id)
    rows = session.exec(
        select(Quote, Contractor).join(Contractor, col(Contractor.id) == Quote.contractor_id)
        .where(Quote.quote_request_id == request.id).order_by(col(Quote.submitted_at),
                                                              col(Quote.id))
    ).all()
    for quote, contractor in rows:
        comparison.columns.append(
            build_column(session, request, campaign.organisation_id, quote, contractor, members))
    _highlight(comparison)
    return comparison


def _number(house_number: str) -> int:
    digits = "".join(ch for ch in house_number if ch.isdigit())
    return int(digits) if digits else 0


def get_comparison(session: Session, principal: Principal, quote_request_id: int, *,
                   ip: str = "") -> Comparison:
    """The comparison for staff of the organisation, or for a resident of a member household
    (who sees only their own household's row). Anyone else: NotFound."""
    statement = (select(QuoteRequest)
                 .join(Group, col(Group.id) == QuoteRequest.group_id)
                 .join(Campaign, col(Campaign.id) == Group.campaign_id)
                 .where(QuoteRequest.id == quote_request_id))
    viewer: int | None = None
    if principal.role == Role.resident:
        statement = statement.join(GroupMember, col(GroupMember.group_id) == Group.id).where(
            GroupMember.household_id == principal.household_id)
        viewer = principal.household_id
    else:
        statement = _staff_scope(statement, principal)
    request = session.exec(statement).first()
    if request is None:
        raise NotFound(N_("Deze offertevergelijking bestaat niet."))
    comparison = _build(session, request, viewer_household_id=viewer)
    if principal.role != Role.resident:
        audit.record(session, principal, action="quote_request.compare",
                     object_type="quote_request", object_id=request.id,
                     organisation_id=comparison.campaign.organisation_id, ip=ip)
    return comparison


def comparison_json(comparison: Comparison) -> dict[str, object]:
    request = comparison.request
    visible = {m.household.id for m in comparison.visible_members}
    resident = comparison.viewer_household_id is not None
    return {
        "quote_request": {
            "id": request.id, "group_id": request.group_id, "measure": request.measure,
            "unit": request.unit, "description": request.description,
            "deadline": request.deadline, "status": request.status,
            "market_unit_price_cents": request.market_unit_price_cents,
        },
        "group": {"id": comparison.group.id, "name": comparison.group.name,
                  "household_count": len(comparison.members)},
        "households": [
            {"household_id": m.household.id, "quantity": m.quantity,
             "income_category": m.household.income_category,
             "address": None if resident else _address(m.household),
             "is_you": m.household.id == comparison.viewer_household_id}
            for m in comparison.visible_members
        ],
        "quotes": [
            {
                "id": column.quote.id,
                "contractor": {"id": column.contractor.id, "name": column.contractor.name},
                "status": column.quote.status,
                "submitted_at": column.quote.submitted_at,
                "updated_at": column.quote.updated_at,
                "vat_rate": column.quote.vat_rate,
                "lines": [{"description": line.description, "quantity": line.quantity,
                           "unit": line.unit, "unit_price_cents": line.unit_price_cents,
                           "total_excl_vat_cents": line_total_cents(line.quantity,
                                                                    line.unit_price_cents)}
                          for line in column.lines],
                "total_excl_vat_cents": column.total_excl_vat_cents,
                "vat_cents": column.vat_cents,
                "total_incl_vat_cents": column.total_incl_vat_cents,
                "main_quantity": column.main_quantity,
                "unit_price_cents": column.unit_price_cents,
                "market_difference_pct": column.market_difference_pct,
                "premium_total_cents": column.premium_total_cents,
                "net_total_cents": column.net_total_cents,
                "net_per_warranty_year_cents": column.net_per_warranty_year_cents,
                "lead_time_weeks": column.quote.lead_time_weeks,
                "warranty_years": column.quote.warranty_years,
                "valid_until": column.quote.valid_until,
                "notes": column.quote.notes,
                "lowest_net_cost": column.lowest_net_cost,
                "best_value": column.best_value,
                "households": [
                    {"household_id": cost.household_id,
                     "share_incl_vat_cents": cost.share_incl_vat_cents,
                     "premium_cents": cost.premium.amount_cents,
                     "premium_known": cost.premium.known,
                     "premium_note": gettext(cost.premium.reason) if cost.premium.reason else "",
                     "net_cents": cost.net_cents}
                    for cost in column.members if cost.household_id in visible
                ],
            }
            for column in comparison.columns
        ],
        "lowest_net_cost_reason": comparison.lowest_net_cost_reason,
        "best_value_reason": comparison.best_value_reason,
        "premium_disclaimer": gettext(premiums.ESTIMATE_NOTE),
    }


def _address(household: Household) -> str:
    box = f" bus {household.box}" if household.box else ""
    return f"{household.street} {household.house_number}{box}"


# --- accepting -------------------------------------------------------------------------------


def accept_quote(session: Session, principal: Principal, quote_id: int, *,
                 ip: str = "", quote_request_id: int | None = None) -> Quote:
    """The group accepts one quote: the others are declined, the request awarded, contractors
    and member households (with an email address) notified. With `quote_request_id` (a URL
    naming both), the quote must belong to that request."""
    statement = (select(Quote)
                 .join(QuoteRequest, col(QuoteRequest.id) == Quote.quote_request_id)
                 .join(Group, col(Group.id) == QuoteRequest.group_id)
                 .join(Campaign, col(Campaign.id) == Group.campaign_id)
                 .where(Quote.id == quote_id))
    if quote_request_id is not None:
        statement = statement.where(Quote.quote_request_id == quote_request_id)
    quote = session.exec(_staff_scope(statement, principal)).first()
    if quote is None:
        raise NotFound(N_("Deze offerte bestaat niet."))
    summary = _summary(session, session.get(QuoteRequest, quote.quote_request_id))  # type: ignore[arg-type]
    request = summary.request
    if request.status != QuoteRequestStatus.open:
        raise Conflict(N_("Deze offerteaanvraag is al afgesloten."))
    if not summary.can_accept:
        raise Conflict(N_("Wacht tot de termijn verstreken is of tot elke uitgenodigde aannemer "
                          "een offerte indiende."))
    if quote.valid_until < today():
        raise Conflict(N_("Deze offerte is niet meer geldig."))
    comparison = _build(session, request)
    organisation = session.get(Organisation, summary.campaign.organisation_id)
    common = {"group_name": summary.group.name, "campaign_name": summary.campaign.name,
              "organisation_name": organisation.name if organisation else ""}
    contractors = {contractor.id: contractor for contractor in summary.invited}
    for other in summary.quotes:
        other.status = QuoteStatus.accepted if other.id == quote.id else QuoteStatus.declined
        other.updated_at = utcnow()
        session.add(other)
    request.status = QuoteRequestStatus.awarded
    session.add(request)
    winner = next(column for column in comparison.columns if column.quote.id == quote.id)
    submitted = {other.contractor_id for other in summary.quotes}
    for contractor_id, contractor in contractors.items():
        if contractor_id == quote.contractor_id:
            queue_mail(session, "quote_accepted", recipient=contractor.email, context={
                **common, "contractor_name": contractor.name,
                "total_incl_vat_cents": winner.total_incl_vat_cents})
        else:
            queue_mail(session, "quote_declined", recipient=contractor.email, context={
                **common, "contractor_name": contractor.name,
                "submitted": contractor_id in submitted})
    costs = {cost.household_id: cost for cost in winner.members}
    for member in comparison.members:
        if not member.household.email:
            continue
        cost = costs[member.household.id]  # type: ignore[index]
        queue_mail(session, "quote_comparison", household_id=member.household.id, context={
            **common, "contractor_name": winner.contractor.name,
            "quote_request_id": request.id,
            "share_incl_vat_cents": cost.share_incl_vat_cents,
            "premium_cents": cost.premium.amount_cents,
            "premium_known": cost.premium.known, "net_cents": cost.net_cents})
    audit.record(session, principal, action="quote.accept", object_type="quote",
                 object_id=quote.id, organisation_id=summary.campaign.organisation_id, ip=ip)
    session.flush()
    return quote


# --- for the resident's pages ----------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdQuoteRequest:
    """A quote request of a group the household belongs to, for a link from /mijn."""

    id: int
    group_name: str
    measure: str
    status: str
    deadline: datetime
    quote_count: int
    url: str


def quote_requests_for_household(
    session: Session, household_id: int
) -> list[HouseholdQuoteRequest]:
    """The quote requests of every group the household is a member of, newest first; each links
    to its comparison at /vergelijk/{id}."""
    quote_count = (select(func.count(col(Quote.id)))
                   .where(Quote.quote_request_id == QuoteRequest.id)
                   .correlate(QuoteRequest).scalar_subquery())
    rows = session.exec(
        select(QuoteRequest, Group.name, quote_count)
        .join(Group, col(Group.id) == QuoteRequest.group_id)
        .join(GroupMember, col(GroupMember.group_id) == Group.id)
        .where(GroupMember.household_id == household_id,
               QuoteRequest.status != QuoteRequestStatus.cancelled)
        .order_by(col(QuoteRequest.id).desc())
    ).all()
    return [HouseholdQuoteRequest(request.id, group_name, request.measure, request.status,  # type: ignore[arg-type]
                                  request.deadline, count, f"/vergelijk/{request.id}")
            for request, group_name, count in rows]
