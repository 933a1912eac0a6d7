"""JSON API: support paths per campaign and kan/wil profile (DESIGN.md, round 2 "Support
paths"): anyone reads a published campaign's; staff of its organisation replace one."""

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.deps import CommittingRoute, CurrentStaff, ReadSessionDep, SessionDep, client_ip
from app.models.enums import PartnerKind, SupportProfile, SupportStepKind
from app.services import support_paths

router = APIRouter(route_class=CommittingRoute, tags=["support paths"])


class PartnerOut(BaseModel):
    name: str
    kind: PartnerKind


class StepOut(BaseModel):
    kind: SupportStepKind
    title: str
    body: str
    partner: PartnerOut | None
    url: str | None


class SupportPathOut(BaseModel):
    profile: SupportProfile
    title: str
    summary: str
    steps: list[StepOut]


def path_out(path: support_paths.PathView) -> SupportPathOut:
    return SupportPathOut.model_validate(path.as_json())


@router.get("/campaigns/{slug}/support-paths")
def list_support_paths(slug: str, session: ReadSessionDep) -> list[SupportPathOut]:
    """The campaign's support paths: one per kan/wil profile and one for landlords and
    tenants, each a list of steps with the coalition partner who runs it."""
    return [path_out(path) for path in support_paths.public_paths(session, slug)]


@router.put("/campaigns/{slug}/support-paths/{profile}")
def replace_support_path(slug: str, profile: SupportProfile, body: support_paths.PathInput,
                         request: Request, session: SessionDep,
                         principal: CurrentStaff) -> SupportPathOut:
    """Replace one path (staff of the campaign's organisation); a step's partner must be one
    of the campaign's partners (by name and kind)."""
    data = support_paths.parse_path_input(body.model_dump(mode="json"))
    return path_out(support_paths.replace_path(session, principal, slug, profile, data,
                                               ip=client_ip(request)))
