"""Finding 1 and 2 of issue 11, replayed against a real server with the demo data: a stranger who
types a neighbour's address takes nothing over, changes nothing, and cannot tell that the address
was known; the household's stored channel is told. Finding 10: typing a household's email does
not attach klimaattafel answers to it."""

import re
import time

import httpx
import pytest
from sqlalchemy import text

from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, body_text

pytestmark = pytest.mark.server


def _household(server: LiveServer, where: str) -> dict[str, object]:
    with server.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT h.id, h.name, h.email, h.phone, h.street, h.house_number, h.postcode,"
            " h.share_contact_with_contractor, h.privacy_consented_at, h.privacy_consent_version,"
            " h.tenure, c.slug FROM household h JOIN campaign c ON c.id = h.campaign_id"
            f" WHERE h.erased_at IS NULL AND {where} ORDER BY h.id LIMIT 1")).mappings().one()
    return dict(row)


def _open_offer(server: LiveServer, slug: str) -> int:
    offers = httpx.get(f"{server.url}/api/v1/campaigns/{slug}/offers").json()
    return next(offer["id"] for offer in offers if offer["status"] == "open")


def _participations(server: LiveServer, household_id: object) -> int:
    with server.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM participation WHERE household_id = :id"),
            {"id": household_id}).scalar_one())


def _signup(server: LiveServer, offer_id: int, household: dict[str, object],
            email: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/offers/{offer_id}/participations", json={
        "household": {"name": "x", "email": email, "street": household["street"],
                      "house_number": household["house_number"],
                      "postcode": household["postcode"]},
        "consent": True, "share_contact_with_contractor": True})


def _link(sink: SmtpSink, recipient: str) -> str:
    message = (sink.wait_for_recipient(recipient, timeout=20))
    found = re.search(r"/r/([A-Za-z0-9_-]+)", body_text(message))
    assert found, body_text(message)
    return found.group(1)


def test_a_stranger_cannot_take_over_a_phone_only_household(
    seeded_server: LiveServer, smtp_sink: SmtpSink
) -> None:
    victim = _household(seeded_server, "h.email IS NULL AND h.phone IS NOT NULL")
    offer_id = _open_offer(seeded_server, str(victim["slug"]))
    signed_before = _participations(seeded_server, victim["id"])

    answer = _signup(seeded_server, offer_id, victim, "attacker@example.org")

    assert answer.status_code == 201
    assert set(answer.json()) == {"id", "offer_id", "status", "waitlist_position"}
    token = _link(smtp_sink, "attacker@example.org")
    # The mailed link is no log-in for the household: the API refuses it, /me stays closed.
    assert httpx.post(f"{seeded_server.url}/api/v1/auth/resident",
                      json={"token": token}).status_code == 401
    # In the browser it shows only what the stranger typed.
    with httpx.Client(base_url=seeded_server.url) as browser:
        page = browser.get(f"/r/{token}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf
        shown = browser.post(f"/r/{token}", data={"csrf_token": csrf.group(1)})
        assert shown.status_code == 200 and "attacker@example.org" in shown.text
        assert str(victim["name"]) not in shown.text and str(victim["phone"]) not in shown.text
        assert browser.get("/api/v1/me").status_code == 401
    # Asking for a link with the attacker's address sends nothing (no household has it).
    assert httpx.post(f"{seeded_server.url}/api/v1/auth/resident-link",
                      json={"email": "attacker@example.org"}).status_code == 202
    time.sleep(1.5)
    assert [str(m["X-Envelope-To"]) for m in smtp_sink.messages].count(
        "attacker@example.org") == 1
    # The household is untouched.
    after = _household(seeded_server, f"h.id = {victim['id']}")
    assert after == victim
    assert _participations(seeded_server, victim["id"]) == signed_before


def test_a_stranger_cannot_forge_a_neighbours_consent_nor_learn_that_it_signed_up(
    seeded_server: LiveServer, smtp_sink: SmtpSink
) -> None:
    victim = _household(seeded_server, "h.email IS NOT NULL AND h.share_contact_with_contractor"
                                       " = false AND EXISTS (SELECT 1 FROM participation p"
                                       " WHERE p.household_id = h.id)")
    slug = str(victim["slug"])
    offer_id = _open_offer(seeded_server, slug)
    signed_before = _participations(seeded_server, victim["id"])
    fresh = {"street": victim["street"], "house_number": "9999", "postcode": victim["postcode"]}

    known = _signup(seeded_server, offer_id, victim, "stranger1@example.org")
    new = _signup(seeded_server, offer_id, fresh, "stranger2@example.org")

    # The same answer for a known and an unknown address (no 409 "already signed up").
    assert known.status_code == new.status_code == 201
    assert known.json()["status"] == new.json()["status"]
    assert set(known.json()) == set(new.json())
    first = (smtp_sink.wait_for_recipient("stranger1@example.org", timeout=20))
    second = (smtp_sink.wait_for_recipient("stranger2@example.org", timeout=20))
    assert first["Subject"] == second["Subject"]
    strip = re.compile(r"/r/\S+")
    assert (strip.sub("", body_text(first)).replace("stranger1", "s")
            == strip.sub("", body_text(second)).replace("stranger2", "s"))
    # Nothing of the neighbour changed: not the consent, its time, nor a sign-up in its name.
    after = _household(seeded_server, f"h.id = {victim['id']}")
    assert after == victim
    assert _participations(seeded_server, victim["id"]) == signed_before
    # The household is told on its own address.
    notice = (smtp_sink.wait_for_recipient(str(victim["email"]), timeout=20))
    assert "adres" in str(notice["Subject"])
    assert "/adres-bevestigen/" in body_text(notice)


def test_typing_a_households_email_does_not_attach_klimaattafel_answers(
    seeded_server: LiveServer,
) -> None:
    household = _household(seeded_server, "h.email IS NOT NULL")
    with seeded_server.engine.connect() as connection:
        before = connection.execute(text(
            "SELECT count(*) FROM interest_submission WHERE household_id = :id"),
            {"id": household["id"]}).scalar_one()
    answer = httpx.post(f"{seeded_server.url}/api/v1/campaigns/{household['slug']}/interests",
                        json={"email": household["email"], "postcode": household["postcode"],
                              "street": household["street"],
                              "answers": [{"measure": "solar_pv", "horizon": "no"}]})
    assert answer.status_code == 201
    with seeded_server.engine.connect() as connection:
        after = connection.execute(text(
            "SELECT count(*) FROM interest_submission WHERE household_id = :id"),
            {"id": household["id"]}).scalar_one()
    assert after == before
