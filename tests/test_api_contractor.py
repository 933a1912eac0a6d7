"""The contractor and quote API of DESIGN.md: batches with consented contact only, the CSV for a
Dutch spreadsheet, status changes (200/409/403), quote requests, quotes (201, revision 200,
409 after the deadline), the comparison for staff and group members, and accepting."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import (
    Batch,
    Group,
    GroupMember,
    MagicLinkToken,
    OutboxMail,
    QuoteRequest,
    User,
)
from app.models.base import utcnow
from app.security import token_hash
from app.services import auth as auth_service
from tests import factories


def bearer(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth_service.start_session(session, kind='api', user=user)}"}


def batch_world(session: Session):  # type: ignore[no-untyped-def]
    campaign = factories.make_campaign(session)
    contractor = factories.make_contractor(session, organisation_id=campaign.organisation_id)
    offer = factories.make_offer(session, campaign=campaign, contractor=contractor)
    sharing = factories.make_household(session, campaign=campaign, name="An Peeters",
                                       street="Zwaluwenstraat", house_number="2")
    private = factories.make_household(session, campaign=campaign, name="Jan Geheim",
                                       email="jan.geheim@example.be",
                                       share_contact_with_contractor=False,
                                       street="Zwaluwenstraat", house_number="4")
    group = Group(campaign_id=campaign.id, name="Zwaluwen", kind="framework", offer_id=offer.id,
                  locked=True)
    session.add(group)
    session.flush()
    participations = []
    for household, quantity in ((sharing, 48.5), (private, 20.0)):
        session.add(GroupMember(group_id=group.id, household_id=household.id))
        participations.append(factories.make_participation(
            session, household=household, offer=offer, status="assigned", quantity=quantity))
    batch = Batch(group_id=group.id, contractor_id=contractor.id, offer_id=offer.id)
    session.add(batch)
    session.flush()
    contractor_user = factories.make_user(session, role="contractor", contractor=contractor)
    staff_user = factories.make_user(session, role="staff",
                                     organisation_id=campaign.organisation_id)
    return campaign, group, batch, participations, contractor_user, staff_user


def test_contractor_batches_show_contact_only_where_the_resident_consented(
    client: TestClient, db_session: Session,
) -> None:
    _, group, batch, _, contractor_user, _ = batch_world(db_session)
    [listed] = client.get("/api/v1/contractor/batches",
                          headers=bearer(db_session, contractor_user)).json()
    assert listed["id"] == batch.id and listed["group"]["name"] == group.name
    by_number = {h["house_number"]: h for h in listed["households"]}
    assert by_number["2"]["name"] == "An Peeters" and by_number["2"]["email"]
    assert by_number["4"]["name"] is None and by_number["4"]["email"] is None
    assert by_number["4"]["street"] == "Zwaluwenstraat"
    assert by_number["2"]["participations"][0]["quantity"] == 48.5


def test_batch_csv_opens_in_a_dutch_spreadsheet(client: TestClient, db_session: Session) -> None:
    _, _, batch, _, contractor_user, staff_user = batch_world(db_session)
    for user in (contractor_user, staff_user):
        response = client.get(f"/api/v1/batches/{batch.id}.csv",
                              headers=bearer(db_session, user))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Straat", "Huisnummer"]
    assert rows[1][:2] == ["Zwaluwenstraat", "2"] and rows[1][7] == "48,5"
    assert "An Peeters" in rows[1]
    assert "Jan Geheim" not in response.content.decode("utf-8-sig")


def test_status_change_answers_the_participation_and_409_with_the_reason(
    client: TestClient, db_session: Session,
) -> None:
    _, _, _, (participation, _), contractor_user, _ = batch_world(db_session)
    headers = bearer(db_session, contractor_user)
    url = f"/api/v1/participations/{participation.id}/status"
    visit = (date.today() + timedelta(days=3)).isoformat()

    ok = client.post(url, json={"status": "visit_planned", "note": "Om 9 uur",
                                "occurred_on": visit}, headers=headers)
    refused = client.post(url, json={"status": "completed", "note": ""}, headers=headers)
    not_theirs = client.post(url, json={"status": "accepted", "note": ""}, headers=headers)

    assert ok.status_code == 200
    assert ok.json()["status"] == "visit_planned" and ok.json()["id"] == participation.id
    assert refused.status_code == 409 and "status" in refused.json()["detail"].lower()
    assert not_theirs.status_code in (403, 409)
    mail = db_session.exec(select(OutboxMail).where(OutboxMail.purpose == "status_update")).one()
    assert mail.household_id == participation.household_id


def test_offer_needs_valid_fields_named_in_422(client: TestClient, db_session: Session) -> None:
    _, _, _, (participation, _), contractor_user, _ = batch_world(db_session)
    response = client.post(f"/api/v1/participations/{participation.id}/status",
                           json={"status": "visit_planned", "measured_quantity": -1},
                           headers=bearer(db_session, contractor_user))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "measured_quantity"


def quote_world(session: Session):  # type: ignore[no-untyped-def]
    campaign, group, batch, participations, contractor_user, staff_user = batch_world(session)
    other = factories.make_contractor(session, organisation_id=campaign.organisation_id)
    other_user = factories.make_user(session, role="contractor", contractor=other)
    return campaign, group, participations, contractor_user, other_user, staff_user


QUOTE = {"lines": [{"description": "Gevelisolatie EPS 14 cm", "quantity": 68.5, "unit": "m2",
                    "unit_price_cents": 11_000},
                   {"description": "Stelling", "quantity": 1, "unit": "dwelling",
                    "unit_price_cents": 25_000}],
         "vat_rate": 6, "valid_until": (date.today() + timedelta(days=90)).isoformat(),
         "lead_time_weeks": 6, "warranty_years": 10, "notes": "Incl. vensterbanken"}


def test_quote_request_flow_from_invitation_to_acceptance(
    client: TestClient, db_session: Session,
) -> None:
    _, group, (sharing, _), contractor_user, other_user, staff_user = quote_world(db_session)
    staff = bearer(db_session, staff_user)
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    created = client.post(f"/api/v1/groups/{group.id}/quote-requests", headers=staff, json={
        "measure": "facade_insulation", "unit": "m2", "description": "Voorgevels",
        "deadline": deadline, "market_unit_price_cents": 10_500,
        "contractor_ids": [contractor_user.contractor_id, other_user.contractor_id]})
    assert created.status_code == 201
    request_id = created.json()["id"]

    first = bearer(db_session, contractor_user)
    [invitation] = client.get("/api/v1/contractor/quote-requests", headers=first).json()
    assert invitation["id"] == request_id and invitation["total_quantity"] == 68.5
    submitted = client.post(f"/api/v1/quote-requests/{request_id}/quotes", json=QUOTE,
                            headers=first)
    revised = client.post(f"/api/v1/quote-requests/{request_id}/quotes", headers=first,
                          json=QUOTE | {"warranty_years": 12})
    assert (submitted.status_code, revised.status_code) == (201, 200)
    assert revised.json()["id"] == submitted.json()["id"]
    second = client.post(f"/api/v1/quote-requests/{request_id}/quotes", headers=bearer(
        db_session, other_user), json=QUOTE | {"lines": [QUOTE["lines"][0]]})  # type: ignore[index]
    assert second.status_code == 201

    comparison = client.get(f"/api/v1/quote-requests/{request_id}/comparison",
                            headers=staff).json()
    by_id = {quote["id"]: quote for quote in comparison["quotes"]}
    ours = by_id[submitted.json()["id"]]
    # 68,5 m² × € 110 + € 250 = € 7.785,00 excl.; 6 % VAT = € 467,10 → € 8.252,10
    assert (ours["total_excl_vat_cents"], ours["total_incl_vat_cents"]) == (778_500, 825_210)
    assert ours["unit_price_cents"] == 11_365  # 778 500 ÷ 68,5 = 11 364,96 → 11 365
    assert ours["warranty_years"] == 12
    assert sum(h["share_incl_vat_cents"] for h in ours["households"]) == 825_210
    assert by_id[second.json()["id"]]["lowest_net_cost"] is True
    assert comparison["quote_request"]["market_unit_price_cents"] == 10_500
    assert "schatting" in comparison["premium_disclaimer"].lower()

    accepted = client.post(f"/api/v1/quotes/{submitted.json()['id']}/accept", headers=staff)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    request = db_session.get(QuoteRequest, request_id)
    assert request is not None and request.status == "awarded"
    purposes = {m.purpose for m in db_session.exec(select(OutboxMail)).all()}
    assert {"quote_request_invitation", "quote_accepted", "quote_declined",
            "quote_comparison"} <= purposes


def test_quote_after_the_deadline_is_409_and_not_invited_is_404(
    client: TestClient, db_session: Session,
) -> None:
    _, group, _, contractor_user, other_user, staff_user = quote_world(db_session)
    created = client.post(f"/api/v1/groups/{group.id}/quote-requests",
                          headers=bearer(db_session, staff_user), json={
                              "measure": "facade_insulation", "unit": "m2",
                              "deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                              "contractor_ids": [contractor_user.contractor_id]})
    request_id = created.json()["id"]
    outsider = client.post(f"/api/v1/quote-requests/{request_id}/quotes", json=QUOTE,
                           headers=bearer(db_session, other_user))
    assert outsider.status_code == 404
    request = db_session.get(QuoteRequest, request_id)
    assert request is not None
    request.deadline = utcnow() - timedelta(seconds=1)
    db_session.add(request)
    late = client.post(f"/api/v1/quote-requests/{request_id}/quotes", json=QUOTE,
                       headers=bearer(db_session, contractor_user))
    assert late.status_code == 409
    assert "termijn is verstreken" in late.json()["detail"]


def test_quote_request_names_the_bad_field(client: TestClient, db_session: Session) -> None:
    _, group, _, _, _, staff_user = quote_world(db_session)
    response = client.post(f"/api/v1/groups/{group.id}/quote-requests",
                           headers=bearer(db_session, staff_user), json={
                               "measure": "facade_insulation", "contractor_ids": [],
                               "deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "contractor_ids"


def test_group_member_reads_the_comparison_with_a_resident_token(
    client: TestClient, db_session: Session,
) -> None:
    _, group, (sharing, private), contractor_user, _, staff_user = quote_world(db_session)
    request_id = client.post(f"/api/v1/groups/{group.id}/quote-requests",
                             headers=bearer(db_session, staff_user), json={
                                 "measure": "facade_insulation", "unit": "m2",
                                 "deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                                 "contractor_ids": [contractor_user.contractor_id]}).json()["id"]
    client.post(f"/api/v1/quote-requests/{request_id}/quotes", json=QUOTE,
                headers=bearer(db_session, contractor_user))
    db_session.add(MagicLinkToken(token_hash=token_hash("a-known-test-token"),
                                  household_id=sharing.household_id,
                                  expires_at=utcnow() + timedelta(minutes=10)))
    login = client.post("/api/v1/auth/resident", json={"token": "a-known-test-token"})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    data = client.get(f"/api/v1/quote-requests/{request_id}/comparison", headers=headers).json()

    [quote] = data["quotes"]
    assert [h["household_id"] for h in quote["households"]] == [sharing.household_id]
    assert data["households"][0]["address"] is None and data["households"][0]["is_you"]
    # 48,5 of 68,5 m² of € 8.252,10
    assert quote["households"][0]["share_incl_vat_cents"] == 584_273


def test_only_staff_accept_quotes(client: TestClient, db_session: Session) -> None:
    _, _, _, contractor_user, _, _ = quote_world(db_session)
    response = client.post("/api/v1/quotes/1/accept", headers=bearer(db_session, contractor_user))
    assert response.status_code == 403
