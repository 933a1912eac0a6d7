"""HTML pages: the contractor portal (/aannemer), the quote comparison (/vergelijk) and the
staff pages for quote requests (/beheer/offertes) and premium rules (/beheer/premies)."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.deps import (
    CommittingRoute,
    LoginRequired,
    MaybeWebPrincipal,
    SessionDep,
    WebContractor,
    WebStaff,
    client_ip,
)
from app.i18n import N_, gettext
from app.models.enums import IncomeCategory, Measure, PremiumKind, Unit
from app.services import contractor_portal, labels, participation_status, premiums, quotes
from app.services.errors import NotFound, ServiceError
from app.services.participation_status import StatusChange
from app.services.pricing import euros_to_cents
from app.services.quotes import QuoteInput, QuoteRequestCreate
from app.services.status_flow import STATUS_LABELS
from app.services.validation import parse_int
from app.templating import is_htmx, redirect, render

router = APIRouter(route_class=CommittingRoute)

FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]
INVALID = N_("Deze waarde klopt niet.")


def _common() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "measure_labels": labels.MEASURE_LABELS,
        "unit_labels": labels.UNIT_LABELS,
        "request_status_labels": quotes.REQUEST_STATUS_LABELS,
        "quote_status_labels": quotes.QUOTE_STATUS_LABELS,
        "income_labels": premiums.INCOME_CATEGORY_LABELS,
    }


def _number(raw: str) -> float | None:
    """A decimal number as typed in Dutch (`48,5`) or English (`48.5`); None when not one."""
    text = raw.strip().replace(" ", "").replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


# --- contractor: batches ---------------------------------------------------------------------


@router.get("/aannemer")
def contractor_home(request: Request, principal: WebContractor, session: SessionDep) -> Response:
    """The contractor's batches and quote requests."""
    return render(request, "aannemer/index.html", _common() | {
        "batches": contractor_portal.list_batches(session, principal),
        "invitations": quotes.contractor_invitations(session, principal),
    })


def _batch_page(request: Request, session: SessionDep, principal: Any, batch_id: int,
                form_state: dict[int, dict[str, Any]] | None = None,
                status_code: int = 200) -> Response:
    view = contractor_portal.get_batch(session, principal, batch_id, ip=client_ip(request))
    steps = {
        participation.id: participation_status.allowed_next_steps(principal, participation)
        for entry in view.households for participation in entry.participations
    }
    step_options = {pid: [(step.value, gettext(STATUS_LABELS[step])) for step in options]
                    for pid, options in steps.items()}
    return render(request, "aannemer/batch.html", _common() | {
        "view": view, "steps": steps, "step_options": step_options, "form_state": form_state or {},
        "today": participation_status.today(),
    }, status_code=status_code)


