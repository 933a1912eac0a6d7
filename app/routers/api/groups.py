"""JSON API: group suggestions, groups, batches, the campaign's dashboard figures and its OCDS
release package (see DESIGN.md's interface contract)."""

from typing import Any

from fastapi import APIRouter, Request, status

from app.deps import CommittingRoute, CurrentStaff, SessionDep, client_ip
from app.services import groups as groups_service
from app.services import ocds as ocds_service
from app.services import stats as stats_service
from app.services.grouping import SuggestRequest, suggest_for_campaign

router = APIRouter(route_class=CommittingRoute, tags=["groups"])


@router.post("/campaigns/{slug}/groups/suggest")
def suggest_groups(slug: str, body: SuggestRequest, request: Request, principal: CurrentStaff,
                   session: SessionDep) -> dict[str, Any]:
    """Proposed groups (partitioned by `by`, cut into neighbours of min..max); nothing saved."""
    suggestion, _scope = suggest_for_campaign(session, principal, slug, body,
                                              ip=client_ip(request))
    return suggestion.as_json()


@router.get("/campaigns/{slug}/groups")
def list_groups(slug: str, request: Request, principal: CurrentStaff,
                session: SessionDep) -> dict[str, Any]:
    """The campaign's groups with their members' ids and batches."""
    _campaign, views = groups_service.list_groups(session, principal, slug,
                                                  ip=client_ip(request))
    return {"items": [view.as_json() for view in views], "total": len(views)}


@router.post("/campaigns/{slug}/groups", status_code=status.HTTP_201_CREATED)
def create_group(slug: str, body: groups_service.GroupCreate, principal: CurrentStaff,
                 session: SessionDep) -> dict[str, Any]:
    """A new group with members (each household in at most one group per measure)."""
    group = groups_service.create_group(session, principal, slug, body)
    return groups_service.group_views(session, [group])[0].as_json()


@router.get("/groups/{group_id}")
def get_group(group_id: int, principal: CurrentStaff, session: SessionDep) -> dict[str, Any]:
    """One group with its members' ids and batches."""
    return groups_service.get_group_view(session, principal, group_id).as_json()


@router.patch("/groups/{group_id}")
def update_group(group_id: int, body: groups_service.GroupUpdate, principal: CurrentStaff,
                 session: SessionDep) -> dict[str, Any]:
    """Rename, add/remove members, lock or unlock; a locked group refuses member changes."""
    group = groups_service.update_group(session, principal, group_id, body)
    return groups_service.group_views(session, [group])[0].as_json()


@router.post("/groups/{group_id}/batches", status_code=status.HTTP_201_CREATED)
def create_batch(group_id: int, body: groups_service.BatchCreate, principal: CurrentStaff,
                 session: SessionDep) -> dict[str, Any]:
    """Assign a locked group to a contractor: its registered sign-ups become assigned."""
    batch = groups_service.create_batch(session, principal, group_id, body)
    return {"id": batch.id, "group_id": batch.group_id, "contractor_id": batch.contractor_id,
            "offer_id": batch.offer_id, "created_at": batch.created_at.isoformat()}


@router.get("/campaigns/{slug}/stats")
def campaign_stats(slug: str, request: Request, principal: CurrentStaff,
                   session: SessionDep) -> dict[str, Any]:
    """Funnel, participation per street, social mix, klimaattafel, offers and the LEKP figure."""
    _campaign, stats = stats_service.stats_for_staff(session, principal, slug,
                                                     ip=client_ip(request))
    return stats.as_json()


@router.get("/campaigns/{slug}/ocds")
def campaign_ocds(slug: str, session: SessionDep) -> dict[str, Any]:
    """The campaign's procurement as an OCDS 1.1 release package (lots, techniques)."""
    return ocds_service.release_package(session, slug)
