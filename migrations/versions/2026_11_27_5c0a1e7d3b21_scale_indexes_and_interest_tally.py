"""scale indexes, interest tally and household progress

Issue 6, point 7: the staff household list and the dashboard over 100,000 households and
1,000,000 klimaattafel answers in one organisation.

- household: partial indexes over the households that are not erased (`erased_at IS NULL`),
  starting with campaign_id, in the order of the list's sorts (street with the length of the
  house number, name, sign-up date) and one holding every column the list filters on
  (filtered counts, the text search, the social mix); they replace
  ix_household_campaign_street.
- participation: (household_id, status, measure) replaces ix_participation_household_id;
  (measure, status, household_id) for the list's sign-up filters.
- participation_event: (participation_id, to_status) replaces the single-column index.
- interest_submission: (campaign_id, household_id) replaces ix_interest_submission_campaign_id.
- interest_tally: the number of `interest` rows per (campaign, measure, horizon), filled from
  the existing rows and kept exact by triggers on `interest`.
- household_progress: per household with a sign-up, whether one is not cancelled and the
  furthest funnel stage its status history reached (the ranks of stats.FUNNEL_STAGES are
  written out below: a change to the stages needs a migration that recreates the triggers and
  recomputes the table), filled from the existing rows and kept exact by triggers on
  participation, participation_event and household.

Triggers are row triggers on SQLite and statement triggers with transition tables on
PostgreSQL (a bulk insert or COPY updates each tally row once, locking rows in key order). A
later SQLite batch migration that recreates one of these tables must recreate its triggers.

Revision ID: 5c0a1e7d3b21
Revises: 9151ead02b92
Create Date: 2026-11-27 11:31:36.349650
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "5c0a1e7d3b21"
down_revision: str | None = "9151ead02b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Partial: over the households that are not erased (what the staff list and dashboard read);
# erased_at is the last column so that SQLite can read them without the table.
LIVE_INDEXES = [
    # The list's default order: street, shorter house numbers first, number, box, id.
    ("household", "ix_household_campaign_live_street",
     ["campaign_id", "street", sa.text("length(house_number)"), "house_number", "box", "id",
      "erased_at"]),
    ("household", "ix_household_campaign_live_name", ["campaign_id", "name", "id", "erased_at"]),
    ("household", "ix_household_campaign_live_created",
     ["campaign_id", "created_at", "id", "erased_at"]),
    # Every column the list filters on: filtered counts, the text search, the social mix.
    ("household", "ix_household_campaign_live_filters",
     ["campaign_id", "tenure", "life_phase", "budget_band", "profile", "street", "name", "email",
      "erased_at"]),
]
NEW_INDEXES = [
    ("participation", "ix_participation_household_status",
     ["household_id", "status", "measure"]),
    ("participation", "ix_participation_measure_status", ["measure", "status", "household_id"]),
    ("participation_event", "ix_participation_event_participation_status",
     ["participation_id", "to_status"]),
    ("interest_submission", "ix_interest_submission_campaign_household",
     ["campaign_id", "household_id"]),
]
# Made redundant by the ones above.
OLD_INDEXES = [
    ("household", "ix_household_campaign_street", ["campaign_id", "street", "house_number"]),
    ("participation", "ix_participation_household_id", ["household_id"]),
    ("participation_event", "ix_participation_event_participation_id", ["participation_id"]),
    ("interest_submission", "ix_interest_submission_campaign_id", ["campaign_id"]),
]


def upgrade() -> None:
    op.create_table(
        "interest_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("horizon", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_interest_tally_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "measure", "horizon",
                                name=op.f("pk_interest_tally")),
    )
    op.create_table(
        "household_progress",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signed_up", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_household_progress_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_household_progress_household_id_household"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_progress")),
    )
    with op.batch_alter_table("household_progress", schema=None) as batch_op:
        batch_op.create_index("ix_household_progress_campaign",
                              ["campaign_id", "signed_up", "stage", "household_id"],
                              unique=False)
    live = sa.text("erased_at IS NULL")
    for table, name, columns in LIVE_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False, sqlite_where=live,
                                  postgresql_where=live)
    for table, name, columns in NEW_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in OLD_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(name))
    op.execute(
        "INSERT INTO interest_tally (campaign_id, measure, horizon, answers) "
        "SELECT campaign_id, measure, horizon, count(*) FROM interest "
        "GROUP BY campaign_id, measure, horizon"
    )
    op.execute(
        "INSERT INTO household_progress (household_id, campaign_id, signed_up, stage) "
        "SELECT h.id, h.campaign_id, "
        "max(CASE WHEN p.status <> 'cancelled' THEN 1 ELSE 0 END) = 1, "
        f"coalesce(max({_rank('e.to_status')}), 0) "
        "FROM household h JOIN participation p ON p.household_id = h.id "
        "LEFT JOIN participation_event e ON e.participation_id = p.id "
        "GROUP BY h.id, h.campaign_id"
    )
    statements = POSTGRESQL_TRIGGERS if _dialect() == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table, trigger in TRIGGERS:
        if _dialect() == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS household_progress_recompute(integer[])")
    for table, name, columns in OLD_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(name), columns, unique=False)
    for table, name, _columns in LIVE_INDEXES + NEW_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table("household_progress")
    op.drop_table("interest_tally")


def _dialect() -> str:
    return op.get_context().dialect.name


# stats.FUNNEL_STAGES as ranks: how many stages a status shows were reached (their status sets
# are nested). Frozen here on purpose; tests/test_scale_queries.py checks they still agree.
STAGE_RANKS = {"assigned": 1, "visit_planned": 2, "measured": 2, "offered": 3, "declined": 3,
               "accepted": 4, "scheduled": 4, "in_progress": 4, "completed": 5}


def _rank(column: str) -> str:
    cases = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STAGE_RANKS.items())
    return f"(CASE {column} {cases} ELSE 0 END)"


TRIGGERS = [
    ("interest", "interest_tally_insert"),
    ("interest", "interest_tally_delete"),
    ("interest", "interest_tally_update"),
    ("participation", "household_progress_participation_insert"),
    ("participation", "household_progress_participation_update"),
    ("participation", "household_progress_participation_delete"),
    ("participation_event", "household_progress_event_insert"),
    ("participation_event", "household_progress_event_update"),
    ("participation_event", "household_progress_event_delete"),
    ("household", "household_progress_household_update"),
]

# --- SQLite: row triggers ---------------------------------------------------------------------

_SQLITE_TALLY_ADD = (
    "INSERT INTO interest_tally (campaign_id, measure, horizon, answers) "
    "VALUES (NEW.campaign_id, NEW.measure, NEW.horizon, 1) "
    "ON CONFLICT (campaign_id, measure, horizon) DO UPDATE SET answers = answers + 1;"
)
_SQLITE_TALLY_REMOVE = (
    "UPDATE interest_tally SET answers = answers - 1 WHERE campaign_id = OLD.campaign_id "
    "AND measure = OLD.measure AND horizon = OLD.horizon;"
)


def _sqlite_recompute(household: str) -> str:
    """Statements that bring one household's progress row in line with its sign-ups."""
    return (
        f"DELETE FROM household_progress WHERE household_id = {household} "
        f"AND NOT EXISTS (SELECT 1 FROM participation WHERE household_id = {household}); "
        "INSERT INTO household_progress (household_id, campaign_id, signed_up, stage) "
        "SELECT h.id, h.campaign_id, EXISTS (SELECT 1 FROM participation p "
        "WHERE p.household_id = h.id AND p.status <> 'cancelled'), "
        f"coalesce((SELECT max({_rank('e.to_status')}) FROM participation p "
        "JOIN participation_event e ON e.participation_id = p.id "
        "WHERE p.household_id = h.id), 0) "
        f"FROM household h WHERE h.id = {household} "
        f"AND EXISTS (SELECT 1 FROM participation WHERE household_id = {household}) "
        "ON CONFLICT (household_id) DO UPDATE SET campaign_id = excluded.campaign_id, "
        "signed_up = excluded.signed_up, stage = excluded.stage;"
    )


