"""Every table of the data model; importing this module registers them all."""

from app.models.audit import AuditEvent, OutboxMail
from app.models.auth import AuthSession, MagicLinkToken, RateLimitHit
from app.models.campaign import Campaign, Offer, Partner, PriceTier
from app.models.claim import ClaimToken, HouseholdClaim
from app.models.estimate import EnergyFactor, IncomeThreshold, SavingsAssumption
from app.models.group import Batch, Group, GroupMember
from app.models.household import (
    Household,
    HouseholdProgress,
    Interest,
    InterestSubmission,
    InterestTally,
    MixTally,
    Participation,
    ParticipationEvent,
    StreetTally,
)
from app.models.organisation import Contractor, Organisation, OrganisationAccessGrant, User
from app.models.quote import PremiumRule, Quote, QuoteInvitation, QuoteLine, QuoteRequest
from app.models.support import SupportPath, SupportStep

__all__ = [
    "AuditEvent", "AuthSession", "Batch", "Campaign", "ClaimToken", "Contractor",
    "EnergyFactor", "Group",
    "GroupMember", "Household", "HouseholdClaim", "HouseholdProgress", "Interest",
    "IncomeThreshold", "InterestSubmission", "InterestTally", "MagicLinkToken", "MixTally",
    "Offer", "Organisation", "OrganisationAccessGrant",
    "OutboxMail", "Participation", "ParticipationEvent", "Partner", "PremiumRule", "PriceTier",
    "Quote", "QuoteInvitation", "QuoteLine", "QuoteRequest", "RateLimitHit", "SavingsAssumption",
    "StreetTally", "SupportPath", "SupportStep", "User",
]
