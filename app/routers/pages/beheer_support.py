"""Staff pages for a campaign's support paths: the five paths, and a form to edit one
(accessible: a label and an error next to every field, CSRF, works without JavaScript)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.deps import CommittingRoute, FormFields, SessionDep, WebStaff, client_ip
from app.i18n import N_, gettext
from app.models.enums import SupportProfile, SupportStepKind
from app.services import support_paths
from app.services.errors import NotFound, ServiceError
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)
BLANK_ROWS = 2
STEP_FIELDS = ("kind", "title", "body", "partner", "url")
MSG_NO_PROFILE = N_("Dit traject bestaat niet.")


def _profile(raw: str) -> SupportProfile:
    try:
        return SupportProfile(raw)
    except ValueError as exc:
        raise NotFound(MSG_NO_PROFILE) from exc


@router.get("/beheer/wijken/{slug}/ondersteuning")
def support_overview(request: Request, slug: str, principal: WebStaff,
                     session: SessionDep) -> Response:
    """The campaign's support paths, one per profile, with a link to edit each."""
    campaign, _partners, paths = support_paths.staff_paths(session, principal, slug)
    return render(request, "beheer/support/overview.html", {
        "campaign": campaign, "paths": paths, "profiles": list(SupportProfile),
        "profile_labels": support_paths.PROFILE_LABELS})


def _form_page(request: Request, session: Session, principal: Any, slug: str,
               profile: SupportProfile, values: dict[str, Any] | None,
               errors: dict[str, str], status_code: int = 200) -> Response:
    campaign, partners, paths = support_paths.staff_paths(session, principal, slug)
    if values is None:
        path = paths.get(profile.value)
        by_name = {(p.name, p.kind): p.id for p in partners}
        values = {"title": path.title if path else "", "summary": path.summary if path else "",
                  "steps": [{"kind": s.kind, "title": s.title, "body": s.body,
                             "partner": str(by_name.get((s.partner_name or "",
                                                         s.partner_kind or ""), "")),
                             "url": s.url or ""} for s in (path.steps if path else [])]}
    rows = values["steps"] + [dict.fromkeys(STEP_FIELDS, "")] * BLANK_ROWS
    return render(request, "beheer/support/form.html", {
        "campaign": campaign, "profile": profile.value,
        "profile_label": support_paths.PROFILE_LABELS[profile], "values": values,
        "rows": rows[:support_paths.MAX_STEPS], "errors": errors,
        "kind_options": [(k.value, gettext(support_paths.STEP_KIND_LABELS[k]))
                         for k in SupportStepKind],
        "partner_options": [(str(p.id), f"{p.name} ({p.kind})") for p in partners],
    }, status_code=status_code)


@router.get("/beheer/wijken/{slug}/ondersteuning/{profile}")
def support_form(request: Request, slug: str, profile: str, principal: WebStaff,
                 session: SessionDep) -> Response:
    """The form for one path: title, summary and its steps (two empty rows to add one)."""
    return _form_page(request, session, principal, slug, _profile(profile), None, {})


@router.post("/beheer/wijken/{slug}/ondersteuning/{profile}")
def save_support_path(request: Request, slug: str, profile: str, principal: WebStaff,
                      session: SessionDep, form: FormFields) -> Response:
    """Replace the path; a row without a title is left out; errors next to their fields."""
    chosen = _profile(profile)
    _campaign, partners, _paths = support_paths.staff_paths(session, principal, slug)
    by_id = {str(p.id): p for p in partners}
    steps: list[dict[str, str]] = []
    for index in range(support_paths.MAX_STEPS):
        row = {name: form.get(f"steps-{index}-{name}", "") for name in STEP_FIELDS}
        if row["title"].strip() or row["body"].strip():
            steps.append(row)
    values = {"title": form.get("title", ""), "summary": form.get("summary", ""),
              "steps": steps}
    errors: dict[str, str] = {}
    body: list[dict[str, Any]] = []
    for index, row in enumerate(steps):
        partner = by_id.get(row["partner"])
        if row["partner"] and partner is None:
            errors[f"steps-{index}-partner"] = support_paths.MSG_UNKNOWN_PARTNER
        body.append({"kind": row["kind"] or None, "title": row["title"], "body": row["body"],
                     "url": row["url"] or None,
                     "partner": {"name": partner.name, "kind": partner.kind} if partner else None})
    if not errors:
        try:
            data = support_paths.parse_path_input({"title": values["title"],
                                                   "summary": values["summary"], "steps": body})
            support_paths.replace_path(session, principal, slug, chosen, data,
                                       ip=client_ip(request))
        except NotFound:
            raise
        except ServiceError as exc:
            field = (exc.field or "title").replace(".", "-")
            parts = field.split("-")
            if len(parts) > 3:  # steps-0-partner-name: the partner's field
                field = "-".join(parts[:3])
            errors = {field: exc.message}
    if errors:
        return _form_page(request, session, principal, slug, chosen, values, errors, 422)
    return redirect(request, f"/beheer/wijken/{slug}/ondersteuning?bewaard={chosen.value}")
