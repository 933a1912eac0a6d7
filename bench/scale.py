# ruff: noqa: S311
"""Scale benchmark (issue 6, point 7): with 100,000 households and 1,000,000 klimaattafel
interests in one organisation, the staff household list (filtered, sorted, paginated) and the
dashboard answer in under 300 ms each.

    .venv/bin/python -m bench.scale                          # SQLite, then PostgreSQL
    .venv/bin/python -m bench.scale --database sqlite --households 100000 \
        --interests-per-household 10

For each database: a fresh database migrated with `wijkwerf migrate` and filled with bulk
inserts (executemany in one transaction on SQLite, COPY on PostgreSQL; the database's own
triggers keep its tallies, except that on SQLite the klimaattafel tally is counted once after
the load instead of by a million row triggers). One wijk of 100,000 households (0.5 % erased)
in 160 streets, 26 % of them signed up for one or two of six offers with a status history
(about 3 events per sign-up), batches of 15, quote groups, and one klimaattafel submission per
household on average with 8-12 answers (10 on average); a small wijk of another organisation.

Then every scenario is timed in-process (the service functions on a fresh engine of the app,
one session and commit per call as in a request) and over HTTP against a real
`wijkwerf serve` (1 worker, sequential requests with the staff's session cookie or bearer
token): 20 "cold-ish" requests, the scenario's first ones, each for a different page of the
list (pages not read before), then 20 "warm" requests of one page after 3 warm-up requests.
The verdict is on the p95 (target 300 ms). PostgreSQL runs on a private throwaway cluster
(bench/servers.py) with default settings and gets the VACUUM ANALYZE autovacuum would do after
a bulk load; SQLite is measured as the app leaves it (no ANALYZE).

`run_scale(database, budget_seconds)` is what bench/runner.py calls; it returns one dict per
figure: {scenario, database, via, phase, median_ms, p95_ms, max_ms, target_ms, verdict, ...},
the first being the dataset build (target 120 s).
"""

import argparse
import hashlib
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import servers

TARGET_MS = 300.0
BUILD_TARGET_MS = 120_000.0
REQUESTS = 20
WARMUP = 3
HOUSEHOLDS = 100_000
INTERESTS_PER_HOUSEHOLD = 10
SLUG = "schaal-wijk"
OTHER_SLUG = "schaal-andere"
POSTCODE = "8400"
MEASURES = ("facade_insulation", "window_frames", "roof_insulation", "cavity_wall_insulation",
            "floor_insulation", "heat_pump", "solar_pv", "solar_water_heater", "ventilation",
            "facade_garden", "depaving", "rainwater_tank")
# The list filters measured: the unfiltered first page, page 3 with two household filters,
# page 3 with the two sign-up filters, page 2 of one filter sorted by name (descending), and a
# text search (about 2.5 % of the households match).
TWO_FILTERS = {"life_phase": "senior", "tenure": "owner_occupier"}
SIGNUP_FILTERS = {"measure": "facade_insulation", "status": "registered"}
ONE_FILTER = {"tenure": "social_tenant"}
SEARCH = {"q": "peeters"}

_FIRST = ["An", "Bart", "Chris", "Dirk", "Els", "Filip", "Griet", "Hilde", "Ines", "Jan",
          "Karel", "Lies", "Marc", "Nele", "Oscar", "Pieter", "Rita", "Sofie", "Tom", "Ward",
          "Yasmina", "Mohamed", "Fatima", "Emma", "Lucas", "Noor", "Arthur", "Louise"]
_LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
         "Wouters", "De Smet", "Dubois", "Lambert", "Dumont", "Vermeulen", "Hermans", "Pauwels",
         "Van den Broeck", "Aerts", "Martens", "Desmet", "Michiels", "Smets", "Claeys", "De Vos",
         "Verhoeven", "Stevens", "Van Damme", "Declercq", "Lemmens", "Coppens", "Vandenberghe",
         "El Amrani", "Verstraete", "Devos", "Cools", "Segers", "Bogaert", "Vervoort",
         "Van Acker", "Hendrickx"]
_STREET_BASES = ["Kerk", "Molen", "School", "Stations", "Beuken", "Linden", "Eiken", "Berken",
                 "Kastanje", "Wilgen", "Populieren", "Meeuwen", "Zwaluwen", "Kievit", "Duinen",
                 "Zee", "Polder", "Vissers", "Haven", "Dijk", "Koren", "Tarwe", "Rozen",
                 "Tulpen", "Nachtegalen", "Leeuwerik", "Spoorweg", "Vaart", "Brouwerij",
                 "Smidse", "Pastorij", "Klooster", "Ceder", "Esdoorn", "Hazel", "Lijsterbes",
                 "Madeliefjes", "Zonnebloem", "Veld", "Akker"]
