"""JSON API: campaigns, contractors, offers, households and the audit log for energiehuis
staff (see DESIGN.md's interface contract). Anyone may list and read public campaigns."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app.deps import CommittingRoute, CurrentStaff, MaybeApiPrincipal, SessionDep, client_ip
from app.models import Campaign, Offer
from app.models.enums import (
    BudgetBand,
    CampaignStatus,
    LifePhase,
    Measure,
    ParticipationStatus,
    PartnerKind,
    Profile,
    Tenure,
)
from app.services import audit, household_queries
from app.services import campaigns as campaign_service
from app.services import contractors as contractor_service
from app.services import offers as offer_service
from app.services.auth import Principal
from app.services.validation import MAX_DB_INT

router = APIRouter(route_class=CommittingRoute, tags=["staff"])
# Beyond this a page number only overflows the database's OFFSET (the pages cap it alike).
MAX_PAGE = 1_000_000


class PartnerOut(BaseModel):
    kind: PartnerKind
    name: str
    role: str


class CampaignOut(BaseModel):
    id: int
    slug: str
    name: str
    municipality: str
    description: str
    postcodes: list[str]
    streets: list[str]
    starts_on: date | None
    ends_on: date | None
    status: CampaignStatus
    partners: list[PartnerOut]


class ContractorOut(BaseModel):
    id: int
    name: str
    vat_number: str
    email: str
    phone: str | None


class OfferSaved(BaseModel):
    id: int
    campaign_id: int
    measure: Measure
    title: str
    description: str
    lot: str
    procurement_reference: str
    contractor_id: int
    unit: str
    price_tiers: list[offer_service.PriceTierIn]
    vat_rate: int
    capacity: int
    signup_opens_at: datetime
    signup_closes_at: datetime
    effects: list[str] = []


class HouseholdList(BaseModel):
    # The service's rows are dataclasses: pydantic serialises them as they are.
    items: list[household_queries.HouseholdRow]
    total: int
    page: int
    page_size: int


class AuditItem(BaseModel):
    id: int
    created_at: datetime
    actor_kind: str
    actor_user_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: int | None
    household_id: int | None
    ip: str
    outcome: str
    access_grant_id: int | None = None


class AuditList(BaseModel):
    items: list[AuditItem]
    total: int
    page: int
    page_size: int


def _campaigns_out(session: SessionDep, campaigns: list[Campaign]) -> list[CampaignOut]:
    partners = campaign_service.partners_of(session, [c.id for c in campaigns if c.id])
    return [
        CampaignOut(
            id=campaign.id, slug=campaign.slug, name=campaign.name,  # type: ignore[arg-type]
            municipality=campaign.municipality, description=campaign.description,
            postcodes=campaign.postcodes, streets=campaign.streets, starts_on=campaign.starts_on,
            ends_on=campaign.ends_on, status=CampaignStatus(campaign.status),
            partners=[PartnerOut(kind=PartnerKind(p.kind), name=p.name, role=p.role)
                      for p in partners[campaign.id]],  # type: ignore[index]
        )
        for campaign in campaigns
    ]


def _offer_saved(session: SessionDep, offer: Offer, effects: list[str]) -> OfferSaved:
    assert offer.id is not None
    tiers = offer_service.tiers_of(session, [offer.id])[offer.id]
    return OfferSaved(
        id=offer.id, campaign_id=offer.campaign_id, measure=Measure(offer.measure),
        title=offer.title, description=offer.description, lot=offer.lot,
        procurement_reference=offer.procurement_reference, contractor_id=offer.contractor_id,
        unit=offer.unit, vat_rate=offer.vat_rate, capacity=offer.capacity,
        signup_opens_at=offer.signup_opens_at, signup_closes_at=offer.signup_closes_at,
        price_tiers=[offer_service.PriceTierIn(min_participants=t.min_participants,
                                               unit_price_cents=t.unit_price_cents)
                     for t in tiers],
        effects=effects,
    )


def _record_change(session: SessionDep, principal: Principal, request: Request, action: str,
                   object_type: str, object_id: int | None,
                   campaign_id: int | None = None) -> None:
    """A change, in the log of the organisation it belongs to: the campaign's, else the
    caller's own."""
    campaign = session.get(Campaign, campaign_id) if campaign_id is not None else None
    audit.record(session, principal, action=action, object_type=object_type,
                 object_id=object_id, ip=client_ip(request),
                 organisation_id=campaign.organisation_id if campaign else None)


@router.get("/campaigns")
def list_campaigns(session: SessionDep, principal: MaybeApiPrincipal) -> list[CampaignOut]:
    """Every organisation's open campaigns; with a staff token also the own organisation's."""
    return _campaigns_out(session, campaign_service.list_visible_campaigns(session, principal))


@router.post("/campaigns", status_code=201)
def create_campaign(body: campaign_service.CampaignCreate, request: Request,
                    session: SessionDep, principal: CurrentStaff) -> CampaignOut:
    """Create a campaign (with its partners) in the caller's organisation."""
    campaign = campaign_service.create_campaign(session, principal, body)
    _record_change(session, principal, request, "campaign.create", "campaign", campaign.id)
    return _campaigns_out(session, [campaign])[0]


