"""The staff household list and the dashboard stay cheap at scale (issue 6, point 7; the timings
are in bench/scale.py): on a few thousand households they read through the indexes of the
scale migration instead of scanning household, participation or interest, take a fixed number
of statements whatever the size, and the tallies the database keeps for them (klimaattafel
answers, each household's sign-up progress) stay exactly what counting the rows gives."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, text
from sqlmodel import Session, col, select

from app.models import (
    Campaign,
    Household,
    HouseholdProgress,
    Interest,
    InterestSubmission,
    InterestTally,
    MixTally,
    Offer,
    Participation,
    ParticipationEvent,
    StreetTally,
)
from app.models.enums import Horizon, Measure, ParticipationStatus, Role
from app.services import household_queries as hq
from app.services.auth import Principal
from app.services.interests import interest_summary
from app.services.stats import STAGE_RANKS, campaign_stats
from app.services.status_flow import SYSTEM, change_status
from tests import factories

STREETS = ["Kerkstraat", "Molenstraat", "Zeedijk", "Duinenweg", "Stationsstraat"]
STATUS_PATH = ["registered", "assigned", "visit_planned", "measured", "offered", "accepted",
               "scheduled", "in_progress", "completed"]


def staff_of(session: Session, campaign: Campaign) -> Principal:
    user = factories.make_user(session, organisation_id=campaign.organisation_id)
    return Principal(role=Role.staff, session_id=0, user_id=user.id,
                     organisation_id=campaign.organisation_id, email=user.email)


def _insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERT statements of up to 1,000 rows (a driver's executemany would send one
    statement per row, and PostgreSQL's statement triggers would then run once per row)."""
    for start in range(0, len(rows), 1000):
        session.execute(insert(model).values(rows[start:start + 1000]))


