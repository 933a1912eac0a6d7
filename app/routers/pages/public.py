"""Public pages for residents: the open wijken."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import SessionDep
from app.services import campaigns as campaign_service
from app.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    """The open wijken."""
    campaigns = campaign_service.list_open_campaigns(session)
    return render(request, "public/home.html", {"campaigns": campaigns})
