# ruff: noqa: S603, S607
"""wrk (Debian's package) as the load generator: Lua scripts that count every response status
(and, for sign-ups, make each request a new household), and a parser for wrk's report."""

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CONNECTIONS = 64
THREADS = 2
REQUEST_TIMEOUT = "10s"

# Every thread counts the statuses it saw (and the 201s that were waitlisted); done() prints
# the sums on one line that the parser picks up.
_COUNTING = r"""
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  waitlisted = 0
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 201 and body ~= nil and string.find(body, '"waitlisted"', 1, true) then
    waitlisted = waitlisted + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  local wl = 0
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    if c ~= nil then
      for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
    end
    wl = wl + (thread:get("waitlisted") or 0)
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, '"' .. status .. '": ' .. n) end
  io.write("WRK_STATUS {" .. table.concat(parts, ", ") .. "}\n")
  io.write("WRK_WAITLISTED " .. wl .. "\n")
end
"""

# A new household per request: street carries the run's tag, the box the thread, the house
# number the thread's own counter, so no two requests of any run share an address or email.
_SIGNUP = r"""
local counter = 0
local signup_path = "__PATH__"
local signup_headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local body = string.format(
    '{"household": {"name": "Bench Bewoner %d-%d", "email": "b__TAG__-%d-%d@example.be", ' ..
    '"phone": null, "street": "Benchstraat __TAG__", "house_number": "%d", "box": "t%d", ' ..
    '"postcode": "__POSTCODE__", "dwelling_type": "row_house", "tenure": "owner_occupier", ' ..
    '"life_phase": "young_family", "budget_band": "5k_15k", "profile": "can_and_will"}, ' ..
    '"quantity": 42.5, "consent": true, "share_contact_with_contractor": true}',
    tid, counter, tid, counter, counter, tid)
  return wrk.format("POST", signup_path, signup_headers, body)
end
"""


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    statuses: dict[int, int] = field(default_factory=dict)
    waitlisted: int = 0
    socket_errors: int = 0
    timeouts: int = 0
    raw: str = ""

    def unexpected(self, expected: set[int]) -> int:
        """Answers other than the expected statuses, plus connection errors and timeouts."""
        wrong = sum(n for status, n in self.statuses.items() if status not in expected)
        return wrong + self.socket_errors + self.timeouts


def find_wrk() -> str | None:
    return shutil.which("wrk")


def ensure_wrk() -> str:
    """wrk from Debian; installed with apt-get when we are root, else explain how."""
    found = find_wrk()
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: installing it with apt-get (Debian package 'wrk')", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False)
        found = find_wrk()
        if not found:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False)
            found = find_wrk()
        if found:
            return found
    raise SystemExit("bench: wrk is needed. Install it with: sudo apt-get install wrk "
                     "(Debian/Ubuntu), then run `make bench` again.")


def wrk_version() -> str:
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).splitlines()
    return first[0].split("Copyright")[0].strip() if first else "?"


def _script(kind: str, *, path: str = "", tag: str = "", postcode: str = "") -> Path:
    text = _COUNTING
    if kind == "signup":
        text += (_SIGNUP.replace("__PATH__", path).replace("__TAG__", tag)
                 .replace("__POSTCODE__", postcode))
    descriptor, name = tempfile.mkstemp(suffix=".lua", prefix="wijkwerf-bench-")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return Path(name)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    status_line = re.search(r"^WRK_STATUS (\{.*\})$", output, re.M)
    waitlisted = re.search(r"^WRK_WAITLISTED (\d+)$", output, re.M)
    if not (rps and total):
        raise RuntimeError(f"could not read wrk's report:\n{output}")
    statuses = ({int(k): v for k, v in json.loads(status_line.group(1)).items()}
                if status_line else {})
    socket_errors = timeouts = 0
    if errors:
        socket_errors = int(errors.group(1)) + int(errors.group(2)) + int(errors.group(3))
        timeouts = int(errors.group(4))
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        requests=int(total.group(1)),
        statuses=statuses,
        waitlisted=int(waitlisted.group(1)) if waitlisted else 0,
        socket_errors=socket_errors,
        timeouts=timeouts,
        raw=output,
    )


def run(url: str, *, duration: int, headers: dict[str, str] | None = None,
        signup: dict[str, str] | None = None, connections: int = CONNECTIONS,
        threads: int = THREADS) -> WrkResult:
    """One bounded wrk run against `url`; `signup` = {"path", "tag", "postcode"} makes every
    request a new sign-up POST."""
    script = _script("signup", **signup) if signup else _script("count")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               f"--timeout={REQUEST_TIMEOUT}", "-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,  # noqa: S603
                                timeout=duration + 30)
    finally:
        script.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr}{result.stdout}")
    return parse(result.stdout)
