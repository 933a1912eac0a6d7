"""The HTML pages (Dutch by default)."""

from fastapi import APIRouter

from app.routers.pages import auth, public

router = APIRouter(include_in_schema=False)
router.include_router(public.router)
router.include_router(auth.router)
