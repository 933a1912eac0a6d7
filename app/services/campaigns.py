"""Campaigns (wijk projects): lookup for the public and for staff (scoped to their
organisation in the query itself), creating and editing them with their coalition partners,
and the rule that says which addresses belong to a wijk."""

import re
from dataclasses import dataclass
from datetime import date

from pydantic import Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, delete, or_, select

from app.i18n import N_
from app.models import Campaign, Household, Offer, Participation, Partner
from app.models.base import utcnow
from app.models.enums import CampaignStatus, PartnerKind
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.status_flow import HOLDS_A_PLACE
from app.services.validation import CleanInput

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
POSTCODE_RE = re.compile(r"^[1-9]\d{3}$")

PARTNER_KIND_LABELS: dict[str, str] = {
    PartnerKind.energiehuis: N_("Energiehuis"),
    PartnerKind.ocmw: N_("OCMW"),
    PartnerKind.woonmaatschappij: N_("Woonmaatschappij"),
    PartnerKind.intercommunale: N_("Intercommunale"),
    PartnerKind.opbouwwerk: N_("Opbouwwerk"),
    PartnerKind.wijk_esco: N_("Wijk-esco"),
    PartnerKind.energiegemeenschap: N_("Energiegemeenschap"),
    PartnerKind.municipality: N_("Gemeente"),
    PartnerKind.other: N_("Andere partner"),
}
CAMPAIGN_STATUS_LABELS: dict[str, str] = {
    CampaignStatus.draft: N_("Ontwerp"),
    CampaignStatus.open: N_("Open"),
    CampaignStatus.closed: N_("Afgesloten"),
}


class PartnerIn(CleanInput):
    kind: PartnerKind
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="", max_length=300)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("Geef de naam van de partner."))
        return value.strip()


def _check_slug(value: str) -> str:
    value = value.strip()
    if not SLUG_RE.match(value):
        raise ValueError(N_("Gebruik alleen kleine letters, cijfers en koppeltekens "
                            "(bijvoorbeeld: westerkwartier)."))
    return value


def _check_postcodes(values: list[str]) -> list[str]:
    cleaned = [value.strip() for value in values if value.strip()]
    for value in cleaned:
        if not POSTCODE_RE.match(value):
            raise ValueError(N_("Een postcode heeft 4 cijfers (bijvoorbeeld 8400)."))
    if not cleaned:
        raise ValueError(N_("Geef minstens één postcode."))
    return list(dict.fromkeys(cleaned))


def _check_streets(values: list[str]) -> list[str]:
    return list(dict.fromkeys(" ".join(value.split()) for value in values if value.strip()))


class CampaignCreate(CleanInput):
    """A new campaign, as POSTed to /api/v1/campaigns or the beheer form."""

    slug: str = Field(max_length=80)
    name: str = Field(min_length=1, max_length=200)
    municipality: str = Field(min_length=1, max_length=120)
    description: str = ""
    postcodes: list[str]
    streets: list[str] = []
    starts_on: date | None = None
    ends_on: date | None = None
    status: CampaignStatus = CampaignStatus.draft
    partners: list[PartnerIn] = []

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)

    @field_validator("postcodes")
    @classmethod
    def _postcodes(cls, value: list[str]) -> list[str]:
        return _check_postcodes(value)

    @field_validator("streets")
    @classmethod
    def _streets(cls, value: list[str]) -> list[str]:
        return _check_streets(value)

    @field_validator("name", "municipality")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("Vul dit veld in."))
        return value.strip()


class CampaignUpdate(CleanInput):
    """Changes to a campaign: every field optional; `partners` replaces the whole list."""

    slug: str | None = Field(default=None, max_length=80)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    municipality: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = None
    postcodes: list[str] | None = None
    streets: list[str] | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: CampaignStatus | None = None
    partners: list[PartnerIn] | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        return None if value is None else _check_slug(value)

    @field_validator("postcodes")
    @classmethod
    def _postcodes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_postcodes(value)

    @field_validator("streets")
    @classmethod
    def _streets(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_streets(value)


@dataclass(frozen=True)
class CampaignNumbers:
    """Key figures for the staff overview."""

    households: int
    offers: int
    participants: int


def list_open_campaigns(session: Session) -> list[Campaign]:
    """Every organisation's open campaigns, for anyone."""
    return list(
        session.exec(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.open)
            .order_by(col(Campaign.municipality), col(Campaign.name))
        ).all()
    )


