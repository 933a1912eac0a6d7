# ruff: noqa: S603, S607
"""The processes under test: `wijkwerf serve`, the bare ASGI reference, and a private throwaway
PostgreSQL cluster. Everything listens on 127.0.0.1 only and is stopped on exit (also on Ctrl-C).
"""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STARTUP_TIMEOUT = 40.0

_live: set["Process"] = set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wijkwerf_command() -> list[str]:
    script = Path(PYTHON).parent / "wijkwerf"
    if script.exists():
        return [str(script)]
    return [PYTHON, "-c", "import sys; from app.cli import main; sys.exit(main())"]


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    result = subprocess.run(  # noqa: S603 (our own console script)
        [*wijkwerf_command(), *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`wijkwerf {' '.join(args)}` failed ({result.returncode}):\n"
                           f"{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass(eq=False)
class Process:
    """A server process in its own session, so stopping it reaches every worker it forked."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/healthz"
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int = 1) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n--- {' '.join(self.command)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(  # noqa: S603
                self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _live.add(self)
        self._wait_healthy(workers)

    def _wait_healthy(self, workers: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ok_in_a_row = 0
        last = "no answer"
        # With several workers, the first answer may come from the first worker only: wait for a
        # run of good answers, then a moment for the others to finish their start-up.
        wanted = 1 if workers == 1 else 20
        while time.monotonic() < deadline:
            if self.popen is None or self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up\n{self.log_tail()}")
            try:
                response = httpx.get(self.url + self.health_path, timeout=2)
                if response.status_code == 200:
                    ok_in_a_row += 1
                    if ok_in_a_row >= wanted:
                        if workers > 1:
                            time.sleep(1.0)
                        return
                    continue
                last = f"{response.status_code}"
            except httpx.HTTPError as error:
                last = repr(error)
            ok_in_a_row = 0
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy after {STARTUP_TIMEOUT}s ({last})\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(5)
        self._signal(signal.SIGKILL)  # any worker left behind
        self.popen = None
        _live.discard(self)

    def kill(self) -> None:
        """SIGKILL to the server and every worker: for a server that stopped answering."""
        if self.popen is None:
            return
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self.popen = None
        _live.discard(self)

    def pids(self) -> list[int]:
        """The server's process and its workers (for a profiler)."""
        if self.popen is None:
            return []
        result = subprocess.run(["pgrep", "-g", str(self.popen.pid)], capture_output=True,
                                text=True, check=False)
        return [int(pid) for pid in result.stdout.split()]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)


def _uvicorn_launcher(target: str, port: int, workers: int) -> list[str]:
    """The same uvicorn.run call as `wijkwerf serve` (app/cli.py), for another ASGI app."""
    code = (
        "import uvicorn; uvicorn.run("
        f"{target!r}, host='127.0.0.1', port={port}, workers={workers}, proxy_headers=True, "
        "forwarded_allow_ips='127.0.0.1', access_log=False, log_level='info')"
    )
    return [PYTHON, "-c", code]


def start_bare(workers: int, log_dir: Path) -> Process:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = Process(name=f"bare ASGI ({workers}w)",
                      command=_uvicorn_launcher("bench.bare_asgi:app", port, workers),
                      env=env, port=port, log_path=log_dir / "bare.log", health_path="/")
    process.start(workers)
    return process


def server_env(database_url: str, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WIJKWERF_ENV="production",
        DATABASE_URL=database_url,
        BASE_URL=f"http://127.0.0.1:{port}",
        MAIL_URL="null://",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def start_wijkwerf(database_url: str, workers: int, log_dir: Path, *, name: str = "wijkwerf",
                   extra_env: dict[str, str] | None = None) -> Process:
    port = free_port()
    command = [*wijkwerf_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    process = Process(name=f"wijkwerf serve ({workers}w)", command=command,
                      env=server_env(database_url, port, extra_env), port=port,
                      log_path=log_dir / f"{name}.log")
    process.start(workers)
    return process


# --- a private PostgreSQL cluster ------------------------------------------------------------


def find_pg_bin() -> Path | None:
    def version(path: Path) -> list[int]:
        return [int(x) if x.isdigit() else 0 for x in path.parent.name.split(".")]

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version)
    for directory in reversed(candidates):
        if all((directory / tool).exists() for tool in ("postgres", "initdb", "pg_ctl")):
            return directory
    return None


@dataclass(eq=False)
class PostgresCluster:
    """initdb in a temp dir (as user postgres when we are root), on a loopback port; default
    settings apart from where it listens. Removed completely by `stop()`."""

    bin_dir: Path
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wijkwerf-bench-pg.")))
    port: int = 0
    started: bool = False

    @property
    def version(self) -> str:
        out = subprocess.run([str(self.bin_dir / "postgres"), "--version"], capture_output=True,
                             text=True, check=False).stdout.strip()
        return out.removeprefix("postgres ").strip()

    def _as_owner(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        return subprocess.run([*prefix, *args], cwd=self.tmp, capture_output=True, text=True,  # noqa: S603
                              check=check, timeout=120)

    def start(self) -> None:
        _clusters.add(self)
        self.tmp.chmod(0o755)
        if os.geteuid() == 0:
            if subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                                "/usr/sbin/nologin", "postgres"], check=True)
            shutil.chown(self.tmp, "postgres")
        self._as_owner(str(self.bin_dir / "initdb"), "-D", str(self.tmp / "data"), "-U",
                       "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
        self._as_owner("mkdir", "-p", str(self.tmp / "socket"))
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                       f"-c unix_socket_directories={self.tmp / 'socket'} -c max_connections=200")
            result = self._as_owner(str(self.bin_dir / "pg_ctl"), "-D", str(self.tmp / "data"),
                                    "-l", str(self.tmp / "postgres.log"), "-w", "-t", "60",
                                    "-o", options, "start", check=False)
            if result.returncode == 0:
                self.started = True
                break
            last = result.stdout + result.stderr
        if not self.started:
            raise RuntimeError(f"PostgreSQL did not start: {last}")

    def create_database(self, name: str) -> str:
        self._as_owner(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                       "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.started:
            self._as_owner(str(self.bin_dir / "pg_ctl"), "-D", str(self.tmp / "data"), "-m",
                           "immediate", "-w", "stop", check=False)
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)
        _clusters.discard(self)


_clusters: set[PostgresCluster] = set()


@atexit.register
def stop_everything() -> None:
    for process in list(_live):
        process.stop()
    for cluster in list(_clusters):
        cluster.stop()
