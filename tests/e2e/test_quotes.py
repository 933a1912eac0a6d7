"""Quote comparison end to end in Chromium: staff open a quote request for a demo group with
both demo contractors; each contractor logs in and submits a quote through the HTML form; staff
open the comparison and see per-household net costs that match a hand computation; a group
member reads the same figures through the API; staff accept one quote and the other contractor
is mailed. axe-core checks every page visited."""

from datetime import UTC, date, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from app.models import (
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    MagicLinkToken,
    Participation,
    PremiumRule,
    Quote,
)
from app.models.base import utcnow
from app.security import token_hash
from app.services.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.support.axe import axe_check
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink

STAFF = "energiehuis@wijkwerf.demo"
QUANTITIES = [48.5, 20.0, 31.5]
CATEGORIES = ["cat4", "cat2", None]
RESIDENT_TOKEN = "e2e-known-resident-token"  # noqa: S105


def euro(cents: int) -> str:
    """How the page shows an amount: € 4.540,68."""
    whole, rest = divmod(cents, 100)
    return f"€ {whole:,}".replace(",", ".") + f",{rest:02d}"


# Hand computation. Gevelwerken: 100 m² × € 110 + 3 × € 250 = € 11.750,00 excl.; 6 % VAT →
# € 12.455,00, split 48,5 : 20 : 31,5 → 6 040,675 / 2 491,00 / 3 923,325: the cent left over
# goes to the first (equal remainders, earlier share) → 6 040,68 / 2 491,00 / 3 923,32.
# Premiums (rules below): cat4 € 40/m² × 48,5 = € 1.940 capped at € 1.500; cat2 20 % of the
# share; no category: unknown, 0.
GEVEL = {"shares": [604_068, 249_100, 392_332], "premiums": [150_000, 49_820, 0]}
# Vandamme: 100 m² × € 105 = € 10.500 excl. → € 11.130,00 incl., split exactly.
VANDAMME = {"shares": [539_805, 222_600, 350_595], "premiums": [150_000, 44_520, 0]}


def set_up_group(server: LiveServer) -> tuple[int, list[int], dict[str, int]]:
    """A locked quotes group of three demo households with facade sign-ups, and premium rules."""
    with Session(server.engine) as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == DEMO_SLUG)).one()
        households = session.exec(
            select(Household).where(Household.campaign_id == campaign.id,
                                    col(Household.email).is_not(None))
            .order_by(col(Household.street), col(Household.id))
        ).all()
        chosen = sorted(households[:3], key=lambda h: (h.street.lower(), int(h.house_number)))
        group = Group(campaign_id=campaign.id, name="Gevelgroep E2E", kind="quotes",  # type: ignore[arg-type]
                      measure="facade_insulation", locked=True)
        session.add(group)
        session.flush()
        for household, quantity, category in zip(chosen, QUANTITIES, CATEGORIES, strict=True):
            household.income_category = category
            session.add(household)
            session.add(GroupMember(group_id=group.id, household_id=household.id))  # type: ignore[arg-type]
            session.add(Participation(household_id=household.id, group_id=group.id,  # type: ignore[arg-type]
                                      measure="facade_insulation", quantity=quantity,
                                      status="registered"))
        start = date.today() - timedelta(days=30)
        session.add_all([
            PremiumRule(organisation_id=campaign.organisation_id, measure="facade_insulation",
                        income_category="cat4", kind="per_unit", rate=4000, cap_cents=150_000,
                        valid_from=start, is_example=True),
            PremiumRule(organisation_id=campaign.organisation_id, measure="facade_insulation",
                        income_category="cat2", kind="percentage", rate=20, cap_cents=100_000,
                        valid_from=start, is_example=True),
        ])
        contractors = {c.name: c.id for c in session.exec(select(Contractor)).all()}
        session.add(MagicLinkToken(token_hash=token_hash(RESIDENT_TOKEN),
                                   household_id=chosen[0].id,  # type: ignore[arg-type]
                                   expires_at=utcnow() + timedelta(minutes=30)))
        session.commit()
        return group.id, [h.id for h in chosen], contractors  # type: ignore[return-value]


def log_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_load_state("networkidle")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Afmelden").click()
    page.wait_for_load_state("networkidle")


