"""JSON API: contractor (see DESIGN.md's interface contract)."""

from fastapi import APIRouter

router = APIRouter(tags=["contractor"])
