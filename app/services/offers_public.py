"""What the public sees of a wijk's offers: places taken, waitlist, the tier reached and the
next one, and the sign-up status. One service function per public page, each a few queries with
the counts aggregated in SQL (so a cache can later wrap exactly these functions)."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, union_all
from sqlmodel import Session, col, select

from app.i18n import gettext
from app.models import (
    Campaign,
    Contractor,
    HouseholdClaim,
    Offer,
    Participation,
    Partner,
    PriceTier,
)
from app.models.base import utcnow
from app.models.enums import CampaignStatus
from app.models.enums import ParticipationStatus as S
from app.services import claims, pricing, status_flow, support_paths
from app.services.campaigns import get_public_campaign
from app.services.errors import NotFound
from app.services.labels import UNIT_LABELS
from app.services.signups import MSG_OFFER_NOT_FOUND


@dataclass(frozen=True)
class OfferListing:
    """An offer as listed (DESIGN.md, "An offer as listed"), plus what the pages need."""

    id: int
    measure: str
    title: str
    description: str
    lot: str
    procurement_reference: str
    contractor_id: int
    contractor_name: str
    unit: str
    price_tiers: list[pricing.Tier]
    vat_rate: int
    capacity: int
    participants: int
    waitlisted: int
    signup_opens_at: datetime
    signup_closes_at: datetime
    status: str

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.participants, 0)

    @property
    def current_tier(self) -> pricing.Tier | None:
        return pricing.current_tier(self.price_tiers, self.participants)

    @property
    def next_tier(self) -> pricing.Tier | None:
        return pricing.next_tier(self.price_tiers, self.participants)

    @property
    def current_unit_price_cents(self) -> int | None:
        tier = self.current_tier
        return tier.unit_price_cents if tier else None

    @property
    def current_unit_price_incl_vat_cents(self) -> int | None:
        price = self.current_unit_price_cents
        return None if price is None else pricing.with_vat_cents(price, self.vat_rate)

    @property
    def price_table(self) -> list["TierRow"]:
        """Every tier with its price incl. VAT, marking the one reached now."""
        reached = self.current_tier
        return [TierRow(tier, pricing.with_vat_cents(tier.unit_price_cents, self.vat_rate),
                        tier == reached) for tier in self.price_tiers]

    @property
    def signups_to_next_tier(self) -> int | None:
        tier = self.next_tier
        return None if tier is None else tier.min_participants - self.participants

    @property
    def unit_label(self) -> str:
        return gettext(UNIT_LABELS.get(self.unit, self.unit))

    def as_json(self) -> dict[str, Any]:
        next_tier = self.next_tier
        return {
            "id": self.id,
            "measure": self.measure,
            "title": self.title,
            "description": self.description,
            "lot": self.lot,
            "procurement_reference": self.procurement_reference,
            "contractor": {"id": self.contractor_id, "name": self.contractor_name},
            "unit": self.unit,
            "price_tiers": [asdict(tier) for tier in self.price_tiers],
            "vat_rate": self.vat_rate,
            "capacity": self.capacity,
            "participants": self.participants,
            "waitlisted": self.waitlisted,
            "remaining": self.remaining,
            "current_unit_price_cents": self.current_unit_price_cents,
            "next_tier": asdict(next_tier) if next_tier else None,
            "signup_opens_at": self.signup_opens_at.isoformat(),
            "signup_closes_at": self.signup_closes_at.isoformat(),
            "status": self.status,
        }


@dataclass(frozen=True)
class TierRow:
    tier: pricing.Tier
    incl_vat_cents: int
    reached: bool


@dataclass(frozen=True)
class WijkPage:
    campaign: Campaign
    partners: list[Partner]
    offers: list[OfferListing]
    support_paths: list["support_paths.PathView"] = field(default_factory=list)

    @property
    def any_open(self) -> bool:
        return any(offer.status == "open" for offer in self.offers)


@dataclass(frozen=True)
class OfferPage:
    campaign: Campaign
    offer: OfferListing


@dataclass(frozen=True)
class WijkSummary:
    campaign: Campaign
    offer_count: int


def signup_status(campaign: Campaign, opens_at: datetime, closes_at: datetime,
                  now: datetime | None = None) -> str:
    """"upcoming", "open" or "closed", from the sign-up window and the campaign status."""
    now = now or utcnow()
    if campaign.status != CampaignStatus.open or now >= closes_at:
        return "closed"
    if now < opens_at:
        return "upcoming"
    return "open"


def list_offers(session: Session, campaign: Campaign, offer_id: int | None = None
                ) -> list[OfferListing]:
    """The campaign's offers (or just one) with their counts: two queries, counts in SQL."""
    # Places held by claims at known addresses count as any sign-up's (app.services.claims).
    places = union_all(
        select(
            col(Participation.offer_id).label("offer_id"),
            case((col(Participation.status).in_(status_flow.HOLDS_A_PLACE), 1), else_=0)
            .label("holds"),
            case((col(Participation.status) == S.waitlisted, 1), else_=0).label("waits"),
        )
        .join(Offer, col(Offer.id) == Participation.offer_id)
        .where(Offer.campaign_id == campaign.id),
        select(
            col(HouseholdClaim.offer_id).label("offer_id"),
            case((col(HouseholdClaim.held_status) == S.registered, 1), else_=0).label("holds"),
            case((col(HouseholdClaim.held_status) == S.waitlisted, 1), else_=0).label("waits"),
        )
        .where(HouseholdClaim.campaign_id == campaign.id, HouseholdClaim.status == "pending",
               HouseholdClaim.created_at >= claims.cutoff()),
    ).subquery()
    counts = (
        select(places.c.offer_id, func.sum(places.c.holds).label("participants"),
               func.sum(places.c.waits).label("waitlisted"))
        .group_by(places.c.offer_id)
        .subquery()
    )
    statement = (
        select(Offer, Contractor.name, counts.c.participants, counts.c.waitlisted)
        .join(Contractor, col(Contractor.id) == Offer.contractor_id)
        .outerjoin(counts, counts.c.offer_id == Offer.id)
        .where(Offer.campaign_id == campaign.id)
        .order_by(col(Offer.lot), col(Offer.id))
    )
    if offer_id is not None:
        statement = statement.where(Offer.id == offer_id)
    rows = session.exec(statement).all()
    if not rows:
        return []
    offer_ids = [offer.id for offer, *_ in rows]
    tiers: dict[int, list[pricing.Tier]] = {}
    for tier in session.exec(
        select(PriceTier).where(col(PriceTier.offer_id).in_(offer_ids))
        .order_by(col(PriceTier.offer_id), col(PriceTier.min_participants))
    ).all():
        tiers.setdefault(tier.offer_id, []).append(
            pricing.Tier(tier.min_participants, tier.unit_price_cents)
        )
    now = utcnow()
    return [
        OfferListing(
            id=offer.id, measure=offer.measure, title=offer.title,  # type: ignore[arg-type]
            description=offer.description, lot=offer.lot,
            procurement_reference=offer.procurement_reference,
            contractor_id=offer.contractor_id, contractor_name=contractor_name,
            unit=offer.unit, price_tiers=tiers.get(offer.id, []),  # type: ignore[arg-type]
            vat_rate=offer.vat_rate, capacity=offer.capacity,
            participants=int(participants or 0), waitlisted=int(waitlisted or 0),
            signup_opens_at=offer.signup_opens_at, signup_closes_at=offer.signup_closes_at,
            status=signup_status(campaign, offer.signup_opens_at, offer.signup_closes_at, now),
        )
        for offer, contractor_name, participants, waitlisted in rows
    ]


