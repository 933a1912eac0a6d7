"""HTML pages for residents: the magic link (request, confirm), /mijn (sign-ups, details,
energy bill, withdraw, export, erase), the klimaattafel and the privacy notice."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.config import get_settings
from app.deps import (
    SESSION_COOKIE,
    CommittingRoute,
    FormFields,
    MaybeWebPrincipal,
    ReadSessionDep,
    SessionDep,
    WebResident,
    client_ip,
)
from app.i18n import N_
from app.models.enums import Horizon
from app.routers.pages import estimate_pages
from app.routers.pages.auth import set_session_cookie
from app.services import campaigns as campaign_service
from app.services import claims, estimates, support_paths
from app.services import household_queries as labels
from app.services import interests as interest_service
from app.services import participation_status as status_service
from app.services import quotes as quote_service
from app.services import residents as resident_service
from app.services.auth import Principal, end_session
from app.services.errors import Invalid, RateLimited, ServiceError, Unauthorized
from app.services.households import HOUSEHOLD_FIELDS
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)



CHOICES = {
    "dwelling_type": labels.DWELLING_TYPE_LABELS,
    "tenure": labels.TENURE_LABELS,
    "life_phase": labels.LIFE_PHASE_LABELS,
    "budget_band": labels.BUDGET_BAND_LABELS,
    "profile": labels.PROFILE_LABELS,
}
NOTICES = {
    "gegevens": N_("Je gegevens zijn bewaard."),
    "energie": N_("Je energiefactuur is bewaard."),
    "ingetrokken": N_("Je inschrijving is ingetrokken."),
    "aanvaard": N_("Je hebt de offerte aanvaard. De aannemer plant de werken in."),
    "geweigerd": N_("Je hebt de offerte geweigerd. Het energiehuis neemt contact met je op."),
    "categorie": N_("Je inkomenscategorie is bewaard."),
}


# --- the magic link ---------------------------------------------------------------------------


@router.get("/mijn/link")
def link_form(request: Request) -> Response:
    """The "stuur me een nieuwe link" form."""
    return render(request, "mijn/link.html", {"email": "", "errors": {}, "sent": False})


@router.post("/mijn/link")
def request_link(
    request: Request, session: SessionDep, email: Annotated[str, Form()] = ""
) -> Response:
    """Mail a link when the address is known; the answer is the same either way."""
    try:
        resident_service.request_magic_link(session, email=email)
    except Invalid as exc:
        message = exc.message if email.strip() else "Vul je e-mailadres in."
        return render(request, "mijn/link.html",
                      {"email": email, "errors": {"email": message}, "sent": False},
                      block="link_form", status_code=422)
    return render(request, "mijn/link.html", {"email": email, "errors": {}, "sent": True},
                  block="link_form")


@router.get("/r/{token}")
def confirm_link(request: Request, token: str, session: SessionDep) -> Response:
    """A confirm page: opening the link (mail scanners do) does not log in, only its button."""
    if not (resident_service.magic_link_is_usable(session, token)
            or claims.claim_for_token(session, token, "receipt") is not None):
        return render(request, "mijn/link_invalid.html", {"email": "", "errors": {}},
                      status_code=410)
    return render(request, "mijn/confirm.html", {"token": token})


@router.post("/r/{token}")
def use_link(request: Request, token: str, session: SessionDep) -> Response:
    """Use the link (once): a new session for the resident, then on to /mijn. The link of a
    sign-up kept as a claim (app.services.claims) shows that claim only."""
    if claims.claim_for_token(session, token, "receipt") is not None:
        claim = claims.use_token(session, token, "receipt")
        if claim is not None:
            return render(request, "claims/receipt.html", {
                "claim": claim, "offer_title": claims.offer_title(session, claim)})
    try:
        session_token = resident_service.log_in_with_magic_link(
            session, token=token, ip=client_ip(request), kind="web"
        )
    except (Unauthorized, RateLimited) as exc:
        return render(request, "mijn/link_invalid.html",
                      {"email": "", "errors": {}, "rate_limited": isinstance(exc, RateLimited)},
                      status_code=exc.status_code)
    end_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect(request, "/mijn")
    set_session_cookie(response, session_token)
    return response


# --- /mijn ------------------------------------------------------------------------------------


def _details_form(household: Any) -> dict[str, Any]:
    values = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}
    values["share_contact_with_contractor"] = household.share_contact_with_contractor
    return values


def _energy_form(household: Any) -> dict[str, Any]:
    cents = household.energy_cost_cents_year
    return {
        "energy_kwh_year": household.energy_kwh_year,
        "energy_cost_euros_year": f"{cents // 100}" if cents is not None and cents % 100 == 0
        else (f"{cents / 100:.2f}".replace(".", ",") if cents is not None else ""),
    }


def _mijn_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    details: dict[str, Any] | None = None,
    details_errors: dict[str, str] | None = None,
    energy: dict[str, Any] | None = None,
    energy_errors: dict[str, str] | None = None,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    overview = resident_service.overview(session, principal)
    household = overview.household
    return render(request, "mijn/index.html", {
        "overview": overview,
        "details": details if details is not None else _details_form(household),
        "details_errors": details_errors or {},
        "energy": energy if energy is not None else _energy_form(household),
        "energy_errors": energy_errors or {},
        "comparison": interest_service.energy_comparison(session, household),
        "choices": CHOICES,
        "measure_labels": interest_service.MEASURE_LABELS,
        "horizon_labels": interest_service.HORIZON_LABELS,
        "notice": NOTICES.get(request.query_params.get("bewaard", "")),
        "quote_requests": quote_service.quote_requests_for_household(
            session, household.id  # type: ignore[arg-type]
        ),
        "estimates": estimates.household_estimates(
            session, household, overview.campaign,
            [view.participation for view in overview.signups]),
        "income_labels_by_code": estimate_pages.INCOME_LABELS_BY_CODE,
        "support_path": support_paths.path_for_household(session, household),
        "category_values": estimate_pages.estimate_values(request.query_params),
        **estimate_pages.category_helper(session,
                                         estimate_pages.estimate_values(request.query_params)),
    }, block=block, status_code=status_code)


@router.get("/mijn")
def mijn(request: Request, principal: WebResident, session: ReadSessionDep) -> Response:
    """The resident's sign-ups, details, energy bill and klimaattafel answers."""
    return _mijn_page(request, session, principal)


