"""What a household really pays and saves: an offer's price at the tier reached now, VAT from the
build year, the premium of the rule valid today for the income category, the net cost, and the
yearly savings from the assumptions per measure and dwelling type. Also the "which category am
I?" helper and the staff editing of the savings assumptions and energy factors.

Every amount comes from a data row with a validity and a source (premium rules, savings
assumptions, energy factors, income limits); rows without an organisation are shared by every
organisation and an organisation's own row wins over a shared one. Money is integer cents.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import Strict, ValidationError, field_validator
from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.i18n import BRUSSELS, N_
from app.models import (
    Campaign,
    EnergyFactor,
    Household,
    IncomeThreshold,
    Participation,
    PremiumRule,
    SavingsAssumption,
)
from app.models.base import utcnow
from app.models.enums import DwellingType, IncomeCategory, Measure, Role
from app.services import audit, offers_public, premiums, pricing, signups
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.validation import CleanInput

# Federal VAT on renovation (PREMIUMS.md S22, S23): 6 % for a private home first occupied at
# least 10 years ago, 21 % otherwise. The rates are the two the offer table allows.
REDUCED_VAT, STANDARD_VAT = 6, 21
REDUCED_VAT_MIN_AGE_YEARS = 10
MAX_QUANTITY = 100_000
EARLIEST_BUILD_YEAR = 1500
MAX_DEPENDANTS = 20
MAX_TAXABLE_INCOME_CENTS = 100_000_000
# The estimate's income category as in Mijn VerbouwPremie from 2025 ("1" is the highest income)
CATEGORY_CODES = {"1": IncomeCategory.cat1, "2": IncomeCategory.cat2, "3": IncomeCategory.cat3,
                  "4": IncomeCategory.cat4}
UNKNOWN_CATEGORY = "unknown"

MSG_QUANTITY = N_("Geef een getal groter dan 0, bijvoorbeeld 45 of 12,5.")
MSG_CATEGORY = N_("Kies categorie 1, 2, 3 of 4, of ‘weet ik niet’.")
MSG_BUILD_YEAR = N_("Geef een bouwjaar van vier cijfers, niet in de toekomst, bijvoorbeeld 1965.")
MSG_NO_PRICE = N_("Dit aanbod heeft nog geen prijs: een schatting kan nog niet.")

# Shown with the templates' _() (which formats: hence %%).
VAT_EXPLANATIONS = {
    "reduced": N_("6 %% btw: je woning is 10 jaar of ouder."),
    "standard": N_("21 %% btw: je woning is jonger dan 10 jaar. Het verlaagde tarief van 6 %% "
                   "geldt alleen voor woningen van 10 jaar en ouder."),
    "offer": N_("We rekenen met de btw van het aanbod. Vul je bouwjaar in: 6 %% geldt alleen "
                "voor woningen van 10 jaar en ouder, anders 21 %%."),
}


def today() -> date:
    return utcnow().astimezone(BRUSSELS).date()


def vat_rate_for(build_year: int, *, on: date) -> int:
    """6 % for a home of 10 years and older, else 21 %."""
    return REDUCED_VAT if on.year - build_year >= REDUCED_VAT_MIN_AGE_YEARS else STANDARD_VAT


def category_of_code(code: str | None) -> str | None:
    """"1".."4" to the stored category ("cat1".."cat4"); "unknown" or nothing is None."""
    if code is None or code == UNKNOWN_CATEGORY or code == "":
        return None
    if code in CATEGORY_CODES:
        return CATEGORY_CODES[code].value
    raise Invalid(MSG_CATEGORY, field="income_category")


def code_of_category(category: str | None) -> str:
    return category.removeprefix("cat") if category else UNKNOWN_CATEGORY


# --- savings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Savings:
    kwh_per_year: int
    eur_per_year: int
    co2_kg_per_year: int
    assumption: SavingsAssumption
    price_cents_per_mwh: int
    co2_grams_per_kwh: int
    factor: EnergyFactor | None

    def assumptions_json(self) -> dict[str, Any]:
        a, factor = self.assumption, self.factor
        return {
            "id": a.id, "measure": a.measure, "dwelling_type": a.dwelling_type,
            "kwh_per_unit_per_year": a.kwh_per_unit_year,
            "energy_price_cents_per_mwh": self.price_cents_per_mwh,
            "co2_grams_per_kwh": self.co2_grams_per_kwh,
            "valid_from": a.valid_from.isoformat(),
            "valid_to": a.valid_to.isoformat() if a.valid_to else None,
            "source_url": a.source_url or None,
            "energy_price_source_url": (
                a.source_url if a.price_cents_per_mwh is not None
                else (factor.price_source_url if factor else "")) or None,
            "emission_factor_source_url": (
                a.source_url if a.co2_grams_per_kwh is not None
                else (factor.co2_source_url if factor else "")) or None,
            "is_example": a.is_example or bool(factor and factor.is_example),
            "note": a.note,
        }

    def as_json(self) -> dict[str, Any]:
        return {"kwh_per_year": self.kwh_per_year, "eur_per_year": self.eur_per_year,
                "co2_kg_per_year": self.co2_kg_per_year,
                "assumptions": self.assumptions_json()}


def _valid_on(model: Any, on: date) -> ColumnElement[bool]:
    return (model.valid_from <= on) & or_(col(model.valid_to).is_(None), model.valid_to >= on)


def _shared_or_own(model: Any, organisation_id: int | None) -> ColumnElement[bool]:
    return or_(col(model.organisation_id).is_(None), model.organisation_id == organisation_id)


def assumption_for(session: Session, *, organisation_id: int | None, measure: str,
                   dwelling_type: str | None, on: date) -> SavingsAssumption | None:
    """The assumption valid on `on`: the organisation's own before a shared one, the dwelling
    type's own before one for any dwelling type, then the newest."""
    candidates = session.exec(select(SavingsAssumption).where(
        SavingsAssumption.measure == measure, _valid_on(SavingsAssumption, on),
        _shared_or_own(SavingsAssumption, organisation_id),
        or_(col(SavingsAssumption.dwelling_type).is_(None),
            col(SavingsAssumption.dwelling_type) == dwelling_type),
    )).all()
    if not candidates:
        return None
    return max(candidates, key=lambda a: (a.organisation_id is not None,
                                          a.dwelling_type is not None, a.valid_from, a.id or 0))


