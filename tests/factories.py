"""Small factories for test data: each takes a session and keyword overrides, flushes, returns.

Anything a factory needs and is not given (an organisation, a campaign, an offer) it makes.
Values are unique per process, so factories can be called many times in one test.
"""

import itertools
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlmodel import Session

from app.models import (
    Campaign,
    Contractor,
    Household,
    Offer,
    Organisation,
    Participation,
    ParticipationEvent,
    PriceTier,
    User,
)

DEFAULT_PASSWORD = "correct horse battery staple"  # noqa: S105
DEFAULT_TIERS = [(0, 12000), (25, 10800), (50, 9800)]

_sequence = itertools.count(1)
T = TypeVar("T")


def _next() -> int:
    return next(_sequence)


@lru_cache
def password_hash(password: str) -> str:
    """argon2id, as the app stores it; cached because hashing is deliberately slow."""
    try:
        from app.security import hash_password
    except ImportError:
        from argon2 import PasswordHasher

        return PasswordHasher().hash(password)
    return hash_password(password)


def belgian_vat_number(seed: int) -> str:
    """A valid Belgian VAT number: BE0 + 7 digits + 2 check digits (97 - first 8 mod 97)."""
    first_eight = seed % 10_000_000  # the leading 0 makes eight digits
    check = 97 - first_eight % 97
    return f"BE0{first_eight:07d}{check:02d}"


def address_key(street: str, house_number: str, box: str, postcode: str) -> str:
    parts = (street, house_number, box, postcode)
    return "|".join(" ".join(part.split()).lower() for part in parts)


def _save(session: Session, obj: T) -> T:
    session.add(obj)
    session.flush()
    session.refresh(obj)
    return obj


def make_organisation(session: Session, **overrides: Any) -> Organisation:
    values: dict[str, Any] = {"name": f"Energiehuis Test {_next()}"}
    values.update(overrides)
    return _save(session, Organisation(**values))


def make_user(
    session: Session,
    *,
    role: str = "staff",
    password: str = DEFAULT_PASSWORD,
    organisation: Organisation | None = None,
    contractor: Contractor | None = None,
    **overrides: Any,
) -> User:
    """A staff/admin user of an organisation, or a contractor user of a contractor company."""
    values: dict[str, Any] = {
        "email": f"{role}{_next()}@example.be",
        "password_hash": password_hash(password),
        "role": role,
    }
    if role == "contractor":
        if contractor is None and "contractor_id" not in overrides:
            contractor = make_contractor(session, organisation=organisation)
        if contractor is not None:
            values["contractor_id"] = contractor.id
    elif organisation is None and "organisation_id" not in overrides:
        organisation = make_organisation(session)
    if organisation is not None and role != "contractor":
        values["organisation_id"] = organisation.id
    values.update(overrides)
    return _save(session, User(**values))


def make_contractor(
    session: Session, *, organisation: Organisation | None = None, **overrides: Any
) -> Contractor:
    n = _next()
    if organisation is None and "organisation_id" not in overrides:
        organisation = make_organisation(session)
    values: dict[str, Any] = {
        "name": f"Gevelwerken {n} NV",
        "vat_number": belgian_vat_number(1_234_567 + n),
        "email": f"aannemer{n}@example.be",
        "phone": "+3250123456",
    }
    if organisation is not None:
        values["organisation_id"] = organisation.id
    values.update(overrides)
    return _save(session, Contractor(**values))


def make_campaign(
    session: Session, *, organisation: Organisation | None = None, **overrides: Any
) -> Campaign:
    n = _next()
    if organisation is None and "organisation_id" not in overrides:
        organisation = make_organisation(session)
    values: dict[str, Any] = {
        "slug": f"testwijk-{n}",
        "name": f"Klimaatwijk Test {n}",
        "municipality": "Oostende",
        "description": "Een wijk om mee te testen.",
        "postcodes": ["8400"],
        "streets": [],
        "starts_on": datetime.now(UTC).date() - timedelta(days=30),
        "ends_on": datetime.now(UTC).date() + timedelta(days=365),
        "status": "open",
    }
    if organisation is not None:
        values["organisation_id"] = organisation.id
    values.update(overrides)
    return _save(session, Campaign(**values))


