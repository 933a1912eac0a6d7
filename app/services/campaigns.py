"""Campaigns (wijk projects): listing, lookup and the rules that define which addresses belong."""

from sqlmodel import Session, col, select

from app.models import Campaign
from app.models.enums import CampaignStatus


def list_open_campaigns(session: Session) -> list[Campaign]:
    """Every organisation's open campaigns, for anyone."""
    return list(
        session.exec(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.open)
            .order_by(col(Campaign.municipality), col(Campaign.name))
        ).all()
    )