def factor_for(session: Session, *, organisation_id: int | None, on: date
               ) -> EnergyFactor | None:
    candidates = session.exec(select(EnergyFactor).where(
        _valid_on(EnergyFactor, on), _shared_or_own(EnergyFactor, organisation_id))).all()
    if not candidates:
        return None
    return max(candidates, key=lambda f: (f.organisation_id is not None, f.valid_from, f.id or 0))


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def savings(session: Session, *, organisation_id: int | None, measure: str,
            dwelling_type: str | None, quantity: float, on: date) -> Savings | None:
    """kWh = quantity × kWh per unit; € = kWh × price (cents per MWh) ÷ 100 000;
    kg CO2 = kWh × grams per kWh ÷ 1000, each rounded half-up once. None without an
    assumption, or without a price or emission factor to turn kWh into € and kg."""
    assumption = assumption_for(session, organisation_id=organisation_id, measure=measure,
                                dwelling_type=dwelling_type, on=on)
    if assumption is None:
        return None
    factor = None
    if assumption.price_cents_per_mwh is None or assumption.co2_grams_per_kwh is None:
        factor = factor_for(session, organisation_id=organisation_id, on=on)
        if factor is None:
            return None
    price = (assumption.price_cents_per_mwh if assumption.price_cents_per_mwh is not None
             else factor.price_cents_per_mwh)  # type: ignore[union-attr]
    grams = (assumption.co2_grams_per_kwh if assumption.co2_grams_per_kwh is not None
             else factor.co2_grams_per_kwh)  # type: ignore[union-attr]
    kwh = _round(Decimal(str(quantity)) * assumption.kwh_per_unit_year)
    return Savings(kwh_per_year=kwh, eur_per_year=_round(Decimal(kwh) * price / 100_000),
                   co2_kg_per_year=_round(Decimal(kwh) * grams / 1000), assumption=assumption,
                   price_cents_per_mwh=price, co2_grams_per_kwh=grams, factor=factor)


# --- the estimate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateInput:
    quantity: float
    income_category: str | None  # "cat1".."cat4", None when unknown
    build_year: int | None
    dwelling_type: str | None = None