def make_offer(
    session: Session,
    *,
    campaign: Campaign | None = None,
    contractor: Contractor | None = None,
    tiers: list[tuple[int, int]] | None = None,
    **overrides: Any,
) -> Offer:
    """An offer whose sign-up window is open now, with price tiers (min_participants, cents)."""
    n = _next()
    if campaign is None and "campaign_id" not in overrides:
        campaign = make_campaign(session)
    if contractor is None and "contractor_id" not in overrides:
        if campaign is not None:
            contractor = make_contractor(session, organisation_id=campaign.organisation_id)
        else:
            contractor = make_contractor(session)
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "measure": "facade_insulation",
        "title": f"Buitengevelisolatie {n}",
        "description": "Isolatie aan de buitenkant van de gevel, afgewerkt met crepi.",
        "lot": "1",
        "procurement_reference": f"2026/TEST/{n:03d}",
        "unit": "m2",
        "vat_rate": 6,
        "capacity": 60,
        "signup_opens_at": now - timedelta(days=1),
        "signup_closes_at": now + timedelta(days=60),
    }
    if campaign is not None:
        values["campaign_id"] = campaign.id
    if contractor is not None:
        values["contractor_id"] = contractor.id
    values.update(overrides)
    offer = _save(session, Offer(**values))
    assert offer.id is not None
    for min_participants, unit_price_cents in DEFAULT_TIERS if tiers is None else tiers:
        session.add(
            PriceTier(
                offer_id=offer.id,
                min_participants=min_participants,
                unit_price_cents=unit_price_cents,
            )
        )
    session.flush()
    return offer


def make_household(
    session: Session, *, campaign: Campaign | None = None, **overrides: Any
) -> Household:
    n = _next()
    if campaign is None and "campaign_id" not in overrides:
        campaign = make_campaign(session)
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "name": f"Bewoner {n}",
        "email": f"bewoner{n}@example.be",
        "phone": "+32470123456",
        "street": "Torhoutsesteenweg",
        "house_number": str(n),
        "box": "",
        "postcode": "8400",
        "city": "Oostende",
        "dwelling_type": "row_house",
        "build_year": 1962,
        "tenure": "owner_occupier",
        "life_phase": "young_family",
        "budget_band": "5k_15k",
        "profile": "can_and_will",
        "privacy_consent_version": "2026-01",
        "privacy_consented_at": now,
        "share_contact_with_contractor": True,
    }
    if campaign is not None:
        values["campaign_id"] = campaign.id
    values.update(overrides)
    if "address_key" not in overrides:
        values["address_key"] = address_key(
            values["street"], values["house_number"], values["box"], values["postcode"]
        )
    return _save(session, Household(**values))


def make_participation(
    session: Session,
    *,
    household: Household | None = None,
    offer: Offer | None = None,
    status: str = "registered",
    **overrides: Any,
) -> Participation:
    """A sign-up of a household for an offer, with its first status event."""
    if offer is None and "offer_id" not in overrides and "group_id" not in overrides:
        offer = make_offer(session, campaign=_campaign_of(session, household))
    if household is None and "household_id" not in overrides:
        household = make_household(session, campaign=_campaign_of(session, offer))
    values: dict[str, Any] = {"status": status, "quantity": 40.0, "measure": None}
    if offer is not None:
        values["offer_id"] = offer.id
        values["measure"] = offer.measure
    if household is not None:
        values["household_id"] = household.id
    values.update(overrides)
    participation = _save(session, Participation(**values))
    assert participation.id is not None
    session.add(
        ParticipationEvent(
            participation_id=participation.id, from_status=None, to_status=participation.status
        )
    )
    session.flush()
    return participation


def _campaign_of(session: Session, thing: Household | Offer | None) -> Campaign | None:
    if thing is None:
        return None
    return session.get(Campaign, thing.campaign_id)