def list_visible_campaigns(session: Session, principal: Principal | None) -> list[Campaign]:
    """Open campaigns of every organisation, plus, for staff, the drafts and closed ones of the
    organisations they act for."""
    statement = select(Campaign)
    if principal is not None and principal.is_staff:
        statement = statement.where(or_(
            Campaign.status == CampaignStatus.open,
            col(Campaign.organisation_id).in_(principal.organisation_ids)))
    else:
        statement = statement.where(Campaign.status == CampaignStatus.open)
    found = list(session.exec(
        statement.order_by(col(Campaign.municipality), col(Campaign.name))
    ).all())
    if principal is not None:
        audit.record_grant_use(session, principal, (
            c.organisation_id for c in found if c.status != CampaignStatus.open),
            object_type="campaign")
    return found


def get_public_campaign(session: Session, slug: str) -> Campaign:
    """An open or closed campaign by slug (drafts are not public)."""
    campaign = session.exec(
        select(Campaign).where(Campaign.slug == slug, Campaign.status != CampaignStatus.draft)
    ).first()
    if campaign is None:
        raise NotFound(N_("Deze wijk bestaat niet of is nog niet gepubliceerd."))
    return campaign


def get_visible_campaign(session: Session, principal: Principal | None, slug: str) -> Campaign:
    """A public campaign, or a draft of an organisation the caller acts for."""
    statement = select(Campaign).where(Campaign.slug == slug)
    if principal is not None and principal.is_staff:
        statement = statement.where(or_(
            Campaign.status != CampaignStatus.draft,
            col(Campaign.organisation_id).in_(principal.organisation_ids)))
    else:
        statement = statement.where(Campaign.status != CampaignStatus.draft)
    campaign = session.exec(statement).first()
    if campaign is None:
        raise NotFound(N_("Deze wijk bestaat niet of is nog niet gepubliceerd."))
    if principal is not None and campaign.status == CampaignStatus.draft:
        audit.record_grant_use(session, principal, [campaign.organisation_id],
                               object_type="campaign", object_id=campaign.id)
    return campaign


def get_staff_campaign(
    session: Session, principal: Principal, slug: str, *, ip: str | None = None
) -> Campaign:
    """A campaign of an organisation the caller acts for (their own; an admin also one of a
    live access grant, and that use is logged there); another's answers NotFound. With `ip`
    given, a refusal is written to the audit log."""
    statement = select(Campaign).where(
        Campaign.slug == slug, col(Campaign.organisation_id).in_(principal.organisation_ids))
    campaign = session.exec(statement).first()
    if campaign is None:
        if ip is not None:
            owner = session.exec(
                select(Campaign.id, Campaign.organisation_id).where(Campaign.slug == slug)
            ).first()
            audit.record_denied(session, principal, action="campaign.view",
                                object_type="campaign", object_id=owner[0] if owner else None,
                                owner_organisation_id=owner[1] if owner else None, ip=ip)
        raise NotFound(N_("Deze wijk bestaat niet."))
    audit.record_grant_use(session, principal, [campaign.organisation_id],
                           object_type="campaign", object_id=campaign.id, ip=ip or "")
    return campaign


def list_staff_campaigns(session: Session, principal: Principal) -> list[Campaign]:
    """The campaigns of the organisations the caller acts for, every status."""
    statement = select(Campaign).where(
        col(Campaign.organisation_id).in_(principal.organisation_ids))
    found = list(session.exec(
        statement.order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())
    ).all())
    audit.record_grant_use(session, principal, (c.organisation_id for c in found),
                           object_type="campaign")
    return found


def campaign_numbers(session: Session, campaign_ids: list[int]) -> dict[int, CampaignNumbers]:
    """Households, offers and place-holding sign-ups per campaign, three grouped queries."""
    if not campaign_ids:
        return {}
    households = dict(session.exec(
        select(Household.campaign_id, func.count())
        .where(col(Household.campaign_id).in_(campaign_ids), col(Household.erased_at).is_(None))
        .group_by(col(Household.campaign_id))
    ).all())
    offers = dict(session.exec(
        select(Offer.campaign_id, func.count())
        .where(col(Offer.campaign_id).in_(campaign_ids))
        .group_by(col(Offer.campaign_id))
    ).all())
    participants = dict(session.exec(
        select(Offer.campaign_id, func.count())
        .join(Participation, col(Participation.offer_id) == col(Offer.id))
        .where(col(Offer.campaign_id).in_(campaign_ids),
               col(Participation.status).in_([str(s) for s in HOLDS_A_PLACE]))
        .group_by(col(Offer.campaign_id))
    ).all())
    return {
        campaign_id: CampaignNumbers(households=households.get(campaign_id, 0),
                                     offers=offers.get(campaign_id, 0),
                                     participants=participants.get(campaign_id, 0))
        for campaign_id in campaign_ids
    }