_STREET_SUFFIXES = ["straat", "laan", "weg", "dreef"]


def _streets() -> list[str]:
    return [base + suffix for base in _STREET_BASES for suffix in _STREET_SUFFIXES]


def _weighted(rng: random.Random, weights: dict[str | None, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- building the dataset ----------------------------------------------------------------------


@dataclass
class ScaleData:
    url: str
    slug: str
    campaign_id: int
    organisation_id: int
    staff_user_id: int
    staff_email: str
    staff_web_token: str
    staff_api_token: str
    counts: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    migrate_seconds: float = 0.0
    # Seconds per bulk insert (triggers included) and for the commit (PostgreSQL: VACUUM
    # ANALYZE); the rest of the build is generating the rows in Python.
    load_seconds: dict[str, float] = field(default_factory=dict)


class _Loader:
    """Bulk rows into one database: executemany on a plain sqlite3 connection (one transaction,
    no foreign key checks), or COPY on a psycopg connection."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.seconds: dict[str, float] = {}
        if self.sqlite:
            self.connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"),
                                                   isolation_level=None)
            self.connection.execute("PRAGMA synchronous=OFF")
            self.connection.execute("BEGIN")
        else:
            import psycopg

            self.connection = psycopg.connect(url.replace("postgresql+psycopg://",
                                                          "postgresql://"))

    def instant(self, value: datetime | None) -> Any:
        """What the app's UTCDateTime stores: naive UTC text on SQLite, timestamptz else."""
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        started = time.perf_counter()
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                                        rows)
        else:
            with self.connection.cursor() as cursor, cursor.copy(
                    f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.seconds[table] = time.perf_counter() - started

    def insert_then_tally(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """The klimaattafel answers. SQLite's row triggers would upsert the tally a million
        times: there the triggers are set aside during the load (their own SQL, read back from
        the schema) and the tally is counted once, as the migration does for existing rows.
        PostgreSQL's statement triggers count the COPY in one go."""
        if not self.sqlite:
            self.insert("interest", columns, rows)
            return
        triggers = self.connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'interest'").fetchall()
        for name, _sql in triggers:
            self.connection.execute(f'DROP TRIGGER "{name}"')
        self.insert("interest", columns, rows)
        if not triggers:  # a schema without the tally
            return
        started = time.perf_counter()
        self.connection.execute(
            "INSERT INTO interest_tally (campaign_id, measure, horizon, answers) "
            "SELECT campaign_id, measure, horizon, count(*) FROM interest "
            "GROUP BY campaign_id, measure, horizon")
        for _name, sql in triggers:
            self.connection.execute(sql)
        self.seconds["interest_tally"] = time.perf_counter() - started

    def set_aside_street_tallies(self) -> None:
        """SQLite: the street and mix tallies' row triggers would upsert twice per household
        and per progress row; they are set aside during the load and the tallies counted once
        at the end (`recount_street_tallies`), as their migration does for existing rows."""
        if not self.sqlite:
            return
        self._tally_triggers = self.connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'tally\\_%' ESCAPE '\\'").fetchall()
        for name, _sql in self._tally_triggers:
            self.connection.execute(f'DROP TRIGGER "{name}"')

    def recount_street_tallies(self) -> None:
        triggers = getattr(self, "_tally_triggers", [])
        if not triggers:
            return
        started = time.perf_counter()
        for table, keys in (("street_tally", ["street"]),
                            ("mix_tally", ["tenure", "life_phase", "budget_band", "profile"])):
            keyed = ", ".join(f"coalesce(h.{key}, '')" for key in keys)
            self.connection.execute(
                f"INSERT INTO {table} (campaign_id, {', '.join(keys)}, households, signed_up) "  # noqa: S608
                f"SELECT h.campaign_id, {keyed}, count(*), "
                "coalesce(sum(CASE WHEN p.signed_up THEN 1 ELSE 0 END), 0) "
                "FROM household h LEFT JOIN household_progress p ON p.household_id = h.id "
                f"WHERE h.erased_at IS NULL GROUP BY h.campaign_id, {keyed}")
        for _name, sql in triggers:
            self.connection.execute(sql)
        self.seconds["street/mix tallies"] = time.perf_counter() - started

    def finish(self, tables: Sequence[str]) -> None:
        started = time.perf_counter()
        try:
            self._finish(tables)
        finally:
            self.seconds["commit/analyze"] = time.perf_counter() - started

    def _finish(self, tables: Sequence[str]) -> None:
        if self.sqlite:
            self.connection.execute("COMMIT")
            self.connection.close()
            return
        with self.connection.cursor() as cursor:
            for table in tables:  # explicit ids were given: move the sequences past them
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        self.connection.commit()
        self.connection.autocommit = True
        with self.connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.connection.close()


def build(url: str, *, households: int = HOUSEHOLDS,
          interests_per_household: int = INTERESTS_PER_HOUSEHOLD, seed: int = 8400,
          log: Callable[[str], None] = print) -> ScaleData:
    """Migrate a fresh database with `wijkwerf migrate` and fill it."""
    started = time.perf_counter()
    servers.run_cli("migrate", env=servers.server_env(url, 0))
    migrated = time.perf_counter()
    data = _fill(url, households=households, interests_per_household=interests_per_household,
                 seed=seed)
    data.migrate_seconds = migrated - started
    data.build_seconds = time.perf_counter() - started
    log(f"   built in {data.build_seconds:.1f} s (migrate {data.migrate_seconds:.1f} s; "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in data.load_seconds.items())
        + "): " + ", ".join(f"{n:,} {name}" for name, n in data.counts.items()))
    return data


def _small_objects(url: str, now: datetime) -> dict[str, Any]:
    """Organisations, staff, contractors, campaigns, offers and tiers, sessions: through the
    ORM (a handful of rows)."""
    from sqlalchemy.pool import NullPool
    from sqlmodel import Session, create_engine

    from app.models import (
        AuthSession,
        Campaign,
        Contractor,
        Offer,
        Organisation,
        PriceTier,
        User,
    )

    engine = create_engine(url, poolclass=NullPool)
    tokens = {"web": secrets.token_urlsafe(32), "api": secrets.token_urlsafe(32)}
    try:
        with Session(engine) as session:
            organisation = Organisation(name="Energiehuis Schaal")
            other = Organisation(name="Intercommunale Elders")
            session.add_all([organisation, other])
            session.flush()
            staff = User(email="staff@schaal.example", password_hash="!bench-no-login",
                         role="staff", organisation_id=organisation.id)
            session.add(staff)
            contractors = [Contractor(organisation_id=organisation.id, name=name,  # type: ignore[arg-type]
                                      vat_number=vat, email=f"info@{slug}.example")
                           for name, vat, slug in (
                               ("Gevelwerken Kust NV", "BE0441238702", "gevel"),
                               ("Warmtepompen Vandamme BV", "BE0662319066", "vandamme"),
                               ("Installatie De Smet BV", "BE0123456749", "desmet"))]
            session.add_all(contractors)
            campaigns = []
            for org, slug, name in ((organisation, SLUG, "Klimaatwijk Schaal"),
                                    (other, OTHER_SLUG, "Klimaatwijk Elders")):
                campaign = Campaign(organisation_id=org.id, slug=slug, name=name,  # type: ignore[arg-type]
                                    municipality="Oostende", postcodes=[POSTCODE], streets=[],
                                    status="open")
                session.add(campaign)
                campaigns.append(campaign)
            session.flush()
            offers = []
            for index, (measure, unit, capacity, contractor) in enumerate((
                    ("facade_insulation", "m2", 12_000, 0), ("window_frames", "piece", 6_000, 0),
                    ("roof_insulation", "m2", 8_000, 0), ("heat_pump", "piece", 2_500, 1),
                    ("solar_pv", "kwp", 10_000, 2), ("depaving", "m2", 5_000, 0))):
                offer = Offer(campaign_id=campaigns[0].id, contractor_id=contractors[contractor].id,  # type: ignore[arg-type]
                              measure=measure, title=f"Groepsaankoop {measure}", unit=unit,
                              lot=str(index + 1), procurement_reference=f"2026/SCHAAL/{index}",
                              capacity=capacity, signup_opens_at=now - timedelta(days=300),
                              signup_closes_at=now + timedelta(days=300))
                session.add(offer)
                offers.append(offer)
            session.flush()
            session.add_all(PriceTier(offer_id=offer.id, min_participants=m,  # type: ignore[arg-type]
                                      unit_price_cents=p)
                            for offer in offers for m, p in ((0, 12_000), (100, 10_500)))
            for kind, token in tokens.items():
                session.add(AuthSession(token_hash=_token_hash(token), kind=kind,
                                        user_id=staff.id, expires_at=now + timedelta(days=2)))
            session.commit()
            return {
                "organisation_id": organisation.id, "staff_id": staff.id,
                "staff_email": staff.email, "campaign_id": campaigns[0].id,
                "other_campaign_id": campaigns[1].id, "tokens": tokens,
                "offers": [(o.id, o.measure, o.contractor_id, o.capacity) for o in offers],
            }
    finally:
        engine.dispose()


# Where a participation ends up, with its weight; the path through the status flow follows.
_FINAL_STATUS = {"registered": 38, "waitlisted": 4, "assigned": 10, "visit_planned": 8,
                 "measured": 5, "offered": 7, "accepted": 5, "declined": 3, "scheduled": 3,
                 "in_progress": 2, "completed": 9, "cancelled": 6}
_PATH = ["registered", "assigned", "visit_planned", "measured", "offered", "accepted",
         "scheduled", "in_progress", "completed"]


def _path_to(status: str, rng: random.Random) -> list[str]:
    if status == "waitlisted":
        return ["waitlisted"]
    if status == "declined":
        return [*_PATH[:5], "declined"]
    if status == "cancelled":
        return [*_PATH[:rng.randint(1, 4)], "cancelled"]
    return _PATH[:_PATH.index(status) + 1]


def _fill(url: str, *, households: int, interests_per_household: int, seed: int) -> ScaleData:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    small = _small_objects(url, now)
    loader = _Loader(url)
    ts = loader.instant
    counts: dict[str, int] = {}
    streets = _streets()
    street_weights = [rng.randint(1, 6) for _ in streets]
    campaign_id, other_id = small["campaign_id"], small["other_campaign_id"]

    # Households: the big wijk, and a small one of another organisation.
    columns = ("id", "campaign_id", "name", "email", "phone", "street", "house_number", "box",
               "postcode", "city", "address_key", "dwelling_type", "build_year", "tenure",
               "life_phase", "budget_band", "profile", "income_category", "energy_kwh_year",
               "energy_cost_cents_year", "privacy_consent_version", "privacy_consented_at",
               "share_contact_with_contractor", "source", "erased_at", "created_at",
               "updated_at")
    rows: list[tuple[Any, ...]] = []
    live: dict[int, list[int]] = {campaign_id: [], other_id: []}
    street_of: dict[int, str] = {}
    buildings: dict[tuple[int, str], list[int]] = {}  # [house number, boxes left]
    numbers: dict[tuple[int, str], int] = {}
    other_count = max(households // 100, 50)
    for index in range(households + other_count):
        household_id = index + 1
        campaign = campaign_id if index < households else other_id
        street = rng.choices(streets, weights=street_weights)[0]
        dwelling = _weighted(rng, {"row_house": 55, "semi_detached": 12, "detached": 6,
                                   "apartment": 27})
        key = (campaign, street)
        if dwelling == "apartment":
            building = buildings.get(key)
            if not building or building[1] == 0:
                numbers[key] = numbers.get(key, 0) + 1
                building = buildings[key] = [numbers[key], rng.randint(2, 8)]
            building[1] -= 1
            number, box = str(building[0]), str(building[1] + 1)
        else:
            numbers[key] = numbers.get(key, 0) + 1
            number, box = str(numbers[key]), ""
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        erased = rng.random() < 0.005
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 540))
        email = (f"{first}.{last}.{household_id}".lower().replace(" ", "")
                 + "@example.be") if rng.random() < 0.8 else None
        rows.append((
            household_id, campaign, "" if erased else f"{first} {last}",
            None if erased else email,
            None if erased or rng.random() < 0.3 else f"+32470{household_id:06d}",
            street, number, box, POSTCODE, "Oostende",
            None if erased else f"{street.lower()}|{number}|{box}|{POSTCODE}",
            dwelling, rng.choice([1925, 1938, 1954, 1962, 1968, 1974, 1981, 1990, 2004, None]),
            _weighted(rng, {"owner_occupier": 58, "landlord": 6, "private_tenant": 18,
                            "social_tenant": 12, "co_owner_vme": 4, None: 2}),
            _weighted(rng, {"starter": 10, "young_family": 20, "family_teenagers": 15,
                            "single": 17, "couple": 16, "senior": 20, None: 2}),
            _weighted(rng, {"lt_5k": 22, "5k_15k": 30, "15k_30k": 20, "gt_30k": 8,
                            "unknown": 18, None: 2}),
            _weighted(rng, {"can_and_will": 40, "can_but_wont": 15, "cannot_but_will": 33,
                            "cannot_and_wont": 10, None: 2}),
            _weighted(rng, {"cat1": 20, "cat2": 30, "cat3": 30, "cat4": 18, None: 2}),
            rng.choice([None, None, 2800, 3500, 4200, 5100]),
            rng.choice([None, None, 95_000, 140_000, 185_000]),
            "2026-01", ts(created), rng.random() < 0.7,
            "paper" if rng.random() < 0.08 else "online",
            ts(created + timedelta(days=30)) if erased else None, ts(created), ts(created),
        ))
        if not erased:
            live[campaign].append(household_id)
        street_of[household_id] = street
    loader.set_aside_street_tallies()
    loader.insert("household", columns, rows)
    counts["households"] = households
    rows = []

    # Sign-ups: about 26 % of the wijk's households, a fifth of them for two offers; each with
    # its status history. Framework groups of 15 (street order) with a batch for everything
    # that got assigned.
    offers = small["offers"]
    signed = rng.sample(live[campaign_id], int(len(live[campaign_id]) * 0.26))
    participations: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    assigned: dict[int, list[int]] = {}
    participation_id = event_id = 0
    for household_id in signed:
        chosen = rng.sample(offers, 2 if rng.random() < 0.2 else 1)
        for offer_id, measure, _contractor, _capacity in chosen:
            status = _weighted(rng, _FINAL_STATUS)  # type: ignore[arg-type]
            if measure != "heat_pump" and status == "waitlisted":
                status = "registered"
            participation_id += 1
            created = now - timedelta(minutes=rng.randint(60 * 24 * 30, 60 * 24 * 300))
            path = _path_to(status, rng)
            changed = created + timedelta(days=7 * (len(path) - 1))
            participations.append((
                participation_id, household_id, offer_id, None, measure,
                float(rng.randint(8, 140)), status, None, None, None,
                "verhuisd" if status == "cancelled" else None, ts(created), ts(changed)))
            previous = None
            for step, to_status in enumerate(path):
                event_id += 1
                events.append((event_id, participation_id, previous, to_status, None, "",
                               None, "system" if step == 0 else "contractor",
                               ts(created + timedelta(days=7 * step))))
                previous = to_status
            if "assigned" in path and status != "cancelled":
                assigned.setdefault(offer_id, []).append(household_id)
    group_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[Any, ...]] = []
    batch_rows: list[tuple[Any, ...]] = []
    contractor_of = {offer_id: contractor for offer_id, _m, contractor, _c in offers}
    measure_of = {offer_id: measure for offer_id, measure, _c, _cap in offers}
    for offer_id, members in assigned.items():
        members.sort(key=lambda h: (street_of[h], h))
        for start in range(0, len(members), 15):
            group_id = len(group_rows) + 1
            group_rows.append((group_id, campaign_id, f"Groep {group_id}", "framework", offer_id,
                               measure_of[offer_id], "{}", True, ts(now)))
            member_rows += [(len(member_rows) + n + 1, group_id, h, ts(now))
                            for n, h in enumerate(members[start:start + 15])]
            batch_rows.append((len(batch_rows) + 1, group_id, contractor_of[offer_id], offer_id,
                               ts(now)))
    # Quote groups: groups of 12 with a group sign-up each (no offer).
    pool = [h for h in live[campaign_id] if rng.random() < 0.02]
    for start in range(0, len(pool) - 11, 12):
        group_id = len(group_rows) + 1
        measure = rng.choice(["heat_pump", "ventilation", "solar_water_heater"])
        group_rows.append((group_id, campaign_id, f"Offertegroep {group_id}", "quotes", None,
                           measure, "{}", True, ts(now)))
        for household_id in pool[start:start + 12]:
            member_rows.append((len(member_rows) + 1, group_id, household_id, ts(now)))
            participation_id += 1
            event_id += 1
            participations.append((participation_id, household_id, None, group_id, measure, 1.0,
                                   "registered", None, None, None, None, ts(now), ts(now)))
            events.append((event_id, participation_id, None, "registered", None, "", None,
                           "system", ts(now)))
    loader.insert("household_group", ("id", "campaign_id", "name", "kind", "offer_id", "measure",
                                      "criteria", "locked", "created_at"), group_rows)
    loader.insert("group_member", ("id", "group_id", "household_id", "added_at"), member_rows)
    loader.insert("batch", ("id", "group_id", "contractor_id", "offer_id", "created_at"),
                  batch_rows)
    loader.insert("participation", (
        "id", "household_id", "offer_id", "group_id", "measure", "quantity", "status",
        "measured_quantity", "personal_offer_cents", "personal_offer_deadline", "cancel_reason",
        "created_at", "status_changed_at"), participations)
    loader.insert("participation_event", (
        "id", "participation_id", "from_status", "to_status", "occurred_on", "note",
        "actor_user_id", "actor_kind", "created_at"), events)
    counts["signed-up households"] = len(signed)
    counts["participations"] = len(participations)
    counts["status events"] = len(events)
    counts["groups"] = len(group_rows)
    del participations, events, member_rows

    # Klimaattafel: one submission per household on average (90 % from a household of the
    # wijk, the rest from people who are not a household yet), `interests_per_household`
    # answers each on average (one per measure at most).
    submissions: list[tuple[Any, ...]] = []
    interests: list[tuple[Any, ...]] = []
    horizon_weights = {"1y": 25, "5y": 40, "no": 35}
    horizons, weights = list(horizon_weights), list(horizon_weights.values())
    spread = min(2, interests_per_household - 1, len(MEASURES) - interests_per_household)
    low, high = interests_per_household - spread, interests_per_household + spread
    interest_id = 0
    for campaign, total in ((campaign_id, households), (other_id, other_count)):
        linked = rng.sample(live[campaign], min(len(live[campaign]), int(total * 0.9)))
        owners: list[int | None] = [*linked, *([None] * (total - len(linked)))]
        rng.shuffle(owners)
        for owner in owners:
            submission_id = len(submissions) + 1
            street = street_of[owner] if owner else rng.choice(streets)
            submissions.append((submission_id, campaign, owner, POSTCODE, street,
                                ts(now - timedelta(minutes=rng.randint(0, 60 * 24 * 400)))))
            answered = rng.sample(MEASURES, rng.randint(low, high))
            for measure, horizon in zip(answered, rng.choices(horizons, weights,
                                                                k=len(answered)), strict=True):
                interest_id += 1
                interests.append((interest_id, submission_id, campaign, measure, horizon))
    loader.insert("interest_submission", ("id", "campaign_id", "household_id", "postcode",
                                          "street", "created_at"), submissions)
    loader.insert_then_tally(("id", "submission_id", "campaign_id", "measure", "horizon"),
                             interests)
    counts["interest submissions"] = len(submissions)
    counts["interests"] = interest_id
    loader.recount_street_tallies()
    loader.finish(["household", "household_group", "group_member", "batch", "participation",
                   "participation_event", "interest_submission", "interest"])
    tokens = small["tokens"]
    return ScaleData(url=url, slug=SLUG, campaign_id=campaign_id,
                     organisation_id=small["organisation_id"], staff_user_id=small["staff_id"],
                     staff_email=small["staff_email"], staff_web_token=tokens["web"],
                     staff_api_token=tokens["api"], counts=counts,
                     load_seconds=loader.seconds)


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    label: str
    # In-process: (session, page number) -> None; over HTTP: page number -> path.
    call: Callable[[Any, int], Any] | None = None
    path: Callable[[int], str] | None = None
    headers: str = "api"  # "api" (bearer) or "web" (cookie)
    paged: bool = False


