# ruff: noqa: S603, S607
"""The benchmark: wrk drives a real `wijkwerf serve` on 127.0.0.1 and every figure is compared
with a bare ASGI app served by uvicorn with the same flags, measured in the same run.

    make bench                       # everything, < 10 minutes
    .venv/bin/python -m bench --quick            # 3 s per run, < 3 minutes
    .venv/bin/python -m bench --only wijk,offer  # some scenarios (bench/results/ only)
    .venv/bin/python -m bench --configs sqlite:2 --duration 5 --runs 3

Configurations: SQLite with 1 and 2 workers, PostgreSQL with 2 workers (a private throwaway
cluster; skipped with a clear line when PostgreSQL is not installed). 64 connections, 2 wrk
threads. Results: a table on stdout, docs/BENCHMARKS.md, and bench/results/latest.json.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import dataset, servers, wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"

# Issue 6's targets: 2 workers, SQLite, 64 connections.
TARGETS = {
    "wijk": (10.0, 100.0),
    "offer": (10.0, 100.0),
    "signup-room": (3.0, 250.0),
    "signup-hot": (3.0, 250.0),
}
TARGET_CONFIG = ("sqlite", 2)
# After a run, how long the server may take to answer /healthz again before it is restarted.
SETTLE_SECONDS = 10.0
CSRF_COOKIE = "ww_csrf=bench0000000000000000000000000000000000000000"


@dataclass
class Scenario:
    name: str
    label: str
    path: Callable[[dataset.BenchData], str]
    headers: Callable[[dataset.BenchData], dict[str, str]] = lambda _d: {}
    expected: frozenset[int] = frozenset({200})
    signup: str | None = None  # "room" or "hot"


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"ww_session={token}; {CSRF_COOKIE}"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


SCENARIOS = [
    Scenario("home", "GET / (open wijken)", lambda d: "/"),
    Scenario("wijk", "wijk page", lambda d: f"/wijken/{d.slug}"),
    Scenario("offer", "offer page", lambda d: f"/wijken/{d.slug}/aanbod/{d.room_offer_id}"),
    # The path is found on the offer page (the element that polls with hx-trigger="every ...").
    Scenario("counter", "live-counter fragment (htmx)", lambda d: "", lambda d: {
        "HX-Request": "true"}, frozenset({200, 286})),
    Scenario("signup-room", "sign-up POST, offer with room",
             lambda d: f"/api/v1/offers/{d.room_offer_id}/participations",
             expected=frozenset({201}), signup="room"),
    Scenario("signup-hot", f"sign-up POST, hot offer (capacity {dataset.HOT_CAPACITY})",
             lambda d: "/api/v1/offers/{hot}/participations", expected=frozenset({201}),
             signup="hot"),
    Scenario("mijn", "/mijn, resident logged in", lambda d: "/mijn",
             lambda d: _cookie(d.resident_web_token)),
    Scenario("households-page", "staff household list page, filtered (10,000)",
             lambda d: f"/beheer/wijken/{d.slug}/huishoudens?{dataset.HOUSEHOLD_FILTER}",
             lambda d: _cookie(d.staff_web_token)),
    Scenario("households-api", "staff household list API, filtered (10,000)",
             lambda d: f"/api/v1/campaigns/{d.slug}/households?{dataset.HOUSEHOLD_FILTER}",
             lambda d: _bearer(d.staff_api_token)),
    Scenario("comparison-page", "quote comparison page (resident)",
             lambda d: f"/vergelijk/{d.quote_request_id}",
             lambda d: _cookie(d.resident_web_token)),
    Scenario("comparison-api", "quote comparison API (resident)",
             lambda d: f"/api/v1/quote-requests/{d.quote_request_id}/comparison",
             lambda d: _bearer(d.resident_api_token)),
]
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Row:
    scenario: str
    label: str
    database: str
    workers: int
    rps: float | None = None
    ratio_pct: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    requests: int = 0
    runs: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    note: str = ""
    path: str = ""
    reference: float | None = None  # the bare ASGI req/s this row's ratio is taken against

    @property
    def measured(self) -> bool:
        return self.rps is not None


@dataclass
class Options:
    quick: bool
    duration: int
    # Scenarios without a target are measured for this long (the targets for `duration`).
    other_duration: int
    runs: int
    target_runs: int
    reference_runs: int
    warmup: int
    budget: float
    only: set[str] | None
    configs: list[tuple[str, int]]
    write_markdown: bool
    # Run bench/scale.py (100,000 households, 1,000,000 interests) after the load scenarios.
    scale: bool = False
    # Seconds kept free after a run for probing, settling and restarting a server.
    margin: float = 15.0


class Budget:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds

    def allows(self, seconds: float) -> bool:
        return time.monotonic() + seconds < self.deadline

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per run, one run each")
    parser.add_argument("--only", default="", help="comma-separated scenarios: "
                        + ", ".join(BY_NAME))
    parser.add_argument("--duration", type=int, default=None, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per scenario (median); default 1, 2 for the targets")
    parser.add_argument("--configs", default="sqlite:1,sqlite:2,postgresql:2",
                        help="database:workers list (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=None,
                        help="stop starting new runs after this many seconds")
    parser.add_argument("--write", action="store_true",
                        help="write docs/BENCHMARKS.md even with --only or --configs")
    parser.add_argument("--no-write", action="store_true", help="never write docs/BENCHMARKS.md")
    parser.add_argument("--scale", action=argparse.BooleanOptionalAction, default=None,
                        help="the scale benchmark (100,000 households) after the load "
                             "scenarios; default: on for a full run")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()} or None
    unknown = (only or set()) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    configs = []
    for item in args.configs.split(","):
        database, _, workers = item.strip().partition(":")
        if database not in {"sqlite", "postgresql"} or not workers.isdigit():
            parser.error(f"--configs: {item!r} is not database:workers")
        configs.append((database, int(workers)))
    quick = args.quick
    duration = args.duration or (3 if quick else 8)
    other_duration = args.duration or 3
    runs = args.runs or 1
    target_runs = args.runs or (1 if quick else 2)
    partial = only is not None or args.configs != parser.get_default("configs")
    scale = args.scale if args.scale is not None else not (quick or partial)
    return Options(
        quick=quick, duration=duration, other_duration=other_duration, runs=runs,
        target_runs=target_runs,
        reference_runs=1 if quick else 2, warmup=0 if quick else 1,
        budget=args.budget or (170.0 if quick else 590.0), only=only, configs=configs,
        scale=scale,
        write_markdown=not args.no_write and (args.write or not partial),
        margin=9.0 if quick else 15.0,
    )


# --- measuring ---------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def summarise(row: Row, results: list[wrk.WrkResult], expected: frozenset[int],
              reference: float | None) -> None:
    if not results:
        row.note = row.note or "skipped (time budget)"
        return
    row.runs = [r.requests_per_second for r in results]
    row.rps = statistics.median(row.runs)
    row.p50_ms = statistics.median(r.p50_ms for r in results)
    row.p99_ms = statistics.median(r.p99_ms for r in results)
    row.errors = sum(r.unexpected(set(expected)) for r in results)
    row.requests = sum(r.requests for r in results)
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    row.statuses = statuses
    if reference:
        row.reference = reference
        row.ratio_pct = 100.0 * row.rps / reference
    if row.requests == 0:
        # wrk counts nothing for requests still waiting when the run ends.
        row.errors = max(row.errors, wrk.CONNECTIONS)
        if "stalled" not in row.note:
            add_note(row, "no request was answered during the run")


def warm_up(url: str, headers: dict[str, str], seconds: int,
            signup: dict[str, str] | None) -> wrk.WrkResult | None:
    """Warm every worker up; with `seconds`, wrk's report of the warm-up (64 connections)."""
    if seconds > 0:
        return wrk.run(url, duration=seconds, headers=headers, signup=signup)
    # Quick mode: a few requests on a handful of connections, so every worker has compiled its
    # templates and opened its database connections before the clock runs.
    def hit(_index: int) -> None:
        with httpx.Client(timeout=10, headers=headers) as client:
            for n in range(3):
                try:
                    if signup:
                        client.post(url + signup["path"], json=_probe_signup(
                            f"warm{_index}-{n}-{signup['tag']}", signup["postcode"]))
                    else:
                        client.get(url)
                except httpx.HTTPError:
                    pass

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return None


