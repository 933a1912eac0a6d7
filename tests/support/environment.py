"""Where this test process keeps its data, and the environment the app reads.

Imported by tests/conftest.py before anything from `app`, because the app reads its settings
from the environment once.
"""

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]

# "gw0", "gw1", ... under pytest-xdist; "main" without it.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Shared by every worker of one run, so databases of concurrent runs on one server never clash.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]

# postgresql+psycopg://user@host:port/maintenance_db; unset means SQLite files.
POSTGRES_URL = os.environ.get("WIJKWERF_TEST_DATABASE_URL") or None
# Set by scripts/test.sh under CI=true: a missing browser or database fails instead of skipping.
REQUIRE_ALL = os.environ.get("WIJKWERF_REQUIRE_ALL", "") in {"1", "true", "yes"}

CHROMIUM = os.environ.get("WIJKWERF_CHROMIUM", "/usr/bin/chromium")
TEST_SECRET_KEY = "test-secret-key-for-the-wijkwerf-suite-0123456789"  # noqa: S105

TMP_DIR = Path(tempfile.mkdtemp(prefix=f"wijkwerf-test-{WORKER}-"))
atexit.register(shutil.rmtree, TMP_DIR, ignore_errors=True)


def database_name(suffix: str) -> str:
    """A PostgreSQL database name unique to this run and worker."""
    return f"wijkwerf_t_{RUN_ID}_{WORKER}_{suffix}".lower()


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def test_database_url() -> str:
    if POSTGRES_URL:
        return with_database(POSTGRES_URL, database_name("app"))
    return f"sqlite:///{TMP_DIR / 'test.db'}"


def configure() -> None:
    """Point the app at this process's test database; must run before `app` is imported."""
    os.environ.update(
        WIJKWERF_ENV="test",
        DATABASE_URL=test_database_url(),
        MAIL_URL="null://",
        BASE_URL="http://testserver",
        SECRET_KEY=TEST_SECRET_KEY,
        # Tests change data between requests faster than the one-second public page cache;
        # tests/test_pages_cache.py turns it on where it is the subject.
        PUBLIC_CACHE_SECONDS="0",
        # Crash tests wait for a mail whose sender died mid-delivery to be sent again.
        MAIL_LEASE_SECONDS="3",
    )


def skip_or_fail(reason: str) -> None:
    """Skip the test; under CI (WIJKWERF_REQUIRE_ALL=1) nothing may be skipped, so fail."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (WIJKWERF_REQUIRE_ALL=1: nothing may be skipped)", pytrace=False)
    pytest.skip(reason)