def _query(values: dict[str, str], page: int) -> str:
    from urllib.parse import urlencode

    return urlencode({**values, "page": page}) if page > 1 else urlencode(values)


def scenarios(data: ScaleData) -> list[Scenario]:
    from app.models.enums import Role
    from app.services import household_queries as hq
    from app.services import stats as stats_service
    from app.services.auth import Principal

    principal = Principal(role=Role.staff, session_id=0, user_id=data.staff_user_id,
                          organisation_id=data.organisation_id, email=data.staff_email)

    def campaign(session: Any) -> Any:
        from app.services.campaigns import get_staff_campaign

        return get_staff_campaign(session, principal, data.slug)

    def list_call(filters: dict[str, str], base_page: int,
                  sort: str | None = None) -> Callable[[Any, int], Any]:
        def call(session: Any, page: int) -> Any:
            return hq.list_households(session, principal, campaign(session),
                                      hq.HouseholdFilters(**filters),  # type: ignore[arg-type]
                                      sort=sort, page=base_page + page - 1)
        return call

    def dashboard(session: Any, _page: int) -> Any:
        _campaign, stats = stats_service.stats_for_staff(session, principal, data.slug)
        return stats_service.tables(stats)

    api = f"/api/v1/campaigns/{data.slug}"
    web = f"/beheer/wijken/{data.slug}"
    return [
        Scenario("list-first-page", "household list, first page, no filter",
                 list_call({}, 1), lambda p: f"{api}/households?{_query({}, p)}", paged=True),
        Scenario("list-p3-2-filters", "household list, page 3, life phase + tenure",
                 list_call(TWO_FILTERS, 3),
                 lambda p: f"{api}/households?{_query(TWO_FILTERS, p + 2)}", paged=True),
        Scenario("list-p3-signup-filters", "household list, page 3, measure + status",
                 list_call(SIGNUP_FILTERS, 3),
                 lambda p: f"{api}/households?{_query(SIGNUP_FILTERS, p + 2)}", paged=True),
        Scenario("list-p2-by-name", "household list, page 2, tenure, sorted by name descending",
                 list_call(ONE_FILTER, 2, "-name"),
                 lambda p: f"{api}/households?{_query({**ONE_FILTER, 'sort': '-name'}, p + 1)}",
                 paged=True),
        Scenario("list-search", "household list, text search",
                 list_call(SEARCH, 1), lambda p: f"{api}/households?{_query(SEARCH, p)}",
                 paged=True),
        Scenario("list-page-html", "household list page (HTML), page 3, 2 filters", None,
                 lambda p: f"{web}/huishoudens?{_query(TWO_FILTERS, p + 2)}", headers="web",
                 paged=True),
        Scenario("dashboard", "dashboard (stats service + tables)", dashboard, None),
        Scenario("dashboard-html", "dashboard page /beheer/…/dashboard (HTML)", None,
                 lambda _p: f"{web}/dashboard", headers="web"),
        Scenario("stats-api", "stats API /api/v1/campaigns/…/stats", None,
                 lambda _p: f"{api}/stats"),
    ]


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p95 = ordered[-1] if len(ordered) < 2 else statistics.quantiles(
        ordered, n=20, method="inclusive")[-1]
    return median, p95