@dataclass(frozen=True)
class Estimate:
    offer_id: int
    measure: str
    unit: str
    quantity: float
    unit_price_cents: int
    vat_rate: int
    vat_basis: str  # "reduced", "standard" (from the build year) or "offer" (no build year)
    excl_vat_cents: int
    gross_cents: int
    premium: premiums.PremiumEstimate
    rule: PremiumRule | None
    savings: Savings | None
    income_category: str | None
    build_year: int | None

    @property
    def premium_cents(self) -> int:
        return self.premium.amount_cents

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.premium.amount_cents

    @property
    def vat_explanation(self) -> str:
        return VAT_EXPLANATIONS[self.vat_basis]

    def as_json(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "offer_id": self.offer_id, "quantity": self.quantity,
            "unit_price_cents": self.unit_price_cents, "vat_rate": self.vat_rate,
            "gross_cents": self.gross_cents, "premium_cents": self.premium_cents,
            "net_cents": self.net_cents,
            "premium_rule": None if rule is None else {
                "id": rule.id, "measure": rule.measure,
                "income_category": code_of_category(rule.income_category),
                "valid_from": rule.valid_from.isoformat(),
                "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
                "source_url": rule.source_url or None,
            },
            "savings": self.savings.as_json() if self.savings else None,
        }


def estimate_listing(session: Session, offer: offers_public.OfferListing, organisation_id: int,
                     query: EstimateInput, *, on: date | None = None) -> Estimate:
    """The estimate for an offer as listed (its counts give the tier reached now)."""
    on = on or today()
    unit_price = offer.current_unit_price_cents
    if unit_price is None:
        raise Conflict(MSG_NO_PRICE)
    if query.build_year is None:
        vat_rate, basis = offer.vat_rate, "offer"
    else:
        vat_rate = vat_rate_for(query.build_year, on=on)
        basis = "reduced" if vat_rate == REDUCED_VAT else "standard"
    excl = pricing.line_total_cents(query.quantity, unit_price)
    gross = pricing.with_vat_cents(excl, vat_rate)
    premium = premiums.estimate(session, organisation_id=organisation_id, measure=offer.measure,
                                income_category=query.income_category, on=on,
                                cost_incl_vat_cents=gross, quantity=query.quantity)
    rule = session.get(PremiumRule, premium.rule_id) if premium.known and premium.rule_id else None
    return Estimate(
        offer_id=offer.id, measure=offer.measure, unit=offer.unit, quantity=query.quantity,
        unit_price_cents=unit_price, vat_rate=vat_rate, vat_basis=basis, excl_vat_cents=excl,
        gross_cents=gross, premium=premium, rule=rule,
        savings=savings(session, organisation_id=organisation_id, measure=offer.measure,
                        dwelling_type=query.dwelling_type, quantity=query.quantity, on=on),
        income_category=query.income_category, build_year=query.build_year)


def estimate_offer(session: Session, offer_id: int, query: EstimateInput, *,
                   on: date | None = None) -> Estimate:
    """GET /api/v1/offers/{id}/estimate: any offer of a published campaign."""
    found = offers_public.public_offer(session, offer_id)
    return estimate_listing(session, found.offer, found.campaign.organisation_id, query, on=on)


def check_input(*, quantity: float, income_category: str | None, build_year: int | None,
                dwelling_type: str | None = None, on: date | None = None) -> EstimateInput:
    """The rules the API's types cannot say: a finite quantity, a build year not in the
    future. Invalid names the field."""
    on = on or today()
    if not (0 < quantity <= MAX_QUANTITY):
        raise Invalid(MSG_QUANTITY, field="quantity")
    if build_year is not None and not EARLIEST_BUILD_YEAR <= build_year <= on.year:
        raise Invalid(MSG_BUILD_YEAR, field="build_year")
    if dwelling_type is not None and dwelling_type not in {d.value for d in DwellingType}:
        dwelling_type = None
    return EstimateInput(quantity=quantity, income_category=category_of_code(income_category),
                         build_year=build_year, dwelling_type=dwelling_type)


