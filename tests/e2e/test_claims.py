"""The identity rule in a real browser: someone signs up at the address of a known household and
sees what anyone sees; the household confirms from the link in its own mail; staff call a
household without email from the queue and confirm. axe on every page visited."""

import re

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import text

from app.services.demo import DEMO_LOGINS, DEMO_SLUG
from tests.support.axe import axe_check
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, links_in

STAFF_EMAIL, STAFF_PASSWORD = next((email, password) for role, email, password in DEMO_LOGINS
                                   if role == "staff")


def _open_offer_id(server: LiveServer) -> int:
    offers = httpx.get(f"{server.url}/api/v1/campaigns/{DEMO_SLUG}/offers").json()
    return next(offer["id"] for offer in offers if offer["status"] == "open")


def _household(server: LiveServer, where: str) -> dict[str, str]:
    with server.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT h.name, h.email, h.phone, h.street, h.house_number, h.postcode FROM household h"
            f" JOIN campaign c ON c.id = h.campaign_id WHERE c.slug = :slug AND {where}"
            " AND h.erased_at IS NULL AND h.box = '' ORDER BY h.id LIMIT 1"),
            {"slug": DEMO_SLUG}).mappings().one()
    return {key: str(value) for key, value in row.items()}


def _sign_up(page: Page, server: LiveServer, offer_id: int, household: dict[str, str],
             email: str) -> None:
    page.goto(f"{server.url}/wijken/{DEMO_SLUG}/aanbod/{offer_id}")
    page.get_by_label("Naam").fill("Sam Vermeulen")
    page.locator("#email").fill(email)
    page.get_by_label("Straat").fill(household["street"])
    page.get_by_label("Huisnummer").fill(household["house_number"])
    page.get_by_label("Postcode").fill(household["postcode"])
    page.locator("#consent").check()
    page.get_by_role("button", name="Schrijf me in").click()
    page.wait_for_url(re.compile(r"/bedankt\?ref="))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Je bent ingeschreven|Je staat op de wachtlijst"))


def test_the_household_confirms_a_housemates_signup_from_its_own_mail(
    page: Page, seeded_server: LiveServer, smtp_sink: SmtpSink, browser_errors: list[str]
) -> None:
    offer_id = _open_offer_id(seeded_server)
    household = _household(seeded_server, "h.email IS NOT NULL")
    _sign_up(page, seeded_server, offer_id, household, "huisgenoot@example.be")
    expect(page.get_by_text("We stuurden je een e-mail met een link")).to_be_visible()
    axe_check(page)

    # The one who signed up: their link shows their own sign-up only.
    receipt = smtp_sink.wait_for_recipient("huisgenoot@example.be", timeout=20)
    page.goto(next(link for link in links_in(receipt) if "/r/" in link))
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Je inschrijving")
    expect(page.get_by_text("huisgenoot@example.be")).to_be_visible()
    assert household["email"] not in page.content()
    axe_check(page)

    # The household: the notice on its own address, confirmed in two clicks.
    notice = smtp_sink.wait_for_recipient(household["email"], timeout=20)
    page.goto(next(link for link in links_in(notice) if "/adres-bevestigen/" in link))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Iemand schreef zich in op jouw adres")
    expect(page.get_by_text("Sam Vermeulen")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Ja, dit was iemand van ons gezin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bedankt")
    expect(page.locator("p.notice")).to_contain_text(
        re.compile("toegevoegd aan jullie adres|al ingeschreven"))
    axe_check(page)
    assert browser_errors == []


def test_staff_call_a_household_without_email_and_confirm_from_the_queue(
    page: Page, seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    offer_id = _open_offer_id(seeded_server)
    household = _household(seeded_server, "h.email IS NULL AND h.phone IS NOT NULL")
    _sign_up(page, seeded_server, offer_id, household, "zoon@example.be")

    page.goto(f"{seeded_server.url}/login")
    page.get_by_label("E-mailadres").fill(STAFF_EMAIL)
    page.get_by_label("Wachtwoord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wijken van je organisatie")
    page.get_by_role("link", name="Nakijken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inschrijvingen nakijken")
    card = page.locator("li.card").filter(has_text="zoon@example.be")
    expect(card).to_contain_text("bel het huishouden")
    expect(card).to_contain_text(household["phone"])
    axe_check(page)
    card.get_by_label(re.compile("Notitie")).fill("Gebeld: de zoon schreef in voor zijn moeder")
    card.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status").first).to_contain_text("bevestigd")
    expect(page.locator("li.card").filter(has_text="zoon@example.be")).to_have_count(0)
    axe_check(page)
    assert browser_errors == []
