"""Premium rules as data (measure × income category, valid from/to, source) and the premium
estimate for a household: the rule valid on the quote's date, capped, never more than the cost.

Rules without an organisation are shared by every organisation (the demo's examples); an
organisation's own rule wins over a shared one for the same measure, category and date.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import ValidationError, field_validator
from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import PremiumRule
from app.models.enums import IncomeCategory, Measure, PremiumKind, Role
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from app.services.pricing import percentage_of_cents, round_cents
from app.services.validation import CleanInput

ESTIMATE_NOTE = N_(
    "Schatting van de premie (Mijn VerbouwPremie) op basis van de regel die geldt op de datum "
    "van de offerte en je inkomenscategorie. Het echte bedrag hangt af van je aanvraag."
)
EXAMPLE_SOURCE = "https://www.vlaanderen.be/premies-voor-renovatie/mijn-verbouwpremie"
# € 1 million: larger rates or caps are typing errors (and would not fit an integer column).
MAX_AMOUNT_CENTS = 100_000_000
MSG_TOO_LARGE = N_("Dit bedrag is te groot.")

INCOME_CATEGORY_LABELS: dict[str, str] = {
    IncomeCategory.cat1: N_("Categorie 1 (hoogste inkomens)"),
    IncomeCategory.cat2: N_("Categorie 2"),
    IncomeCategory.cat3: N_("Categorie 3"),
    IncomeCategory.cat4: N_("Categorie 4 (laagste inkomens)"),
}


@dataclass(frozen=True)
class PremiumEstimate:
    """An estimated premium for one household; `known` is False without income category or rule."""

    amount_cents: int
    known: bool
    rule_id: int | None = None
    reason: str = ""


def rule_for(
    session: Session, *, organisation_id: int | None, measure: str, income_category: str,
    on: date,
) -> PremiumRule | None:
    """The rule valid on `on`: the organisation's own before a shared one, then the newest."""
    candidates = session.exec(
        select(PremiumRule).where(
            PremiumRule.measure == measure,
            PremiumRule.income_category == income_category,
            PremiumRule.valid_from <= on,
            or_(col(PremiumRule.valid_to).is_(None), col(PremiumRule.valid_to) >= on),
            or_(col(PremiumRule.organisation_id).is_(None),
                col(PremiumRule.organisation_id) == organisation_id),
        )
    ).all()
    if not candidates:
        return None
    return max(candidates, key=lambda rule: (rule.organisation_id is not None, rule.valid_from,
                                             rule.id or 0))


def apply_rule(rule: PremiumRule, *, cost_incl_vat_cents: int, quantity: float | None) -> int:
    """The premium a rule gives on a cost: a percentage of it, or a rate per unit; capped by the
    rule's cap and by the cost itself (a premium never pays more than the invoice)."""
    if rule.kind == PremiumKind.percentage:
        amount = percentage_of_cents(cost_incl_vat_cents, rule.rate)
    else:
        amount = round_cents(Decimal(str(quantity or 0)) * rule.rate)
    if rule.cap_cents is not None:
        amount = min(amount, rule.cap_cents)
    return max(0, min(amount, cost_incl_vat_cents))


RuleCache = dict[tuple[int | None, str, str, date], PremiumRule | None]


def estimate(
    session: Session, *, organisation_id: int | None, measure: str,
    income_category: str | None, on: date, cost_incl_vat_cents: int, quantity: float | None,
    rules: RuleCache | None = None,
) -> PremiumEstimate:
    """The premium on a cost. `rules` remembers the rules already looked up (a comparison asks
    for the same few income categories for every member of a group)."""
    if not income_category:
        return PremiumEstimate(0, False, reason=N_("onbekend: geen inkomenscategorie"))
    key = (organisation_id, measure, income_category, on)
    if rules is not None and key in rules:
        rule = rules[key]
    else:
        rule = rule_for(session, organisation_id=organisation_id, measure=measure,
                        income_category=income_category, on=on)
        if rules is not None:
            rules[key] = rule
    if rule is None:
        return PremiumEstimate(0, False, reason=N_("onbekend: geen premieregel voor deze datum"))
    if rule.kind == PremiumKind.per_unit and not quantity:
        return PremiumEstimate(0, False, rule.id, N_("onbekend: hoeveelheid niet gekend"))
    amount = apply_rule(rule, cost_incl_vat_cents=cost_incl_vat_cents, quantity=quantity)
    return PremiumEstimate(amount, True, rule.id)


