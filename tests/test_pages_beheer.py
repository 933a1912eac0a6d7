"""The staff pages under /beheer: campaign and offer forms (working without JavaScript, with
htmx as an extra), contractors, the household list with filters, sorting, pagination and CSV,
a household's page, paper intake and the audit log."""

import csv
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.models import (
    AuditEvent,
    Campaign,
    Contractor,
    Household,
    Offer,
    Participation,
    Partner,
    PriceTier,
    User,
)
from app.services.auth import start_session
from tests.factories import (
    make_campaign,
    make_contractor,
    make_household,
    make_offer,
    make_participation,
    make_user,
)


def log_in(client: TestClient, db_session: Session, user: User) -> None:
    client.cookies.set(SESSION_COOKIE, start_session(db_session, kind="web", user=user))


def csrf(client: TestClient, url: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', client.get(url).text)
    assert match
    return match.group(1)


def post_form(client: TestClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(url, data=data | {"csrf_token": csrf(client, url)},
                       follow_redirects=False, **kwargs)


def field_error(html: str, name: str) -> str:
    """The message shown next to a field, checking it is linked to the field (ARIA21)."""
    field = re.search(rf'<(?:input|select|textarea) id="{re.escape(name)}"[^>]*>', html)
    assert field, f"no field {name}"
    assert 'aria-invalid="true"' in field.group(0), field.group(0)
    assert f"{name}-error" in field.group(0)
    message = re.search(rf'id="{re.escape(name)}-error">([^<]*)<', html)
    assert message
    return message.group(1)


CAMPAIGN_FORM = {
    "name": "Klimaatwijk Vuurtorenwijk", "slug": "vuurtorenwijk", "municipality": "Oostende",
    "description": "Samen isoleren.", "postcodes": "8400",
    "streets": "Zwaluwenstraat\nMeeuwenstraat",
    "starts_on": "2026-01-01", "ends_on": "2027-12-31", "status": "draft",
    "partners-0-kind": "ocmw", "partners-0-name": "OCMW Oostende",
    "partners-0-role": "toeleiding kwetsbare eigenaars",
}


def test_staff_create_a_campaign_with_a_partner_through_the_form(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    log_in(client, db_session, staff)

    response = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {"action": "save"})

    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/wijken/vuurtorenwijk"
    campaign = db_session.exec(select(Campaign).where(Campaign.slug == "vuurtorenwijk")).one()
    assert campaign.organisation_id == staff.organisation_id
    assert campaign.streets == ["Zwaluwenstraat", "Meeuwenstraat"]
    partner = db_session.exec(select(Partner).where(Partner.campaign_id == campaign.id)).one()
    assert (partner.kind, partner.name) == ("ocmw", "OCMW Oostende")
    page = client.get("/beheer/wijken/vuurtorenwijk").text
    assert "OCMW Oostende" in page and "Klimaatwijk Vuurtorenwijk" in page
    assert "Klimaatwijk Vuurtorenwijk" in client.get("/beheer").text


def test_add_and_remove_partner_rows_work_without_javascript(
    client: TestClient, db_session: Session
) -> None:
    log_in(client, db_session, make_user(db_session))

    added = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {"action": "add_partners"})
    assert added.status_code == 200
    assert 'id="partners-1-name"' in added.text
    assert 'value="OCMW Oostende"' in added.text  # what was typed stays
    removed = post_form(client, "/beheer/wijken/nieuw",
                        CAMPAIGN_FORM | {"action": "remove_partners-0"})
    assert 'id="partners-0-name"' not in removed.text
    assert db_session.exec(select(Campaign).where(Campaign.slug == "vuurtorenwijk")).first() is None


def test_campaign_form_shows_errors_next_to_the_fields(
    client: TestClient, db_session: Session
) -> None:
    log_in(client, db_session, make_user(db_session))
    make_campaign(db_session, slug="bezet")

    bad = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {
        "slug": "Vuurtoren Wijk", "postcodes": "84", "ends_on": "2025-01-01"})
    assert bad.status_code == 422
    assert "kleine letters" in field_error(bad.text, "slug")
    assert "4 cijfers" in field_error(bad.text, "postcodes")
    period = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {"ends_on": "2025-01-01"})
    assert "vóór de startdatum" in field_error(period.text, "ends_on")
    taken = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {"slug": "bezet"})
    assert "al in gebruik" in field_error(taken.text, "slug")
    partner = post_form(client, "/beheer/wijken/nieuw", CAMPAIGN_FORM | {"partners-0-kind": "bank"})
    assert "Kies een van de mogelijkheden" in field_error(partner.text, "partners-0-kind")


