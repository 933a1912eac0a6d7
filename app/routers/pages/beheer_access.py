"""HTML page for cross-organisation access (app.services.access): the grants on the own
organisation, giving one to a platform admin, ending one, and, for an admin, the grants they
hold."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.deps import CommittingRoute, FormFields, SessionDep, WebStaff, client_ip
from app.routers.pages.beheer import service_errors, validation_errors
from app.services import access
from app.services.auth import Principal
from app.services.errors import ServiceError
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)
GRANT_FIELDS = ("email", "hours", "reason")


def _page(request: Request, session: SessionDep, principal: Principal, *,
          values: dict[str, str], errors: dict[str, str], status_code: int = 200
          ) -> HTMLResponse:
    return render(request, "beheer/access.html", {
        "on_own": access.grants_on_own_organisation(session, principal),
        "held": access.grants_held(session, principal),
        "values": values, "errors": errors,
        "hour_options": [(str(h), str(h)) for h in range(1, access.MAX_GRANT_HOURS + 1)],
        "done": request.query_params.get("klaar", ""),
    }, status_code=status_code)


@router.get("/beheer/toegang", response_class=HTMLResponse)
def access_page(request: Request, session: SessionDep, principal: WebStaff) -> HTMLResponse:
    """Who outside the organisation may act in it now, and who did."""
    return _page(request, session, principal, values={"hours": "2"}, errors={})


@router.post("/beheer/toegang", response_class=HTMLResponse)
def give_access(request: Request, fields: FormFields, session: SessionDep,
                principal: WebStaff) -> Response:
    """Give a platform admin access to the own organisation for a few hours."""
    values = {name: fields.get(name, "") for name in GRANT_FIELDS}
    try:
        data = access.GrantCreate.model_validate(values)
        assert principal.organisation_id is not None
        access.grant_access(session, data, organisation_id=principal.organisation_id,
                            granted_by=principal, ip=client_ip(request))
    except ValidationError as exc:
        return _page(request, session, principal, values=values,
                     errors=validation_errors(exc), status_code=422)
    except ServiceError as exc:
        return _page(request, session, principal, values=values,
                     errors=service_errors(exc), status_code=422)
    return redirect(request, "/beheer/toegang?klaar=gegeven")


@router.post("/beheer/toegang/{grant_id}/intrekken")
def end_access(request: Request, grant_id: int, session: SessionDep,
               principal: WebStaff) -> Response:
    """End a grant now (the organisation's own staff, or the admin who holds it)."""
    access.revoke_grant(session, principal, grant_id, ip=client_ip(request))
    return redirect(request, "/beheer/toegang?klaar=ingetrokken")
