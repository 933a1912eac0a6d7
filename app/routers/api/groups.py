"""JSON API: groups (see DESIGN.md's interface contract)."""

from fastapi import APIRouter

router = APIRouter(tags=["groups"])
