"""The identity rule over HTTP: the household's answer page, the staff's queue of claims (HTML
and API), and the thank-you page that reads the same for a claim as for any sign-up."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.models import HouseholdClaim, OutboxMail, Participation, User
from app.services import auth as auth_service
from app.services.mail import render_mail
from tests.factories import make_campaign, make_household, make_offer, make_user


def signup_body(number: int, **household: Any) -> dict[str, Any]:
    values = {"name": "Iemand", "email": "vreemd@example.org", "street": "Duinenstraat",
              "house_number": str(number), "postcode": "8400"}
    values.update(household)
    return {"household": values, "consent": True, "quantity": 30}


def bearer(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth_service.start_session(session, kind='api', user=user)}"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def notice_token(session: Session) -> str:
    mail = session.exec(select(OutboxMail).where(OutboxMail.purpose == "claim_notice")).one()
    message = render_mail(session, mail)
    assert message is not None
    session.commit()
    found = re.search(r"/adres-bevestigen/(\S+)", str(message.get_payload()))
    assert found
    return found.group(1)


def test_the_household_refuses_from_its_mail_and_nothing_is_added(
    client: TestClient, db_session: Session
) -> None:
    offer = make_offer(db_session)
    campaign_id = offer.campaign_id
    household = make_household(db_session, campaign_id=campaign_id, street="Duinenstraat",
                               house_number="4", email="eigen@example.be")
    db_session.commit()
    answer = client.post(f"/api/v1/offers/{offer.id}/participations", json=signup_body(4))
    assert answer.status_code == 201 and answer.json()["status"] == "registered"
    token = notice_token(db_session)

    page = client.get(f"/adres-bevestigen/{token}")
    assert page.status_code == 200
    assert "Iemand" in page.text and offer.title in page.text
    refused = client.post(f"/adres-bevestigen/{token}",
                          data={"decision": "reject", "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 200 and "geweigerd" in refused.text
    assert db_session.exec(select(Participation).where(
        Participation.household_id == household.id)).all() == []
    again = client.get(f"/adres-bevestigen/{token}")
    assert again.status_code == 410


def test_staff_see_the_queue_and_confirm_a_phone_only_claim_over_the_api(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    household = make_household(db_session, campaign=campaign, street="Duinenstraat",
                               house_number="78", email=None, phone="+3259123456")
    staff = make_user(db_session, role="staff", organisation_id=campaign.organisation_id)
    other_staff = make_user(db_session, role="staff")
    db_session.commit()
    assert client.post(f"/api/v1/offers/{offer.id}/participations",
                       json=signup_body(78)).status_code == 201

    listed = client.get("/api/v1/claims", headers=bearer(db_session, staff))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1 and body["items"][0]["needs_call"] is True
    assert body["items"][0]["household"]["phone"] == "+3259123456"
    assert body["items"][0]["claimant"]["email"] == "vreemd@example.org"
    claim_id = body["items"][0]["id"]
    assert client.get("/api/v1/claims", headers=bearer(db_session, other_staff)).json()[
        "total"] == 0
    assert client.post(f"/api/v1/claims/{claim_id}/confirm", json={},
                       headers=bearer(db_session, other_staff)).status_code == 404
    assert client.get("/api/v1/claims").status_code == 401

    confirmed = client.post(f"/api/v1/claims/{claim_id}/confirm",
                            json={"note": "gebeld, de zoon"}, headers=bearer(db_session, staff))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    stored = db_session.exec(select(Participation).where(
        Participation.household_id == household.id)).one()
    assert stored.id == confirmed.json()["participation_id"]
    assert client.post(f"/api/v1/claims/{claim_id}/reject", json={},
                       headers=bearer(db_session, staff)).status_code == 409


def test_the_staff_queue_page_lists_and_refuses_with_a_note(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    make_household(db_session, campaign=campaign, street="Duinenstraat", house_number="9",
                   email=None, phone="+3259000009", name="Mevrouw Pauwels")
    staff = make_user(db_session, role="staff", organisation_id=campaign.organisation_id)
    db_session.commit()
    client.post(f"/api/v1/offers/{offer.id}/participations", json=signup_body(9))
    client.cookies.set(SESSION_COOKIE, auth_service.start_session(db_session, kind="web",
                                                                user=staff))
    page = client.get("/beheer/nakijken")
    assert page.status_code == 200
    assert "Mevrouw Pauwels" in page.text and "+3259000009" in page.text
    claim = db_session.exec(select(HouseholdClaim)).one()
    done = client.post(f"/beheer/nakijken/{claim.id}", follow_redirects=False, data={
        "decision": "reject", "note": "gebeld: niemand", "csrf_token": csrf_from(page.text)})
    assert done.status_code == 303
    db_session.refresh(claim)
    assert claim.status == "rejected" and claim.decision_note == "gebeld: niemand"
    empty = client.get("/beheer/nakijken")
    assert "Er zijn geen inschrijvingen na te kijken." in empty.text
    bad = client.post(f"/beheer/nakijken/{claim.id}", data={
        "decision": "maybe", "csrf_token": csrf_from(page.text)})
    assert bad.status_code == 422


def test_the_thank_you_page_reads_the_same_for_a_known_and_a_new_address(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="dankwijk")
    offer = make_offer(db_session, campaign=campaign)
    make_household(db_session, campaign=campaign, street="Duinenstraat", house_number="1")
    db_session.commit()
    page = client.get(f"/wijken/dankwijk/aanbod/{offer.id}").text
    pages = []
    for number in ("1", "2"):
        posted = client.post(f"/wijken/dankwijk/aanbod/{offer.id}", follow_redirects=False,
                             data={"name": "Iemand", "email": f"x{number}@example.org",
                                   "street": "Duinenstraat", "house_number": number,
                                   "postcode": "8400", "consent": "on",
                                   "csrf_token": csrf_from(page)})
        assert posted.status_code == 303
        pages.append(client.get(posted.headers["location"]).text)
    known, new = pages
    assert known == new


def test_a_logged_in_resident_signs_up_at_their_own_address_without_a_claim(
    client: TestClient, db_session: Session
) -> None:
    campaign = make_campaign(db_session, slug="eigenwijk")
    first = make_offer(db_session, campaign=campaign)
    second = make_offer(db_session, campaign=campaign, measure="window_frames", unit="piece")
    household = make_household(db_session, campaign=campaign, street="Duinenstraat",
                               house_number="3", phone=None)
    db_session.commit()
    # In the browser, with the session their magic link gave them.
    client.cookies.set(SESSION_COOKIE, auth_service.start_session(db_session, kind="web",
                                                                  household=household))
    page = client.get(f"/wijken/eigenwijk/aanbod/{first.id}").text
    posted = client.post(f"/wijken/eigenwijk/aanbod/{first.id}", follow_redirects=False, data={
        "name": household.name, "email": household.email or "", "phone": "0470 55 44 33",
        "street": "Duinenstraat", "house_number": "3", "postcode": "8400", "consent": "on",
        "csrf_token": csrf_from(page)})
    assert posted.status_code == 303
    client.cookies.clear()
    # Over the API, with the bearer token of the same link.
    token = auth_service.start_session(db_session, kind="api", household=household)
    answer = client.post(f"/api/v1/offers/{second.id}/participations",
                         json=signup_body(3), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    assert db_session.exec(select(HouseholdClaim)).all() == []
    signed = db_session.exec(select(Participation.offer_id).where(
        Participation.household_id == household.id)).all()
    assert sorted(signed) == sorted([first.id, second.id])
    db_session.refresh(household)
    assert household.phone == "+32470554433"  # their own sign-up fills their blanks