def parse_page_input(values: dict[str, str], *, on: date | None = None
                     ) -> tuple[EstimateInput | None, dict[str, str]]:
    """The estimate form of a page (text as typed; an empty quantity is no estimate yet):
    the input, or the message per field."""
    quantity, errors = signups.parse_quantity(values.get("quantity", ""))
    if quantity == 0:
        errors["quantity"] = MSG_QUANTITY
    raw_year = values.get("build_year", "").strip()
    build_year = int(raw_year) if raw_year.isascii() and raw_year.isdigit() else None
    if raw_year and (build_year is None
                     or not EARLIEST_BUILD_YEAR <= build_year <= (on or today()).year):
        errors["build_year"] = MSG_BUILD_YEAR
    code = values.get("income_category", "").strip()
    if code not in ("", UNKNOWN_CATEGORY, *CATEGORY_CODES):
        errors["income_category"] = MSG_CATEGORY
    if errors or quantity is None:
        return None, errors
    return check_input(quantity=quantity, income_category=code or None, build_year=build_year,
                       dwelling_type=values.get("dwelling_type") or None, on=on), {}


def household_estimates(session: Session, household: Household, campaign: Campaign,
                        participations: list[Participation], *, on: date | None = None
                        ) -> dict[int, Estimate]:
    """/mijn: for each sign-up for an offer with a quantity (measured, else estimated), the
    estimate with the household's own income category, build year and dwelling type."""
    wanted = [p for p in participations
              if p.offer_id is not None and (p.measured_quantity or p.quantity)]
    if not wanted:
        return {}
    listings = {offer.id: offer for offer in offers_public.list_offers(session, campaign)}
    build_year = household.build_year
    if build_year is not None and build_year > (on or today()).year:
        build_year = None
    found: dict[int, Estimate] = {}
    for participation in wanted:
        listing = listings.get(participation.offer_id)  # type: ignore[arg-type]
        if listing is None or listing.current_unit_price_cents is None:
            continue
        query = EstimateInput(quantity=float(participation.measured_quantity
                                             or participation.quantity or 0),
                              income_category=household.income_category,
                              build_year=build_year, dwelling_type=household.dwelling_type)
        found[participation.id] = estimate_listing(  # type: ignore[index]
            session, listing, campaign.organisation_id, query, on=on)
    return found


# --- which category am I? --------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryAnswer:
    income_category: str
    limit_cents: int | None  # the upper limit of that category for this household; None: cat1
    threshold: IncomeThreshold | None

    @property
    def code(self) -> str:
        return code_of_category(self.income_category)

    @property
    def is_example(self) -> bool:
        return self.threshold is None or self.threshold.is_example


@dataclass(frozen=True)
class CategoryQuestion:
    adults: int  # 1: alone, 2: with a partner
    dependants: int
    taxable_income_cents: int


MSG_ADULTS = N_("Kies: alleen of met een partner.")
MSG_DEPENDANTS = N_("Geef het aantal personen ten laste (0 tot 20).")
MSG_INCOME = N_("Geef je gezamenlijk belastbaar inkomen in euro, bijvoorbeeld 38.500.")


def parse_category_question(values: dict[str, str]
                            ) -> tuple[CategoryQuestion | None, dict[str, str]]:
    """The helper's form: nothing asked yet (None, {}), the question, or messages per field."""
    raw = {name: values.get(name, "").strip() for name in ("adults", "dependants",
                                                            "taxable_income")}
    if not raw["taxable_income"]:
        return None, {}
    errors: dict[str, str] = {}
    if raw["adults"] not in ("1", "2"):
        errors["adults"] = MSG_ADULTS
    dependants = int(raw["dependants"]) if raw["dependants"].isascii() and \
        raw["dependants"].isdigit() and len(raw["dependants"]) <= 2 else (
            0 if not raw["dependants"] else None)
    if dependants is None or dependants > MAX_DEPENDANTS:
        errors["dependants"] = MSG_DEPENDANTS
    income = pricing.euros_to_cents(raw["taxable_income"])
    if income is None or income > MAX_TAXABLE_INCOME_CENTS:
        errors["taxable_income"] = MSG_INCOME
    if errors:
        return None, errors
    return CategoryQuestion(int(raw["adults"]), dependants or 0, income or 0), {}