def build(session: Session, households: int, *, seed: int = 7) -> tuple[Campaign, list[Offer]]:
    """A wijk with `households` households (a few erased), a quarter signed up with a status
    history, and about five klimaattafel answers per household; bulk inserts, so the
    database's triggers see multi-row statements as in production."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    campaign = factories.make_campaign(session)
    offers = [factories.make_offer(session, campaign=campaign, measure=measure)
              for measure in ("facade_insulation", "heat_pump")]
    _insert_rows(session, Household, [
        {"campaign_id": campaign.id, "name": f"Bewoner {n}", "email": f"b{n}@example.be",
         "street": STREETS[n % len(STREETS)], "house_number": str(n // len(STREETS) + 1),
         "box": "", "postcode": "8400", "city": "Oostende",
         "address_key": None if n % 97 == 0 else f"{n}|8400",
         "tenure": rng.choice(["owner_occupier", "private_tenant", None]),
         "life_phase": rng.choice(["senior", "starter", "young_family"]),
         "budget_band": rng.choice(["lt_5k", "5k_15k"]), "profile": "can_and_will",
         "source": "online", "share_contact_with_contractor": False,
         "erased_at": now if n % 97 == 0 else None, "created_at": now - timedelta(minutes=n),
         "updated_at": now}
        for n in range(households)
    ])
    ids = list(session.exec(select(Household.id).where(Household.campaign_id == campaign.id)
                            .order_by(col(Household.id))))
    signed = rng.sample(ids, len(ids) // 4)
    _insert_rows(session, Participation, [
        {"household_id": household_id, "offer_id": offer.id, "measure": offer.measure,
         "status": rng.choice(STATUS_PATH + ["cancelled", "waitlisted"]), "quantity": 10.0,
         "created_at": now, "status_changed_at": now}
        for index, household_id in enumerate(signed)
        for offer in offers[:1 + index % 2]
    ])
    participations = session.exec(
        select(Participation.id, Participation.status)
        .join(Household, col(Household.id) == col(Participation.household_id))
        .where(Household.campaign_id == campaign.id)).all()
    _insert_rows(session, ParticipationEvent, [
        {"participation_id": participation_id, "to_status": step, "note": "",
         "actor_kind": "system", "created_at": now}
        for participation_id, status in participations
        for step in (STATUS_PATH[:STATUS_PATH.index(status) + 1] if status in STATUS_PATH
                     else ["registered", status])
    ])
    _insert_rows(session, InterestSubmission, [
        {"campaign_id": campaign.id, "household_id": household_id if n % 5 else None,
         "postcode": "8400", "street": "Kerkstraat", "created_at": now}
        for n, household_id in enumerate(ids)
    ])
    submissions = session.exec(select(InterestSubmission.id).where(
        InterestSubmission.campaign_id == campaign.id)).all()
    _insert_rows(session, Interest, [
        {"submission_id": submission_id, "campaign_id": campaign.id, "measure": measure,
         "horizon": rng.choice(list(Horizon))}
        for submission_id in submissions
        for measure in rng.sample(list(Measure), 5)
    ])
    session.flush()
    return campaign, offers


@contextmanager
def statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (with its parameters) the session sends inside the block."""
    seen: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reads(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(sql, params) for sql, params in seen
            if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def plan(session: Session, sql: str, params: Any) -> str:
    """The query plan, one line per step. On PostgreSQL with sequential scans disabled: a
    small table would be scanned anyway, so this shows whether an index *can* serve the query
    (a `Seq Scan` left over means none does)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        return "\n".join(row[3] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + sql, params).all()
    return "\n".join(row[0] for row in rows)


def full_scans(text_of_plan: str, tables: tuple[str, ...]) -> list[str]:
    """The plan's steps that read a whole table: `SCAN t` (also `SCAN t USING [COVERING]
    INDEX i`, all of an index) on SQLite, `Seq Scan on t` on PostgreSQL."""
    found = []
    for line in text_of_plan.splitlines():
        step = line.strip().lstrip("->").strip()
        for table in tables:
            if step == f"SCAN {table}" or step.startswith((f"SCAN {table} ",
                                                           f"Seq Scan on {table} ")):
                found.append(step)
    return found


TABLES = ("household", "participation", "participation_event", "interest")


def test_filtered_household_list_reads_through_indexes_in_three_selects(
    db_session: Session
) -> None:
    campaign, _offers = build(db_session, 2_000)
    staff = staff_of(db_session, campaign)
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"life_phase": "senior", "tenure": "owner_occupier"}, "street", 3),
        ({}, "street", 1),
        ({"measure": "heat_pump", "status": "registered"}, "-street", 2),
        ({"street": "kerkstraat", "budget_band": "lt_5k"}, "name", 1),
        ({}, "-created_at", 2),
    ]
    for filters, sort, page in cases:
        with statements(db_session) as seen:
            result = hq.list_households(db_session, staff, campaign,
                                        hq.HouseholdFilters(**filters), sort=sort, page=page,
                                        page_size=10)
        assert result.items, filters
        selects = reads(seen)
        assert len(selects) == 3, [sql for sql, _ in selects]  # count, page, its sign-ups
        assert "income_category" not in selects[1][0]  # only the columns a row shows
        for sql, params in selects:
            steps = plan(db_session, sql, params)
            assert not full_scans(steps, TABLES), (filters, sort, sql, steps)
        # The count and the page read one of the partial indexes of the households that are
        # not erased; on SQLite (no statistics, so a fixed choice) the page comes in the
        # list's own order, with no sort of the households, and the count from the index alone.
        count_plan, page_plan = plan(db_session, *selects[0]), plan(db_session, *selects[1])
        assert "ix_household_campaign_live_" in count_plan + page_plan, (count_plan, page_plan)
        if db_session.get_bind().dialect.name == "sqlite":
            assert "ix_household_campaign_live_" in page_plan, page_plan
            if not filters.get("measure"):
                assert "TEMP B-TREE FOR ORDER BY" not in page_plan, page_plan
            assert "COVERING INDEX ix_household_campaign_live_" in count_plan or \
                "participation_measure_status" in count_plan, count_plan


def test_text_search_counts_from_an_index_and_stays_case_insensitive(db_session: Session) -> None:
    campaign, _offers = build(db_session, 300)
    staff = staff_of(db_session, campaign)
    factories.make_household(db_session, campaign=campaign, name="Jef PEETERS")
    with statements(db_session) as seen:
        result = hq.list_households(db_session, staff, campaign, hq.HouseholdFilters(q="peeters"))
    assert [row.name for row in result.items] == ["Jef PEETERS"]
    count_sql, params = reads(seen)[0]
    assert not full_scans(plan(db_session, count_sql, params), TABLES)


def test_the_dashboard_takes_the_same_statements_at_any_size_and_never_counts_answers(
    db_session: Session
) -> None:
    small, _ = build(db_session, 40, seed=1)
    with statements(db_session) as few:
        campaign_stats(db_session, small)
    large, _ = build(db_session, 2_000, seed=2)
    with statements(db_session) as many:
        stats = campaign_stats(db_session, large)
    # Households, loose submissions, the funnel, the street and mix tallies, the klimaattafel
    # tally, offers, LEKP.
    assert len(many) == len(few) == 8, [sql for sql, _ in many]
    assert stats.funnel[0]["count"] > 2_000 and stats.klimaattafel
    for sql, params in many:
        assert " interest " not in f" {sql} ".replace("\n", " ").replace(",", " "), sql
        steps = plan(db_session, sql, params)
        assert not full_scans(steps, TABLES), (sql, steps)


def test_the_partial_and_expression_indexes_exist_as_declared(db_session: Session) -> None:
    """Alembic compares neither an index's WHERE clause nor (on SQLite) an expression index,
    so the harness' models-versus-migrations test cannot see them: check the schema itself."""
    connection = db_session.connection()
    if connection.dialect.name == "sqlite":
        definitions = dict(connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'household'"
        ).all())
    else:
        definitions = dict(connection.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'household'").all())
    def bare(name: str) -> str:
        return definitions[name].replace("(", "").replace(")", "").replace("::text", "")

    for name in ("ix_household_campaign_live_street", "ix_household_campaign_live_name",
                 "ix_household_campaign_live_created", "ix_household_campaign_live_filters"):
        assert "WHERE erased_at IS NULL" in bare(name), name
    assert "street, lengthhouse_number, house_number, box, id" in bare(
        "ix_household_campaign_live_street")


def expected_tally(session: Session) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.exec(
        select(Interest.campaign_id, Interest.measure, Interest.horizon, func.count())
        .group_by(col(Interest.campaign_id), col(Interest.measure), col(Interest.horizon))
        .order_by(col(Interest.campaign_id), col(Interest.measure), col(Interest.horizon))
    ).all()]


def kept_tally(session: Session) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.exec(
        select(InterestTally.campaign_id, InterestTally.measure, InterestTally.horizon,
               InterestTally.answers)
        .where(col(InterestTally.answers) > 0)
        .order_by(col(InterestTally.campaign_id), col(InterestTally.measure),
                  col(InterestTally.horizon))
    ).all()]


def test_the_klimaattafel_tally_is_what_counting_the_answers_gives(db_session: Session) -> None:
    campaign, _offers = build(db_session, 200)
    assert kept_tally(db_session) == expected_tally(db_session)
    first = db_session.exec(select(InterestSubmission.id).where(
        InterestSubmission.campaign_id == campaign.id)).first()
    db_session.execute(delete(InterestSubmission).where(
        col(InterestSubmission.id) == first))  # its answers go with it
    db_session.execute(text("UPDATE interest SET horizon = 'no' WHERE horizon = '1y' "
                            "AND submission_id IN (SELECT min(id) FROM interest_submission)"))
    db_session.flush()
    assert kept_tally(db_session) == expected_tally(db_session)
    public = {(cell.measure, cell.horizon): cell.count for cell in
              interest_summary(db_session, campaign)}
    counted = {(measure, horizon): count for campaign_id, measure, horizon, count
               in expected_tally(db_session) if campaign_id == campaign.id}
    assert public == {key: (count if count >= 5 else None)
                      for key, count in ((key, counted.get(key, 0)) for key in public)}


def expected_progress(session: Session) -> list[tuple[int, int, bool, int]]:
    """Each household with a sign-up, recomputed in Python from its sign-ups and their
    history with stats.STAGE_RANKS."""
    households: dict[int, list[Any]] = {}
    rows = session.exec(
        select(Participation.household_id, Household.campaign_id, Participation.status,
               ParticipationEvent.to_status)
        .join(Household, col(Household.id) == col(Participation.household_id))
        .outerjoin(ParticipationEvent,
                   col(ParticipationEvent.participation_id) == col(Participation.id))
    ).all()
    for household_id, campaign_id, status, to_status in rows:
        entry = households.setdefault(household_id, [campaign_id, False, 0])
        entry[1] = entry[1] or status != ParticipationStatus.cancelled
        entry[2] = max(entry[2], STAGE_RANKS.get(to_status, 0) if to_status else 0)
    return sorted((household_id, campaign_id, signed, stage)
                  for household_id, (campaign_id, signed, stage) in households.items())


def kept_progress(session: Session) -> list[tuple[int, int, bool, int]]:
    return [(row.household_id, row.campaign_id, bool(row.signed_up), row.stage)
            for row in session.exec(select(HouseholdProgress)
                                    .order_by(col(HouseholdProgress.household_id))).all()]


def test_household_progress_follows_every_kind_of_change(db_session: Session) -> None:
    campaign, offers = build(db_session, 120)

    def check() -> None:
        db_session.flush()
        db_session.expire_all()
        assert kept_progress(db_session) == expected_progress(db_session)

    check()
    household = factories.make_household(db_session, campaign=campaign)
    participation = factories.make_participation(db_session, household=household,
                                                 offer=offers[0])
    check()
    for step in STATUS_PATH[1:6]:  # the real status flow, one event per step
        change_status(db_session, participation, step, actor=SYSTEM)
        check()
    change_status(db_session, participation, "cancelled", actor=SYSTEM, note="verhuisd")
    check()  # cancelled: no longer signed up, the stage it reached stays
    second = factories.make_participation(db_session, household=household, offer=offers[1],
                                          status="waitlisted")
    check()
    db_session.delete(second)
    check()
    other = factories.make_household(db_session, campaign=campaign)
    db_session.execute(text("UPDATE participation SET household_id = :other WHERE id = :id"),
                       {"other": other.id, "id": participation.id})
    check()
    db_session.execute(text("DELETE FROM participation_event WHERE participation_id = :id "
                            "AND to_status IN ('offered', 'accepted')"),
                       {"id": participation.id})
    check()
    db_session.delete(other)  # its sign-ups and their history go with it
    check()


def expected_tallies(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Per (campaign, street) and per (campaign, mix answers): the households that are not
    erased and the signed-up ones among them, counted in Python from the rows."""
    signed = {household_id for household_id, is_signed in session.exec(
        select(HouseholdProgress.household_id, HouseholdProgress.signed_up)).all() if is_signed}
    streets: dict[tuple[Any, ...], list[int]] = {}
    mixes: dict[tuple[Any, ...], list[int]] = {}
    for household in session.exec(select(Household).where(
            col(Household.erased_at).is_(None))).all():
        joined = int(household.id in signed)
        for table, key in ((streets, (household.campaign_id, household.street)),
                           (mixes, (household.campaign_id, household.tenure or "",
                                    household.life_phase or "", household.budget_band or "",
                                    household.profile or ""))):
            counts = table.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += joined
    return (sorted((*key, *counts) for key, counts in streets.items()),
            sorted((*key, *counts) for key, counts in mixes.items()))


def kept_tallies(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The tally rows the triggers keep, leaving out rows that dropped to nothing."""
    streets = session.exec(select(StreetTally).where(col(StreetTally.households) != 0)).all()
    mixes = session.exec(select(MixTally).where(col(MixTally.households) != 0)).all()
    assert all(row.households == 0 and row.signed_up == 0 for row in session.exec(
        select(StreetTally).where(col(StreetTally.households) == 0)).all())
    return (sorted((row.campaign_id, row.street, row.households, row.signed_up)
                   for row in streets),
            sorted((row.campaign_id, row.tenure, row.life_phase, row.budget_band, row.profile,
                    row.households, row.signed_up) for row in mixes))


def test_street_and_mix_tallies_follow_every_kind_of_change(db_session: Session) -> None:
    campaign, offers = build(db_session, 150)

    def check() -> None:
        db_session.flush()
        db_session.expire_all()
        assert kept_tallies(db_session) == expected_tallies(db_session)

    check()  # the bulk insert (one statement for 150 households)
    household = factories.make_household(db_session, campaign=campaign, street="Zeedijk",
                                         tenure=None)
    check()
    participation = factories.make_participation(db_session, household=household,
                                                 offer=offers[0])
    check()  # signed up
    change_status(db_session, participation, "cancelled", actor=SYSTEM, note="verhuisd")
    check()  # no longer signed up
    again = factories.make_participation(db_session, household=household, offer=offers[1],
                                         status="waitlisted")
    check()  # waitlisted counts as signed up
    household.street = "Nieuwe Straat"
    household.tenure = "owner_occupier"
    db_session.add(household)
    check()  # moved: out of the old street and mix, with its sign-up, into the new ones
    db_session.execute(text("UPDATE household SET life_phase = 'senior', budget_band = NULL "
                            "WHERE campaign_id = :campaign AND id % 3 = 0"),
                       {"campaign": campaign.id})
    check()  # a multi-row update
    db_session.delete(again)
    check()  # its last live sign-up gone: its progress row goes too
    signed_up = db_session.exec(select(HouseholdProgress.household_id).where(
        HouseholdProgress.signed_up == True)).first()  # noqa: E712
    erased = db_session.get(Household, signed_up)
    assert erased is not None
    erased.erased_at = datetime.now(UTC)
    db_session.add(erased)
    check()  # erased: no longer counted at all
    deleted = db_session.exec(select(HouseholdProgress.household_id).where(
        HouseholdProgress.signed_up == True,  # noqa: E712
        HouseholdProgress.household_id != signed_up)).first()
    db_session.execute(delete(Household).where(col(Household.id) == deleted))
    check()  # deleted with its sign-ups and progress (the cascade runs before AFTER triggers)
    other = factories.make_campaign(db_session)
    db_session.execute(text("UPDATE household SET campaign_id = :other WHERE id = :id"),
                       {"other": other.id, "id": household.id})
    check()


def test_the_dashboard_reads_street_and_mix_counts_from_the_tallies(db_session: Session) -> None:
    campaign, _offers = build(db_session, 150)
    stats = campaign_stats(db_session, campaign)
    streets, mixes = expected_tallies(db_session)
    assert [(row["street"], row["households"], row["signed_up"]) for row in stats.streets] == [
        (street, every, joined) for campaign_id, street, every, joined in streets
        if campaign_id == campaign.id]
    tenure = {row["value"]: (row["all"], row["signed_up"]) for row in stats.mix["tenure"]}
    expected: dict[Any, list[int]] = {}
    for campaign_id, value, _phase, _band, _profile, every, joined in mixes:
        if campaign_id == campaign.id:
            counts = expected.setdefault(value or None, [0, 0])
            counts[0] += every
            counts[1] += joined
    assert tenure == {value: tuple(counts) for value, counts in expected.items()}


@pytest.mark.parametrize("status", [status.value for status in ParticipationStatus])
def test_the_migration_ranks_each_status_as_the_dashboard_does(
    db_session: Session, status: str
) -> None:
    household = factories.make_household(db_session)
    factories.make_participation(db_session, household=household, status=status)
    progress = db_session.get(HouseholdProgress, household.id)
    assert progress is not None
    assert progress.stage == STAGE_RANKS[status]
    assert progress.signed_up is (status != "cancelled")


def test_another_organisations_wijk_changes_nothing_in_the_dashboard_or_the_list(
    db_session: Session
) -> None:
    mine, _ = build(db_session, 150, seed=3)
    staff = staff_of(db_session, mine)

    def seen() -> tuple[Any, ...]:
        listed = hq.list_households(db_session, staff, mine, hq.HouseholdFilters(),
                                    page_size=200)
        return campaign_stats(db_session, mine).as_json(), listed.total, listed.items

    before = seen()
    build(db_session, 150, seed=4)  # a wijk of a new organisation, with the same kinds of rows
    assert seen() == before
    stats = before[0]
    assert stats["lekp"]["dwellings"] == 150
    assert sum(row["households"] for row in stats["streets"]) == before[1]
    assert sum(row["count"] for row in stats["klimaattafel"]) == db_session.exec(
        select(func.count()).select_from(Interest).where(Interest.campaign_id == mine.id)).one()