def _probe_signup(tag: str, postcode: str) -> dict[str, Any]:
    return {"household": {"name": "Bench Probe", "email": f"probe-{tag}@example.be",
                          "street": f"Probestraat {tag}", "house_number": "1",
                          "postcode": postcode},
            "quantity": 10, "consent": True}


def find_counter_path(base_url: str, data: dataset.BenchData) -> str | None:
    """The URL the offer page (or else the wijk page) polls with hx-trigger="every ..."."""
    for page in (f"/wijken/{data.slug}/aanbod/{data.room_offer_id}", f"/wijken/{data.slug}"):
        try:
            html = httpx.get(base_url + page, timeout=10).text
        except httpx.HTTPError:
            continue
        for tag in re.findall(r"<[^>]+>", html):
            if re.search(r'hx-trigger="[^"]*every', tag):
                found = re.search(r'hx-get="([^"]+)"', tag)
                if found:
                    return found.group(1).replace("&amp;", "&")
    return None


# --- one database configuration ----------------------------------------------------------------


@dataclass
class Prepared:
    url: str
    data: dataset.BenchData
    engine_url: str


def prepare_sqlite(template: Prepared, directory: Path, name: str) -> Prepared:
    target = directory / f"{name}.db"
    source_path = template.url.removeprefix("sqlite:///")
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    url = f"sqlite:///{target}"
    return Prepared(url=url, data=template.data, engine_url=url)