def household_limit_cents(threshold: IncomeThreshold, question: CategoryQuestion) -> int | None:
    """The category's limit for this household: the single limit alone without dependants,
    else the couple limit (a couple, or a single person with one dependant) plus an amount for
    every further dependant."""
    if question.adults == 1 and question.dependants == 0:
        return threshold.single_max_cents
    if threshold.couple_max_cents is None:
        return None
    extra = question.dependants - (1 if question.adults == 1 else 0)
    return threshold.couple_max_cents + max(extra, 0) * threshold.per_dependant_cents


def which_category(session: Session, question: CategoryQuestion, *, on: date | None = None
                   ) -> CategoryAnswer | None:
    """The lowest-income category whose limit the income stays under (cat. 4 first), else
    cat. 1; None when no limits are valid on `on`. Stores nothing."""
    on = on or today()
    rows = session.exec(select(IncomeThreshold).where(_valid_on(IncomeThreshold, on))).all()
    newest: dict[str, IncomeThreshold] = {}
    for row in sorted(rows, key=lambda r: (r.valid_from, r.id or 0)):
        newest[row.income_category] = row
    if not newest:
        return None
    for category in (IncomeCategory.cat4, IncomeCategory.cat3, IncomeCategory.cat2):
        threshold = newest.get(category)
        if threshold is None:
            continue
        limit = household_limit_cents(threshold, question)
        if limit is not None and question.taxable_income_cents <= limit:
            return CategoryAnswer(category.value, limit, threshold)
    return CategoryAnswer(IncomeCategory.cat1.value, None, newest.get(IncomeCategory.cat1))


# --- staff: savings assumptions and energy factors -------------------------------------------


# Strict: JSON `true` is not a number, nor "1" a boolean (lax mode would take both).
StrictNumber = Annotated[int, Strict()]
StrictFlag = Annotated[bool, Strict()]