def _household_of(participation: str) -> str:
    return f"(SELECT household_id FROM participation WHERE id = {participation})"


SQLITE_TRIGGERS = [
    "CREATE TRIGGER interest_tally_insert AFTER INSERT ON interest "
    f"BEGIN {_SQLITE_TALLY_ADD} END",
    "CREATE TRIGGER interest_tally_delete AFTER DELETE ON interest "
    f"BEGIN {_SQLITE_TALLY_REMOVE} END",
    "CREATE TRIGGER interest_tally_update AFTER UPDATE OF campaign_id, measure, horizon "
    f"ON interest BEGIN {_SQLITE_TALLY_REMOVE} {_SQLITE_TALLY_ADD} END",
    "CREATE TRIGGER household_progress_participation_insert AFTER INSERT ON participation "
    "BEGIN INSERT INTO household_progress (household_id, campaign_id, signed_up, stage) "
    "SELECT h.id, h.campaign_id, NEW.status <> 'cancelled', 0 FROM household h "
    "WHERE h.id = NEW.household_id ON CONFLICT (household_id) "
    "DO UPDATE SET signed_up = max(signed_up, excluded.signed_up); END",
    "CREATE TRIGGER household_progress_participation_update "
    "AFTER UPDATE OF status, household_id ON participation "
    f"BEGIN {_sqlite_recompute('OLD.household_id')} "
    f"{_sqlite_recompute('NEW.household_id')} END",
    "CREATE TRIGGER household_progress_participation_delete AFTER DELETE ON participation "
    f"BEGIN {_sqlite_recompute('OLD.household_id')} END",
    "CREATE TRIGGER household_progress_event_insert AFTER INSERT ON participation_event "
    f"BEGIN UPDATE household_progress SET stage = max(stage, {_rank('NEW.to_status')}) "
    f"WHERE household_id = {_household_of('NEW.participation_id')}; END",
    "CREATE TRIGGER household_progress_event_update "
    "AFTER UPDATE OF to_status, participation_id ON participation_event "
    f"BEGIN {_sqlite_recompute(_household_of('OLD.participation_id'))} "
    f"{_sqlite_recompute(_household_of('NEW.participation_id'))} END",
    "CREATE TRIGGER household_progress_event_delete AFTER DELETE ON participation_event "
    f"BEGIN {_sqlite_recompute(_household_of('OLD.participation_id'))} END",
    "CREATE TRIGGER household_progress_household_update AFTER UPDATE OF campaign_id "
    "ON household BEGIN UPDATE household_progress SET campaign_id = NEW.campaign_id "
    "WHERE household_id = NEW.id; END",
]

