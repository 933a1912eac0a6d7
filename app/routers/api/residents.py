"""JSON API: residents (see DESIGN.md's interface contract)."""

from fastapi import APIRouter

router = APIRouter(tags=["residents"])
