"""The Jinja2 environment (autoescaped, i18n) and the one render helper."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import i18n, observability
from app.security import csrf_token_for

TEMPLATE_DIR = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
    cache_size=400,
)
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
)
env.filters.update(
    money=i18n.format_money,
    number=i18n.format_number,
    day=i18n.format_day,
    instant=i18n.format_instant,
    pct=i18n.format_pct,
)
env.globals.update(STATIC_VERSION="1", request_id=observability.current_request_id)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


VARY = "HX-Request, Cookie, Accept-Language"


def csrf_token_of(request: Request) -> str:
    csrf_cookie = getattr(request.state, "csrf_cookie", "")
    return csrf_token_for(csrf_cookie) if csrf_cookie else ""


def base_context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "lang": i18n.current_language.get(),
        "csrf_token": csrf_token_of(request),
        "principal": getattr(request.state, "principal", None),
        "path": request.url.path,
    }


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A full page, or only `block` when htmx asks for it (same URL, two renderings)."""
    template = env.get_template(template_name)
    ctx = base_context(request) | (context or {})
    if block is not None and is_htmx(request):
        block_render = template.blocks[block]
        body = "".join(block_render(template.new_context(ctx)))
    else:
        body = template.render(ctx)
    return html_response(body, status_code=status_code, headers=headers)


def html_response(
    body: str, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Vary"] = VARY
    return response


def redirect(request: Request, url: str) -> Response:
    """303 for a plain request; `HX-Redirect` for an htmx one."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
