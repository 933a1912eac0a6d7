"""HTML pages of the identity rule (app.services.claims): the household's answer to a sign-up
at its address, and the staff's queue of claims to check."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import CommittingRoute, FormFields, ReadSessionDep, SessionDep, WebStaff
from app.services import claims
from app.services.errors import ServiceError
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)


@router.get("/adres-bevestigen/{token}", response_class=HTMLResponse)
def claim_notice(request: Request, token: str, session: ReadSessionDep) -> HTMLResponse:
    """The household's link: who signed up at its address, with confirm and refuse buttons."""
    claim = claims.claim_for_token(session, token, "notice")
    if claim is None or claim.status != "pending":
        return render(request, "claims/notice_invalid.html", {}, status_code=410)
    offer_title = claims.offer_title(session, claim)
    return render(request, "claims/notice.html", {
        "token": token, "claim": claim, "offer_title": offer_title,
        "expired": not claims.is_open(claim)})


@router.post("/adres-bevestigen/{token}", response_class=HTMLResponse)
def answer_claim_notice(request: Request, token: str, fields: FormFields,
                        session: SessionDep) -> HTMLResponse:
    """Confirm ("iemand van ons gezin") or refuse; the link works once."""
    confirm = fields.get("decision") == "confirm"
    try:
        claim = claims.decide_by_household(session, token=token, confirm=confirm)
    except ServiceError as exc:
        return render(request, "claims/notice_invalid.html", {"message": exc.message},
                      status_code=exc.status_code if exc.status_code != 404 else 410)
    return render(request, "claims/notice_done.html", {"claim": claim})


@router.get("/beheer/nakijken", response_class=HTMLResponse)
def claim_queue(request: Request, principal: WebStaff, session: ReadSessionDep) -> HTMLResponse:
    """Sign-ups at known addresses that the household has not confirmed: the ones without
    email first, to call."""
    page = claims.page_number(request.query_params.get("page"))
    items, total = claims.pending_claims(session, principal, page=page)
    return render(request, "claims/queue.html", {
        "items": items, "total": total, "page": page,
        "pages": max(1, -(-total // claims.PAGE_SIZE)),
        "done": request.query_params.get("klaar", "")})


@router.post("/beheer/nakijken/{claim_id}")
def decide_claim(request: Request, claim_id: int, fields: FormFields, principal: WebStaff,
                 session: SessionDep) -> Response:
    """Staff checked a claim (by phone or in person): confirm or refuse it."""
    decision = str(fields.get("decision") or "")
    claims.decide_by_staff(session, principal, claim_id, decision=decision,
                           note=str(fields.get("note") or ""))
    done = "bevestigd" if decision == "confirm" else "geweigerd"
    return redirect(request, f"/beheer/nakijken?klaar={done}")
