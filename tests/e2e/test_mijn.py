"""A resident without a password in a real browser: asks a link at /mijn/link, follows it from
the mail, confirms, sees their sign-up at /mijn, withdraws (the first waitlisted household moves
up and is mailed), and answers the klimaattafel. axe-core checks every page visited."""

import re

from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from app.models import Household, Offer, Participation
from tests.support.axe import axe_check
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, links_in


def _registered_on_an_offer_with_a_waitlist(
    server: LiveServer,
) -> tuple[Household, Offer, Household]:
    """A demo household with an email, registered for an offer that has a waitlist, and the
    household first in that waitlist."""
    with Session(server.engine) as session:
        waitlisted_offer_ids = select(Participation.offer_id).where(
            Participation.status == "waitlisted")
        household, offer = session.exec(
            select(Household, Offer)
            .join(Participation, col(Participation.household_id) == Household.id)
            .join(Offer, col(Offer.id) == Participation.offer_id)
            .where(Participation.status == "registered", col(Household.email).is_not(None),
                   col(Participation.offer_id).in_(waitlisted_offer_ids))
            .order_by(col(Household.id))
        ).first()  # type: ignore[misc]
        first_waiting = session.exec(
            select(Household)
            .join(Participation, col(Participation.household_id) == Household.id)
            .where(Participation.offer_id == offer.id, Participation.status == "waitlisted")
            .order_by(col(Participation.status_changed_at), col(Participation.id))
        ).first()
        assert first_waiting is not None
        return household, offer, first_waiting


def test_resident_logs_in_by_mail_sees_and_withdraws_a_signup(
    page: Page, seeded_server: LiveServer, smtp_sink: SmtpSink, browser_errors: list[str]
) -> None:
    household, offer, first_waiting = _registered_on_an_offer_with_a_waitlist(seeded_server)
    assert household.email

    page.goto(seeded_server.url + "/mijn/link")
    axe_check(page)
    page.get_by_label("Je e-mailadres").fill(household.email)
    page.get_by_role("button", name="Stuur me een nieuwe link").click()
    expect(page.get_by_role("status")).to_contain_text("Kijk in je mailbox")

    mail = smtp_sink.wait_for_recipient(household.email)
    links = [link for link in links_in(mail) if "/r/" in link]
    assert len(links) == 1 and links[0].startswith(seeded_server.url)

    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden bij Wijkwerf")
    axe_check(page)
    page.get_by_role("button", name="Aanmelden").click()

    expect(page).to_have_url(re.compile(r"/mijn$"))
    signup = page.locator("li.signup", has_text=offer.title)
    expect(signup).to_contain_text("Ingeschreven")
    expect(page.get_by_role("heading", name="Mijn gegevens", exact=True)).to_be_visible()
    axe_check(page)

    signup.get_by_role("link", name=re.compile("Inschrijving intrekken")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inschrijving intrekken?")
    axe_check(page)
    page.get_by_role("button", name="Ja, trek mijn inschrijving in").click()

    expect(page.get_by_role("status")).to_have_text("Je inschrijving is ingetrokken.")
    expect(page.locator("li.signup", has_text=offer.title)).to_contain_text("Geannuleerd")
    with Session(seeded_server.engine) as session:
        promoted = session.exec(
            select(Participation.status).where(Participation.offer_id == offer.id,
                                               Participation.household_id == first_waiting.id)
        ).one()
    assert promoted == "registered"
    if first_waiting.email:
        smtp_sink.wait_for_recipient(first_waiting.email)

    page.goto(seeded_server.url + "/wijken/westerkwartier/klimaattafel")
    axe_check(page)
    page.get_by_label("Postcode").fill("8400")
    page.get_by_label("Straat").fill(household.street)
    page.get_by_role("group", name="Zonnepanelen").get_by_label("binnen 1 jaar").check()
    page.get_by_role("button", name="Antwoorden versturen").click()
    expect(page.get_by_role("status")).to_have_text("Bedankt! Je antwoorden zijn bewaard.")
    expect(page.get_by_role("table")).to_contain_text("minder dan 5")

    page.goto(seeded_server.url + "/mijn")
    expect(page.locator("#klimaattafel")).to_contain_text("Zonnepanelen: binnen 1 jaar")
    assert browser_errors == []
