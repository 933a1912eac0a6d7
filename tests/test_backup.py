"""Backups, restores and upgrades, on the phase's database (SQLite, or PostgreSQL with
WIJKWERF_TEST_DATABASE_URL), through the real `wijkwerf` command.

- `wijkwerf backup` while a server takes sign-ups, then `wijkwerf restore` into a fresh database:
  every sign-up acknowledged before the backup started is there, and the copy is one consistent
  moment (every sign-up has its history and mail, capacity holds, the trigger-kept tallies equal
  what counting the rows gives), and a server on the restored database serves it.
- `wijkwerf restore` refuses to replace a database that has data unless given --force.
- `wijkwerf migrate` on a database made by the first release (only the first migration, rows
  written with that revision's SQL) keeps every row and fills the later tallies from them.
"""

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from app.db import make_engine
from app.models import Campaign, Household, Offer, OutboxMail, Participation
from app.schema import alembic_config, head_revision
from tests.support import databases
from tests.support.environment import POSTGRES_URL, database_name, with_database
from tests.support.server import (
    SERVER_CWD,
    LiveServer,
    run_cli,
    server_environment,
    wijkwerf_command,
)
from tests.test_scale_queries import (
    expected_progress,
    expected_tallies,
    expected_tally,
    kept_progress,
    kept_tallies,
    kept_tally,
)
from tests.test_signup_load_integrity import (
    SignupLoad,
    make_offer_for_load,
    signup_body,
    stored_signups,
)

FIRST_REVISION = "9151ead02b92"
CAPACITY = 25

NewDatabase = Callable[[str], str]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """`new_database(name)`: the URL of an empty database (created on PostgreSQL; a file that
    does not exist yet on SQLite), dropped after the test."""
    created: list[str] = []

    def make(name: str) -> str:
        if POSTGRES_URL:
            url = with_database(POSTGRES_URL, database_name(name))
            databases.create_postgres_database(url)
            created.append(url)
            return url
        return f"sqlite:///{tmp_path / (name + '.db')}"

    yield make
    for url in created:
        databases.drop_postgres_database(url)


def cli(database_url: str, *args: str, check: bool = True,
        ) -> subprocess.CompletedProcess[str]:
    """`wijkwerf ARGS` on that database; with check=False its failure is returned, not raised."""
    env = server_environment(database_url=database_url, base_url="http://127.0.0.1",
                             mail_url="null://")
    if check:
        return run_cli(*args, env=env)
    return subprocess.run([*wijkwerf_command(), *args], env=env, cwd=SERVER_CWD,
                          capture_output=True,
                          text=True, timeout=120, check=False)


def consistent(engine: Engine) -> None:
    """The tallies the triggers keep are what counting the rows gives."""
    with Session(engine) as session:
        assert kept_progress(session) == expected_progress(session)
        assert kept_tallies(session) == expected_tallies(session)
        assert kept_tally(session) == expected_tally(session)


def revision_of(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())


# --- backup under load, restore --------------------------------------------------------------