@router.post("/mijn/gegevens")
def save_details(
    request: Request, principal: WebResident, session: SessionDep, form: FormFields
) -> Response:
    """Save the details form; errors come back next to their fields."""
    changes: dict[str, Any] = {name: form.get(name, "") for name in HOUSEHOLD_FIELDS
                               if name != "city"}
    changes["share_contact_with_contractor"] = form.get("share_contact_with_contractor", "")
    try:
        resident_service.update_details(session, principal, changes)
    except resident_service.DetailsInvalid as exc:
        return _mijn_page(request, session, principal, details=changes,
                          details_errors=exc.errors, block="details", status_code=422)
    except ServiceError as exc:
        return _mijn_page(request, session, principal, details=changes,
                          details_errors={exc.field or "street": exc.message}, block="details",
                          status_code=exc.status_code)
    return redirect(request, "/mijn?bewaard=gegevens#gegevens")


@router.post("/mijn/energie")
def save_energy(
    request: Request,
    principal: WebResident,
    session: SessionDep,
    energy_kwh_year: Annotated[str, Form()] = "",
    energy_cost_euros_year: Annotated[str, Form()] = "",
) -> Response:
    """Save the yearly energy use and bill."""
    typed = {"energy_kwh_year": energy_kwh_year, "energy_cost_euros_year": energy_cost_euros_year}
    try:
        resident_service.update_energy_bill(session, principal, kwh_year=energy_kwh_year,
                                            euros_year=energy_cost_euros_year)
    except resident_service.DetailsInvalid as exc:
        return _mijn_page(request, session, principal, energy=typed, energy_errors=exc.errors,
                          block="energy", status_code=422)
    return redirect(request, "/mijn?bewaard=energie#energie")


@router.get("/mijn/inschrijvingen/{participation_id}/intrekken")
def withdraw_confirm(
    request: Request, participation_id: int, principal: WebResident, session: SessionDep
) -> Response:
    """Ask before withdrawing."""
    view = resident_service.get_own_participation(session, principal, participation_id)
    return render(request, "mijn/withdraw.html", {"view": view})


@router.post("/mijn/inschrijvingen/{participation_id}/intrekken")
def withdraw(
    request: Request, participation_id: int, principal: WebResident, session: SessionDep
) -> Response:
    """Withdraw; a freed place goes to the first on the waitlist."""
    resident_service.withdraw_participation(session, principal, participation_id)
    return redirect(request, "/mijn?bewaard=ingetrokken#inschrijvingen")


