"""HTML for the estimate: the offer page's estimate form and result (shared with public.py),
the resident's "which category am I?" save on /mijn, and the staff pages for the savings
assumptions and energy factors (/beheer/besparingen)."""

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.deps import CommittingRoute, SessionDep, WebResident, WebStaff
from app.i18n import N_, gettext
from app.models.enums import DwellingType, IncomeCategory, Measure
from app.services import estimates, household_queries, labels, offers_public, premiums
from app.services.errors import NotFound, ServiceError
from app.services.validation import parse_int
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)
FormText = Annotated[str, Form()]

ESTIMATE_FIELDS = ("quantity", "income_category", "build_year", "dwelling_type", "adults",
                   "dependants", "taxable_income")
MAX_TYPED = 40


def estimate_values(params: Mapping[str, str]) -> dict[str, str]:
    """What the estimate form sent (a query string), each value cut to a sane length."""
    return {name: str(params.get(name, ""))[:MAX_TYPED] for name in ESTIMATE_FIELDS}


INCOME_LABELS_BY_CODE = {estimates.code_of_category(str(category)): label
                         for category, label in premiums.INCOME_CATEGORY_LABELS.items()}


def income_options() -> list[tuple[str, str]]:
    return [(estimates.code_of_category(category.value),
             gettext(premiums.INCOME_CATEGORY_LABELS[category])) for category in IncomeCategory]


def category_helper(session: Session, values: dict[str, str]) -> dict[str, Any]:
    """The "which category am I?" answer for the typed household size and income (nothing
    stored), or the messages per field."""
    question, errors = estimates.parse_category_question(values)
    answer = estimates.which_category(session, question) if question else None
    return {"category_answer": answer, "category_asked": question is not None,
            "category_errors": errors}


def estimate_context(session: Session, page: offers_public.OfferPage,
                     values: dict[str, str]) -> dict[str, Any]:
    """The offer page's estimate: the form as typed, the helper's category (used when no
    category was chosen), and price, premium, net cost and savings, or the messages."""
    helper = category_helper(session, values)
    used = dict(values)
    answer = helper["category_answer"]
    if answer is not None and used["income_category"] in ("", estimates.UNKNOWN_CATEGORY):
        used["income_category"] = answer.code
    query, errors = estimates.parse_page_input(used)
    estimate = None
    if query is not None and page.offer.current_unit_price_cents is not None:
        estimate = estimates.estimate_listing(session, page.offer,
                                              page.campaign.organisation_id, query)
    return {"page": page, "estimate": estimate, "estimate_values": values,
            "estimate_errors": errors | helper["category_errors"],
            "income_options": income_options(), "income_labels_by_code": INCOME_LABELS_BY_CODE,
            **helper}


# --- /mijn: keep the category ----------------------------------------------------------------


@router.post("/mijn/inkomenscategorie")
def save_income_category(request: Request, principal: WebResident, session: SessionDep,
                         income_category: FormText = "") -> Response:
    """Keep the category the helper found (only when the household asks)."""
    try:
        estimates.save_income_category(session, principal, income_category)
    except ServiceError:
        return redirect(request, "/mijn#categorie")
    return redirect(request, "/mijn?bewaard=categorie#categorie")


# --- staff: savings assumptions and energy factors ------------------------------------------


EMPTY_ASSUMPTION = {"measure": "", "dwelling_type": "", "kwh_per_unit_year": "",
                    "price_cents_per_mwh": "", "co2_grams_per_kwh": "", "valid_from": "",
                    "valid_to": "", "source_url": "", "note": "", "is_example": ""}
EMPTY_FACTOR = {"energy_price": "", "energy_co2": "", "energy_valid_from": "",
                "energy_valid_to": "", "energy_price_source_url": "", "energy_co2_source_url": "",
                "energy_is_example": ""}
MSG_WHOLE_NUMBER = N_("Geef een geheel getal.")
MSG_WHOLE_NUMBER_OR_EMPTY = N_("Geef een geheel getal of laat leeg.")


