"""The `wijkwerf` command and configuration."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from app.models import Campaign, Household, Offer, User
from app.services.demo import DEMO_LOGINS, seed_demo_data
from app.services.errors import Conflict, Invalid
from app.services.users import create_user

ROOT = Path(__file__).resolve().parent.parent
WIJKWERF = [sys.executable, "-m", "app.cli"]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(WIJKWERF + args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(WIJKWERF_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    result = run_cli(["serve", "--port", "1"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "production" in result.stderr


def test_migrate_create_user_and_seed_from_an_empty_database(tmp_path: Path) -> None:
    env = dict(os.environ, WIJKWERF_ENV="dev", DATABASE_URL=f"sqlite:///{tmp_path}/cli.db",
               MAIL_URL="null://")
    assert run_cli(["migrate"], env).returncode == 0
    created = run_cli(["create-user", "--email", "els@energiehuis.be", "--password",
                       "lang-genoeg-wachtwoord", "--role", "staff", "--organisation",
                       "Energiehuis Brugge"], env)
    assert created.returncode == 0, created.stderr
    assert "els@energiehuis.be" in created.stdout
    seeded = run_cli(["seed-demo"], env)
    assert seeded.returncode == 0
    for _role, email, password in DEMO_LOGINS:
        assert email in seeded.stdout and password in seeded.stdout


def test_seed_demo_is_idempotent_and_realistic(db_session: Session) -> None:
    assert seed_demo_data(db_session) is True
    counts = (
        db_session.exec(select(func.count()).select_from(Household)).one(),
        db_session.exec(select(func.count()).select_from(Offer)).one(),
    )
    assert seed_demo_data(db_session) is False
    assert counts == (
        db_session.exec(select(func.count()).select_from(Household)).one(),
        db_session.exec(select(func.count()).select_from(Offer)).one(),
    )
    assert counts[0] >= 200 and counts[1] == 3
    campaign = db_session.exec(select(Campaign).where(Campaign.slug == "westerkwartier")).one()
    assert campaign.postcodes == ["8400"] and campaign.status == "open"
    tenures = set(db_session.exec(select(Household.tenure)).all())
    assert {"owner_occupier", "private_tenant", "social_tenant"} <= tenures
    roles = set(db_session.exec(select(User.role)).all())
    assert {"admin", "staff", "contractor"} <= roles


def test_create_user_validates_input(db_session: Session) -> None:
    try:
        create_user(db_session, email="not-an-email", password="x" * 12, role="staff",
                    organisation_name="O")
    except Invalid as exc:
        assert exc.field == "email"
    else:
        raise AssertionError("bad email accepted")
    try:
        create_user(db_session, email="a@example.be", password="short", role="staff",
                    organisation_name="O")
    except Invalid as exc:
        assert exc.field == "password"
    else:
        raise AssertionError("short password accepted")
    create_user(db_session, email="b@example.be", password="x" * 12, role="staff",
                organisation_name="O")
    try:
        create_user(db_session, email="B@example.be", password="x" * 12, role="staff",
                    organisation_name="O")
    except Conflict:
        pass
    else:
        raise AssertionError("duplicate accepted")


def test_create_user_takes_the_password_from_stdin_so_it_is_not_in_the_process_list(
    tmp_path: Path
) -> None:
    env = dict(os.environ, WIJKWERF_ENV="dev", DATABASE_URL=f"sqlite:///{tmp_path}/cli.db",
               MAIL_URL="null://")
    assert run_cli(["migrate"], env).returncode == 0
    created = subprocess.run(
        [*WIJKWERF, "create-user", "--email", "jo@energiehuis.be", "--role", "staff",
         "--organisation", "Energiehuis Brugge"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, input="een-lang-geheim-wachtwoord\n")
    assert created.returncode == 0, created.stderr
    from app.db import make_engine
    from app.security import verify_password

    engine = make_engine(f"sqlite:///{tmp_path}/cli.db", pool_size=1)
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == "jo@energiehuis.be")).one()
        assert verify_password(user.password_hash, "een-lang-geheim-wachtwoord")
    engine.dispose()


def test_seed_demo_is_refused_in_production(tmp_path: Path) -> None:
    env = dict(os.environ, WIJKWERF_ENV="production", SECRET_KEY="s" * 48,
               DATABASE_URL=f"sqlite:///{tmp_path}/prod.db", MAIL_URL="null://")
    assert run_cli(["migrate"], env).returncode == 0
    seeded = run_cli(["seed-demo"], env)
    assert seeded.returncode == 2 and "production" in seeded.stderr
    assert "Demo logins" not in seeded.stdout
