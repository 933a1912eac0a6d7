"""HTML pages: beheer."""

from fastapi import APIRouter

router = APIRouter()
