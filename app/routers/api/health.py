"""The operator's endpoints: /healthz (liveness, database, outbox lag) and /metrics
(Prometheus, behind METRICS_TOKEN). See docs/OPERATIONS.md."""

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app import observability
from app.config import get_settings
from app.deps import CommittingRoute, SessionDep
from app.services import mail

router = APIRouter(route_class=CommittingRoute, tags=["health"])
log = logging.getLogger("wijkwerf.health")


def _first_line(exc: Exception) -> str:
    """The driver's first line (SQLAlchemy's own text carries the statement and its values)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0][:200] if lines else ''}".strip()


@router.get("/healthz", responses={503: {"description": "The database is unreachable"}})
def healthz(session: SessionDep) -> JSONResponse:
    """Is the server up, can it reach its database, and how far behind is the mail sender?"""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        lag = mail.outbox_lag(session)
    except Exception as exc:
        return JSONResponse({"status": "degraded", "database": "unreachable",
                             "reason": _first_line(exc)}, status_code=503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "database": "ok",
                         "outbox": {"due": lag.due, "oldest_due_seconds": lag.oldest_due_seconds,
                                    "failed": lag.failed}})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, session: SessionDep) -> Response:
    """Prometheus text format. Refused without `Authorization: Bearer <METRICS_TOKEN>`; not
    served at all while METRICS_TOKEN is unset."""
    token = get_settings().METRICS_TOKEN
    if not token:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), token.encode()):
        return JSONResponse({"detail": "A metrics token is required (Authorization: Bearer)."},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        lag = mail.outbox_lag(session)
        extra = observability.outbox_registry(lag.due, lag.oldest_due_seconds, lag.failed)
    except Exception as exc:  # the process's own figures still help while the database is down
        log.warning("metrics without the outbox: %s", _first_line(exc))
        extra = None
    body, content_type = observability.render_metrics(extra)
    return Response(body, media_type=content_type)
