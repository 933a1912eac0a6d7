"""The estimate on the pages: the offer page's GET form (no JavaScript needed) and its htmx
fragment, /mijn and the quote comparison show the same price, premium and net cost as the API;
the "which category am I?" helper stores nothing until the household asks; staff edit the
savings data in the browser with errors next to the field."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Campaign, Group, GroupMember, Household, Offer, SavingsAssumption
from app.models.enums import Role
from app.services import estimates, premiums, quotes
from app.services.auth import Principal
from tests import factories
from tests.support.world import web_login

QUERY = {"quantity": "45", "income_category": "3", "build_year": "1962"}


def seeded(db_session: Session) -> tuple[Campaign, int]:
    premiums.ensure_example_rules(db_session)
    estimates.ensure_example_data(db_session)
    campaign = factories.make_campaign(db_session, slug=f"schatwijk-{factories._next()}")
    offer = factories.make_offer(db_session, campaign=campaign, tiers=[(0, 12_500)])
    assert offer.id is not None
    return campaign, offer.id


def text(response: object) -> str:
    return response.text.replace("\xa0", " ")  # type: ignore[attr-defined]


def test_offer_page_shows_price_premium_net_and_savings_without_javascript(
    client: TestClient, db_session: Session
) -> None:
    campaign, offer_id = seeded(db_session)
    url = f"/wijken/{campaign.slug}/aanbod/{offer_id}"
    page = client.get(url, params=QUERY)
    html = text(page)
    assert page.status_code == 200
    assert 'method="get"' in html and 'id="estimate-form"' in html
    api = client.get(f"/api/v1/offers/{offer_id}/estimate", params=QUERY).json()
    assert (api["gross_cents"], api["premium_cents"], api["net_cents"]) == (
        596_250, 135_000, 461_250)
    for amount in ("€ 5.962,50", "− € 1.350,00", "€ 4.612,50"):
        assert amount in html, amount
    assert "Je bespaart ongeveer 2.700 kWh per jaar" in html
    assert "6 % btw: je woning is 10 jaar of ouder." in html
    fragment = client.get(f"{url}/schatting", params=QUERY | {"build_year": "2022"},
                          headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "21 % btw" in text(fragment)


def test_a_wrong_build_year_is_named_next_to_its_field(client: TestClient,
                                                      db_session: Session) -> None:
    campaign, offer_id = seeded(db_session)
    html = text(client.get(f"/wijken/{campaign.slug}/aanbod/{offer_id}",
                           params=QUERY | {"build_year": "volgend jaar"}))
    assert 'id="estimate-build_year-error"' in html
    assert 'aria-invalid="true"' in html


def test_the_category_helper_chooses_the_category_and_stores_nothing(
    client: TestClient, db_session: Session
) -> None:
    campaign, offer_id = seeded(db_session)
    before = db_session.exec(select(Household)).all()
    html = text(client.get(f"/wijken/{campaign.slug}/aanbod/{offer_id}/schatting", params={
        "quantity": "45", "build_year": "1962", "adults": "1", "dependants": "0",
        "taxable_income": "40.000"}))
    assert "waarschijnlijk in Categorie 3" in html and "voorbeeldgrenzen" in html
    assert "− € 1.350,00" in html  # the category 3 premium, as if it had been chosen
    assert db_session.exec(select(Household)).all() == before


def test_mijn_shows_the_same_figures_and_saves_the_category_only_when_asked(
    client: TestClient, db_session: Session
) -> None:
    campaign, offer_id = seeded(db_session)
    household = factories.make_household(db_session, campaign=campaign, build_year=1962,
                                         income_category=None, dwelling_type="row_house")
    factories.make_participation(db_session, household=household,
                                 offer=db_session.get(Offer, offer_id), quantity=45.0)
    web_login(client, db_session, household=household)
    html = text(client.get("/mijn"))
    assert "€ 5.962,50" in html and "Kies je inkomenscategorie om de premie te zien." in html
    asked = text(client.get("/mijn", params={"adults": "1", "dependants": "0",
                                             "taxable_income": "40.000"}))
    assert "waarschijnlijk in Categorie 3" in asked
    db_session.refresh(household)
    assert household.income_category is None  # nothing stored yet
    csrf = web_login(client, db_session, household=household)
    saved = client.post("/mijn/inkomenscategorie", data={"income_category": "3"},
                        headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    db_session.refresh(household)
    assert household.income_category == "cat3"
    html = text(client.get("/mijn"))
    for amount in ("€ 5.962,50", "− € 1.350,00", "€ 4.612,50"):
        assert amount in html, amount


def test_the_comparison_shows_each_households_savings(client: TestClient,
                                                      db_session: Session) -> None:
    estimates.ensure_example_data(db_session)
    campaign = factories.make_campaign(db_session)
    contractor = factories.make_contractor(db_session, organisation_id=campaign.organisation_id)
    staff = factories.make_user(db_session, role="staff",
                                organisation_id=campaign.organisation_id)
    household = factories.make_household(db_session, campaign=campaign)
    group = Group(campaign_id=campaign.id, name="Daken", kind="quotes",  # type: ignore[arg-type]
                  measure="roof_insulation")
    db_session.add(group)
    db_session.flush()
    db_session.add(GroupMember(group_id=group.id, household_id=household.id))  # type: ignore[arg-type]
    factories.make_participation(db_session, household=household, group_id=group.id,
                                 measure="roof_insulation", quantity=50.0)
    as_staff = Principal(role=Role.staff, session_id=0, organisation_id=campaign.organisation_id,
                         user_id=staff.id)
    request = quotes.create_quote_request(db_session, as_staff, group.id, quotes.QuoteRequestCreate(  # type: ignore[arg-type]
        measure="roof_insulation", deadline=datetime.now(UTC) + timedelta(days=5),  # type: ignore[arg-type]
        contractor_ids=[contractor.id]))  # type: ignore[list-item]
    contractor_user = factories.make_user(db_session, role="contractor", contractor=contractor)
    quotes.submit_quote(db_session, Principal(
        role=Role.contractor, session_id=0, user_id=contractor_user.id,
        contractor_id=contractor.id), request.id, quotes.QuoteInput(  # type: ignore[arg-type]
        lines=[quotes.QuoteLineInput(description="Dakisolatie", quantity=50, unit="m2",  # type: ignore[arg-type]
                                     unit_price_cents=4500)],
        vat_rate=6, valid_until=(datetime.now(UTC) + timedelta(days=60)).date(),
        lead_time_weeks=6, warranty_years=10))
    comparison = quotes.get_comparison(db_session, as_staff, request.id)  # type: ignore[arg-type]
    member = comparison.members[0]
    assert member.quantity == 50.0 and member.savings is not None
    assert member.savings.kwh_per_year == 50 * 82  # the shared example: 82 kWh per m²
    web_login(client, db_session, user=staff)
    answer = client.get(f"/vergelijk/{request.id}")
    html = text(answer)
    assert answer.status_code == 200, html[-3000:]
    assert "bespaart ongeveer 4.100 kWh, € 410 en 828 kg CO₂ per jaar" in html


def test_staff_save_an_assumption_and_see_errors_next_to_the_field(
    client: TestClient, db_session: Session
) -> None:
    staff = factories.make_user(db_session, role="staff")
    csrf = web_login(client, db_session, user=staff)
    assert client.get("/beheer/besparingen").status_code == 200
    form = {"measure": "facade_insulation", "dwelling_type": "row_house",
            "kwh_per_unit_year": "veel", "valid_from": "2026-01-01"}
    wrong = client.post("/beheer/besparingen", data=form, headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 422
    assert 'id="kwh_per_unit_year-error"' in wrong.text and "Geef een geheel getal" in wrong.text
    saved = client.post("/beheer/besparingen", data=form | {"kwh_per_unit_year": "70"},
                        headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    row = db_session.exec(select(SavingsAssumption).where(
        SavingsAssumption.organisation_id == staff.organisation_id)).one()
    assert row.kwh_per_unit_year == 70
    factor = client.post("/beheer/besparingen/energie",
                         data={"energy_price": "11000", "energy_co2": "",
                               "energy_valid_from": "2026-01-01"},
                         headers={"X-CSRF-Token": csrf})
    assert factor.status_code == 422 and 'id="energy_co2-error"' in factor.text
