"""The contractor portal, the comparison page and the staff pages for quote requests and premium
rules, as a browser without JavaScript uses them (htmx only enhances)."""

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.models import (
    Batch,
    Group,
    GroupMember,
    Participation,
    PremiumRule,
    Quote,
    QuoteLine,
    QuoteRequest,
    User,
)
from app.models.enums import Role
from app.services import auth as auth_service
from app.services import quotes
from app.services.auth import Principal
from app.services.quotes import QuoteRequestCreate
from tests import factories


def web_login(client: TestClient, session: Session, user: User, first_page: str) -> str:
    client.cookies.set(SESSION_COOKIE, auth_service.start_session(session, kind="web", user=user))
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', client.get(first_page).text)
    assert match
    return match.group(1)


def world(session: Session):  # type: ignore[no-untyped-def]
    campaign = factories.make_campaign(session)
    contractor = factories.make_contractor(session, organisation_id=campaign.organisation_id,
                                           name="Gevelwerken Kust NV")
    offer = factories.make_offer(session, campaign=campaign, contractor=contractor)
    household = factories.make_household(session, campaign=campaign, street="Meeuwenstraat",
                                         house_number="7", income_category="cat3")
    participation = factories.make_participation(session, household=household, offer=offer,
                                                 status="assigned", quantity=48.5)
    group = Group(campaign_id=campaign.id, name="Meeuwen", kind="framework", offer_id=offer.id,
                  locked=True)
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, household_id=household.id))
    batch = Batch(group_id=group.id, contractor_id=contractor.id, offer_id=offer.id)
    session.add(batch)
    session.flush()
    contractor_user = factories.make_user(session, role="contractor", contractor=contractor)
    staff_user = factories.make_user(session, role="staff",
                                     organisation_id=campaign.organisation_id)
    return campaign, group, batch, participation, contractor_user, staff_user


def test_batch_page_lists_households_and_moves_one_on_without_javascript(
    client: TestClient, db_session: Session,
) -> None:
    _, _, batch, participation, contractor_user, _ = world(db_session)
    csrf = web_login(client, db_session, contractor_user, "/aannemer")

    page = client.get(f"/aannemer/batches/{batch.id}")
    assert page.status_code == 200
    assert "Meeuwenstraat 7" in page.text and "Toegewezen aan aannemer" in page.text
    assert 'name="status"' in page.text and "Plaatsbezoek gepland" in page.text

    visit = (date.today() + timedelta(days=5)).isoformat()
    moved = client.post(
        f"/aannemer/batches/{batch.id}/deelnames/{participation.id}/status",
        data={"status": "visit_planned", "occurred_on": visit, "note": "voormiddag",
              "csrf_token": csrf}, follow_redirects=False)
    assert moved.status_code == 303
    db_session.refresh(participation)
    assert participation.status == "visit_planned"
    assert "Plaatsbezoek gepland" in client.get(f"/aannemer/batches/{batch.id}").text


def test_refused_step_comes_back_next_to_the_field(client: TestClient, db_session: Session) -> None:
    _, _, batch, participation, contractor_user, _ = world(db_session)
    csrf = web_login(client, db_session, contractor_user, "/aannemer")
    response = client.post(
        f"/aannemer/batches/{batch.id}/deelnames/{participation.id}/status",
        data={"status": "cancelled", "note": "", "csrf_token": csrf})
    assert response.status_code == 422
    assert f'id="p{participation.id}-note"' in response.text
    assert f'aria-describedby="p{participation.id}-note-hint p{participation.id}-note-error"' \
        in response.text
    assert 'aria-invalid="true"' in response.text and "Geef een reden" in response.text
    assert db_session.get(Participation, participation.id).status == "assigned"  # type: ignore[union-attr]


