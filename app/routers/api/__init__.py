"""The JSON API under /api/v1 (plus /healthz)."""

from fastapi import APIRouter

from app.routers.api import auth, health

router = APIRouter()
router.include_router(health.router)
router.include_router(auth.router, prefix="/api/v1")
