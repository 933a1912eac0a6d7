"""The real `wijkwerf serve` as a subprocess on its own fresh database."""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.support import databases
from tests.support.environment import (
    POSTGRES_URL,
    ROOT,
    TEST_SECRET_KEY,
    database_name,
    with_database,
)

# Generous: a loaded CI machine can take long to import the app; a healthy start returns early.
STARTUP_TIMEOUT = float(os.environ.get("WIJKWERF_TEST_SERVER_TIMEOUT", "60"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The black-box tests against another install (tests/test_packaging.py runs them against the
# wheel): its `wijkwerf` command, run from a directory of its own.
OTHER_COMMAND = os.environ.get("WIJKWERF_COMMAND")
SERVER_CWD = Path(os.environ.get("WIJKWERF_SERVER_CWD") or ROOT)


def wijkwerf_command() -> list[str]:
    """WIJKWERF_COMMAND, else the installed console script, else the same entry point through
    this interpreter."""
    if OTHER_COMMAND:
        return [OTHER_COMMAND]
    script = Path(sys.executable).parent / "wijkwerf"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())"]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `wijkwerf ARGS` and raise with its output when it fails."""
    result = subprocess.run(  # noqa: S603  (our own console script)
        [*wijkwerf_command(), *args],
        env=env,
        cwd=SERVER_CWD,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`wijkwerf {' '.join(args)}` exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def server_environment(
    *, database_url: str, base_url: str, mail_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WIJKWERF_ENV="test",
        DATABASE_URL=database_url,
        BASE_URL=base_url,
        MAIL_URL=mail_url,
        SECRET_KEY=TEST_SECRET_KEY,
        MAIL_POLL_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


class PortTaken(RuntimeError):
    """Another process bound the free port between choosing it and the server binding it."""


@dataclass(eq=False)
class LiveServer:
    """One `wijkwerf serve` process; stop, kill -9 and restart it on the same port and database."""

    database_url: str
    mail_url: str
    log_path: Path
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    seed_output: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_before: bool = False
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return server_environment(
            database_url=self.database_url,
            base_url=self.url,
            mail_url=self.mail_url,
            extra=self.extra_env,
        )

    @property
    def engine(self) -> Engine:
        """An engine on the server's database, to inspect what it stored."""
        if self._engine is None:
            from app.db import make_engine

            self._engine = make_engine(self.database_url, pool_size=2)
        return self._engine

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run another `wijkwerf` command against this server's database and settings."""
        return run_cli(*args, env=self.env, timeout=timeout)

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start and wait for /healthz; a first start retries on another port if it was taken."""
        for attempt in range(3):
            try:
                self._start_once(timeout)
                return
            except PortTaken:
                if self.started_before or attempt == 2:
                    raise
                self.port = free_port()

    def _start_once(self, timeout: float) -> None:
        assert not self.running, "server already running"
        command = [*wijkwerf_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers != 1:
            command += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            log.write(f"\n--- {' '.join(command)}\n".encode())
            log.flush()
            # Its own session, so kill() reaches every worker process it forks.
            self.process = subprocess.Popen(  # noqa: S603
                command,
                env=self.env,
                cwd=SERVER_CWD,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _running_servers.add(self)
        try:
            self.wait_until_healthy(timeout)
        except RuntimeError as error:
            if "address already in use" in self.log_tail(5).lower():
                raise PortTaken(str(error)) from error
            raise
        self.started_before = True

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if not self.running:
                self.kill()
                raise RuntimeError(f"server exited during startup\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last_error = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as error:
                last_error = repr(error)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server not healthy after {timeout}s ({last_error})\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        """Graceful shutdown (SIGTERM); SIGKILL if it does not exit within `timeout`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self._finish()

    def kill(self) -> None:
        """Crash it: SIGKILL to the server and all its workers, no shutdown code runs."""
        if self.process is None:
            return
        self._finish()

    def _finish(self) -> None:
        """SIGKILL whatever is left of the process group and wait until it is really gone, so
        the port and the database are free for a restart."""
        assert self.process is not None
        group = self.process.pid
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        deadline = time.monotonic() + 10
        while _live_group_members(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.process = None
        _running_servers.discard(self)

    def restart(self, timeout: float = STARTUP_TIMEOUT) -> None:
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        self.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last lines of {self.log_path}\n{tail}"

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


_running_servers: set[LiveServer] = set()


def _live_group_members(group: int) -> list[int]:
    """Processes of a process group that are not yet dead (zombies do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] not in {"Z", "X"}:
            members.append(int(stat.parent.name))
    return members


@atexit.register
def _kill_leftover_servers() -> None:
    """A test run that dies must not leave servers behind (they run in their own session)."""
    for server in list(_running_servers):
        server.kill()


class ServerDatabases:
    """Fresh, migrated (and optionally seeded) databases for servers, copied from templates.

    Each template is built once per test process with `wijkwerf migrate` (and `wijkwerf
    seed-demo`), so the CLI is exercised and every server still starts on its own database.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._templates: dict[bool, tuple[str, str]] = {}
        self._created: list[str] = []
        self._counter = 0

    def _url(self, name: str) -> str:
        if POSTGRES_URL:
            url = with_database(POSTGRES_URL, database_name(name))
            databases.create_postgres_database(url)
            self._created.append(url)
            return url
        return f"sqlite:///{self.directory / (name + '.db')}"

    def _template(self, seed: bool) -> tuple[str, str]:
        if seed not in self._templates:
            url = self._url("tpl_seeded" if seed else "tpl_empty")
            env = server_environment(
                database_url=url, base_url="http://127.0.0.1", mail_url="null://"
            )
            run_cli("migrate", env=env)
            output = run_cli("seed-demo", env=env).stdout if seed else ""
            self._templates[seed] = (url, output)
        return self._templates[seed]

    def new(self, *, seed: bool = False) -> tuple[str, str]:
        """A new database URL and the seed command's output (the demo logins)."""
        template_url, seed_output = self._template(seed)
        self._counter += 1
        name = f"srv{self._counter}"
        if POSTGRES_URL:
            url = with_database(POSTGRES_URL, database_name(name))
            databases.create_postgres_database(url, template_url=template_url)
            self._created.append(url)
        else:
            url = f"sqlite:///{self.directory / (name + '.db')}"
            databases.copy_sqlite_database(template_url, url)
        return url, seed_output

    def drop(self, url: str) -> None:
        if POSTGRES_URL:
            databases.drop_postgres_database(url)
            self._created.remove(url)
        else:
            path = url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        for url in list(self._created):
            databases.drop_postgres_database(url)
        self._created.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
