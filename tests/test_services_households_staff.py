"""The staff's view of households without HTTP: filters, sorting, pagination in a fixed number
of queries (fast over 10,000 households), the household page and the CSV export, each scoped
to the caller's organisation and written to the audit log without personal data."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert
from sqlmodel import Session, select

from app.models import AuditEvent, Household
from app.models.enums import Role
from app.services import household_queries as hq
from app.services.auth import Principal
from app.services.errors import NotFound
from tests.factories import make_campaign, make_household, make_offer, make_participation, make_user


def principal_of(user) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(role=Role(user.role), session_id=0, user_id=user.id,
                     organisation_id=user.organisation_id, email=user.email)


@pytest.fixture
def setup(db_session: Session):  # type: ignore[no-untyped-def]
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    return principal_of(staff), campaign


def names(page: hq.HouseholdPage) -> list[str]:
    return [row.name for row in page.items]


def test_filters_combine(db_session: Session, setup) -> None:  # type: ignore[no-untyped-def]
    staff, campaign = setup
    offer = make_offer(db_session, campaign=campaign, measure="window_frames")
    a = make_household(db_session, campaign=campaign, name="A", tenure="social_tenant",
                       budget_band="lt_5k", profile="cannot_but_will")
    make_household(db_session, campaign=campaign, name="B", tenure="social_tenant")
    make_household(db_session, campaign=campaign, name="C", erased_at=datetime.now(UTC))
    make_participation(db_session, household=a, offer=offer, status="assigned")

    def find(**filters: object) -> list[str]:
        return names(hq.list_households(db_session, staff, campaign,
                                        hq.HouseholdFilters(**filters)))  # type: ignore[arg-type]

    assert find(tenure="social_tenant") == ["A", "B"]  # the erased one is never listed
    assert find(tenure="social_tenant", budget_band="lt_5k", profile="cannot_but_will") == ["A"]
    assert find(measure="window_frames", status="assigned") == ["A"]
    assert find(measure="window_frames", status="registered") == []
    assert find(q="100%_") == []  # LIKE wildcards are taken literally


def test_sorting_keeps_neighbours_together_and_can_reverse(
    db_session: Session, setup  # type: ignore[no-untyped-def]
) -> None:
    staff, campaign = setup
    for street, number, name in (("Ooststraat", "10", "Zoë"), ("Ooststraat", "9", "Arne"),
                                 ("Duinenstraat", "100", "Mira")):
        make_household(db_session, campaign=campaign, street=street, house_number=number,
                       name=name)
    by_street = hq.list_households(db_session, staff, campaign, hq.HouseholdFilters())
    assert names(by_street) == ["Mira", "Arne", "Zoë"] and by_street.sort == "street"
    by_name = hq.list_households(db_session, staff, campaign, hq.HouseholdFilters(), sort="-name")
    assert names(by_name) == ["Zoë", "Mira", "Arne"]
    unknown = hq.list_households(db_session, staff, campaign, hq.HouseholdFilters(),
                                 sort="email; drop table")
    assert unknown.sort == "street"


def test_page_size_is_capped(db_session: Session, setup) -> None:  # type: ignore[no-untyped-def]
    staff, campaign = setup
    page = hq.list_households(db_session, staff, campaign, hq.HouseholdFilters(),
                              page_size=10_000)
    assert page.page_size == hq.MAX_PAGE_SIZE


def test_list_over_ten_thousand_households_takes_three_selects_and_is_fast(
    db_session: Session, setup  # type: ignore[no-untyped-def]
) -> None:
    staff, campaign = setup
    now = datetime.now(UTC)
    db_session.exec(insert(Household), params=[  # type: ignore[call-overload]
        {"campaign_id": campaign.id, "name": f"Bewoner {i}", "email": f"b{i}@example.be",
         "street": f"Straat {i % 40}", "house_number": str(i), "postcode": "8400",
         "address_key": f"straat {i % 40}|{i}||8400", "life_phase": "senior" if i % 3 else
         "starter", "source": "online", "created_at": now - timedelta(minutes=i),
         "updated_at": now, "share_contact_with_contractor": False}
        for i in range(10_000)
    ])
    selects: list[str] = []
    engine = db_session.get_bind()

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        page = hq.list_households(db_session, staff, campaign,
                                  hq.HouseholdFilters(life_phase="senior", q="Straat 1"),
                                  page=3, page_size=200)
        elapsed = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(page.items) == 200 and page.total > 600
    assert len(selects) == 3, selects  # count, page, the page's sign-ups
    assert "income_category" not in selects[1]  # only the needed columns
    assert elapsed < 2.0


def test_household_detail_is_scoped_and_audited(db_session: Session, setup) -> None:  # type: ignore[no-untyped-def]
    staff, campaign = setup
    household = make_household(db_session, campaign=campaign, name="Geheime Naam")
    offer = make_offer(db_session, campaign=campaign)
    make_participation(db_session, household=household, offer=offer)

    detail = hq.get_household_detail(db_session, staff, campaign, household.id, ip="1.2.3.4")  # type: ignore[arg-type]

    assert detail.participations[0].offer == offer
    assert [e.to_status for e in detail.participations[0].events] == ["registered"]
    logged = db_session.exec(select(AuditEvent)).one()
    assert (logged.action, logged.household_id, logged.ip) == ("household.view", household.id,
                                                               "1.2.3.4")
    other_campaign = make_campaign(db_session, organisation_id=staff.organisation_id)
    with pytest.raises(NotFound):
        hq.get_household_detail(db_session, staff, other_campaign, household.id)  # type: ignore[arg-type]
    intruder = principal_of(make_user(db_session))
    with pytest.raises(NotFound):
        hq.get_household_detail(db_session, intruder, campaign, household.id, ip="6.6.6.6")  # type: ignore[arg-type]
    denied = db_session.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert denied.organisation_id == campaign.organisation_id
    assert "Geheime" not in repr(denied)


def test_csv_export_has_bom_semicolons_labels_and_every_filtered_row(
    db_session: Session, setup  # type: ignore[no-untyped-def]
) -> None:
    staff, campaign = setup
    household = make_household(db_session, campaign=campaign, name="Jef Dewulf; jr.",
                               tenure="owner_occupier", phone="+32470123456")
    make_participation(db_session, household=household,
                       offer=make_offer(db_session, campaign=campaign))
    make_household(db_session, campaign=campaign, street="Andere straat")

    text = hq.export_households_csv(db_session, staff, campaign,
                                    hq.HouseholdFilters(street="torhoutsesteenweg"))

    lines = text.split("\r\n")
    assert text.startswith("\ufeffid;naam;")
    assert len([line for line in lines if line]) == 2
    assert '"Jef Dewulf; jr."' in lines[1] and "Eigenaar-bewoner" in lines[1]
    assert ";+32470123456;" in lines[1]  # a phone number is not mistaken for a formula
    assert "Gevelisolatie: Ingeschreven" in lines[1]
    assert db_session.exec(select(AuditEvent.action)).all() == ["household.export"]
