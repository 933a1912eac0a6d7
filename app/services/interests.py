"""The klimaattafel poll (answers and the public summary with small cells suppressed) and the
anonymous comparison of a household's energy bill with the wijk's median."""

from dataclasses import dataclass
from statistics import median

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Campaign, Household, Interest, InterestSubmission
from app.models.enums import Horizon, Measure
from app.services import campaigns as campaign_service
from app.services.errors import Invalid
from app.services.validation import email_address

# No figure about fewer households than this is ever shown (public results and energy median).
MIN_GROUP_SIZE = 5

MEASURE_LABELS: dict[str, str] = {
    Measure.facade_insulation: N_("Gevelisolatie"),
    Measure.window_frames: N_("Nieuwe ramen"),
    Measure.roof_insulation: N_("Dakisolatie"),
    Measure.cavity_wall_insulation: N_("Spouwmuurisolatie"),
    Measure.floor_insulation: N_("Vloerisolatie"),
    Measure.heat_pump: N_("Warmtepomp"),
    Measure.solar_pv: N_("Zonnepanelen"),
    Measure.solar_water_heater: N_("Zonneboiler"),
    Measure.ventilation: N_("Ventilatie"),
    Measure.facade_garden: N_("Geveltuin"),
    Measure.depaving: N_("Tegels eruit (ontharding)"),
    Measure.rainwater_tank: N_("Regenwaterput"),
}
HORIZON_LABELS: dict[str, str] = {
    Horizon.within_1y: N_("binnen 1 jaar"),
    Horizon.within_5y: N_("binnen 5 jaar"),
    Horizon.no: N_("niet"),
}


@dataclass(frozen=True)
class SummaryCell:
    measure: str
    horizon: str
    # None when fewer than MIN_GROUP_SIZE submissions gave this answer.
    count: int | None


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
    """Store one klimaattafel form. It is linked to a household of this wijk when the caller is
    that logged-in resident (`household_id`) or gives that household's email address."""
    postcode, street = postcode.strip(), " ".join(street.split())
    if not postcode:
        raise Invalid(N_("Vul je postcode in."), field="postcode")
    if not street:
        raise Invalid(N_("Vul je straat in."), field="street")
    inside, failing_field = campaign_service.address_in_campaign(
        campaign, postcode=postcode, street=street
    )
    if not inside:
        if failing_field == "postcode":
            raise Invalid(N_("Deze postcode hoort niet bij deze wijk."), field="postcode")
        raise Invalid(N_("Deze straat hoort niet bij deze wijk."), field="street")
    if not answers:
        raise Invalid(N_("Kies bij minstens één maatregel een antwoord."), field="answers")
    if len({measure for measure, _ in answers}) != len(answers):
        raise Invalid(N_("Elke maatregel mag maar één keer beantwoord worden."), field="answers")
    if household_id is None and email and email.strip():
        normalised = email_address(email)
        household_id = session.exec(
            select(Household.id)
            .where(
                Household.campaign_id == campaign.id,
                func.lower(Household.email) == normalised,
                col(Household.erased_at).is_(None),
            )
            .order_by(col(Household.id).desc())
        ).first()
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


def interest_summary(session: Session, campaign: Campaign) -> list[SummaryCell]:
    """Every measure × horizon, counted per submission; cells under MIN_GROUP_SIZE are None."""
    rows = session.exec(
        select(Interest.measure, Interest.horizon, func.count())
        .where(Interest.campaign_id == campaign.id)
        .group_by(Interest.measure, Interest.horizon)
    ).all()
    counts = {(measure, horizon): count for measure, horizon, count in rows}
    cells = []
    for measure in MEASURE_LABELS:
        for horizon in HORIZON_LABELS:
            count = counts.get((measure, horizon), 0)
            cells.append(SummaryCell(str(measure), str(horizon),
                                     count if count >= MIN_GROUP_SIZE else None))
    return cells


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
