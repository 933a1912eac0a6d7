"""HTML pages: aannemer."""

from fastapi import APIRouter

router = APIRouter()
