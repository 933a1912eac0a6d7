"""Campaigns (wijk projects): lookup for the public and for staff (scoped to their
organisation in the query itself), and the rule that says which addresses belong to a wijk."""

from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Campaign
from app.models.enums import CampaignStatus, Role
from app.services.auth import Principal
from app.services.errors import NotFound


def list_open_campaigns(session: Session) -> list[Campaign]:
    """Every organisation's open campaigns, for anyone."""
    return list(
        session.exec(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.open)
            .order_by(col(Campaign.municipality), col(Campaign.name))
        ).all()
    )


def get_public_campaign(session: Session, slug: str) -> Campaign:
    """An open or closed campaign by slug (drafts are not public)."""
    campaign = session.exec(
        select(Campaign).where(Campaign.slug == slug, Campaign.status != CampaignStatus.draft)
    ).first()
    if campaign is None:
        raise NotFound(N_("Deze wijk bestaat niet of is nog niet gepubliceerd."))
    return campaign


def get_staff_campaign(session: Session, principal: Principal, slug: str) -> Campaign:
    """A campaign of the caller's organisation (admins: any); another's answers NotFound."""
    statement = select(Campaign).where(Campaign.slug == slug)
    if principal.role != Role.admin:
        statement = statement.where(Campaign.organisation_id == principal.organisation_id)
    campaign = session.exec(statement).first()
    if campaign is None:
        raise NotFound(N_("Deze wijk bestaat niet."))
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
