"""The klimaattafel poll (answers and the public summary with small cells suppressed) and the
anonymous comparison of a household's energy bill with the wijk's median."""

from dataclasses import dataclass
from statistics import median

from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Campaign, Household, Interest, InterestSubmission, InterestTally
from app.models.enums import Role
from app.services import campaigns as campaign_service
from app.services.auth import Principal
from app.services.errors import Invalid
from app.services.labels import HORIZON_LABELS, MEASURE_LABELS  # noqa: F401
from app.services.validation import character_problem, email_address

# No figure about fewer households than this is ever shown (public results and energy median).
MIN_GROUP_SIZE = 5



@dataclass(frozen=True)
class SummaryCell:
    measure: str
    horizon: str
    # None when fewer than MIN_GROUP_SIZE submissions gave this answer.
    count: int | None


class InterestsInvalid(Invalid):
    """One or more fields of a klimaattafel form are wrong; `errors` has a message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


@dataclass(frozen=True)
class SummaryRow:
    """One measure's results for the table and the chart."""

    measure: str
    counts: dict[str, int | None]


@dataclass(frozen=True)
class EnergyComparison:
    households: int
    median_kwh_year: int | None
    median_cost_cents_year: int | None
    own_kwh_year: int | None
    own_cost_cents_year: int | None

    @property
    def kwh_difference_pct(self) -> float | None:
        return _difference(self.own_kwh_year, self.median_kwh_year)

    @property
    def cost_difference_pct(self) -> float | None:
        return _difference(self.own_cost_cents_year, self.median_cost_cents_year)


def _difference(own: int | None, reference: int | None) -> float | None:
    if own is None or not reference:
        return None
    return (own - reference) / reference


def submit_interests(
    session: Session,
    campaign: Campaign,
    *,
    postcode: str,
    street: str,
    answers: list[tuple[str, str]],
    email: str | None = None,
    household_id: int | None = None,
) -> InterestSubmission:
    """Store one klimaattafel form. It is linked to a household of this wijk only when the
    caller is that logged-in resident (`household_id`): typing a household's email address
    proves nothing (the identity rule), so the answers of anyone else count for the wijk but
    attach to no household. The email, when given, is checked and not kept."""
    postcode, street = postcode.strip(), " ".join(street.split())
    errors: dict[str, str] = {}
    if not postcode:
        errors["postcode"] = N_("Vul je postcode in.")
    if not street:
        errors["street"] = N_("Vul je straat in.")
    for name, value, limit in (("postcode", postcode, 10), ("street", street, 200),
                               ("email", email or "", 254)):
        if len(value) > limit:
            errors[name] = N_("Dit is te lang.")
        elif (problem := character_problem(value)) is not None:
            errors[name] = problem
    if not errors:
        inside, failing_field = campaign_service.address_in_campaign(
            campaign, postcode=postcode, street=street
        )
        if not inside and failing_field == "postcode":
            errors["postcode"] = N_("Deze postcode hoort niet bij deze wijk.")
        elif not inside:
            errors["street"] = N_("Deze straat hoort niet bij deze wijk.")
    if not answers:
        errors["answers"] = N_("Kies bij minstens één maatregel een antwoord.")
    elif len({measure for measure, _ in answers}) != len(answers):
        errors["answers"] = N_("Elke maatregel mag maar één keer beantwoord worden.")
    elif any(measure not in MEASURE_LABELS or horizon not in HORIZON_LABELS
             for measure, horizon in answers):
        errors["answers"] = N_("Kies per maatregel binnen 1 jaar, binnen 5 jaar of niet.")
    if email and email.strip():
        try:
            email_address(email)
        except Invalid as exc:
            errors["email"] = exc.message
    if errors:
        raise InterestsInvalid(errors)
    submission = InterestSubmission(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        household_id=household_id,
        postcode=postcode,
        street=street,
    )
    session.add(submission)
    session.flush()
    session.add_all(
        Interest(submission_id=submission.id, campaign_id=campaign.id,  # type: ignore[arg-type]
                 measure=measure, horizon=horizon)
        for measure, horizon in answers
    )
    session.flush()
    return submission


def resident_household_in(
    session: Session, principal: Principal | None, campaign: Campaign
) -> int | None:
    """The logged-in resident's household when it belongs to this wijk, else None."""
    if principal is None or principal.role != Role.resident:
        return None
    return session.exec(
        select(Household.id).where(
            Household.id == principal.household_id,
            Household.campaign_id == campaign.id,
            col(Household.erased_at).is_(None),
        )
    ).first()


def own_latest_answers(session: Session, household_id: int | None,
                       campaign: Campaign) -> dict[str, str]:
    """The household's most recent klimaattafel answers for this wijk: {measure: horizon}."""
    if household_id is None:
        return {}
    latest = session.exec(
        select(InterestSubmission.id)
        .where(InterestSubmission.household_id == household_id,
               InterestSubmission.campaign_id == campaign.id)
        .order_by(col(InterestSubmission.created_at).desc(), col(InterestSubmission.id).desc())
    ).first()
    if latest is None:
        return {}
    rows = session.exec(
        select(Interest.measure, Interest.horizon).where(Interest.submission_id == latest)
    ).all()
    return dict(rows)


def interest_summary(session: Session, campaign: Campaign) -> list[SummaryCell]:
    """Every measure × horizon, counted per submission; cells under MIN_GROUP_SIZE are None.
    The counts come from the tally the database keeps (InterestTally), not from counting every
    answer."""
    rows = session.exec(
        select(InterestTally.measure, InterestTally.horizon, InterestTally.answers)
        .where(InterestTally.campaign_id == campaign.id)
    ).all()
    counts = {(measure, horizon): count for measure, horizon, count in rows}
    cells = []
    for measure in MEASURE_LABELS:
        for horizon in HORIZON_LABELS:
            count = counts.get((measure, horizon), 0)
            cells.append(SummaryCell(str(measure), str(horizon),
                                     count if count >= MIN_GROUP_SIZE else None))
    return cells


def summary_rows(cells: list[SummaryCell]) -> list[SummaryRow]:
    """The summary per measure, in the order of MEASURE_LABELS."""
    rows: dict[str, dict[str, int | None]] = {}
    for cell in cells:
        rows.setdefault(cell.measure, {})[cell.horizon] = cell.count
    return [SummaryRow(measure, counts) for measure, counts in rows.items()]


def energy_comparison(session: Session, household: Household) -> EnergyComparison | None:
    """The wijk's median yearly use and bill; None until MIN_GROUP_SIZE households gave one."""
    rows = session.exec(
        select(Household.energy_kwh_year, Household.energy_cost_cents_year).where(
            Household.campaign_id == household.campaign_id,
            col(Household.erased_at).is_(None),
            (col(Household.energy_kwh_year).is_not(None))
            | (col(Household.energy_cost_cents_year).is_not(None)),
        )
    ).all()
    if len(rows) < MIN_GROUP_SIZE:
        return None
    kwh = [value for value, _ in rows if value is not None]
    cost = [value for _, value in rows if value is not None]
    return EnergyComparison(
        households=len(rows),
        median_kwh_year=round(median(kwh)) if len(kwh) >= MIN_GROUP_SIZE else None,
        median_cost_cents_year=round(median(cost)) if len(cost) >= MIN_GROUP_SIZE else None,
        own_kwh_year=household.energy_kwh_year,
        own_cost_cents_year=household.energy_cost_cents_year,
    )
