"""Test databases: create and drop them, migrate them, and sessions that are rolled back."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from tests.support.environment import POSTGRES_URL, ROOT


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def migrate(engine: Engine) -> None:
    """Build the schema with the Alembic migrations, as production does."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _maintenance() -> Iterator[Engine]:
    assert POSTGRES_URL, "PostgreSQL maintenance needs WIJKWERF_TEST_DATABASE_URL"
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _quoted_name(url: str) -> str:
    name = make_url(url).database
    assert name and name.replace("_", "").isalnum(), f"unexpected database name {name!r}"
    return f'"{name}"'


def create_postgres_database(url: str, *, template_url: str | None = None) -> None:
    """Create the database named in `url` (dropping a leftover first), optionally as a copy."""
    template = f" TEMPLATE {_quoted_name(template_url)}" if template_url else ""
    with _maintenance() as engine, engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted_name(url)} WITH (FORCE)"))
        # A template must have no other sessions; a process that just exited may linger briefly.
        for attempt in range(50):
            try:
                connection.execute(text(f"CREATE DATABASE {_quoted_name(url)}{template}"))
                return
            except OperationalError:
                if not template or attempt == 49:
                    raise
                time.sleep(0.1)


def drop_postgres_database(url: str) -> None:
    with _maintenance() as engine, engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted_name(url)} WITH (FORCE)"))


def copy_sqlite_database(source_url: str, target_url: str) -> None:
    """A consistent copy of a SQLite database (WAL included) through the backup API."""
    source_path, target_path = make_url(source_url).database, make_url(target_url).database
    assert source_path and target_path
    with sqlite3.connect(source_path) as source, sqlite3.connect(target_path) as target:
        source.backup(target)
    source.close()
    target.close()


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back at the end.

    The session's own commits only release a SAVEPOINT, so code under test may call
    `session.commit()` and `session.rollback()` freely; nothing reaches the database for good.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        if transaction.is_active:
            transaction.rollback()
        connection.close()
