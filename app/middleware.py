"""One pure-ASGI middleware for every request: language, CSRF, security headers, caching rules
and the access log.

Pure ASGI (not BaseHTTPMiddleware) because it runs on every request, hot public pages included.

Caching: every answer that does not say otherwise is `Cache-Control: no-store`, so no page or
API answer with personal data (or a token) is kept by a browser or a proxy, whatever route adds
it later. Only two kinds are cacheable: static files (public, for an hour) and the public pages
of the micro-cache (`page_cache.PAGES`: private, revalidated on every load, because they carry
the visitor's CSRF token).

The access log (on unless `wijkwerf serve --no-access-log`; one JSON line per request with its
request id, see app/observability.py, which also counts every request for /metrics) names the
route's path template and never the query string: `GET /r/{token} 200`, not the token;
`GET /beheer/wijken/{slug}/huishoudens`, not the name a member of staff searched for.
"""

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.requests import Request

from app import i18n, observability
from app.config import get_settings
from app.security import csrf_token_for, csrf_token_valid, new_token
from app.services import page_cache
from app.templating import VARY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "ww_csrf"
LANG_COOKIE = "ww_lang"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_FORM_BYTES = 2 * 1024 * 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_STATIC_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)

_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_PRODUCTION_HEADERS = (*_STATIC_HEADERS, _HSTS)
NO_STORE = b"no-store"
STATIC_CACHE_CONTROL = b"public, max-age=3600"

access_log = logging.getLogger("wijkwerf.access")


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return {}
            return {key: morsel.value for key, morsel in jar.items()}
    return {}


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> bytes:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode()