def _page(request: Request, session: Session, principal: Any, *,
          assumption: dict[str, str], assumption_errors: dict[str, str],
          factor: dict[str, str], factor_errors: dict[str, str],
          editing: int | None = None, editing_factor: int | None = None,
          block: str | None = None, status_code: int = 200) -> Response:
    rows = estimates.list_assumptions(session, principal)
    factors = estimates.list_factors(session, principal)
    return render(request, "beheer/savings/list.html", {
        "assumptions": rows, "factors": factors,
        "editable": {("a", row.id) for row in rows if estimates.can_edit(principal, row)}
        | {("f", row.id) for row in factors if estimates.can_edit(principal, row)},
        "assumption": assumption, "assumption_errors": assumption_errors,
        "factor": factor, "factor_errors": factor_errors,
        "editing": editing, "editing_factor": editing_factor,
        "measure_labels": labels.MEASURE_LABELS,
        "dwelling_labels": household_queries.DWELLING_TYPE_LABELS,
        "measure_options": [(m.value, gettext(labels.MEASURE_LABELS[m])) for m in Measure],
        "dwelling_options": [(d.value, gettext(household_queries.DWELLING_TYPE_LABELS[d]))
                             for d in DwellingType],
    }, block=block, status_code=status_code)


def _text(value: object) -> str:
    return "" if value is None else str(value)


@router.get("/beheer/besparingen")
def staff_savings(request: Request, principal: WebStaff, session: SessionDep,
                  bewerk: str = "", energie: str = "") -> Response:
    """Savings assumptions per measure and dwelling type, and the energy price and emission
    factor, with forms to add or edit (?bewerk=<assumption id>, ?energie=<factor id>)."""
    assumption, factor = dict(EMPTY_ASSUMPTION), dict(EMPTY_FACTOR)
    editing, editing_factor = parse_int(bewerk, minimum=1), parse_int(energie, minimum=1)
    if editing is not None:
        row = estimates.get_editable_assumption(session, principal, editing)
        assumption = {name: _text(value) for name, value in estimates.assumption_json(row).items()
                      if name in EMPTY_ASSUMPTION}
        assumption["is_example"] = "true" if row.is_example else ""
    if editing_factor is not None:
        found = estimates.get_editable_factor(session, principal, editing_factor)
        factor = _factor_form({name: _text(value) for name, value
                               in estimates.factor_json(found).items()
                               if name in FACTOR_FORM_NAMES})
        factor["energy_is_example"] = "true" if found.is_example else ""
    return _page(request, session, principal, assumption=assumption, assumption_errors={},
                 factor=factor, factor_errors={}, editing=editing,
                 editing_factor=editing_factor)


def _numbers(values: dict[str, str], required: tuple[str, ...], optional: tuple[str, ...]
             ) -> tuple[dict[str, int | None], dict[str, str]]:
    numbers: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name in (*required, *optional):
        raw = values[name].replace(".", "").replace(" ", "")
        if not raw and name in optional:
            numbers[name] = None
            continue
        numbers[name] = parse_int(raw)
        if numbers[name] is None:
            errors[name] = MSG_WHOLE_NUMBER if name in required else MSG_WHOLE_NUMBER_OR_EMPTY
    return numbers, errors


def _editing_id(raw: str, message: str) -> int | None:
    editing = parse_int(raw, minimum=1)
    if editing is None and raw.strip():  # no row can have that id
        raise NotFound(message)
    return editing