def test_bad_amount_in_the_personal_offer_is_explained(client: TestClient,
                                                        db_session: Session) -> None:
    _, _, batch, participation, contractor_user, _ = world(db_session)
    participation.status = "measured"
    db_session.add(participation)
    csrf = web_login(client, db_session, contractor_user, "/aannemer")
    response = client.post(
        f"/aannemer/batches/{batch.id}/deelnames/{participation.id}/status",
        data={"status": "offered", "personal_offer": "veel", "csrf_token": csrf})
    assert response.status_code == 422
    assert "Geef een bedrag in euro" in response.text


def test_batch_csv_download_for_the_contractor(client: TestClient, db_session: Session) -> None:
    _, _, batch, _, contractor_user, _ = world(db_session)
    web_login(client, db_session, contractor_user, "/aannemer")
    response = client.get(f"/aannemer/batches/{batch.id}.csv")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf") and b"Meeuwenstraat;7" in response.content


def open_request(session: Session, campaign: factories.Campaign, group: Group,
                 contractor_id: int) -> QuoteRequest:
    staff = Principal(role=Role.staff, session_id=0, organisation_id=campaign.organisation_id)
    return quotes.create_quote_request(session, staff, group.id, QuoteRequestCreate(
        measure="facade_insulation", deadline=datetime.now(UTC) + timedelta(days=5),  # type: ignore[arg-type]
        contractor_ids=[contractor_id]))


