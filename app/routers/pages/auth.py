"""Log-in and log-out pages for staff and contractors."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.config import get_settings
from app.deps import (
    SESSION_COOKIE,
    CommittingRoute,
    MaybeWebPrincipal,
    SessionDep,
    WebPrincipal,
    client_ip,
)
from app.models import User
from app.models.enums import Role
from app.services import auth as auth_service
from app.services import users as user_service
from app.services.auth import Principal
from app.services.errors import Invalid, RateLimited, ServiceError, Unauthorized
from app.templating import redirect, render

router = APIRouter(route_class=CommittingRoute)


def _safe_next(next_url: str | None, default: str) -> str:
    """Only local paths, so the log-in form cannot be used to redirect elsewhere."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return default


def home_for(role: Role) -> str:
    return {"contractor": "/aannemer", "resident": "/mijn"}.get(role, "/beheer")


@router.get("/login")
def login_form(request: Request, principal: MaybeWebPrincipal, next: str | None = None) -> Response:
    """The log-in form."""
    if principal is not None and principal.role != Role.resident:
        return redirect(request, _safe_next(next, home_for(principal.role)))
    return render(request, "auth/login.html", {"next": next or "", "email": "", "errors": {}})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password, start a new session and go to the user's start page."""
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Vul je e-mailadres in."
    if not password:
        errors["password"] = "Vul je wachtwoord in."
    if errors:
        return render(
            request,
            "auth/login.html",
            {"next": next, "email": email, "errors": errors},
            status_code=422,
        )
    try:
        user = auth_service.authenticate_user(
            session, email=email, password=password, ip=client_ip(request), totp=totp
        )
    except (Unauthorized, RateLimited) as exc:
        return render(
            request,
            "auth/login.html",
            {"next": next, "email": email, "errors": {exc.field or "password": exc.message}},
            status_code=exc.status_code,
        )
    old_token = request.cookies.get(SESSION_COOKIE)
    auth_service.end_session(session, old_token)
    token = auth_service.start_session(session, kind="web", user=user)
    response = redirect(request, _safe_next(next, home_for(Role(user.role))))
    set_session_cookie(response, token)
    return response


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.SESSION_ABSOLUTE_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """End the session everywhere (it is server-side)."""
    auth_service.end_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(request: Request, session: SessionDep, principal: WebPrincipal) -> Response:
    """The user's own account: password, two-step log-in, and the sessions and tokens that
    are logged in."""
    return render(request, "auth/account.html", _account_context(session, principal))


def _account_context(
    session: SessionDep, principal: Principal, **extra: object
) -> dict[str, object]:
    assert principal.user_id is not None
    user = session.get(User, principal.user_id)
    assert user is not None
    secret = auth_service.new_totp_secret()
    return {
        "user": user,
        "totp_enabled": bool(user.totp_secret),
        "new_secret": secret,
        "totp_uri": auth_service.totp_uri(secret, user.email),
        "sessions": auth_service.live_sessions(session, principal.user_id),
        "current_session_id": principal.session_id,
        "errors": {},
        **extra,
    }


def _account_error(request: Request, session: SessionDep, principal: Principal,
                   exc: ServiceError, *, default_field: str, **extra: object) -> Response:
    """The account page again with the refusal next to its field (422, or 429 when the
    password was tried too often)."""
    context = _account_context(session, principal,
                               errors={exc.field or default_field: exc.message}, **extra)
    return render(request, "auth/account.html", context,
                  status_code=exc.status_code if isinstance(exc, RateLimited) else 422)


@router.post("/account/totp")
def change_totp(
    request: Request,
    session: SessionDep,
    principal: WebPrincipal,
    code: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Turn two-step log-in on (with the shown secret) or off; both need the password."""
    assert principal.user_id is not None
    try:
        auth_service.set_totp(session, principal.user_id, secret=secret or None, code=code,
                              password=password, ip=client_ip(request))
    except (Invalid, RateLimited) as exc:
        extra: dict[str, object] = {}
        if auth_service.is_totp_secret(secret):  # the same one again; a typed-over one is not
            extra = {"new_secret": secret,
                     "totp_uri": auth_service.totp_uri(secret, principal.email)}
        return _account_error(request, session, principal, exc, default_field="password",
                              **extra)
    return redirect(request, "/account?saved=1")


@router.post("/account/wachtwoord")
def change_password(
    request: Request,
    session: SessionDep,
    principal: WebPrincipal,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    """A new password; every session and token ends, and this browser gets a new session."""
    assert principal.user_id is not None
    try:
        user_service.change_password(session, principal.user_id,
                                     current_password=current_password,
                                     new_password=new_password, ip=client_ip(request))
    except (Invalid, RateLimited) as exc:
        return _account_error(request, session, principal, exc,
                              default_field="current_password")
    user = session.get(User, principal.user_id)
    token = auth_service.start_session(session, kind="web", user=user)
    response = redirect(request, "/account?saved=1")
    set_session_cookie(response, token)
    return response


@router.post("/account/sessies/{session_id}/intrekken")
def revoke_session(
    request: Request, session: SessionDep, principal: WebPrincipal, session_id: int
) -> Response:
    """End one of the user's own sessions or tokens (this one too: then log in again)."""
    assert principal.user_id is not None
    auth_service.revoke_own_session(session, principal.user_id, session_id)
    if session_id == principal.session_id:
        response = redirect(request, "/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return redirect(request, "/account?ingetrokken=1")
