"""What an operator watches: the request id, the Prometheus metrics and the JSON log lines.

Request id: every request gets one (`X-Request-ID`, taken from a proxy when it sends a plain one,
else made here). It is in the response's header, the access log line, every log line written
while the request runs, the error page ("reference for the helpdesk") and the headers of the
mails the request queued, so a resident's complaint, a mail and a log line can be matched.

Metrics (`/metrics`, behind METRICS_TOKEN; see docs/OPERATIONS.md for what each means and when
to act): counters and histograms live in the process; the outbox figures are counted in the
database at each scrape. With `wijkwerf serve --workers N` the workers write their values to
files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, set up by the
command) and a scrape adds up every worker's.

Logs: `LOG_FORMAT=json` (the default) writes one JSON object per line. They carry route
templates, statuses, durations, ids and counts, never a name, an address, a contact, a token
or a query string (tests/test_observability_server.py looks for them).
"""

import contextvars
import logging
import os
import re
import secrets
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = b"x-request-id"
# A proxy's id is kept when it is this plain (nginx's $request_id is 32 hex digits).
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def request_id_from(header: str | None) -> str:
    """The request's id: the proxy's when it is plain, else a new random one."""
    if header and _ACCEPTED_ID.fullmatch(header):
        return header
    return secrets.token_hex(8)


def current_request_id() -> str:
    return request_id.get()


# --- metrics ---------------------------------------------------------------------------------

disable_created_metrics()  # no `_created` twin per series: half the scrape, nothing lost
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUESTS = Counter("wijkwerf_http_requests", "HTTP requests answered, by route template and "
                   "status", ["method", "route", "status"])
LATENCY = Histogram("wijkwerf_http_request_duration_seconds", "Time to answer a request, by "
                    "route template", ["method", "route"], buckets=_LATENCY_BUCKETS)
SIGNUPS = Counter("wijkwerf_signups", "Sign-ups handled by the sign-up writer, by outcome "
                  "(registered, waitlisted, claim, duplicate, refused, closed, error)",
                  ["outcome"])
SIGNUP_BATCH = Histogram("wijkwerf_signup_batch_size", "Sign-ups written in one transaction "
                         "by the group-commit writer", buckets=(1, 2, 4, 8, 16, 32, 64))
WRITE_TURN_WAIT = Histogram(
    "wijkwerf_write_turn_wait_seconds", "Time a batched writer waited for its write turn on "
    "SQLite (app.db.write_turn), by writer", ["writer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
CACHE = Counter("wijkwerf_page_cache_requests", "Public pages asked of the micro-cache, by "
                "result (hit: answered from it, stale: answered from it while it is rebuilt, "
                "miss: built)", ["result"])

_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (the labelled children are looked up once per kind)."""
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        children = _request_children[key] = (
            REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    children[0].inc()
    children[1].observe(seconds)


def render_metrics(extra: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The scrape: this process's metrics (or every worker's in multiprocess mode), then the
    figures counted for this scrape (`extra`)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    if extra is not None:
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


def outbox_registry(due: int, oldest_due_seconds: float, failed: int) -> CollectorRegistry:
    """The outbox as counted in the database for this scrape (the same for every worker)."""
    registry = CollectorRegistry()
    Gauge("wijkwerf_outbox_due", "Mails due to be sent now (pending, attempt time passed)",
          registry=registry).set(due)
    Gauge("wijkwerf_outbox_oldest_due_age_seconds", "How long the oldest due mail has waited "
          "past its attempt time (0 when none is due)", registry=registry).set(oldest_due_seconds)
    Gauge("wijkwerf_outbox_failed", "Mails the sender gave up on (see wijkwerf's mail log)",
          registry=registry).set(failed)
    return registry


# --- logs ------------------------------------------------------------------------------------

class LogFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, the request id while a request
    runs, and the fields a call passes with `extra` (the access log's method, route, status and
    duration)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        # uvicorn's own records carry its colour flag and the raw request line: drop them.
        for noise in ("color_message", "request_line"):
            log_data.pop(noise, None)
        if "request_id" not in log_data:
            current = request_id.get()
            if current:
                log_data["request_id"] = current
