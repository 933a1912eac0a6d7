"""Energiehuis staff in a real browser: log in with the demo account, create a campaign with a
coalition partner and an offer with price tiers through the HTML forms, and filter the demo
households by street. axe on every page visited."""

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from app.models import Campaign, Household, Offer, Partner, PriceTier
from app.services.demo import DEMO_LOGINS, DEMO_SLUG
from tests.support.axe import axe_check
from tests.support.server import LiveServer

STAFF_EMAIL, STAFF_PASSWORD = next((email, password) for role, email, password in DEMO_LOGINS
                                   if role == "staff")


def test_staff_create_campaign_and_offer_and_filter_households(
    page: Page, seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    base = seeded_server.url
    page.goto(f"{base}/login")
    page.get_by_label("E-mailadres").fill(STAFF_EMAIL)
    page.get_by_label("Wachtwoord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wijken van je organisatie")
    expect(page.get_by_role("link", name="Klimaatwijk Westerkwartier")).to_be_visible()
    axe_check(page)

    # A new campaign with a partner; "Partner toevoegen" adds a row (htmx swaps the form).
    page.get_by_role("link", name="Nieuwe wijk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nieuwe wijk")
    axe_check(page)
    page.get_by_label("Naam van de wijk").fill("Klimaatwijk Vuurtorenwijk")
    page.get_by_label("Korte naam in de webadressen (slug)").fill("vuurtorenwijk")
    page.get_by_label("Gemeente").fill("Oostende")
    page.get_by_label("Postcodes").fill("8400")
    page.get_by_label("Straten").fill("Kapellestraat\nVuurtorenstraat")
    page.get_by_label("Start").fill("2026-03-01")
    page.get_by_label("Einde").fill("2028-12-31")
    page.get_by_label("Status").select_option("open")
    page.get_by_label("Soort partner 1").select_option("ocmw")
    page.get_by_label("Naam partner 1").fill("OCMW Oostende")
    page.get_by_label("Rol partner 1").fill("toeleiding kwetsbare eigenaars")
    page.get_by_role("button", name="Partner toevoegen").click()
    expect(page.get_by_label("Naam partner 2")).to_be_visible()
    expect(page.get_by_label("Naam partner 1")).to_have_value("OCMW Oostende")
    axe_check(page)
    page.get_by_role("button", name="Wijk aanmaken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Klimaatwijk Vuurtorenwijk")
    expect(page.get_by_text("OCMW Oostende")).to_be_visible()
    axe_check(page)

    # An offer with two price tiers, the second row added with the button.
    page.get_by_role("link", name="Nieuw aanbod").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nieuw aanbod")
    page.get_by_label("Maatregel").select_option("window_frames")
    page.get_by_label("Titel voor bewoners").fill("Nieuwe ramen")
    page.get_by_label("Perceel").fill("2")
    page.get_by_label("Referentie van de opdracht").fill("2026/OOST/031")
    page.get_by_label("Gegunde aannemer").select_option(label="Schrijnwerkerij Vandamme BV")
    page.get_by_role("combobox", name="Eenheid").select_option("piece")
    page.get_by_label("Capaciteit (aantal plaatsen)").fill("40")
    page.get_by_label("Inschrijving opent").fill("2026-03-01T09:00")
    page.get_by_label("Inschrijving sluit").fill("2026-09-30T23:59")
    page.get_by_label("Trap 1: prijs per eenheid in euro").fill("890")
    page.get_by_role("button", name="Prijstrap toevoegen").click()
    page.get_by_label("Trap 2: vanaf aantal deelnemers").fill("20")
    page.get_by_label("Trap 2: prijs per eenheid in euro").fill("845,50")
    axe_check(page)
    page.get_by_role("button", name="Aanbod aanmaken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Klimaatwijk Vuurtorenwijk")
    expect(page.get_by_role("rowheader", name="Nieuwe ramen")).to_be_visible()

    with Session(seeded_server.engine) as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == "vuurtorenwijk")).one()
        assert session.exec(select(Partner.name).where(Partner.campaign_id == campaign.id)
                            ).all() == ["OCMW Oostende"]
        offer = session.exec(select(Offer).where(Offer.campaign_id == campaign.id)).one()
        tiers = session.exec(select(PriceTier).where(PriceTier.offer_id == offer.id)
                             .order_by(PriceTier.min_participants)).all()
        assert [(t.min_participants, t.unit_price_cents) for t in tiers] == [
            (0, 89000), (20, 84550)]
        on_street = session.exec(select(Household).join(Campaign).where(
            Campaign.slug == DEMO_SLUG, Household.street == "Zwaluwenstraat")).all()
    assert on_street

    # The demo households, filtered by street (htmx swaps the table when the select changes).
    page.goto(f"{base}/beheer/wijken/{DEMO_SLUG}/huishoudens")
    expect(page.get_by_role("heading", level=1)).to_have_text("Huishoudens")
    axe_check(page)
    page.get_by_label("Straat", exact=True).select_option("Zwaluwenstraat")
    status = page.locator("#results [role=status]")
    expect(status).to_contain_text(f"{len(on_street)} huishoud")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(min(len(on_street), 50))
    for index in range(rows.count()):
        expect(rows.nth(index).locator("td").first).to_contain_text("Zwaluwenstraat")
    assert "street=Zwaluwenstraat" in page.url
    axe_check(page)
    assert browser_errors == []
