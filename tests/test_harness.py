"""The test harness itself: rolled-back sessions, migrations that match the models, a real
server that answers and survives kill -9, an SMTP sink that receives mail, and the factories."""

import smtplib
from email.message import EmailMessage
from pprint import pformat

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from app import db as app_db
from app.models import Organisation, Participation
from app.services.validation import is_valid_belgian_vat
from tests import factories
from tests.support.databases import rolled_back_session
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, links_in

PROBE = "Harness isolation probe"


def _probe_count(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(Organisation).where(Organisation.name == PROBE)
    ).one()


def _committed_probe_count(engine: Engine) -> int:
    """Counted on a separate raw connection: only what was really committed is visible."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT count(*) FROM organisation WHERE name = '{PROBE}'")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])
    finally:
        raw.rollback()
        raw.close()


@pytest.mark.xdist_group("isolation")
@pytest.mark.parametrize("attempt", [1, 2])
def test_rows_written_by_one_test_are_gone_in_the_next(db_session: Session, attempt: int) -> None:
    assert _probe_count(db_session) == 0
    db_session.add(Organisation(name=PROBE))
    db_session.commit()
    assert _probe_count(db_session) == 1


def test_commit_in_a_test_reaches_no_other_connection(engine: Engine) -> None:
    with rolled_back_session(engine) as session:
        factories.make_organisation(session, name=PROBE)
        session.commit()
        assert _probe_count(session) == 1
        assert _committed_probe_count(engine) == 0
    with rolled_back_session(engine) as session:
        assert _probe_count(session) == 0


def test_a_failed_flush_rolls_back_only_to_the_last_commit(db_session: Session) -> None:
    factories.make_organisation(db_session, name=PROBE)
    db_session.commit()
    db_session.add(Organisation(name=PROBE))
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()
    assert _probe_count(db_session) == 1


def test_fresh_engine_commits_for_real_on_a_database_of_its_own(
    fresh_engine: Engine, engine: Engine
) -> None:
    with Session(fresh_engine) as session:
        factories.make_organisation(session, name=PROBE)
        session.commit()
    assert _committed_probe_count(fresh_engine) == 1
    assert _committed_probe_count(engine) == 0


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert "alembic_version" in inspect(connection).get_table_names()
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": app_db.include_object})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], (
        f"the migrations and app/models differ on {engine.dialect.name}; "
        f"generate a migration with `alembic revision --autogenerate`:\n{pformat(differences)}"
    )


def test_client_serves_the_app_on_the_test_session(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "database": "ok",
        "outbox": {"due": 0, "oldest_due_seconds": 0.0, "failed": 0}}


def test_live_server_answers_healthz_and_survives_kill_9(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/healthz", timeout=5)
    assert response.json() == {"status": "ok", "database": "ok",
        "outbox": {"due": 0, "oldest_due_seconds": 0.0, "failed": 0}}
    with live_server.engine.connect() as connection:
        assert "campaign" in inspect(connection).get_table_names()

    live_server.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{live_server.url}/healthz", timeout=2)
    live_server.restart()
    assert httpx.get(f"{live_server.url}/healthz", timeout=5).status_code == 200


def test_smtp_sink_receives_mail(smtp_sink: SmtpSink) -> None:
    message = EmailMessage()
    message["From"] = "Wijkwerf <noreply@wijkwerf.be>"
    message["To"] = "An Peeters <an@example.be>"
    message["Subject"] = "Je link naar Mijn Wijkwerf"
    message.set_content("Open je gegevens: http://testserver/r/abc123\n")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.send_message(message)

    received = smtp_sink.wait_for_recipient("an@example.be", timeout=5)
    assert received["Subject"] == "Je link naar Mijn Wijkwerf"
    assert links_in(received) == ["http://testserver/r/abc123"]


def test_factories_build_valid_linked_rows(db_session: Session) -> None:
    participation = factories.make_participation(db_session)
    staff = factories.make_user(db_session, role="staff")
    contractor_user = factories.make_user(db_session, role="contractor")
    db_session.commit()

    stored = db_session.get(Participation, participation.id)
    assert stored is not None and stored.status == "registered"
    assert staff.organisation_id is not None and contractor_user.contractor_id is not None
    assert is_valid_belgian_vat(factories.make_contractor(db_session).vat_number)
    assert all(is_valid_belgian_vat(factories.belgian_vat_number(n)) for n in range(0, 10**7, 9973))
