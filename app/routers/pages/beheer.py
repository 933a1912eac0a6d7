"""HTML pages for energiehuis staff: the start page with their campaigns, campaign and offer
forms, contractors, the household list (filters, sorting, pagination, CSV), a household's page,
paper intake, and the audit log. Forms work without JavaScript; htmx swaps just the part."""

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.deps import CommittingRoute, FormFields, SessionDep, WebStaff, client_ip
from app.i18n import BRUSSELS, N_, gettext
from app.models import Campaign, Offer
from app.models.enums import (
    BudgetBand,
    CampaignStatus,
    HouseholdSource,
    LifePhase,
    Measure,
    ParticipationStatus,
    Profile,
    Tenure,
    Unit,
)
from app.services import audit, household_queries, signups
from app.services import campaigns as campaign_service
from app.services import contractors as contractor_service
from app.services import offers as offer_service
from app.services.auth import Principal
from app.services.errors import ServiceError
from app.services.households import HOUSEHOLD_FIELDS
from app.services.interests import MEASURE_LABELS
from app.services.status_flow import STATUS_LABELS, Actor
from app.services.validation import parse_int
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)

CAMPAIGN_FIELDS = ("slug", "name", "municipality", "description", "postcodes", "streets",
                   "starts_on", "ends_on", "status")
PARTNER_FIELDS = ("kind", "name", "role")
OFFER_FIELDS = ("measure", "title", "description", "lot", "procurement_reference",
                "contractor_id", "unit", "vat_rate", "capacity", "signup_opens_at",
                "signup_closes_at")
TIER_FIELDS = ("min_participants", "unit_price")
CONTRACTOR_FIELDS = ("name", "vat_number", "email", "phone")
INTAKE_FIELDS = (*HOUSEHOLD_FIELDS, "offer_id", "quantity", "consent",
                 "share_contact_with_contractor")
HOUSEHOLD_FILTERS = ("street", "life_phase", "budget_band", "profile", "tenure", "measure",
                     "status", "q", "has_email")
FILTER_CHOICES: dict[str, set[str]] = {
    "life_phase": set(LifePhase), "budget_band": set(BudgetBand), "profile": set(Profile),
    "tenure": set(Tenure), "measure": set(Measure), "status": set(ParticipationStatus),
}
AUDIT_PAGE_SIZE = 50
MAX_PAGE = 999_999  # a page number beyond this is the first page

MSG_BY_TYPE = {
    "missing": N_("Vul dit veld in."),
    "string_too_short": N_("Vul dit veld in."),
    "string_too_long": N_("Dit is te lang."),
    "int_parsing": N_("Geef een geheel getal."),
    "int_type": N_("Geef een geheel getal."),
    "greater_than": N_("Geef een getal groter dan 0."),
    "greater_than_equal": N_("Geef een getal van 0 of meer."),
    "less_than_equal": N_("Dit getal is te groot."),
    "date_parsing": N_("Geef een datum."),
    "date_from_datetime_parsing": N_("Geef een datum."),
    "date_type": N_("Geef een datum."),
    "datetime_type": N_("Geef een datum en uur."),
    "enum": N_("Kies een van de mogelijkheden."),
}
MSG_DATETIME = N_("Geef een datum en uur.")
# An amount typed in euro above this is a typing error (offers allow € 1 million per unit).
MAX_EUROS = Decimal(1_000_000)
MSG_EURO = N_("Geef een bedrag in euro, bijvoorbeeld 120 of 108,50.")


# --- form helpers -----------------------------------------------------------------------------


def _key(loc: tuple[int | str, ...]) -> str:
    return "-".join(str(part) for part in loc)