def prepare_database(url: str, hot_offers: int) -> Prepared:
    env = servers.server_env(url, 0)
    servers.run_cli("migrate", env=env)
    data = dataset.seed(url, hot_offers=hot_offers)
    return Prepared(url=url, data=data, engine_url=url)


def signup_integrity(engine_url: str, tag: str, offer_id: int, capacity: int | None,
                     result: wrk.WrkResult) -> str:
    """What the database holds after a sign-up run: rows of this run, and for the hot offer
    whether registered stayed within capacity."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(engine_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text(
                "SELECT count(*) FROM participation p JOIN household h ON h.id = p.household_id "
                "WHERE h.street = :street AND p.offer_id = :offer"),
                {"street": f"Benchstraat {tag}", "offer": offer_id}).scalar_one()
            registered = connection.execute(text(
                "SELECT count(*) FROM participation WHERE offer_id = :offer "
                "AND status = 'registered'"), {"offer": offer_id}).scalar_one()
    finally:
        engine.dispose()
    acknowledged = result.statuses.get(201, 0)
    note = f"201: {acknowledged:,} ({result.waitlisted:,} waitlisted), stored {stored:,}"
    # wrk stops with up to 64 requests in flight: those may be stored without an answer.
    if stored < acknowledged:
        note += f" LOST {acknowledged - stored}!"
    elif stored - acknowledged > wrk.CONNECTIONS:
        note += " (more stored than answered + in flight!)"
    if capacity is not None:
        note += f", registered {registered}/{capacity}"
        if registered > capacity:
            note += " OVERBOOKED!"
    drained = wait_for_outbox(engine_url, MAIL_DRAIN_SECONDS)
    note += (f"; every confirmation mail sent {drained:.1f} s after the run" if drained is not None
             else f"; mails still queued {MAIL_DRAIN_SECONDS:.0f} s after the run")
    return note


# The sender holds confirmation mails back during a rush (app.services.mail.RUSH_MAX_DELAY);
# each sign-up run waits for its mails, so the next run starts with an empty outbox.
MAIL_DRAIN_SECONDS = 20.0


def wait_for_outbox(engine_url: str, limit: float) -> float | None:
    """Seconds until no mail is pending any more, or None after `limit` seconds."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(engine_url, poolclass=NullPool)
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit:
            with engine.connect() as connection:
                if not connection.execute(text(
                        "SELECT count(*) FROM outbox_mail WHERE status = 'pending'")).scalar_one():
                    return time.monotonic() - started
            time.sleep(0.25)
    finally:
        engine.dispose()
    return None


def run_config(database: str, workers: int, prepared: Prepared, options: Options,
               budget: Budget, reference: Callable[[], float | None], log_dir: Path,
               rows: list[Row]) -> None:
    label = f"{database}, {workers} worker{'s' if workers > 1 else ''}"
    scenarios = [s for s in SCENARIOS if options.only is None or s.name in options.only]
    pending = [Row(s.name, s.label, database, workers) for s in scenarios]
    rows.extend(pending)
    if not budget.allows(30):
        for row in pending:
            row.note = "skipped (time budget)"
        return
    log(f"\n== {label}: starting wijkwerf serve")
    name = f"{database}-{workers}w"
    server = servers.start_wijkwerf(prepared.url, workers, log_dir, name=name)
    hot_offers = iter(prepared.data.hot_offer_ids)
    try:
        for scenario, row in zip(scenarios, pending, strict=True):
            runs = options.target_runs if (
                (database, workers) == TARGET_CONFIG and scenario.name in TARGETS
            ) else options.runs
            errors_before = server_errors(server)
            stalled = run_scenario(scenario, row, server, prepared, options, budget, runs,
                                   hot_offers)
            if row.measured:
                summarise(row, row_results.pop(id(row), []), scenario.expected, reference())
            # Requests wrk gave up on may still be queued in the server: wait until it answers
            # again, so they do not slow down the next scenario; restart it if it does not.
            waited = None if stalled else settle(server, limit=SETTLE_SECONDS)
            if waited is None:
                if not stalled:
                    add_note(row, f"server did not answer /healthz within {SETTLE_SECONDS:.0f} "
                                  "s after the run (stalled): restarted")
                server.kill()  # a stalled server may not stop on SIGTERM for a long time
                server = servers.start_wijkwerf(prepared.url, workers, log_dir, name=name)
            elif waited > 2:
                add_note(row, f"server answered /healthz only {waited:.0f} s after the run "
                              "(requests still queued)")
            logged = server_errors(server) - errors_before
            if logged:
                add_note(row, f"{logged} error(s) with traceback in the server log")
            log(format_line(row) if row.measured else f"   {scenario.name:<16} {row.note}")
    finally:
        server.kill()
        log(f"   server log: {server.log_path}")


