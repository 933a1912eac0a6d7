"""The public pages' micro-cache: hits skip the database, each visitor keeps their own CSRF
token, and counters are at most the cache's lifetime stale."""

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from app.services import page_cache
from tests.factories import make_campaign, make_offer, make_participation


@pytest.fixture
def cache_on() -> Iterator[page_cache.MicroCache]:
    cache = page_cache.public_pages
    cache.clear()
    # Fresh for a second: long enough that a slow first build (PostgreSQL, a busy machine)
    # still leaves the next request a fresh hit.
    cache.ttl = 2.0
    yield cache
    cache.ttl = 0
    cache.clear()


def token_in(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', html)
    assert match
    return match.group(1)


def test_a_cached_wijk_page_skips_the_database_but_keeps_each_visitors_token(
    client: TestClient, app: Any, db_session: Session, engine: Engine,
    cache_on: page_cache.MicroCache,
) -> None:
    campaign = make_campaign(db_session, slug="cachewijk")
    offer = make_offer(db_session, campaign=campaign, capacity=10)
    make_participation(db_session, offer=offer)
    db_session.commit()
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    first = client.get("/wijken/cachewijk")
    other_visitor = TestClient(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        second = other_visitor.get("/wijken/cachewijk")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert statements == []
    assert "1 van 10 plaatsen ingenomen" in second.text
    assert token_in(first.text) != token_in(second.text)
    assert token_in(second.text) == token_in(other_visitor.get("/mijn/link").text)


def test_counters_catch_up_once_the_cache_lifetime_has_passed(
    client: TestClient, db_session: Session, cache_on: page_cache.MicroCache
) -> None:
    campaign = make_campaign(db_session, slug="telcache")
    offer = make_offer(db_session, campaign=campaign, capacity=10)
    url = f"/wijken/telcache/aanbod/{offer.id}/tellers"
    assert "0 van 10 plaatsen ingenomen" in client.get(url).text
    make_participation(db_session, offer=offer)
    db_session.commit()
    assert "0 van 10 plaatsen ingenomen" in client.get(url).text  # within the stated staleness
    time.sleep(cache_on.ttl + 0.05)
    assert "1 van 10 plaatsen ingenomen" in client.get(url).text


def test_languages_are_cached_apart(client: TestClient, db_session: Session,
                                    cache_on: page_cache.MicroCache) -> None:
    make_campaign(db_session, slug="taalwijk")
    db_session.commit()
    assert 'lang="nl-BE"' in client.get("/wijken/taalwijk").text
    assert 'lang="en"' in client.get("/wijken/taalwijk?lang=en").text
    assert 'lang="en"' in client.get("/wijken/taalwijk").text  # the cookie now says English


def test_an_expired_page_is_built_once_while_other_visitors_wait(
    app: Any, db_session: Session, cache_on: page_cache.MicroCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    import httpx

    from app.services import offers_public

    make_campaign(db_session, slug="drukwijk")
    db_session.commit()
    builds: list[str] = []
    real_wijk_page = offers_public.wijk_page

    def counting_wijk_page(session: Session, slug: str) -> Any:
        builds.append(slug)
        time.sleep(0.05)  # a build that takes a while, as under load
        return real_wijk_page(session, slug)

    monkeypatch.setattr(offers_public, "wijk_page", counting_wijk_page)

    async def twenty_visitors() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            answers = await asyncio.gather(*(web.get("/wijken/drukwijk") for _ in range(20)))
        return [answer.status_code for answer in answers]

    # Its own thread: another test in this process may have left an event loop running here.
    with ThreadPoolExecutor(max_workers=1) as runner:
        statuses = runner.submit(asyncio.run, twenty_visitors()).result()
    assert statuses == [200] * 20
    assert builds == ["drukwijk"]


def test_a_page_past_its_fresh_half_is_served_while_one_request_refreshes_it(
    client: TestClient, db_session: Session, cache_on: page_cache.MicroCache,
) -> None:
    campaign = make_campaign(db_session, slug="halfwijk")
    offer = make_offer(db_session, campaign=campaign, capacity=10)
    url = f"/wijken/halfwijk/aanbod/{offer.id}/tellers"
    assert "0 van 10 plaatsen ingenomen" in client.get(url).text
    make_participation(db_session, offer=offer)
    db_session.commit()
    time.sleep(cache_on.ttl / 2 + 0.02)  # stale but within the stated staleness
    assert "0 van 10 plaatsen ingenomen" in client.get(url).text  # served, no waiting
    deadline = time.monotonic() + cache_on.ttl
    while "1 van 10 plaatsen ingenomen" not in client.get(url).text:
        # the refresh that request started lands well before the entry would expire
        assert time.monotonic() < deadline, "the stale page was never refreshed"
        time.sleep(0.01)


def test_fresh_hits_are_answered_before_routing_with_the_security_headers(
    client: TestClient, db_session: Session, cache_on: page_cache.MicroCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.routers.pages import public

    make_campaign(db_session, slug="snelwijk")
    db_session.commit()
    first = client.get("/wijken/snelwijk")
    routed: list[str] = []
    real_cached = public._cached

    async def counting(request: Any, build: Any) -> Any:
        routed.append(request.url.path)
        return await real_cached(request, build)

    monkeypatch.setattr(public, "_cached", counting)
    second = client.get("/wijken/snelwijk")
    assert routed == []
    assert second.status_code == 200 and second.text.replace(
        token_in(second.text), "") == first.text.replace(token_in(first.text), "")
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy",
                 "x-frame-options", "vary"):
        assert second.headers[name] == first.headers[name]
