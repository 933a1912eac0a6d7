"""Nothing lost, nothing overbooked, under a sign-up load through the real server (issue 6, point
3): 300 sign-ups from 32 threads against `wijkwerf serve --workers 2` on the suite's database
(SQLite or PostgreSQL), some of them cut off by the client after a few milliseconds.

Afterwards: every 201 the clients saw is a stored row with the answered id and status, every stored
row was acknowledged or belongs to a request the client cut off, registered never exceeds the
capacity, and the waitlist is in arrival order: ids and positions follow the order in which the
server acknowledged the sign-ups.

The helpers here (`SignupLoad`, `signup_body`, `stored_signups`) are shared with the resilience
tests.
"""

import itertools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from app.models import Household, Offer, OutboxMail, Participation, ParticipationEvent
from tests.factories import make_campaign, make_offer

REQUESTS = 300
THREADS = 32
CAPACITY = 40
# One request in six gives up after 5-150 ms: some before the server commits, some after.
CUT_EVERY = 6
LOAD_SECONDS = 25.0


@dataclass
class Attempt:
    """One sign-up as the client saw it (times are time.monotonic())."""

    number: int
    email: str
    cut_after: float | None = None  # the client's timeout in seconds, for the cut-off ones
    server: str = ""
    sent_at: float = 0.0
    answered_at: float | None = None
    status_code: int | None = None
    body: dict[str, Any] | None = None
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status_code == 201

    @property
    def cut_off(self) -> bool:
        """No answer: the client gave up, or the connection broke (a crashed server)."""
        return self.status_code is None


def signup_body(number: int, tag: str, *, email: bool = True) -> dict[str, Any]:
    """A new household per number: its own house number and email on one test street."""
    return {
        "household": {
            "name": f"Buur {tag} {number}",
            "email": f"{tag}-{number}@example.be" if email else None,
            "phone": None if email else f"+3247{number:07d}",
            "street": f"Laststraat {tag}", "house_number": str(number), "box": "",
            "postcode": "8400",
        },
        "quantity": 40, "consent": True, "share_contact_with_contractor": True,
    }


class SignupLoad:
    """Sign-ups from a pool of threads, round-robin over one or more servers."""

    def __init__(self, urls: list[str], offer_id: int, *, threads: int = THREADS,
                 cut_every: int = 0, phone_only_every: int = 0, tag: str | None = None) -> None:
        self.urls = urls  # base URLs of the servers
        self.offer_id = offer_id
        self.threads = threads
        self.cut_every = cut_every
        # Every n-th household gives only a phone number (no email, so no mail).
        self.phone_only_every = phone_only_every
        self.tag = tag or f"t{random.randrange(16**6):06x}"
        self.attempts: list[Attempt] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._rng = random.Random(6)

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=60)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _next(self) -> Attempt:
        with self._lock:
            number = next(self._numbers)
            has_email = not (self.phone_only_every and number % self.phone_only_every == 0)
            attempt = Attempt(number=number,
                              email=f"{self.tag}-{number}@example.be" if has_email else "")
            if self.cut_every and number % self.cut_every == 0:
                attempt.cut_after = self._rng.uniform(0.005, 0.15)
            attempt.server = self.urls[number % len(self.urls)]
            self.attempts.append(attempt)
        return attempt

    def one(self) -> Attempt:
        attempt = self._next()
        body = signup_body(attempt.number, self.tag, email=bool(attempt.email))
        url = f"{attempt.server}/api/v1/offers/{self.offer_id}/participations"
        timeout = httpx.Timeout(attempt.cut_after) if attempt.cut_after else httpx.Timeout(60)
        attempt.sent_at = time.monotonic()
        try:
            response = self._client().post(url, json=body, timeout=timeout)
        except httpx.HTTPError as error:
            attempt.error = f"{type(error).__name__}: {error}"
            return attempt
        attempt.answered_at = time.monotonic()
        attempt.status_code = response.status_code
        try:
            attempt.body = response.json()
        except ValueError:
            attempt.body = {"text": response.text[:300]}
        return attempt

    def run(self, count: int, *, seconds: float = LOAD_SECONDS,
            stop: Callable[[], bool] = lambda: False) -> None:
        """`count` sign-ups (fewer if `seconds` run out or `stop()` says so)."""
        deadline = time.monotonic() + seconds

        def worker(_index: int) -> None:
            while time.monotonic() < deadline and not stop():
                with self._lock:
                    if len(self.attempts) >= count:
                        return
                self.one()

        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(worker, range(self.threads)))
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._local = threading.local()

    @property
    def acknowledged(self) -> list[Attempt]:
        return [a for a in self.attempts if a.acknowledged]

    def unexpected(self) -> list[Attempt]:
        """Answers other than 201 (each household is new, so every answer should be 201)."""
        return [a for a in self.attempts if not a.cut_off and not a.acknowledged]


@dataclass
class StoredSignup:
    participation_id: int
    status: str
    status_changed_at: Any
    house_number: str
    email: str | None
    events: int
    confirmation_mails: int


