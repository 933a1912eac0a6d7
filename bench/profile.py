# ruff: noqa: S603, S607
"""Where the time goes in one benchmark scenario: py-spy samples the server's workers while wrk
drives the scenario, and the stacks are summed per function.

    .venv/bin/python -m bench.profile wijk
    .venv/bin/python -m bench.profile signup-hot --workers 2 --seconds 10

Needs py-spy (`pip install py-spy`, or point $PY_SPY at it): it attaches to the running
processes, so the server code is profiled as it runs, every thread included. The collapsed
stacks are written to bench/results/profile-SCENARIO-PID.txt (speedscope or flamegraph.pl read
them).
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import runner, servers, wrk

RESULTS = runner.RESULTS_DIR
# Threads parked here are waiting, not working (py-spy --nonblocking still samples them).
IDLE = {"Condition.wait", "Queue.get", "Event.wait", "select", "poll", "epoll"}


def find_py_spy() -> str | None:
    """$PY_SPY, py-spy on PATH, or next to this interpreter."""
    beside = Path(sys.executable).parent / "py-spy"
    return os.environ.get("PY_SPY") or shutil.which("py-spy") or (
        str(beside) if beside.exists() else None)


def summarise(paths: list[Path], top: int) -> str:
    total: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    samples = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [f for f in stack.split(";") if f and not f.startswith("process ")
                      and not f.startswith("thread ")]
            if not frames or frames[-1].split(" (")[0] in IDLE:
                continue
            samples += count
            leaf[frames[-1]] += count
            for frame in set(frames):
                total[frame] += count
    if not samples:
        return "no samples (was the server busy?)"
    lines = [f"{samples} samples of busy threads", "", "cumulative, app code:"]
    app = [(f, n) for f, n in total.most_common() if "/app/" in f or "(app/" in f]
    for frame, count in app[:top]:
        lines.append(f"  {100 * count / samples:5.1f} %  {frame}")
    lines += ["", "cumulative, everything:"]
    for frame, count in total.most_common(top):
        lines.append(f"  {100 * count / samples:5.1f} %  {frame}")
    lines += ["", "self (where the CPU is):"]
    for frame, count in leaf.most_common(top):
        lines.append(f"  {100 * count / samples:5.1f} %  {frame}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(runner.BY_NAME))
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    py_spy = find_py_spy()
    if py_spy is None:
        print("bench.profile needs py-spy: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    wrk.ensure_wrk()
    scenario = runner.BY_NAME[args.scenario]
    work = Path(tempfile.mkdtemp(prefix="wijkwerf-profile-"))
    cluster = None
    script: Path | None = None
    try:
        if args.database == "sqlite":
            prepared = runner.prepare_database(f"sqlite:///{work / 'profile.db'}", 2)
        else:
            pg_bin = servers.find_pg_bin()
            if pg_bin is None:
                print("PostgreSQL is not installed", file=sys.stderr)
                return 2
            cluster = servers.PostgresCluster(pg_bin)
            cluster.start()
            prepared = runner.prepare_database(cluster.create_database("wijkwerf_profile"), 2)
        server = servers.start_wijkwerf(prepared.url, args.workers, work, name="profile")
        data = prepared.data
        headers = scenario.headers(data)
        path = scenario.path(data)
        if scenario.name == "counter":
            path = runner.find_counter_path(server.url, data) or path
        spec = None
        if scenario.signup:
            offer = data.room_offer_id if scenario.signup == "room" else data.hot_offer_ids[0]
            spec = {"path": path.replace("{hot}", str(offer)), "tag": secrets.token_hex(4),
                    "postcode": data.postcode}
        runner.warm_up(server.url + ("/" if spec else path), headers, 0, spec and dict(
            spec, path=spec["path"].replace(str(data.hot_offer_ids[0]), str(data.room_offer_id))))
        # With several workers, the first process is uvicorn's supervisor: profile the workers.
        supervisor = server.popen.pid if server.popen and args.workers > 1 else None
        pids = [pid for pid in server.pids() if pid != supervisor]
        RESULTS.mkdir(parents=True, exist_ok=True)
        outputs = [RESULTS / f"profile-{scenario.name}-{pid}.txt" for pid in pids]
        script = wrk._script("signup", **spec) if spec else None
        load = subprocess.Popen(
            ["wrk", "-t2", "-c64", f"-d{args.seconds + 2}s", "--latency",
             *[item for name, value in headers.items() for item in ("-H", f"{name}: {value}")],
             *(["-s", str(script)] if script else []),
             server.url + ("/" if spec else path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        spies = [subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration",
                                   str(args.seconds), "--rate", "97", "--format", "raw",
                                   "--nonblocking", "-o", str(out)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for pid, out in zip(pids, outputs, strict=True)]
        for spy in spies:
            _out, err = spy.communicate(timeout=args.seconds + 60)
            if spy.returncode != 0:
                print(f"py-spy failed: {err.strip()}", file=sys.stderr)
        report, _ = load.communicate(timeout=args.seconds + 60)
        result = wrk.parse(report)
        print(f"{scenario.label}, {args.database}, {args.workers} worker(s): "
              f"{result.requests_per_second:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
              f"p99 {result.p99_ms:.1f} ms while profiled (py-spy slows it down)\n")
        print(summarise([o for o in outputs if o.exists()], args.top))
        print(f"\ncollapsed stacks: {', '.join(str(o.relative_to(runner.ROOT)) for o in outputs)}")
        server.stop()
        return 0
    finally:
        servers.stop_everything()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
        if script is not None:
            script.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
