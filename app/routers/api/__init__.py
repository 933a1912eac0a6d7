"""The JSON API under /api/v1 (plus /healthz)."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.routers.api import (
    auth,
    claims,
    contractor,
    estimates,
    groups,
    health,
    public,
    residents,
    staff,
    support,
)
from app.routers.guards import MAX_BODY_BYTES, lookable_input


class ErrorMessage(BaseModel):
    """A refusal: `{"detail": "..."}` (DESIGN.md, interface contract)."""

    detail: str


# The error answers of DESIGN.md that any /api/v1 operation may give besides its own; 422 (the
# field named in `loc`) is documented by FastAPI itself for operations that take input.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "A body that cannot be read (e.g. not UTF-8)"},
    401: {"model": ErrorMessage, "description": "Not logged in, or a bad token"},
    403: {"model": ErrorMessage, "description": "Not allowed for this role"},
    404: {"model": ErrorMessage,
          "description": "Not found (also another organisation's or contractor's object)"},
    409: {"model": ErrorMessage,
          "description": "Conflict: a duplicate, or a refused status transition"},
    413: {"description": "A body larger than 1 MiB (answered before it is read)",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    415: {"model": ErrorMessage, "description": "A body that is not application/json"},
    429: {"model": ErrorMessage, "description": "Rate limited"},
}

router = APIRouter()
router.include_router(health.router)
for module in (auth, public, residents, staff, claims, groups, contractor, estimates,
               support):
    router.include_router(module.router, prefix="/api/v1", responses=ERROR_RESPONSES,
                          dependencies=[Depends(lookable_input)], max_body_size=MAX_BODY_BYTES)