def security_headers(environment: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer carries (HSTS only in production, where it is served over
    https)."""
    return _PRODUCTION_HEADERS if environment == "production" else _STATIC_HEADERS


def route_template(scope: Scope) -> str | None:
    """The matched route's path template with its router's prefix (`/api/v1/me`), or None.
    FastAPI keeps the prefixed template on its effective route (an included router's route
    itself holds only its own part, `/me`)."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) and template else None


def _cache_control(scope: Scope) -> bytes:
    """What an answer that sets no Cache-Control of its own may be kept as (see above)."""
    if scope["path"].startswith("/static/"):
        return STATIC_CACHE_CONTROL
    if route_template(scope) in page_cache.PAGES:
        return page_cache.CACHE_CONTROL.encode()
    return NO_STORE


def logged_path(scope: Scope) -> str:
    """The request's path as the access log shows it: the matched route's template, never the
    values in it nor the query string (tokens, searched names, emails)."""
    template = route_template(scope)
    if template:
        return template
    if scope["path"].startswith("/static/"):
        return "/static/{path}"
    return scope.get("state", {}).get("public_page_path") or "(no route)"


async def _send_plain(
    send: Send, status: int, body: dict[str, Any] | str, environment: str
) -> None:
    if isinstance(body, dict):
        payload, content_type = json.dumps(body).encode(), b"application/json"
    else:
        payload, content_type = body.encode(), b"text/html; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode()),
               (b"cache-control", NO_STORE), *security_headers(environment)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class WebMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: an error the server answers outside this
        rid = observability.request_id_from(_header(scope, observability.REQUEST_ID_HEADER))
        # Not reset afterwards: the 500 handler (outside this middleware) still names it.
        observability.request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (observability.REQUEST_ID_HEADER, rid.encode()))
            await send(message)

        try:
            await self._handle(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            route = logged_path(scope)
            observability.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 1)})

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = get_settings()
        path: str = scope["path"]
        method: str = scope["method"]
        cookies = _cookies(scope)
        query_lang = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[
            0
        ]
        language = i18n.pick_language(
            query_lang, cookies.get(LANG_COOKIE), _header(scope, b"accept-language")
        )
        i18n.current_language.set(language)

        is_api = path.startswith("/api/")
        set_cookies: list[bytes] = []
        csrf_cookie = cookies.get(CSRF_COOKIE, "")
        if not is_api and not path.startswith("/static/"):
            if not csrf_cookie or len(csrf_cookie) > 100:
                csrf_cookie = new_token()
                set_cookies.append(
                    _cookie_header(
                        CSRF_COOKIE,
                        csrf_cookie,
                        max_age=60 * 60 * 24 * 30,
                        secure=settings.secure_cookies,
                    )
                )
            if query_lang in i18n.SUPPORTED and cookies.get(LANG_COOKIE) != query_lang:
                set_cookies.append(
                    _cookie_header(
                        LANG_COOKIE,
                        query_lang,
                        max_age=60 * 60 * 24 * 365,
                        secure=settings.secure_cookies,
                    )
                )
        scope.setdefault("state", {})["csrf_cookie"] = csrf_cookie

        if method == "GET" and not is_api and await self._served_from_cache(
                scope, send, language, csrf_cookie, set_cookies, settings.WIJKWERF_ENV):
            return

        if method not in SAFE_METHODS:
            if is_api:
                if not await self._api_body_ok(scope):
                    await _send_plain(
                        send, 415, {"detail": "Content-Type must be application/json"},
                        settings.WIJKWERF_ENV,
                    )
                    return
            else:
                receive, ok = await self._check_csrf(scope, receive, cookies.get(CSRF_COOKIE))
                if not ok:
                    message = i18n.gettext(
                        "Dit formulier is verlopen of komt niet van deze site. "
                        "Laad de pagina opnieuw en probeer het nog eens."
                    )
                    await _send_plain(
                        send, 403, f"<!doctype html><title>403</title><p>{message}</p>",
                        settings.WIJKWERF_ENV,
                    )
                    return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _value in headers):
                    headers.append((b"cache-control", _cache_control(scope)))
                headers.extend(security_headers(settings.WIJKWERF_ENV))
                headers.extend((b"set-cookie", cookie) for cookie in set_cookies)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _served_from_cache(scope: Scope, send: Send, language: str, csrf_cookie: str,
                                 set_cookies: list[bytes], environment: str) -> bool:
        """Answer a fresh public-page hit here, before routing (a quarter of a hit's cost)."""
        cache = page_cache.public_pages
        if cache.ttl <= 0:
            return False
        key = page_cache.key_for(scope["path"], scope.get("query_string", b"").decode("latin-1"),
                                 language, _header(scope, b"hx-request") or "")
        hit = cache.get(key)
        if hit is None or not hit.fresh(cache.ttl, time.monotonic()):
            return False
        body = page_cache.personalise(hit, csrf_token_for(csrf_cookie)).encode()
        headers = [(b"content-type", b"text/html; charset=utf-8"),
                   (b"content-length", str(len(body)).encode()), (b"vary", VARY.encode()),
                   (b"cache-control", page_cache.CACHE_CONTROL.encode()),
                   *security_headers(environment),
                   *((b"set-cookie", cookie) for cookie in set_cookies)]
        scope.setdefault("state", {})["public_page_path"] = hit.route or scope["path"]
        observability.CACHE.labels("hit").inc()
        await send({"type": "http.response.start", "status": hit.status_code,
                    "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    @staticmethod
    async def _api_body_ok(scope: Scope) -> bool:
        length = _header(scope, b"content-length")
        has_body = (length is not None and length != "0") or (
            _header(scope, b"transfer-encoding") is not None
        )
        if not has_body:
            return True
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        return content_type == "application/json"

    @staticmethod
    async def _check_csrf(
        scope: Scope, receive: Receive, csrf_cookie: str | None
    ) -> tuple[Receive, bool]:
        presented = _header(scope, b"x-csrf-token")
        if presented is not None:
            return receive, csrf_token_valid(csrf_cookie, presented)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_FORM_BYTES:
                return receive, False
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        content_type = (_header(scope, b"content-type") or "").lower()
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = parse_qs(body.decode("utf-8", "replace"))
            presented = fields.get("csrf_token", [""])[0] or None
        elif content_type.startswith("multipart/form-data"):
            form_replayed = False

            async def form_receive() -> Message:
                nonlocal form_replayed
                if not form_replayed:
                    form_replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return {"type": "http.disconnect"}

            try:
                form = await Request(scope, form_receive).form()
            except HTTPException:  # no boundary, a broken part: not a form we can read
                return replay, False
            value = form.get("csrf_token")
            presented = value if isinstance(value, str) else None
        return replay, csrf_token_valid(csrf_cookie, presented)
