"""Group forming and dashboard pages for staff: the suggestion shown without saving, accepting
it, moving, renaming, locking, assigning a batch (plain POST and htmx), errors next to the
field, empty states, CSV downloads, and another organisation's pages answering 404."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.deps import SESSION_COOKIE
from app.models import Campaign, Group, GroupMember, Offer, OutboxMail, Participation, User
from app.services import auth as auth_service
from tests import factories


def web_login(client: TestClient, session: Session, user: User, slug: str) -> str:
    """Log the client in with a web session; returns the page's CSRF token."""
    client.cookies.set(SESSION_COOKIE, auth_service.start_session(session, kind="web", user=user))
    page = client.get(f"/beheer/wijken/{slug}/groepen")
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]{64})"', page.text)
    assert match, page.text[:500]
    return match.group(1)


@pytest.fixture
def offer(db_session: Session) -> Offer:
    return factories.make_offer(db_session, title="Gevelisolatie Noord")


@pytest.fixture
def campaign(db_session: Session, offer: Offer) -> Campaign:
    found = db_session.get(Campaign, offer.campaign_id)
    assert found is not None
    return found


@pytest.fixture
def csrf(client: TestClient, db_session: Session, campaign: Campaign) -> str:
    user = factories.make_user(db_session, organisation_id=campaign.organisation_id)
    return web_login(client, db_session, user, campaign.slug)


def sign_up(db_session: Session, campaign: Campaign, offer: Offer, count: int,
            life_phase: str, street: str) -> list[int]:
    ids = []
    for number in range(1, count + 1):
        household = factories.make_household(db_session, campaign=campaign, street=street,
                                             house_number=str(number), life_phase=life_phase)
        factories.make_participation(db_session, offer=offer, household=household)
        ids.append(household.id)
    return ids


def groups_of(db_session: Session, campaign: Campaign) -> list[Group]:
    return list(db_session.exec(select(Group).where(Group.campaign_id == campaign.id)
                                .order_by(Group.id)).all())


def members(db_session: Session, group_id: int | None) -> set[int]:
    return set(db_session.exec(select(GroupMember.household_id)
                               .where(GroupMember.group_id == group_id)).all())


def test_empty_states_on_the_groups_page_and_the_dashboard(
    client: TestClient, campaign: Campaign, csrf: str
) -> None:
    groups_page = client.get(f"/beheer/wijken/{campaign.slug}/groepen")
    dashboard = client.get(f"/beheer/wijken/{campaign.slug}/dashboard")

    assert "Er zijn nog geen groepen in deze wijk." in groups_page.text
    assert dashboard.status_code == 200
    assert "Nog geen gegevens." in dashboard.text