def stored_signups(engine: Engine, offer_id: int) -> list[StoredSignup]:
    """The offer's sign-ups in id order, with their event and queued-confirmation counts."""
    with Session(engine) as session:
        rows = session.exec(
            select(Participation, Household)
            .join(Household, col(Household.id) == Participation.household_id)
            .where(Participation.offer_id == offer_id)
            .order_by(col(Participation.id))
        ).all()
        events = dict(session.exec(
            select(ParticipationEvent.participation_id, func.count())
            .join(Participation, col(Participation.id) == ParticipationEvent.participation_id)
            .where(Participation.offer_id == offer_id)
            .group_by(col(ParticipationEvent.participation_id))
        ).all())
        mails = dict(session.exec(
            select(OutboxMail.household_id, func.count())
            .where(OutboxMail.purpose == "signup_confirmation")
            .group_by(col(OutboxMail.household_id))
        ).all())
    return [
        StoredSignup(participation_id=p.id, status=p.status,  # type: ignore[arg-type]
                     status_changed_at=p.status_changed_at, house_number=h.house_number,
                     email=h.email, events=events.get(p.id, 0),
                     confirmation_mails=mails.get(h.id, 0))
        for p, h in rows
    ]


def assert_nothing_lost_or_overbooked(load: SignupLoad, stored: list[StoredSignup],
                                      capacity: int) -> None:
    """The invariants of issue 6, point 3, for one offer after a load."""
    by_number = {a.number: a for a in load.attempts}
    by_id = {s.participation_id: s for s in stored}

    # Every 201 the client saw is a stored row, with the id and status it was told.
    for attempt in load.acknowledged:
        assert attempt.body is not None
        row = by_id.get(attempt.body["id"])
        assert row is not None, f"acknowledged sign-up {attempt.body} is not in the database"
        assert row.house_number == str(attempt.number)
        assert row.status == attempt.body["status"], (attempt.body, row)

    # Every stored row was acknowledged, or its request was cut off before the answer came.
    acknowledged_ids = {a.body["id"] for a in load.acknowledged if a.body}
    for row in stored:
        attempt = by_number.get(int(row.house_number))
        assert attempt is not None, f"row {row} belongs to no request of this load"
        assert row.participation_id in acknowledged_ids or attempt.cut_off, (
            f"row {row} was stored although the client was answered {attempt.status_code} "
            f"{attempt.body}")
    assert len({s.house_number for s in stored}) == len(stored), "one household signed up twice"

    # Capacity: never more registered than places; with more sign-ups than places, all taken.
    registered = [s for s in stored if s.status == "registered"]
    waitlisted = [s for s in stored if s.status == "waitlisted"]
    assert len(registered) + len(waitlisted) == len(stored)
    assert len(registered) == min(capacity, len(stored)), (len(registered), capacity)

    # First come, first served: places go to the earliest ids, and the waitlist order (by
    # status_changed_at, then id: how positions are counted) is the id order.
    if registered and waitlisted:
        assert max(s.participation_id for s in registered) < \
            min(s.participation_id for s in waitlisted)
    waitlist = sorted(waitlisted, key=lambda s: (s.status_changed_at, s.participation_id))
    assert [s.participation_id for s in waitlist] == sorted(s.participation_id for s in waitlisted)
    position_of = {s.participation_id: n for n, s in enumerate(waitlist, start=1)}
    for attempt in load.acknowledged:
        assert attempt.body is not None
        expected = position_of.get(attempt.body["id"])
        assert attempt.body.get("waitlist_position") == expected, (attempt.body, expected)

    # Consistent with the order the server acknowledged: a sign-up answered before another was
    # sent has the smaller id, and never a worse place.
    acknowledged = sorted(load.acknowledged, key=lambda a: a.sent_at)
    rank = {"registered": 0, "waitlisted": 1}
    for earlier in acknowledged:
        assert earlier.body is not None and earlier.answered_at is not None
        for later in acknowledged:
            assert later.body is not None
            if later.sent_at <= earlier.answered_at:
                continue
            assert earlier.body["id"] < later.body["id"], (earlier.body, later.body)
            assert rank[earlier.body["status"]] <= rank[later.body["status"]]
            if earlier.body["status"] == later.body["status"] == "waitlisted":
                assert earlier.body["waitlist_position"] < later.body["waitlist_position"]

    # Each stored sign-up has its history and, in the same transaction, its confirmation mail.
    for row in stored:
        assert row.events == 1, f"{row} has {row.events} status events"
        assert row.confirmation_mails == (1 if row.email else 0), row


def make_offer_for_load(engine: Engine, capacity: int) -> int:
    with Session(engine, expire_on_commit=False) as session:
        offer = make_offer(session, campaign=make_campaign(session), capacity=capacity)
        session.commit()
        assert offer.id is not None
        return offer.id


def test_concurrent_signups_with_cut_off_requests_lose_nothing_and_never_overbook(
    live_server_factory: Any,
) -> None:
    server = live_server_factory(workers=2, mail_url="null://")
    offer_id = make_offer_for_load(server.engine, CAPACITY)

    load = SignupLoad(urls=[server.url], offer_id=offer_id, cut_every=CUT_EVERY)
    load.run(REQUESTS)

    assert len(load.attempts) >= 150, (
        f"only {len(load.attempts)} sign-ups were sent within {LOAD_SECONDS} s")
    assert not load.unexpected(), [(a.status_code, a.body) for a in load.unexpected()[:5]]
    uncut_errors = [a for a in load.attempts if a.cut_off and a.cut_after is None]
    assert not uncut_errors, [a.error for a in uncut_errors[:5]]
    assert len(load.acknowledged) > CAPACITY

    stored = stored_signups(server.engine, offer_id)
    assert_nothing_lost_or_overbooked(load, stored, CAPACITY)
    with Session(server.engine) as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and offer.capacity == CAPACITY
