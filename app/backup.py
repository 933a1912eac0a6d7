"""`wijkwerf backup` and `wijkwerf restore`: a consistent copy of the database while the server
runs, and putting one back.

SQLite: SQLite's online backup API (`sqlite3.Connection.backup`), in one step, so the copy is one
read transaction's snapshot while the server keeps writing (WAL); the copy is a self-contained
file (journal mode DELETE) checked with `PRAGMA quick_check`. A restore writes it back through
the same API, under SQLite's own locks, so a server that is still running sees either the old
or the restored database, never a half-written file.

PostgreSQL: `pg_dump --format=custom` (one snapshot, consistent while the server writes) and
`pg_restore --clean --if-exists --single-transaction`, called with DATABASE_URL's host, port,
user, database and query parameters (sslmode, ...); the password goes in PGPASSWORD, never on a
command line. pg_dump must be of the server's major version or newer.

A restore refuses to overwrite a database that has data (any row outside `alembic_version`)
unless forced, and refuses a backup made by a newer Wijkwerf (a revision this one does not know).
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.schema import head_revision, known_revisions

# pg_dump and pg_restore may take long on a big database; this only stops a hung one.
PG_TIMEOUT_SECONDS = 6 * 3600


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Outcome:
    """What a backup or restore did, for the command's output."""

    path: Path
    revision: str | None
    message: str


def backup(database_url: str, path: Path) -> Outcome:
    """Write a consistent copy of `database_url`'s database to `path` (replaced atomically)."""
    path = path.expanduser().resolve()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give the backup file's name")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(database_url)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            revision = _sqlite_backup(_sqlite_path(url), partial)
        elif url.get_backend_name() == "postgresql":
            _run_pg("pg_dump", ["--format=custom", "--file", str(partial)], url)
            revision = _pg_backup_revision(partial)
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(path, revision, f"Backup written to {path} (schema revision {revision}, "
                                   f"{path.stat().st_size:,} bytes).")


def restore(database_url: str, path: Path, *, force: bool = False) -> Outcome:
    """Put the backup at `path` into `database_url`'s database."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        revision = _sqlite_backup_revision(path)
    elif backend == "postgresql":
        revision = _pg_backup_revision(path)
    else:
        raise BackupError(f"cannot restore into a {backend} database")
    if revision not in known_revisions():
        raise BackupError(
            f"{path} was made by a newer Wijkwerf (schema revision {revision}, unknown to this "
            "version); restore it with that version or newer")
    if not force and _has_data(url):
        raise BackupError(
            f"the database {url.render_as_string(hide_password=True)} has data; restoring "
            "would replace it. Stop the server, back it up first, and rerun with --force")
    if backend == "sqlite":
        _sqlite_restore(path, _sqlite_path(url))
    else:
        with _restore_list(path) as use_list:
            _run_pg("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges",
                                   "--single-transaction", "--exit-on-error",
                                   "--use-list", str(use_list), str(path)], url)
    message = f"Restored {path} (schema revision {revision})."
    if revision != head_revision():
        message += " Run `wijkwerf migrate` to bring it up to this version's schema."
    return Outcome(path, revision, message)


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return Path(url.database).expanduser().resolve()


def _sqlite_backup(source: Path, target: Path) -> str:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    with closing(sqlite3.connect(source, timeout=30)) as db, \
            closing(sqlite3.connect(target)) as copy:
        # One step (pages=-1): the whole copy is one read transaction's snapshot; WAL lets the
        # server's writers go on meanwhile.
        db.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(copy, target)
        return _sqlite_revision(copy, target)


def _sqlite_backup_revision(path: Path) -> str:
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as copy:
            _check_sqlite(copy, path)
            return _sqlite_revision(copy, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite backup of Wijkwerf ({exc})") from exc


def _check_sqlite(db: sqlite3.Connection, path: Path) -> None:
    result = db.execute("PRAGMA quick_check").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(f"{path} failed SQLite's quick_check: {result}")


def _sqlite_revision(db: sqlite3.Connection, path: Path) -> str:
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{path} holds no Wijkwerf database (no alembic_version)") from exc
    if row is None:
        raise BackupError(f"{path} holds no Wijkwerf database (alembic_version is empty)")
    return str(row[0])


def _sqlite_restore(backup_path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"{backup_path.as_uri()}?mode=ro", uri=True)) as copy, \
            closing(sqlite3.connect(target, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        copy.backup(db)
        _check_sqlite(db, target)


# --- PostgreSQL --------------------------------------------------------------------------------


def _conninfo(url: URL) -> str:
    """A libpq connection string from the URL, without the password."""
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for key, value in url.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]

    def quoted(value: object) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in parts.items()
                    if value is not None)


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} not found on PATH: install the PostgreSQL client tools of the server's "
            "major version or newer (Debian: apt-get install postgresql-client)")
    return tool


def _run_pg(name: str, args: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    command = [_pg_tool(name), *args, "--dbname", _conninfo(url)]
    try:
        result = subprocess.run(  # noqa: S603  (a fixed tool and our own arguments)
            command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS,
            check=False)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{name} did not finish within {PG_TIMEOUT_SECONDS} s") from exc
    if result.returncode != 0:
        raise BackupError(f"{name} failed (exit code {result.returncode}):\n"
                          f"{result.stderr.strip()[-2000:]}")


def _pg_backup_revision(path: Path) -> str:
    """The schema revision stored in a pg_dump archive, read back with pg_restore (which
    also proves the archive readable)."""
    _pg_archive_list(path)
    data = subprocess.run(  # noqa: S603
        [_pg_tool("pg_restore"), "--data-only", "--table", "alembic_version", "--file", "-",
         str(path)],
        capture_output=True, text=True, check=False, timeout=600)
    lines = data.stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            revision = lines[number + 1].strip()
            if revision and revision != "\\.":
                return revision
    raise BackupError(f"{path} holds no Wijkwerf database (no alembic_version row)")


@contextmanager
def _restore_list(path: Path) -> Iterator[Path]:
    """The archive's table of contents without COMMENT ON EXTENSION, which only the
    extension's owner (usually a superuser) may run: a restore by the database's owner would
    otherwise fail on pg_trgm's comment."""
    listed = _pg_archive_list(path)
    kept = [line for line in listed.splitlines() if " COMMENT - EXTENSION " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as handle:
        handle.write("\n".join(kept) + "\n")
    try:
        yield Path(handle.name)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def _pg_archive_list(path: Path) -> str:
    result = subprocess.run(  # noqa: S603
        [_pg_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True,
        check=False, timeout=600)
    if result.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump archive: {result.stderr.strip()[-500:]}")
    return result.stdout


# --- both --------------------------------------------------------------------------------------


def _has_data(url: URL) -> bool:
    """Whether any table but alembic_version holds a row (a missing database has none)."""
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            raise BackupError(
                f"cannot reach {url.render_as_string(hide_password=True)}: "
                f"{str(exc.orig).strip()[:300]}; a restore needs the database to exist "
                "(createdb)") from exc
        with connection:
            tables = [name for name in inspect(connection).get_table_names()
                      if name != "alembic_version"]
            return any(connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first()
                       for name in tables)
    finally:
        engine.dispose()
