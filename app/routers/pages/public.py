"""Public pages for residents: the open wijken, a wijk with its offers, an offer with the
sign-up form (validated as you type with htmx, and working without JavaScript)."""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import i18n, observability
from app.deps import (
    CommittingRoute,
    FormFields,
    ReadSessionDep,
    proven_household_id,
    read_session_for,
    signup_writer,
)
from app.i18n import N_
from app.middleware import route_template
from app.routers.pages import estimate_pages
from app.services import offers_public, page_cache, signups
from app.services.errors import Conflict, NotFound
from app.services.households import HOUSEHOLD_FIELDS
from app.templating import csrf_token_of, html_response, redirect, render

router = APIRouter(route_class=CommittingRoute)
log = logging.getLogger(__name__)
FORM_FIELDS = (*HOUSEHOLD_FIELDS, "quantity", "consent", "share_contact_with_contractor")
# htmx stops polling when a poll answers 286.
STOP_POLLING = 286


def _form_values(fields: dict[str, str]) -> dict[str, str]:
    return {name: fields.get(name, "") for name in FORM_FIELDS}


def _offer_url(page: offers_public.OfferPage) -> str:
    return f"/wijken/{page.campaign.slug}/aanbod/{page.offer.id}"


def _form_context(page: offers_public.OfferPage, values: dict[str, Any],
                  errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"page": page, "values": values, "errors": errors, **extra}


async def _cached(request: Request, build: Callable[[Session], HTMLResponse]) -> Response:
    """Serve a public page from the micro-cache (at most PUBLIC_CACHE_SECONDS stale), or build
    it on a read-only session in the thread pool. Hits touch neither the database nor a thread
    (fresh ones are answered by WebMiddleware before they get here)."""
    cache = page_cache.public_pages
    key = page_cache.key_for(request.scope["path"],
                             request.scope.get("query_string", b"").decode("latin-1"),
                             i18n.current_language.get(), request.headers.get("HX-Request", ""))
    csrf_token = csrf_token_of(request)
    hit = cache.get(key)
    if hit is not None and not hit.fresh(cache.ttl, time.monotonic()):
        observability.CACHE.labels("stale").inc()
        lock = cache.build_lock(key)
        if not lock.locked():  # one visitor's request rebuilds it; everyone gets this one
            _background(_rebuild(request, build, key, csrf_token, lock))
    elif hit is None and cache.ttl > 0:
        # One build per page at a time: when an entry expires under load, the other visitors
        # wait for that build instead of all rendering the same page at once.
        async with cache.build_lock(key):
            hit = cache.get(key)
            if hit is None:
                observability.CACHE.labels("miss").inc()
                return await _build_and_store(request, build, key, csrf_token)
    if hit is None:
        observability.CACHE.labels("miss").inc()
        return await run_in_threadpool(_build_on_read_session, request, build)
    return html_response(page_cache.personalise(hit, csrf_token), status_code=hit.status_code)


async def _build_and_store(request: Request, build: Callable[[Session], HTMLResponse],
                           key: tuple[str, ...], csrf_token: str) -> HTMLResponse:
    started_at = time.monotonic()
    response = await run_in_threadpool(_build_on_read_session, request, build)
    if response.status_code in (200, STOP_POLLING):
        page_cache.public_pages.put(key, bytes(response.body).decode(),
                                    response.status_code, csrf_token, started_at,
                                    route_template(request.scope) or "")
    return response


async def _rebuild(request: Request, build: Callable[[Session], HTMLResponse],
                   key: tuple[str, ...], csrf_token: str, lock: asyncio.Lock) -> None:
    """Refresh a page that is past its fresh half, while visitors get the stale one."""
    async with lock:
        hit = page_cache.public_pages.get(key)
        if hit is not None and hit.fresh(page_cache.public_pages.ttl, time.monotonic()):
            return  # another request refreshed it meanwhile
        try:
            await _build_and_store(request, build, key, csrf_token)
        except Exception:  # the next visitor tries again; the page shows its error itself
            log.exception("rebuilding %s failed", key[0])


_rebuilds: set[asyncio.Task[None]] = set()