# Before /aannemer/batches/{batch_id}, which would otherwise take `12.csv` as the id.
@router.get("/aannemer/batches/{batch_id}.csv")
def contractor_batch_csv(batch_id: int, request: Request, principal: WebContractor,
                         session: SessionDep) -> Response:
    """The batch as CSV (`;`, UTF-8 with BOM)."""
    view = contractor_portal.get_batch(session, principal, batch_id, ip=client_ip(request),
                                       action="batch.export")
    return Response(contractor_portal.batch_csv(view).encode("utf-8"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'})


@router.get("/aannemer/batches/{batch_id}")
def contractor_batch(batch_id: int, request: Request, principal: WebContractor,
                     session: SessionDep) -> Response:
    """One batch: its households, their status, a form per sign-up to move it on."""
    return _batch_page(request, session, principal, batch_id)


@router.post("/aannemer/batches/{batch_id}/deelnames/{participation_id}/status")
def contractor_move_participation(
    batch_id: int, participation_id: int, request: Request, principal: WebContractor,
    session: SessionDep, status: FormText = "", note: FormText = "", occurred_on: FormText = "",
    measured_quantity: FormText = "", personal_offer: FormText = "",
    personal_offer_deadline: FormText = "",
) -> Response:
    """Move one sign-up on; errors come back next to the fields of that sign-up's form."""
    values = {"status": status, "note": note, "occurred_on": occurred_on,
              "measured_quantity": measured_quantity, "personal_offer": personal_offer,
              "personal_offer_deadline": personal_offer_deadline}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"status": status, "note": note.strip()}
    if not status:
        errors["status"] = N_("Kies de volgende stap.")
    for name, raw in (("occurred_on", occurred_on),
                      ("personal_offer_deadline", personal_offer_deadline)):
        if raw.strip():
            data[name] = _date(raw)
            if data[name] is None:
                errors[name] = N_("Geef een datum (jjjj-mm-dd).")
    if measured_quantity.strip():
        data["measured_quantity"] = _number(measured_quantity)
        if data["measured_quantity"] is None or data["measured_quantity"] < 0:
            errors["measured_quantity"] = N_("Geef een hoeveelheid, bijvoorbeeld 48,5.")
    if personal_offer.strip():
        data["personal_offer_cents"] = euros_to_cents(personal_offer)
        if data["personal_offer_cents"] is None:
            errors["personal_offer"] = N_("Geef een bedrag in euro, bijvoorbeeld 4.250,00.")
    contractor_portal.ensure_visible_batch(session, principal, batch_id)
    if not errors:
        try:
            participation_status.move_participation(
                session, principal, participation_id, StatusChange.model_validate(data),
                ip=client_ip(request))
            return redirect(request, f"/aannemer/batches/{batch_id}#p-{participation_id}")
        except ValidationError as exc:
            loc = str(exc.errors()[0]["loc"][0])
            errors["personal_offer" if loc == "personal_offer_cents" else loc] = INVALID
        except ServiceError as exc:
            if exc.status_code == 404:
                raise
            refused = "personal_offer" if exc.field == "personal_offer_cents" else exc.field
            errors[refused or "status"] = exc.message
    state = {participation_id: {"values": values, "errors": errors}}
    response = _batch_page(request, session, principal, batch_id, state, status_code=422)
    if is_htmx(request):
        response.headers["HX-Retarget"] = f"#p-{participation_id}-form"
        response.headers["HX-Reselect"] = f"#p-{participation_id}-form"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


# --- contractor: quote requests --------------------------------------------------------------


def _lines_from_form(description: list[str], quantity: list[str], unit: list[str],
                     unit_price: list[str]) -> list[dict[str, str]]:
    rows = []
    for index in range(max(len(description), len(quantity), len(unit_price), len(unit))):
        row = {
            "description": description[index] if index < len(description) else "",
            "quantity": quantity[index] if index < len(quantity) else "",
            "unit": unit[index] if index < len(unit) else "m2",
            "unit_price": unit_price[index] if index < len(unit_price) else "",
        }
        if row["description"].strip() or row["quantity"].strip() or row["unit_price"].strip():
            rows.append(row)
    return rows


def _quote_form_values(invitation: quotes.Invitation) -> dict[str, Any]:
    quote = invitation.quote
    if quote is None:
        return {"vat_rate": "6", "valid_until": "", "lead_time_weeks": "", "warranty_years": "",
                "notes": "", "lines": [{"description": "", "quantity": "",
                                        "unit": invitation.request.unit, "unit_price": ""}]}
    return {
        "vat_rate": str(quote.vat_rate), "valid_until": quote.valid_until.isoformat(),
        "lead_time_weeks": str(quote.lead_time_weeks),
        "warranty_years": str(quote.warranty_years), "notes": quote.notes,
        "lines": [{"description": line.description,
                   "quantity": f"{line.quantity:g}".replace(".", ","), "unit": line.unit,
                   "unit_price": f"{line.unit_price_cents / 100:.2f}".replace(".", ",")}
                  for line in invitation.lines],
    }


def _quote_page(request: Request, invitation: quotes.Invitation, values: dict[str, Any],
                errors: dict[str, str], status_code: int = 200, notice: str = "") -> Response:
    return render(request, "aannemer/quote_request.html", _common() | {
        "invitation": invitation, "values": values, "errors": errors, "notice": notice,
        "unit_options": [(unit.value, gettext(labels.UNIT_LABELS[unit])) for unit in Unit],
    }, block="quote_form", status_code=status_code)


@router.get("/aannemer/offerteaanvragen/{quote_request_id}")
def contractor_quote_request(quote_request_id: int, request: Request, principal: WebContractor,
                             session: SessionDep, ingediend: str = "") -> Response:
    """A quote request and the form to submit or revise the company's quote."""
    invitation = quotes.get_invitation(session, principal, quote_request_id)
    notice = N_("Je offerte is opgeslagen. Je kunt ze aanpassen tot de termijn verstrijkt.") \
        if ingediend else ""
    return _quote_page(request, invitation, _quote_form_values(invitation), {}, notice=notice)


QUOTE_FIELD_MESSAGES = {
    "vat_rate": N_("Kies het btw-tarief: 6 of 21."),
    "valid_until": N_("Geef de datum tot wanneer de offerte geldig is."),
    "lead_time_weeks": N_("Geef de doorlooptijd in weken (een geheel getal)."),
    "warranty_years": N_("Geef de garantie in jaren (een geheel getal)."),
    "notes": N_("Deze opmerking is te lang."),
    "lines": N_("Geef minstens één regel."),
}


LINE_FIELD_MESSAGES = {
    "description": N_("Beschrijf deze regel."),
    "quantity": N_("Geef een hoeveelheid groter dan 0."),
    "unit": N_("Kies een eenheid."),
    "unit_price": N_("Geef een prijs in euro, bijvoorbeeld 118,50."),
}
TOO_LARGE = N_("Dit getal is te groot.")


@router.post("/aannemer/offerteaanvragen/{quote_request_id}")
def contractor_submit_quote(
    quote_request_id: int, request: Request, principal: WebContractor, session: SessionDep,
    action: FormText = "submit", vat_rate: FormText = "", valid_until: FormText = "",
    lead_time_weeks: FormText = "", warranty_years: FormText = "", notes: FormText = "",
    description: FormList = [], quantity: FormList = [],  # noqa: B006 (FastAPI copies defaults)
    unit: FormList = [], unit_price: FormList = [],  # noqa: B006
) -> Response:
    """Submit or revise the quote; `action=add_line` adds an empty line (works without JS)."""
    invitation = quotes.get_invitation(session, principal, quote_request_id)
    lines = _lines_from_form(description, quantity, unit, unit_price)
    values = {"vat_rate": vat_rate, "valid_until": valid_until,
              "lead_time_weeks": lead_time_weeks, "warranty_years": warranty_years,
              "notes": notes, "lines": lines}
    if action == "add_line":
        values["lines"] = lines + [{"description": "", "quantity": "",
                                    "unit": invitation.request.unit, "unit_price": ""}]
        return _quote_page(request, invitation, values, {})
    errors: dict[str, str] = {}
    parsed_lines = []
    for index, line in enumerate(lines):
        amount = _number(line["quantity"])
        price = euros_to_cents(line["unit_price"])
        if not line["description"].strip():
            errors[f"lines-{index}-description"] = N_("Beschrijf deze regel.")
        if amount is None or amount <= 0:
            errors[f"lines-{index}-quantity"] = N_("Geef een hoeveelheid groter dan 0.")
        if line["unit"] not in set(Unit):
            errors[f"lines-{index}-unit"] = N_("Kies een eenheid.")
        if price is None:
            errors[f"lines-{index}-unit_price"] = N_("Geef een prijs in euro, bijvoorbeeld 118,50.")
        parsed_lines.append({"description": line["description"].strip()[:300], "quantity": amount,
                             "unit": line["unit"], "unit_price_cents": price})
    if not lines:
        errors["lines"] = QUOTE_FIELD_MESSAGES["lines"]
    data: dict[str, Any] = {"lines": parsed_lines,
                            "vat_rate": parse_int(vat_rate),
                            "valid_until": _date(valid_until), "notes": notes,
                            "lead_time_weeks": lead_time_weeks.strip(),
                            "warranty_years": warranty_years.strip()}
    quote_in: QuoteInput | None = None
    if not errors:
        try:
            quote_in = QuoteInput.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = error["loc"]
                field = str(loc[0])
                if field == "lines" and len(loc) >= 3:  # one line's field: next to that input
                    name = "unit_price" if loc[2] == "unit_price_cents" else str(loc[2])
                    message = (TOO_LARGE if error["type"] == "less_than_equal"
                               else LINE_FIELD_MESSAGES.get(name, INVALID))
                    errors.setdefault(f"lines-{loc[1]}-{name}", message)
                elif field != "lines":
                    errors.setdefault(field, QUOTE_FIELD_MESSAGES.get(field, INVALID))
                else:
                    errors.setdefault("lines", QUOTE_FIELD_MESSAGES["lines"])
    else:
        for field in ("vat_rate", "valid_until", "lead_time_weeks", "warranty_years"):
            if not str(data[field] or "").strip():
                errors[field] = QUOTE_FIELD_MESSAGES[field]
    if quote_in is not None and not errors:
        try:
            quotes.submit_quote(session, principal, quote_request_id, quote_in)
            return redirect(request, f"/aannemer/offerteaanvragen/{quote_request_id}?ingediend=1")
        except ServiceError as exc:
            if exc.status_code == 404:
                raise
            errors[exc.field or "form"] = exc.message
    return _quote_page(request, invitation, values, errors, status_code=422)


# --- the comparison (staff and group members) ------------------------------------------------


@router.get("/vergelijk/{quote_request_id}")
def comparison_page(quote_request_id: int, request: Request, principal: MaybeWebPrincipal,
                    session: SessionDep) -> Response:
    """Quotes side by side with each household's share, premium estimate and net cost."""
    if principal is None:
        raise LoginRequired(str(request.url.path), resident=True)
    comparison = quotes.get_comparison(session, principal, quote_request_id,
                                       ip=client_ip(request))
    summary = (quotes.get_staff_quote_request(session, principal, quote_request_id)
               if principal.is_staff else None)
    return render(request, "vergelijk/comparison.html", _common() | {
        "comparison": comparison, "summary": summary,
        "estimate_note": premiums.ESTIMATE_NOTE,
    })


# --- staff: quote requests -------------------------------------------------------------------


@router.get("/beheer/offertes")
def staff_quote_requests(request: Request, principal: WebStaff, session: SessionDep,
                         group_id: str = "") -> Response:
    """The organisation's quote requests (of one group with ?group_id=; not a group id: all)."""
    group = parse_int(group_id, minimum=1)
    return render(request, "beheer/quotes/list.html", _common() | {
        "summaries": quotes.list_quote_requests(session, principal, group),
        "group_id": group,
    })


def _new_request_page(request: Request, session: SessionDep, principal: Any,
                      values: dict[str, Any], errors: dict[str, str],
                      status_code: int = 200) -> Response:
    return render(request, "beheer/quotes/new.html", _common() | {
        "group_options": [(group.id, f"{group.name} ({campaign.name})")
                          for group, campaign in quotes.groups_for_staff(session, principal)],
        "contractors": quotes.contractors_for_staff(session, principal),
        "measure_options": [(m.value, gettext(labels.MEASURE_LABELS[m])) for m in Measure],
        "unit_options": [(u.value, gettext(labels.UNIT_LABELS[u])) for u in Unit],
        "values": values, "errors": errors,
    }, block="request_form", status_code=status_code)


@router.get("/beheer/offertes/nieuw")
def staff_new_quote_request(request: Request, principal: WebStaff, session: SessionDep,
                            group_id: str = "") -> Response:
    """The form to open a quote request for a group (preselected by ?group_id=)."""
    values = {"group_id": str(parse_int(group_id, minimum=1) or ""), "measure": "",
              "unit": "m2", "description": "", "deadline": "", "contractor_ids": [],
              "market_unit_price": ""}
    return _new_request_page(request, session, principal, values, {})


REQUEST_FIELD_MESSAGES = {
    "group_id": N_("Kies een groep."),
    "measure": N_("Kies een maatregel."),
    "unit": N_("Kies een eenheid."),
    "deadline": N_("Geef de uiterste datum en het uur voor offertes."),
    "contractor_ids": N_("Kies minstens één aannemer."),
    "description": N_("Deze beschrijving is te lang."),
    "market_unit_price_cents": N_("Geef een bedrag in euro, bijvoorbeeld 110,00."),
}


@router.post("/beheer/offertes/nieuw")
def staff_create_quote_request(
    request: Request, principal: WebStaff, session: SessionDep, group_id: FormText = "",
    measure: FormText = "", unit: FormText = "m2", description: FormText = "",
    deadline: FormText = "", market_unit_price: FormText = "",
    contractor_ids: FormList = [],  # noqa: B006
) -> Response:
    """Open the request and invite the chosen contractors."""
    values = {"group_id": group_id, "measure": measure, "unit": unit,
              "description": description, "deadline": deadline,
              "contractor_ids": contractor_ids, "market_unit_price": market_unit_price}
    errors: dict[str, str] = {}
    group = parse_int(group_id, minimum=1)
    if group is None:
        errors["group_id"] = REQUEST_FIELD_MESSAGES["group_id"]
    invited = [parse_int(c, minimum=1) for c in contractor_ids]
    if None in invited:
        errors["contractor_ids"] = REQUEST_FIELD_MESSAGES["contractor_ids"]
    market: int | None = None
    if market_unit_price.strip():
        market = euros_to_cents(market_unit_price)
        if market is None:
            errors["market_unit_price"] = REQUEST_FIELD_MESSAGES["market_unit_price_cents"]
    try:
        parsed_deadline = datetime.fromisoformat(deadline.strip()) if deadline.strip() else None
    except ValueError:
        parsed_deadline = None
    data = {"measure": measure, "unit": unit, "description": description,
            "deadline": parsed_deadline,
            "contractor_ids": [c for c in invited if c is not None],
            "market_unit_price_cents": market}
    request_in: QuoteRequestCreate | None = None
    try:
        request_in = QuoteRequestCreate.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0])
            field = "market_unit_price" if field == "market_unit_price_cents" else field
            errors.setdefault(field, REQUEST_FIELD_MESSAGES.get(field, INVALID))
    if request_in is not None and group is not None and not errors:
        try:
            created = quotes.create_quote_request(session, principal, group, request_in,
                                                  ip=client_ip(request))
            return redirect(request, f"/beheer/offertes/{created.id}")
        except ServiceError as exc:
            field = exc.field or "group_id"
            errors[field] = exc.message
    return _new_request_page(request, session, principal, values, errors, status_code=422)


