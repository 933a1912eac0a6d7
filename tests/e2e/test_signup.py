"""A resident signs up in a real browser: opens the wijk and an offer, sees the estimate as the
quantity is typed, gets a message next to a wrong email as they type, fixes it, signs up and
reads the confirmation; the mail with the link arrives. axe-core checks every page visited."""

import re

import httpx
from playwright.sync_api import Page, expect

from tests.support.axe import axe_check
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, links_in

EMAIL = "an.peeters.e2e@example.be"


def _open_offer_id(server: LiveServer) -> int:
    offers = httpx.get(f"{server.url}/api/v1/campaigns/westerkwartier/offers").json()
    return next(offer["id"] for offer in offers if offer["status"] == "open")


def test_resident_signs_up_after_fixing_the_email_shown_wrong_as_typed(
    page: Page, seeded_server: LiveServer, smtp_sink: SmtpSink, browser_errors: list[str]
) -> None:
    offer_id = _open_offer_id(seeded_server)
    page.goto(f"{seeded_server.url}/wijken/westerkwartier")
    expect(page.get_by_role("heading", level=1)).to_have_text("Klimaatwijk Westerkwartier")
    expect(page.locator(f"#offer-{offer_id}-counters")).to_contain_text("plaatsen ingenomen")
    axe_check(page)

    page.locator(f'a.button[href="/wijken/westerkwartier/aanbod/{offer_id}"]').click()
    expect(page.get_by_role("heading", name="Inschrijven")).to_be_visible()
    axe_check(page)

    page.get_by_label("Naam").fill("An Peeters")
    email = page.locator("#email")
    email.fill("an.peeters@voorbeeld")
    email.press("Tab")
    expect(page.locator("#email-error")).to_contain_text("Dit e-mailadres klopt niet")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    axe_check(page)

    page.locator("#email").fill(EMAIL)
    page.locator("#email").press("Tab")
    expect(page.locator("#email-error")).to_be_hidden()
    expect(page.locator("#email")).not_to_have_attribute("aria-invalid", "true")

    page.get_by_label("Straat").fill("Torhoutsesteenweg")
    page.get_by_label("Huisnummer").fill("999")
    page.get_by_label("Postcode").fill("8400")
    page.locator("#quantity").fill("40")
    expect(page.locator("#estimate")).to_contain_text("Geschatte kost voor 40")
    page.locator("#consent").check()
    page.get_by_role("button", name="Schrijf me in").click()

    page.wait_for_url(re.compile(r"/bedankt\?ref="))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Je bent ingeschreven|Je staat op de wachtlijst"))
    expect(page.get_by_text("We stuurden je een e-mail met een link")).to_be_visible()
    axe_check(page)

    mail = smtp_sink.wait_for_recipient(EMAIL)
    assert any(link.startswith(f"{seeded_server.url}/r/") for link in links_in(mail))
    assert browser_errors == []


def test_required_part_of_the_form_fits_a_375_px_phone(
    page: Page, shared_seeded_server: LiveServer
) -> None:
    offer_id = _open_offer_id(shared_seeded_server)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{shared_seeded_server.url}/wijken/westerkwartier/aanbod/{offer_id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for field in ("#name", "#email", "#street", "#postcode"):
        box = page.locator(field).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