def validation_errors(exc: ValidationError, rename: Mapping[str, str] | None = None
                      ) -> dict[str, str]:
    """Pydantic's errors as {input name: Dutch message}; nested rows become `rows-0-field`."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        key = _key(error["loc"])
        for old, new in (rename or {}).items():
            key = key.replace(old, new)
        if error["type"] == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        else:
            message = MSG_BY_TYPE.get(error["type"], N_("Deze waarde klopt niet."))
        errors.setdefault(key, message)
    return errors


def service_errors(exc: ServiceError, default_field: str = "form") -> dict[str, str]:
    return {exc.field or default_field: exc.message}


def form_values(fields: dict[str, str]) -> tuple[dict[str, str], str]:
    """Every posted field as text, and the button that was pressed (`action`)."""
    values = dict(fields)
    return values, values.pop("action", "save")


def form_rows(values: Mapping[str, str], prefix: str, names: tuple[str, ...]
              ) -> list[dict[str, str]]:
    """Repeated rows posted as `prefix-0-name`, `prefix-1-name`, ..., in index order."""
    pattern = re.compile(rf"^{prefix}-([0-9]+)-")
    indices = sorted({int(m.group(1)) for key in values if (m := pattern.match(key))})
    return [{name: values.get(f"{prefix}-{i}-{name}", "").strip() for name in names}
            for i in indices]


def row_action(action: str, rows: list[dict[str, str]], prefix: str, names: tuple[str, ...]
               ) -> bool:
    """Apply an "add a row" / "remove row i" button; True when one was pressed."""
    if action == f"add_{prefix}":
        rows.append(dict.fromkeys(names, ""))
        return True
    if action.startswith(f"remove_{prefix}-"):
        index = parse_int(action.rsplit("-", 1)[1], maximum=len(rows) - 1)
        if index is not None:
            rows.pop(index)
        return True
    return False


def _options(labels: Mapping[Any, str]) -> list[tuple[str, str]]:
    return [(value, gettext(label)) for value, label in labels.items()]


def _local_datetime(value: datetime | None) -> str:
    return value.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M") if value else ""


def _parse_local_datetime(text: str) -> datetime | None:
    """A datetime-local input, read as Brussels time."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=BRUSSELS)
    except ValueError:
        return None


def _parse_euro_cents(text: str) -> int | None:
    cleaned = text.strip().replace("€", "").replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_EUROS:
        return None  # (a huge one would also overflow the rounding below)
    return int((amount * 100).quantize(Decimal("1")))


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}".replace(".", ",")


