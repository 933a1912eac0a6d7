"""Observability as served by `wijkwerf serve`: the JSON log lines hold no personal data, the
mails name the request that queued them, a scrape adds up every worker, and a PostgreSQL that
stops mid-request gives 503s (never a 500) until it is back, then the server recovers by
itself."""

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.environment import skip_or_fail
from tests.support.server import LiveServer, free_port, run_cli, server_environment
from tests.support.smtp import SmtpSink
from tests.test_backup import _slug_of
from tests.test_signup_load_integrity import (
    SignupLoad,
    make_offer_for_load,
    signup_body,
    stored_signups,
)

TOKEN = "scrape-token-for-the-served-tests-0123456789"


def test_json_log_lines_name_requests_and_hold_no_personal_data(
    live_server_factory: Any, smtp_sink: SmtpSink,
) -> None:
    server: LiveServer = live_server_factory(env={"LOG_FORMAT": "json"})
    offer_id = make_offer_for_load(server.engine, 10)
    slug = _slug_of(server, offer_id)
    person = {"name": "Godelieve Vanderhaeghen", "email": "godelieve.vdh@example.be",
              "phone": "+32470123987", "street": "Sint-Godelievestraat", "house_number": "77",
              "box": "B3", "postcode": "8400"}
    # (The house number and postcode are too short to look for: timestamps hold such digits.)
    secrets_seen = [person["name"], "Vanderhaeghen", person["email"], person["phone"],
                    "470123987", person["street"], slug]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        signed_up = client.post(f"/api/v1/offers/{offer_id}/participations", json={
            "household": person, "quantity": 12, "consent": True})
        assert signed_up.status_code == 201, signed_up.text
        # A refused one echoes nothing into the log either.
        refused = client.post(f"/api/v1/offers/{offer_id}/participations", json={
            "household": {**person, "email": "godelieve-at-example.be"}, "quantity": 12,
            "consent": True})
        assert refused.status_code == 422
        assert client.post("/api/v1/auth/token", json={
            "email": "staff.vdh@example.be", "password": "Vanderhaeghen-wachtwoord"}
        ).status_code == 401
        client.get(f"/wijken/{slug}", params={"q": person["name"]})
        client.get("/r/Zt3kq9-geheim-token-van-Godelieve-0123456789")
        secrets_seen.append("Zt3kq9-geheim-token-van-Godelieve-0123456789")
    mail = smtp_sink.wait_for_recipient(person["email"])
    assert mail["X-Request-ID"] == signed_up.headers["x-request-id"]
    time.sleep(0.5)
    server.stop()

    text = "\n".join(line for line in server.log_text().splitlines()
                     if line.strip() and not line.startswith("--- "))  # the command line
    records = [json.loads(line) for line in text.splitlines()]
    access = [record for record in records if record["logger"] == "wijkwerf.access"]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    by_id = {record["request_id"]: record for record in access}
    first = by_id[signed_up.headers["x-request-id"]]
    assert (first["method"], first["route"], first["status"]) == (
        "POST", "/api/v1/offers/{offer_id}/participations", 201)
    assert isinstance(first["duration_ms"], float)
    assert by_id[refused.headers["x-request-id"]]["status"] == 422
    assert ("GET", "/wijken/{slug}") in {(r["method"], r["route"]) for r in access}
    for secret in secrets_seen:
        assert secret not in text, secret
    assert "q=" not in text