def test_a_backup_taken_under_signup_load_restores_every_acknowledged_signup(
    new_database: NewDatabase, live_server_factory: Any, tmp_path: Path,
) -> None:
    server: LiveServer = live_server_factory(mail_url="null://")
    offer_id = make_offer_for_load(server.engine, CAPACITY)
    load = SignupLoad(urls=[server.url], offer_id=offer_id, threads=8)
    stop = threading.Event()
    runner = threading.Thread(target=load.run, args=(100_000,),
                              kwargs={"seconds": 90, "stop": stop.is_set})
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while len(load.acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        backup_path = tmp_path / "wijkwerf.backup"
        backup_started = time.monotonic()
        made = server.cli("backup", str(backup_path))
        backup_ended = time.monotonic()
        after = len(load.acknowledged)
        deadline = time.monotonic() + 20
        while len(load.acknowledged) < after + 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # the load goes on after the backup, too
    finally:
        stop.set()
        runner.join(60)
    assert "Backup written" in made.stdout
    attempts = list(load.attempts)
    before = [a for a in attempts if a.acknowledged and a.answered_at is not None
              and a.answered_at < backup_started]
    during = [a for a in attempts if a.acknowledged and a.sent_at < backup_ended
              and a not in before]
    assert len(before) >= 40, len(before)
    assert during, "no sign-up was in flight while the backup ran"
    assert not load.unexpected(), [(a.status_code, a.body) for a in load.unexpected()[:5]]

    restored_url = new_database("restored")
    restored = cli(restored_url, "restore", str(backup_path))
    assert "Restored" in restored.stdout
    engine = make_engine(restored_url, pool_size=2)
    try:
        assert revision_of(engine) == head_revision()
        rows = stored_signups(engine, offer_id)
        by_id = {row.participation_id: row for row in rows}
        for attempt in before:  # nothing acknowledged before the backup is missing
            assert attempt.body is not None
            row = by_id.get(attempt.body["id"])
            assert row is not None, f"acknowledged sign-up {attempt.body} is not in the backup"
            assert row.house_number == str(attempt.number)
        # One moment: whole sign-ups only, each from this load, capacity kept, tallies agree.
        sent = {str(a.number) for a in attempts}
        assert all(row.house_number in sent for row in rows)
        assert all(row.events == 1 and row.confirmation_mails == 1 for row in rows), rows[:3]
        registered = [row for row in rows if row.status == "registered"]
        assert len(registered) == min(CAPACITY, len(rows))
        assert len(rows) < len([a for a in attempts if a.acknowledged]), "backup after load?"
        consistent(engine)
    finally:
        engine.dispose()

    copy = live_server_factory(database_url=restored_url, mail_url="null://")
    offers = httpx.get(f"{copy.url}/api/v1/campaigns/{_slug_of(server, offer_id)}/offers",
                       timeout=10).json()
    (offer,) = [o for o in offers if o["id"] == offer_id]
    assert offer["participants"] == len(registered)
    assert offer["waitlisted"] == len(rows) - len(registered)


def _slug_of(server: LiveServer, offer_id: int) -> str:
    with Session(server.engine) as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None
        campaign = session.get(Campaign, offer.campaign_id)
        assert campaign is not None
        return campaign.slug


def test_restore_refuses_a_database_with_data_unless_forced(
    live_server_factory: Any, tmp_path: Path,
) -> None:
    server: LiveServer = live_server_factory(mail_url="null://")
    offer_id = make_offer_for_load(server.engine, CAPACITY)
    load = SignupLoad(urls=[server.url], offer_id=offer_id, threads=2, tag="voor")
    load.run(5)
    backup_path = tmp_path / "five.backup"
    server.cli("backup", str(backup_path))
    later = SignupLoad(urls=[server.url], offer_id=offer_id, threads=2, tag="na")
    later.run(3)
    assert len(stored_signups(server.engine, offer_id)) == 8

    refused = cli(server.database_url, "restore", str(backup_path), check=False)
    assert refused.returncode == 1
    assert "has data" in refused.stderr and "--force" in refused.stderr
    assert len(stored_signups(server.engine, offer_id)) == 8  # untouched

    forced = cli(server.database_url, "restore", "--force", str(backup_path))
    assert "Restored" in forced.stdout
    server.engine.dispose()
    rows = stored_signups(server.engine, offer_id)
    assert sorted(int(row.house_number) for row in rows) == [1, 2, 3, 4, 5]
    assert {row.email for row in rows} == {f"voor-{n}@example.be" for n in range(1, 6)}
    # The server that kept running serves the restored database.
    answer = server_signup(server, offer_id)
    assert answer.status_code == 201, answer.text


def server_signup(server: LiveServer, offer_id: int) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/offers/{offer_id}/participations",
                      json=signup_body(99, "daarna"), timeout=30)


def test_backup_and_restore_refuse_what_they_cannot_do_and_say_why(
    new_database: NewDatabase, tmp_path: Path,
) -> None:
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("geen back-up")
    result = cli(new_database("target"), "restore", str(not_a_backup), check=False)
    assert result.returncode == 1 and "restore refused" in result.stderr
    assert "Traceback" not in result.stderr
    if not POSTGRES_URL:
        missing = cli(f"sqlite:///{tmp_path / 'nowhere.db'}", "backup", str(tmp_path / "b"),
                      check=False)
        assert missing.returncode == 1 and "no database at" in missing.stderr
        # A backup from a newer Wijkwerf (a schema revision this one does not know).
        source = f"sqlite:///{tmp_path / 'source.db'}"
        cli(source, "migrate")
        newer = tmp_path / "newer.backup"
        cli(source, "backup", str(newer))
        with sqlite3.connect(newer) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'f0f0f0f0f0f0'")
        connection.close()
        refused = cli(new_database("target2"), "restore", str(newer), check=False)
        assert refused.returncode == 1 and "newer Wijkwerf" in refused.stderr


