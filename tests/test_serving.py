"""`wijkwerf serve --workers N` (app/serving.py): every worker listens on a socket of its own on
the one port (SO_REUSEPORT), the kernel spreads connections over them, and a port that is
already taken, also by another Wijkwerf, still refuses to start. Linux only, like the server's
SO_REUSEPORT itself."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import LiveServer, wijkwerf_command

_STATES = {"listening": "0A", "established": "01"}


def _pids_on(port: int, state: str) -> set[int]:
    """The pids owning TCP sockets on local `port` in `state` ("listening", "established"),
    read from /proc like `ss -tlnp` does (no iproute2 needed)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and \
                        fields[3] == _STATES[state]:
                    inodes.add(fields[9])
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:[") and link[8:-1] in inodes:
                pids.add(int(fd.parts[2]))
    return pids


def _listening(port: int, workers: int = 2, timeout: float = 60) -> set[int]:
    """The listening pids once `workers` of them listen (/healthz answers as soon as the first
    worker has started)."""
    deadline = time.monotonic() + timeout
    while len(pids := _pids_on(port, "listening")) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


def test_each_worker_listens_on_its_own_socket_and_both_get_connections(
    live_server_factory: Any,
) -> None:
    server: LiveServer = live_server_factory(workers=2, mail_url="null://")
    assert server.process is not None
    workers = _listening(server.port)
    assert len(workers) == 2 and server.process.pid not in workers, workers
    assert f"Wijkwerf running on {server.url} with 2 workers" in server.log_text()
    # 40 connections held open: the kernel hashes each to one worker's socket. All 40 on one
    # worker would happen once in 2**39 runs (with one shared socket it was the usual case).
    with ExitStack() as stack:
        for _ in range(40):
            client = stack.enter_context(httpx.Client(base_url=server.url, timeout=10))
            assert client.get("/healthz").status_code == 200
        assert _pids_on(server.port, "established") == workers


def test_a_taken_port_refuses_a_second_server_instead_of_sharing_it(
    live_server_factory: Any,
) -> None:
    first: LiveServer = live_server_factory(workers=2, mail_url="null://")
    workers = _listening(first.port)
    assert len(workers) == 2
    second = subprocess.run(  # noqa: S603
        [*wijkwerf_command(), "serve", "--host", "127.0.0.1", "--port", str(first.port),
         "--workers", "2"],
        env=first.env, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode != 0
    assert "address already in use" in (second.stdout + second.stderr).lower()
    assert _pids_on(first.port, "listening") == workers  # the first server's, untouched
    assert httpx.get(f"{first.url}/healthz", timeout=10).status_code == 200


def test_port_zero_puts_every_worker_on_the_one_port_it_was_given(
    live_server_factory: Any,
) -> None:
    database = live_server_factory(mail_url="null://")  # a migrated database to serve
    process = subprocess.Popen(  # noqa: S603
        [*wijkwerf_command(), "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
        env=database.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        assert process.stdout is not None
        announced = None
        deadline = time.monotonic() + 60
        while announced is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            announced = re.search(r"running on http://127\.0\.0\.1:(\d+) with", line)
        assert announced is not None
        port = int(announced.group(1))
        assert len(_listening(port)) == 2
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


def test_the_served_access_log_names_routes_and_never_tokens_or_searches(
    live_server_factory: Any,
) -> None:
    """`wijkwerf serve` logs one JSON line per request with the route's template and a request
    id; uvicorn's own access log (the full URL) stays off."""
    database = live_server_factory(mail_url="null://")
    port = database.port + 1 if database.port < 65000 else database.port - 1
    process = subprocess.Popen(  # noqa: S603
        [*wijkwerf_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--access-log"],  # the default, said explicitly
        env=database.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    token = "Zt3kq9-geheim-token-van-een-bewoner-0123456789"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code:
                    break
            time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/r/{token}", timeout=10)
        httpx.get(f"http://127.0.0.1:{port}/beheer/wijken/kust/huishoudens",
                  params={"q": "Vandenbroucke"}, timeout=10)
        time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [(line["method"], line["route"], line["status"]) for line in lines
                if line["logger"] == "wijkwerf.access"]
    assert ("GET", "/r/{token}", 410) in requests, output[-2000:]  # an unknown link
    assert ("GET", "/beheer/wijken/{slug}/huishoudens", 303) in requests, output[-2000:]
    assert all(len(line["request_id"]) == 16 for line in lines
               if line["logger"] == "wijkwerf.access")
    assert token not in output and "Vandenbroucke" not in output and "kust" not in output
