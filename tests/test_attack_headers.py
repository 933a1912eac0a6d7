"""Security headers and cookie flags on every page the app serves outside the JSON API.

Every GET route that is not under /api/, not a static file and not FastAPI's own schema/docs
routes is requested as the role it is for (anonymous, resident, staff, contractor), with real
objects in its path, and each answer must carry a strict Content-Security-Policy, nosniff, a
Referrer-Policy, no framing, and cookies that are HttpOnly and SameSite=Lax (Secure too, with
Strict-Transport-Security, in production). The list of covered routes must equal the app's, so a
new page without coverage fails here.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import get_settings
from app.deps import SESSION_COOKIE
from app.main import create_app
from app.middleware import CSRF_COOKIE, LANG_COOKIE
from app.models import ClaimToken
from app.services import claims, page_cache, signups
from app.services import mail as mail_service
from tests.factories import DEFAULT_PASSWORD
from tests.support.world import World, build_world, csrf_of, web_login

ANONYMOUS, RESIDENT, STAFF, CONTRACTOR = "anonymous", "resident", "staff", "contractor"
# JSON, FastAPI's own, and Prometheus's text (/metrics: headers checked in test_observability)
NOT_PAGES = {"/openapi.json", "/healthz", "/metrics", "/docs/oauth2-redirect"}


def page_routes(app: FastAPI) -> set[str]:
    """The app's GET routes outside the JSON API and the static files."""
    return {
        route.path for route in iter_route_contexts(app.routes)
        if route.path and route.methods and "GET" in route.methods
        and not route.path.startswith(("/api/", "/static")) and route.path not in NOT_PAGES
    }


def magic_link_token(session: Session, world: World) -> str:
    link = mail_service.mint_magic_link(session, world.resident.id)  # type: ignore[arg-type]
    session.flush()
    return link.rsplit("/r/", 1)[1]


def claim_notice_token(session: Session, world: World) -> str:
    """The household's link about a sign-up someone else made at its address."""
    claim = signups.sign_up(session, world.offer.id, {  # type: ignore[arg-type]
        "name": "Iemand Anders", "email": "anders@example.be",
        "street": world.resident.street, "house_number": world.resident.house_number,
        "postcode": world.resident.postcode, "consent": "true"}).claim
    assert claim is not None and claim.id is not None
    link, row = claims.new_claim_link(claim.id, "notice")
    session.add(ClaimToken(**row))
    session.flush()
    return link.rsplit("/", 1)[1]


def thank_you_ref(world: World) -> str:
    return signups.confirmation_ref(signups.SignupReceipt(
        participation_id=world.registered.id, offer_id=world.offer.id,  # type: ignore[arg-type]
        household_id=world.resident.id, status="registered",  # type: ignore[arg-type]
        waitlist_position=None, mailed=True))