def _split(text: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


# --- start page -------------------------------------------------------------------------------


@router.get("/beheer", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: WebStaff) -> HTMLResponse:
    """The staff start page: their organisation's campaigns with key numbers."""
    campaigns = campaign_service.list_staff_campaigns(session, principal)
    numbers = campaign_service.campaign_numbers(session, [c.id for c in campaigns if c.id])
    return render(request, "beheer/home.html", {
        "campaigns": campaigns, "numbers": numbers,
        "status_labels": campaign_service.CAMPAIGN_STATUS_LABELS,
    })


# --- campaigns --------------------------------------------------------------------------------


def _campaign_values(campaign: Campaign | None) -> dict[str, str]:
    if campaign is None:
        return {"status": CampaignStatus.draft}
    return {
        "slug": campaign.slug, "name": campaign.name, "municipality": campaign.municipality,
        "description": campaign.description, "postcodes": ", ".join(campaign.postcodes),
        "streets": "\n".join(campaign.streets),
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
        "status": campaign.status,
    }


def _campaign_form(request: Request, *, campaign: Campaign | None, values: Mapping[str, str],
                   partners: list[dict[str, str]], errors: dict[str, str],
                   status_code: int = 200) -> HTMLResponse:
    return render(request, "beheer/campaign_form.html", {
        "campaign": campaign, "values": values, "partners": partners, "errors": errors,
        "status_options": _options(campaign_service.CAMPAIGN_STATUS_LABELS),
        "kind_options": _options(campaign_service.PARTNER_KIND_LABELS),
    }, block="campaign_form", status_code=status_code)


def _campaign_payload(values: Mapping[str, str], partners: list[dict[str, str]]
                      ) -> dict[str, Any]:
    return {
        "slug": values.get("slug", "").strip().lower(),
        "name": values.get("name", ""), "municipality": values.get("municipality", ""),
        "description": values.get("description", ""),
        "postcodes": _split(values.get("postcodes", ""), r"[,;\s]+"),
        "streets": _split(values.get("streets", ""), r"[\r\n]+"),
        "starts_on": values.get("starts_on") or None, "ends_on": values.get("ends_on") or None,
        "status": values.get("status", ""),
        "partners": [row for row in partners if row["name"] or row["role"]],
    }


@router.get("/beheer/wijken/nieuw", response_class=HTMLResponse)
def new_campaign(request: Request, principal: WebStaff) -> HTMLResponse:
    """The form for a new campaign."""
    return _campaign_form(request, campaign=None, values=_campaign_values(None),
                          partners=[dict.fromkeys(PARTNER_FIELDS, "")], errors={})


@router.post("/beheer/wijken/nieuw", response_class=HTMLResponse)
def create_campaign(request: Request, fields: FormFields, session: SessionDep, principal: WebStaff
                          ) -> Response:
    """Create the campaign, or show the form again (with a row added or removed, or errors)."""
    values, action = form_values(fields)
    partners = form_rows(values, "partners", PARTNER_FIELDS)
    if row_action(action, partners, "partners", PARTNER_FIELDS):
        return _campaign_form(request, campaign=None, values=values, partners=partners, errors={})
    payload = _campaign_payload(values, partners)
    try:
        data = campaign_service.CampaignCreate.model_validate(payload)
        campaign = campaign_service.create_campaign(session, principal, data)
    except ValidationError as exc:
        return _campaign_form(request, campaign=None, values=values,
                              partners=payload["partners"], errors=validation_errors(exc),
                              status_code=422)
    except ServiceError as exc:
        return _campaign_form(request, campaign=None, values=values,
                              partners=payload["partners"], errors=service_errors(exc),
                              status_code=422)
    audit.record(session, principal, action="campaign.create", object_type="campaign",
                 object_id=campaign.id, ip=client_ip(request))
    return redirect(request, f"/beheer/wijken/{campaign.slug}")


@router.get("/beheer/wijken/{slug}", response_class=HTMLResponse)
def campaign_page(request: Request, slug: str, session: SessionDep, principal: WebStaff
                  ) -> HTMLResponse:
    """A campaign for staff: its details, partners and offers with their numbers."""
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=client_ip(request))
    assert campaign.id is not None
    offers = offer_service.list_campaign_offers(session, campaign.id)
    offer_ids = [o.id for o in offers if o.id is not None]
    contractors = {c.id: c for c in contractor_service.list_contractors(session, principal)}
    return render(request, "beheer/campaign.html", {
        "campaign": campaign, "offers": offers,
        "partners": campaign_service.partners_of(session, [campaign.id])[campaign.id],
        "numbers": campaign_service.campaign_numbers(session, [campaign.id])[campaign.id],
        "tiers": offer_service.tiers_of(session, offer_ids),
        "counts": offer_service.counts_of(session, offer_ids),
        "contractors": contractors, "measure_labels": MEASURE_LABELS,
        "unit_labels": offer_service.UNIT_LABELS,
        "status_labels": campaign_service.CAMPAIGN_STATUS_LABELS,
        "kind_labels": campaign_service.PARTNER_KIND_LABELS,
    })


def _partner_rows(session: SessionDep, campaign: Campaign) -> list[dict[str, str]]:
    assert campaign.id is not None
    return [{"kind": p.kind, "name": p.name, "role": p.role}
            for p in campaign_service.partners_of(session, [campaign.id])[campaign.id]]


@router.get("/beheer/wijken/{slug}/bewerken", response_class=HTMLResponse)
def edit_campaign(request: Request, slug: str, session: SessionDep, principal: WebStaff
                  ) -> HTMLResponse:
    """The form to change a campaign."""
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=client_ip(request))
    return _campaign_form(request, campaign=campaign, values=_campaign_values(campaign),
                          partners=_partner_rows(session, campaign), errors={})