# --- upgrades ------------------------------------------------------------------------------------


def _instant(engine: Engine, value: str) -> str:
    return value if engine.dialect.name == "sqlite" else value + "+00"


FIRST_RELEASE_ROWS = [
    ("organisation", "INSERT INTO organisation (id, name, created_at) VALUES "
     "(1, 'Energiehuis Oostende', :t)"),
    ("contractor", "INSERT INTO contractor (id, organisation_id, name, vat_number, email, phone, "
     "created_at) VALUES (1, 1, 'Gevelwerken NV', 'BE0123456749', 'info@gevel.be', NULL, :t)"),
    ("app_user", "INSERT INTO app_user (id, email, password_hash, role, organisation_id, "
     "contractor_id, totp_secret, is_active, created_at) VALUES "
     "(1, 'els@energiehuis.be', 'argon2-hash', 'staff', 1, NULL, NULL, TRUE, :t), "
     "(2, 'jan@gevel.be', 'argon2-hash', 'contractor', NULL, 1, NULL, TRUE, :t)"),
    ("campaign", "INSERT INTO campaign (id, organisation_id, slug, name, municipality, "
     "description, postcodes, streets, starts_on, ends_on, status, content_version, created_at, "
     "updated_at) VALUES (1, 1, 'westerkwartier', 'Klimaatwijk Westerkwartier', 'Oostende', "
     "'Samen renoveren.', '[\"8400\"]', '[]', '2026-01-01', '2030-12-31', 'open', 1, :t, :t)"),
    ("offer", "INSERT INTO offer (id, campaign_id, contractor_id, measure, title, description, "
     "lot, procurement_reference, unit, vat_rate, capacity, signup_opens_at, signup_closes_at, "
     "market_unit_price_cents, created_at) VALUES (1, 1, 1, 'facade_insulation', "
     "'Buitengevelisolatie', 'Perceel 1', '1', '2026/OOST/017', 'm2', 6, 2, :t, :later, NULL, "
     ":t)"),
    ("price_tier", "INSERT INTO price_tier (id, offer_id, min_participants, unit_price_cents) "
     "VALUES (1, 1, 0, 12000), (2, 1, 25, 10800)"),
    ("household", "INSERT INTO household (id, campaign_id, name, email, phone, street, "
     "house_number, box, postcode, city, address_key, dwelling_type, build_year, tenure, "
     "life_phase, budget_band, profile, income_category, energy_kwh_year, "
     "energy_cost_cents_year, privacy_consent_version, privacy_consented_at, "
     "share_contact_with_contractor, source, erased_at, created_at, updated_at) VALUES "
     "(1, 1, 'An Peeters', 'an@example.be', '+32470123456', 'Torhoutsesteenweg', '12', '', "
     "'8400', 'Oostende', 'torhoutsesteenweg|12||8400', 'row_house', 1962, 'owner_occupier', "
     "'young_family', '5k_15k', 'can_and_will', 'cat2', 3500, 98000, '2026-01', :t, TRUE, "
     "'online', NULL, :t, :t), "
     "(2, 1, 'Bart Claes', NULL, '+32470999888', 'Torhoutsesteenweg', '14', '', '8400', "
     "'Oostende', 'torhoutsesteenweg|14||8400', NULL, NULL, 'private_tenant', 'senior', NULL, "
     "'cannot_but_will', NULL, NULL, NULL, '2026-01', :t, FALSE, 'paper', NULL, :t, :t), "
     "(3, 1, 'Caro Dewulf', 'caro@example.be', NULL, 'Zeedijk', '3', 'B', '8400', 'Oostende', "
     "'zeedijk|3|b|8400', 'apartment', 2001, 'co_owner_vme', 'couple', 'gt_30k', "
     "'can_but_wont', NULL, NULL, NULL, '2026-01', :t, TRUE, 'online', NULL, :t, :t)"),
    ("participation", "INSERT INTO participation (id, household_id, offer_id, group_id, "
     "measure, quantity, status, measured_quantity, personal_offer_cents, "
     "personal_offer_deadline, cancel_reason, created_at, status_changed_at) VALUES "
     "(1, 1, 1, NULL, NULL, 48.5, 'assigned', NULL, NULL, NULL, NULL, :t, :t), "
     "(2, 2, 1, NULL, NULL, 60, 'registered', NULL, NULL, NULL, NULL, :t, :t), "
     "(3, 3, 1, NULL, NULL, 35, 'waitlisted', NULL, NULL, NULL, NULL, :t, :t)"),
    ("participation_event", "INSERT INTO participation_event (id, participation_id, "
     "from_status, to_status, occurred_on, note, actor_user_id, actor_kind, created_at) VALUES "
     "(1, 1, NULL, 'registered', NULL, '', NULL, 'resident', :t), "
     "(2, 1, 'registered', 'assigned', '2026-02-01', 'batch 1', 1, 'staff', :t), "
     "(3, 2, NULL, 'registered', NULL, 'infoavond', 1, 'staff', :t), "
     "(4, 3, NULL, 'waitlisted', NULL, '', NULL, 'resident', :t)"),
    ("interest_submission", "INSERT INTO interest_submission (id, campaign_id, household_id, "
     "postcode, street, created_at) VALUES (1, 1, 1, '8400', 'Torhoutsesteenweg', :t), "
     "(2, 1, NULL, '8400', 'Zeedijk', :t)"),
    ("interest", "INSERT INTO interest (id, submission_id, campaign_id, measure, horizon) "
     "VALUES (1, 1, 1, 'solar_pv', '1y'), (2, 1, 1, 'heat_pump', '5y'), "
     "(3, 2, 1, 'solar_pv', '1y')"),
    ("outbox_mail", "INSERT INTO outbox_mail (id, purpose, household_id, user_id, recipient, "
     "locale, context, status, attempts, next_attempt_at, sent_at, last_error, created_at) "
     "VALUES (1, 'signup_confirmation', 1, NULL, NULL, 'nl', '{\"participation_id\": 1}', "
     "'sent', 1, :t, :t, '', :t)"),
    ("audit_event", "INSERT INTO audit_event (id, organisation_id, actor_user_id, actor_kind, "
     "actor_label, action, object_type, object_id, household_id, ip, outcome, created_at) "
     "VALUES (1, 1, 1, 'staff', 'els@energiehuis.be', 'view', 'household', 1, 1, '127.0.0.1', "
     "'ok', :t)"),
]


