"""JSON API: residents — magic-link log-in, /me (details, sign-ups, withdraw, export, erase) and
the klimaattafel answers and their public summary."""

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.deps import (
    CommittingRoute,
    CurrentResident,
    MaybeApiPrincipal,
    ReadSessionDep,
    SessionDep,
    client_ip,
)
from app.i18n import N_, gettext
from app.models import Household
from app.models.enums import Horizon, Measure, Role
from app.routers.api.auth import TokenResponse
from app.routers.api.support import SupportPathOut, path_out
from app.services import campaigns as campaign_service
from app.services import interests as interest_service
from app.services import participation_status as status_service
from app.services import residents as resident_service
from app.services import support_paths
from app.services.auth import Principal
from app.services.validation import CleanInput

router = APIRouter(route_class=CommittingRoute, tags=["residents"])

LINK_REQUESTED = N_("Als dit e-mailadres bij ons bekend is, sturen we binnen enkele minuten een "
                  "nieuwe aanmeldlink.")


class LinkRequest(CleanInput):
    email: str = Field(min_length=3, max_length=254)


class LinkRequested(BaseModel):
    detail: str


class ResidentTokenRequest(CleanInput):
    token: str = Field(min_length=1, max_length=200)


class HouseholdPublic(BaseModel):
    id: int
    campaign_id: int
    name: str
    email: str | None
    phone: str | None
    street: str
    house_number: str
    box: str
    postcode: str
    city: str
    dwelling_type: str | None
    build_year: int | None
    tenure: str | None
    life_phase: str | None
    budget_band: str | None
    profile: str | None
    share_contact_with_contractor: bool
    energy_kwh_year: int | None
    energy_cost_cents_year: int | None
    privacy_consent_version: str | None
    privacy_consented_at: datetime | None


class ParticipationPublic(BaseModel):
    id: int
    offer_id: int | None
    status: str
    waitlist_position: int | None
    title: str
    measure: str | None
    quantity: float | None
    status_changed_at: datetime
    cancel_reason: str | None


class InterestPublic(BaseModel):
    measure: str
    horizon: str
    submission_id: int
    submitted_at: datetime


class Me(BaseModel):
    household: HouseholdPublic
    participations: list[ParticipationPublic]
    interests: list[InterestPublic]
    # The household's support path (by tenure, else by kan/wil profile), or null.
    support_path: SupportPathOut | None


class HouseholdUpdate(CleanInput):
    """Any of the resident's details; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    house_number: str | None = None
    box: str | None = None
    postcode: str | None = None
    dwelling_type: str | None = None
    build_year: int | None = None
    tenure: str | None = None
    life_phase: str | None = None
    budget_band: str | None = None
    profile: str | None = None
    share_contact_with_contractor: bool | None = None
    energy_kwh_year: int | None = None
    energy_cost_cents_year: int | None = None


class InterestAnswer(BaseModel):
    measure: Measure
    horizon: Horizon


class InterestsSubmit(CleanInput):
    email: str | None = Field(default=None, max_length=254)
    postcode: str = Field(max_length=10)
    street: str = Field(max_length=200)
    answers: list[InterestAnswer] = Field(min_length=1, max_length=len(Measure))


class InterestsSubmitted(BaseModel):
    id: int
    answers: list[InterestAnswer]


class SummaryCellPublic(BaseModel):
    measure: str
    horizon: str
    count: int | None


def _household_public(household: Household) -> HouseholdPublic:
    return HouseholdPublic.model_validate(household, from_attributes=True)


def _participation_public(view: resident_service.SignupView) -> ParticipationPublic:
    participation = view.participation
    return ParticipationPublic(
        id=participation.id, offer_id=participation.offer_id,  # type: ignore[arg-type]
        status=participation.status, waitlist_position=view.waitlist_position,
        title=view.title, measure=participation.measure, quantity=participation.quantity,
        status_changed_at=participation.status_changed_at,
        cancel_reason=participation.cancel_reason,
    )


def _me(session: SessionDep, principal: Principal) -> Me:
    overview = resident_service.overview(session, principal)
    return Me(
        household=_household_public(overview.household),
        participations=[_participation_public(view) for view in overview.signups],
        interests=[
            InterestPublic(measure=interest.measure, horizon=interest.horizon,
                           submission_id=submission.id,  # type: ignore[arg-type]
                           submitted_at=submission.created_at)
            for submission, interest in resident_service.own_interests(session, principal)
        ],
        support_path=(path_out(path) if (path := support_paths.path_for_household(
            session, overview.household)) else None),
    )


@router.post("/auth/resident-link", status_code=202)
def request_resident_link(body: LinkRequest, session: SessionDep) -> LinkRequested:
    """Mail a fresh log-in link when the address is known; the answer is always the same."""
    resident_service.request_magic_link(session, email=body.email)
    return LinkRequested(detail=gettext(LINK_REQUESTED))


@router.post("/auth/resident")
def log_in_resident(
    body: ResidentTokenRequest, request: Request, session: SessionDep
) -> TokenResponse:
    """Exchange the token of an emailed link (once) for a resident bearer token."""
    access_token = resident_service.log_in_with_magic_link(
        session, token=body.token, ip=client_ip(request), kind="api"
    )
    return TokenResponse(access_token=access_token, role=Role.resident)


@router.get("/me")
def read_me(principal: CurrentResident, session: ReadSessionDep) -> Me:
    """The resident's household, sign-ups (with waitlist position) and klimaattafel answers."""
    return _me(session, principal)