@router.post("/beheer/besparingen")
def staff_save_assumption(
    request: Request, principal: WebStaff, session: SessionDep, assumption_id: FormText = "",
    measure: FormText = "", dwelling_type: FormText = "", kwh_per_unit_year: FormText = "",
    price_cents_per_mwh: FormText = "", co2_grams_per_kwh: FormText = "",
    valid_from: FormText = "", valid_to: FormText = "", source_url: FormText = "",
    note: FormText = "", is_example: FormText = "",
) -> Response:
    """Add an assumption, or save the one being edited; errors next to their fields."""
    values = {"measure": measure, "dwelling_type": dwelling_type,
              "kwh_per_unit_year": kwh_per_unit_year, "price_cents_per_mwh": price_cents_per_mwh,
              "co2_grams_per_kwh": co2_grams_per_kwh, "valid_from": valid_from,
              "valid_to": valid_to, "source_url": source_url, "note": note,
              "is_example": is_example}
    editing = _editing_id(assumption_id, estimates.MSG_ASSUMPTION_NOT_FOUND)
    numbers, errors = _numbers(values, ("kwh_per_unit_year",),
                               ("price_cents_per_mwh", "co2_grams_per_kwh"))
    if not errors:
        try:
            data = estimates.parse_assumption_input(values | numbers | {
                "dwelling_type": dwelling_type or None, "valid_from": valid_from or None,
                "valid_to": valid_to or None, "is_example": is_example == "true"})
            if editing is not None:
                estimates.update_assumption(session, principal, editing, data)
            else:
                estimates.create_assumption(session, principal, data)
        except NotFound:
            raise
        except ServiceError as exc:
            errors = {exc.field or "measure": exc.message}
    if errors:
        return _page(request, session, principal, assumption=values, assumption_errors=errors,
                     factor=dict(EMPTY_FACTOR), factor_errors={}, editing=editing,
                     block="assumption_form", status_code=422)
    return redirect(request, "/beheer/besparingen")


@router.post("/beheer/besparingen/{assumption_id}/verwijderen")
def staff_delete_assumption(assumption_id: int, request: Request, principal: WebStaff,
                            session: SessionDep) -> Response:
    """Delete one of the organisation's assumptions."""
    estimates.delete_assumption(session, principal, assumption_id)
    return redirect(request, "/beheer/besparingen")


# The energy factor form's names start with energy_: the assumption form on the same page has
# fields of the same meaning (ids must be unique on a page).
FACTOR_FORM_NAMES = {"price_cents_per_mwh": "energy_price", "co2_grams_per_kwh": "energy_co2",
                     "valid_from": "energy_valid_from", "valid_to": "energy_valid_to",
                     "price_source_url": "energy_price_source_url",
                     "co2_source_url": "energy_co2_source_url",
                     "is_example": "energy_is_example"}


def _factor_form(values: dict[str, str]) -> dict[str, str]:
    return {FACTOR_FORM_NAMES[name]: value for name, value in values.items()}


@router.post("/beheer/besparingen/energie")
def staff_save_factor(
    request: Request, principal: WebStaff, session: SessionDep, factor_id: FormText = "",
    energy_price: FormText = "", energy_co2: FormText = "", energy_valid_from: FormText = "",
    energy_valid_to: FormText = "", energy_price_source_url: FormText = "",
    energy_co2_source_url: FormText = "", energy_is_example: FormText = "",
) -> Response:
    """Add the organisation's energy price and emission factor, or save the one being edited."""
    values = {"price_cents_per_mwh": energy_price, "co2_grams_per_kwh": energy_co2,
              "valid_from": energy_valid_from, "valid_to": energy_valid_to,
              "price_source_url": energy_price_source_url,
              "co2_source_url": energy_co2_source_url, "is_example": energy_is_example}
    editing = _editing_id(factor_id, estimates.MSG_FACTOR_NOT_FOUND)
    numbers, errors = _numbers(values, ("price_cents_per_mwh", "co2_grams_per_kwh"), ())
    if not errors:
        try:
            data = estimates.parse_factor_input(values | numbers | {
                "valid_from": energy_valid_from or None, "valid_to": energy_valid_to or None,
                "is_example": energy_is_example == "true"})
            if editing is not None:
                estimates.update_factor(session, principal, editing, data)
            else:
                estimates.create_factor(session, principal, data)
        except NotFound:
            raise
        except ServiceError as exc:
            errors = {exc.field or "price_cents_per_mwh": exc.message}
    if errors:
        return _page(request, session, principal, assumption=dict(EMPTY_ASSUMPTION),
                     assumption_errors={}, factor=_factor_form(values),
                     factor_errors=_factor_form(errors), editing_factor=editing,
                     block="factor_form", status_code=422)
    return redirect(request, "/beheer/besparingen")