def _rows(engine: Engine, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1"))]


def test_migrate_keeps_every_row_of_a_database_made_by_the_first_release(
    new_database: NewDatabase,
) -> None:
    url = new_database("first_release")
    engine = make_engine(url, pool_size=2)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), FIRST_REVISION)
        moments = {"t": _instant(engine, "2026-02-01 09:30:00.000000"),
                   "later": _instant(engine, "2026-06-30 21:59:59.000000")}
        with engine.begin() as connection:
            for _table, statement in FIRST_RELEASE_ROWS:
                connection.execute(text(statement), moments)
            if engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
                for table, _statement in FIRST_RELEASE_ROWS:
                    connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
        with engine.connect() as connection:
            columns = {table: list(connection.execute(text(
                f"SELECT * FROM {table} LIMIT 0")).keys())
                for table, _statement in FIRST_RELEASE_ROWS}
        before = {table: _rows(engine, table, columns[table]) for table in columns}
        assert revision_of(engine) == FIRST_REVISION
        engine.dispose()

        migrated = cli(url, "migrate")
        assert "up to date" in migrated.stdout

        assert revision_of(engine) == head_revision()
        for table, rows in before.items():
            assert _rows(engine, table, columns[table]) == rows, table
        consistent(engine)  # the later tallies are filled from the old rows
        with Session(engine) as session:  # and today's models read them
            households = session.exec(select(Household).order_by(col(Household.id))).all()
            assert [h.name for h in households] == ["An Peeters", "Bart Claes", "Caro Dewulf"]
            statuses = session.exec(select(Participation.status).order_by(
                col(Participation.id))).all()
            assert statuses == ["assigned", "registered", "waitlisted"]
            assert session.exec(select(OutboxMail)).one().status == "sent"
    finally:
        engine.dispose()
