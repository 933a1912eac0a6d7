"""The HTML pages (Dutch by default)."""

from fastapi import APIRouter, Depends

from app.routers.guards import MAX_BODY_BYTES, lookable_input
from app.routers.pages import (
    aannemer,
    auth,
    beheer,
    beheer_access,
    beheer_groups,
    beheer_support,
    claims,
    estimate_pages,
    mijn,
    public,
)

router = APIRouter(include_in_schema=False)
for module in (public, auth, mijn, claims, beheer, beheer_groups, beheer_access, aannemer,
               estimate_pages, beheer_support):
    router.include_router(module.router, dependencies=[Depends(lookable_input)],
                          max_body_size=MAX_BODY_BYTES)
