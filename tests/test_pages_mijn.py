"""Resident pages: the magic-link confirm step, /mijn, editing, withdrawing, erasing, the
klimaattafel form and the privacy notice."""

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.models import Household, InterestSubmission, OutboxMail, Participation
from app.services import mail as mail_service
from tests import factories


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def new_token(session: Session, household: Household) -> str:
    link = mail_service.mint_magic_link(session, household.id)  # type: ignore[arg-type]
    session.flush()
    return link.rsplit("/r/", 1)[1]


def log_in(client: TestClient, session: Session, household: Household) -> None:
    token = new_token(session, household)
    page = client.get(f"/r/{token}")
    response = client.post(f"/r/{token}", data={"csrf_token": csrf(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/mijn"


def test_opening_the_link_only_asks_to_confirm(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = new_token(db_session, household)

    page = client.get(f"/r/{token}")

    assert page.status_code == 200
    assert "Aanmelden bij Wijkwerf" in page.text
    assert f'action="/r/{token}"' in page.text
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/mijn", follow_redirects=False).headers["location"].startswith("/mijn/link")


def test_confirming_logs_in_and_mijn_lists_the_signups(client: TestClient,
                                                       db_session: Session) -> None:
    offer = factories.make_offer(db_session, title="Buitengevelisolatie met crepi", capacity=1)
    factories.make_participation(db_session, offer=offer, status="registered")
    participation = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, participation.household_id)
    assert household is not None

    log_in(client, db_session, household)
    page = client.get("/mijn")

    assert page.status_code == 200
    assert "Buitengevelisolatie met crepi" in page.text
    assert "Op de wachtlijst" in page.text
    assert "plaats 1 van de wachtlijst" in page.text
    assert 'aria-current="step"' in page.text
    assert household.name in page.text


def test_a_used_link_shows_the_new_link_form(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = new_token(db_session, household)
    page = client.get(f"/r/{token}")
    client.post(f"/r/{token}", data={"csrf_token": csrf(page.text)})

    again = client.get(f"/r/{token}")
    reused = client.post(f"/r/{token}", data={"csrf_token": csrf(page.text)})

    assert again.status_code == 410 and "Deze link werkt niet meer" in again.text
    assert reused.status_code == 401 and 'action="/mijn/link"' in reused.text


def test_confirm_without_csrf_token_is_refused(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = new_token(db_session, household)
    client.get(f"/r/{token}")

    response = client.post(f"/r/{token}", data={})

    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_link_form_answers_the_same_for_known_and_unknown(client: TestClient,
                                                          db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = csrf(client.get("/mijn/link").text)

    known = client.post("/mijn/link", data={"csrf_token": token, "email": household.email})
    unknown = client.post("/mijn/link", data={"csrf_token": token,
                                              "email": "nobody@example.be"})

    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text.replace("nobody@example.be", household.email or "")
    assert "Kijk in je mailbox" in known.text
    mails = db_session.exec(select(OutboxMail).where(OutboxMail.purpose == "magic_link")).all()
    assert [mail.household_id for mail in mails] == [household.id]


def test_link_form_shows_an_error_next_to_the_email_field(client: TestClient) -> None:
    token = csrf(client.get("/mijn/link").text)

    response = client.post("/mijn/link", data={"csrf_token": token, "email": "geen-adres"})

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="email-hint email-error"' in response.text
    assert "Dit e-mailadres klopt niet" in response.text


def test_details_errors_are_shown_next_to_their_fields(client: TestClient,
                                                       db_session: Session) -> None:
    household = factories.make_household(db_session)
    log_in(client, db_session, household)
    token = csrf(client.get("/mijn").text)

    response = client.post("/mijn/gegevens", data={
        "csrf_token": token, "name": "", "email": "", "phone": "", "street": "Kerkstraat",
        "house_number": "3", "postcode": "9000",
    })

    assert response.status_code == 422
    for field in ("name", "email", "postcode"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', response.text), field
        assert f'id="{field}-error"' in response.text
    assert "Vul je naam in." in response.text
    db_session.refresh(household)
    assert household.street == "Torhoutsesteenweg"


def test_htmx_gets_only_the_form_back_with_its_errors(client: TestClient,
                                                     db_session: Session) -> None:
    household = factories.make_household(db_session)
    link_token = csrf(client.get("/mijn/link").text)
    htmx = {"HX-Request": "true", "X-CSRF-Token": link_token}

    sent = client.post("/mijn/link", data={"email": "wie@example.be"}, headers=htmx)
    log_in(client, db_session, household)
    details = client.post("/mijn/gegevens", data={"name": "", "street": "Kerkstraat",
                                                  "house_number": "1", "postcode": "8400"},
                          headers={"HX-Request": "true", "X-CSRF-Token": csrf(
                              client.get("/mijn").text)})

    assert sent.status_code == 200 and sent.text.lstrip().startswith('<div id="link-form">')
    assert "Kijk in je mailbox" in sent.text
    assert details.status_code == 422
    assert details.text.lstrip().startswith('<section id="gegevens"')
    assert "Vul je naam in." in details.text and "<html" not in details.text


def test_details_are_saved_from_the_form(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    log_in(client, db_session, household)
    token = csrf(client.get("/mijn").text)

    response = client.post("/mijn/gegevens", data={
        "csrf_token": token, "name": "Els Maes", "email": "els@example.be", "phone": "",
        "street": "Leffingestraat", "house_number": "4", "box": "", "postcode": "8400",
        "tenure": "social_tenant",
    })

    assert response.status_code == 200
    assert "Je gegevens zijn bewaard." in response.text
    db_session.refresh(household)
    assert (household.name, household.email, household.phone, household.tenure) == (
        "Els Maes", "els@example.be", None, "social_tenant")
    assert household.share_contact_with_contractor is False


def test_energy_bill_compared_once_five_households_entered_one(client: TestClient,
                                                               db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    for kwh, cents in ((3000, 100000), (3500, 120000), (4000, 140000), (5000, 160000)):
        factories.make_household(db_session, campaign=campaign, energy_kwh_year=kwh,
                                 energy_cost_cents_year=cents)
    household = factories.make_household(db_session, campaign=campaign)
    log_in(client, db_session, household)
    page = client.get("/mijn")
    assert "Zodra minstens 5 huishoudens" in page.text

    response = client.post("/mijn/energie", data={
        "csrf_token": csrf(page.text), "energy_kwh_year": "4400",
        "energy_cost_euros_year": "1.800,00"})

    assert response.status_code == 200
    assert "Midden van de wijk" in response.text
    assert "4.000 kWh" in response.text
    assert "10%" in response.text.replace("\xa0", "")


def test_withdraw_asks_first_then_cancels(client: TestClient, db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    participation = factories.make_participation(db_session, offer=offer)
    waiting = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    log_in(client, db_session, household)

    confirm = client.get(f"/mijn/inschrijvingen/{participation.id}/intrekken")
    assert "Inschrijving intrekken?" in confirm.text
    db_session.refresh(participation)
    assert participation.status == "registered"

    done = client.post(f"/mijn/inschrijvingen/{participation.id}/intrekken",
                       data={"csrf_token": csrf(confirm.text)})

    assert "Je inschrijving is ingetrokken." in done.text
    assert "Geannuleerd" in done.text
    db_session.refresh(participation)
    db_session.refresh(waiting)
    assert (participation.status, waiting.status) == ("cancelled", "registered")


def test_another_households_signup_cannot_be_withdrawn(client: TestClient,
                                                       db_session: Session) -> None:
    theirs = factories.make_participation(db_session)
    household = factories.make_household(db_session)
    log_in(client, db_session, household)

    confirm = client.get(f"/mijn/inschrijvingen/{theirs.id}/intrekken")
    response = client.post(f"/mijn/inschrijvingen/{theirs.id}/intrekken",
                           data={"csrf_token": csrf(client.get("/mijn").text)})

    assert confirm.status_code == response.status_code == 404
    assert db_session.get(Participation, theirs.id).status == "registered"  # type: ignore[union-attr]


def test_export_downloads_the_households_data(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    log_in(client, db_session, household)

    response = client.get("/mijn/gegevens.json")

    assert response.headers["content-disposition"].startswith("attachment")
    assert response.json()["household"]["email"] == household.email


def test_erase_asks_first_then_logs_out(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    log_in(client, db_session, household)
    confirm = client.get("/mijn/wissen")
    assert "Dit kan je niet ongedaan maken." in confirm.text

    done = client.post("/mijn/wissen", data={"csrf_token": csrf(confirm.text)})

    assert "Je gegevens zijn gewist" in done.text
    db_session.refresh(household)
    assert household.erased_at is not None and household.email is None
    assert client.get("/mijn", follow_redirects=False).status_code == 303


def test_klimaattafel_stores_answers_and_shows_suppressed_results(client: TestClient,
                                                                  db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    page = client.get(f"/wijken/{campaign.slug}/klimaattafel")
    assert "binnen 5 jaar" in page.text and "<legend>Zonnepanelen</legend>" in page.text
    data = {"csrf_token": csrf(page.text), "postcode": "8400", "street": "Kerkstraat",
            "email": "", "solar_pv": "1y", "heat_pump": "", "depaving": "no"}

    for _ in range(5):
        response = client.post(f"/wijken/{campaign.slug}/klimaattafel", data=data)

    assert "Bedankt! Je antwoorden zijn bewaard." in response.text
    table = response.text[response.text.index("<table"):]
    zonnepanelen = table[table.index("Zonnepanelen"):table.index("</tr>",
                                                                 table.index("Zonnepanelen"))]
    assert re.findall(r'<td class="num">([^<]*)</td>', zonnepanelen) == [
        "5", "minder dan 5", "minder dan 5"]
    assert "style=" not in response.text
    assert len(db_session.exec(select(InterestSubmission).where(
        InterestSubmission.campaign_id == campaign.id)).all()) == 5


def test_klimaattafel_outside_the_wijk_says_so_next_to_the_postcode(
    client: TestClient, db_session: Session
) -> None:
    campaign = factories.make_campaign(db_session)
    page = client.get(f"/wijken/{campaign.slug}/klimaattafel")

    response = client.post(f"/wijken/{campaign.slug}/klimaattafel", data={
        "csrf_token": csrf(page.text), "postcode": "9000", "street": "Kerkstraat"})

    assert response.status_code == 422
    assert "Deze postcode hoort niet bij deze wijk." in response.text
    assert re.search(r'id="postcode"[^>]*aria-invalid="true"', response.text)
    assert 'id="answers-error"' in response.text and "minstens één maatregel" in response.text


def test_privacy_notice_is_public(client: TestClient) -> None:
    page = client.get("/privacy")

    assert page.status_code == 200
    assert "<h1>Privacyverklaring</h1>" in page.text
