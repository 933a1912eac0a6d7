"""The staff's queue of claims (app.services.claims): sign-ups at known addresses waiting for
the household or staff to confirm them."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.deps import CommittingRoute, CurrentStaff, ReadSessionDep, SessionDep
from app.services import claims

router = APIRouter(route_class=CommittingRoute, tags=["claims"])
MAX_PAGE = 100_000


class ClaimList(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


class ClaimDecision(BaseModel):
    note: Annotated[str, Field(max_length=500)] = ""


@router.get("/claims", response_model=ClaimList)
def list_claims(session: ReadSessionDep, principal: CurrentStaff,
                campaign: Annotated[str | None, Query(max_length=80)] = None,
                page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1) -> ClaimList:
    """The caller's organisation's undecided claims; those without email (to call) first."""
    items, total = claims.pending_claims(session, principal, campaign_slug=campaign, page=page)
    return ClaimList(items=[item.as_json() for item in items], total=total, page=page,
                     page_size=claims.PAGE_SIZE)


@router.post("/claims/{claim_id}/confirm")
def confirm_claim(claim_id: int, body: ClaimDecision, session: SessionDep,
                  principal: CurrentStaff) -> dict[str, Any]:
    """Staff checked it: the claim becomes the household's sign-up, in the place it held."""
    claim = claims.decide_by_staff(session, principal, claim_id, decision="confirm",
                                   note=body.note)
    return {"id": claim.id, "status": claim.status, "participation_id": claim.participation_id}


@router.post("/claims/{claim_id}/reject")
def reject_claim(claim_id: int, body: ClaimDecision, session: SessionDep,
                 principal: CurrentStaff) -> dict[str, Any]:
    """Staff checked it: nobody of the household signed up; the claim frees its place."""
    claim = claims.decide_by_staff(session, principal, claim_id, decision="reject",
                                   note=body.note)
    return {"id": claim.id, "status": claim.status, "participation_id": None}
