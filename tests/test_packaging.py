"""The wheel is the whole app: built once from a clean copy of the sources, installed into a fresh
virtualenv, it migrates, seeds, serves and backs up from an empty temporary directory, and
nothing comes from the source tree (`app.__file__` is in the new virtualenv).

The wheel is built offline (`pip wheel --no-deps --no-build-isolation` with the setuptools of
.venv) and installed with `--no-deps --no-index`. The new virtualenv reaches its dependencies
through a .pth line naming .venv's site-packages: a plain path line, so .venv's own .pth files
(the editable install's finder, which maps `app` to this checkout) are not run.

The database is the phase's: SQLite (no DATABASE_URL at all: the default var/ in the working
directory) or, with WIJKWERF_TEST_DATABASE_URL, a fresh PostgreSQL database.
"""

import os
import re
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import databases
from tests.support.environment import POSTGRES_URL, ROOT, database_name, with_database
from tests.support.server import free_port

pytestmark = pytest.mark.xdist_group("packaging")

SOURCES = ["app", "migrations", "pyproject.toml", "setup.py", "MANIFEST.in"]


@dataclass
class Installed:
    venv: Path
    site_packages: Path
    workdir: Path
    env: dict[str, str]
    database_url: str | None

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def wijkwerf(self, *args: str, timeout: float = 120,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.venv / "bin" / "wijkwerf"), *args], cwd=self.workdir, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"wijkwerf {' '.join(args)} exited {result.returncode}\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once from a copy of the sources (no build/ left in the checkout, and
    nothing that is not a source file can slip in)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", dist, source)
    (built,) = dist.glob("wijkwerf-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
         "--no-deps", "--no-index", wheel)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    (site_packages / "wijkwerf-test-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in site.getsitepackages()))

    workdir = base / "empty"
    workdir.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(base), "LANG": "C.UTF-8",
           "PYTHONNOUSERSITE": "1", "TMPDIR": str(base)}
    database_url = None
    if POSTGRES_URL:
        database_url = with_database(POSTGRES_URL, database_name("pkg"))
        databases.create_postgres_database(database_url)
        env["DATABASE_URL"] = database_url
    yield Installed(venv, site_packages, workdir, env, database_url)
    if database_url:
        databases.drop_postgres_database(database_url)


def test_the_installed_app_is_the_wheel_not_the_source_tree(installed: Installed) -> None:
    probe = ("import sys, app, app.cli, app.schema; print(app.__file__); "
             "print(app.schema.migrations_dir()); print(app.__wijkwerf__); "
             "print('\\n'.join(sys.path))")
    result = subprocess.run([str(installed.python), "-c", probe], cwd=installed.workdir,
                            env=installed.env, capture_output=True, text=True, check=True)
    app_file, migrations, marker, *path = result.stdout.splitlines()
    assert Path(app_file).is_relative_to(installed.site_packages), app_file
    assert Path(migrations) == installed.site_packages / "app" / "migrations"
    assert marker == "True"
    assert not any((installed.workdir / entry).resolve().is_relative_to(ROOT) for entry in path
                   if not entry.startswith(str(ROOT / ".venv"))), path
    shipped = {p.relative_to(installed.site_packages / "app").as_posix()
               for p in (installed.site_packages / "app").rglob("*") if p.is_file()}
    assert {"migrations/env.py", "migrations/script.py.mako", "static/app.css",
            "templates/base.html", "templates/mail/signup_confirmation.txt",
            "locale/en/LC_MESSAGES/messages.po",
            "locale/nl_BE/LC_MESSAGES/messages.po"} <= shipped
    migrations_shipped = {p.name for p in (installed.site_packages / "app" / "migrations"
                                           / "versions").glob("*.py")}
    assert migrations_shipped == {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}


def test_the_wheel_migrates_seeds_serves_and_backs_up_from_an_empty_directory(
    installed: Installed,
) -> None:
    migrated = installed.wijkwerf("migrate")
    assert "up to date" in migrated.stdout
    seeded = installed.wijkwerf("seed-demo")
    assert "Demo data loaded." in seeded.stdout
    if installed.database_url is None:
        # No DATABASE_URL: the default SQLite file is under var/ of the working directory.
        assert (installed.workdir / "var" / "wijkwerf.db").is_file()

    port = free_port()
    env = dict(installed.env, BASE_URL=f"http://127.0.0.1:{port}")
    log = installed.workdir / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(installed.venv / "bin" / "wijkwerf"), "serve", "--port", str(port)],
            cwd=installed.workdir, env=env, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, server, log)
        assert httpx.get(f"{base}/healthz").json()["database"] == "ok"
        home = httpx.get(f"{base}/")
        assert home.status_code == 200
        assert "Samen renoveren in je wijk" in home.text
        assert "Klimaatwijk Westerkwartier" in home.text
        english = httpx.get(f"{base}/", params={"lang": "en"})
        assert "Renovating together in your neighbourhood" in english.text  # the catalog
        wijk = httpx.get(f"{base}/wijken/westerkwartier")
        assert wijk.status_code == 200 and 'lang="nl-BE"' in wijk.text
        css = httpx.get(f"{base}/static/app.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        assert css.content == (ROOT / "app" / "static" / "app.css").read_bytes()

        backup = installed.wijkwerf("backup", "wijkwerf-backup.dump")
        assert "Backup written" in backup.stdout
        assert (installed.workdir / "wijkwerf-backup.dump").stat().st_size > 10_000
    finally:
        os.killpg(server.pid, 15)
        server.wait(15)


def test_the_command_refuses_another_distributions_app_package(installed: Installed) -> None:
    """What a second distribution with a top-level `app` does to site-packages: its
    app/__init__.py replaces ours. The command says so instead of running someone else's code."""
    init = installed.site_packages / "app" / "__init__.py"
    ours = init.read_bytes()
    init.write_text('"""Some other project\'s app package."""\n')
    try:
        result = installed.wijkwerf("migrate", check=False)
    finally:
        init.write_bytes(ours)
    assert result.returncode == 2
    assert "is not Wijkwerf's" in result.stderr and "virtualenv of its own" in result.stderr
    assert installed.wijkwerf("migrate").returncode == 0


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not healthy:\n{log.read_text(errors='replace')}")


# The black-box tests (a real `wijkwerf serve`, spoken to over HTTP only): serving, workers,
# the access log, observability and a PostgreSQL outage, the identity rule, crashes.
BLACK_BOX = ["tests/test_harness.py", "tests/test_serving.py",
             "tests/test_observability_server.py", "tests/test_attack_identity.py",
             "tests/test_resilience_crash.py"]


def test_the_black_box_suite_passes_against_the_installed_wheel(installed: Installed) -> None:
    """The same tests, with every server and command run by the wheel's `wijkwerf` from the
    empty directory (tests/support/server.py reads WIJKWERF_COMMAND and WIJKWERF_SERVER_CWD)."""
    env = dict(os.environ, WIJKWERF_COMMAND=str(installed.venv / "bin" / "wijkwerf"),
               WIJKWERF_SERVER_CWD=str(installed.workdir))
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "server", "-n", "0", "-p", "no:warnings",
         "-rs", *BLACK_BOX],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    summary = result.stdout[-3000:]
    assert result.returncode == 0, f"{summary}\n{result.stderr[-2000:]}"
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 14 and "skipped" not in summary, summary
