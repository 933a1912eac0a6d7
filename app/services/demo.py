"""Realistic demo data for one Flemish wijk; loading it twice adds nothing."""

import random
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from app.models import (
    Campaign,
    Contractor,
    Household,
    Interest,
    InterestSubmission,
    Offer,
    Participation,
    ParticipationEvent,
    Partner,
    PremiumRule,
    PriceTier,
    User,
)
from app.models.base import utcnow
from app.models.enums import ParticipationStatus
from app.security import hash_password
from app.services import claims, estimates, signups, support_paths
from app.services.households import HouseholdData
from app.services.premiums import ensure_example_rules
from app.services.users import get_or_create_organisation
from app.services.validation import make_vat_number

DEMO_SLUG = "westerkwartier"
DEMO_PASSWORD = "wijkwerf-demo-2026"
DEMO_LOGINS = [
    ("admin", "admin@wijkwerf.demo", DEMO_PASSWORD),
    ("staff", "energiehuis@wijkwerf.demo", DEMO_PASSWORD),
    ("contractor", "gevel@wijkwerf.demo", DEMO_PASSWORD),
    ("contractor", "schrijnwerk@wijkwerf.demo", DEMO_PASSWORD),
]
STREETS = [
    "Torhoutsesteenweg",
    "Nieuwpoortsesteenweg",
    "Leffingestraat",
    "Gistelsesteenweg",
    "Zwaluwenstraat",
    "Meeuwenstraat",
    "Kievitstraat",
    "Duinenstraat",
    "Aartshertogstraat",
    "Vindictivelaan",
    "Sint-Sebastiaanstraat",
    "Ooststraat",
]
FIRST_NAMES = [
    "An",
    "Bart",
    "Els",
    "Koen",
    "Lies",
    "Pieter",
    "Sofie",
    "Jan",
    "Marleen",
    "Wim",
    "Nele",
    "Dirk",
    "Fatima",
    "Youssef",
    "Ines",
    "Tom",
    "Hilde",
    "Rik",
    "Lotte",
    "Mohamed",
    "Greet",
    "Jef",
    "Ann",
    "Luc",
    "Katrien",
    "Stijn",
    "Ilse",
    "Bram",
    "Yasmina",
    "Geert",
]
LAST_NAMES = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Vermeulen",
    "Desmet",
    "Vandenberghe",
    "Dewulf",
    "El Amrani",
    "Declercq",
    "Verhaeghe",
    "Lambrecht",
    "Decock",
    "Vanhee",
    "Bouzid",
    "Pauwels",
]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seed_demo_data(session: Session) -> bool:
    """Load the demo wijk. Returns False when it was already there."""
    if session.exec(select(Campaign).where(Campaign.slug == DEMO_SLUG)).first() is not None:
        return False
    rng = random.Random(8400)
    now = utcnow()
    organisation = get_or_create_organisation(session, "Energiehuis Oostende")
    assert organisation.id is not None

    contractors = [
        Contractor(
            organisation_id=organisation.id,
            name="Gevelwerken Kust NV",
            vat_number=make_vat_number(4412387),
            email="offertes@gevelwerken-kust.be",
            phone="+3259701122",
        ),
        Contractor(
            organisation_id=organisation.id,
            name="Schrijnwerkerij Vandamme BV",
            vat_number=make_vat_number(6623190),
            email="info@vandamme-ramen.be",
            phone="+3250334455",
        ),
    ]
    session.add_all(contractors)
    session.flush()

    for role, email, password in DEMO_LOGINS:
        if session.exec(select(User).where(User.email == email)).first() is not None:
            continue
        user = User(email=email, password_hash=hash_password(password), role=role)
        if role == "contractor":
            user.contractor_id = contractors[0 if email.startswith("gevel") else 1].id
        else:
            user.organisation_id = organisation.id
        session.add(user)

    campaign = Campaign(
        organisation_id=organisation.id,
        slug=DEMO_SLUG,
        name="Klimaatwijk Westerkwartier",
        municipality="Oostende",
        description=(
            "In het Westerkwartier renoveren we samen: gevelisolatie, nieuwe ramen en "
            "dakisolatie tegen een groepsprijs, met begeleiding van het energiehuis van a tot z. "
            "Hoe meer buren meedoen, hoe lager de prijs voor iedereen."
        ),
        postcodes=["8400"],
        streets=STREETS,
        starts_on=date(2026, 1, 1),
        ends_on=date(2030, 12, 31),
        status="open",
    )
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    session.add_all(
        [
            Partner(
                campaign_id=campaign.id,
                kind="municipality",
                name="Stad Oostende",
                role="opdrachtgever en aankoopcentrale",
            ),
            Partner(
                campaign_id=campaign.id,
                kind="energiehuis",
                name="Energiehuis Oostende",
                role="begeleiding van bewoners en groepsvorming",
            ),
            Partner(
                campaign_id=campaign.id,
                kind="ocmw",
                name="OCMW Oostende",
                role="toeleiding kwetsbare eigenaars",
            ),
            Partner(
                campaign_id=campaign.id,
                kind="woonmaatschappij",
                name="Woonmaatschappij Oostende",
                role="renovatie van sociale woningen in dezelfde straten",
            ),
            Partner(
                campaign_id=campaign.id,
                kind="opbouwwerk",
                name="Samenlevingsopbouw West-Vlaanderen",
                role="buurtwerk en infoavonden",
            ),
        ]
    )

    opens = datetime(2026, 2, 1, tzinfo=UTC)
    closes = max(datetime(2027, 6, 30, 21, 59, tzinfo=UTC), now + timedelta(days=180))
    offer_specs = [
        (
            "facade_insulation",
            "Buitengevelisolatie met crepi",
            "1",
            "2026/OOST/017",
            0,
            "m2",
            60,
            [(0, 12500), (15, 11800), (30, 11000), (45, 10400)],
            "Isolatie van de voorgevel (EPS of minerale wol, 14 cm) met sierpleister, "
            "inclusief stelling, vensterbanken en aansluitingen.",
        ),
        (
            "window_frames",
            "Nieuwe ramen (PVC, drievoudig glas)",
            "2",
            "2026/OOST/018",
            1,
            "piece",
            40,
            [(0, 89000), (10, 84500), (25, 79900)],
            "Vervanging van ramen door PVC-schrijnwerk met drievoudige beglazing (Ug 0,6), "
            "inclusief ventilatieroosters in droge ruimtes.",
        ),
        (
            "roof_insulation",
            "Dakisolatie hellend dak",
            "3",
            "2026/OOST/019",
            0,
            "m2",
            50,
            [(0, 6800), (20, 6300), (35, 5900), (50, 5600)],
            "Isolatie van het hellend dak langs binnen (Rd ≥ 4,5 m²K/W) met dampscherm.",
        ),
    ]
    offers: list[Offer] = []
    for (
        measure,
        title,
        lot,
        ref,
        contractor_index,
        unit,
        capacity,
        tiers,
        description,
    ) in offer_specs:
        offer = Offer(
            campaign_id=campaign.id,
            contractor_id=contractors[contractor_index].id,  # type: ignore[arg-type]
            measure=measure,
            title=title,
            description=description,
            lot=lot,
            procurement_reference=ref,
            unit=unit,
            vat_rate=6,
            capacity=capacity,
            signup_opens_at=opens,
            signup_closes_at=closes,
        )
        session.add(offer)
        session.flush()
        session.add_all(
            PriceTier(
                offer_id=offer.id,  # type: ignore[arg-type]
                min_participants=threshold,
                unit_price_cents=price,
            )
            for threshold, price in tiers
        )
        offers.append(offer)

    households: list[Household] = []
    used: set[tuple[str, str]] = set()
    while len(households) < 200:
        street = rng.choice(STREETS)
        number = str(rng.randint(1, 160))
        if (street, number) in used:
            continue
        used.add((street, number))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        has_email = rng.random() > 0.12
        local = f"{first}.{last}".lower().replace(" ", "")
        households.append(
            Household(
                campaign_id=campaign.id,
                name=f"{first} {last}",
                email=f"{local}.{len(households)}@example.be" if has_email else None,
                phone=f"+32470{rng.randint(100000, 999999)}"
                if rng.random() > 0.3 or not has_email
                else None,
                street=street,
                house_number=number,
                box="",
                postcode="8400",
                city="Oostende",
                address_key=f"{street.lower()}|{number}||8400",
                dwelling_type=_weighted(
                    rng, {"row_house": 55, "semi_detached": 15, "detached": 5, "apartment": 25}
                ),
                build_year=rng.choice([1925, 1938, 1954, 1962, 1968, 1974, 1981, 1990, 2004]),
                tenure=_weighted(
                    rng,
                    {
                        "owner_occupier": 58,
                        "landlord": 6,
                        "private_tenant": 18,
                        "social_tenant": 14,
                        "co_owner_vme": 4,
                    },
                ),
                life_phase=_weighted(
                    rng,
                    {
                        "starter": 10,
                        "young_family": 20,
                        "family_teenagers": 15,
                        "single": 18,
                        "couple": 17,
                        "senior": 20,
                    },
                ),
                budget_band=_weighted(
                    rng, {"lt_5k": 22, "5k_15k": 30, "15k_30k": 20, "gt_30k": 8, "unknown": 20}
                ),
                profile=_weighted(
                    rng,
                    {
                        "can_and_will": 40,
                        "can_but_wont": 15,
                        "cannot_but_will": 35,
                        "cannot_and_wont": 10,
                    },
                ),
                income_category=_weighted(rng, {"cat1": 20, "cat2": 30, "cat3": 30, "cat4": 20}),
                privacy_consent_version="2026-01",
                privacy_consented_at=now - timedelta(days=rng.randint(1, 200)),
                share_contact_with_contractor=rng.random() > 0.2,
                source="paper" if rng.random() < 0.15 else "online",
                created_at=now - timedelta(days=rng.randint(1, 200)),
            )
        )
    session.add_all(households)
    session.flush()

    # Sign-ups: facade insulation well under way, window frames full with a waitlist.
    targets = [(offers[0], 44, (40, 120)), (offers[1], 45, (3, 9)), (offers[2], 21, (45, 90))]
    for offer, count, (low, high) in targets:
        chosen = rng.sample(households, count)
        chosen.sort(key=lambda h: h.created_at)
        for index, household in enumerate(chosen):
            status = (
                ParticipationStatus.registered
                if index < offer.capacity
                else ParticipationStatus.waitlisted
            )
            created = household.created_at + timedelta(hours=index)
            participation = Participation(
                household_id=household.id,  # type: ignore[arg-type]
                offer_id=offer.id,
                measure=offer.measure,
                quantity=float(rng.randint(low, high)),
                status=status,
                created_at=created,
                status_changed_at=created,
            )
            session.add(participation)
            session.flush()
            session.add(
                ParticipationEvent(
                    participation_id=participation.id,  # type: ignore[arg-type]
                    to_status=status,
                    note="demo",
                    actor_kind="resident",
                    created_at=created,
                )
            )

    for household in rng.sample(households, 90):
        submission = InterestSubmission(
            campaign_id=campaign.id,
            household_id=household.id,
            postcode="8400",
            street=household.street,
        )
        session.add(submission)
        session.flush()
        for measure in (
            "solar_pv",
            "heat_pump",
            "facade_insulation",
            "roof_insulation",
            "facade_garden",
            "depaving",
            "rainwater_tank",
        ):
            horizon = _weighted(rng, {"1y": 30, "5y": 40, "no": 30})
            session.add(
                Interest(
                    submission_id=submission.id,  # type: ignore[arg-type]
                    campaign_id=campaign.id,
                    measure=measure,
                    horizon=horizon,
                )
            )

    source = "https://www.vlaanderen.be/premies-voor-renovatie/mijn-verbouwpremie"
    for category, percent in (("cat1", 20), ("cat2", 25), ("cat3", 35), ("cat4", 50)):
        session.add(
            PremiumRule(
                measure="heat_pump",
                income_category=category,
                kind="percentage",
                rate=percent,
                cap_cents=None,
                valid_from=date(2025, 7, 1),
                source_url=source,
                is_example=True,
            )
        )
    ensure_example_rules(session)
    estimates.ensure_example_data(session)
    support_paths.ensure_demo_paths(session, campaign)
    session.flush()
    _seed_claim(session, campaign, offers[0], households)
    return True


def _seed_claim(session: Session, campaign: Campaign, offer: Offer,
                households: list[Household]) -> None:
    """A sign-up someone made at the address of a household without email: on the staff's queue
    (/beheer/nakijken), to be checked by phone."""
    household = next(h for h in households if not h.email and h.phone)
    assert offer.id is not None
    held_status = ("registered" if signups.places_held(session, offer.id) < offer.capacity
                   else "waitlisted")
    data = HouseholdData(name="Jonas " + household.name.split()[-1],
                         email="jonas.demo@example.be", phone=None, street=household.street,
                         house_number=household.house_number, box=household.box,
                         postcode=household.postcode, city=household.city)
    claims.open_claim(session, household=household, offer=offer, campaign=campaign, data=data,
                      quantity=None, share_contact_with_contractor=False,
                      held_status=held_status, waitlist_position=None,
                      already_signed_up=False, source="online", locale="nl", now=utcnow())