def add_note(row: Row, note: str) -> None:
    row.note = "; ".join(filter(None, [row.note, note]))


def server_errors(server: servers.Process) -> int:
    return server.log_tail(10_000_000).count("Traceback (most recent call last)")


def settle(server: servers.Process, limit: float) -> float | None:
    """Seconds until /healthz answers within 2 s again, or None after `limit` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return None


row_results: dict[int, list[wrk.WrkResult]] = {}


def run_scenario(scenario: Scenario, row: Row, server: servers.Process, prepared: Prepared,
                 options: Options, budget: Budget, runs: int, hot_offers: Any) -> bool:
    """Probe, warm up and measure one scenario; leaves the wrk results in `row_results`.
    True when the server stopped answering (it is then restarted before the next scenario)."""
    data = prepared.data
    headers = scenario.headers(data)
    path = scenario.path(data)
    if scenario.name == "counter":
        found = find_counter_path(server.url, data)
        if found is None:
            row.note = 'n/a (no element polls with hx-trigger="every ...")'
            return False
        path = found
    row.path = path
    # Probe once: a route that is not there yet is reported, not measured.
    probe_url = server.url + path.replace("{hot}", str(data.room_offer_id))
    try:
        if scenario.signup:
            probe = httpx.post(probe_url, headers=headers, timeout=15,
                               json=_probe_signup(secrets.token_hex(3), data.postcode))
        else:
            probe = httpx.get(probe_url, headers=headers, timeout=15)
    except httpx.HTTPError as error:
        row.note = f"probe failed: {error!r}"
        return settle(server, 5) is None
    if probe.status_code in (404, 405):
        row.note = f"n/a ({probe.status_code})"
        return False
    if probe.status_code not in scenario.expected:
        row.note = f"probe answered {probe.status_code} (measured anyway)"
    is_target = (row.database, row.workers) == TARGET_CONFIG and scenario.name in TARGETS
    duration = options.duration if is_target else options.other_duration
    if not budget.allows(duration + options.warmup + options.margin):
        row.note = "skipped (time budget)"
        return False

    def signup_spec() -> dict[str, str]:
        offer = data.room_offer_id if scenario.signup == "room" else next(hot_offers, None)
        if offer is None:
            raise RuntimeError("no fresh hot offer left for this run")
        return {"path": path.replace("{hot}", str(offer)), "tag": secrets.token_hex(4),
                "postcode": data.postcode}

    if scenario.signup != "hot":  # the hot offer's path is warmed up by the one with room
        warm_spec = signup_spec() if scenario.signup else None
        warm = warm_up(server.url + ("/" if warm_spec else path), headers, options.warmup,
                       warm_spec)
        if warm is not None and warm.requests == 0 and settle(server, 5) is None:
            # Nothing answered in the warm-up and the server no longer answers at all: measuring
            # would only wait for it again. Report the warm-up.
            row_results[id(row)] = [warm]
            row.rps = 0.0
            row.note = "; ".join(filter(None, [
                row.note, f"stalled: no answer to {wrk.CONNECTIONS} connections in the "
                          f"{options.warmup} s warm-up, and /healthz stopped answering "
                          "(the server was restarted; not measured further)"]))
            return True
        # The warm-up leaves up to 64 requests queued in a slow server: let them finish first.
        settle(server, SETTLE_SECONDS)
    results = []
    notes = []
    for _run in range(runs):
        if not budget.allows(duration + options.margin):
            break
        if scenario.signup:
            spec = signup_spec()
            result = wrk.run(server.url + "/", duration=duration, headers=headers,
                             signup=spec)
            offer_id = int(spec["path"].split("/")[4])
            capacity = dataset.HOT_CAPACITY if scenario.signup == "hot" else None
            notes.append(signup_integrity(prepared.engine_url, spec["tag"], offer_id, capacity,
                                          result))
        else:
            result = wrk.run(server.url + path, duration=duration, headers=headers)
        results.append(result)
    if not results:
        row.note = "skipped (time budget)"
        return False
    row.rps = results[0].requests_per_second  # marks the row measured; summarise() sets it
    row_results[id(row)] = results
    row.note = "; ".join(filter(None, [row.note, *notes]))
    return all(result.requests == 0 for result in results) and settle(server, 3) is None


# --- output ------------------------------------------------------------------------------------


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else format(value, pattern)


def format_line(row: Row) -> str:
    if not row.measured:
        return f"   {row.scenario:<16} {row.note}"
    runs = "" if len(row.runs) < 2 else f"  runs {', '.join(f'{r:,.0f}' for r in row.runs)}"
    return (f"   {row.scenario:<16} {row.rps:>9,.0f} req/s {row.ratio_pct or 0:>6.2f} %  "
            f"p50 {row.p50_ms:>7.1f} ms  p99 {row.p99_ms:>7.1f} ms  errors {row.errors}{runs}"
            + (f"  [{row.note}]" if row.note else ""))


def target_verdicts(rows: list[Row]) -> list[dict[str, Any]]:
    verdicts = []
    for name, (min_pct, max_p99) in TARGETS.items():
        row = next((r for r in rows if r.scenario == name and
                    (r.database, r.workers) == TARGET_CONFIG), None)
        if row is None or not row.measured:
            verdict = "not measured" + (f" ({row.note})" if row and row.note else "")
        else:
            ok = (row.ratio_pct or 0) >= min_pct and (row.p99_ms or 1e9) < max_p99 and \
                row.errors == 0
            verdict = "PASS" if ok else "FAIL"
        verdicts.append({"scenario": name, "label": BY_NAME[name].label, "min_pct": min_pct,
                         "max_p99_ms": max_p99, "row": row, "verdict": verdict})
    return verdicts


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    info["nproc"] = str(os.cpu_count())
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        info["cpu"] = model
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "?"
    try:
        info["os"] = Path("/etc/os-release").read_text().split('PRETTY_NAME="')[1].split('"')[0]
    except (OSError, IndexError):
        info["os"] = platform.platform()
    info["kernel"] = platform.release()
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    pg = servers.find_pg_bin()
    if pg:
        out = subprocess.run([str(pg / "postgres"), "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
        info["postgresql"] = out.removeprefix("postgres ").strip()
    else:
        info["postgresql"] = "not installed"
    info["wrk"] = wrk.wrk_version()
    try:
        import uvicorn

        info["uvicorn"] = uvicorn.__version__
    except ImportError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=ROOT, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=ROOT, check=False).stdout
        info["commit"] = commit + (" (with uncommitted changes)" if dirty.strip() else "")
    except OSError:
        pass
    return info


def print_table(rows: list[Row], reference: float | None) -> None:
    log("\n" + "=" * 112)
    log(f"bare ASGI, 1 worker: {reference:,.0f} req/s (median of the run); each configuration's "
        "ratios are taken against the bare runs measured right before it" if reference else
        "bare ASGI reference: not measured")
    log(f"{'scenario':<17}{'database':<12}{'w':>2} {'req/s':>10} {'% bare':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7}  note")
    for row in rows:
        if row.measured:
            log(f"{row.scenario:<17}{row.database:<12}{row.workers:>2} {row.rps:>10,.0f} "
                f"{row.ratio_pct or 0:>7.2f}% {row.p50_ms:>8.1f} {row.p99_ms:>8.1f} "
                f"{row.errors:>7}  {row.note}")
        else:
            log(f"{row.scenario:<17}{row.database:<12}{row.workers:>2} {'':>10} {'':>8} {'':>8} "
                f"{'':>8} {'':>7}  {row.note}")


def scale_section(scale_rows: list[dict[str, Any]]) -> list[str]:
    """The scale benchmark's rows (bench/scale.py), or nothing when it did not run."""
    if not scale_rows:
        return []
    lines = [
        "## Scale: 100,000 households and 1,000,000 klimaattafel answers",
        "",
        "`bench/scale.py` (also `python -m bench.scale`) builds one organisation's wijk with "
        "100,000 households (160 streets, 0.5 % erased), about 26 % signed up for one or two of "
        "six offers with their status history, and 1,010,000 klimaattafel answers, in a fresh "
        "database migrated with `wijkwerf migrate` and filled with bulk inserts. Each scenario "
        "is requested 20 times over HTTP from `wijkwerf serve` (1 worker, a staff session): "
        "'cold' is 20 different pages, 'warm' 20 repeats of one page after 3 warm-up requests. "
        "Target: p95 under 300 ms (issue 6, point 7).",
        "",
        "| scenario | database | median | p95 | target | verdict | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in scale_rows:
        median = "—" if row.get("median_ms") is None else f"{row['median_ms']:,.0f} ms"
        p95 = "—" if row.get("p95_ms") is None else f"{row['p95_ms']:,.0f} ms"
        target = row.get("target_ms")
        lines.append(f"| {row['scenario']} | {row['database']} | {median} | {p95} | "
                     f"{'—' if target is None else f'< {target:,.0f} ms'} | {row['verdict']} | "
                     f"{row.get('note') or ''} |")
    return [*lines, ""]


def write_markdown(rows: list[Row], reference_runs: list[float], reference: float | None,
                   info: dict[str, str], options: Options, started: datetime, seconds: float,
                   load: tuple[tuple[float, ...], tuple[float, ...]], skipped: list[str],
                   scale_rows: list[dict[str, Any]] | None = None) -> str:
    verdicts = target_verdicts(rows)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`"
        + (" --quick" if options.quick else "") + f") on {started:%Y-%m-%d %H:%M} UTC, "
        f"in {seconds:.0f} s. Do not edit by hand: run `make bench` again.",
        "",
        "Every figure is a share of what a **bare ASGI app** (`bench/bare_asgi.py`, answering "
        "`ok`) serves on the same machine in the same run, with uvicorn started with the same "
        "flags as `wijkwerf serve`; absolute numbers are beside it. The load generator (wrk) "
        "runs on the same machine as the server, and other work on the machine during the run "
        "moves the absolute numbers: compare ratios.",
        "",
        "## Targets (issue 6: SQLite, 2 workers, 64 connections)",
        "",
        "| target | required | measured | verdict |",
        "|---|---|---|---|",
    ]
    for v in verdicts:
        row = v["row"]
        measured = "—" if row is None or not row.measured else (
            f"{row.ratio_pct:.2f} % ({row.rps:,.0f} req/s), p99 {row.p99_ms:.0f} ms, "
            f"{row.errors} errors")
        lines.append(f"| {v['label']} | ≥ {v['min_pct']:.0f} % of bare ASGI, p99 < "
                     f"{v['max_p99_ms']:.0f} ms, no errors | {measured} | **{v['verdict']}** |")
    ref_text = (f"{reference:,.0f} req/s (median of {len(reference_runs)} runs: "
                f"{', '.join(f'{r:,.0f}' for r in reference_runs)})" if reference else "—")
    per_config: dict[tuple[str, int], float] = {}
    for row in rows:
        if row.reference and row.database != "—":
            per_config.setdefault((row.database, row.workers), row.reference)
    config_text = "; ".join(f"{db}, {w} worker{'s' if w > 1 else ''}: {r:,.0f} req/s"
                            for (db, w), r in per_config.items())
    lines += [
        "",
        "## Results",
        "",
        "The bare ASGI app is measured at the start and (except with --quick) again right before "
        "each configuration; a configuration's ratios are taken against the bare figure measured "
        "right before it "
        f"({config_text}). All bare runs, 1 worker: **{ref_text}**. "
        f"64 connections, 2 wrk threads; target rows are the median of {options.target_runs} "
        f"run(s) of {options.duration} s, the others {options.runs} run(s) of "
        f"{options.other_duration} s.",
        "",
        "| scenario | database | workers | req/s | % of bare ASGI | p50 | p99 | errors | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.measured:
            runs = "" if len(row.runs) < 2 else f"runs: {', '.join(f'{r:,.0f}' for r in row.runs)}"
            note = "; ".join(filter(None, [row.note, runs]))
            lines.append(
                f"| {row.label} | {row.database} | {row.workers} | {row.rps:,.0f} | "
                f"{row.ratio_pct:.2f} % | {row.p50_ms:.1f} ms | {row.p99_ms:.1f} ms | "
                f"{row.errors} | {note} |")
        else:
            lines.append(f"| {row.label} | {row.database} | {row.workers} | — | — | — | — | — | "
                         f"{row.note} |")
    for message in skipped:
        lines.append(f"\n{message}")
    lines += [
        "",
        "Errors are answers other than the expected status (200 for pages, 200/286 for the "
        "polled counters, 201 for sign-ups: a 201 with `\"status\": \"waitlisted\"` is an "
        "expected answer) plus connection errors and timeouts (10 s). After each sign-up run the "
        "database is checked: rows stored for that run against the 201s seen (wrk stops with up "
        "to 64 requests in flight, which may be stored without an answer), and for the hot offer "
        "that registered sign-ups never exceed its capacity.",
        "",
        *scale_section(scale_rows or []),
        "## Machine",
        "",
    ]
    for key, value in info.items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- load average (1, 5, 15 min) at start: "
                 f"{', '.join(f'{x:.2f}' for x in load[0])}; at the end: "
                 f"{', '.join(f'{x:.2f}' for x in load[1])}")
    lines += [
        f"- date: {started:%Y-%m-%d %H:%M:%S} UTC",
        "",
        "## How it is measured",
        "",
        "- The server under test is `wijkwerf serve --host 127.0.0.1 --workers N` with "
        "`WIJKWERF_ENV=production`, `MAIL_URL=null://` (mail is rendered and recorded as sent, "
        "not delivered), its own freshly migrated database and the data of `bench/dataset.py`: "
        "one wijk with three offers, 10,000 households (2,700 signed up) and a quote group of 12 "
        "with three quotes; a second wijk with small offers (capacity "
        f"{dataset.HOT_CAPACITY}) of which every hot sign-up run gets a fresh one.",
        "- SQLite: a file in WAL mode, as the app configures it. PostgreSQL: a private throwaway "
        "cluster (initdb in a temporary directory, on 127.0.0.1) with default settings (fsync "
        "and synchronous_commit on) except max_connections=200.",
        "- Anonymous pages are requested without cookies (a first visit, as after a newspaper "
        "article); the logged-in pages carry the session cookie (a session row inserted with the "
        "token's hash, as a magic-link log-in leaves it) or a bearer token.",
        "- Sign-ups: every request is a new household (unique street, house number and box per "
        "run and wrk thread, postcode of the wijk, consent true, an email address, so every "
        "sign-up also queues a confirmation mail).",
        f"- The staff household list is filtered with `{dataset.HOUSEHOLD_FILTER}` over the "
        "10,000 households (about 500 match).",
        "- Each scenario is warmed up before it is measured (1 s of wrk; a few requests with "
        "--quick).",
        "- `make bench` stops starting new runs when its time budget is spent (590 s, of which "
        f"{SCALE_RESERVE:.0f} s are kept for the scale benchmark; 170 s with --quick) and kills "
        "the servers it started; such rows say `skipped (time budget)`. "
        "The configuration with the targets runs first, then PostgreSQL, then SQLite with "
        "1 worker.",
        "",
    ]
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------


