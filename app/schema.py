"""The database schema's migrations: where they are, and the Alembic configuration built in code
(no alembic.ini is read, so `wijkwerf migrate` works from any directory of an installed wheel)."""

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

PACKAGE_DIR = Path(__file__).resolve().parent


class MigrationsMissing(RuntimeError):
    """Neither the installed package nor a source checkout holds the migrations."""


def migrations_dir() -> Path:
    """`app/migrations` in an installed wheel (setup.py copies them there); the checkout's
    top-level `migrations/` when running from the source tree (an editable install)."""
    packaged = PACKAGE_DIR / "migrations"
    if (packaged / "env.py").is_file():
        return packaged
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "migrations" / "env.py").is_file():
        return checkout / "migrations"
    raise MigrationsMissing(
        f"the migrations are missing from {packaged}: this installation of Wijkwerf is "
        "incomplete; reinstall it from its wheel")


def alembic_config(connection: Any = None) -> Config:
    """The configuration `alembic.ini` gives developers, without reading it; `connection` makes
    the migrations run on that connection instead of DATABASE_URL's engine."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def known_revisions() -> set[str]:
    """Every revision this version of Wijkwerf knows."""
    return {script.revision for script in ScriptDirectory.from_config(
        alembic_config()).walk_revisions()}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