@router.get("/beheer/offertes/{quote_request_id}")
def staff_quote_request(quote_request_id: int, request: Request, principal: WebStaff,
                        session: SessionDep, aanvaard: str = "") -> Response:
    """A request: who is invited, which quotes arrived, the comparison and accepting."""
    return render(request, "beheer/quotes/detail.html", _common() | {
        "summary": quotes.get_staff_quote_request(session, principal, quote_request_id),
        "notice": N_("De offerte is aanvaard; iedereen krijgt bericht.") if aanvaard else "",
    })


@router.post("/beheer/offertes/{quote_request_id}/offertes/{quote_id}/aanvaarden")
def staff_accept_quote(quote_request_id: int, quote_id: int, request: Request,
                       principal: WebStaff, session: SessionDep) -> Response:
    """The group accepts this quote."""
    quotes.accept_quote(session, principal, quote_id, ip=client_ip(request),
                        quote_request_id=quote_request_id)
    return redirect(request, f"/beheer/offertes/{quote_request_id}?aanvaard=1")


# --- staff: premium rules --------------------------------------------------------------------


def _premium_page(request: Request, session: SessionDep, principal: Any,
                  values: dict[str, Any], errors: dict[str, str], editing: int | None = None,
                  status_code: int = 200) -> Response:
    rules = premiums.list_rules(session, principal)
    return render(request, "beheer/premiums/list.html", _common() | {
        "rules": rules,
        "editable": {rule.id for rule in rules if premiums.can_edit(principal, rule)},
        "values": values, "errors": errors, "editing": editing,
        "measure_options": [(m.value, gettext(labels.MEASURE_LABELS[m])) for m in Measure],
        "category_options": [(c.value, gettext(premiums.INCOME_CATEGORY_LABELS[c]))
                             for c in IncomeCategory],
        "kind_options": [(PremiumKind.percentage.value, gettext("Percentage van de factuur")),
                         (PremiumKind.per_unit.value, gettext("Bedrag per eenheid"))],
    }, block="rule_form", status_code=status_code)


