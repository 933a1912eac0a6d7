"""The `wijkwerf` command: migrate, create-user, deactivate-user, grant-access, revoke-access,
seed-demo, serve, backup, restore."""

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import app
from app.config import ConfigurationError, get_settings


def foreign_app_package() -> str | None:
    """Why the imported `app` package is not Wijkwerf's, or None when it is (app/__init__.py's
    marker: another distribution may install a top-level `app` into the same site-packages)."""
    if getattr(app, "__wijkwerf__", False) is True:
        return None
    return (f"the package `app` at {Path(app.__file__ or '?').parent} is not Wijkwerf's: "
            "another distribution installed a top-level `app` package over it. Install "
            "Wijkwerf in a virtualenv of its own (python -m venv, or pipx install its wheel)")


def migrate() -> None:
    from alembic import command

    from app.schema import alembic_config

    command.upgrade(alembic_config(), "head")
    print("Database is up to date.")


def backup_database(args: argparse.Namespace) -> int:
    from app.backup import BackupError, backup

    try:
        outcome = backup(get_settings().DATABASE_URL, Path(args.path))
    except BackupError as exc:
        print(f"wijkwerf: backup failed: {exc}", file=sys.stderr)
        return 1
    print(outcome.message)
    return 0


def restore_database(args: argparse.Namespace) -> int:
    from app.backup import BackupError, restore

    try:
        outcome = restore(get_settings().DATABASE_URL, Path(args.path), force=args.force)
    except BackupError as exc:
        print(f"wijkwerf: restore refused: {exc}", file=sys.stderr)
        return 1
    print(outcome.message)
    return 0


def _new_password(given: str | None) -> str:
    """The password from --password, else WIJKWERF_USER_PASSWORD, else asked twice without echo
    (neither of the last two shows it in the process list or the shell history)."""
    import getpass
    import os

    if given is not None:
        return given
    if os.environ.get("WIJKWERF_USER_PASSWORD"):
        return os.environ["WIJKWERF_USER_PASSWORD"]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("wijkwerf: the two passwords differ; nothing created.")
    return first


