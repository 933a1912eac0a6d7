"""The public shell in a real browser: the home page lists the open wijken, the login page has
its form, and both pass axe-core's WCAG 2.1 A/AA rules."""

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from app.models import Campaign
from tests.support.axe import axe_check
from tests.support.server import LiveServer


def _open_campaign_names(server: LiveServer) -> list[str]:
    with Session(server.engine) as session:
        return list(session.exec(select(Campaign.name).where(Campaign.status == "open")))


def test_home_page_lists_the_open_demo_wijk(
    page: Page, shared_seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    names = _open_campaign_names(shared_seeded_server)
    assert names, "the demo data has no open campaign"

    page.goto(shared_seeded_server.url + "/")

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for name in names:
        expect(page.get_by_role("link", name=name)).to_be_visible()
    axe_check(page)
    assert browser_errors == []


def test_login_page_has_a_labelled_email_field(
    page: Page, shared_seeded_server: LiveServer, browser_errors: list[str]
) -> None:
    page.goto(shared_seeded_server.url + "/login")

    email = page.get_by_label("E-mailadres")
    expect(email).to_be_visible()
    expect(email).to_have_attribute("type", "email")
    expect(email).to_have_attribute("name", "email")
    expect(page.get_by_label("Wachtwoord")).to_be_visible()
    axe_check(page)
    assert browser_errors == []