def _background(build: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(build)
    _rebuilds.add(task)  # the loop keeps only a weak reference
    task.add_done_callback(_rebuilds.discard)


def _build_on_read_session(request: Request, build: Callable[[Session], HTMLResponse]
                           ) -> HTMLResponse:
    with read_session_for(request) as session:
        return build(session)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The open wijken."""
    return await _cached(request, lambda session: render(
        request, "public/home.html", {"wijken": offers_public.home_page(session)}))


@router.get("/wijken/{slug}", response_class=HTMLResponse)
async def wijk(request: Request, slug: str) -> Response:
    """A wijk: description, period, partners, and its offers with live counters."""
    return await _cached(request, lambda session: render(
        request, "public/wijk.html", {"page": offers_public.wijk_page(session, slug)}))


@router.get("/wijken/{slug}/tellers", response_class=HTMLResponse)
async def wijk_counters(request: Request, slug: str) -> Response:
    """The counters of every offer of the wijk, as out-of-band swaps (polled by the wijk page)."""

    def build(session: Session) -> HTMLResponse:
        offers = offers_public.wijk_counters(session, slug)
        still_open = any(offer.status == "open" for offer in offers)
        return render(request, "public/_wijk_counters.html", {"offers": offers},
                      status_code=200 if still_open else STOP_POLLING)

    return await _cached(request, build)


@router.get("/wijken/{slug}/aanbod/{offer_id}", response_class=HTMLResponse)
async def offer(request: Request, slug: str, offer_id: int) -> Response:
    """An offer, what it costs this household (price, premium, net cost and savings, from the
    estimate form: a GET form, so it also works without JavaScript), and the sign-up form."""
    asked = estimate_pages.estimate_values(request.query_params)

    def build(session: Session) -> HTMLResponse:
        page = offers_public.offer_page(session, slug, offer_id)
        return render(request, "public/offer.html", _form_context(
            page, {"quantity": asked["quantity"], "build_year": asked["build_year"]}, {})
            | estimate_pages.estimate_context(session, page, asked))

    return await _cached(request, build)


@router.get("/wijken/{slug}/aanbod/{offer_id}/tellers", response_class=HTMLResponse)
async def offer_counters(request: Request, slug: str, offer_id: int) -> Response:
    """The live counters of one offer (polled by the offer page)."""

    def build(session: Session) -> HTMLResponse:
        page = offers_public.offer_page(session, slug, offer_id)
        return render(request, "public/_offer_counters.html",
                      {"offer": page.offer, "poll_url": f"{_offer_url(page)}/tellers"},
                      status_code=200 if page.offer.status == "open" else STOP_POLLING)

    return await _cached(request, build)


@router.get("/wijken/{slug}/aanbod/{offer_id}/schatting", response_class=HTMLResponse)
def estimate(request: Request, slug: str, offer_id: int, session: ReadSessionDep) -> HTMLResponse:
    """The estimate for a quantity, income category and build year, updated as the resident
    types them."""
    page = offers_public.offer_page(session, slug, offer_id)
    return render(request, "public/_estimate.html", estimate_pages.estimate_context(
        session, page, estimate_pages.estimate_values(request.query_params)))


@router.post("/wijken/{slug}/aanbod/{offer_id}/controle", response_class=HTMLResponse)
def validate_field(request: Request, slug: str, offer_id: int, fields: FormFields,
                   session: ReadSessionDep) -> HTMLResponse:
    """Check the form while it is typed; the field that asked (HX-Trigger-Name) gets its
    message. Rules that need the whole form wait for the submit."""
    values = _form_values(fields)
    page = offers_public.offer_page(session, slug, offer_id)
    _data, errors = signups.clean_signup(values, page.campaign, live=True)
    field = request.headers.get("HX-Trigger-Name", "")
    shown = {field: errors[field]} if field in errors else {}
    return render(request, "public/offer.html", _form_context(page, values, shown),
                  block="signup_form")


@router.post("/wijken/{slug}/aanbod/{offer_id}", response_class=HTMLResponse)
async def sign_up(request: Request, slug: str, offer_id: int, fields: FormFields) -> Response:
    """Sign up; on success go to the thank-you page, else show the form with the messages."""
    values = _form_values(fields)
    try:
        receipt = await signup_writer(request).sign_up(signups.SignupRequest(
            offer_id, values, locale=i18n.current_language.get(), campaign_slug=slug,
            proven_household_id=await proven_household_id(request, kind="web")))
    except signups.SignupInvalid as exc:
        return await run_in_threadpool(_form_again, request, slug, offer_id, values,
                                       exc.errors, 422, show_summary=True)
    except Conflict as exc:
        return await run_in_threadpool(_form_again, request, slug, offer_id, values,
                                       {}, 409, conflict=exc.message)
    ref = signups.confirmation_ref(receipt)
    return redirect(request, f"/wijken/{slug}/aanbod/{offer_id}/bedankt?ref={ref}")


def _form_again(request: Request, slug: str, offer_id: int, values: dict[str, str],
                errors: dict[str, str], status_code: int, **extra: Any) -> Response:
    """The sign-up form with what the resident typed and why it was not taken."""
    with read_session_for(request) as session:
        page = offers_public.offer_page(session, slug, offer_id)
        return render(request, "public/offer.html", _form_context(page, values, errors, **extra),
                      block="signup_form", status_code=status_code)


@router.get("/wijken/{slug}/aanbod/{offer_id}/bedankt", response_class=HTMLResponse)
def signup_done(request: Request, slug: str, offer_id: int, session: ReadSessionDep,
                ref: str = "") -> HTMLResponse:
    """After signing up: registered, or waitlisted with the position; and how we follow up."""
    page = offers_public.offer_page(session, slug, offer_id)
    found = signups.read_confirmation_ref(ref)
    if found is None or found.offer_id != page.offer.id:
        raise NotFound(N_("Deze bevestiging bestaat niet."))
    return render(request, "public/signup_done.html", {
        "page": page, "status": found.status, "waitlist_position": found.waitlist_position,
        "has_email": found.mailed,
    })
