"""The JSON API under /api/v1 (plus /healthz)."""

from fastapi import APIRouter

from app.routers.api import auth, contractor, groups, health, public, residents, staff

router = APIRouter()
router.include_router(health.router)
for module in (auth, public, residents, staff, groups, contractor):
    router.include_router(module.router, prefix="/api/v1")