EMPTY_RULE = {"measure": "", "income_category": "", "kind": "percentage", "rate": "",
              "cap": "", "valid_from": "", "valid_to": "", "source_url": "", "is_example": ""}


@router.get("/beheer/premies")
def staff_premiums(request: Request, principal: WebStaff, session: SessionDep,
                   bewerk: str = "") -> Response:
    """Premium rules (shared examples and the organisation's own) and a form to add or edit
    (?bewerk=<rule id>; not a rule id: the form to add one)."""
    values = dict(EMPTY_RULE)
    editing = parse_int(bewerk, minimum=1)
    if editing is not None:
        rule = premiums.get_editable_rule(session, principal, editing)
        values = {"measure": rule.measure, "income_category": rule.income_category,
                  "kind": rule.kind,
                  "rate": (f"{rule.rate / 100:.2f}".replace(".", ",")
                           if rule.kind == PremiumKind.per_unit else str(rule.rate)),
                  "cap": (f"{rule.cap_cents / 100:.2f}".replace(".", ",")
                          if rule.cap_cents is not None else ""),
                  "valid_from": rule.valid_from.isoformat(),
                  "valid_to": rule.valid_to.isoformat() if rule.valid_to else "",
                  "source_url": rule.source_url, "is_example": "true" if rule.is_example else ""}
    return _premium_page(request, session, principal, values, {}, editing=editing)


