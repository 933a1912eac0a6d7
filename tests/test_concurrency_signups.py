"""Capacity under concurrency, through the real server on the suite's database (SQLite or
PostgreSQL): 200 simultaneous sign-ups for 50 places."""

import threading
from typing import Any

import httpx
from sqlmodel import Session, col, select

from app.models import Household, Participation
from app.services import signups
from tests.factories import make_campaign, make_offer

SIGNUPS = 200
CAPACITY = 50


def _payload(number: int) -> dict[str, Any]:
    return {
        "household": {"name": f"Buur {number}", "email": f"buur{number}@example.be",
                      "street": "Torhoutsesteenweg", "house_number": str(number),
                      "postcode": "8400"},
        "quantity": 40, "consent": True,
    }


def test_200_concurrent_signups_fill_50_places_and_queue_the_rest_in_order(
    live_server_factory: Any,
) -> None:
    server = live_server_factory(mail_url="null://")
    with Session(server.engine, expire_on_commit=False) as session:
        offer = make_offer(session, campaign=make_campaign(session), capacity=CAPACITY)
        session.commit()
    url = f"{server.url}/api/v1/offers/{offer.id}/participations"

    barrier = threading.Barrier(SIGNUPS)
    answers: dict[int, httpx.Response | BaseException] = {}

    def sign_up(number: int) -> None:
        barrier.wait()
        try:
            answers[number] = httpx.post(url, json=_payload(number), timeout=120)
        except BaseException as error:  # reported below with the number that failed
            answers[number] = error

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(1, SIGNUPS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)

    failures = {n: a for n, a in answers.items()
                if not isinstance(a, httpx.Response) or a.status_code != 201}
    assert len(answers) == SIGNUPS and not failures, {
        n: (a.status_code, a.text[:200]) if isinstance(a, httpx.Response) else repr(a)
        for n, a in list(failures.items())[:5]}
    created = [a.json() for a in answers.values() if isinstance(a, httpx.Response)]

    with Session(server.engine) as session:
        rows = session.exec(
            select(Participation).where(Participation.offer_id == offer.id)
            .order_by(col(Participation.id))
        ).all()
        households = session.exec(
            select(Household).where(Household.campaign_id == offer.campaign_id)).all()
        # Every 201 the clients saw is a stored row, and nothing else was stored.
        assert sorted(c["id"] for c in created) == [p.id for p in rows]
        assert len(households) == SIGNUPS
        assert len({p.household_id for p in rows}) == SIGNUPS
        registered = [p for p in rows if p.status == "registered"]
        waitlisted = [p for p in rows if p.status == "waitlisted"]
        assert (len(registered), len(waitlisted)) == (CAPACITY, SIGNUPS - CAPACITY)
        # Arrival order is the order the offer lock was granted: ids are assigned under it.
        assert max(p.id for p in registered) < min(p.id for p in waitlisted)  # type: ignore[type-var]
        stored_positions = [signups.waitlist_position(session, p) for p in waitlisted]
        assert stored_positions == list(range(1, SIGNUPS - CAPACITY + 1))

    answered = {c["id"]: c for c in created}
    assert all(answered[p.id]["status"] == "registered" and
               answered[p.id]["waitlist_position"] is None for p in registered)
    assert [answered[p.id]["waitlist_position"] for p in waitlisted] == stored_positions