def partners_of(session: Session, campaign_ids: list[int]) -> dict[int, list[Partner]]:
    """The partners of several campaigns in one query, in the order they were entered."""
    result: dict[int, list[Partner]] = {campaign_id: [] for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    for partner in session.exec(
        select(Partner).where(col(Partner.campaign_id).in_(campaign_ids)).order_by(col(Partner.id))
    ).all():
        result[partner.campaign_id].append(partner)
    return result


def bump_content_version(session: Session, campaign: Campaign) -> None:
    """Public pages of this campaign change: move the cache key on."""
    campaign.content_version += 1
    campaign.updated_at = utcnow()
    session.add(campaign)


def _check_period(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise Invalid(N_("De einddatum valt vóór de startdatum."), field="ends_on")


def _check_slug_free(session: Session, slug: str, *, except_id: int | None = None) -> None:
    statement = select(Campaign.id).where(Campaign.slug == slug)
    if except_id is not None:
        statement = statement.where(Campaign.id != except_id)
    if session.exec(statement).first() is not None:
        raise Conflict(N_("Deze korte naam (slug) is al in gebruik; kies een andere."),
                       field="slug")


def _replace_partners(session: Session, campaign_id: int, partners: list[PartnerIn]) -> None:
    """The campaign's partners become `partners`. A partner that stays (same kind and name)
    keeps its row, so the support path steps it runs stay linked to it; the others go (their
    steps keep their text, without a partner)."""
    kept = {(p.kind, p.name): p for p in session.exec(
        select(Partner).where(Partner.campaign_id == campaign_id)).all()}
    wanted = {(partner.kind.value, partner.name) for partner in partners}
    gone = [row.id for key, row in kept.items() if key not in wanted]
    if gone:
        session.exec(delete(Partner).where(col(Partner.id).in_(gone)))  # type: ignore[call-overload]
    for partner in partners:
        row = kept.get((partner.kind.value, partner.name))
        if row is None:
            row = Partner(campaign_id=campaign_id, kind=partner.kind, name=partner.name)
            kept[(partner.kind.value, partner.name)] = row
        row.role = partner.role
        session.add(row)


def create_campaign(session: Session, principal: Principal, data: CampaignCreate) -> Campaign:
    """A new campaign of the caller's organisation."""
    if principal.organisation_id is None:
        raise Invalid(N_("Je account hoort bij geen organisatie."))
    _check_period(data.starts_on, data.ends_on)
    _check_slug_free(session, data.slug)
    campaign = Campaign(
        organisation_id=principal.organisation_id,
        slug=data.slug, name=data.name, municipality=data.municipality,
        description=data.description.strip(), postcodes=data.postcodes, streets=data.streets,
        starts_on=data.starts_on, ends_on=data.ends_on, status=data.status,
    )
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    _replace_partners(session, campaign.id, data.partners)
    session.flush()
    return campaign


def update_campaign(
    session: Session, principal: Principal, slug: str, data: CampaignUpdate,
    *, ip: str | None = None,
) -> Campaign:
    """Apply the given fields to a campaign of the caller's organisation."""
    campaign = get_staff_campaign(session, principal, slug, ip=ip)
    assert campaign.id is not None
    changes = data.model_dump(exclude_unset=True)
    for required in ("slug", "name", "municipality", "postcodes", "status"):
        if required in changes and changes[required] is None:
            raise Invalid(N_("Vul dit veld in."), field=required)
    _check_period(changes.get("starts_on", campaign.starts_on),
                  changes.get("ends_on", campaign.ends_on))
    if "slug" in changes and changes["slug"] != campaign.slug:
        _check_slug_free(session, changes["slug"], except_id=campaign.id)
    cleared = {"description": "", "streets": []}  # null clears these optional fields
    for name in ("slug", "name", "municipality", "description", "postcodes", "streets",
                 "starts_on", "ends_on", "status"):
        if name in changes:
            value = getattr(data, name)
            if value is None and name in cleared:
                value = cleared[name]
            setattr(campaign, name, value.strip() if isinstance(value, str) else value)
    if data.partners is not None:
        _replace_partners(session, campaign.id, data.partners)
    bump_content_version(session, campaign)
    session.flush()
    return campaign


def normalise_street(street: str) -> str:
    return " ".join(street.strip().lower().split())


def address_in_campaign(campaign: Campaign, *, postcode: str, street: str) -> tuple[bool, str]:
    """Whether an address belongs to the wijk; the second value names the failing field."""
    if postcode.strip() not in campaign.postcodes:
        return False, "postcode"
    if campaign.streets:
        allowed = {normalise_street(name) for name in campaign.streets}
        if normalise_street(street) not in allowed:
            return False, "street"
    return True, ""