# Seconds of the budget kept for the scale benchmark (SQLite about 95 s, PostgreSQL about 105 s
# with its dataset build; measured over HTTP only).
SCALE_RESERVE = 205.0


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    budget = Budget(options.budget - (SCALE_RESERVE if options.scale else 0.0))
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    wrk.ensure_wrk()
    log_dir = Path(tempfile.mkdtemp(prefix="wijkwerf-bench-"))
    work_dir = Path(tempfile.mkdtemp(prefix="wijkwerf-bench-db-"))

    def interrupted(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    rows: list[Row] = []
    reference_runs: list[float] = []
    skipped: list[str] = []
    info = machine()
    log(f"wijkwerf bench ({'quick' if options.quick else 'full'}): {options.duration} s per run, "
        f"64 connections; machine: {info['nproc']} cores, load {load_start[0]:.2f}; "
        f"server logs in {log_dir}")

    # Each configuration's ratios are taken against the bare ASGI runs measured right before it
    # (the machine's other load drifts during a run of several minutes).
    latest_reference: list[float] = []

    def reference() -> float | None:
        runs = latest_reference or reference_runs
        return statistics.median(runs) if runs else None

    def measure_bare(workers: int, runs: int) -> list[wrk.WrkResult]:
        process = servers.start_bare(workers, log_dir)
        try:
            wrk.run(process.url + "/", duration=1)
            results = []
            for _ in range(runs):
                if not budget.allows(options.duration + 10):
                    break
                results.append(wrk.run(process.url + "/", duration=options.duration))
            return results
        finally:
            process.stop()

    cluster: servers.PostgresCluster | None = None
    try:
        log("\n== bare ASGI reference (uvicorn, same flags as wijkwerf serve)")
        reference_runs += [r.requests_per_second for r in measure_bare(1, options.reference_runs)]
        latest_reference[:] = reference_runs
        log(f"   bare 1 worker: {', '.join(f'{r:,.0f}' for r in reference_runs)} req/s")
        bare_two: list[wrk.WrkResult] = []
        if not options.quick and options.only is None:
            bare_two = measure_bare(2, 1)

        needs_sqlite = any(db == "sqlite" for db, _ in options.configs)
        needs_pg = any(db == "postgresql" for db, _ in options.configs)
        hot_needed = max(options.runs, options.target_runs) + 1
        template: Prepared | None = None
        if needs_sqlite:
            log("\n== preparing the SQLite database (migrate, 10,000 households)")
            template = prepare_database(f"sqlite:///{work_dir / 'template.db'}", hot_needed)
        pg_url: str | None = None
        if needs_pg:
            pg_bin = servers.find_pg_bin()
            if pg_bin is None:
                message = ("PostgreSQL: SKIPPED, PostgreSQL is not installed (no "
                           "/usr/lib/postgresql/*/bin/postgres); install it with "
                           "`apt-get install postgresql` to measure it.")
                log("\n== " + message)
                skipped.append(message)
            elif not budget.allows(90):
                skipped.append("PostgreSQL: skipped (time budget)")
            else:
                log(f"\n== starting a private PostgreSQL cluster ({pg_bin})")
                cluster = servers.PostgresCluster(pg_bin)
                cluster.start()
                pg_url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}"

        # The configuration with the targets first, then PostgreSQL, so that a tight time
        # budget (a busy machine) drops the least telling configuration: SQLite, 1 worker.
        order = sorted(options.configs, key=lambda config: (
            config != TARGET_CONFIG, config[0] != "postgresql"))
        for index, (database, workers) in enumerate(order):
            if index > 0 and not options.quick and budget.allows(options.duration + 60):
                more = [r.requests_per_second for r in measure_bare(1, 1)]
                reference_runs += more
                if more:
                    latest_reference[:] = more
                if more:
                    log(f"\n== bare 1 worker (re-measured): {more[0]:,.0f} req/s")
            if database == "sqlite":
                assert template is not None
                prepared = prepare_sqlite(template, work_dir, f"sqlite{workers}w{index}")
            else:
                if pg_url is None:
                    continue
                if not budget.allows(60):
                    skipped.append(f"PostgreSQL, {workers} workers: skipped (time budget)")
                    continue
                log("\n== preparing the PostgreSQL database (migrate, 10,000 households)")
                name = f"wijkwerf_bench_{index}"
                assert cluster is not None
                url = cluster.create_database(name)
                prepared = prepare_database(url, hot_needed)
            run_config(database, workers, prepared, options, budget, reference, log_dir, rows)

        scale_rows: list[dict[str, Any]] = []
        if options.scale:
            from bench import scale

            budget.deadline += SCALE_RESERVE
            if budget.allows(70):
                scale_rows += scale.run_scale("sqlite", min(95.0, budget.left() - 10),
                                              in_process=False, log_dir=log_dir, log=log)
            if pg_url is not None and budget.allows(100):
                scale_rows += scale.run_scale("postgresql", min(105.0, budget.left() - 5),
                                              pg_url=pg_url, in_process=False,
                                              log_dir=log_dir, log=log)
            scale.print_table(scale_rows, log)

        position = {config: n for n, config in enumerate(options.configs)}
        rows.sort(key=lambda row: position.get((row.database, row.workers), -1))
        ref = statistics.median(reference_runs) if reference_runs else None
        if bare_two:
            bare2 = Row("bare-asgi", "bare ASGI app (for comparison)", "—", 2)
            summarise(bare2, bare_two, frozenset({200}), statistics.median(
                reference_runs[:options.reference_runs]))
            bare2.note = "the reference is the 1-worker figure above"
            rows.insert(0, bare2)
        for row in rows:
            if row.rps is not None and row.reference is None and ref:
                row.reference = ref
                row.ratio_pct = 100.0 * row.rps / ref
        print_table(rows, ref)
        verdicts = target_verdicts(rows)
        log("\ntargets (SQLite, 2 workers, 64 connections):")
        for v in verdicts:
            log(f"   {v['label']:<44} ≥ {v['min_pct']:.0f} %, p99 < {v['max_p99_ms']:.0f} ms: "
                f"{v['verdict']}")
        seconds = budget.elapsed
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        payload = {"started": started.isoformat(), "seconds": seconds, "options": asdict(options),
                   "machine": info, "reference_runs": reference_runs, "reference": ref,
                   "rows": [asdict(r) for r in rows], "scale": scale_rows,
                   "targets": [{k: v for k, v in t.items() if k != "row"} for t in verdicts]}
        (RESULTS_DIR / "latest.json").write_text(json.dumps(payload, indent=2, default=str))
        if options.write_markdown:
            load_end = os.getloadavg()
            BENCHMARKS_MD.write_text(write_markdown(
                rows, reference_runs, ref, info, options, started, seconds,
                (load_start, load_end), skipped, scale_rows))
            log(f"\nwrote {BENCHMARKS_MD.relative_to(ROOT)} and bench/results/latest.json "
                f"in {seconds:.0f} s")
        else:
            log(f"\nwrote bench/results/latest.json in {seconds:.0f} s (docs/BENCHMARKS.md "
                "untouched: partial run; --write to write it anyway)")
        return 0
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        servers.stop_everything()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
