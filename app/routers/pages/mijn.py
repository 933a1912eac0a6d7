"""HTML pages: mijn."""

from fastapi import APIRouter

router = APIRouter()
