"""The benchmark's data, written straight into a freshly migrated database.

One organisation with a staff user; the wijk `bench-wijk` (postcode 8400, every street) with three
offers, 10,000 households (a quarter signed up somewhere) and a quote group with three quotes; a
second wijk `bench-hot` with small offers that fill up under load (one per measured run). Log-ins
are server-side sessions whose token hashes are inserted here, as `wijkwerf` stores them.
"""

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert, select
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from app.models import (
    AuthSession,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    Offer,
    Organisation,
    Participation,
    ParticipationEvent,
    Partner,
    PremiumRule,
    PriceTier,
    Quote,
    QuoteInvitation,
    QuoteLine,
    QuoteRequest,
    User,
)

WIJK = "bench-wijk"
HOT_WIJK = "bench-hot"
POSTCODE = "8400"
HOUSEHOLDS = 10_000
HOT_CAPACITY = 20
STREETS = [
    "Torhoutsesteenweg", "Nieuwpoortsesteenweg", "Leffingestraat", "Gistelsesteenweg",
    "Zwaluwenstraat", "Meeuwenstraat", "Kievitstraat", "Duinenstraat", "Aartshertogstraat",
    "Vindictivelaan", "Sint-Sebastiaanstraat", "Ooststraat", "Stuiverstraat", "Elisabethlaan",
    "Pastoor Pypestraat", "Kalvariebergstraat", "Rogierlaan", "Sint-Franciscusstraat",
    "Frère-Orbanstraat", "Torhoutstraat", "Spaarzaamheidstraat", "Velodroomstraat",
    "Vlaanderenstraat", "Kairostraat", "Nijverheidsstraat",
]
# The staff household list's filter in the benchmark: about 500 of the 10,000 match.
HOUSEHOLD_FILTER = "life_phase=senior&budget_band=5k_15k&sort=street&page=2"


@dataclass
class BenchData:
    slug: str
    hot_slug: str
    postcode: str
    room_offer_id: int
    wijk_offer_ids: list[int]
    hot_offer_ids: list[int]
    quote_request_id: int
    resident_household_id: int
    resident_web_token: str
    resident_api_token: str
    staff_web_token: str
    staff_api_token: str
    households: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address_key(street: str, number: str, box: str = "") -> str:
    return f"{street.lower()}|{number.lower()}|{box}|{POSTCODE}"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _row(obj: Any) -> dict[str, Any]:
    """A model instance as a plain insert row (defaults applied, no id)."""
    values = obj.model_dump()
    values.pop("id", None)
    return values


def seed(database_url: str, *, hot_offers: int, households: int = HOUSEHOLDS) -> BenchData:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            data = _seed(session, hot_offers=hot_offers, households=households)
            session.commit()
        return data
    finally:
        engine.dispose()


