"""HTML pages for staff: group forming (suggest, accept, move, rename, lock, assign as batch)
and the campaign dashboard with CSV downloads. Every form works without JavaScript (POST, then
303 back to the overview) and is enhanced with htmx (the groups block is swapped in place)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.deps import CommittingRoute, SessionDep, WebStaff, client_ip
from app.i18n import N_, gettext
from app.models import Campaign, Household
from app.services import groups as groups_service
from app.services import stats as stats_service
from app.services.auth import Principal
from app.services.campaigns import get_staff_campaign
from app.services.errors import NotFound, ServiceError
from app.services.grouping import (
    DEFAULT_MAX_SIZE,
    DEFAULT_MIN_SIZE,
    GROUP_KEYS,
    KEY_LABELS,
    MAX_GROUP_SIZE,
    SuggestRequest,
    suggest_for_campaign,
)
from app.services.validation import character_problem, parse_int
from app.templating import is_htmx, redirect, render

router = APIRouter(route_class=CommittingRoute)

NOTICES = {
    "aanvaard": N_("Het voorstel is bewaard als groepen."),
    "hernoemd": N_("De groep heeft een nieuwe naam."),
    "vergrendeld": N_("De groep is vergrendeld: de leden liggen vast."),
    "ontgrendeld": N_("De groep is ontgrendeld."),
    "verplaatst": N_("Het huishouden is verplaatst."),
    "batch": N_("De groep is toegewezen als batch; de aannemer krijgt een e-mail."),
}
GROUP_FIELDS = {"name", "locked", "contractor_id"}
SIZE_MESSAGE = N_("Geef een geheel getal van 1 tot %(max)d.")
OFFER_MESSAGE = N_("Kies een aanbod uit de lijst.")


def _groups_url(slug: str, notice: str | None = None) -> str:
    return f"/beheer/wijken/{slug}/groepen" + (f"?melding={notice}" if notice else "")


def _overview(request: Request, session: Session, principal: Principal, slug: str, *,
              notice: str | None = None, errors: dict[str, str] | None = None,
              status_code: int = 200) -> Response:
    campaign, views = groups_service.list_groups(session, principal, slug,
                                                 ip=client_ip(request))
    return render(request, "beheer/groups/overview.html", {
        "campaign": campaign,
        "groups": views,
        "contractors": groups_service.organisation_contractors(session, campaign),
        "offers": {offer.id: offer for offer in groups_service.campaign_offers(session, campaign)},
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else "",
        "errors": errors or {},
        "htmx": is_htmx(request),
    }, block="groups", status_code=status_code)


def _after_change(request: Request, session: Session, principal: Principal, slug: str,
                  notice: str) -> Response:
    if is_htmx(request):
        return _overview(request, session, principal, slug, notice=notice)
    return redirect(request, _groups_url(slug, notice))


def _campaign_group(session: Session, principal: Principal, slug: str, group_id: int) -> None:
    """404 unless the group belongs to this campaign of the caller's organisation."""
    campaign = get_staff_campaign(session, principal, slug)
    if groups_service.get_group(session, principal, group_id).campaign_id != campaign.id:
        raise NotFound(N_("Deze groep bestaat niet."))


@router.get("/beheer/wijken/{slug}/groepen")
def groups_overview(request: Request, slug: str, principal: WebStaff, session: SessionDep,
                    melding: str | None = None) -> Response:
    """The campaign's groups: move members, rename, lock, assign as batch."""
    return _overview(request, session, principal, slug, notice=melding)


def _parse_size(raw: str, name: str, errors: dict[str, str]) -> int | None:
    value = parse_int(raw, minimum=1, maximum=MAX_GROUP_SIZE)
    if value is None:
        errors[name] = gettext(SIZE_MESSAGE) % {"max": MAX_GROUP_SIZE}
    return value


def _suggest_request(by: list[str], min_size: str, max_size: str,
                     offer_id: str) -> tuple[SuggestRequest | None, dict[str, str]]:
    errors: dict[str, str] = {}
    low = _parse_size(min_size, "min_size", errors)
    high = _parse_size(max_size, "max_size", errors)
    if low is not None and high is not None and high < low:
        errors["max_size"] = gettext("De grootste groep moet minstens even groot zijn als de "
                                     "kleinste.")
    offer = parse_int(offer_id, minimum=1)
    if offer is None and offer_id.strip():
        errors["offer_id"] = gettext(OFFER_MESSAGE)
    if errors:
        return None, errors
    try:
        return SuggestRequest(by=[key for key in by if key in GROUP_KEYS], min_size=low,
                              max_size=high, offer_id=offer), {}
    except ValidationError:
        return None, {"by": gettext("Kies uit de voorgestelde kenmerken.")}