# --- staff CRUD ------------------------------------------------------------------------------


class PremiumRuleInput(CleanInput):
    """What staff fill in; `rate` is whole percent or cents per unit depending on `kind`."""

    measure: Measure
    income_category: IncomeCategory
    kind: PremiumKind
    rate: int
    cap_cents: int | None = None
    valid_from: date
    valid_to: date | None = None
    source_url: str = ""
    is_example: bool = False

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: int) -> int:
        if value < 0:
            raise ValueError(N_("Het bedrag of percentage mag niet negatief zijn."))
        if value > MAX_AMOUNT_CENTS:
            raise ValueError(MSG_TOO_LARGE)
        return value

    @field_validator("cap_cents")
    @classmethod
    def _cap(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(N_("Het plafond mag niet negatief zijn."))
        if value is not None and value > MAX_AMOUNT_CENTS:
            raise ValueError(MSG_TOO_LARGE)
        return value

    @field_validator("source_url")
    @classmethod
    def _source(cls, value: str) -> str:
        return source_url(value)


def source_url(value: str) -> str:
    """A rule's or an assumption's source: empty, or an http(s) address of at most 500."""
    value = value.strip()
    if value and not value.startswith(("https://", "http://")):
        raise ValueError(N_("Geef een webadres dat begint met https://."))
    if len(value) > 500:
        raise ValueError(N_("Dit webadres is te lang."))
    return value



FIELD_MESSAGES = {
    "measure": N_("Kies een maatregel."),
    "income_category": N_("Kies een inkomenscategorie."),
    "kind": N_("Kies het soort premie."),
    "rate": N_("Geef een geheel getal."),
    "cap_cents": N_("Geef een bedrag of laat leeg."),
    "valid_from": N_("Geef een datum (jjjj-mm-dd)."),
    "valid_to": N_("Geef een datum (jjjj-mm-dd) of laat leeg."),
}


def parse_rule_input(data: dict[str, object]) -> PremiumRuleInput:
    """Validate; the first problem is raised as Invalid naming its field."""
    try:
        rule_in = PremiumRuleInput.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0])
        cause = error.get("ctx", {}).get("error")
        message = str(cause) if error["type"] == "value_error" and cause else (
            FIELD_MESSAGES.get(field, N_("Deze waarde klopt niet.")))
        raise Invalid(message, field=field) from exc
    if rule_in.kind == PremiumKind.percentage and rule_in.rate > 100:
        raise Invalid(N_("Een percentage ligt tussen 0 en 100."), field="rate")
    if rule_in.valid_to is not None and rule_in.valid_to < rule_in.valid_from:
        raise Invalid(N_("De einddatum ligt voor de begindatum."), field="valid_to")
    return rule_in


def list_rules(session: Session, principal: Principal) -> list[PremiumRule]:
    """The shared rules and those of the organisations the caller acts for, by measure,
    category and date."""
    statement = select(PremiumRule).where(or_(
        col(PremiumRule.organisation_id).is_(None),
        col(PremiumRule.organisation_id).in_(principal.organisation_ids)))
    rules = list(session.exec(
        statement.order_by(
            col(PremiumRule.measure), col(PremiumRule.income_category),
            col(PremiumRule.valid_from).desc(), col(PremiumRule.id))
    ).all())
    audit.record_grant_use(session, principal, (rule.organisation_id for rule in rules),
                           object_type="premium_rule")
    return rules