@router.post("/beheer/wijken/{slug}/bewerken", response_class=HTMLResponse)
def update_campaign(request: Request, fields: FormFields, slug: str, session: SessionDep,
                          principal: WebStaff) -> Response:
    """Save the changes, or show the form again."""
    values, action = form_values(fields)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=client_ip(request))
    partners = form_rows(values, "partners", PARTNER_FIELDS)
    if row_action(action, partners, "partners", PARTNER_FIELDS):
        return _campaign_form(request, campaign=campaign, values=values, partners=partners,
                              errors={})
    payload = _campaign_payload(values, partners)
    try:
        data = campaign_service.CampaignUpdate.model_validate(payload)
        campaign = campaign_service.update_campaign(session, principal, slug, data)
    except ValidationError as exc:
        return _campaign_form(request, campaign=campaign, values=values,
                              partners=payload["partners"], errors=validation_errors(exc),
                              status_code=422)
    except ServiceError as exc:
        return _campaign_form(request, campaign=campaign, values=values,
                              partners=payload["partners"], errors=service_errors(exc),
                              status_code=422)
    audit.record(session, principal, action="campaign.update", object_type="campaign",
                 object_id=campaign.id, organisation_id=campaign.organisation_id,
                 ip=client_ip(request))
    return redirect(request, f"/beheer/wijken/{campaign.slug}")


# --- offers -----------------------------------------------------------------------------------


def _offer_values(offer: Offer | None) -> dict[str, str]:
    if offer is None:
        return {"vat_rate": "6", "unit": Unit.m2}
    return {
        "measure": offer.measure, "title": offer.title, "description": offer.description,
        "lot": offer.lot, "procurement_reference": offer.procurement_reference,
        "contractor_id": str(offer.contractor_id), "unit": offer.unit,
        "vat_rate": str(offer.vat_rate), "capacity": str(offer.capacity),
        "signup_opens_at": _local_datetime(offer.signup_opens_at),
        "signup_closes_at": _local_datetime(offer.signup_closes_at),
    }


