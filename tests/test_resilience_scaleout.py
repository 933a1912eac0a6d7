"""Scale-out (issue 6, point 5): two `wijkwerf serve` processes on different ports sharing one
PostgreSQL database behave as one: sign-ups through both never overbook, a session started on
one is valid on the other and a log-out on one ends it on both, log-in rate limits count across
both, and each outbox mail is sent once although both mail senders run.

PostgreSQL only: several instances need a database server they share; a SQLite file serves one
host, so on SQLite these tests are skipped (they run in the PostgreSQL phase of `make test`).
"""

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session, col, select

from app.models import OutboxMail
from tests.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.support.environment import POSTGRES_URL
from tests.support.server import LiveServer, ServerDatabases
from tests.support.smtp import SmtpSink
from tests.test_resilience_crash import purpose, recipient, wait_until_outbox_settled
from tests.test_signup_load_integrity import (
    SignupLoad,
    assert_nothing_lost_or_overbooked,
    make_offer_for_load,
    stored_signups,
)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not POSTGRES_URL,
        reason="scale-out needs PostgreSQL: two instances share one database server (a SQLite "
               "file serves one host); these tests run in the PostgreSQL phase of `make test`",
    ),
    pytest.mark.server,
    # One pair of servers for the module: keep its tests on one pytest-xdist worker.
    pytest.mark.xdist_group("scaleout"),
]

CAPACITY = 25


@pytest.fixture(scope="module")
def scaleout_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def two_servers(
    server_databases: ServerDatabases, scaleout_sink: SmtpSink,
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Instances A and B on different ports and one database, both mailing `scaleout_sink`;
    shared by this module's tests (each works on its own users, offer and addresses)."""
    url, _seed_output = server_databases.new()
    pair: list[LiveServer] = []
    try:
        for name in ("a", "b"):
            server = LiveServer(database_url=url, mail_url=scaleout_sink.url,
                                log_path=server_databases.directory / f"scaleout-{name}.log")
            pair.append(server)
            server.start()
        assert pair[0].port != pair[1].port
        yield pair[0], pair[1]
    finally:
        for server in pair:
            server.close()
        server_databases.drop(url)


def make_staff(server: LiveServer) -> str:
    with Session(server.engine, expire_on_commit=False) as session:
        user = make_user(session, role="staff", organisation=make_organisation(session))
        session.commit()
        return user.email


def test_signups_through_two_instances_never_overbook_and_mail_each_confirmation_once(
    two_servers: tuple[LiveServer, LiveServer], scaleout_sink: SmtpSink,
) -> None:
    a, b = two_servers
    offer_id = make_offer_for_load(a.engine, CAPACITY)
    load = SignupLoad(urls=[a.url, b.url], offer_id=offer_id, threads=24)
    load.run(200)

    assert len(load.attempts) >= 100
    assert not load.unexpected(), [(a.status_code, a.body) for a in load.unexpected()[:5]]
    assert {attempt.server for attempt in load.acknowledged} == {a.url, b.url}
    stored = stored_signups(a.engine, offer_id)
    assert_nothing_lost_or_overbooked(load, stored, CAPACITY)

    wait_until_outbox_settled(a.engine)
    stored_emails = sorted(s.email for s in stored if s.email)

    def confirmations() -> list[str]:
        return sorted(recipient(m) for m in list(scaleout_sink.messages)
                      if purpose(m) == "signup_confirmation" and load.tag in recipient(m))

    deadline = time.monotonic() + 10
    while len(confirmations()) < len(stored_emails) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # both senders poll every 0.2 s: a second send would have happened by now
    assert confirmations() == stored_emails


def test_a_bearer_token_from_one_instance_is_valid_on_the_other(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers
    email = make_staff(a)
    login = httpx.post(f"{a.url}/api/v1/auth/token",
                       json={"email": email, "password": DEFAULT_PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}

    assert httpx.get(f"{b.url}/api/v1/contractors", headers=bearer, timeout=30).status_code == 200
    assert httpx.get(f"{a.url}/api/v1/contractors", headers=bearer, timeout=30).status_code == 200
    assert httpx.get(f"{b.url}/api/v1/contractors", timeout=30).status_code == 401


def _csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_a_web_session_started_on_one_instance_is_ended_everywhere_by_a_logout_on_it(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers
    email = make_staff(a)
    # Log in through the HTML form on A, with A's CSRF cookie.
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        form = on_a.get("/login")
        assert form.status_code == 200
        csrf = _csrf_token(form.text)
        login = on_a.post("/login", data={"email": email, "password": DEFAULT_PASSWORD,
                                          "csrf_token": csrf, "next": "/account"})
        assert login.status_code == 303, login.text[:500]
        session_cookie = on_a.cookies.get("ww_session")
        csrf_cookie = on_a.cookies.get("ww_csrf")
        assert session_cookie and csrf_cookie

        # The same cookie works on B.
        cookies = {"ww_session": session_cookie, "ww_csrf": csrf_cookie}
        with httpx.Client(base_url=b.url, timeout=30, cookies=cookies) as on_b:
            account = on_b.get("/account")
            assert account.status_code == 200, account.status_code
            assert email in account.text

            # Log out on A (a form POST with the CSRF token) ...
            logout = on_a.post("/logout", data={"csrf_token": csrf})
            assert logout.status_code == 303

            # ... and B sends the same cookie to the log-in page.
            after = on_b.get("/account")
            assert after.status_code == 303
            assert after.headers["location"].startswith("/login")


def test_login_rate_limits_count_across_both_instances(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers
    email = make_staff(a)
    for server in (a, b, a, b, a):
        wrong = httpx.post(f"{server.url}/api/v1/auth/token",
                           json={"email": email, "password": "not the password"}, timeout=30)
        assert wrong.status_code == 401, wrong.text
    # The sixth attempt is refused on either instance, even with the right password.
    for server in (b, a):
        sixth = httpx.post(f"{server.url}/api/v1/auth/token",
                           json={"email": email, "password": DEFAULT_PASSWORD}, timeout=30)
        assert sixth.status_code == 429, (server.url, sixth.status_code, sixth.text)


def test_each_outbox_mail_is_sent_once_with_both_senders_running(
    two_servers: tuple[LiveServer, LiveServer], scaleout_sink: SmtpSink,
) -> None:
    a, _b = two_servers
    count = 60
    with Session(a.engine) as session:
        session.add_all(
            OutboxMail(purpose="test_message", recipient=f"once-{n}@example.be",
                       context={"name": f"Buur {n}"})
            for n in range(count)
        )
        session.commit()

    def received() -> list[str]:
        return sorted(recipient(m) for m in list(scaleout_sink.messages)
                      if recipient(m).startswith("once-"))

    deadline = time.monotonic() + 30
    while len(received()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    wait_until_outbox_settled(a.engine)
    time.sleep(1.0)  # both senders poll every 0.2 s: a second send would have happened by now

    assert received() == sorted(f"once-{n}@example.be" for n in range(count))
    with Session(a.engine) as session:
        statuses = session.exec(select(OutboxMail.status, OutboxMail.attempts)
                                .where(OutboxMail.purpose == "test_message")
                                .order_by(col(OutboxMail.id))).all()
    assert [tuple(row) for row in statuses] == [("sent", 1)] * count
