"""The HTML pages (Dutch by default)."""

from fastapi import APIRouter

from app.routers.pages import aannemer, auth, beheer, beheer_groups, mijn, public

router = APIRouter(include_in_schema=False)
for module in (public, auth, mijn, beheer, beheer_groups, aannemer):
    router.include_router(module.router)
