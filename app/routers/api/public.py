"""JSON API: public (see DESIGN.md's interface contract): offers with live counts, sign-up."""

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Strict

from app import i18n
from app.deps import CommittingRoute, ReadSessionDep, proven_household_id, signup_writer
from app.models.enums import BudgetBand, DwellingType, LifePhase, Measure, Profile, Tenure, Unit
from app.services import offers_public, signups

router = APIRouter(route_class=CommittingRoute, tags=["public"])


class ContractorRef(BaseModel):
    id: int
    name: str


class TierOut(BaseModel):
    min_participants: int
    unit_price_cents: int


class OfferListed(BaseModel):
    id: int
    measure: Measure
    title: str
    description: str
    lot: str
    procurement_reference: str
    contractor: ContractorRef
    unit: Unit
    price_tiers: list[TierOut]
    vat_rate: int
    capacity: int
    participants: int
    waitlisted: int
    remaining: int
    current_unit_price_cents: int | None
    next_tier: TierOut | None
    signup_opens_at: str
    signup_closes_at: str
    status: str


class HouseholdIn(BaseModel):
    name: str
    email: str | None = None
    phone: str | None = None
    street: str
    house_number: str
    box: str | None = None
    postcode: str
    city: str | None = None
    dwelling_type: DwellingType | None = None
    build_year: int | None = None
    tenure: Tenure | None = None
    life_phase: LifePhase | None = None
    budget_band: BudgetBand | None = None
    profile: Profile | None = None


class SignupIn(BaseModel):
    household: HouseholdIn
    # Strict: JSON `true` is not a quantity (lax mode would take it as 1.0); 45 is still fine.
    quantity: Annotated[float, Strict()] | None = None
    consent: bool
    share_contact_with_contractor: bool = False


class SignupOut(BaseModel):
    id: int
    offer_id: int
    status: str
    waitlist_position: int | None


@router.get("/campaigns/{slug}/offers", response_model=list[OfferListed])
def list_campaign_offers(slug: str, session: ReadSessionDep) -> list[dict[str, Any]]:
    """The campaign's offers with places taken, waitlist, current price and next tier."""
    return [offer.as_json() for offer in offers_public.campaign_offers(session, slug)]


@router.post("/offers/{offer_id}/participations", status_code=201, response_model=SignupOut)
async def sign_up(request: Request, offer_id: int, body: SignupIn) -> SignupOut:
    """Sign up for an offer; a full offer puts the sign-up on the waitlist. Mails a link."""
    fields = {**body.household.model_dump(mode="json"), "quantity": body.quantity,
              "consent": body.consent,
              "share_contact_with_contractor": body.share_contact_with_contractor}
    try:
        receipt = await signup_writer(request).sign_up(signups.SignupRequest(
            offer_id, fields, locale=i18n.current_language.get(),
            proven_household_id=await proven_household_id(request, kind="api")))
    except signups.SignupInvalid as exc:
        raise RequestValidationError([
            {"loc": ["body", *signups.field_path(name).split(".")], "msg": i18n.gettext(message),
             "type": "value_error"}
            for name, message in exc.errors.items()
        ]) from exc
    return SignupOut(id=receipt.participation_id, offer_id=receipt.offer_id,
                     status=receipt.status, waitlist_position=receipt.waitlist_position)
