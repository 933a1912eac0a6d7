"""JSON API: contractor batches, status changes, quote requests, quotes and the comparison."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.deps import (
    CommittingRoute,
    CurrentApiUser,
    CurrentContractor,
    CurrentStaff,
    CurrentStaffOrContractor,
    SessionDep,
    client_ip,
)
from app.services import contractor_portal, participation_status, quotes
from app.services.participation_status import StatusChange
from app.services.quotes import QuoteInput, QuoteRequestCreate

router = APIRouter(route_class=CommittingRoute, tags=["contractor"])


class CreatedId(BaseModel):
    id: int


@router.get("/contractor/batches")
def contractor_batches(principal: CurrentContractor, session: SessionDep) -> list[dict[str, Any]]:
    """The caller's own batches with their households (contact only where shared)."""
    return [contractor_portal.batch_json(view)
            for view in contractor_portal.list_batches(session, principal)]


@router.get("/batches/{batch_id}.csv", response_class=Response)
def batch_csv(batch_id: int, request: Request, principal: CurrentStaffOrContractor,
              session: SessionDep) -> Response:
    """A batch as CSV for a Dutch spreadsheet (`;`, UTF-8 with BOM)."""
    view = contractor_portal.get_batch(session, principal, batch_id, ip=client_ip(request),
                                       action="batch.export")
    return Response(
        contractor_portal.batch_csv(view).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'},
    )


@router.post("/participations/{participation_id}/status")
def change_participation_status(participation_id: int, body: StatusChange, request: Request,
                                principal: CurrentStaffOrContractor,
                                session: SessionDep) -> dict[str, Any]:
    """Move a participation on (staff of its organisation, or the contractor of its batch)."""
    participation = participation_status.move_participation(
        session, principal, participation_id, body, ip=client_ip(request))
    return {
        "id": participation.id,
        "household_id": participation.household_id,
        "offer_id": participation.offer_id,
        "group_id": participation.group_id,
        "measure": participation.measure,
        "quantity": participation.quantity,
        "status": participation.status,
        "measured_quantity": participation.measured_quantity,
        "personal_offer_cents": participation.personal_offer_cents,
        "personal_offer_deadline": participation.personal_offer_deadline,
        "status_changed_at": participation.status_changed_at,
    }


@router.post("/groups/{group_id}/quote-requests", status_code=201)
def open_quote_request(group_id: int, body: QuoteRequestCreate, request: Request,
                       principal: CurrentStaff, session: SessionDep) -> CreatedId:
    """Open a quote request for a group and invite contractors (they get a mail)."""
    quote_request = quotes.create_quote_request(session, principal, group_id, body,
                                                ip=client_ip(request))
    assert quote_request.id is not None
    return CreatedId(id=quote_request.id)


def _invitation_json(invitation: quotes.Invitation) -> dict[str, Any]:
    request = invitation.request
    quote = invitation.quote
    return {
        "id": request.id,
        "measure": request.measure,
        "unit": request.unit,
        "description": request.description,
        "deadline": request.deadline,
        "status": request.status,
        "deadline_passed": invitation.deadline_passed,
        "group": {"id": invitation.group.id, "name": invitation.group.name},
        "campaign": {"slug": invitation.campaign.slug, "name": invitation.campaign.name,
                     "municipality": invitation.campaign.municipality},
        "household_count": invitation.household_count,
        "quantities": invitation.quantities,
        "total_quantity": invitation.total_quantity,
        "quote": None if quote is None else {
            "id": quote.id, "status": quote.status, "vat_rate": quote.vat_rate,
            "valid_until": quote.valid_until, "lead_time_weeks": quote.lead_time_weeks,
            "warranty_years": quote.warranty_years, "notes": quote.notes,
            "submitted_at": quote.submitted_at, "updated_at": quote.updated_at,
            "lines": [{"description": line.description, "quantity": line.quantity,
                       "unit": line.unit, "unit_price_cents": line.unit_price_cents}
                      for line in invitation.lines],
        },
    }


@router.get("/contractor/quote-requests")
def contractor_quote_requests(principal: CurrentContractor,
                              session: SessionDep) -> list[dict[str, Any]]:
    """The quote requests the caller's company is invited to, with its own quote if any."""
    return [_invitation_json(invitation)
            for invitation in quotes.contractor_invitations(session, principal)]


@router.post("/quote-requests/{quote_request_id}/quotes", status_code=201,
             responses={200: {"description": "An existing quote was revised"}})
def submit_quote(quote_request_id: int, body: QuoteInput, principal: CurrentContractor,
                 session: SessionDep) -> JSONResponse:
    """Submit a quote: 201 the first time, 200 when it revises the company's quote (lines are
    replaced). After the deadline: 409."""
    quote, created = quotes.submit_quote(session, principal, quote_request_id, body)
    return JSONResponse({"id": quote.id, "quote_request_id": quote.quote_request_id,
                         "status": quote.status, "revised": not created},
                        status_code=201 if created else 200)


@router.get("/quote-requests/{quote_request_id}/comparison")
def quote_comparison(quote_request_id: int, request: Request, principal: CurrentApiUser,
                     session: SessionDep) -> dict[str, object]:
    """Quotes side by side with each household's share, premium estimate and net cost (staff of
    the organisation; a resident of the group sees their own household's figures)."""
    comparison = quotes.get_comparison(session, principal, quote_request_id,
                                       ip=client_ip(request))
    return quotes.comparison_json(comparison)


@router.post("/quotes/{quote_id}/accept")
def accept_quote(quote_id: int, request: Request, principal: CurrentStaff,
                 session: SessionDep) -> dict[str, Any]:
    """The group accepts this quote; the others are declined and everyone is notified."""
    quote = quotes.accept_quote(session, principal, quote_id, ip=client_ip(request))
    return {"id": quote.id, "quote_request_id": quote.quote_request_id, "status": quote.status}