def create_user(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.services.users import create_user as create

    with session_scope() as session:
        user = create(
            session,
            email=args.email,
            password=_new_password(args.password),
            role=args.role,
            organisation_name=args.organisation,
            contractor_id=args.contractor_id,
        )
        print(f"User {user.email} ({user.role}) created with id {user.id}.")
    return 0


def deactivate_user(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.services.users import deactivate_user as deactivate

    with session_scope() as session:
        user = deactivate(session, args.email)
        print(f"User {user.email} deactivated; its sessions and tokens are revoked.")
    return 0


def grant_access(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.db import session_scope
    from app.services import access

    try:
        data = access.GrantCreate(email=args.email, hours=args.hours, reason=args.reason)
    except ValidationError as exc:
        error = exc.errors()[0]
        print(f"wijkwerf: --{error['loc'][0]}: {error['msg']}", file=sys.stderr)
        return 1
    with session_scope() as session:
        organisation = access.organisation_by_name(session, args.organisation)
        assert organisation.id is not None
        grant = access.grant_access(session, data, organisation_id=organisation.id,
                                    granted_by=None)
        print(f"Access grant {grant.id}: {data.email} may act in {organisation.name} until "
              f"{grant.expires_at:%Y-%m-%d %H:%M} UTC; every use is in its audit log.")
    return 0


def revoke_access(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.services import access

    with session_scope() as session:
        count = access.revoke_grants_of(session, email=args.email,
                                        organisation_name=args.organisation)
    print(f"{count} access grant(s) of {args.email} revoked.")
    return 0


def seed_demo() -> None:
    from app.db import session_scope
    from app.services.demo import DEMO_LOGINS, seed_demo_data

    with session_scope() as session:
        created = seed_demo_data(session)
    print("Demo data loaded." if created else "Demo data was already there; nothing added.")
    print_demo_logins(DEMO_LOGINS)


def print_demo_logins(logins: list[tuple[str, str, str]]) -> None:
    print("\nDemo logins (http://127.0.0.1:8000/login):")
    for role, email, password in logins:
        print(f"  {role:<11} {email:<34} {password}")
    print("  residents   no password: ask a link at /mijn/link (mail goes to MAIL_URL)\n")


def log_config(*, access_log: bool, log_format: str = "json") -> dict[str, Any]:
    """uvicorn's logging set-up plus the app's loggers (`wijkwerf.*`) on the same stderr
    handler, every line one JSON object with `log_format="json"` (app/observability.py); the
    access log only with `access_log`."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        for formatter in ("default", "access"):
            config["formatters"][formatter] = {"()": "app.observability.LogFormatter"}
    config["loggers"]["wijkwerf"] = {"handlers": ["default"], "level": "INFO",
                                     "propagate": False}
    config["loggers"]["wijkwerf.access"] = {"level": "INFO" if access_log else "WARNING"}
    return config


def _metrics_directory() -> None:
    """Several workers keep their metrics in files that a scrape adds up (prometheus-client's
    multiprocess mode): a fresh directory per server unless PROMETHEUS_MULTIPROC_DIR names one,
    set before the workers start (they inherit it) and emptied of an earlier run's files."""
    import atexit
    import os
    import shutil
    import tempfile

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for old in Path(given).glob("*.db"):
            old.unlink()
        return
    directory = tempfile.mkdtemp(prefix="wijkwerf-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.serving import run_workers

    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "workers": args.workers, "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        # uvicorn's own access log prints the full URL (tokens, searched names): never on.
        # The app's names the route instead (app/middleware.py); --no-access-log turns it off.
        "access_log": False,
        "log_config": log_config(access_log=args.access_log,
                                 log_format=get_settings().LOG_FORMAT),
        # Workers that start slowly on a busy machine must not be killed as dead.
        "timeout_worker_healthcheck": 30, "log_level": "info",
    }
    if args.workers > 1:
        _metrics_directory()
        run_workers(uvicorn.Config("app.main:app", **options))
    else:
        uvicorn.run("app.main:app", **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wijkwerf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    user = commands.add_parser("create-user", help="add a staff, admin or contractor user")
    user.add_argument("--email", required=True)
    user.add_argument("--password", default=None, help="better: leave it out and type it when "
                      "asked, or pipe it in, or set WIJKWERF_USER_PASSWORD")
    user.add_argument("--role", required=True, choices=["admin", "staff", "contractor"])
    user.add_argument("--organisation", default=None)
    user.add_argument("--contractor-id", type=int, default=None)
    deactivate = commands.add_parser(
        "deactivate-user", help="close an account and revoke its sessions and tokens")
    deactivate.add_argument("--email", required=True)
    grant = commands.add_parser(
        "grant-access", help="let an admin act in another organisation for a few hours (audited)")
    grant.add_argument("--email", required=True, help="the admin's log-in address")
    grant.add_argument("--organisation", required=True, help="the organisation's exact name")
    grant.add_argument("--hours", type=int, required=True, help="1 to 8")
    grant.add_argument("--reason", required=True, help="why (shown to the organisation)")
    revoke = commands.add_parser("revoke-access", help="end an admin's access grants now")
    revoke.add_argument("--email", required=True)
    revoke.add_argument("--organisation", default=None, help="only the grant to this one")
    commands.add_parser("seed-demo", help="load demo data for a Flemish wijk (idempotent)")
    server = commands.add_parser("serve", help="run the web server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8000)
    server.add_argument("--workers", type=int, default=1)
    server.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                        help="one log line per request: method, route template, status, "
                             "duration, request id (default: on)")
    server.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1",
        help="addresses of reverse proxies whose X-Forwarded-For is trusted (comma-separated)",
    )
    backup = commands.add_parser(
        "backup", help="write a consistent copy of the database to PATH, also while it serves "
                       "(SQLite: online backup API; PostgreSQL: pg_dump, custom format)")
    backup.add_argument("path", help="the backup file (replaced if it exists)")
    restore = commands.add_parser(
        "restore", help="put a backup made by `wijkwerf backup` into DATABASE_URL's database "
                        "(PostgreSQL: pg_restore --clean --if-exists)")
    restore.add_argument("path", help="the backup file")
    restore.add_argument("--force", action="store_true",
                         help="replace a database that has data (stop the server first)")
    args = parser.parse_args(argv)

    foreign = foreign_app_package()
    if foreign:
        print(f"wijkwerf: {foreign}", file=sys.stderr)
        return 2

    try:
        get_settings()
    except ConfigurationError as exc:
        print(f"wijkwerf: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a malformed variable: say which
        print(f"wijkwerf: invalid configuration: {exc}", file=sys.stderr)
        return 2

    from app.services.errors import ServiceError

    try:
        if args.command == "migrate":
            migrate()
        elif args.command == "create-user":
            return create_user(args)
        elif args.command == "deactivate-user":
            return deactivate_user(args)
        elif args.command == "grant-access":
            return grant_access(args)
        elif args.command == "revoke-access":
            return revoke_access(args)
        elif args.command == "seed-demo":
            if get_settings().WIJKWERF_ENV == "production":
                print("wijkwerf: seed-demo creates accounts whose passwords are published in "
                      "the README; it is refused when WIJKWERF_ENV=production.", file=sys.stderr)
                return 2
            seed_demo()
        elif args.command == "serve":
            serve(args)
        elif args.command == "backup":
            return backup_database(args)
        elif args.command == "restore":
            return restore_database(args)
    except ServiceError as exc:
        print(f"wijkwerf: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

