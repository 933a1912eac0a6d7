"""The public pages: wijken, a wijk with live counters, an offer with the sign-up form
(as-you-type validation, submit with and without htmx, the thank-you page)."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Household, Participation, Partner
from tests.factories import make_campaign, make_offer, make_participation


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def form(token: str, number: int = 12, **overrides: str) -> dict[str, str]:
    values = {
        "csrf_token": token, "name": "An Peeters", "email": f"an{number}@example.be",
        "phone": "", "street": "Torhoutsesteenweg", "house_number": str(number), "box": "",
        "postcode": "8400", "city": "", "quantity": "40", "consent": "true",
    }
    values.update(overrides)
    return values


def field_html(html: str, name: str) -> str:
    start = html.index(f'id="field-{name}"')
    return html[start:html.index("</div>", start)]


def test_home_lists_open_wijken_with_municipality_and_offer_count(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, name="Klimaatwijk Zuid", municipality="Kortrijk")
    make_offer(db_session, campaign=campaign)
    make_offer(db_session, campaign=campaign, lot="2")
    make_campaign(db_session, name="Geheime Conceptwijk", status="draft")
    html = client.get("/").text
    assert "Klimaatwijk Zuid" in html and "Kortrijk" in html
    assert "2 aanbiedingen om op in te schrijven" in html
    assert "Geheime Conceptwijk" not in html


def test_wijk_page_shows_partners_offers_progress_price_and_next_tier(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="wijk-pagina", name="Klimaatwijk Pagina")
    db_session.add(Partner(campaign_id=campaign.id, kind="ocmw", name="OCMW Oostende",
                           role="toeleiding kwetsbare eigenaars"))
    offer = make_offer(db_session, campaign=campaign, title="Gevelisolatie", capacity=4,
                       procurement_reference="2026/OOST/017",
                       tiers=[(0, 10000), (4, 9800)])
    for status in ("registered", "registered", "waitlisted"):
        make_participation(db_session, offer=offer, status=status)
    response = client.get("/wijken/wijk-pagina")
    assert response.status_code == 200
    html = response.text.replace("\xa0", " ")
    assert "OCMW Oostende" in html and "toeleiding kwetsbare eigenaars" in html
    assert "2 van 4 plaatsen ingenomen" in html
    assert '<progress max="4" value="2"' in html
    assert "1 huishouden op de wachtlijst" in html
    assert "€ 106,00/m²" in html and "€ 100,00/m²" in html  # incl. and excl. 6 % VAT
    assert "Nog 2 inschrijvingen en de prijs zakt naar € 98,00/m²" in html
    assert "2026/OOST/017" in html
    assert 'hx-get="/wijken/wijk-pagina/tellers"' in html


def test_wijk_counters_fragment_swaps_out_of_band_and_stops_when_closed(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="tellerwijk")
    offer = make_offer(db_session, campaign=campaign, capacity=3)
    make_participation(db_session, offer=offer)
    response = client.get("/wijken/tellerwijk/tellers", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'id="offer-{offer.id}-counters"' in response.text
    assert 'hx-swap-oob="true"' in response.text and "1 van 3 plaatsen" in response.text
    assert "<html" not in response.text
    campaign.status = "closed"
    db_session.add(campaign)
    assert client.get("/wijken/tellerwijk/tellers").status_code == 286


def test_wijk_without_offers_says_so(client: TestClient, db_session: Session) -> None:
    make_campaign(db_session, slug="lege-wijk")
    assert "Er is nog geen aanbod voor deze wijk" in client.get("/wijken/lege-wijk").text


def test_unknown_or_draft_wijk_is_404(client: TestClient, db_session: Session) -> None:
    make_campaign(db_session, slug="concept", status="draft")
    assert client.get("/wijken/concept").status_code == 404
    assert client.get("/wijken/bestaat-niet").status_code == 404


def test_offer_page_has_the_form_with_csrf_and_a_cost_estimate(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="aanbodwijk")
    offer = make_offer(db_session, campaign=campaign, tiers=[(0, 10000)])
    response = client.get(f"/wijken/aanbodwijk/aanbod/{offer.id}?quantity=40")
    html = response.text.replace("\xa0", " ")
    assert response.status_code == 200
    assert csrf_token(html)
    for name in ("name", "email", "phone", "street", "house_number", "box", "postcode", "city",
                 "dwelling_type", "build_year", "tenure", "life_phase", "budget_band",
                 "profile", "quantity", "consent", "share_contact_with_contractor"):
        assert f'name="{name}"' in html, name
    assert "Deze vragen zijn niet verplicht. Ze helpen ons om buren met gelijkaardige" in html
    assert "€ 4.240,00" in html  # 40 m² × € 100 × 1.06
    estimate = client.get(f"/wijken/aanbodwijk/aanbod/{offer.id}/schatting?quantity=12,5",
                          headers={"HX-Request": "true"})
    assert "€\xa01.325,00" in estimate.text and "<html" not in estimate.text
    wrong = client.get(f"/wijken/aanbodwijk/aanbod/{offer.id}/schatting?quantity=veel")
    assert "Geef een getal" in wrong.text


def test_offer_of_another_wijk_is_404(client: TestClient, db_session: Session) -> None:
    make_campaign(db_session, slug="wijk-a")
    offer = make_offer(db_session)
    assert client.get(f"/wijken/wijk-a/aanbod/{offer.id}").status_code == 404


def test_closed_offer_page_shows_no_form(client: TestClient, db_session: Session) -> None:
    campaign = make_campaign(db_session, slug="dichtwijk")
    now = datetime.now(UTC)
    offer = make_offer(db_session, campaign=campaign, signup_opens_at=now - timedelta(days=9),
                       signup_closes_at=now - timedelta(days=1))
    html = client.get(f"/wijken/dichtwijk/aanbod/{offer.id}").text
    assert "afgesloten" in html and 'id="signup-form"' not in html
    poll = client.get(f"/wijken/dichtwijk/aanbod/{offer.id}/tellers")
    assert poll.status_code == 286 and "hx-trigger" not in poll.text


def test_submit_without_javascript_redirects_to_the_thank_you_page(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="nojs")
    offer = make_offer(db_session, campaign=campaign, capacity=1)
    token = csrf_token(client.get(f"/wijken/nojs/aanbod/{offer.id}").text)
    response = client.post(f"/wijken/nojs/aanbod/{offer.id}", data=form(token, 1),
                           follow_redirects=False)
    assert response.status_code == 303
    thanks = client.get(response.headers["location"])
    assert "Je bent ingeschreven" in thanks.text
    assert "We stuurden je een e-mail met een link" in thanks.text
    second = client.post(f"/wijken/nojs/aanbod/{offer.id}",
                         data=form(token, 2, email="", phone="0470123456"))
    assert second.status_code == 200  # followed the redirect
    assert "Je staat op de wachtlijst" in second.text and "op plaats 1" in second.text
    assert "het energiehuis belt je op" in second.text.lower()
    household = db_session.exec(select(Household).where(Household.house_number == "1")).one()
    assert household.name == "An Peeters" and household.city == "Oostende"


def test_submit_with_errors_rerenders_the_form_with_messages_next_to_the_fields(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="foutwijk")
    offer = make_offer(db_session, campaign=campaign)
    token = csrf_token(client.get(f"/wijken/foutwijk/aanbod/{offer.id}").text)
    response = client.post(f"/wijken/foutwijk/aanbod/{offer.id}",
                           data=form(token, email="an@", postcode="9000", consent=""))
    assert response.status_code == 422
    html = response.text
    assert "<html" in html and 'class="error-summary"' in html
    email = field_html(html, "email")
    assert 'aria-invalid="true"' in email and 'aria-describedby="email-hint email-error"' in email
    assert "Dit e-mailadres klopt niet" in email
    assert "Deze postcode hoort niet bij deze wijk" in field_html(html, "postcode")
    assert "privacyverklaring" in field_html(html, "consent")
    assert 'value="Torhoutsesteenweg"' in html  # what was typed is kept
    assert 'aria-invalid' not in field_html(html, "name")
    assert db_session.exec(select(Participation)).all() == []


def test_htmx_submit_gets_the_form_fragment_or_an_hx_redirect(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="htmxwijk")
    offer = make_offer(db_session, campaign=campaign)
    token = csrf_token(client.get(f"/wijken/htmxwijk/aanbod/{offer.id}").text)
    headers = {"HX-Request": "true"}
    bad = client.post(f"/wijken/htmxwijk/aanbod/{offer.id}", data=form(token, name=""),
                      headers=headers)
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith("<form") and "Vul je naam in" in bad.text
    good = client.post(f"/wijken/htmxwijk/aanbod/{offer.id}", data=form(token), headers=headers)
    assert good.status_code == 204
    assert good.headers["HX-Redirect"].startswith(f"/wijken/htmxwijk/aanbod/{offer.id}/bedankt")
    # The same address again: the same answer as anyone (the identity rule), kept as a claim.
    again = client.post(f"/wijken/htmxwijk/aanbod/{offer.id}", data=form(token), headers=headers)
    assert again.status_code == 204
    assert again.headers["HX-Redirect"].startswith(f"/wijken/htmxwijk/aanbod/{offer.id}/bedankt")


def test_live_validation_reports_only_the_field_being_typed(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="livewijk")
    offer = make_offer(db_session, campaign=campaign)
    token = csrf_token(client.get(f"/wijken/livewijk/aanbod/{offer.id}").text)
    values: dict[str, Any] = {"csrf_token": token, "email": "an@", "name": "", "consent": ""}
    response = client.post(f"/wijken/livewijk/aanbod/{offer.id}/controle", data=values,
                           headers={"HX-Request": "true", "HX-Trigger-Name": "email"})
    assert response.status_code == 200
    assert "Dit e-mailadres klopt niet" in field_html(response.text, "email")
    assert 'aria-invalid="true"' in field_html(response.text, "email")
    assert "Vul je naam in" not in response.text and "error-summary" not in response.text
    fixed = client.post(f"/wijken/livewijk/aanbod/{offer.id}/controle",
                        data={**values, "email": "an@example.be"},
                        headers={"HX-Request": "true", "HX-Trigger-Name": "email"})
    assert 'aria-invalid' not in field_html(fixed.text, "email")


def test_form_post_without_csrf_token_is_refused(client: TestClient, db_session: Session) -> None:
    campaign = make_campaign(db_session, slug="csrfwijk")
    offer = make_offer(db_session, campaign=campaign)
    client.get(f"/wijken/csrfwijk/aanbod/{offer.id}")
    response = client.post(f"/wijken/csrfwijk/aanbod/{offer.id}", data=form("vals"))
    assert response.status_code == 403
    assert db_session.exec(select(Participation)).all() == []


def test_thank_you_page_needs_a_valid_reference(client: TestClient, db_session: Session) -> None:
    campaign = make_campaign(db_session, slug="bedanktwijk")
    offer = make_offer(db_session, campaign=campaign)
    participation = make_participation(db_session, offer=offer)
    url = f"/wijken/bedanktwijk/aanbod/{offer.id}/bedankt?ref={participation.id}.vervalst"
    assert client.get(url).status_code == 404


def test_wijk_page_and_counters_take_a_few_queries_whatever_the_number_of_signups(
    client: TestClient, db_session: Session, engine: Any
) -> None:
    from sqlalchemy import event

    campaign = make_campaign(db_session, slug="telwijk")
    for lot in ("1", "2", "3"):
        offer = make_offer(db_session, campaign=campaign, lot=lot, capacity=5)
        for status in ("registered",) * 5 + ("waitlisted",) * 3:
            make_participation(db_session, offer=offer, status=status)
    db_session.add(Partner(campaign_id=campaign.id, kind="ocmw", name="OCMW", role="toeleiding"))
    db_session.commit()
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        html = client.get("/wijken/telwijk").text
        page_selects = len(selects)
        selects.clear()
        client.get("/wijken/telwijk/tellers")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert html.count("5 van 5 plaatsen ingenomen") == 3
    assert 3 <= page_selects <= 5, page_selects  # one of them: the support paths with steps
    assert 2 <= len(selects) <= 3, len(selects)