Url = Callable[[World, Session], str]
# Every page route: who may see it, and a URL to a real object. Keep in step with the app.
PAGES: dict[str, tuple[str, Url]] = {
    "/": (ANONYMOUS, lambda w, s: "/"),
    "/privacy": (ANONYMOUS, lambda w, s: "/privacy"),
    "/login": (ANONYMOUS, lambda w, s: "/login"),
    "/mijn/link": (ANONYMOUS, lambda w, s: "/mijn/link"),
    "/mijn/gewist": (ANONYMOUS, lambda w, s: "/mijn/gewist"),
    "/r/{token}": (ANONYMOUS, lambda w, s: f"/r/{magic_link_token(s, w)}"),
    "/adres-bevestigen/{token}": (
        ANONYMOUS, lambda w, s: f"/adres-bevestigen/{claim_notice_token(s, w)}"),
    "/wijken/{slug}": (ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}"),
    "/wijken/{slug}/tellers": (ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}/tellers"),
    "/wijken/{slug}/klimaattafel": (
        ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}/klimaattafel"),
    "/wijken/{slug}/aanbod/{offer_id}": (
        ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}/aanbod/{w.offer.id}"),
    "/wijken/{slug}/aanbod/{offer_id}/tellers": (
        ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}/aanbod/{w.offer.id}/tellers"),
    "/wijken/{slug}/aanbod/{offer_id}/schatting": (
        ANONYMOUS,
        lambda w, s: f"/wijken/{w.campaign.slug}/aanbod/{w.offer.id}/schatting?quantity=40"),
    "/wijken/{slug}/aanbod/{offer_id}/bedankt": (
        ANONYMOUS, lambda w, s: f"/wijken/{w.campaign.slug}/aanbod/{w.offer.id}/bedankt"
                                f"?ref={thank_you_ref(w)}"),
    "/mijn": (RESIDENT, lambda w, s: "/mijn"),
    "/mijn/inschrijvingen/{participation_id}/intrekken": (
        RESIDENT, lambda w, s: f"/mijn/inschrijvingen/{w.registered.id}/intrekken"),
    "/mijn/gegevens.json": (RESIDENT, lambda w, s: "/mijn/gegevens.json"),
    "/mijn/wissen": (RESIDENT, lambda w, s: "/mijn/wissen"),
    "/vergelijk/{quote_request_id}": (
        RESIDENT, lambda w, s: f"/vergelijk/{w.quote_request.id}"),
    "/account": (STAFF, lambda w, s: "/account"),
    "/beheer": (STAFF, lambda w, s: "/beheer"),
    "/beheer/audit": (STAFF, lambda w, s: "/beheer/audit"),
    "/beheer/toegang": (STAFF, lambda w, s: "/beheer/toegang"),
    "/beheer/nakijken": (STAFF, lambda w, s: "/beheer/nakijken"),
    "/beheer/aannemers": (STAFF, lambda w, s: "/beheer/aannemers"),
    "/beheer/premies": (STAFF, lambda w, s: "/beheer/premies"),
    "/beheer/besparingen": (STAFF, lambda w, s: "/beheer/besparingen"),
    "/beheer/offertes": (STAFF, lambda w, s: "/beheer/offertes"),
    "/beheer/offertes/nieuw": (STAFF, lambda w, s: "/beheer/offertes/nieuw"),
    "/beheer/offertes/{quote_request_id}": (
        STAFF, lambda w, s: f"/beheer/offertes/{w.quote_request.id}"),
    "/beheer/wijken/nieuw": (STAFF, lambda w, s: "/beheer/wijken/nieuw"),
    "/beheer/wijken/{slug}": (STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}"),
    "/beheer/wijken/{slug}/bewerken": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/bewerken"),
    "/beheer/wijken/{slug}/aanbod/nieuw": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/aanbod/nieuw"),
    "/beheer/aanbod/{offer_id}/bewerken": (
        STAFF, lambda w, s: f"/beheer/aanbod/{w.offer.id}/bewerken"),
    "/beheer/wijken/{slug}/huishoudens": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/huishoudens"),
    "/beheer/wijken/{slug}/huishoudens.csv": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/huishoudens.csv"),
    "/beheer/wijken/{slug}/huishoudens/nieuw": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/huishoudens/nieuw"),
    "/beheer/wijken/{slug}/huishoudens/{household_id}": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/huishoudens/{w.resident.id}"),
    "/beheer/wijken/{slug}/ondersteuning": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/ondersteuning"),
    "/beheer/wijken/{slug}/ondersteuning/{profile}": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/ondersteuning/can_and_will"),
    "/beheer/wijken/{slug}/groepen": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/groepen"),
    "/beheer/wijken/{slug}/groepen/voorstel": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/groepen/voorstel"),
    "/beheer/wijken/{slug}/dashboard": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/dashboard"),
    "/beheer/wijken/{slug}/dashboard/{table}.csv": (
        STAFF, lambda w, s: f"/beheer/wijken/{w.campaign.slug}/dashboard/funnel.csv"),
    "/aannemer": (CONTRACTOR, lambda w, s: "/aannemer"),
    "/aannemer/batches/{batch_id}": (CONTRACTOR, lambda w, s: f"/aannemer/batches/{w.batch.id}"),
    "/aannemer/batches/{batch_id}.csv": (
        CONTRACTOR, lambda w, s: f"/aannemer/batches/{w.batch.id}.csv"),
    "/aannemer/offerteaanvragen/{quote_request_id}": (
        CONTRACTOR, lambda w, s: f"/aannemer/offerteaanvragen/{w.quote_request.id}"),
}
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin",
                     "strict-origin-when-cross-origin"}
TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)"
                 r"\s*/?>")
ATTRIBUTE_NAME = re.compile(r"\s([^\s=>]+)(?:=)?")


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world(db_session)


def test_every_page_route_is_covered() -> None:
    assert page_routes(create_app(start_mail_sender=False)) == set(PAGES)


def test_every_page_sends_the_security_headers_and_safe_cookies(
    client: TestClient, db_session: Session, world: World, subtests: pytest.Subtests
) -> None:
    visit_every_page(client, db_session, world, subtests, production=False)


def test_in_production_every_page_also_sends_hsts_and_secure_cookies(
    app: FastAPI, db_session: Session, world: World, production: None,
    subtests: pytest.Subtests
) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        visit_every_page(client, db_session, world, subtests, production=True)