def _row(scenario: Scenario, database: str, via: str, phase: str,
         samples: list[float], note: str = "") -> dict[str, Any]:
    median, p95 = _summary(samples)
    return {"scenario": f"{scenario.name} ({via}, {phase})", "name": scenario.name,
            "label": scenario.label, "database": database, "via": via, "phase": phase,
            "requests": len(samples), "median_ms": round(median, 1), "p95_ms": round(p95, 1),
            "max_ms": round(max(samples), 1), "target_ms": TARGET_MS,
            "verdict": "PASS" if p95 < TARGET_MS else "FAIL", "note": note}


def _skipped(scenario: Scenario, database: str, via: str, phase: str) -> dict[str, Any]:
    return {"scenario": f"{scenario.name} ({via}, {phase})", "name": scenario.name,
            "label": scenario.label, "database": database, "via": via, "phase": phase,
            "requests": 0, "median_ms": None, "p95_ms": None, "max_ms": None,
            "target_ms": TARGET_MS, "verdict": "skipped (time budget)", "note": ""}


def _pages(scenario: Scenario, phase: str) -> list[int]:
    """The page parameter of each request: cold-ish ones walk through 20 different pages of a
    list (nothing of them cached yet), warm ones repeat the first page after a warm-up."""
    if phase == "cold":
        return [n + 1 if scenario.paged else 1 for n in range(REQUESTS)]
    return [1] * (WARMUP + REQUESTS)