@dataclass
class Scraped:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(url: str) -> Scraped:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10)
    assert response.status_code == 200, response.text
    return Scraped({(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                    for family in text_string_to_metric_families(response.text)
                    for sample in family.samples})


def test_a_scrape_adds_up_every_worker(live_server_factory: Any) -> None:
    server: LiveServer = live_server_factory(workers=2, mail_url="null://",
                                             env={"METRICS_TOKEN": TOKEN})
    assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401
    offer_id = make_offer_for_load(server.engine, 5)
    before = scrape(server.url)
    # A new connection each: SO_REUSEPORT spreads them over both workers.
    for _ in range(30):
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    load = SignupLoad(urls=[server.url], offer_id=offer_id, threads=4, tag="metriek")
    load.run(8)
    assert sum(attempt.acknowledged for attempt in load.attempts) == 8
    after = scrape(server.url)

    healthz = ("wijkwerf_http_requests_total",
               {"method": "GET", "route": "/healthz", "status": "200"})
    assert after.get(healthz[0], **healthz[1]) - before.get(healthz[0], **healthz[1]) == 30
    signed = sum(after.get("wijkwerf_signups_total", outcome=outcome)
                 - before.get("wijkwerf_signups_total", outcome=outcome)
                 for outcome in ("registered", "waitlisted"))
    assert signed == 8
    assert after.get("wijkwerf_signups_total", outcome="waitlisted") - before.get(
        "wijkwerf_signups_total", outcome="waitlisted") == 3  # capacity 5
    assert after.get("wijkwerf_outbox_due") >= 0


# --- PostgreSQL stops mid-request ------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@dataclass
class Cluster:
    """A PostgreSQL cluster of this test's own, to stop and start under a running server."""

    bin: Path
    directory: Path
    port: int
    run_as: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/wijkwerf"

    def ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"),
                        "-l", str(self.directory / "postgres.log"), "-w", "-t", "60", *args],
                       check=True, capture_output=True, timeout=90, cwd=self.directory)

    def start(self) -> None:
        self.ctl("-o", f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                 f"-c unix_socket_directories={self.directory} -c fsync=off", "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")  # ends every session, mid-statement ones too


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _postgres_bin()
    if pg_bin is None:
        skip_or_fail("PostgreSQL binaries not found under /usr/lib/postgresql")
        raise AssertionError  # skip_or_fail does not return
    # Not under pytest's tmp_path: its parents are private to root, and postgres runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="wijkwerf-outage-pg-"))
    directory.chmod(0o755)
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(directory, "postgres")
    subprocess.run([*run_as, str(pg_bin / "initdb"), "-D", str(directory / "data"), "-U",
                    "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                   check=True, capture_output=True, timeout=120, cwd=directory)
    found = Cluster(pg_bin, directory, free_port(), run_as)
    found.start()
    subprocess.run([*run_as, str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p",
                    str(found.port), "-U", "postgres", "wijkwerf"], check=True,
                   capture_output=True, timeout=60, cwd=directory)
    try:
        yield found
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            found.ctl("-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)


def test_postgresql_stopping_mid_request_gives_503s_and_the_server_recovers_by_itself(
    cluster: Cluster, live_server_factory: Any, smtp_sink: SmtpSink,
) -> None:
    env = server_environment(database_url=cluster.url, base_url="http://127.0.0.1",
                             mail_url="null://")
    run_cli("migrate", env=env)
    server: LiveServer = live_server_factory(database_url=cluster.url)
    offer_id = make_offer_for_load(server.engine, 1000)
    offers = f"/api/v1/campaigns/{_slug_of(server, offer_id)}/offers"
    server.engine.dispose()

    answers: list[int] = []
    stop_load = threading.Event()

    def browse() -> None:  # reads and sign-ups in flight while the database goes away
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop_load.is_set():
                answers.append(client.get(offers).status_code)

    readers = [threading.Thread(target=browse) for _ in range(3)]
    for reader in readers:
        reader.start()
    load = SignupLoad(urls=[server.url], offer_id=offer_id, threads=4, tag="storing")
    writer = threading.Thread(target=load.run, args=(10_000,),
                              kwargs={"seconds": 6.0})
    writer.start()
    time.sleep(1.5)
    cluster.stop()
    time.sleep(2.0)
    down = httpx.get(f"{server.url}/healthz", timeout=30)
    page = httpx.get(f"{server.url}/wijken/iets", timeout=30)
    stop_load.set()
    writer.join(60)
    for reader in readers:
        reader.join(60)

    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert down.json()["database"] == "unreachable" and down.json()["reason"]
    assert page.status_code == 503 and "even niet bereiken" in page.text
    statuses = {*answers, *(attempt.status_code for attempt in load.attempts)}
    assert 503 in statuses and 500 not in statuses, sorted(statuses, key=str)
    # No hang or broken connection (None), no 500, nothing else.
    assert statuses <= {200, 201, 503}, [(a.status_code, a.error) for a in load.attempts
                                         if a.status_code not in (200, 201, 503)]
    acknowledged = [attempt for attempt in load.attempts if attempt.acknowledged]
    assert acknowledged

    cluster.start()
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/healthz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover within 30 s"
        time.sleep(0.2)
    # Every pooled connection died with the server: the next requests reconnect, the sign-up
    # writer and the mail sender go on, and nothing acknowledged before the stop is lost.
    for _ in range(10):
        assert httpx.get(f"{server.url}{offers}", timeout=30).status_code == 200
    after = httpx.post(f"{server.url}/api/v1/offers/{offer_id}/participations",
                       json=signup_body(90_000, "daarna"), timeout=30)
    assert after.status_code == 201, after.text
    assert smtp_sink.wait_for_recipient("daarna-90000@example.be", timeout=20)
    stored = {row.email for row in stored_signups(server.engine, offer_id)}
    assert {attempt.email for attempt in acknowledged} <= stored
