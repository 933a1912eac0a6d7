"""The residents' JSON API: magic-link log-in, /me and its actions, and the klimaattafel."""

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Household, OutboxMail, Participation
from app.services import mail as mail_service
from app.services import residents
from tests import factories


def token_for(session: Session, household: Household) -> str:
    link = mail_service.mint_magic_link(session, household.id)  # type: ignore[arg-type]
    session.flush()
    return link.rsplit("/r/", 1)[1]


def bearer(client: TestClient, session: Session, household: Household) -> dict[str, str]:
    response = client.post("/api/v1/auth/resident", json={"token": token_for(session, household)})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_link_request_answers_the_same_for_known_and_unknown(client: TestClient,
                                                             db_session: Session) -> None:
    household = factories.make_household(db_session)

    known = client.post("/api/v1/auth/resident-link", json={"email": household.email})
    unknown = client.post("/api/v1/auth/resident-link", json={"email": "nobody@example.be"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    mails = db_session.exec(select(OutboxMail).where(OutboxMail.purpose == "magic_link")).all()
    assert [mail.household_id for mail in mails] == [household.id]


def test_link_requests_over_the_limit_still_answer_202(client: TestClient,
                                                       db_session: Session) -> None:
    household = factories.make_household(db_session)
    answers = [client.post("/api/v1/auth/resident-link", json={"email": household.email})
               for _ in range(residents.LINK_REQUESTS_PER_EMAIL + 1)]

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.text for answer in answers}) == 1
    mails = db_session.exec(select(OutboxMail).where(OutboxMail.purpose == "magic_link")).all()
    assert len(mails) == residents.LINK_REQUESTS_PER_EMAIL


def test_token_logs_in_once(client: TestClient, db_session: Session) -> None:
    household = factories.make_household(db_session)
    token = token_for(db_session, household)

    first = client.post("/api/v1/auth/resident", json={"token": token})
    second = client.post("/api/v1/auth/resident", json={"token": token})

    assert first.status_code == 200
    assert set(first.json()) == {"access_token", "token_type", "role"}
    assert first.json()["role"] == "resident"
    assert first.json()["token_type"] == "bearer"  # noqa: S105
    assert second.status_code == 401


def test_repeated_bad_tokens_are_rate_limited(client: TestClient) -> None:
    statuses = [client.post("/api/v1/auth/resident", json={"token": f"guess-{n}"}).status_code
                for n in range(residents.FAILED_TOKEN_USES_PER_ADDRESS + 1)]

    assert statuses == [401] * residents.FAILED_TOKEN_USES_PER_ADDRESS + [429]


def test_me_has_the_contract_shape(client: TestClient, db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    factories.make_participation(db_session, offer=offer)
    participation = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    headers = bearer(client, db_session, household)
    client.post(f"/api/v1/campaigns/{factories._campaign_of(db_session, household).slug}"  # type: ignore[union-attr]
                "/interests", headers=headers,
                json={"email": None, "postcode": "8400", "street": "Kerkstraat",
                      "answers": [{"measure": "solar_pv", "horizon": "1y"}]})

    me = client.get("/api/v1/me", headers=headers).json()

    assert set(me) == {"household", "participations", "interests", "support_path"}
    assert me["household"]["id"] == household.id
    assert me["household"]["email"] == household.email
    item = me["participations"][0]
    assert {"id", "offer_id", "status", "waitlist_position"} <= set(item)
    assert (item["id"], item["offer_id"], item["status"], item["waitlist_position"]) == (
        participation.id, offer.id, "waitlisted", 1)
    assert [(i["measure"], i["horizon"]) for i in me["interests"]] == [("solar_pv", "1y")]


def test_me_needs_a_resident_token(client: TestClient) -> None:
    assert client.get("/api/v1/me").status_code == 401


def test_patch_me_changes_details_and_names_bad_fields(client: TestClient,
                                                       db_session: Session) -> None:
    household = factories.make_household(db_session)
    headers = bearer(client, db_session, household)

    ok = client.patch("/api/v1/me", headers=headers,
                      json={"phone": "0470 99 88 77", "energy_kwh_year": 3200})
    bad = client.patch("/api/v1/me", headers=headers, json={"postcode": "9000"})
    unknown = client.patch("/api/v1/me", headers=headers, json={"erased_at": None})

    assert ok.status_code == 200
    assert ok.json()["household"]["phone"] == "+32470998877"
    assert ok.json()["household"]["energy_kwh_year"] == 3200
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "postcode"]
    assert unknown.status_code == 422
    db_session.refresh(household)
    assert household.postcode == "8400"