def measure_in_process(data: ScaleData, database: str, deadline: float,
                       log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The service functions on the app's engine, started fresh for this: per scenario 20
    cold-ish calls, then 20 warm ones; one session and commit per call, as a request has (the
    list writes its audit row)."""
    from sqlmodel import Session

    from app.db import make_engine

    rows = []
    engine = make_engine(data.url, pool_size=2)
    try:
        for scenario in scenarios(data):
            call = scenario.call
            if call is None:
                continue
            for phase in ("cold", "warm"):
                if time.monotonic() + 5 > deadline:
                    rows.append(_skipped(scenario, database, "in-process", phase))
                    continue
                samples = []
                for index, page in enumerate(_pages(scenario, phase)):
                    started = time.perf_counter()
                    with Session(engine, expire_on_commit=False) as session:
                        call(session, page)
                        session.commit()
                    if phase == "cold" or index >= WARMUP:
                        samples.append((time.perf_counter() - started) * 1000)
                rows.append(_row(scenario, database, "in-process", phase, samples))
                log(_line(rows[-1]))
    finally:
        engine.dispose()
    return rows


def measure_http(data: ScaleData, database: str, deadline: float, log_dir: Path,
                 log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Against a real `wijkwerf serve` (1 worker) started for this, sequential requests: per
    scenario 20 cold-ish requests, then 20 warm ones."""
    rows: list[dict[str, Any]] = []
    headers = {"api": {"Authorization": f"Bearer {data.staff_api_token}"},
               "web": {"Cookie": f"ww_session={data.staff_web_token}"}}
    todo = [scenario for scenario in scenarios(data) if scenario.path is not None]
    if time.monotonic() + 20 > deadline:
        return [_skipped(s, database, "http", phase) for s in todo for phase in ("cold", "warm")]
    server = servers.start_wijkwerf(data.url, 1, log_dir, name=f"scale-{database}")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for scenario in todo:
                path = scenario.path
                assert path is not None
                for phase in ("cold", "warm"):
                    if time.monotonic() + 5 > deadline:
                        rows.append(_skipped(scenario, database, "http", phase))
                        continue
                    samples = []
                    statuses: set[int] = set()
                    for index, page in enumerate(_pages(scenario, phase)):
                        started = time.perf_counter()
                        response = client.get(path(page), headers=headers[scenario.headers])
                        elapsed = (time.perf_counter() - started) * 1000
                        statuses.add(response.status_code)
                        if phase == "cold" or index >= WARMUP:
                            samples.append(elapsed)
                    note = "" if statuses == {200} else f"statuses {sorted(statuses)}"
                    rows.append(_row(scenario, database, "http", phase, samples, note))
                    if note:
                        rows[-1]["verdict"] = "FAIL"
                    log(_line(rows[-1]))
    finally:
        server.stop()
    return rows


def _line(row: dict[str, Any]) -> str:
    if row["median_ms"] is None:
        return f"   {row['scenario']:<46} {row['verdict']}"
    return (f"   {row['scenario']:<46} median {row['median_ms']:>7.1f} ms  p95 "
            f"{row['p95_ms']:>7.1f} ms  max {row['max_ms']:>7.1f} ms  {row['verdict']}"
            + (f"  [{row['note']}]" if row["note"] else ""))


def run_scale(database: str, budget_seconds: float, *, pg_url: str | None = None,
              households: int = HOUSEHOLDS,
              interests_per_household: int = INTERESTS_PER_HOUSEHOLD,
              log_dir: Path | None = None, in_process: bool = True, http: bool = True,
              keep: Path | None = None,
              log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Build the dataset on `database` ("sqlite" or "postgresql") and measure; returns one row
    per figure. For PostgreSQL, `pg_url` is a server URL without a database name
    (postgresql+psycopg://user@host:port), else a private cluster is started and removed.
    Scenarios that no longer fit in `budget_seconds` are returned as skipped. With `keep`
    (SQLite only), the database file is built there and left in place."""
    deadline = time.monotonic() + budget_seconds
    work = Path(tempfile.mkdtemp(prefix="wijkwerf-scale-"))
    log_dir = log_dir or work
    cluster: servers.PostgresCluster | None = None
    try:
        if database == "sqlite":
            path = keep if keep is not None else work / "scale.db"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        elif database == "postgresql":
            name = f"wijkwerf_scale_{secrets.token_hex(3)}"
            if pg_url is None:
                pg_bin = servers.find_pg_bin()
                if pg_bin is None:
                    log("   PostgreSQL is not installed: scale benchmark skipped")
                    return [{"scenario": "scale", "database": database, "median_ms": None,
                             "p95_ms": None, "target_ms": TARGET_MS,
                             "verdict": "skipped (PostgreSQL not installed)"}]
                cluster = servers.PostgresCluster(pg_bin)
                cluster.start()
                url = cluster.create_database(name)
            else:
                url = _create_pg_database(pg_url, name)
        else:
            raise ValueError(f"unknown database {database!r}")
        log(f"\n== scale ({database}): {households:,} households, "
            f"{households * interests_per_household:,} interests")
        data = build(url, households=households,
                     interests_per_household=interests_per_household, log=log)
        rows = [{"scenario": "dataset build (migrate + bulk load)", "name": "build",
                 "label": "dataset build", "database": database, "via": "—", "phase": "—",
                 "requests": 1, "median_ms": round(data.build_seconds * 1000),
                 "p95_ms": round(data.build_seconds * 1000), "max_ms": None,
                 "target_ms": BUILD_TARGET_MS,
                 "verdict": "PASS" if data.build_seconds * 1000 < BUILD_TARGET_MS else "FAIL",
                 "note": ", ".join(f"{n:,} {what}" for what, n in data.counts.items())}]
        if in_process:
            rows += measure_in_process(data, database, deadline, log)
        if http:
            rows += measure_http(data, database, deadline, log_dir, log)
        return rows
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def _create_pg_database(server_url: str, name: str) -> str:
    import psycopg

    base = server_url.rstrip("/").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rstrip("/") + "/" + name


def print_table(rows: list[dict[str, Any]], log: Callable[[str], None] = print) -> None:
    log(f"\n{'scenario':<52}{'database':<12}{'median':>9}{'p95':>9}  verdict")
    for row in rows:
        if row.get("median_ms") is None:
            log(f"{row['scenario']:<52}{row['database']:<12}{'—':>9}{'—':>9}  {row['verdict']}")
        else:
            log(f"{row['scenario']:<52}{row['database']:<12}{row['median_ms']:>9.1f}"
                f"{row['p95_ms']:>9.1f}  {row['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    parser.add_argument("--interests-per-household", type=int, default=INTERESTS_PER_HOUSEHOLD)
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds per database (default %(default)s)")
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument("--no-in-process", action="store_true", help="HTTP figures only")
    parser.add_argument("--keep", type=Path, default=None,
                        help="SQLite: build the database at this path and keep it")
    args = parser.parse_args(argv)
    if not 1 <= args.interests_per_household <= len(MEASURES):
        parser.error(f"--interests-per-household must be 1..{len(MEASURES)}")
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows: list[dict[str, Any]] = []
    try:
        for database in databases:
            rows += run_scale(database, args.budget, households=args.households,
                              interests_per_household=args.interests_per_household,
                              in_process=not args.no_in_process, http=not args.no_http,
                              keep=args.keep if database == "sqlite" else None)
    except KeyboardInterrupt:
        return 130
    finally:
        servers.stop_everything()
    print_table(rows)
    return 0 if all(row["verdict"] in ("PASS", "skipped (time budget)") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
