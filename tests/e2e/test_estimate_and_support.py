"""Issue 13 in a real browser: on the demo's offer page a household types a quantity, chooses
an income category and a build year and sees price, premium, net cost and savings (the API's
figures); a resident who "wants to but cannot" logs in by magic link and finds their own support
path on /mijn. axe-core checks every page visited."""

import re

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from app.i18n import format_money
from app.models import Household
from app.services import mail
from tests.support.axe import axe_check
from tests.support.server import LiveServer


def _facade_offer_id(server: LiveServer) -> int:
    offers = httpx.get(f"{server.url}/api/v1/campaigns/westerkwartier/offers").json()
    return next(o["id"] for o in offers if o["measure"] == "facade_insulation")


def test_offer_page_estimate_shows_price_premium_net_and_savings(
    page: Page, seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    offer_id = _facade_offer_id(seeded_server)
    page.goto(f"{seeded_server.url}/wijken/westerkwartier/aanbod/{offer_id}")
    expect(page.get_by_role("heading", name="Wat kost het voor jou?")).to_be_visible()
    axe_check(page)

    page.locator("#estimate-quantity").fill("40")
    page.locator("#estimate-income_category").select_option("3")
    page.locator("#estimate-build_year").fill("1962")
    api = httpx.get(f"{seeded_server.url}/api/v1/offers/{offer_id}/estimate",
                    params={"quantity": 40, "income_category": "3", "build_year": 1962}).json()
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("Wat je zelf betaalt")
    for cents in (api["gross_cents"], api["premium_cents"], api["net_cents"]):
        expect(estimate).to_contain_text(format_money(cents).replace("\xa0", " "))
    expect(estimate).to_contain_text("Je bespaart ongeveer")
    expect(estimate).to_contain_text("6 % btw")
    axe_check(page)

    page.get_by_text("Welke categorie ben ik?").click()
    page.locator("#estimate-income_category").select_option("unknown")
    page.locator("#estimate-taxable_income").fill("20.000")
    expect(estimate).to_contain_text("waarschijnlijk in Categorie 4")
    axe_check(page)
    assert browser_errors == []


def test_a_resident_who_wants_but_cannot_sees_their_own_path_on_mijn(
    page: Page, seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    with Session(seeded_server.engine) as session:
        household = session.exec(
            select(Household).where(Household.profile == "cannot_but_will",
                                    Household.tenure == "owner_occupier",
                                    col(Household.email).is_not(None))
            .order_by(col(Household.id))).first()
        assert household is not None and household.id is not None
        link = mail.mint_magic_link(session, household.id)
        session.commit()
    page.goto(seeded_server.url + "/r/" + link.rsplit("/r/", 1)[1])
    page.get_by_role("button", name="Aanmelden").click()
    expect(page).to_have_url(re.compile(r"/mijn$"))
    section = page.locator("#ondersteuning")
    expect(section.get_by_role("heading", name="Jouw ondersteuning")).to_be_visible()
    expect(section).to_contain_text("Wel willen, hulp bij betalen en regelen")
    expect(section).to_contain_text("Mijn VerbouwLening")
    expect(section).to_contain_text("Wie helpt: OCMW Oostende")
    axe_check(page)
    assert browser_errors == []
