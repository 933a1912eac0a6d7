"""Liveness and database check."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import CommittingRoute, SessionDep

router = APIRouter(route_class=CommittingRoute, tags=["health"])


@router.get("/healthz", responses={503: {"description": "The database is unreachable"}})
def healthz(session: SessionDep) -> JSONResponse:
    """Is the server up and can it reach its database?"""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