@router.patch("/me")
def update_me(body: HouseholdUpdate, principal: CurrentResident, session: SessionDep) -> Me:
    """Change the resident's own details."""
    resident_service.update_details(session, principal, body.model_dump(exclude_unset=True))
    return _me(session, principal)


@router.post("/me/participations/{participation_id}/withdraw")
def withdraw(
    participation_id: int, principal: CurrentResident, session: SessionDep
) -> ParticipationPublic:
    """Withdraw one of the resident's sign-ups; a freed place goes to the first waitlisted."""
    resident_service.withdraw_participation(session, principal, participation_id)
    view = resident_service.get_own_participation(session, principal, participation_id)
    return _participation_public(view)


class Decision(CleanInput):
    decision: Literal["accept", "decline"]


@router.post("/me/participations/{participation_id}/decision")
def decide_personal_offer(
    participation_id: int, body: Decision, principal: CurrentResident, session: SessionDep
) -> ParticipationPublic:
    """Accept or decline the personal offer the contractor made (before its deadline)."""
    assert principal.household_id is not None
    status_service.decide_personal_offer(session, principal.household_id, participation_id,
                                         accept=body.decision == "accept")
    view = resident_service.get_own_participation(session, principal, participation_id)
    return _participation_public(view)


@router.get("/me/export")
def export_me(principal: CurrentResident, session: SessionDep) -> dict[str, Any]:
    """Everything stored about the resident's household."""
    return resident_service.export_data(session, principal)


@router.delete("/me", status_code=204)
def erase_me(principal: CurrentResident, session: SessionDep) -> Response:
    """Erase the resident: personal fields blanked, counts kept, sessions ended."""
    resident_service.erase_household(session, principal)
    return Response(status_code=204)


@router.post("/campaigns/{slug}/interests", status_code=201)
def submit_interests(
    slug: str, body: InterestsSubmit, principal: MaybeApiPrincipal, session: SessionDep
) -> InterestsSubmitted:
    """Klimaattafel: per measure, within 1 year, within 5 years or not."""
    campaign = campaign_service.get_public_campaign(session, slug)
    submission = interest_service.submit_interests(
        session, campaign, postcode=body.postcode, street=body.street, email=body.email,
        answers=[(answer.measure.value, answer.horizon.value) for answer in body.answers],
        household_id=interest_service.resident_household_in(session, principal, campaign),
    )
    return InterestsSubmitted(id=submission.id, answers=body.answers)  # type: ignore[arg-type]


@router.get("/campaigns/{slug}/interests/summary")
def interest_summary(slug: str, session: SessionDep) -> list[SummaryCellPublic]:
    """Every measure × horizon with its count; null where fewer than 5 households answered so."""
    campaign = campaign_service.get_public_campaign(session, slug)
    return [SummaryCellPublic(measure=cell.measure, horizon=cell.horizon, count=cell.count)
            for cell in interest_service.interest_summary(session, campaign)]
