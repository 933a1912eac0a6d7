"""JSON API: public (see DESIGN.md's interface contract)."""

from fastapi import APIRouter

router = APIRouter(tags=["public"])