def test_withdraw_answers_the_participation_and_promotes(client: TestClient,
                                                         db_session: Session) -> None:
    offer = factories.make_offer(db_session, capacity=1)
    mine = factories.make_participation(db_session, offer=offer)
    waiting = factories.make_participation(db_session, offer=offer, status="waitlisted")
    household = db_session.get(Household, mine.household_id)
    assert household is not None
    headers = bearer(client, db_session, household)

    response = client.post(f"/api/v1/me/participations/{mine.id}/withdraw", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["offer_id"], body["status"], body["waitlist_position"]) == (
        mine.id, offer.id, "cancelled", None)
    db_session.refresh(waiting)
    assert waiting.status == "registered"
    again = client.post(f"/api/v1/me/participations/{mine.id}/withdraw", headers=headers)
    assert again.status_code == 409


def test_withdrawing_another_households_participation_is_404(client: TestClient,
                                                             db_session: Session) -> None:
    theirs = factories.make_participation(db_session)
    household = factories.make_household(db_session)
    headers = bearer(client, db_session, household)

    response = client.post(f"/api/v1/me/participations/{theirs.id}/withdraw", headers=headers)

    assert response.status_code == 404
    assert db_session.get(Participation, theirs.id).status == "registered"  # type: ignore[union-attr]


def test_export_and_erase(client: TestClient, db_session: Session) -> None:
    participation = factories.make_participation(db_session)
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    headers = bearer(client, db_session, household)
    name = household.name

    export = client.get("/api/v1/me/export", headers=headers)
    erase = client.delete("/api/v1/me", headers=headers)
    after = client.get("/api/v1/me", headers=headers)

    assert export.status_code == 200
    assert export.json()["household"]["name"] == name
    assert export.json()["participations"][0]["history"][0]["to_status"] == "registered"
    assert erase.status_code == 204 and erase.content == b""
    assert after.status_code == 401
    db_session.refresh(household)
    assert household.name == "" and household.erased_at is not None


def test_interests_are_stored_and_summarised(client: TestClient, db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    body = {"email": None, "postcode": "8400", "street": "Kerkstraat",
            "answers": [{"measure": "solar_pv", "horizon": "1y"},
                        {"measure": "heat_pump", "horizon": "5y"}]}

    created = [client.post(f"/api/v1/campaigns/{campaign.slug}/interests", json=body)
               for _ in range(5)]
    body["answers"] = [{"measure": "heat_pump", "horizon": "no"}]
    client.post(f"/api/v1/campaigns/{campaign.slug}/interests", json=body)
    summary = client.get(f"/api/v1/campaigns/{campaign.slug}/interests/summary").json()

    assert {response.status_code for response in created} == {201}
    assert all(set(cell) == {"measure", "horizon", "count"} for cell in summary)
    cells = {(cell["measure"], cell["horizon"]): cell["count"] for cell in summary}
    assert len(cells) == 12 * 3
    assert cells[("solar_pv", "1y")] == 5 and cells[("heat_pump", "5y")] == 5
    assert cells[("heat_pump", "no")] is None


def test_interests_refused_with_the_field_named(client: TestClient, db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    url = f"/api/v1/campaigns/{campaign.slug}/interests"
    base = {"email": None, "postcode": "8400", "street": "Kerkstraat",
            "answers": [{"measure": "solar_pv", "horizon": "1y"}]}

    outside = client.post(url, json=base | {"postcode": "9000"})
    twice = client.post(url, json=base | {"answers": [{"measure": "solar_pv", "horizon": "1y"},
                                                      {"measure": "solar_pv", "horizon": "no"}]})
    unknown = client.post(url, json=base | {"answers": [{"measure": "moat", "horizon": "1y"}]})
    missing = client.post("/api/v1/campaigns/bestaat-niet/interests", json=base)

    assert outside.status_code == twice.status_code == unknown.status_code == 422
    assert outside.json()["detail"][0]["loc"] == ["body", "postcode"]
    assert twice.json()["detail"][0]["loc"] == ["body", "answers"]
    assert unknown.json()["detail"][0]["loc"][:2] == ["body", "answers"]
    assert missing.status_code == 404


def test_resident_accepts_the_personal_offer_and_the_history_records_it(
    client: TestClient, db_session: Session
) -> None:
    household = factories.make_household(db_session)
    participation = factories.make_participation(
        db_session, household=household, status="offered", personal_offer_cents=1234500
    )
    headers = bearer(client, db_session, household)

    response = client.post(f"/api/v1/me/participations/{participation.id}/decision",
                           json={"decision": "accept"}, headers=headers)

    assert response.status_code == 200 and response.json()["status"] == "accepted"
    again = client.post(f"/api/v1/me/participations/{participation.id}/decision",
                        json={"decision": "decline"}, headers=headers)
    assert again.status_code == 409
    db_session.refresh(participation)
    assert participation.status == "accepted"


def test_a_decision_on_someone_elses_participation_is_not_found(
    client: TestClient, db_session: Session
) -> None:
    household = factories.make_household(db_session)
    other = factories.make_participation(db_session, status="offered")
    response = client.post(f"/api/v1/me/participations/{other.id}/decision",
                           json={"decision": "accept"},
                           headers=bearer(client, db_session, household))
    assert response.status_code == 404