def submit_quote(page: Page, server: LiveServer, email: str, request_id: int,
                 lines: list[tuple[str, str, str, str]], warranty: str) -> None:
    log_in(page, server, email)
    expect(page.get_by_role("heading", name="Aannemersportaal")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Gevelgroep E2E").click()
    expect(page).to_have_url(f"{server.url}/aannemer/offerteaanvragen/{request_id}")
    axe_check(page)
    for index, (description, quantity, unit, price) in enumerate(lines):
        if index > 0:
            page.get_by_role("button", name="Regel toevoegen").click()
            expect(page.locator(f"#lines-{index}-description")).to_be_visible()
        page.locator(f"#lines-{index}-description").fill(description)
        page.locator(f"#lines-{index}-quantity").fill(quantity)
        page.locator(f"#lines-{index}-unit").select_option(unit)
        page.locator(f"#lines-{index}-unit_price").fill(price)
    page.get_by_label("Geldig tot").fill((date.today() + timedelta(days=60)).isoformat())
    page.get_by_label("Doorlooptijd (weken)").fill("8")
    page.get_by_label("Garantie (jaren)").fill(warranty)
    page.get_by_role("button", name="Offerte indienen").click()
    expect(page.get_by_text("Je offerte is opgeslagen")).to_be_visible()
    axe_check(page)
    log_out(page)


def test_group_compares_quotes_and_staff_accept_one(
    page: Page, seeded_server: LiveServer, smtp_sink: SmtpSink, browser_errors: list[str],
) -> None:
    server = seeded_server
    group_id, household_ids, contractors = set_up_group(server)
    gevel_id, vandamme_id = contractors["Gevelwerken Kust NV"], contractors[
        "Schrijnwerkerij Vandamme BV"]
    token = httpx.post(f"{server.url}/api/v1/auth/token",
                       json={"email": STAFF, "password": DEMO_PASSWORD}).json()["access_token"]
    staff = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{server.url}/api/v1/groups/{group_id}/quote-requests", headers=staff,
                         json={"measure": "facade_insulation", "unit": "m2",
                               "description": "Buitengevelisolatie voor drie woningen",
                               "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                               "contractor_ids": [gevel_id, vandamme_id],
                               "market_unit_price_cents": 10_800})
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]

    submit_quote(page, server, "gevel@wijkwerf.demo", request_id,
                 [("Gevelisolatie EPS 14 cm met crepi", "100", "m2", "110,00"),
                  ("Stelling en afwerking", "3", "dwelling", "250,00")], warranty="10")
    submit_quote(page, server, "schrijnwerk@wijkwerf.demo", request_id,
                 [("Gevelisolatie minerale wol", "100", "m2", "105,00")], warranty="5")

    with Session(server.engine) as session:
        quote_ids = {q.contractor_id: q.id for q in session.exec(
            select(Quote).where(Quote.quote_request_id == request_id)).all()}

    log_in(page, server, STAFF)
    page.goto(f"{server.url}/beheer/offertes/{request_id}")
    axe_check(page)
    page.get_by_role("link", name="Vergelijking openen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gevelgroep E2E")
    axe_check(page)
    for contractor_id, expected in ((gevel_id, GEVEL), (vandamme_id, VANDAMME)):
        for household_id, share, premium in zip(household_ids, expected["shares"],
                                                 expected["premiums"], strict=True):
            cell = page.locator(f'td.net[data-household="{household_id}"]'
                                f'[data-quote="{quote_ids[contractor_id]}"]')
            shown = " ".join(cell.inner_text().split())
            assert shown == euro(share - premium), (contractor_id, household_id)
    expect(page.get_by_text("onbekend").first).to_be_visible()
    expect(page.get_by_text("Marktreferentie").first).to_be_visible()

    resident_token = httpx.post(f"{server.url}/api/v1/auth/resident",
                                json={"token": RESIDENT_TOKEN}).json()["access_token"]
    mine = httpx.get(f"{server.url}/api/v1/quote-requests/{request_id}/comparison",
                     headers={"Authorization": f"Bearer {resident_token}"}).json()
    for quote in mine["quotes"]:
        [own] = quote["households"]
        expected = GEVEL if quote["contractor"]["id"] == gevel_id else VANDAMME
        assert own["household_id"] == household_ids[0]
        assert own["net_cents"] == expected["shares"][0] - expected["premiums"][0]

    page.get_by_role("button", name="Offerte van Gevelwerken Kust NV aanvaarden").click()
    expect(page.get_by_text("De offerte is aanvaard")).to_be_visible()
    axe_check(page)
    declined = smtp_sink.wait_for(
        lambda message: "info@vandamme-ramen.be" in message["X-Envelope-To"]
        and message["X-Wijkwerf-Purpose"] == "quote_declined", timeout=15)
    assert "Gevelgroep E2E" in declined.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert browser_errors == []
