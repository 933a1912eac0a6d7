"""Fixtures for the whole suite: the migrated test database, rolled-back sessions, the app with
a TestClient, a real server in a subprocess, and an SMTP sink.

The test database is a SQLite file per test process, or with WIJKWERF_TEST_DATABASE_URL a fresh
PostgreSQL database per pytest-xdist worker. It is migrated with Alembic once per session.
"""

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import environment  # noqa: E402

# The app reads its settings once; this must happen before anything imports `app`.
environment.configure()

import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import db as app_db  # noqa: E402
from app.config import get_settings  # noqa: E402
from tests.support.databases import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    migrate,
    rolled_back_session,
)
from tests.support.reports import node_failed, remember  # noqa: E402
from tests.support.server import LiveServer, ServerDatabases  # noqa: E402
from tests.support.smtp import SmtpSink  # noqa: E402

SERVER_FIXTURES = {"live_server", "seeded_server", "shared_seeded_server", "live_server_factory"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser tests in headless Chromium")
    config.addinivalue_line("markers", "server: tests that start a real wijkwerf server")
    # A hung run is ended with SIGTERM (scripts/test.sh); turn it into KeyboardInterrupt so
    # fixture teardown still stops servers, the SMTP sink and the browser.
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    remember(item, report)
    return report


# --- the test database -----------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _test_database() -> Iterator[str]:
    """Create (PostgreSQL) and migrate this process's test database."""
    url = environment.test_database_url()
    get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    assert url == get_settings().DATABASE_URL, "DATABASE_URL changed after the test setup"
    if environment.POSTGRES_URL:
        create_postgres_database(url)
    engine = app_db.get_engine()
    migrate(engine)
    yield url
    engine.dispose()
    app_db.get_engine.cache_clear()
    if environment.POSTGRES_URL:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def engine(_test_database: str) -> Engine:
    """The app's own engine on the migrated test database."""
    return app_db.get_engine()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test; its commits are SAVEPOINTs."""
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def fresh_engine(server_databases: ServerDatabases) -> Iterator[Engine]:
    """An engine on a database of its own (fresh, migrated, empty) where commits are real:
    for concurrency tests with several connections. Dropped after the test."""
    url, _ = server_databases.new(seed=False)
    fresh = app_db.make_engine(url, pool_size=4)
    yield fresh
    fresh.dispose()
    server_databases.drop(url)


@pytest.fixture
def app(db_session: Session) -> FastAPI:
    """The app without its mail sender, every request on the test's `db_session`."""
    from app.main import create_app

    application = create_app(start_mail_sender=False)

    def session_for_request() -> Iterator[Session]:
        # What the test built before the request counts as committed, as it would in production,
        # so a request that fails rolls back only its own work.
        db_session.commit()
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    application.dependency_overrides[app_db.get_session] = session_for_request
    application.dependency_overrides[app_db.get_read_session] = session_for_request
    return application


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app as it runs in production (Secure cookies, HSTS), for one test."""
    monkeypatch.setenv("WIJKWERF_ENV", "production")
    get_settings.cache_clear()
    assert get_settings().WIJKWERF_ENV == "production"
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    assert get_settings().WIJKWERF_ENV == "test"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client on the app (base URL http://testserver, the test BASE_URL)."""
    with TestClient(app) as test_client:
        yield test_client


# --- mail ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on a loopback port; `.url` is its MAIL_URL, `.wait_for(...)` waits."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def _session_smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


# --- a real server ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_databases(_test_database: str) -> Iterator[ServerDatabases]:
    directory = environment.TMP_DIR / "servers"
    directory.mkdir(exist_ok=True)
    databases = ServerDatabases(directory)
    yield databases
    databases.close()


LiveServerFactory = Callable[..., LiveServer]


def _server_factory(
    server_databases: ServerDatabases, default_mail_url: str, request: pytest.FixtureRequest
) -> tuple[LiveServerFactory, Callable[[], None]]:
    servers: list[LiveServer] = []
    own_databases: list[str] = []

    def start_server(
        *,
        seed: bool = False,
        workers: int = 1,
        env: dict[str, str] | None = None,
        mail_url: str | None = None,
        database_url: str | None = None,
    ) -> LiveServer:
        seed_output = ""
        if database_url is None:
            database_url, seed_output = server_databases.new(seed=seed)
            own_databases.append(database_url)
        index = len(servers) + 1
        server = LiveServer(
            database_url=database_url,
            mail_url=mail_url or default_mail_url,
            log_path=server_databases.directory / f"{_safe_name(request.node.name)}-{index}.log",
            workers=workers,
            extra_env=env or {},
            seed_output=seed_output,
        )
        servers.append(server)
        server.start()
        return server

    def close_all() -> None:
        failed = node_failed(request)
        for server in servers:
            if failed:
                print(f"\n{server.url} ({server.database_url}):\n{server.log_tail()}")
            server.close()
        for url in own_databases:
            server_databases.drop(url)

    return start_server, close_all


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]


@pytest.fixture
def live_server_factory(
    server_databases: ServerDatabases, smtp_sink: SmtpSink, request: pytest.FixtureRequest
) -> Iterator[LiveServerFactory]:
    """Start real servers: `live_server_factory(seed=False, workers=1, env=None, mail_url=None,
    database_url=None)`; give `database_url=other.database_url` for two instances on one database.
    Mail goes to this test's `smtp_sink` unless `mail_url` says otherwise.
    """
    start_server, close_all = _server_factory(server_databases, smtp_sink.url, request)
    yield start_server
    close_all()


@pytest.fixture
def live_server(live_server_factory: LiveServerFactory) -> LiveServer:
    """A real server on a fresh, migrated, empty database; mail goes to `smtp_sink`."""
    return live_server_factory()


@pytest.fixture
def seeded_server(live_server_factory: LiveServerFactory) -> LiveServer:
    """A real server on a fresh database with the demo data (`seed_output` lists the logins)."""
    return live_server_factory(seed=True)


@pytest.fixture(scope="session")
def shared_seeded_server(
    server_databases: ServerDatabases,
    _session_smtp_sink: SmtpSink,
    request: pytest.FixtureRequest,
) -> Iterator[LiveServer]:
    """One seeded server for this whole test process: for tests that only read.

    Mail goes to a session-wide sink (`shared_smtp_sink`).
    """
    start_server, close_all = _server_factory(server_databases, _session_smtp_sink.url, request)
    yield start_server(seed=True)
    close_all()


@pytest.fixture
def shared_smtp_sink(_session_smtp_sink: SmtpSink) -> SmtpSink:
    """The sink `shared_seeded_server` mails to."""
    return _session_smtp_sink