def campaign_offers(session: Session, slug: str) -> list[OfferListing]:
    """GET /api/v1/campaigns/{slug}/offers."""
    return list_offers(session, get_public_campaign(session, slug))


def home_page(session: Session) -> list[WijkSummary]:
    """The open wijken with their number of offers, in one query."""
    offer_count = (
        select(func.count()).select_from(Offer).where(Offer.campaign_id == Campaign.id)
        .correlate(Campaign).scalar_subquery()
    )
    rows = session.exec(
        select(Campaign, offer_count)
        .where(Campaign.status == CampaignStatus.open)
        .order_by(col(Campaign.municipality), col(Campaign.name))
    ).all()
    return [WijkSummary(campaign=campaign, offer_count=int(count)) for campaign, count in rows]


def wijk_page(session: Session, slug: str) -> WijkPage:
    """/wijken/{slug}: the campaign, its partners and its offers with counts."""
    campaign = get_public_campaign(session, slug)
    partners = list(session.exec(
        select(Partner).where(Partner.campaign_id == campaign.id).order_by(col(Partner.id))
    ).all())
    return WijkPage(campaign=campaign, partners=partners, offers=list_offers(session, campaign),
                    support_paths=support_paths.paths_of(session, campaign))


def wijk_counters(session: Session, slug: str) -> list[OfferListing]:
    """The live counters of a wijk's offers (polled every few seconds: no partners)."""
    return list_offers(session, get_public_campaign(session, slug))


def public_offer(session: Session, offer_id: int) -> OfferPage:
    """Any offer of a published campaign, by id alone (the estimate API)."""
    campaign = session.exec(
        select(Campaign).join(Offer, col(Offer.campaign_id) == Campaign.id)
        .where(Offer.id == offer_id, Campaign.status != CampaignStatus.draft)
    ).first()
    offers = list_offers(session, campaign, offer_id) if campaign is not None else []
    if campaign is None or not offers:
        raise NotFound(MSG_OFFER_NOT_FOUND)
    return OfferPage(campaign=campaign, offer=offers[0])


def offer_page(session: Session, slug: str, offer_id: int) -> OfferPage:
    """/wijken/{slug}/aanbod/{id}: one offer of a published campaign."""
    campaign = get_public_campaign(session, slug)
    offers = list_offers(session, campaign, offer_id)
    if not offers:
        raise NotFound(MSG_OFFER_NOT_FOUND)
    return OfferPage(campaign=campaign, offer=offers[0])
