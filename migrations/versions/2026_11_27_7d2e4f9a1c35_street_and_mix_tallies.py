"""street and social-mix tallies for the dashboard

Issue 6, point 7: the dashboard over 100,000 households grouped every household twice (per
street, per social-mix answer) with a membership test in the signed-up households: 165 ms of
its 300. These tables hold those counts, kept exact by triggers:

- street_tally (campaign_id, street) and mix_tally (campaign_id, tenure, life_phase,
  budget_band, profile; an unanswered one as ''): `households` counts the households that are
  not erased, `signed_up` those among them whose household_progress row says signed_up.
- household: an insert adds the household, an update of its campaign, street, mix answers or
  erased_at moves it (removed under its old values, added under its new ones), and a delete
  removes it. The delete trigger runs BEFORE the delete, while the household's progress row
  is still there: the cascade that deletes that row runs before any AFTER trigger of the
  household (on both databases), and then the household is already gone.
- household_progress: a change of signed_up (insert, update, delete) moves the household's
  count between signed up and not, under the household's current values; a progress row of a
  household that is being deleted finds no household and leaves the tallies to the household's
  own trigger.

Row triggers on SQLite; statement triggers with transition tables on PostgreSQL (so a COPY or
a multi-row insert updates each tally row once, in key order), except the BEFORE DELETE one,
which PostgreSQL only has per row.

Revision ID: 7d2e4f9a1c35
Revises: 5c0a1e7d3b21
Create Date: 2026-11-27 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "7d2e4f9a1c35"
down_revision: str | None = "5c0a1e7d3b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIX = ["tenure", "life_phase", "budget_band", "profile"]
# Each tally: its table and its key columns (after campaign_id) as read from a household row.
TALLIES = {"street_tally": ["street"], "mix_tally": MIX}
WATCHED = ["campaign_id", "street", *MIX, "erased_at"]


def upgrade() -> None:
    _string = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "street_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("street", _string(length=200), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("signed_up", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_street_tally_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "street", name=op.f("pk_street_tally")),
    )
    op.create_table(
        "mix_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("tenure", _string(length=32), nullable=False),
        sa.Column("life_phase", _string(length=32), nullable=False),
        sa.Column("budget_band", _string(length=16), nullable=False),
        sa.Column("profile", _string(length=32), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("signed_up", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_mix_tally_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", *MIX, name=op.f("pk_mix_tally")),
    )
    signed = "CASE WHEN p.signed_up THEN 1 ELSE 0 END"
    for table, keys in TALLIES.items():
        keyed = ", ".join(f"coalesce(h.{key}, '')" for key in keys)
        op.execute(
            f"INSERT INTO {table} (campaign_id, {', '.join(keys)}, households, signed_up) "
            f"SELECT h.campaign_id, {keyed}, count(*), coalesce(sum({signed}), 0) "
            "FROM household h LEFT JOIN household_progress p ON p.household_id = h.id "
            f"WHERE h.erased_at IS NULL GROUP BY h.campaign_id, {keyed}"
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
    op.drop_table("mix_tally")
    op.drop_table("street_tally")


def _dialect() -> str:
    return op.get_context().dialect.name


TRIGGERS = [
    ("household", "tally_household_insert"),
    ("household", "tally_household_update"),
    ("household", "tally_household_delete"),
    ("household_progress", "tally_progress_insert"),
    ("household_progress", "tally_progress_update"),
    ("household_progress", "tally_progress_delete"),
]


# --- SQLite: row triggers ---------------------------------------------------------------------

def _sqlite_progress_of(household: str) -> str:
    return ("coalesce((SELECT p.signed_up FROM household_progress p "
            f"WHERE p.household_id = {household}), 0)")


def _sqlite_add(row: str, sign: str) -> str:
    """Add (sign '+') or remove (sign '-') the household `row` (NEW or OLD) in every tally."""
    return " ".join(
        f"INSERT INTO {table} (campaign_id, {', '.join(keys)}, households, signed_up) "
        f"SELECT {row}.campaign_id, "
        + ", ".join(f"coalesce({row}.{key}, '')" for key in keys)
        + f", {sign}1, {sign}{_sqlite_progress_of(row + '.id')} "
        f"WHERE {row}.erased_at IS NULL "
        f"ON CONFLICT (campaign_id, {', '.join(keys)}) DO UPDATE SET "
        "households = households + excluded.households, "
        "signed_up = signed_up + excluded.signed_up;"
        for table, keys in TALLIES.items()
    )


def _sqlite_signed(household: str, change: str) -> str:
    """Add `change` to the signed-up count under the household's current values."""
    return " ".join(
        f"INSERT INTO {table} (campaign_id, {', '.join(keys)}, households, signed_up) "
        "SELECT h.campaign_id, " + ", ".join(f"coalesce(h.{key}, '')" for key in keys)
        + f", 0, {change} FROM household h WHERE h.id = {household} AND h.erased_at IS NULL "
        f"ON CONFLICT (campaign_id, {', '.join(keys)}) DO UPDATE SET "
        "signed_up = signed_up + excluded.signed_up;"
        for table, keys in TALLIES.items()
    )


