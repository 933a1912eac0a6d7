"""Support paths over HTTP: the API's shapes of DESIGN.md (round 2, "Support paths"), 422 naming
the field, /api/v1/me's support_path; the wijk page shows every path, /mijn the resident's own
(a cannot_but_will owner), and staff edit a path in the browser with errors next to the field."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Campaign, Partner, User
from app.services import mail
from app.services.auth import start_session
from tests import factories
from tests.support.world import web_login

BODY = {"title": "Wel willen, hulp bij betalen",
        "summary": "Het energiehuis en het OCMW zoeken met jou een weg.",
        "steps": [{"kind": "loan", "title": "Mijn VerbouwLening", "body": "Tot € 60.000.",
                   "partner": {"name": "Energiehuis Oostende", "kind": "energiehuis"},
                   "url": "https://mijnenergiehuis.be/mijn-verbouwlening"},
                  {"kind": "ocmw", "title": "Het OCMW kijkt mee", "body": "", "partner": None,
                   "url": None}]}


def bearer(db_session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {start_session(db_session, kind='api', user=user)}"}


def campaign_with_partner(db_session: Session) -> tuple[Campaign, User]:
    campaign = factories.make_campaign(db_session)
    db_session.add(Partner(campaign_id=campaign.id, kind="energiehuis",  # type: ignore[arg-type]
                           name="Energiehuis Oostende"))
    db_session.flush()
    user = factories.make_user(db_session, role="staff",
                               organisation_id=campaign.organisation_id)
    return campaign, user


def test_staff_put_a_path_and_anyone_gets_it_in_the_contract_shape(
    client: TestClient, db_session: Session
) -> None:
    campaign, user = campaign_with_partner(db_session)
    url = f"/api/v1/campaigns/{campaign.slug}/support-paths"
    put = client.put(f"{url}/cannot_but_will", json=BODY, headers=bearer(db_session, user))
    assert put.status_code == 200, put.text
    listed = client.get(url)
    assert listed.status_code == 200
    assert listed.json() == [{"profile": "cannot_but_will", **BODY}]
    other = factories.make_user(db_session, role="staff")
    assert client.put(f"{url}/cannot_but_will", json=BODY,
                      headers=bearer(db_session, other)).status_code == 404
    assert client.put(f"{url}/cannot_but_will", json=BODY).status_code == 401


def test_bad_input_is_422_naming_the_field(client: TestClient, db_session: Session) -> None:
    campaign, user = campaign_with_partner(db_session)
    url = f"/api/v1/campaigns/{campaign.slug}/support-paths"
    headers = bearer(db_session, user)
    unknown = BODY | {"steps": [BODY["steps"][0] | {  # type: ignore[operator]
        "partner": {"name": "OCMW Brugge", "kind": "ocmw"}}]}
    answer = client.put(f"{url}/can_and_will", json=unknown, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "steps", "0", "partner"]
    wrong_kind = BODY | {"steps": [{"kind": "bank", "title": "Geld"}]}
    answer = client.put(f"{url}/can_and_will", json=wrong_kind, headers=headers)
    assert answer.status_code == 422 and "kind" in answer.json()["detail"][0]["loc"]
    assert client.put(f"{url}/rich", json=BODY, headers=headers).status_code == 422


def test_me_has_the_households_own_path(client: TestClient, db_session: Session) -> None:
    campaign, user = campaign_with_partner(db_session)
    client.put(f"/api/v1/campaigns/{campaign.slug}/support-paths/cannot_but_will", json=BODY,
               headers=bearer(db_session, user))
    household = factories.make_household(db_session, campaign=campaign,
                                         tenure="owner_occupier", profile="cannot_but_will")
    token = start_session(db_session, kind="api", household=household)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["support_path"]["profile"] == "cannot_but_will"
    assert me["support_path"]["steps"][0]["partner"] == {"name": "Energiehuis Oostende",
                                                         "kind": "energiehuis"}
    other = factories.make_household(db_session, campaign=campaign, profile="can_and_will")
    token = start_session(db_session, kind="api", household=other)
    assert client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {token}"}).json()["support_path"] is None


def test_the_wijk_page_shows_every_path_and_mijn_the_residents_own(
    client: TestClient, db_session: Session
) -> None:
    campaign, user = campaign_with_partner(db_session)
    headers = bearer(db_session, user)
    url = f"/api/v1/campaigns/{campaign.slug}/support-paths"
    client.put(f"{url}/cannot_but_will", json=BODY, headers=headers)
    client.put(f"{url}/can_and_will", json=BODY | {"title": "Zelf aan de slag"},
               headers=headers)
    wijk = client.get(f"/wijken/{campaign.slug}").text
    assert "Wel willen, hulp bij betalen" in wijk and "Zelf aan de slag" in wijk
    assert "Wie helpt: Energiehuis Oostende" in wijk
    household = factories.make_household(db_session, campaign=campaign,
                                         tenure="owner_occupier", profile="cannot_but_will")
    assert mail.mint_magic_link  # residents log in by magic link; the session is what counts
    web_login(client, db_session, household=household)
    mijn = client.get("/mijn").text
    assert "Jouw ondersteuning" in mijn and "Wel willen, hulp bij betalen" in mijn
    assert "Zelf aan de slag" not in mijn


def test_staff_edit_a_path_in_the_browser_with_errors_next_to_the_field(
    client: TestClient, db_session: Session
) -> None:
    campaign, user = campaign_with_partner(db_session)
    csrf = web_login(client, db_session, user=user)
    base = f"/beheer/wijken/{campaign.slug}/ondersteuning"
    assert client.get(base).status_code == 200
    form_page = client.get(f"{base}/cannot_but_will")
    assert form_page.status_code == 200 and 'for="steps-0-title"' in form_page.text
    partner_id = db_session.exec(  # type: ignore[call-overload]
        Partner.__table__.select().where(Partner.campaign_id == campaign.id)).first().id
    wrong = client.post(f"{base}/cannot_but_will", headers={"X-CSRF-Token": csrf}, data={
        "title": "", "steps-0-kind": "loan", "steps-0-title": "Lening"})
    assert wrong.status_code == 422 and 'id="title-error"' in wrong.text
    bad_kind = client.post(f"{base}/cannot_but_will", headers={"X-CSRF-Token": csrf}, data={
        "title": "Hulp", "steps-0-kind": "", "steps-0-title": "Lening"})
    assert bad_kind.status_code == 422 and 'id="steps-0-kind-error"' in bad_kind.text
    saved = client.post(f"{base}/cannot_but_will", headers={"X-CSRF-Token": csrf}, data={
        "title": "Hulp bij betalen", "summary": "Samen zoeken.", "steps-0-kind": "loan",
        "steps-0-title": "Mijn VerbouwLening", "steps-0-partner": str(partner_id)},
        follow_redirects=False)
    assert saved.status_code == 303
    listed = client.get(f"/api/v1/campaigns/{campaign.slug}/support-paths").json()
    assert listed[0]["steps"][0]["partner"]["name"] == "Energiehuis Oostende"
    assert client.get(f"{base}/rijk").status_code == 404
