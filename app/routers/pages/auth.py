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
from app.models.enums import Role
from app.services import auth as auth_service
from app.services.errors import Invalid, RateLimited, Unauthorized
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
    """The user's own account: two-step log-in."""
    return render(request, "auth/account.html", _account_context(session, principal.user_id))


def _account_context(
    session: SessionDep, user_id: int | None, **extra: object
) -> dict[str, object]:
    from app.models import User

    user = session.get(User, user_id)
    assert user is not None
    secret = auth_service.new_totp_secret()
    return {
        "user": user,
        "totp_enabled": bool(user.totp_secret),
        "new_secret": secret,
        "totp_uri": auth_service.totp_uri(secret, user.email),
        "errors": {},
        **extra,
    }


@router.post("/account/totp")
def change_totp(
    request: Request,
    session: SessionDep,
    principal: WebPrincipal,
    code: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "",
) -> Response:
    """Turn two-step log-in on (with the shown secret) or off."""
    assert principal.user_id is not None
    try:
        auth_service.set_totp(session, principal.user_id, secret or None, code)
    except Invalid as exc:
        context = _account_context(session, principal.user_id, errors={"totp": exc.message})
        if secret:
            context["new_secret"] = secret
            context["totp_uri"] = auth_service.totp_uri(secret, principal.email)
        return render(request, "auth/account.html", context, status_code=422)
    return redirect(request, "/account?saved=1")