SQLITE_TRIGGERS = [
    "CREATE TRIGGER tally_household_insert AFTER INSERT ON household "
    f"BEGIN {_sqlite_add('NEW', '+')} END",
    f"CREATE TRIGGER tally_household_update AFTER UPDATE OF {', '.join(WATCHED)} ON household "
    f"BEGIN {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '+')} END",
    "CREATE TRIGGER tally_household_delete BEFORE DELETE ON household "
    f"BEGIN {_sqlite_add('OLD', '-')} END",
    "CREATE TRIGGER tally_progress_insert AFTER INSERT ON household_progress WHEN NEW.signed_up "
    f"BEGIN {_sqlite_signed('NEW.household_id', '1')} END",
    "CREATE TRIGGER tally_progress_update AFTER UPDATE OF signed_up ON household_progress "
    "WHEN NEW.signed_up <> OLD.signed_up "
    f"BEGIN {_sqlite_signed('NEW.household_id', 'NEW.signed_up - OLD.signed_up')} END",
    "CREATE TRIGGER tally_progress_delete AFTER DELETE ON household_progress WHEN OLD.signed_up "
    f"BEGIN {_sqlite_signed('OLD.household_id', '-1')} END",
]


# --- PostgreSQL: statement triggers with transition tables -------------------------------------

def _pg_upsert(table: str, keys: list[str], select: str, *, households: bool = True) -> str:
    """Upsert the grouped counts of `select` (columns: campaign_id, keys, households,
    signed_up) in key order."""
    key_list = ", ".join(["campaign_id", *keys])
    positions = ", ".join(str(position) for position in range(1, len(keys) + 2))
    households_set = "households = tally.households + EXCLUDED.households, " if households else ""
    return f"""
    INSERT INTO {table} AS tally ({key_list}, households, signed_up)
    {select}
    ORDER BY {positions}
    ON CONFLICT ({key_list}) DO UPDATE SET {households_set}
        signed_up = tally.signed_up + EXCLUDED.signed_up;"""


def _pg_rows(*parts: tuple[str, int]) -> str:
    """Every tally, with the households of each transition table added (+1) or removed (-1),
    netted per tally row first: an update that changes none of a household's watched values
    removes and adds it under the same key and so leaves that row alone. (No join between the
    two transition tables: the planner, knowing nothing of their size, would loop.)"""
    statements = []
    for table, keys in TALLIES.items():
        named = ", ".join(f"coalesce(r.{key}, '') AS k{index}" for index, key in enumerate(keys))
        counted = " UNION ALL ".join(
            f"SELECT r.campaign_id, {named}, {sign} AS households, "
            f"CASE WHEN p.signed_up THEN {sign} ELSE 0 END AS signed_up "
            f"FROM {rows} AS r LEFT JOIN household_progress p ON p.household_id = r.id "
            "WHERE r.erased_at IS NULL"
            for rows, sign in parts)
        key_columns = ", ".join(["campaign_id", *(f"k{index}" for index in range(len(keys)))])
        statements.append(_pg_upsert(table, keys, (
            f"SELECT {key_columns}, sum(households), sum(signed_up) FROM ({counted}) AS counted "
            f"GROUP BY {key_columns} HAVING sum(households) <> 0 OR sum(signed_up) <> 0")))
    return "".join(statements)


