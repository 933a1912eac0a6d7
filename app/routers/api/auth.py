"""Bearer tokens for staff and contractors (password) and for residents (magic link)."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.deps import CommittingRoute, CurrentApiUser, SessionDep, client_ip
from app.models.enums import Role
from app.services import auth as auth_service
from app.services.validation import CleanInput

router = APIRouter(route_class=CommittingRoute, tags=["auth"])


class TokenRequest(CleanInput):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=10, description="when two-step log-in is on")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: Role


@router.post("/auth/token")
def issue_token(body: TokenRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Log in with email and password; answers a bearer token."""
    user = auth_service.authenticate_user(
        session, email=body.email, password=body.password, ip=client_ip(request),
        totp=body.totp,
    )
    token = auth_service.start_session(session, kind="api", user=user)
    return TokenResponse(access_token=token, role=Role(user.role))


@router.post("/auth/logout", status_code=204)
def revoke_token(principal: CurrentApiUser, session: SessionDep) -> Response:
    """Log out: the presented bearer token stops working at once, on every instance."""
    auth_service.end_session_by_id(session, principal.session_id)
    return Response(status_code=204)