@pytest.mark.parametrize("in_production", [False, True])
def test_logging_in_sets_a_safe_session_cookie(
    app: FastAPI, db_session: Session, world: World, monkeypatch: pytest.MonkeyPatch,
    in_production: bool
) -> None:
    if in_production:
        monkeypatch.setenv("WIJKWERF_ENV", "production")
    get_settings.cache_clear()
    try:
        base_url = "https://testserver" if in_production else "http://testserver"
        with TestClient(app, base_url=base_url) as client:
            csrf = csrf_of(client.get("/login").text)
            staff = client.post("/login", data={"email": world.staff.email,
                                                "password": DEFAULT_PASSWORD,
                                                "csrf_token": csrf}, follow_redirects=False)
            assert staff.status_code == 303
            assert_cookie(staff, SESSION_COOKIE, secure=in_production)

            client.cookies.clear()
            token = magic_link_token(db_session, world)
            csrf = csrf_of(client.get(f"/r/{token}").text)
            resident = client.post(f"/r/{token}", data={"csrf_token": csrf},
                                   follow_redirects=False)
            assert resident.status_code == 303
            assert_cookie(resident, SESSION_COOKIE, secure=in_production)
            english = client.get("/privacy?lang=en")
            assert_cookie(english, LANG_COOKIE, secure=in_production)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


# --- helpers -----------------------------------------------------------------------------------


def visit_every_page(client: TestClient, session: Session, world: World,
                     subtests: pytest.Subtests, *, production: bool) -> None:
    for role in (ANONYMOUS, RESIDENT, STAFF, CONTRACTOR):
        client.cookies.clear()
        if role == RESIDENT:
            web_login(client, session, household=world.resident)
        elif role == STAFF:
            web_login(client, session, user=world.staff)
        elif role == CONTRACTOR:
            web_login(client, session, user=world.contractor_user)
        for path, (page_role, url_of) in PAGES.items():
            if page_role != role:
                continue
            with subtests.test(path=path, role=role):
                client.cookies.delete(CSRF_COOKIE)  # a first visit: the CSRF cookie is set
                response = client.get(url_of(world, session), follow_redirects=False)
                assert response.status_code == 200, (path, response.status_code)
                assert_security_headers(response, production=production)
                assert_cache_control(path, response)
                assert_cookie(response, CSRF_COOKIE, secure=production)
                if response.headers["content-type"].startswith("text/html"):
                    assert_no_inline_code(response.text)


def assert_security_headers(response: Any, *, production: bool) -> None:
    headers = response.headers
    csp = {directive.split()[0]: directive.split()[1:]
           for directive in headers["content-security-policy"].split(";") if directive.strip()}
    for directive in ("default-src", "script-src", "style-src", "connect-src"):
        assert csp[directive] == ["'self'"], (directive, csp.get(directive))
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    sources = [source for values in csp.values() for source in values]
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in REFERRER_POLICIES
    assert headers["x-frame-options"] == "DENY"
    hsts = headers.get("strict-transport-security")
    if production:
        assert hsts is not None
        max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))  # type: ignore[union-attr]
        assert max_age >= 31_536_000
    else:
        assert hsts is None  # not over plain http in development


def assert_cache_control(path: str, response: Any) -> None:
    """Only the public pages of the micro-cache may be kept, and only by the visitor's own
    browser (each carries the visitor's CSRF token); every other page is `no-store`."""
    expected = page_cache.CACHE_CONTROL if path in page_cache.PAGES else "no-store"
    assert response.headers.get("cache-control") == expected, (
        path, response.headers.get("cache-control"))
    if path in page_cache.PAGES:
        assert PAGES[path][0] == ANONYMOUS  # a page with personal data is never cacheable


def assert_cookie(response: Any, name: str, *, secure: bool) -> None:
    """`name` is set on this response with HttpOnly, SameSite=Lax, Path=/ and (only in
    production) Secure."""
    found = [value for value in response.headers.get_list("set-cookie")
             if value.startswith(f"{name}=")]
    assert len(found) == 1, (name, response.headers.get_list("set-cookie"))
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip().partition("=")[2]
                  for part in found[0].split(";")[1:]}
    assert "httponly" in attributes, found[0]
    assert attributes.get("samesite", "").lower() == "lax", found[0]
    assert attributes.get("path") == "/", found[0]
    assert ("secure" in attributes) is secure, found[0]


def assert_no_inline_code(html: str) -> None:
    """What the strict CSP would block anyway must not be in the page: inline scripts, event
    handler attributes, style attributes, javascript: URLs."""
    for tag in TAG.finditer(html):
        name, attributes = tag.group(1).lower(), tag.group(2)
        names = {match.group(1).lower() for match in ATTRIBUTE_NAME.finditer(attributes)}
        assert not {n for n in names if n.startswith("on")}, tag.group(0)
        assert "style" not in names, tag.group(0)
        assert "javascript:" not in attributes.lower(), tag.group(0)
        if name == "script":
            assert "src" in names, tag.group(0)
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "inline script"
    assert "<style" not in html