def _offer_form(request: Request, session: SessionDep, principal: Principal, *,
                campaign: Campaign, offer: Offer | None, values: Mapping[str, str],
                tiers: list[dict[str, str]], errors: dict[str, str],
                effects: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    contractors = [c for c in contractor_service.list_contractors(session, principal)
                   if c.organisation_id == campaign.organisation_id]
    return render(request, "beheer/offer_form.html", {
        "campaign": campaign, "offer": offer, "values": values, "tiers": tiers,
        "errors": errors, "effects": effects or [],
        "measure_options": _options(MEASURE_LABELS),
        "unit_options": _options(offer_service.UNIT_LABELS),
        "vat_options": [("6", "6 %"), ("21", "21 %")],
        "contractor_options": [(str(c.id), c.name) for c in contractors],
    }, block="offer_form", status_code=status_code)


def _offer_payload(values: Mapping[str, str], tiers: list[dict[str, str]]
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """The offer as the API would receive it, and errors for what does not convert."""
    errors: dict[str, str] = {}
    payload: dict[str, Any] = {name: values.get(name, "") for name in OFFER_FIELDS}
    for name in ("signup_opens_at", "signup_closes_at"):
        payload[name] = _parse_local_datetime(values.get(name, ""))
        if payload[name] is None:
            errors[name] = MSG_DATETIME
    price_tiers = []
    for index, row in enumerate(tiers):
        cents = _parse_euro_cents(row["unit_price"])
        if cents is None:
            errors[f"price_tiers-{index}-unit_price"] = MSG_EURO
        price_tiers.append({"min_participants": row["min_participants"],
                            "unit_price_cents": cents})
    payload["price_tiers"] = price_tiers
    return payload, errors


def _offer_tier_rows(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [row for row in form_rows(values, "price_tiers", TIER_FIELDS)
            if row["min_participants"] or row["unit_price"]]


@router.get("/beheer/wijken/{slug}/aanbod/nieuw", response_class=HTMLResponse)
def new_offer(request: Request, slug: str, session: SessionDep, principal: WebStaff
              ) -> HTMLResponse:
    """The form for a new offer with its price tiers."""
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=client_ip(request))
    return _offer_form(request, session, principal, campaign=campaign, offer=None,
                       values=_offer_values(None),
                       tiers=[{"min_participants": "0", "unit_price": ""}], errors={})


@router.post("/beheer/wijken/{slug}/aanbod/nieuw", response_class=HTMLResponse)
def create_offer(request: Request, fields: FormFields, slug: str, session: SessionDep,
                 principal: WebStaff) -> Response:
    """Create the offer, or show the form again (a tier row added or removed, or errors)."""
    values, action = form_values(fields)
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    tiers = form_rows(values, "price_tiers", TIER_FIELDS)
    if row_action(action, tiers, "price_tiers", TIER_FIELDS):
        return _offer_form(request, session, principal, campaign=campaign, offer=None,
                           values=values, tiers=tiers, errors={})
    tiers = _offer_tier_rows(values)
    payload, errors = _offer_payload(values, tiers)
    try:
        data = offer_service.OfferCreate.model_validate(payload)
        if errors:
            raise ServiceError(next(iter(errors.values())), field=next(iter(errors)))
        offer = offer_service.create_offer(session, principal, slug, data, ip=ip)
    except ValidationError as exc:
        errors = validation_errors(exc, {"unit_price_cents": "unit_price"}) | errors
        return _offer_form(request, session, principal, campaign=campaign, offer=None,
                           values=values, tiers=tiers, errors=errors, status_code=422)
    except ServiceError as exc:
        return _offer_form(request, session, principal, campaign=campaign, offer=None,
                           values=values, tiers=tiers, errors=errors | service_errors(exc),
                           status_code=422)
    audit.record(session, principal, action="offer.create", object_type="offer",
                 object_id=offer.id, organisation_id=campaign.organisation_id, ip=ip)
    return redirect(request, f"/beheer/wijken/{campaign.slug}")


def _offer_and_campaign(session: SessionDep, principal: Principal, offer_id: int, ip: str
                        ) -> tuple[Offer, Campaign]:
    offer = offer_service.get_staff_offer(session, principal, offer_id, ip=ip)
    campaign = session.get(Campaign, offer.campaign_id)
    assert campaign is not None
    return offer, campaign


@router.get("/beheer/aanbod/{offer_id}/bewerken", response_class=HTMLResponse)
def edit_offer(request: Request, offer_id: int, session: SessionDep, principal: WebStaff
               ) -> HTMLResponse:
    """The form to change an offer."""
    offer, campaign = _offer_and_campaign(session, principal, offer_id, client_ip(request))
    tiers = [{"min_participants": str(t.min_participants), "unit_price": _euros(t.unit_price_cents)}
             for t in offer_service.tiers_of(session, [offer_id])[offer_id]]
    return _offer_form(request, session, principal, campaign=campaign, offer=offer,
                       values=_offer_values(offer), tiers=tiers, errors={})


@router.post("/beheer/aanbod/{offer_id}/bewerken", response_class=HTMLResponse)
def update_offer(request: Request, fields: FormFields, offer_id: int, session: SessionDep,
                       principal: WebStaff) -> Response:
    """Save the changes; a change that hurts residents who signed up is explained first and
    needs the confirmation box ticked."""
    values, action = form_values(fields)
    ip = client_ip(request)
    offer, campaign = _offer_and_campaign(session, principal, offer_id, ip)
    tiers = form_rows(values, "price_tiers", TIER_FIELDS)
    if row_action(action, tiers, "price_tiers", TIER_FIELDS):
        return _offer_form(request, session, principal, campaign=campaign, offer=offer,
                           values=values, tiers=tiers, errors={})
    tiers = _offer_tier_rows(values)
    payload, errors = _offer_payload(values, tiers)
    payload["confirm"] = values.get("confirm") == "true"
    try:
        data = offer_service.OfferUpdate.model_validate(payload)
        if errors:
            raise ServiceError(next(iter(errors.values())), field=next(iter(errors)))
        offer_service.update_offer(session, principal, offer_id, data, ip=ip)
    except ValidationError as exc:
        errors = validation_errors(exc, {"unit_price_cents": "unit_price"}) | errors
        return _offer_form(request, session, principal, campaign=campaign, offer=offer,
                           values=values, tiers=tiers, errors=errors, status_code=422)
    except offer_service.NeedsConfirmation as exc:
        return _offer_form(request, session, principal, campaign=campaign, offer=offer,
                           values=values, tiers=tiers, errors={}, effects=exc.effects,
                           status_code=409)
    except ServiceError as exc:
        return _offer_form(request, session, principal, campaign=campaign, offer=offer,
                           values=values, tiers=tiers, errors=errors | service_errors(exc),
                           status_code=422)
    audit.record(session, principal, action="offer.update", object_type="offer",
                 object_id=offer_id, organisation_id=campaign.organisation_id, ip=ip)
    return redirect(request, f"/beheer/wijken/{campaign.slug}")


# --- contractors ------------------------------------------------------------------------------


def _contractors_page(request: Request, session: SessionDep, principal: Principal, *,
                      values: Mapping[str, str], errors: dict[str, str],
                      created: str | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "beheer/contractors.html", {
        "contractors": contractor_service.list_contractors(session, principal),
        "values": values, "errors": errors, "created": created,
    }, status_code=status_code)


@router.get("/beheer/aannemers", response_class=HTMLResponse)
def contractors(request: Request, session: SessionDep, principal: WebStaff,
                created: str | None = None) -> HTMLResponse:
    """The organisation's contractors and the form to add one."""
    return _contractors_page(request, session, principal, values={}, errors={}, created=created)


@router.post("/beheer/aannemers", response_class=HTMLResponse)
def create_contractor(request: Request, fields: FormFields, session: SessionDep, principal: WebStaff
                            ) -> Response:
    """Add a contractor, or show the form again with the messages."""
    values, _action = form_values(fields)
    try:
        data = contractor_service.ContractorCreate.model_validate(
            {name: values.get(name, "") for name in CONTRACTOR_FIELDS})
        contractor = contractor_service.create_contractor(session, principal, data)
    except ValidationError as exc:
        return _contractors_page(request, session, principal, values=values,
                                 errors=validation_errors(exc), status_code=422)
    except ServiceError as exc:
        return _contractors_page(request, session, principal, values=values,
                                 errors=service_errors(exc), status_code=422)
    audit.record(session, principal, action="contractor.create", object_type="contractor",
                 object_id=contractor.id, ip=client_ip(request))
    return redirect(request, f"/beheer/aannemers?{urlencode({'created': contractor.name})}")


# --- households -------------------------------------------------------------------------------


def _household_filters(params: Mapping[str, str]) -> household_queries.HouseholdFilters:
    """Filters from the query string; unknown choices are ignored rather than refused."""
    values: dict[str, Any] = {}
    for name in HOUSEHOLD_FILTERS:
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if name == "has_email":
            values[name] = {"true": True, "false": False}.get(value)
        elif name in FILTER_CHOICES:
            values[name] = value if value in FILTER_CHOICES[name] else None
        else:
            values[name] = value[:200]
    return household_queries.HouseholdFilters(**values)


def _page_number(text: str | None) -> int:
    """A page number from the query string; anything else is the first page."""
    return parse_int(text, minimum=1, maximum=MAX_PAGE) or 1


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    return {
        "life_phase": _options(household_queries.LIFE_PHASE_LABELS),
        "budget_band": _options(household_queries.BUDGET_BAND_LABELS),
        "profile": _options(household_queries.PROFILE_LABELS),
        "tenure": _options(household_queries.TENURE_LABELS),
        "measure": _options(MEASURE_LABELS),
        "status": _options(STATUS_LABELS),
        "has_email": [("true", gettext("met e-mailadres")),
                      ("false", gettext("zonder e-mailadres (belronde)"))],
    }


@router.get("/beheer/wijken/{slug}/huishoudens", response_class=HTMLResponse)
def households(request: Request, slug: str, session: SessionDep, principal: WebStaff
               ) -> HTMLResponse:
    """The campaign's households with filters, sortable columns and pages; for htmx (active
    search) only the results block."""
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    params = request.query_params
    filters = _household_filters(params)
    result = household_queries.list_households(
        session, principal, campaign, filters, sort=params.get("sort"),
        page=_page_number(params.get("page")), ip=ip,
    )
    filter_query = filters.query_items()
    return render(request, "beheer/households.html", {
        "campaign": campaign, "result": result, "filters": filters,
        "filter_query": filter_query, "query": urlencode(filter_query),
        "sort_query": urlencode([*filter_query, ("sort", result.sort)]),
        "base_url": f"/beheer/wijken/{campaign.slug}/huishoudens",
        "street_options": [(street, street)
                           for street in household_queries.campaign_streets(session, campaign)],
        "options": _filter_options(), "status_labels": STATUS_LABELS,
        "measure_labels": MEASURE_LABELS,
        "life_phase_labels": household_queries.LIFE_PHASE_LABELS,
        "tenure_labels": household_queries.TENURE_LABELS,
    }, block="results")


@router.get("/beheer/wijken/{slug}/huishoudens.csv")
def households_csv(request: Request, slug: str, session: SessionDep, principal: WebStaff
                   ) -> Response:
    """The filtered list as CSV for Excel (UTF-8 with BOM, `;` separated)."""
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    params = request.query_params
    text = household_queries.export_households_csv(
        session, principal, campaign, _household_filters(params), sort=params.get("sort"), ip=ip)
    filename = f"huishoudens-{campaign.slug}-{date.today().isoformat()}.csv"
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


def _intake_form(request: Request, session: SessionDep, *, campaign: Campaign,
                 values: Mapping[str, str], errors: dict[str, str], message: str | None = None,
                 status_code: int = 200) -> HTMLResponse:
    assert campaign.id is not None
    offers = offer_service.list_campaign_offers(session, campaign.id)
    return render(request, "beheer/intake.html", {
        "campaign": campaign, "values": values, "errors": errors, "message": message,
        "offer_options": [(str(o.id), f"{o.title} ({gettext(MEASURE_LABELS[o.measure])})")
                          for o in offers],
        "options": {
            "dwelling_type": _options(household_queries.DWELLING_TYPE_LABELS),
            "tenure": _options(household_queries.TENURE_LABELS),
            "life_phase": _options(household_queries.LIFE_PHASE_LABELS),
            "budget_band": _options(household_queries.BUDGET_BAND_LABELS),
            "profile": _options(household_queries.PROFILE_LABELS),
        },
    }, block="intake_form", status_code=status_code)


@router.get("/beheer/wijken/{slug}/huishoudens/nieuw", response_class=HTMLResponse)
def new_paper_intake(request: Request, slug: str, session: SessionDep, principal: WebStaff
                     ) -> HTMLResponse:
    """Paper intake: register a resident who signed up on paper (e.g. at an info evening)."""
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=client_ip(request))
    return _intake_form(request, session, campaign=campaign, values={"postcode": (
        campaign.postcodes[0] if len(campaign.postcodes) == 1 else "")}, errors={})


@router.post("/beheer/wijken/{slug}/huishoudens/nieuw", response_class=HTMLResponse)
def create_paper_intake(request: Request, fields: FormFields, slug: str, session: SessionDep,
                              principal: WebStaff) -> Response:
    """Sign the household up with source "paper", through the residents' own sign-up rules."""
    values, _action = form_values(fields)
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    assert campaign.id is not None
    offer_ids = {str(o.id) for o in offer_service.list_campaign_offers(session, campaign.id)}
    if values.get("offer_id") not in offer_ids:
        return _intake_form(request, session, campaign=campaign, values=values,
                            errors={"offer_id": N_("Kies het aanbod waarvoor de bewoner "
                                                   "tekende.")}, status_code=422)
    try:
        result = signups.sign_up(session, int(values["offer_id"]),
                                 {name: values.get(name, "") for name in INTAKE_FIELDS},
                                 actor=Actor("staff", principal.user_id),
                                 source=HouseholdSource.paper)
    except signups.SignupInvalid as exc:
        return _intake_form(request, session, campaign=campaign, values=values,
                            errors=exc.errors, status_code=422)
    except ServiceError as exc:
        return _intake_form(request, session, campaign=campaign, values=values,
                            errors=service_errors(exc, "offer_id"), status_code=exc.status_code
                            if exc.status_code in (409, 422) else 422)
    household_id = result.household.id
    audit.record(session, principal, action="household.paper_intake", object_type="household",
                 object_id=household_id, household_id=household_id,
                 organisation_id=campaign.organisation_id, ip=ip)
    return redirect(request, f"/beheer/wijken/{campaign.slug}/huishoudens/{household_id}")


@router.get("/beheer/wijken/{slug}/huishoudens/{household_id}", response_class=HTMLResponse)
def household_page(request: Request, slug: str, household_id: int, session: SessionDep,
                   principal: WebStaff) -> HTMLResponse:
    """One household: details, sign-ups and the history of each."""
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    detail = household_queries.get_household_detail(session, principal, campaign, household_id,
                                                    ip=ip)
    return render(request, "beheer/household.html", {
        "campaign": campaign, "detail": detail, "household": detail.household,
        "status_labels": STATUS_LABELS, "measure_labels": MEASURE_LABELS,
        "labels": {
            "dwelling_type": household_queries.DWELLING_TYPE_LABELS,
            "tenure": household_queries.TENURE_LABELS,
            "life_phase": household_queries.LIFE_PHASE_LABELS,
            "budget_band": household_queries.BUDGET_BAND_LABELS,
            "profile": household_queries.PROFILE_LABELS,
            "source": household_queries.SOURCE_LABELS,
        },
    })


# --- audit log --------------------------------------------------------------------------------


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/beheer/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: SessionDep, principal: WebStaff) -> HTMLResponse:
    """Who viewed or changed residents' data, and refused accesses; filterable, paginated."""
    params = request.query_params
    household_text = params.get("household_id", "")
    filters = audit.AuditFilters(
        action=params.get("action") if params.get("action") in audit.ACTION_LABELS else None,
        actor=(params.get("actor") or "").strip()[:254] or None,
        outcome=params.get("outcome") if params.get("outcome") in ("ok", "denied") else None,
        household_id=parse_int(household_text, minimum=1),  # else: not filtered
        date_from=_date(params.get("date_from")), date_to=_date(params.get("date_to")),
    )
    result = audit.list_events(session, principal, filters,
                               page=_page_number(params.get("page")), page_size=AUDIT_PAGE_SIZE)
    query_items = [(key, value) for key, value in params.multi_items()
                   if key in ("action", "actor", "outcome", "household_id", "date_from",
                              "date_to") and value]
    return render(request, "beheer/audit.html", {
        "result": result, "values": dict(query_items), "query": urlencode(query_items),
        "pages": max(1, -(-result.total // result.page_size)),
        "action_options": _options(audit.ACTION_LABELS),
        "action_labels": audit.ACTION_LABELS,
        "outcome_options": [("ok", gettext("toegestaan")), ("denied", gettext("geweigerd"))],
    }, block="results")