def _suggestion_page(request: Request, session: Session, principal: Principal,
                     campaign: Campaign, form: dict[str, Any], *, show: bool,
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    errors = dict(errors or {})
    suggestion = None
    households: dict[int | None, Household] = {}
    replaced = 0
    if show and not errors:
        request_model, errors = _suggest_request(form["by"], form["min_size"], form["max_size"],
                                                 form["offer_id"])
        if request_model is not None:
            try:
                suggestion, scope = suggest_for_campaign(session, principal, campaign.slug,
                                                         request_model, ip=client_ip(request))
            except ServiceError as exc:
                errors[exc.field or "offer_id"] = gettext(exc.message)
                status_code = 422
            else:
                ids = [i for g in suggestion.groups for i in g.household_ids]
                ids += [item.household_id for item in suggestion.unassigned]
                households = {h.id: h for h in session.exec(select(Household).where(
                    col(Household.id).in_(ids), Household.campaign_id == campaign.id)).all()}
                measures = ({scope.measure} if scope.measure else
                            {g.criteria.get("measure") for g in suggestion.groups} or {None})
                assert campaign.id is not None
                replaced = sum(groups_service.unlocked_groups_count(session, campaign.id, measure)
                               for measure in measures)
        else:
            status_code = 422
    return render(request, "beheer/groups/suggest.html", {
        "campaign": campaign,
        "form": form,
        "keys": [(key, gettext(KEY_LABELS[key])) for key in GROUP_KEYS],
        "offer_options": [(offer.id, offer.title)
                          for offer in groups_service.campaign_offers(session, campaign)],
        "suggestion": suggestion,
        "households": households,
        "replaced": replaced,
        "errors": errors,
    }, block="suggestion", status_code=status_code)


@router.get("/beheer/wijken/{slug}/groepen/voorstel")
def suggestion_form(
    request: Request, slug: str, principal: WebStaff, session: SessionDep,
    by: Annotated[list[str], Query()] = [],  # noqa: B006
    min_size: str = str(DEFAULT_MIN_SIZE), max_size: str = str(DEFAULT_MAX_SIZE),
    offer_id: str = "", toon: str = "",
) -> Response:
    """Choose keys, sizes and an offer; with `toon` the proposed groups are shown (not saved)."""
    campaign = get_staff_campaign(session, principal, slug, ip=client_ip(request))
    form = {"by": by, "min_size": min_size, "max_size": max_size, "offer_id": offer_id}
    return _suggestion_page(request, session, principal, campaign, form, show=bool(toon))


@router.post("/beheer/wijken/{slug}/groepen/voorstel")
def accept_suggestion(
    request: Request, slug: str, principal: WebStaff, session: SessionDep,
    by: Annotated[list[str], Form()] = [],  # noqa: B006
    min_size: Annotated[str, Form()] = "", max_size: Annotated[str, Form()] = "",
    offer_id: Annotated[str, Form()] = "",
) -> Response:
    """Save the suggestion for these settings as groups (computed again, so it is current)."""
    campaign = get_staff_campaign(session, principal, slug)
    form = {"by": by, "min_size": min_size, "max_size": max_size, "offer_id": offer_id}
    request_model, errors = _suggest_request(by, min_size, max_size, offer_id)
    if request_model is None:
        return _suggestion_page(request, session, principal, campaign, form, show=False,
                                errors=errors, status_code=422)
    try:
        groups_service.accept_suggestion(session, principal, slug, request_model)
    except ServiceError as exc:
        if exc.status_code == 404:
            raise
        return _suggestion_page(request, session, principal, campaign, form, show=False,
                                errors={exc.field or "offer_id": gettext(exc.message)},
                                status_code=422)
    return redirect(request, _groups_url(slug, "aanvaard"))


def _group_action(request: Request, session: Session, principal: Principal, slug: str,
                  group_id: int, notice: str, error_key: str, action: Any) -> Response:
    _campaign_group(session, principal, slug, group_id)
    try:
        # A savepoint, so a refused change leaves nothing half done in this request.
        with session.begin_nested():
            action()
    except ServiceError as exc:
        if exc.status_code == 404:
            raise
        # Show the message at the control it concerns (e.g. "lock it first" at the lock button).
        if exc.field in GROUP_FIELDS:
            error_key = f"group-{group_id}-{exc.field}"
        return _overview(request, session, principal, slug,
                         errors={error_key: gettext(exc.message)},
                         status_code=exc.status_code)
    return _after_change(request, session, principal, slug, notice)


@router.post("/beheer/wijken/{slug}/groepen/{group_id}/naam")
def rename_group(request: Request, slug: str, group_id: int, principal: WebStaff,
                 session: SessionDep, name: Annotated[str, Form()] = "") -> Response:
    """Give a group a new name."""
    problem = N_("Geef de groep een naam.") if not name.strip() else character_problem(name)
    if problem is not None:
        _campaign_group(session, principal, slug, group_id)
        return _overview(request, session, principal, slug,
                         errors={f"group-{group_id}-name": gettext(problem)}, status_code=422)
    return _group_action(
        request, session, principal, slug, group_id, "hernoemd", f"group-{group_id}-name",
        lambda: groups_service.update_group(session, principal, group_id,
                                            groups_service.GroupUpdate(name=name[:200])))


@router.post("/beheer/wijken/{slug}/groepen/{group_id}/vergrendeling")
def lock_group(request: Request, slug: str, group_id: int, principal: WebStaff,
               session: SessionDep, locked: Annotated[str, Form()] = "true") -> Response:
    """Lock (members fixed) or unlock a group."""
    lock = locked == "true"
    return _group_action(
        request, session, principal, slug, group_id, "vergrendeld" if lock else "ontgrendeld",
        f"group-{group_id}-locked",
        lambda: groups_service.update_group(session, principal, group_id,
                                            groups_service.GroupUpdate(locked=lock)))


@router.post("/beheer/wijken/{slug}/groepen/{group_id}/verplaats")
def move_household(request: Request, slug: str, group_id: int, principal: WebStaff,
                   session: SessionDep, household_id: Annotated[str, Form()] = "",
                   to_group_id: Annotated[str, Form()] = "") -> Response:
    """Move one member to another group."""
    member, target = parse_int(household_id, minimum=1), parse_int(to_group_id, minimum=1)
    if member is None or target is None:
        _campaign_group(session, principal, slug, group_id)
        error = ({"move": gettext("Kies een huishouden van deze groep.")} if member is None
                 else {f"move-{member}": gettext("Kies een groep.")})
        return _overview(request, session, principal, slug, errors=error, status_code=422)
    return _group_action(
        request, session, principal, slug, group_id, "verplaatst", f"move-{member}",
        lambda: groups_service.move_member(session, principal, household_id=member,
                                           from_group_id=group_id, to_group_id=target))


@router.post("/beheer/wijken/{slug}/groepen/{group_id}/batch")
def assign_batch(request: Request, slug: str, group_id: int, principal: WebStaff,
                 session: SessionDep, contractor_id: Annotated[str, Form()] = "",
                 offer_id: Annotated[str, Form()] = "") -> Response:
    """Assign a locked group to a contractor of the organisation as a batch."""
    contractor, offer = parse_int(contractor_id, minimum=1), parse_int(offer_id, minimum=1)
    if contractor is None or (offer is None and offer_id.strip()):
        _campaign_group(session, principal, slug, group_id)
        message = gettext("Kies een aannemer.") if contractor is None else gettext(OFFER_MESSAGE)
        return _overview(request, session, principal, slug,
                         errors={f"group-{group_id}-contractor_id": message}, status_code=422)
    body = groups_service.BatchCreate(contractor_id=contractor, offer_id=offer)
    return _group_action(
        request, session, principal, slug, group_id, "batch", f"group-{group_id}-contractor_id",
        lambda: groups_service.create_batch(session, principal, group_id, body))


@router.get("/beheer/wijken/{slug}/dashboard")
def dashboard(request: Request, slug: str, principal: WebStaff,
              session: SessionDep) -> Response:
    """Funnel, streets, social mix, klimaattafel, offers and LEKP: charts with tables."""
    campaign, stats = stats_service.stats_for_staff(session, principal, slug,
                                                    ip=client_ip(request))
    return render(request, "beheer/dashboard.html", {
        "campaign": campaign, "stats": stats, "tables": stats_service.tables(stats),
    })


@router.get("/beheer/wijken/{slug}/dashboard/{table}.csv")
def dashboard_csv(request: Request, slug: str, table: str, principal: WebStaff,
                  session: SessionDep) -> Response:
    """One dashboard table as CSV (`;`, UTF-8 with BOM)."""
    campaign, stats = stats_service.stats_for_staff(session, principal, slug,
                                                    ip=client_ip(request))
    found = stats_service.table_by_key(stats, table)
    return Response(
        stats_service.table_csv(found).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="{campaign.slug}-{found.key}.csv"'},
    )