def _rule_from_form(values: dict[str, Any]) -> tuple[premiums.PremiumRuleInput | None,
                                                      dict[str, str]]:
    errors: dict[str, str] = {}
    rate: int | None
    if values["kind"] == PremiumKind.per_unit:
        rate = euros_to_cents(values["rate"])
    else:
        rate = parse_int(values["rate"])
    if rate is None:
        errors["rate"] = N_("Geef een percentage (geheel getal) of een bedrag per eenheid in euro.")
    cap = euros_to_cents(values["cap"]) if values["cap"].strip() else None
    if values["cap"].strip() and cap is None:
        errors["cap"] = N_("Geef een bedrag in euro of laat leeg.")
    if errors:
        return None, errors
    try:
        return premiums.parse_rule_input({
            "measure": values["measure"], "income_category": values["income_category"],
            "kind": values["kind"], "rate": rate, "cap_cents": cap,
            "valid_from": values["valid_from"] or None, "valid_to": values["valid_to"] or None,
            "source_url": values["source_url"], "is_example": values["is_example"] == "true",
        }), {}
    except ServiceError as exc:
        field = "cap" if exc.field == "cap_cents" else exc.field or "rate"
        return None, {field: exc.message}


@router.post("/beheer/premies")
def staff_save_premium(
    request: Request, principal: WebStaff, session: SessionDep, rule_id: FormText = "",
    measure: FormText = "", income_category: FormText = "", kind: FormText = "percentage",
    rate: FormText = "", cap: FormText = "", valid_from: FormText = "", valid_to: FormText = "",
    source_url: FormText = "", is_example: FormText = "",
) -> Response:
    """Add a rule, or save the one being edited (`rule_id`)."""
    values = {"measure": measure, "income_category": income_category, "kind": kind,
              "rate": rate, "cap": cap, "valid_from": valid_from, "valid_to": valid_to,
              "source_url": source_url, "is_example": is_example}
    editing = parse_int(rule_id, minimum=1)
    if editing is None and rule_id.strip():  # no rule can have that id
        raise NotFound(N_("Deze premieregel bestaat niet of je mag ze niet wijzigen."))
    rule_in, errors = _rule_from_form(values)
    if rule_in is None:
        return _premium_page(request, session, principal, values, errors, editing, 422)
    if editing is not None:
        premiums.update_rule(session, principal, editing, rule_in)
    else:
        premiums.create_rule(session, principal, rule_in)
    return redirect(request, "/beheer/premies")


@router.post("/beheer/premies/{rule_id}/verwijderen")
def staff_delete_premium(rule_id: int, request: Request, principal: WebStaff,
                         session: SessionDep) -> Response:
    """Delete one of the organisation's rules."""
    premiums.delete_rule(session, principal, rule_id)
    return redirect(request, "/beheer/premies")