@router.post("/mijn/inschrijvingen/{participation_id}/beslissing")
def decide(
    request: Request,
    participation_id: int,
    principal: WebResident,
    session: SessionDep,
    decision: Annotated[str, Form()] = "",
) -> Response:
    """Accept or decline the personal offer."""
    assert principal.household_id is not None
    status_service.decide_personal_offer(session, principal.household_id, participation_id,
                                         accept=decision == "accept")
    return redirect(request, f"/mijn?bewaard={'aanvaard' if decision == 'accept' else 'geweigerd'}"
                             "#inschrijvingen")


@router.get("/mijn/gegevens.json")
def export(principal: WebResident, session: SessionDep) -> Response:
    """Download everything stored about the household as JSON."""
    data = resident_service.export_data(session, principal)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="wijkwerf-mijn-gegevens.json"',
                 "Cache-Control": "no-store"},
    )


@router.get("/mijn/wissen")
def erase_confirm(request: Request, principal: WebResident, session: SessionDep) -> Response:
    """Ask before erasing, and say what it means."""
    overview = resident_service.overview(session, principal)
    return render(request, "mijn/erase.html", {"overview": overview})


@router.post("/mijn/wissen")
def erase(request: Request, principal: WebResident, session: SessionDep) -> Response:
    """Erase the household; the session ends with it."""
    resident_service.erase_household(session, principal)
    response = redirect(request, "/mijn/gewist")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/mijn/gewist")
def erased(request: Request) -> Response:
    """Confirmation after erasure (no session any more)."""
    return render(request, "mijn/erased.html")


# --- klimaattafel and privacy -------------------------------------------------------------------


def _klimaattafel_page(
    request: Request,
    session: Session,
    slug: str,
    principal: Principal | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    campaign = campaign_service.get_public_campaign(session, slug)
    household_id = interest_service.resident_household_in(session, principal, campaign)
    summary = interest_service.interest_summary(session, campaign)
    if form is None:
        form = {"postcode": "", "street": "", "email": "",
                "answers": interest_service.own_latest_answers(session, household_id, campaign)}
    return render(request, "public/klimaattafel.html", {
        "campaign": campaign,
        "form": form,
        "errors": errors or {},
        "summary": summary,
        "rows": interest_service.summary_rows(summary),
        "measure_labels": interest_service.MEASURE_LABELS,
        "horizon_labels": interest_service.HORIZON_LABELS,
        "thanks": request.query_params.get("bedankt") == "1",
        "logged_in_here": household_id is not None,
        "min_group_size": interest_service.MIN_GROUP_SIZE,
    }, block=block, status_code=status_code)


@router.get("/wijken/{slug}/klimaattafel")
def klimaattafel(
    request: Request, slug: str, principal: MaybeWebPrincipal, session: SessionDep
) -> Response:
    """The klimaattafel poll and its public results."""
    return _klimaattafel_page(request, session, slug, principal)


@router.post("/wijken/{slug}/klimaattafel")
def submit_klimaattafel(
    request: Request, slug: str, principal: MaybeWebPrincipal, session: SessionDep,
    raw: FormFields,
) -> Response:
    """Store the answers; errors come back next to their fields."""
    campaign = campaign_service.get_public_campaign(session, slug)
    answers = {measure: raw[measure] for measure in interest_service.MEASURE_LABELS
               if raw.get(measure) in {horizon.value for horizon in Horizon}}
    postcode, street, email = raw.get("postcode", ""), raw.get("street", ""), raw.get("email", "")
    form = {"postcode": postcode, "street": street, "email": email, "answers": answers}
    try:
        interest_service.submit_interests(
            session, campaign, postcode=postcode, street=street, email=email,
            answers=list(answers.items()),
            household_id=interest_service.resident_household_in(session, principal, campaign),
        )
    except interest_service.InterestsInvalid as exc:
        return _klimaattafel_page(request, session, slug, principal, form=form,
                                  errors=exc.errors,
                                  block="poll", status_code=422)
    return redirect(request, f"/wijken/{campaign.slug}/klimaattafel?bedankt=1#resultaten")


@router.get("/privacy")
def privacy(request: Request) -> Response:
    """The privacy notice."""
    return render(request, "public/privacy.html",
                  {"privacy_version": get_settings().PRIVACY_NOTICE_VERSION})