def test_quote_form_adds_a_line_without_javascript_and_submits(
    client: TestClient, db_session: Session,
) -> None:
    campaign, group, _, _, contractor_user, _ = world(db_session)
    request = open_request(db_session, campaign, group, contractor_user.contractor_id)  # type: ignore[arg-type]
    csrf = web_login(client, db_session, contractor_user, "/aannemer")
    url = f"/aannemer/offerteaanvragen/{request.id}"
    assert "48,5" in client.get(url).text  # the group's quantity

    line = {"description": "Gevelisolatie", "quantity": "48,5", "unit": "m2",
            "unit_price": "110,00"}
    added = client.post(url, data={**line, "action": "add_line", "csrf_token": csrf})
    assert added.status_code == 200
    assert 'id="lines-1-description"' in added.text and 'value="Gevelisolatie"' in added.text
    swapped = client.post(url, data={**line, "action": "add_line", "csrf_token": csrf},
                          headers={"HX-Request": "true"})
    assert swapped.text.lstrip().startswith('<section id="quote-form"')  # only the form block

    missing = client.post(url, data={**line, "action": "submit", "csrf_token": csrf})
    assert missing.status_code == 422 and 'aria-describedby="valid_until-error"' in missing.text

    valid_until = (date.today() + timedelta(days=60)).isoformat()
    saved = client.post(url, data={
        "description": ["Gevelisolatie", "Stelling"], "quantity": ["48,5", "1"],
        "unit": ["m2", "dwelling"], "unit_price": ["110,00", "250"], "vat_rate": "6",
        "valid_until": valid_until, "lead_time_weeks": "6", "warranty_years": "10",
        "notes": "", "action": "submit", "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303, re.findall(r'field-error"[^>]*>([^<]+)', saved.text)
    quote = db_session.exec(select(Quote).where(Quote.quote_request_id == request.id)).one()
    lines = db_session.exec(select(QuoteLine).where(QuoteLine.quote_id == quote.id)).all()
    assert sorted((line.unit_price_cents, line.quantity) for line in lines) == [
        (11_000, 48.5), (25_000, 1.0)]
    assert "Je offerte is opgeslagen" in client.get(saved.headers["location"]).text


def test_staff_open_a_request_see_the_comparison_and_accept(
    client: TestClient, db_session: Session,
) -> None:
    campaign, group, _, participation, contractor_user, staff_user = world(db_session)
    csrf = web_login(client, db_session, staff_user, "/beheer/offertes")
    assert "Er zijn nog geen offerteaanvragen" in client.get("/beheer/offertes").text
    form = client.get(f"/beheer/offertes/nieuw?group_id={group.id}").text
    assert "Gevelwerken Kust NV" in form

    deadline = (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    created = client.post("/beheer/offertes/nieuw", data={
        "group_id": str(group.id), "measure": "facade_insulation", "unit": "m2",
        "deadline": deadline, "contractor_ids": [str(contractor_user.contractor_id)],
        "market_unit_price": "105,00", "csrf_token": csrf}, follow_redirects=False)
    assert created.status_code == 303, re.findall(r'field-error"[^>]*>([^<]+)', created.text)
    request_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert "nog niet ingediend" in client.get(created.headers["location"]).text

    contractor = Principal(role=Role.contractor, session_id=0,
                           contractor_id=contractor_user.contractor_id)
    quotes.submit_quote(db_session, contractor, request_id, quotes.QuoteInput(
        lines=[quotes.QuoteLineInput(description="Isolatie", quantity=48.5, unit="m2",  # type: ignore[arg-type]
                                     unit_price_cents=11_000)],
        vat_rate=6, valid_until=date.today() + timedelta(days=30), lead_time_weeks=4,
        warranty_years=10))
    comparison = client.get(f"/vergelijk/{request_id}")
    assert comparison.status_code == 200
    # 48,5 × € 110 = € 5.335,00; + 6 % = € 5.655,10 for the only household
    assert "5.655,10" in comparison.text
    assert "Laagste netto kost" in comparison.text and "Marktreferentie" in comparison.text
    quote = db_session.exec(select(Quote).where(Quote.quote_request_id == request_id)).one()
    accepted = client.post(f"/beheer/offertes/{request_id}/offertes/{quote.id}/aanvaarden",
                           data={"csrf_token": csrf}, follow_redirects=False)
    assert accepted.status_code == 303
    assert "De offerte is aanvaard" in client.get(accepted.headers["location"]).text
    assert participation.household_id in {m.household_id for m in db_session.exec(
        select(GroupMember)).all()}


def test_new_request_form_explains_what_is_missing(client: TestClient,
                                                   db_session: Session) -> None:
    _, _, _, _, _, staff_user = world(db_session)
    csrf = web_login(client, db_session, staff_user, "/beheer/offertes")
    response = client.post("/beheer/offertes/nieuw", data={"csrf_token": csrf},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and "<h1>" not in response.text
    for field in ("group_id", "measure", "deadline", "contractor_ids"):
        assert f'id="{field}-error"' in response.text


def test_staff_add_edit_and_delete_a_premium_rule(client: TestClient, db_session: Session) -> None:
    _, _, _, _, _, staff_user = world(db_session)
    csrf = web_login(client, db_session, staff_user, "/beheer/premies")
    refused = client.post("/beheer/premies", data={
        "measure": "window_frames", "income_category": "cat2", "kind": "percentage",
        "rate": "150", "valid_from": "2025-01-01", "csrf_token": csrf},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "tussen 0 en 100" in refused.text
    saved = client.post("/beheer/premies", data={
        "measure": "window_frames", "income_category": "cat2", "kind": "per_unit",
        "rate": "40,00", "cap": "2.750,00", "valid_from": "2025-01-01", "is_example": "true",
        "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    rule = db_session.exec(select(PremiumRule).where(
        PremiumRule.organisation_id == staff_user.organisation_id)).one()
    assert (rule.rate, rule.cap_cents, rule.is_example) == (4000, 275_000, True)
    page = client.get("/beheer/premies").text
    assert "voorbeeld" in page and "2.750,00" in page
    assert 'value="40,00"' in client.get(f"/beheer/premies?bewerk={rule.id}").text
    client.post(f"/beheer/premies/{rule.id}/verwijderen", data={"csrf_token": csrf})
    assert db_session.get(PremiumRule, rule.id) is None


def test_contractor_home_has_empty_states(client: TestClient, db_session: Session) -> None:
    user = factories.make_user(db_session, role="contractor")
    web_login(client, db_session, user, "/aannemer")
    page = client.get("/aannemer").text
    assert "Je hebt nog geen batches" in page and "Er zijn geen offerteaanvragen" in page
