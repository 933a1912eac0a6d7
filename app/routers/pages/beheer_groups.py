"""HTML pages: beheer_groups."""

from fastapi import APIRouter

router = APIRouter()
