"""A per-process micro-cache for public pages, at most `ttl` seconds stale.

Public pages are the same for every visitor of a language except for the visitor's CSRF token,
so the rendered body is kept for one second and the token of the visitor who caused the render
is swapped for the current visitor's. With one second of staleness at most, every worker and
every instance stays correct without any invalidation message (DESIGN.md allows public counts
to be one second stale). Hits do no database work and no thread hop; `WebMiddleware` serves
fresh hits before the request reaches the router.

Age is counted from the moment the build started reading. In the first half of its life an
entry is fresh; after that it is still served while one request rebuilds it in the background
(so no visitor waits for a render under load); past `ttl` it is never served.
"""

import asyncio
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from app.config import get_settings

# The routes whose pages this cache serves (public.py's `_cached`). They are the same for every
# visitor but for the visitor's own CSRF token, so a browser may keep one (the back button) but
# a shared cache may not, and the browser asks again on every load (the counters move).
# Every other answer is `no-store` (app/middleware.py): a page missing here is safe, not stale.
PAGES = frozenset({
    "/", "/wijken/{slug}", "/wijken/{slug}/tellers", "/wijken/{slug}/aanbod/{offer_id}",
    "/wijken/{slug}/aanbod/{offer_id}/tellers",
})
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class CachedPage:
    body: str
    status_code: int
    csrf_token: str
    stored_at: float
    # The route's path template, for the access log and the metrics of a hit.
    route: str = ""

    def fresh(self, ttl: float, now: float) -> bool:
        """In its first half of life; after that it is refreshed in the background, which
        leaves a rebuild on a busy server half of `ttl` to land. (Refreshing after a quarter
        cost a third of the throughput under load: every rebuild competes with the hits.)"""
        return now - self.stored_at < ttl / 2


def key_for(path: str, query: str, language: str, htmx: str) -> tuple[str, ...]:
    """What a public page depends on besides the database: the same for the route and the
    middleware."""
    return (path, query, language, htmx)


class MicroCache:
    def __init__(self, ttl: float = 1.0, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, ...], CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[tuple[str, ...], asyncio.Lock] = {}

    def get(self, key: tuple[str, ...]) -> CachedPage | None:
        if self.ttl <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            page = self._entries.get(key)
            if page is None:
                return None
            if now - page.stored_at >= self.ttl:
                del self._entries[key]
                return None
            return page

    def put(self, key: tuple[str, ...], body: str, status_code: int, csrf_token: str,
            started_at: float, route: str = "") -> None:
        """Keep a page whose build started (read the database) at `started_at`."""
        if self.ttl <= 0:
            return
        with self._lock:
            current = self._entries.get(key)
            if current is not None and current.stored_at > started_at:
                return  # a build that started later already stored its page
            self._entries[key] = CachedPage(body, status_code, csrf_token, started_at, route)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self._build_locks = {}

    def build_lock(self, key: tuple[str, ...]) -> asyncio.Lock:
        """The lock that lets one request of this process build a page while others wait.
        (Used from the event loop only; the dict is bounded by the pages there are.)"""
        lock = self._build_locks.get(key)
        if lock is None:
            if len(self._build_locks) > self.max_entries:
                self._build_locks = {k: v for k, v in self._build_locks.items() if v.locked()}
            lock = self._build_locks[key] = asyncio.Lock()
        return lock


public_pages = MicroCache(ttl=get_settings().PUBLIC_CACHE_SECONDS)


def personalise(page: CachedPage, csrf_token: str) -> str:
    """The cached body with this visitor's CSRF token in place of the one it was rendered with."""
    if not page.csrf_token or page.csrf_token == csrf_token:
        return page.body
    return page.body.replace(page.csrf_token, csrf_token)
