"""The application: middleware, static files, routers and error handlers."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import i18n, observability
from app.config import get_settings
from app.db import get_engine
from app.deps import LoginRequired
from app.middleware import NO_STORE, WebMiddleware, security_headers
from app.routers import api, pages
from app.services.errors import ServiceError
from app.services.mail import MailSender
from app.templating import render

STATIC_DIR = Path(__file__).parent / "static"
# How long a client is asked to wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("wijkwerf.errors")
_SQLITE_BUGS = ("no such ", "near ", "table ", "incomplete input")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def _database_unavailable(exc: Exception) -> bool:
    """An error of reaching the database (down, restarting, connections lost or used up, a
    lock or statement timeout), not of what was asked of it: worth trying again shortly.
    IntegrityError and the like are bugs and stay a 500."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, OperationalError) and str(exc.orig).startswith(_SQLITE_BUGS):
        return False  # SQLite reports a missing table or a syntax error as "operational" too
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _error_page(request: Request, status: int, message: str,
                headers: dict[str, str] | None = None) -> Response:
    """JSON `{"detail"}` for the API, the error page for the rest."""
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message},
                  status_code=status, headers=headers)


_frozen = False


def _freeze_startup_objects() -> None:
    """Take what exists once the app has started (modules, routes, templates, locale data:
    about 160,000 objects that live as long as the process) out of the garbage collector's
    sight, once per process. A full collection traversed them all: 150-200 ms on the benchmark
    machine, every second or two under a sign-up rush, with the GIL held, so every request in
    the process waited (it was most of the sign-up p99). See docs/PERFORMANCE.md."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def create_app(*, start_mail_sender: bool = True) -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool; more threads than database connections only
        # adds GIL contention (see README, "Concurrency model").
        threads = settings.WORKER_THREADS or settings.DB_POOL_SIZE
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        sender = MailSender(get_engine(), settings.MAIL_POLL_SECONDS) if start_mail_sender else None
        if sender:
            sender.start()
        _freeze_startup_objects()
        yield
        if sender:
            sender.stop()

    app = FastAPI(
        title="Wijkwerf API",
        version="1",
        description="Collective renovation in a neighbourhood.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.add_middleware(WebMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        message = i18n.gettext(exc.message)
        if _is_api(request):
            if exc.status_code == 422:
                # Always FastAPI's list shape (as documented): the field named, else the body.
                field = exc.field.split(".") if exc.field else []
                detail: object = [{"loc": ["body", *field], "msg": message,
                                   "type": "value_error"}]
            else:
                detail = message
            return JSONResponse({"detail": detail}, status_code=exc.status_code)
        return render(request, "error.html", {"status": exc.status_code, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/mijn/link" if exc.resident else "/login"
        url = f"{target}?next={quote(exc.next_url)}"
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        messages = {
            403: i18n.gettext("Je hebt geen toegang tot deze pagina."),
            404: i18n.gettext("Deze pagina bestaat niet (meer)."),
        }
        message = messages.get(exc.status_code, str(exc.detail))
        return render(request, "error.html", {"status": exc.status_code, "message": message},
                      status_code=exc.status_code)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeoutError)
    async def database_error(request: Request, exc: Exception) -> Response:
        if not _database_unavailable(exc):
            raise exc
        cause = getattr(exc, "orig", None) or exc
        # The driver's first line only: SQLAlchemy's own text carries the statement's values.
        log.warning("database unavailable (%s): %s", type(cause).__name__,
                    str(cause).strip().splitlines()[0][:200] if str(cause).strip() else "")
        message = i18n.gettext("Wijkwerf kan zijn gegevens even niet bereiken. Probeer het over "
                               "enkele ogenblikken opnieuw.")
        return _error_page(request, 503, message,
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Answered by Starlette's outermost middleware, outside WebMiddleware: add its headers.
        response = _error_page(request, 500, i18n.gettext(
            "Er ging iets mis aan onze kant. Probeer het later opnieuw."))
        response.headers["Cache-Control"] = NO_STORE.decode()
        response.headers["X-Request-ID"] = observability.current_request_id()
        response.raw_headers.extend(security_headers(get_settings().WIJKWERF_ENV))
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            errors = [
                {"loc": list(error.get("loc", [])), "msg": error.get("msg", ""),
                 "type": error.get("type", "")}
                for error in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        return render(request, "error.html",
                      {"status": 422, "message": i18n.gettext("Deze aanvraag is ongeldig.")},
                      status_code=422)

    return app


app = create_app()
