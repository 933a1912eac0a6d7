"""Engine, session dependency and the SQLite pragmas (WAL, foreign keys, busy timeout)."""

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from app import observability
from app.config import get_settings


def _configure_sqlite(engine: Engine) -> None:
    """Take the write lock at BEGIN (SQLAlchemy's documented pysqlite recipe).

    pysqlite would otherwise start transactions lazily and upgrade a read lock to a write lock
    late, which both ignores `with_for_update` and lets two sign-ups read the same count.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-only sessions (see get_read_session) begin DEFERRED so readers never queue
        # behind writers; everything else takes the write lock up front.
        mode = "DEFERRED" if conn.get_execution_options().get("read_only") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """An engine on `url`. Its errors never show the statement's values (`hide_parameters`):
    a failed statement's text reaches the error log, and its values are personal data."""
    settings = get_settings()
    size = pool_size or settings.DB_POOL_SIZE
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=size,
            max_overflow=4,
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=size, max_overflow=4, pool_pre_ping=True,
                         hide_parameters=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().DATABASE_URL)


def get_session() -> Iterator[Session]:
    """One session per request: commit on success, roll back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@lru_cache
def get_read_engine() -> Engine:
    """The same pool, for transactions that only read."""
    return get_engine().execution_options(read_only=True)


def get_read_session() -> Iterator[Session]:
    """For routes that only read (public pages and lists): never takes the write lock."""
    with Session(get_read_engine(), expire_on_commit=False) as session:
        yield session


_turn_lock = threading.Lock()
_turn_files: dict[str, int] = {}


@contextmanager
def write_turn(engine: Engine | None = None, *, background: bool = False,
               while_waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Take turns with the other writer threads of every process on this SQLite file.

    A blocking file lock (`flock`) hands the turn to the next waiting writer the moment it is
    released, where SQLite's busy handler polls with sleeps of up to 100 ms. Used around the
    batched writers (sign-ups, mail); other writers still rely on the busy timeout, and the
    lock on the database itself stays SQLite's. PostgreSQL needs no turns.

    A `background` writer (the mail sender) lets this process's foreground writer (the sign-up
    writer, whose requests are waiting for their answer) go first: it waits while one wants a
    turn, for at most BACKGROUND_PATIENCE seconds.

    `while_waiting` is called over and over while another process has the turn, and waits
    briefly itself (a millisecond or so) before the next try: the sign-up writer uses the wait
    to take in and validate the sign-ups that keep arriving, so its turn writes them all and its
    process's event loop is quiet while it writes."""
    engine = engine or get_engine()
    database = make_url(str(engine.url)).database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    path = f"{database}.writer-lock"
    with _turn_lock:
        descriptor = _turn_files.get(path)
        if descriptor is None:
            descriptor = _turn_files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    global _foreground_writers
    asked_at = time.perf_counter()
    with _foreground_changed:
        if background:
            _foreground_changed.wait_for(lambda: _foreground_writers == 0,
                                         timeout=BACKGROUND_PATIENCE)
        else:
            _foreground_writers += 1
    try:
        # One turn per process at a time (flock is per open file, shared by its threads).
        with _process_turn:
            _take_turn(descriptor, while_waiting)
            observability.WRITE_TURN_WAIT.labels("mail" if background else "signup").observe(
                time.perf_counter() - asked_at)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        if not background:
            with _foreground_changed:
                _foreground_writers -= 1
                _foreground_changed.notify_all()


def _take_turn(descriptor: int, while_waiting: Callable[[], None] | None) -> None:
    if while_waiting is None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            while_waiting()


BACKGROUND_PATIENCE = 0.5
_foreground_writers = 0
_foreground_changed = threading.Condition()
_process_turn = threading.Lock()
_last_foreground_write = 0.0


def mark_foreground_write() -> None:
    """A foreground writer (the sign-up writer) just wrote: background work may hold back."""
    global _last_foreground_write
    _last_foreground_write = time.monotonic()


def foreground_wrote_within(seconds: float) -> bool:
    """Whether this process's foreground writer wrote in the last `seconds`."""
    return time.monotonic() - _last_foreground_write < seconds


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work outside a request (CLI, mail sender)."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Indexes a migration creates on purpose without a model declaring them (they need a database
# extension that may be missing): left out when migrations and models are compared.
DATABASE_ONLY_INDEXES = frozenset(
    f"ix_household_live_{column}_trgm" for column in ("name", "email", "street"))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic's filter for autogenerate and the models check (see DATABASE_ONLY_INDEXES)."""
    return not (type_ == "index" and reflected and name in DATABASE_ONLY_INDEXES)


def constraint_name(exc: DBAPIError) -> str:
    """Which constraint an integrity error broke, without the row's values that the driver's
    message repeats (PostgreSQL's DETAIL line): for logs."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return str(diag.constraint_name or type(exc.orig).__name__)
    return str(exc.orig).splitlines()[0][:200]  # SQLite names the columns, never the values