class SavingsAssumptionInput(CleanInput):
    measure: Measure
    dwelling_type: DwellingType | None = None
    kwh_per_unit_year: StrictNumber
    price_cents_per_mwh: StrictNumber | None = None
    co2_grams_per_kwh: StrictNumber | None = None
    valid_from: date
    valid_to: date | None = None
    source_url: str = ""
    note: str = ""
    is_example: StrictFlag = False

    @field_validator("kwh_per_unit_year", "price_cents_per_mwh", "co2_grams_per_kwh")
    @classmethod
    def _amount(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= premiums.MAX_AMOUNT_CENTS:
            raise ValueError(N_("Geef een getal van 0 tot 1.000.000."))
        return value

    @field_validator("source_url")
    @classmethod
    def _source(cls, value: str) -> str:
        return premiums.source_url(value)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        if len(value) > 500:
            raise ValueError(N_("Houd de toelichting onder 500 tekens."))
        return value.strip()


class EnergyFactorInput(CleanInput):
    price_cents_per_mwh: StrictNumber
    co2_grams_per_kwh: StrictNumber
    valid_from: date
    valid_to: date | None = None
    price_source_url: str = ""
    co2_source_url: str = ""
    is_example: StrictFlag = False

    @field_validator("price_cents_per_mwh", "co2_grams_per_kwh")
    @classmethod
    def _amount(cls, value: int) -> int:
        if not 0 <= value <= premiums.MAX_AMOUNT_CENTS:
            raise ValueError(N_("Geef een getal van 0 tot 1.000.000."))
        return value

    @field_validator("price_source_url", "co2_source_url")
    @classmethod
    def _source(cls, value: str) -> str:
        return premiums.source_url(value)


FIELD_MESSAGES = {
    "measure": N_("Kies een maatregel."),
    "dwelling_type": N_("Kies een soort woning of laat leeg."),
    "kwh_per_unit_year": N_("Geef een geheel aantal kWh per eenheid per jaar."),
    "price_cents_per_mwh": N_("Geef een geheel getal of laat leeg."),
    "co2_grams_per_kwh": N_("Geef een geheel getal of laat leeg."),
    "valid_from": N_("Geef een datum (jjjj-mm-dd)."),
    "valid_to": N_("Geef een datum (jjjj-mm-dd) of laat leeg."),
}


def _parse(model: type[Any], data: Mapping[str, object]) -> Any:
    """Validate; the first problem is raised as Invalid naming its field."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else None
        cause = error.get("ctx", {}).get("error")
        message = str(cause) if error["type"] == "value_error" and cause else (
            FIELD_MESSAGES.get(field or "", N_("Deze waarde klopt niet.")))
        raise Invalid(message, field=field) from exc
    if parsed.valid_to is not None and parsed.valid_to < parsed.valid_from:
        raise Invalid(N_("De einddatum ligt voor de begindatum."), field="valid_to")
    return parsed


def parse_assumption_input(data: Mapping[str, object]) -> SavingsAssumptionInput:
    parsed: SavingsAssumptionInput = _parse(SavingsAssumptionInput, data)
    return parsed


def parse_factor_input(data: Mapping[str, object]) -> EnergyFactorInput:
    parsed: EnergyFactorInput = _parse(EnergyFactorInput, data)
    return parsed


def _visible(model: Any, principal: Principal) -> ColumnElement[bool]:
    return or_(col(model.organisation_id).is_(None),
               col(model.organisation_id).in_(principal.organisation_ids))


def _editable(model: Any, principal: Principal) -> ColumnElement[bool]:
    """Shared rows are edited by admins only; an organisation's own by its staff and admins."""
    editable: ColumnElement[bool] = col(model.organisation_id).in_(principal.organisation_ids)
    if principal.role == Role.admin:
        editable = or_(editable, col(model.organisation_id).is_(None))
    return editable


def can_edit(principal: Principal, row: SavingsAssumption | EnergyFactor) -> bool:
    if row.organisation_id is None:
        return principal.role == Role.admin
    return row.organisation_id in principal.organisation_ids


def list_assumptions(session: Session, principal: Principal) -> list[SavingsAssumption]:
    rows = list(session.exec(select(SavingsAssumption).where(
        _visible(SavingsAssumption, principal)).order_by(
        col(SavingsAssumption.measure), col(SavingsAssumption.dwelling_type),
        col(SavingsAssumption.valid_from).desc(), col(SavingsAssumption.id))).all())
    audit.record_grant_use(session, principal, (row.organisation_id for row in rows),
                           object_type="savings_assumption")
    return rows


def list_factors(session: Session, principal: Principal) -> list[EnergyFactor]:
    rows = list(session.exec(select(EnergyFactor).where(_visible(EnergyFactor, principal))
                             .order_by(col(EnergyFactor.valid_from).desc(),
                                       col(EnergyFactor.id))).all())
    audit.record_grant_use(session, principal, (row.organisation_id for row in rows),
                           object_type="energy_factor")
    return rows


MSG_ASSUMPTION_NOT_FOUND = N_("Deze besparingsaanname bestaat niet of je mag ze niet wijzigen.")
MSG_FACTOR_NOT_FOUND = N_("Deze energieprijs bestaat niet of je mag ze niet wijzigen.")


def get_editable_assumption(session: Session, principal: Principal,
                            assumption_id: int) -> SavingsAssumption:
    row = session.exec(select(SavingsAssumption).where(
        SavingsAssumption.id == assumption_id, _editable(SavingsAssumption, principal))).first()
    if row is None:
        raise NotFound(MSG_ASSUMPTION_NOT_FOUND)
    audit.record_grant_use(session, principal, [row.organisation_id],
                           object_type="savings_assumption", object_id=row.id)
    return row


def get_editable_factor(session: Session, principal: Principal, factor_id: int) -> EnergyFactor:
    row = session.exec(select(EnergyFactor).where(
        EnergyFactor.id == factor_id, _editable(EnergyFactor, principal))).first()
    if row is None:
        raise NotFound(MSG_FACTOR_NOT_FOUND)
    audit.record_grant_use(session, principal, [row.organisation_id],
                           object_type="energy_factor", object_id=row.id)
    return row


def _audit_change(session: Session, principal: Principal, action: str,
                  row: SavingsAssumption | EnergyFactor) -> None:
    audit.record(session, principal, action=action, object_type=action.split(".")[0],
                 object_id=row.id, organisation_id=row.organisation_id)


def create_assumption(session: Session, principal: Principal,
                      data: SavingsAssumptionInput) -> SavingsAssumption:
    row = SavingsAssumption(organisation_id=principal.organisation_id, **data.model_dump())
    session.add(row)
    session.flush()
    _audit_change(session, principal, "savings_assumption.create", row)
    return row


def update_assumption(session: Session, principal: Principal, assumption_id: int,
                      data: SavingsAssumptionInput) -> SavingsAssumption:
    row = get_editable_assumption(session, principal, assumption_id)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    _audit_change(session, principal, "savings_assumption.update", row)
    return row


def delete_assumption(session: Session, principal: Principal, assumption_id: int) -> None:
    row = get_editable_assumption(session, principal, assumption_id)
    _audit_change(session, principal, "savings_assumption.delete", row)
    session.delete(row)
    session.flush()


def create_factor(session: Session, principal: Principal,
                  data: EnergyFactorInput) -> EnergyFactor:
    row = EnergyFactor(organisation_id=principal.organisation_id, **data.model_dump())
    session.add(row)
    session.flush()
    _audit_change(session, principal, "energy_factor.create", row)
    return row


def update_factor(session: Session, principal: Principal, factor_id: int,
                  data: EnergyFactorInput) -> EnergyFactor:
    row = get_editable_factor(session, principal, factor_id)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    _audit_change(session, principal, "energy_factor.update", row)
    return row


def assumption_json(row: SavingsAssumption) -> dict[str, Any]:
    return {"id": row.id, "organisation_id": row.organisation_id, "measure": row.measure,
            "dwelling_type": row.dwelling_type, "kwh_per_unit_year": row.kwh_per_unit_year,
            "price_cents_per_mwh": row.price_cents_per_mwh,
            "co2_grams_per_kwh": row.co2_grams_per_kwh, "valid_from": row.valid_from,
            "valid_to": row.valid_to, "source_url": row.source_url, "note": row.note,
            "is_example": row.is_example}


def factor_json(row: EnergyFactor) -> dict[str, Any]:
    return {"id": row.id, "organisation_id": row.organisation_id,
            "price_cents_per_mwh": row.price_cents_per_mwh,
            "co2_grams_per_kwh": row.co2_grams_per_kwh, "valid_from": row.valid_from,
            "valid_to": row.valid_to, "price_source_url": row.price_source_url,
            "co2_source_url": row.co2_source_url, "is_example": row.is_example}


# --- the household's own save ----------------------------------------------------------------


def save_income_category(session: Session, principal: Principal, code: str) -> str:
    """The resident asked to keep the category the helper found (or chose one): stored on
    their own household, and in the audit log."""
    from app.services import residents

    category = category_of_code(code)
    if category is None:
        raise Invalid(MSG_CATEGORY, field="income_category")
    household = residents.get_household(session, principal)
    household.income_category = category
    household.updated_at = utcnow()
    session.add(household)
    campaign = session.get(Campaign, household.campaign_id)
    assert campaign is not None
    audit.record(session, principal, action="household.income_category",
                 object_type="household", object_id=household.id, household_id=household.id,
                 organisation_id=campaign.organisation_id)
    session.flush()
    return category


# --- example data (the demo) -----------------------------------------------------------------

# EXAMPLES, not facts: PREMIUMS.md has no official savings or prices; each row names where its
# number comes from and how it was derived. Staff replace them with their energiehuis's figures.
SAVINGS_SOURCE_ROOF = "https://www.weet-magazine.nl"
SAVINGS_SOURCE_WALLS = "https://www.trouw.nl"
GAS_PRICE_SOURCE = "http://www.vreg.be/nl/prijsevoluties"
GAS_CO2_SOURCE = "https://www.co2emissiefactoren.be/factoren/"
ELECTRICITY_PRICE_SOURCE = ("https://kw.be/nieuws/economie/energie/stroomfactuur-gezinnen-"
                            "schiet-omhoog-prijs-stijgt-naar-hoogste-niveau-sinds-november-2023/")
ELECTRICITY_CO2_SOURCE = "https://business.engie.be/nl/faq/contract/co2-uitstoot/"
EXAMPLE_VALID_FROM = date(2025, 1, 1)
EXAMPLE_ASSUMPTIONS: list[tuple[str, str | None, int, str, str]] = [
    # measure, dwelling type, kWh per unit per year, source, note
    ("roof_insulation", None, 82, SAVINGS_SOURCE_ROOF,
     "Voorbeeld: dakisolatie in een rijwoning bespaart ongeveer 4.100 kWh gas per jaar "
     "(Nederlandse cijfers), gedeeld door 50 m² dak."),
    ("roof_insulation", "row_house", 82, SAVINGS_SOURCE_ROOF,
     "Voorbeeld: ongeveer 4.100 kWh gas per jaar voor het dak van een rijwoning (Nederlandse "
     "cijfers), gedeeld door 50 m² dak."),
    ("facade_insulation", None, 60, SAVINGS_SOURCE_WALLS,
     "Voorbeeld: muren en dak samen besparen ongeveer de helft van het verbruik; voor de "
     "muren rekenen we 3.000 kWh gas per jaar over 50 m² gevel."),
]
EXAMPLE_FACTOR = (10_000, 202)  # € 0,10 per kWh gas; 202 g CO2 per kWh gas
EXAMPLE_THRESHOLDS: list[tuple[str, int | None, int | None, int]] = [
    # category, single, couple or single + 1 dependant, per further dependant (cents)
    ("cat4", 2_423_000, 3_634_000, 432_000),
    ("cat3", 4_234_000, 5_927_000, 432_000),
    ("cat2", 5_388_000, 7_698_000, 432_000),
    ("cat1", None, None, 0),
]
THRESHOLD_SOURCE = "https://www.vlaanderen.be/premies-voor-renovatie/mijn-verbouwpremie"
THRESHOLD_NOTE = ("Voorbeeldgrenzen uit seed-gegevens van derden (jaar niet vermeld), niet "
                  "nagekeken: controleer ze op vlaanderen.be.")


def ensure_example_data(session: Session) -> int:
    """Add the shared example assumptions, energy factor and income limits that are not there
    yet (all `is_example`); returns how many rows were added."""
    added = 0
    existing = {(a.measure, a.dwelling_type) for a in session.exec(
        select(SavingsAssumption).where(col(SavingsAssumption.organisation_id).is_(None),
                                        SavingsAssumption.valid_from == EXAMPLE_VALID_FROM))}
    for measure, dwelling_type, kwh, source, note in EXAMPLE_ASSUMPTIONS:
        if (measure, dwelling_type) not in existing:
            session.add(SavingsAssumption(measure=measure, dwelling_type=dwelling_type,
                                          kwh_per_unit_year=kwh, valid_from=EXAMPLE_VALID_FROM,
                                          source_url=source, note=note, is_example=True))
            added += 1
    solar = session.exec(select(SavingsAssumption).where(
        col(SavingsAssumption.organisation_id).is_(None),
        SavingsAssumption.measure == Measure.solar_pv)).first()
    if solar is None:
        # 1 kWp in Belgium yields about 850 kWh a year (4.7 kWp for 4.000 kWh, PREMIUMS.md);
        # electricity at € 1.305 for 3.500 kWh (VREG, January 2025) and 167 g CO2 per kWh
        # (residual mix 2023, AIB via VREG).
        session.add(SavingsAssumption(
            measure=Measure.solar_pv, kwh_per_unit_year=850, price_cents_per_mwh=37_300,
            co2_grams_per_kwh=167, valid_from=EXAMPLE_VALID_FROM,
            source_url=ELECTRICITY_PRICE_SOURCE, is_example=True,
            note="Voorbeeld: 4,7 kWp levert ongeveer 4.000 kWh per jaar (aanbieders.be); "
                 "stroom aan € 0,373 per kWh (VREG, januari 2025), 167 g CO2 per kWh "
                 "(residuele mix 2023)."))
        added += 1
    if session.exec(select(EnergyFactor).where(
            col(EnergyFactor.organisation_id).is_(None))).first() is None:
        price, grams = EXAMPLE_FACTOR
        session.add(EnergyFactor(price_cents_per_mwh=price, co2_grams_per_kwh=grams,
                                 valid_from=EXAMPLE_VALID_FROM, price_source_url=GAS_PRICE_SOURCE,
                                 co2_source_url=GAS_CO2_SOURCE, is_example=True))
        added += 1
    if session.exec(select(IncomeThreshold)).first() is None:
        for category, single, couple, per_dependant in EXAMPLE_THRESHOLDS:
            session.add(IncomeThreshold(
                income_category=category, single_max_cents=single, couple_max_cents=couple,
                per_dependant_cents=per_dependant, valid_from=EXAMPLE_VALID_FROM,
                source_url=THRESHOLD_SOURCE, note=THRESHOLD_NOTE, is_example=True))
            added += 1
    session.flush()
    return added