def _seed(session: Session, *, hot_offers: int, households: int) -> BenchData:
    rng = random.Random(8400)
    now = datetime.now(UTC)
    organisation = Organisation(name="Energiehuis Bench")
    session.add(organisation)
    session.flush()
    org_id = organisation.id
    assert org_id is not None

    from app.security import hash_password

    staff = User(email="staff@bench.example", password_hash=hash_password("bench-password-2026"),
                 role="staff", organisation_id=org_id)
    session.add(staff)
    contractors = [
        Contractor(organisation_id=org_id, name=name, vat_number=vat, email=email,
                   phone="+3259701122")
        for name, vat, email in (
            ("Gevelwerken Kust NV", "BE0441238702", "offertes@gevel.example"),
            ("Warmtepompen Vandamme BV", "BE0662319066", "info@vandamme.example"),
            ("Installatie De Smet BV", "BE0123456749", "info@desmet.example"),
        )
    ]
    session.add_all(contractors)
    session.flush()

    def campaign(slug: str, name: str) -> Campaign:
        c = Campaign(
            organisation_id=org_id, slug=slug, name=name, municipality="Oostende",
            description=("In deze wijk renoveren we samen: gevelisolatie, nieuwe ramen en "
                         "dakisolatie tegen een groepsprijs, met begeleiding van het "
                         "energiehuis. Hoe meer buren meedoen, hoe lager de prijs."),
            postcodes=[POSTCODE], streets=[], starts_on=date(2026, 1, 1),
            ends_on=date(2030, 12, 31), status="open",
        )
        session.add(c)
        session.flush()
        return c

    wijk = campaign(WIJK, "Klimaatwijk Bench")
    hot = campaign(HOT_WIJK, "Klimaatwijk Bench (druk)")
    assert wijk.id is not None and hot.id is not None
    session.add_all([
        Partner(campaign_id=wijk.id, kind=kind, name=name, role=role)
        for kind, name, role in (
            ("municipality", "Stad Oostende", "opdrachtgever en aankoopcentrale"),
            ("energiehuis", "Energiehuis Oostende", "begeleiding van bewoners"),
            ("ocmw", "OCMW Oostende", "toeleiding kwetsbare eigenaars"),
            ("opbouwwerk", "Samenlevingsopbouw", "buurtwerk en infoavonden"),
        )
    ])

    opens = now - timedelta(days=30)
    closes = now + timedelta(days=365)

    def offer(campaign_id: int, measure: str, title: str, unit: str, capacity: int,
              tiers: list[tuple[int, int]], contractor: Contractor, lot: str) -> Offer:
        o = Offer(campaign_id=campaign_id, contractor_id=contractor.id, measure=measure,  # type: ignore[arg-type]
                  title=title, description=f"{title}: plaatsing, afwerking en opvolging.",
                  lot=lot, procurement_reference=f"2026/BENCH/{lot}", unit=unit, vat_rate=6,
                  capacity=capacity, signup_opens_at=opens, signup_closes_at=closes)
        session.add(o)
        session.flush()
        session.add_all(PriceTier(offer_id=o.id, min_participants=m, unit_price_cents=p)  # type: ignore[arg-type]
                        for m, p in tiers)
        return o

    room = offer(wijk.id, "facade_insulation", "Buitengevelisolatie met crepi", "m2", 1_000_000,
                 [(0, 12500), (15, 11800), (30, 11000), (45, 10400)], contractors[0], "1")
    frames = offer(wijk.id, "window_frames", "Nieuwe ramen (PVC, drievoudig glas)", "piece", 40,
                   [(0, 89000), (10, 84500), (25, 79900)], contractors[0], "2")
    roof = offer(wijk.id, "roof_insulation", "Dakisolatie hellend dak", "m2", 300,
                 [(0, 6800), (20, 6300), (35, 5900), (50, 5600)], contractors[0], "3")
    hot_ids = []
    for index in range(hot_offers):
        o = offer(hot.id, "facade_insulation", f"Gevelisolatie, reeks {index + 1}", "m2",
                  HOT_CAPACITY, [(0, 12500), (10, 11500)], contractors[0], f"H{index + 1}")
        hot_ids.append(o.id)

    # 10,000 households: one bulk insert.
    # Model instances are slow to build; make one for the defaults and copy it as dicts.
    household_defaults = _row(Household(campaign_id=wijk.id, postcode=POSTCODE, city="Oostende"))
    rows = []
    used: set[tuple[str, int]] = set()
    while len(rows) < households:
        street = rng.choice(STREETS)
        number = rng.randint(1, 800)
        if (street, number) in used:
            continue
        used.add((street, number))
        n = len(rows)
        rows.append(dict(
            household_defaults, campaign_id=wijk.id, name=f"Bewoner {n}",
            email=f"bewoner{n}@bench.example",
            phone=f"+32470{100000 + n}", street=street, house_number=str(number), box="",
            postcode=POSTCODE, city="Oostende", address_key=_address_key(street, str(number)),
            dwelling_type=_weighted(rng, {"row_house": 55, "semi_detached": 15, "detached": 5,
                                          "apartment": 25}),
            build_year=rng.choice([1925, 1938, 1954, 1962, 1968, 1974, 1981, 1990, 2004]),
            tenure=_weighted(rng, {"owner_occupier": 58, "landlord": 6, "private_tenant": 18,
                                   "social_tenant": 14, "co_owner_vme": 4}),
            life_phase=_weighted(rng, {"starter": 10, "young_family": 20,
                                       "family_teenagers": 15, "single": 18, "couple": 17,
                                       "senior": 20}),
            budget_band=_weighted(rng, {"lt_5k": 22, "5k_15k": 30, "15k_30k": 20, "gt_30k": 8,
                                        "unknown": 20}),
            profile=_weighted(rng, {"can_and_will": 40, "can_but_wont": 15,
                                    "cannot_but_will": 35, "cannot_and_wont": 10}),
            income_category=_weighted(rng, {"cat1": 20, "cat2": 30, "cat3": 30, "cat4": 20}),
            privacy_consent_version="2026-01", privacy_consented_at=now,
            share_contact_with_contractor=True, source="online",
            created_at=now - timedelta(minutes=households - n), updated_at=now,
        ))
    session.execute(insert(Household), rows)
    household_ids = list(session.execute(
        select(Household.id).where(Household.campaign_id == wijk.id).order_by(Household.id)
    ).scalars())

    # Sign-ups: 2,500 on the offer with room, the window frames full with a waitlist, the roof
    # insulation half full. Each with its first status event.
    resident_id = household_ids[0]
    participations: list[dict[str, Any]] = []
    participation_defaults = _row(Participation(household_id=0, status="registered"))
    plan = [(room, 2_500, 40, 120), (frames, 55, 3, 9), (roof, 150, 45, 90)]
    for target, count, low, high in plan:
        others = rng.sample(household_ids[1:], count - 1)
        # The resident: registered for the facade and the roof, last on the frames' waitlist.
        chosen = others + [resident_id] if target is frames else [resident_id] + others
        for index, household_id in enumerate(chosen):
            created = now - timedelta(days=20) + timedelta(seconds=index)
            participations.append(dict(
                participation_defaults, household_id=household_id, offer_id=target.id,
                measure=target.measure,
                quantity=float(rng.randint(low, high)),
                status="registered" if index < target.capacity else "waitlisted",
                created_at=created, status_changed_at=created,
            ))
    session.execute(insert(Participation), participations)
    _events(session)

    # A quote group of 12 (the resident among them) with three quotes for a heat pump.
    group = Group(campaign_id=wijk.id, name="Warmtepomp Ooststraat e.o.", kind="quotes",
                  measure="heat_pump", criteria={"measure": "heat_pump"}, locked=True)
    session.add(group)
    session.flush()
    members = [resident_id] + household_ids[1:12]
    session.add_all(GroupMember(group_id=group.id, household_id=h) for h in members)  # type: ignore[arg-type]
    session.add_all(Participation(household_id=h, group_id=group.id, measure="heat_pump",
                                  quantity=1.0, status="registered") for h in members)
    request = QuoteRequest(group_id=group.id, measure="heat_pump", unit="piece",  # type: ignore[arg-type]
                           description="Lucht-waterwarmtepomp 8 kW met buffervat",
                           deadline=now + timedelta(days=20), market_unit_price_cents=1_450_000)
    session.add(request)
    session.flush()
    for position, contractor in enumerate(contractors):
        session.add(QuoteInvitation(quote_request_id=request.id, contractor_id=contractor.id))  # type: ignore[arg-type]
        quote = Quote(quote_request_id=request.id, contractor_id=contractor.id, vat_rate=6,  # type: ignore[arg-type]
                      valid_until=(now + timedelta(days=60)).date(),
                      lead_time_weeks=6 + position, warranty_years=5 + position)
        session.add(quote)
        session.flush()
        for line in range(6):
            session.add(QuoteLine(quote_id=quote.id, position=line,  # type: ignore[arg-type]
                                  description=f"Post {line + 1}: levering en plaatsing",
                                  quantity=1.0 + line, unit="piece",
                                  unit_price_cents=95_000 + 7_500 * position + 1_000 * line))
    source = "https://www.vlaanderen.be/premies-voor-renovatie/mijn-verbouwpremie"
    for category, percent in (("cat1", 20), ("cat2", 25), ("cat3", 35), ("cat4", 50)):
        session.add(PremiumRule(measure="heat_pump", income_category=category, kind="percentage",
                                rate=percent, valid_from=date(2025, 7, 1), source_url=source))

    # Sessions: the resident (cookie for /mijn, bearer for /api/v1/me) and the staff user.
    tokens = {name: secrets.token_urlsafe(32) for name in
              ("resident_web", "resident_api", "staff_web", "staff_api")}
    session.flush()
    for name, token in tokens.items():
        session.add(AuthSession(
            token_hash=_hash(token), kind="web" if name.endswith("web") else "api",
            user_id=staff.id if name.startswith("staff") else None,
            household_id=resident_id if name.startswith("resident") else None,
            expires_at=now + timedelta(days=2), created_at=now, last_seen_at=now,
        ))
    session.flush()
    assert room.id and frames.id and roof.id and request.id
    return BenchData(
        slug=WIJK, hot_slug=HOT_WIJK, postcode=POSTCODE, room_offer_id=room.id,
        wijk_offer_ids=[room.id, frames.id, roof.id], hot_offer_ids=hot_ids,  # type: ignore[arg-type]
        quote_request_id=request.id, resident_household_id=resident_id,
        resident_web_token=tokens["resident_web"], resident_api_token=tokens["resident_api"],
        staff_web_token=tokens["staff_web"], staff_api_token=tokens["staff_api"],
        households=households,
    )


def _events(session: Session) -> None:
    """The first status event of every sign-up, in one INSERT ... SELECT."""
    columns = ["participation_id", "to_status", "note", "actor_kind", "created_at"]
    session.execute(insert(ParticipationEvent).from_select(
        columns,
        select(Participation.id, Participation.status, _literal("bench"), _literal("resident"),
               Participation.created_at),
    ))


def _literal(value: str) -> Any:
    from sqlalchemy import literal

    return literal(value)