# --- PostgreSQL: statement triggers with transition tables -------------------------------------

# Added rows are upserted in key order (concurrent submissions lock tally rows in one order);
# removed rows only ever decrement (a campaign being deleted takes its tally rows with it).
_PG_TALLY_ADD = """
    INSERT INTO interest_tally AS tally (campaign_id, measure, horizon, answers)
    SELECT campaign_id, measure, horizon, count(*) FROM added
    GROUP BY campaign_id, measure, horizon ORDER BY campaign_id, measure, horizon
    ON CONFLICT (campaign_id, measure, horizon)
    DO UPDATE SET answers = tally.answers + EXCLUDED.answers;"""
_PG_TALLY_REMOVE = """
    UPDATE interest_tally AS tally SET answers = tally.answers - gone.answers
    FROM (SELECT campaign_id, measure, horizon, count(*) AS answers FROM removed
          GROUP BY campaign_id, measure, horizon) AS gone
    WHERE tally.campaign_id = gone.campaign_id AND tally.measure = gone.measure
      AND tally.horizon = gone.horizon;"""


def _pg_function(name: str, body: str) -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN{body}\n"
            "    RETURN NULL;\nEND $$")


def _pg_trigger(table: str, name: str, event: str, tables: str) -> str:
    return (f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


_PG_RECOMPUTE = f"""
CREATE FUNCTION household_progress_recompute(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM household_progress WHERE household_id = ANY (ids)
        ORDER BY household_id FOR UPDATE;
    DELETE FROM household_progress AS progress WHERE progress.household_id = ANY (ids)
        AND NOT EXISTS (SELECT 1 FROM participation p
                        WHERE p.household_id = progress.household_id);
    INSERT INTO household_progress AS progress (household_id, campaign_id, signed_up, stage)
    SELECT h.id, h.campaign_id,
           EXISTS (SELECT 1 FROM participation p
                   WHERE p.household_id = h.id AND p.status <> 'cancelled'),
           coalesce((SELECT max({_rank('e.to_status')}) FROM participation p
                     JOIN participation_event e ON e.participation_id = p.id
                     WHERE p.household_id = h.id), 0)
    FROM household h
    WHERE h.id = ANY (ids) AND EXISTS (SELECT 1 FROM participation p WHERE p.household_id = h.id)
    ORDER BY h.id
    ON CONFLICT (household_id) DO UPDATE SET campaign_id = EXCLUDED.campaign_id,
        signed_up = EXCLUDED.signed_up, stage = EXCLUDED.stage;
END $$"""

_PG_PARTICIPATION_INSERT = """
    INSERT INTO household_progress AS progress (household_id, campaign_id, signed_up, stage)
    SELECT h.id, h.campaign_id, bool_or(added.status <> 'cancelled'), 0
    FROM added JOIN household h ON h.id = added.household_id
    GROUP BY h.id, h.campaign_id ORDER BY h.id
    ON CONFLICT (household_id)
    DO UPDATE SET signed_up = progress.signed_up OR EXCLUDED.signed_up;"""
_PG_PARTICIPATION_UPDATE = """
    PERFORM household_progress_recompute(ARRAY(
        SELECT prior.household_id FROM removed AS prior JOIN added AS later ON later.id = prior.id
        WHERE prior.status IS DISTINCT FROM later.status
           OR prior.household_id <> later.household_id
        UNION
        SELECT later.household_id FROM removed AS prior JOIN added AS later ON later.id = prior.id
        WHERE prior.status IS DISTINCT FROM later.status
           OR prior.household_id <> later.household_id));"""
_PG_PARTICIPATION_DELETE = """
    PERFORM household_progress_recompute(ARRAY(SELECT DISTINCT household_id FROM removed));"""
_PG_EVENT_INSERT = f"""
    PERFORM 1 FROM household_progress WHERE household_id IN (
        SELECT p.household_id FROM added JOIN participation p ON p.id = added.participation_id
        WHERE {_rank('added.to_status')} > 0)
    ORDER BY household_id FOR UPDATE;
    UPDATE household_progress AS progress SET stage = reached.stage
    FROM (SELECT p.household_id, max({_rank('added.to_status')}) AS stage
          FROM added JOIN participation p ON p.id = added.participation_id
          GROUP BY p.household_id) AS reached
    WHERE progress.household_id = reached.household_id AND reached.stage > progress.stage;"""
_PG_EVENT_UPDATE = """
    PERFORM household_progress_recompute(ARRAY(
        SELECT p.household_id FROM removed AS prior JOIN added AS later ON later.id = prior.id
        JOIN participation p ON p.id IN (prior.participation_id, later.participation_id)
        WHERE prior.to_status IS DISTINCT FROM later.to_status
           OR prior.participation_id <> later.participation_id));"""
_PG_EVENT_DELETE = """
    PERFORM household_progress_recompute(ARRAY(
        SELECT DISTINCT p.household_id FROM removed
        JOIN participation p ON p.id = removed.participation_id));"""
_PG_HOUSEHOLD_UPDATE = """
    UPDATE household_progress AS progress SET campaign_id = later.campaign_id
    FROM added AS later JOIN removed AS prior ON prior.id = later.id
    WHERE progress.household_id = later.id AND prior.campaign_id <> later.campaign_id;"""

_NEW, _OLD, _BOTH = "NEW TABLE AS added", "OLD TABLE AS removed", \
    "OLD TABLE AS removed NEW TABLE AS added"
POSTGRESQL_TRIGGERS = [
    _pg_function("interest_tally_insert", _PG_TALLY_ADD),
    _pg_function("interest_tally_delete", _PG_TALLY_REMOVE),
    _pg_function("interest_tally_update", _PG_TALLY_REMOVE + _PG_TALLY_ADD),
    _pg_trigger("interest", "interest_tally_insert", "INSERT", _NEW),
    _pg_trigger("interest", "interest_tally_delete", "DELETE", _OLD),
    _pg_trigger("interest", "interest_tally_update", "UPDATE", _BOTH),
    _PG_RECOMPUTE,
    _pg_function("household_progress_participation_insert", _PG_PARTICIPATION_INSERT),
    _pg_function("household_progress_participation_update", _PG_PARTICIPATION_UPDATE),
    _pg_function("household_progress_participation_delete", _PG_PARTICIPATION_DELETE),
    _pg_function("household_progress_event_insert", _PG_EVENT_INSERT),
    _pg_function("household_progress_event_update", _PG_EVENT_UPDATE),
    _pg_function("household_progress_event_delete", _PG_EVENT_DELETE),
    _pg_function("household_progress_household_update", _PG_HOUSEHOLD_UPDATE),
    _pg_trigger("participation", "household_progress_participation_insert", "INSERT", _NEW),
    _pg_trigger("participation", "household_progress_participation_update", "UPDATE", _BOTH),
    _pg_trigger("participation", "household_progress_participation_delete", "DELETE", _OLD),
    _pg_trigger("participation_event", "household_progress_event_insert", "INSERT", _NEW),
    _pg_trigger("participation_event", "household_progress_event_update", "UPDATE", _BOTH),
    _pg_trigger("participation_event", "household_progress_event_delete", "DELETE", _OLD),
    _pg_trigger("household", "household_progress_household_update", "UPDATE", _BOTH),
]
