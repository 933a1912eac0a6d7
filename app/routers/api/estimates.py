"""JSON API: the estimate of an offer (anyone; DESIGN.md, round 2 "Estimate") and the savings
assumptions and energy factors it is computed from (staff of the organisation)."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app import i18n
from app.deps import CommittingRoute, CurrentStaff, ReadSessionDep, SessionDep
from app.models.enums import DwellingType, Measure
from app.services import estimates
from app.services.errors import Invalid

router = APIRouter(route_class=CommittingRoute, tags=["estimates"])


class PremiumRuleOut(BaseModel):
    id: int
    measure: Measure
    income_category: Literal["1", "2", "3", "4"]
    valid_from: date
    valid_to: date | None
    source_url: str | None


class SavingsAssumptionsOut(BaseModel):
    id: int
    measure: Measure
    dwelling_type: DwellingType | None
    kwh_per_unit_per_year: int
    energy_price_cents_per_mwh: int
    co2_grams_per_kwh: int
    valid_from: date
    valid_to: date | None
    source_url: str | None
    energy_price_source_url: str | None
    emission_factor_source_url: str | None
    is_example: bool
    note: str


class SavingsOut(BaseModel):
    kwh_per_year: int
    eur_per_year: int
    co2_kg_per_year: int
    assumptions: SavingsAssumptionsOut


class EstimateOut(BaseModel):
    offer_id: int
    quantity: float
    unit_price_cents: int
    vat_rate: int
    gross_cents: int
    premium_cents: int
    net_cents: int
    premium_rule: PremiumRuleOut | None
    savings: SavingsOut | None


@router.get("/offers/{offer_id}/estimate")
def estimate_offer(
    offer_id: int,
    session: ReadSessionDep,
    quantity: Annotated[float, Query(gt=0, le=estimates.MAX_QUANTITY)],
    income_category: Literal["1", "2", "3", "4", "unknown"] = "unknown",
    build_year: Annotated[int | None, Query(ge=estimates.EARLIEST_BUILD_YEAR, le=2100)] = None,
    dwelling_type: DwellingType | None = None,
) -> EstimateOut:
    """Price, premium and net cost for a quantity, income category (1-4 as in Mijn
    VerbouwPremie from 2025, or unknown) and build year (6 % VAT for a home of 10 years and
    older, else 21 %), with the premium rule used and the yearly savings."""
    try:
        query = estimates.check_input(quantity=quantity, income_category=income_category,
                                      build_year=build_year,
                                      dwelling_type=dwelling_type.value if dwelling_type else None)
    except Invalid as exc:
        raise RequestValidationError([{"loc": ["query", exc.field], "type": "value_error",
                                       "msg": i18n.gettext(exc.message)}]) from exc
    return EstimateOut.model_validate(
        estimates.estimate_offer(session, offer_id, query).as_json())


class SavingsAssumptionOut(BaseModel):
    id: int
    organisation_id: int | None
    measure: Measure
    dwelling_type: DwellingType | None
    kwh_per_unit_year: int
    price_cents_per_mwh: int | None
    co2_grams_per_kwh: int | None
    valid_from: date
    valid_to: date | None
    source_url: str
    note: str
    is_example: bool


class EnergyFactorOut(BaseModel):
    id: int
    organisation_id: int | None
    price_cents_per_mwh: int
    co2_grams_per_kwh: int
    valid_from: date
    valid_to: date | None
    price_source_url: str
    co2_source_url: str
    is_example: bool


@router.get("/savings-assumptions")
def list_savings_assumptions(session: SessionDep,
                             principal: CurrentStaff) -> list[SavingsAssumptionOut]:
    """The shared (example) assumptions and the organisation's own."""
    return [SavingsAssumptionOut.model_validate(estimates.assumption_json(row))
            for row in estimates.list_assumptions(session, principal)]


@router.post("/savings-assumptions", status_code=201)
def create_savings_assumption(body: estimates.SavingsAssumptionInput, session: SessionDep,
                              principal: CurrentStaff) -> SavingsAssumptionOut:
    """Add an assumption for the caller's organisation."""
    data = estimates.parse_assumption_input(body.model_dump())
    row = estimates.create_assumption(session, principal, data)
    return SavingsAssumptionOut.model_validate(estimates.assumption_json(row))


@router.put("/savings-assumptions/{assumption_id}")
def replace_savings_assumption(assumption_id: int, body: estimates.SavingsAssumptionInput,
                               session: SessionDep,
                               principal: CurrentStaff) -> SavingsAssumptionOut:
    """Replace one of the organisation's assumptions (shared ones: admins only)."""
    data = estimates.parse_assumption_input(body.model_dump())
    row = estimates.update_assumption(session, principal, assumption_id, data)
    return SavingsAssumptionOut.model_validate(estimates.assumption_json(row))


@router.delete("/savings-assumptions/{assumption_id}", status_code=204)
def delete_savings_assumption(assumption_id: int, session: SessionDep,
                              principal: CurrentStaff) -> Response:
    """Delete one of the organisation's assumptions."""
    estimates.delete_assumption(session, principal, assumption_id)
    return Response(status_code=204)


@router.get("/energy-factors")
def list_energy_factors(session: SessionDep, principal: CurrentStaff) -> list[EnergyFactorOut]:
    """The default energy price and emission factor: shared (example) and the organisation's."""
    return [EnergyFactorOut.model_validate(estimates.factor_json(row))
            for row in estimates.list_factors(session, principal)]


@router.post("/energy-factors", status_code=201)
def create_energy_factor(body: estimates.EnergyFactorInput, session: SessionDep,
                         principal: CurrentStaff) -> EnergyFactorOut:
    """Add the organisation's own energy price and emission factor (wins over the shared)."""
    row = estimates.create_factor(session, principal,
                                  estimates.parse_factor_input(body.model_dump()))
    return EnergyFactorOut.model_validate(estimates.factor_json(row))


@router.put("/energy-factors/{factor_id}")
def replace_energy_factor(factor_id: int, body: estimates.EnergyFactorInput,
                          session: SessionDep, principal: CurrentStaff) -> EnergyFactorOut:
    """Replace one of the organisation's energy factors (shared ones: admins only)."""
    row = estimates.update_factor(session, principal, factor_id,
                                  estimates.parse_factor_input(body.model_dump()))
    return EnergyFactorOut.model_validate(estimates.factor_json(row))