def test_the_suggestion_is_shown_without_saving_and_accepting_saves_it(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    sign_up(db_session, campaign, offer, 6, "senior", "Kerkstraat")
    sign_up(db_session, campaign, offer, 3, "single", "Molenstraat")
    query = {"by": ["life_phase"], "min_size": "5", "max_size": "12",
             "offer_id": str(offer.id), "toon": "1"}

    shown = client.get(f"/beheer/wijken/{campaign.slug}/groepen/voorstel", params=query)

    assert shown.status_code == 200
    assert "Groep 1 · senior" in shown.text
    assert "te weinig huishoudens met life_phase=single: 3 &lt; 5" in shown.text
    assert groups_of(db_session, campaign) == []

    accepted = client.post(f"/beheer/wijken/{campaign.slug}/groepen/voorstel",
                           data={"by": ["life_phase"], "min_size": "5", "max_size": "12",
                                 "offer_id": str(offer.id), "csrf_token": csrf},
                           follow_redirects=False)

    assert accepted.status_code == 303
    assert accepted.headers["location"].endswith("/groepen?melding=aanvaard")
    saved = groups_of(db_session, campaign)
    assert [(g.name, g.offer_id, len(members(db_session, g.id))) for g in saved] == [
        ("Groep 1 · senior", offer.id, 6)]
    overview = client.get(accepted.headers["location"])
    assert "Het voorstel is bewaard als groepen." in overview.text
    assert "Groep 1 · senior" in overview.text


def test_the_suggestion_block_alone_is_sent_to_htmx(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    sign_up(db_session, campaign, offer, 5, "senior", "Kerkstraat")

    response = client.get(f"/beheer/wijken/{campaign.slug}/groepen/voorstel",
                          params={"by": "life_phase", "min_size": "5", "max_size": "12",
                                  "toon": "1"},
                          headers={"HX-Request": "true"})

    assert response.text.lstrip().startswith('<div id="suggest-area">')
    assert "<html" not in response.text
    assert "Aanvaard dit voorstel" in response.text


def test_bad_sizes_come_back_next_to_the_field(
    client: TestClient, campaign: Campaign, csrf: str
) -> None:
    response = client.get(f"/beheer/wijken/{campaign.slug}/groepen/voorstel",
                          params={"min_size": "acht", "max_size": "3", "toon": "1"})

    assert response.status_code == 422
    assert 'id="min_size" name="min_size" type="number" value="acht"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'id="min_size-error"' in response.text
    assert "Geef een geheel getal van 1 tot 500." in response.text


def make_two_groups(db_session: Session, campaign: Campaign, offer: Offer) -> tuple[Group, Group]:
    households = sign_up(db_session, campaign, offer, 4, "senior", "Kerkstraat")
    groups = []
    for name, ids in (("Noord", households[:2]), ("Zuid", households[2:])):
        group = Group(campaign_id=campaign.id, name=name, kind="framework", offer_id=offer.id,
                      measure=offer.measure)
        db_session.add(group)
        db_session.flush()
        for household_id in ids:
            db_session.add(GroupMember(group_id=group.id, household_id=household_id))
        groups.append(group)
    db_session.flush()
    return groups[0], groups[1]


def test_moving_a_household_with_htmx_swaps_both_groups(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    north, south = make_two_groups(db_session, campaign, offer)
    moved = sorted(members(db_session, north.id))[0]

    response = client.post(
        f"/beheer/wijken/{campaign.slug}/groepen/{north.id}/verplaats",
        data={"household_id": str(moved), "to_group_id": str(south.id)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf})

    assert response.status_code == 200
    assert response.text.count('class="card group-card"') == 2
    assert 'hx-swap-oob="innerHTML">Het huishouden is verplaatst.' in response.text
    assert moved in members(db_session, south.id)
    assert moved not in members(db_session, north.id)


def test_rename_lock_and_assign_a_batch_without_javascript(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    north, _south = make_two_groups(db_session, campaign, offer)
    base = f"/beheer/wijken/{campaign.slug}/groepen/{north.id}"

    renamed = client.post(f"{base}/naam", data={"name": "Kerkstraat oneven",
                                               "csrf_token": csrf}, follow_redirects=False)
    locked = client.post(f"{base}/vergrendeling", data={"locked": "true", "csrf_token": csrf},
                         follow_redirects=False)
    batch = client.post(f"{base}/batch", data={"contractor_id": str(offer.contractor_id),
                                               "offer_id": str(offer.id), "csrf_token": csrf},
                        follow_redirects=False)

    assert [r.status_code for r in (renamed, locked, batch)] == [303, 303, 303]
    db_session.refresh(north)
    assert (north.name, north.locked) == ("Kerkstraat oneven", True)
    statuses = set(db_session.exec(select(Participation.status).where(
        Participation.household_id.in_(members(db_session, north.id)))).all())  # type: ignore[union-attr]
    assert statuses == {"assigned"}
    assert db_session.exec(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.purpose == "batch_assigned")).one() == 1
    page = client.get(batch.headers["location"])
    assert "De groep is toegewezen als batch; de aannemer krijgt een e-mail." in page.text


def test_a_refused_change_is_shown_next_to_the_field(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    north, _south = make_two_groups(db_session, campaign, offer)

    response = client.post(f"/beheer/wijken/{campaign.slug}/groepen/{north.id}/batch",
                           data={"contractor_id": str(offer.contractor_id), "csrf_token": csrf},
                           headers={"HX-Request": "true", "X-CSRF-Token": csrf})

    assert response.status_code == 409
    assert "Vergrendel de groep voor je ze toewijst." in response.text
    lock_id = f"group-{north.id}-locked"
    assert f'id="{lock_id}" aria-describedby="{lock_id}-error"' in response.text

    empty_name = client.post(f"/beheer/wijken/{campaign.slug}/groepen/{north.id}/naam",
                             data={"name": "  ", "csrf_token": csrf})
    assert empty_name.status_code == 422
    assert f'id="group-{north.id}-name-error"' in empty_name.text


def test_dashboard_shows_charts_with_tables_and_downloads_csv(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer, csrf: str
) -> None:
    sign_up(db_session, campaign, offer, 3, "senior", "Kerkstraat")

    page = client.get(f"/beheer/wijken/{campaign.slug}/dashboard")
    csv = client.get(f"/beheer/wijken/{campaign.slug}/dashboard/straten.csv")

    assert "<svg" in page.text and 'role="img"' in page.text
    assert '<caption id="straten-caption">Deelname per straat</caption>' in page.text
    assert "style=" not in page.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbfStraat;Huishoudens;Ingeschreven;Aandeel")
    assert "Kerkstraat;3;3;100,0 %" in csv.content.decode("utf-8-sig")
    assert client.get(f"/beheer/wijken/{campaign.slug}/dashboard/geheim.csv").status_code == 404


def test_another_organisations_staff_get_404_on_every_page(
    client: TestClient, db_session: Session, campaign: Campaign, offer: Offer
) -> None:
    north, south = make_two_groups(db_session, campaign, offer)
    stranger = factories.make_user(db_session)
    own = factories.make_campaign(db_session, organisation_id=stranger.organisation_id)
    csrf = web_login(client, db_session, stranger, own.slug)
    slug, base = campaign.slug, f"/beheer/wijken/{campaign.slug}/groepen/{north.id}"

    answers = [
        client.get(f"/beheer/wijken/{slug}/groepen"),
        client.get(f"/beheer/wijken/{slug}/groepen/voorstel", params={"toon": "1"}),
        client.post(f"/beheer/wijken/{slug}/groepen/voorstel", data={
            "min_size": "5", "max_size": "12", "csrf_token": csrf}),
        client.post(f"{base}/naam", data={"name": "x", "csrf_token": csrf}),
        client.post(f"{base}/vergrendeling", data={"locked": "true", "csrf_token": csrf}),
        client.post(f"{base}/verplaats", data={"household_id": "1", "to_group_id": str(south.id),
                                               "csrf_token": csrf}),
        client.post(f"{base}/batch", data={"contractor_id": str(offer.contractor_id),
                                           "csrf_token": csrf}),
        client.get(f"/beheer/wijken/{slug}/dashboard"),
        client.get(f"/beheer/wijken/{slug}/dashboard/straten.csv"),
        # their own campaign's URL with this group in it
        client.post(f"/beheer/wijken/{own.slug}/groepen/{north.id}/naam",
                    data={"name": "x", "csrf_token": csrf}),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    db_session.refresh(north)
    assert (north.name, north.locked) == ("Noord", False)