@router.get("/campaigns/{slug}")
def get_campaign(slug: str, session: SessionDep, principal: MaybeApiPrincipal) -> CampaignOut:
    """One campaign with its partners; drafts only for the own organisation's staff."""
    return _campaigns_out(session, [campaign_service.get_visible_campaign(session, principal,
                                                                          slug)])[0]


@router.patch("/campaigns/{slug}")
def update_campaign(slug: str, body: campaign_service.CampaignUpdate, request: Request,
                    session: SessionDep, principal: CurrentStaff) -> CampaignOut:
    """Change any of a campaign's fields; `partners` replaces the list."""
    campaign = campaign_service.update_campaign(session, principal, slug, body,
                                                ip=client_ip(request))
    _record_change(session, principal, request, "campaign.update", "campaign", campaign.id,
                   campaign.id)
    return _campaigns_out(session, [campaign])[0]


@router.get("/contractors")
def list_contractors(session: SessionDep, principal: CurrentStaff) -> list[ContractorOut]:
    """The caller's organisation's contractors."""
    return [ContractorOut.model_validate(c, from_attributes=True)
            for c in contractor_service.list_contractors(session, principal)]


@router.post("/contractors", status_code=201)
def create_contractor(body: contractor_service.ContractorCreate, request: Request,
                      session: SessionDep, principal: CurrentStaff) -> ContractorOut:
    """Create a contractor with a checked Belgian VAT number."""
    contractor = contractor_service.create_contractor(session, principal, body)
    _record_change(session, principal, request, "contractor.create", "contractor", contractor.id)
    return ContractorOut.model_validate(contractor, from_attributes=True)


@router.post("/campaigns/{slug}/offers", status_code=201)
def create_offer(slug: str, body: offer_service.OfferCreate, request: Request,
                 session: SessionDep, principal: CurrentStaff) -> OfferSaved:
    """Create an offer with its price tiers."""
    offer = offer_service.create_offer(session, principal, slug, body, ip=client_ip(request))
    _record_change(session, principal, request, "offer.create", "offer", offer.id,
                   offer.campaign_id)
    return _offer_saved(session, offer, [])


@router.patch("/offers/{offer_id}")
def update_offer(offer_id: int, body: offer_service.OfferUpdate, request: Request,
                 session: SessionDep, principal: CurrentStaff) -> OfferSaved:
    """Change an offer; a change that hurts signed-up residents needs `confirm: true` (409
    explains the effect otherwise)."""
    change = offer_service.update_offer(session, principal, offer_id, body, ip=client_ip(request))
    _record_change(session, principal, request, "offer.update", "offer", offer_id,
                   change.offer.campaign_id)
    return _offer_saved(session, change.offer, change.effects)


@router.get("/campaigns/{slug}/households")
def list_households(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: CurrentStaff,
    street: str | None = None,
    life_phase: LifePhase | None = None,
    budget_band: BudgetBand | None = None,
    profile: Profile | None = None,
    tenure: Tenure | None = None,
    measure: Measure | None = None,
    status: ParticipationStatus | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    has_email: bool | None = None,
    sort: Annotated[str, Query(pattern=r"^-?(street|name|created_at)$")] = "street",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=household_queries.MAX_PAGE_SIZE)] = 50,
) -> HouseholdList:
    """A campaign's households, filtered, sorted and paginated."""
    ip = client_ip(request)
    campaign = campaign_service.get_staff_campaign(session, principal, slug, ip=ip)
    filters = household_queries.HouseholdFilters(
        street=street, life_phase=life_phase, budget_band=budget_band, profile=profile,
        tenure=tenure, measure=measure, status=status, q=q, has_email=has_email,
    )
    result = household_queries.list_households(session, principal, campaign, filters, sort=sort,
                                               page=page, page_size=page_size, ip=ip)
    return HouseholdList(
        items=result.items,
        total=result.total, page=result.page, page_size=result.page_size,
    )


@router.get("/audit")
def list_audit_events(
    session: SessionDep,
    principal: CurrentStaff,
    action: str | None = None,
    actor: Annotated[str | None, Query(max_length=254)] = None,
    object_type: str | None = None,
    household_id: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None,
    outcome: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=audit.MAX_PAGE_SIZE)] = 50,
) -> AuditList:
    """The audit log of the caller's organisation, newest first."""
    filters = audit.AuditFilters(action=action, actor=actor, object_type=object_type,
                                 household_id=household_id, outcome=outcome,
                                 date_from=date_from, date_to=date_to)
    result = audit.list_events(session, principal, filters, page=page, page_size=page_size)
    return AuditList(
        items=[AuditItem(id=e.id, created_at=e.created_at, actor_kind=e.actor_kind,  # type: ignore[arg-type]
                         actor_user_id=e.actor_user_id, actor=e.actor_label, action=e.action,
                         object_type=e.object_type, object_id=e.object_id,
                         household_id=e.household_id, ip=e.ip, outcome=e.outcome,
                         access_grant_id=e.access_grant_id)
               for e in result.items],
        total=result.total, page=result.page, page_size=result.page_size,
    )
