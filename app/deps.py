"""Typed dependencies: the database session and who is calling (API bearer or web cookie)."""

import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlmodel import Session

from app.db import get_read_session, get_session
from app.models.enums import Role
from app.services.auth import Principal, lookup_principal, touch_session
from app.services.signup_writer import SignupWriter

SessionDep = Annotated[Session, Depends(get_session)]
# Only for routes that never write (public pages and listings).
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def session_opener(app: FastAPI, provider: Callable[[], Iterator[Session]]
                   ) -> Callable[[], AbstractContextManager[Session]]:
    """Open a session outside a route's dependencies (a cached page's build, the sign-up
    writer), honouring the app's dependency overrides as `Depends(provider)` would."""

    @contextmanager
    def open_session() -> Iterator[Session]:
        sessions: Any = app.dependency_overrides.get(provider, provider)()
        session = next(sessions)
        try:
            yield session
        except BaseException as exc:
            with suppress(type(exc)):
                sessions.throw(exc)
            raise
        else:
            next(sessions, None)

    return open_session


def read_session_for(request: Request) -> AbstractContextManager[Session]:
    """A read-only session opened by the route itself, for cached pages whose hits must not
    touch the database."""
    return session_opener(request.app, get_read_session)()


def signup_writer(request: Request) -> SignupWriter:
    """This app's sign-up writer (group commit), on the app's sessions."""
    app = request.app
    writer: SignupWriter | None = getattr(app.state, "signup_writer", None)
    if writer is None:
        with _writer_lock:
            writer = getattr(app.state, "signup_writer", None)
            if writer is None:
                writer = SignupWriter(session_opener(app, get_read_session),
                                      session_opener(app, get_session))
                app.state.signup_writer = writer
    return writer


_writer_lock = threading.Lock()
SESSION_COOKIE = "ww_session"


class LoginRequired(Exception):
    """A page needs a logged-in user; the handler redirects to the right log-in page."""

    def __init__(self, next_url: str, resident: bool = False) -> None:
        self.next_url = next_url
        self.resident = resident


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def api_principal(request: Request, session: ReadSessionDep) -> Principal | None:
    """The API takes no cookies: anonymous, or a bearer token."""
    return _principal(request, session, _bearer(request), "api")


def web_principal(request: Request, session: ReadSessionDep) -> Principal | None:
    principal = _principal(request, session, request.cookies.get(SESSION_COOKIE), "web")
    request.state.principal = principal
    return principal


def _principal(request: Request, session: Session, token: str | None,
               kind: str) -> Principal | None:
    """Look the caller up on a read-only session, so that logged-in pages that only read never
    queue for SQLite's write lock; the session is marked as seen (once a minute at most) in a
    short write of its own.

    The read transaction ends before this dependency gives its thread back: FastAPI runs every
    sync dependency and then the route in separate trips to the thread pool, and a transaction
    held across them could wait for a thread while every thread waits for it."""
    principal, stale_session_id = lookup_principal(session, token, kind=kind)
    session.commit()
    if stale_session_id is not None:
        with session_opener(request.app, get_session)() as writer:
            touch_session(writer, stale_session_id)
            writer.commit()
    return principal


MaybeApiPrincipal = Annotated[Principal | None, Depends(api_principal)]
MaybeWebPrincipal = Annotated[Principal | None, Depends(web_principal)]


def _require_api(principal: Principal | None, roles: set[Role]) -> Principal:
    if principal is None:
        raise HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    if principal.role not in roles:
        raise HTTPException(403, "Not allowed for this role")
    return principal


def api_staff(principal: MaybeApiPrincipal) -> Principal:
    return _require_api(principal, {Role.staff, Role.admin})


def api_contractor(principal: MaybeApiPrincipal) -> Principal:
    return _require_api(principal, {Role.contractor})


def api_resident(principal: MaybeApiPrincipal) -> Principal:
    return _require_api(principal, {Role.resident})


def api_staff_or_contractor(principal: MaybeApiPrincipal) -> Principal:
    return _require_api(principal, {Role.staff, Role.admin, Role.contractor})


def api_any(principal: MaybeApiPrincipal) -> Principal:
    return _require_api(principal, {Role.staff, Role.admin, Role.contractor, Role.resident})


def _require_web(request: Request, principal: Principal | None, roles: set[Role]) -> Principal:
    if principal is None:
        raise LoginRequired(str(request.url.path), resident=roles == {Role.resident})
    if principal.role not in roles:
        raise HTTPException(403, "Not allowed for this role")
    return principal


def web_staff(request: Request, principal: MaybeWebPrincipal) -> Principal:
    return _require_web(request, principal, {Role.staff, Role.admin})


def web_contractor(request: Request, principal: MaybeWebPrincipal) -> Principal:
    return _require_web(request, principal, {Role.contractor})


def web_resident(request: Request, principal: MaybeWebPrincipal) -> Principal:
    return _require_web(request, principal, {Role.resident})


def web_user(request: Request, principal: MaybeWebPrincipal) -> Principal:
    return _require_web(request, principal, {Role.staff, Role.admin, Role.contractor})


CurrentStaff = Annotated[Principal, Depends(api_staff)]
CurrentContractor = Annotated[Principal, Depends(api_contractor)]
CurrentResident = Annotated[Principal, Depends(api_resident)]
CurrentStaffOrContractor = Annotated[Principal, Depends(api_staff_or_contractor)]
CurrentApiUser = Annotated[Principal, Depends(api_any)]
WebStaff = Annotated[Principal, Depends(web_staff)]
WebContractor = Annotated[Principal, Depends(web_contractor)]
WebResident = Annotated[Principal, Depends(web_resident)]
WebPrincipal = Annotated[Principal, Depends(web_user)]


async def read_form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (CSRF token left out). Reading the body is async; taking it
    as a dependency lets the route itself stay a sync `def` that runs in the thread pool, so
    database work never blocks the event loop."""
    form = await request.form()
    return {name: value for name, value in form.items()
            if isinstance(value, str) and name != "csrf_token"}


FormFields = Annotated[dict[str, str], Depends(read_form_fields)]


class CommittingRoute(APIRoute):
    """A route whose sync endpoint commits the request's session in its own thread.

    FastAPI validates a sync endpoint's response in another trip to the thread pool before the
    session dependency's exit would commit. On SQLite the open transaction holds the write lock
    meanwhile, and with every pool thread waiting for that lock, the validation never gets a
    thread (a deadlock until the busy timeout). Committing as the endpoint returns ends the
    transaction before the thread is given back; on an error nothing is committed and the
    dependency's exit rolls back as before."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run_and_commit(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session):
                value.commit()
        return result

    return run_and_commit


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def proven_household_id(request: Request, *, kind: str) -> int | None:
    """The household whose resident is logged in on this request ("web": the session cookie,
    "api": a bearer token), or None. A sign-up of theirs at their own address is theirs, not a
    claim (app.services.claims). Anonymous requests, the sign-up rush, cost nothing here."""
    token = request.cookies.get(SESSION_COOKIE) if kind == "web" else _bearer(request)
    if not token:
        return None

    def look_up() -> int | None:
        with read_session_for(request) as session:
            principal, _stale = lookup_principal(session, token, kind=kind)
            return principal.household_id if principal and principal.role == Role.resident \
                else None

    return await run_in_threadpool(look_up)