def _pg_signed(rows: str, change: str, where: str) -> str:
    """Add `change` (an aggregate over `rows`, aliased r) to the signed-up counts, under the
    current values of each household."""
    return "".join(
        _pg_upsert(table, keys, (
            "SELECT h.campaign_id, " + ", ".join(f"coalesce(h.{key}, '')" for key in keys)
            + f", 0, {change} FROM {rows} JOIN household h ON h.id = r.household_id "
            f"WHERE h.erased_at IS NULL AND {where} "
            "GROUP BY h.campaign_id, " + ", ".join(f"coalesce(h.{key}, '')" for key in keys)),
            households=False)
        for table, keys in TALLIES.items())


def _pg_function(name: str, body: str, returns: str = "NULL", *,
                 unless: str | None = None) -> str:
    """A trigger function; with `unless`, a cheap test that returns at once when it holds.
    A statement trigger runs for every statement, also one that changes nothing it counts
    (each status event's stage update, a household's new name): its full body cost 2.4 ms a
    statement there, the test 0.6 ms."""
    guard = f"\n    IF {unless} THEN\n        RETURN NULL;\n    END IF;" if unless else ""
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN{guard}"
            f"{body}\n    RETURN {returns};\nEND $$")


def _pg_same(columns: str) -> str:
    """True when the rows before and after an UPDATE agree on `columns` (which include a key):
    set differences both ways, hashed, never a join of the transition tables."""
    return (f"NOT EXISTS (SELECT {columns} FROM added EXCEPT SELECT {columns} FROM removed) "
            f"AND NOT EXISTS (SELECT {columns} FROM removed EXCEPT SELECT {columns} FROM added)")


def _pg_trigger(table: str, name: str, event: str, tables: str) -> str:
    return (f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def _pg_remove_old_row() -> str:
    """Row-level: the household being deleted (OLD), removed from every tally."""
    return "".join(f"""
    UPDATE {table} SET households = households - 1,
        signed_up = signed_up - coalesce((SELECT CASE WHEN p.signed_up THEN 1 ELSE 0 END
                                          FROM household_progress p
                                          WHERE p.household_id = OLD.id), 0)
    WHERE OLD.erased_at IS NULL AND campaign_id = OLD.campaign_id AND """
        + " AND ".join(f"{key} = coalesce(OLD.{key}, '')" for key in keys) + ";"
        for table, keys in TALLIES.items())


_NEW, _BOTH = "NEW TABLE AS added", "OLD TABLE AS removed NEW TABLE AS added"
_OLD = "OLD TABLE AS removed"
POSTGRESQL_TRIGGERS = [
    _pg_function("tally_household_insert", _pg_rows(("added", 1))),
    _pg_function("tally_household_update", _pg_rows(("removed", -1), ("added", 1)),
                 unless=_pg_same(", ".join(["id", *WATCHED]))),
    _pg_function("tally_household_delete", _pg_remove_old_row(), returns="OLD"),
    _pg_function("tally_progress_insert",
                 _pg_signed("added AS r", "count(*)", "r.signed_up"),
                 unless="NOT EXISTS (SELECT 1 FROM added WHERE signed_up)"),
    # Netted per household by aggregating both transition tables (a join of the two would be
    # planned as a nested loop: the stage updates of a bulk load touch every progress row).
    _pg_function("tally_progress_update", _pg_signed(
        "(SELECT household_id, sum(change) AS change FROM ("
        "SELECT household_id, CASE WHEN signed_up THEN 1 ELSE 0 END AS change FROM added "
        "UNION ALL SELECT household_id, CASE WHEN signed_up THEN -1 ELSE 0 END FROM removed"
        ") AS changes GROUP BY household_id HAVING sum(change) <> 0) AS r",
        "sum(r.change)", "TRUE"),
                 unless=_pg_same("household_id, signed_up")),
    _pg_function("tally_progress_delete",
                 _pg_signed("removed AS r", "-count(*)", "r.signed_up"),
                 unless="NOT EXISTS (SELECT 1 FROM removed WHERE signed_up)"),
    _pg_trigger("household", "tally_household_insert", "INSERT", _NEW),
    _pg_trigger("household", "tally_household_update", "UPDATE", _BOTH),
    "CREATE TRIGGER tally_household_delete BEFORE DELETE ON household "
    "FOR EACH ROW EXECUTE FUNCTION tally_household_delete()",
    _pg_trigger("household_progress", "tally_progress_insert", "INSERT", _NEW),
    _pg_trigger("household_progress", "tally_progress_update", "UPDATE", _BOTH),
    _pg_trigger("household_progress", "tally_progress_delete", "DELETE", _OLD),
]