def test_htmx_form_error_swaps_only_the_form(client: TestClient, db_session: Session) -> None:
    log_in(client, db_session, make_user(db_session))
    token = csrf(client, "/beheer/wijken/nieuw")
    response = client.post("/beheer/wijken/nieuw", data=CAMPAIGN_FORM | {"slug": "X Y"},
                           headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    ok = client.post("/beheer/wijken/nieuw", data=CAMPAIGN_FORM,
                     headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/beheer/wijken/vuurtorenwijk"


def test_edit_campaign_saves_and_bumps_the_public_version(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    log_in(client, db_session, staff)
    form = client.get(f"/beheer/wijken/{campaign.slug}/bewerken").text
    assert f'value="{campaign.name}"' in form

    response = post_form(client, f"/beheer/wijken/{campaign.slug}/bewerken", {
        "name": "Nieuwe naam", "slug": campaign.slug, "municipality": "Oostende",
        "postcodes": "8400, 8401", "streets": "", "status": "open", "starts_on": "",
        "ends_on": ""})
    assert response.status_code == 303
    db_session.refresh(campaign)
    assert (campaign.name, campaign.postcodes, campaign.content_version) == (
        "Nieuwe naam", ["8400", "8401"], 1)


OFFER_FORM = {
    "measure": "facade_insulation", "title": "Buitengevelisolatie", "description": "",
    "lot": "1", "procurement_reference": "2026/OOST/017", "unit": "m2", "vat_rate": "6",
    "capacity": "60", "signup_opens_at": "2026-02-01T00:00",
    "signup_closes_at": "2026-06-30T23:59",
    "price_tiers-0-min_participants": "0", "price_tiers-0-unit_price": "120,00",
    "price_tiers-1-min_participants": "25", "price_tiers-1-unit_price": "108,50",
}


def test_staff_create_an_offer_with_tiers_in_euros(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    log_in(client, db_session, staff)
    url = f"/beheer/wijken/{campaign.slug}/aanbod/nieuw"
    assert contractor.name in client.get(url).text

    response = post_form(client, url, OFFER_FORM | {"contractor_id": str(contractor.id)})

    assert response.status_code == 303, response.text
    offer = db_session.exec(select(Offer).where(Offer.campaign_id == campaign.id)).one()
    tiers = db_session.exec(select(PriceTier).where(PriceTier.offer_id == offer.id)
                            .order_by(PriceTier.min_participants)).all()
    assert [(t.min_participants, t.unit_price_cents) for t in tiers] == [(0, 12000), (25, 10850)]
    assert offer.signup_opens_at.isoformat() == "2026-01-31T23:00:00+00:00"  # Brussels time
    page = client.get(f"/beheer/wijken/{campaign.slug}").text
    assert "Buitengevelisolatie" in page and "108,50" in page


def test_offer_form_explains_tier_errors(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    contractor = make_contractor(db_session, organisation_id=staff.organisation_id)
    log_in(client, db_session, staff)
    url = f"/beheer/wijken/{campaign.slug}/aanbod/nieuw"
    base = OFFER_FORM | {"contractor_id": str(contractor.id)}

    rising = post_form(client, url, base | {"price_tiers-1-unit_price": "130"})
    assert rising.status_code == 422
    assert "niet duurder" in rising.text
    assert 'aria-describedby="price_tiers-error"' in rising.text
    euro = post_form(client, url, base | {"price_tiers-1-unit_price": "veel"})
    assert "bedrag in euro" in field_error(euro.text, "price_tiers-1-unit_price")
    window = post_form(client, url, base | {"signup_closes_at": "2026-01-01T00:00"})
    assert "sluiten na de opening" in field_error(window.text, "signup_closes_at")
    added = post_form(client, url, base | {"action": "add_price_tiers"})
    assert 'id="price_tiers-2-min_participants"' in added.text
    assert db_session.exec(select(Offer).where(Offer.campaign_id == campaign.id)).first() is None


def test_editing_an_offer_with_sign_ups_asks_to_confirm_the_effect(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign, capacity=3, tiers=[(0, 12000)])
    sign_ups = [make_participation(db_session, offer=offer) for _ in range(3)]
    log_in(client, db_session, staff)
    url = f"/beheer/aanbod/{offer.id}/bewerken"
    form = client.get(url).text
    values = {name: re.search(rf'id="{name}"[^>]*value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
              for name in ("title", "capacity", "signup_opens_at", "signup_closes_at")}
    data = values | {"measure": "facade_insulation", "unit": "m2", "vat_rate": "6",
                     "contractor_id": str(offer.contractor_id), "capacity": "2",
                     "price_tiers-0-min_participants": "0", "price_tiers-0-unit_price": "130,00"}

    asked = post_form(client, url, data)
    assert asked.status_code == 409
    assert "1 inschrijving(en) gaan naar de wachtlijst" in asked.text
    assert "bewoners betalen meer" in asked.text
    assert 'name="confirm"' in asked.text
    db_session.refresh(offer)
    assert offer.capacity == 3

    done = post_form(client, url, data | {"confirm": "true"})
    assert done.status_code == 303
    db_session.refresh(offer)
    assert offer.capacity == 2
    assert db_session.get(Participation, sign_ups[-1].id).status == "waitlisted"  # type: ignore[union-attr]


def test_contractors_page_adds_a_contractor_and_refuses_a_bad_vat_number(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    log_in(client, db_session, staff)
    assert "Nog geen aannemers" in client.get("/beheer/aannemers").text
    form = {"name": "Gevelwerken NV", "vat_number": "BE 0123.456.748",
            "email": "info@gevel.be", "phone": "050 12 34 56"}

    bad = post_form(client, "/beheer/aannemers", form)
    assert bad.status_code == 422
    assert "btw-nummer" in field_error(bad.text, "vat_number")
    good = post_form(client, "/beheer/aannemers", form | {"vat_number": "BE 0123.456.749"})
    assert good.status_code == 303
    stored = db_session.exec(select(Contractor).where(
        Contractor.organisation_id == staff.organisation_id)).one()
    assert (stored.vat_number, stored.phone) == ("BE0123456749", "+3250123456")
    assert "Gevelwerken NV" in client.get(good.headers["location"]).text


def _households(db_session: Session, campaign: Campaign) -> list[Household]:
    return [
        make_household(db_session, campaign=campaign, name="An Peeters", street="Zwaluwenstraat",
                       house_number="12"),
        make_household(db_session, campaign=campaign, name="Bart Maes", street="Meeuwenstraat",
                       house_number="3", email=None),
        make_household(db_session, campaign=campaign, name="=Els Claes", street="Zwaluwenstraat",
                       house_number="4"),
    ]


def test_household_list_filters_by_street_and_htmx_gets_only_the_table(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    _households(db_session, campaign)
    log_in(client, db_session, staff)
    url = f"/beheer/wijken/{campaign.slug}/huishoudens"

    page = client.get(url, params={"street": "Zwaluwenstraat"}).text
    assert "2 huishoudens gevonden" in page
    assert "An Peeters" in page and "Bart Maes" not in page
    assert page.index("Els Claes") < page.index("An Peeters")  # number 4 before 12
    assert 'hx-trigger="input changed delay:300ms, search"' in page
    fragment = client.get(url, params={"q": "maes"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "Bart Maes" in fragment.text and "An Peeters" not in fragment.text
    assert fragment.headers["Vary"].startswith("HX-Request")
    by_name = client.get(url, params={"sort": "-name"}).text
    assert 'aria-sort="descending"' in by_name
    assert by_name.index("Bart Maes") < by_name.index("An Peeters")
    call_list = client.get(url, params={"has_email": "false", "life_phase": "nonsense"}).text
    assert "1 huishouden gevonden" in call_list and "Bart Maes" in call_list


def test_household_list_paginates(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    for number in range(1, 53):
        make_household(db_session, campaign=campaign, street="Duinenstraat",
                       house_number=str(number), name=f"Bewoner nummer {number}")
    log_in(client, db_session, staff)
    url = f"/beheer/wijken/{campaign.slug}/huishoudens"
    first = client.get(url).text
    assert "Pagina 1 van 2" in first and "Bewoner nummer 50<" in first
    assert "Bewoner nummer 51<" not in first
    second = client.get(url, params={"page": "2"}).text
    assert "Bewoner nummer 52<" in second and "Bewoner nummer 1<" not in second
    assert client.get(url, params={"page": "abc"}).status_code == 200


def test_csv_export_of_the_filtered_list_is_for_dutch_excel_and_audited(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    _households(db_session, campaign)
    log_in(client, db_session, staff)

    response = client.get(f"/beheer/wijken/{campaign.slug}/huishoudens.csv",
                          params={"street": "Zwaluwenstraat"})

    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["id", "naam", "e-mail"]
    assert [row[1] for row in rows[1:]] == ["'=Els Claes", "An Peeters"]  # no formula
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "household.export")).one()
    assert event.object_id == campaign.id and event.actor_user_id == staff.id


def test_household_page_shows_details_and_history_and_is_audited(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign, title="Dakisolatie hellend dak")
    household = make_household(db_session, campaign=campaign, name="An Peeters",
                               life_phase="senior")
    make_participation(db_session, household=household, offer=offer, status="waitlisted")
    log_in(client, db_session, staff)

    page = client.get(f"/beheer/wijken/{campaign.slug}/huishoudens/{household.id}").text

    assert "An Peeters" in page and "Senior" in page
    assert "Dakisolatie hellend dak" in page and "Op de wachtlijst" in page
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "household.view")).one()
    assert event.household_id == household.id and event.outcome == "ok"
    assert "Peeters" not in repr(event)


def test_paper_intake_signs_up_with_source_paper(client: TestClient, db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    offer = make_offer(db_session, campaign=campaign)
    log_in(client, db_session, staff)
    url = f"/beheer/wijken/{campaign.slug}/huishoudens/nieuw"
    form = {"offer_id": str(offer.id), "name": "Greet Vanhee", "email": "",
            "phone": "0470 11 22 33", "street": "Kievitstraat", "house_number": "7",
            "postcode": "8400", "consent": "true"}

    missing_consent = post_form(client, url, form | {"consent": ""})
    assert missing_consent.status_code == 422
    assert field_error(missing_consent.text, "consent")
    response = post_form(client, url, form)

    assert response.status_code == 303
    household = db_session.exec(select(Household).where(Household.name == "Greet Vanhee")).one()
    assert household.source == "paper" and household.email is None
    participation = db_session.exec(select(Participation).where(
        Participation.household_id == household.id)).one()
    assert participation.offer_id == offer.id and participation.status == "registered"
    assert response.headers["location"].endswith(f"/huishoudens/{household.id}")
    assert "Op papier" in client.get(response.headers["location"]).text


def test_audit_page_lists_events_and_filters_refused_ones(
    client: TestClient, db_session: Session
) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    household = make_household(db_session, campaign=campaign)
    intruder = make_user(db_session)
    log_in(client, db_session, intruder)
    household_url = f"/beheer/wijken/{campaign.slug}/huishoudens/{household.id}"
    assert client.get(household_url).status_code == 404
    log_in(client, db_session, staff)
    client.get(f"/beheer/wijken/{campaign.slug}/huishoudens")

    everything = client.get("/beheer/audit").text
    assert "2 gebeurtenissen" in everything and intruder.email in everything
    refused = client.get("/beheer/audit", params={"outcome": "denied"}).text
    assert "1 gebeurtenis" in refused and "geweigerd" in refused
    assert "Lijst van huishoudens bekeken" not in refused.split('id="results"')[1]


def test_staff_home_shows_an_empty_state(client: TestClient, db_session: Session) -> None:
    log_in(client, db_session, make_user(db_session))
    assert "nog geen wijken" in client.get("/beheer").text
