"""The campaign's procurement as an OCDS 1.1 release package, with the lots and techniques
extensions: the framework agreement (tender.techniques), one lot per offer, one award per offer
to its contractor, and the batches as contracts (call-offs under the framework).

Only public facts: no resident's data, only counts of households per batch.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.config import get_settings
from app.models import (
    Batch,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Offer,
    Organisation,
    Participation,
    PriceTier,
)
from app.models.enums import CampaignStatus
from app.services.campaigns import get_public_campaign
from app.services.pricing import Tier, current_tier
from app.services.status_flow import HOLDS_A_PLACE

OCDS_VERSION = "1.1"
OCID_PREFIX = "ocds-wijkwerf"
LOTS_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                  "ocds_lots_extension/v1.1.5/extension.json")
TECHNIQUES_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                        "ocds_techniques_extension/main/extension.json")
UNIT_NAMES = {"m2": "m²", "piece": "stuk", "kwp": "kWp", "dwelling": "woning"}


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _euros(cents: int) -> float:
    return float(Decimal(cents) / 100)


def lot_id(offer: Offer) -> str:
    return offer.lot or str(offer.id)


def _party_id(kind: str, identifier: int | None) -> str:
    return f"{kind}-{identifier}"


def release_package(session: Session, slug: str) -> dict[str, Any]:
    """The release package of an open or closed campaign (drafts are not public)."""
    campaign = get_public_campaign(session, slug)
    assert campaign.id is not None
    organisation = session.get(Organisation, campaign.organisation_id)
    assert organisation is not None
    offers = list(session.exec(
        select(Offer).where(Offer.campaign_id == campaign.id).order_by(col(Offer.id))
    ).all())
    offer_ids = [offer.id for offer in offers]
    contractors = {contractor.id: contractor for contractor in session.exec(
        select(Contractor).where(col(Contractor.id).in_({offer.contractor_id
                                                         for offer in offers}))
    ).all()} if offers else {}
    tiers: dict[int, list[Tier]] = {}
    for price_tier in session.exec(
        select(PriceTier).where(col(PriceTier.offer_id).in_(offer_ids))
        .order_by(col(PriceTier.min_participants))
    ).all():
        tiers.setdefault(price_tier.offer_id, []).append(
            Tier(price_tier.min_participants, price_tier.unit_price_cents))
    holding = [status.value for status in HOLDS_A_PLACE]
    signups = {offer_id: (count, quantity) for offer_id, count, quantity in session.exec(
        select(Participation.offer_id, func.count(), func.sum(Participation.quantity))
        .where(col(Participation.offer_id).in_(offer_ids),
               col(Participation.status).in_(holding))
        .group_by(col(Participation.offer_id))
    ).all()} if offers else {}
    batches = session.exec(
        select(Batch, Group.name, func.count(col(GroupMember.id)))
        .join(Group, col(Group.id) == col(Batch.group_id))
        .outerjoin(GroupMember, col(GroupMember.group_id) == col(Group.id))
        .where(Group.campaign_id == campaign.id, col(Batch.offer_id).in_(offer_ids))
        .group_by(col(Batch.id), col(Group.name))
        .order_by(col(Batch.id))
    ).all() if offers else []

    settings = get_settings()
    base_url = settings.BASE_URL.rstrip("/")
    ocid = f"{OCID_PREFIX}-{campaign.id}"
    changed = [campaign.updated_at, *(offer.created_at for offer in offers),
               *(batch.created_at for batch, _name, _count in batches)]
    published = max(changed)
    buyer = {"id": _party_id("org", organisation.id), "name": organisation.name}
    parties: list[dict[str, Any]] = [{**buyer, "roles": ["buyer", "procuringEntity"]}]
    for contractor in sorted(contractors.values(), key=lambda item: item.id or 0):
        parties.append({
            "id": _party_id("contractor", contractor.id),
            "name": contractor.name,
            "identifier": {"scheme": "BE-BCE_KBO", "id": contractor.vat_number[2:],
                           "legalName": contractor.name},
            "roles": ["supplier"],
        })

    lots, items, awards = [], [], []
    offers_by_id = {offer.id: offer for offer in offers}
    for offer in offers:
        participants, quantity = signups.get(offer.id, (0, None))
        tier = current_tier(tiers.get(offer.id, []), participants)  # type: ignore[arg-type]
        unit_price = tier.unit_price_cents if tier else 0
        estimate = round(Decimal(str(quantity or 0)) * unit_price)
        lot = lot_id(offer)
        lots.append({
            "id": lot,
            "title": offer.title,
            "description": offer.description or None,
            "status": "active" if campaign.status == CampaignStatus.open else "complete",
            # What the sign-ups so far are worth at the price tier they reached (excl. VAT).
            "value": {"amount": _euros(estimate), "currency": "EUR"},
            "contractPeriod": {"startDate": _instant(offer.signup_opens_at),
                               "endDate": _instant(offer.signup_closes_at)},
        })
        item = {
            "id": f"offer-{offer.id}",
            "description": offer.title,
            "classification": {"scheme": "wijkwerf-measure", "id": offer.measure},
            "unit": {"name": UNIT_NAMES.get(offer.unit, offer.unit),
                     "value": {"amount": _euros(unit_price), "currency": "EUR"}},
            "relatedLot": lot,
        }
        items.append(item)
        awarded = contractors.get(offer.contractor_id)
        awards.append({
            "id": f"award-{offer.id}",
            "title": offer.title,
            "status": "active",
            "date": _instant(offer.created_at),
            "suppliers": [{"id": _party_id("contractor", offer.contractor_id),
                           "name": awarded.name if awarded else ""}],
            "items": [item],
            "relatedLots": [lot],
        })

    contracts = []
    for batch, _group_name, households in batches:
        offer = offers_by_id[batch.offer_id]
        contracts.append({
            "id": f"batch-{batch.id}",
            "awardID": f"award-{offer.id}",
            "title": f"Afroep batch {batch.id}: {offer.title}",
            "description": f"{households} huishoudens",
            "status": "active",
            "dateSigned": _instant(batch.created_at),
            "items": [{
                "id": f"batch-{batch.id}-offer-{offer.id}",
                "description": offer.title,
                "quantity": households,
                "unit": {"name": "woning"},
                "relatedLot": lot_id(offer),
            }],
            "relatedLots": [lot_id(offer)],
        })

    tender: dict[str, Any] = {
        "id": f"{ocid}-tender",
        "title": campaign.name,
        "description": campaign.description or None,
        "status": "active" if campaign.status == CampaignStatus.open else "complete",
        "mainProcurementCategory": "works",
        "procuringEntity": buyer,
        "items": items,
        "lots": lots,
        "techniques": {
            "hasFrameworkAgreement": True,
            "frameworkAgreement": {
                "method": "withoutReopeningCompetition",
                "description": (
                    f"Raamovereenkomst voor collectieve renovatie in {campaign.name} "
                    f"({campaign.municipality}); bewoners schrijven in per perceel en elke "
                    "batch is een afroep."),
                **({"period": _campaign_period(campaign)} if campaign.starts_on else {}),
            },
        },
    }
    tags = ["tender"] + (["award"] if awards else []) + (["contract"] if contracts else [])
    release = {
        "ocid": ocid,
        "id": f"{ocid}-{published.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
        "date": _instant(published),
        "tag": tags,
        "initiationType": "tender",
        "language": "nl",
        "buyer": buyer,
        "parties": parties,
        "tender": tender,
        "awards": awards,
        "contracts": contracts,
    }
    return _without_nulls({
        "uri": f"{base_url}/api/v1/campaigns/{campaign.slug}/ocds",
        "version": OCDS_VERSION,
        "extensions": [LOTS_EXTENSION, TECHNIQUES_EXTENSION],
        "publishedDate": _instant(published),
        "publisher": {"name": organisation.name},
        "releases": [release],
    })


def _without_nulls(value: Any) -> Any:
    """OCDS advises leaving out unknown fields rather than publishing nulls."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _campaign_period(campaign: Campaign) -> dict[str, str]:
    period = {}
    if campaign.starts_on:
        period["startDate"] = f"{campaign.starts_on.isoformat()}T00:00:00+00:00"
    if campaign.ends_on:
        period["endDate"] = f"{campaign.ends_on.isoformat()}T23:59:59+00:00"
    return period