def can_edit(principal: Principal, rule: PremiumRule) -> bool:
    """Shared rules (no organisation) are edited by admins only; an organisation's own rules by
    the staff and admins who act for it."""
    if rule.organisation_id is None:
        return principal.role == Role.admin
    return rule.organisation_id in principal.organisation_ids


def get_editable_rule(session: Session, principal: Principal, rule_id: int) -> PremiumRule:
    editable: ColumnElement[bool] = col(PremiumRule.organisation_id).in_(
        principal.organisation_ids)
    if principal.role == Role.admin:
        editable = or_(editable, col(PremiumRule.organisation_id).is_(None))
    rule = session.exec(select(PremiumRule).where(PremiumRule.id == rule_id, editable)).first()
    if rule is None:
        raise NotFound(N_("Deze premieregel bestaat niet of je mag ze niet wijzigen."))
    audit.record_grant_use(session, principal, [rule.organisation_id],
                           object_type="premium_rule", object_id=rule.id)
    return rule


def create_rule(session: Session, principal: Principal, rule_in: PremiumRuleInput) -> PremiumRule:
    rule = PremiumRule(organisation_id=principal.organisation_id, **rule_in.model_dump())
    session.add(rule)
    session.flush()
    return rule


def update_rule(
    session: Session, principal: Principal, rule_id: int, rule_in: PremiumRuleInput
) -> PremiumRule:
    rule = get_editable_rule(session, principal, rule_id)
    for name, value in rule_in.model_dump().items():
        setattr(rule, name, value)
    session.add(rule)
    session.flush()
    return rule


def delete_rule(session: Session, principal: Principal, rule_id: int) -> None:
    session.delete(get_editable_rule(session, principal, rule_id))
    session.flush()


# --- example data ----------------------------------------------------------------------------

# Clearly labelled EXAMPLES for the demo, not facts: PREMIUMS.md found no official 2025 amounts
# for wall or roof insulation; the window-frame cap of € 2.750 is the known middle-tier maximum
# from 2025, the rest is illustrative. Staff replace them with the amounts of vlaanderen.be.
EXAMPLE_RULES: list[tuple[str, str, str, int, int | None]] = [
    # measure, income category, kind, rate (cents per unit or %), cap in cents
    ("facade_insulation", "cat1", "per_unit", 1500, 300000),
    ("facade_insulation", "cat2", "per_unit", 2000, 400000),
    ("facade_insulation", "cat3", "per_unit", 3000, 600000),
    ("facade_insulation", "cat4", "per_unit", 4000, 800000),
    ("roof_insulation", "cat1", "per_unit", 600, 150000),
    ("roof_insulation", "cat2", "per_unit", 800, 200000),
    ("roof_insulation", "cat3", "per_unit", 1200, 300000),
    ("roof_insulation", "cat4", "per_unit", 1600, 400000),
    ("window_frames", "cat1", "percentage", 15, 200000),
    ("window_frames", "cat2", "percentage", 20, 275000),
    ("window_frames", "cat3", "percentage", 30, 275000),
    ("window_frames", "cat4", "percentage", 40, 385000),
]
EXAMPLE_VALID_FROM = date(2025, 1, 1)


def ensure_example_rules(session: Session) -> int:
    """Add the example rules (shared, `is_example`) that are not there yet; returns how many."""
    existing = {
        (rule.measure, rule.income_category)
        for rule in session.exec(
            select(PremiumRule).where(col(PremiumRule.organisation_id).is_(None),
                                      PremiumRule.valid_from == EXAMPLE_VALID_FROM)
        ).all()
    }
    added = 0
    for measure, category, kind, rate, cap in EXAMPLE_RULES:
        if (measure, category) in existing:
            continue
        session.add(PremiumRule(measure=measure, income_category=category, kind=kind, rate=rate,
                                cap_cents=cap, valid_from=EXAMPLE_VALID_FROM,
                                source_url=EXAMPLE_SOURCE, is_example=True))
        added += 1
    session.flush()
    return added
