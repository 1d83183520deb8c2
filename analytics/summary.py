"""Derived tables: what the pages read instead of scanning the raw ledger and status history.

`refresh` rebuilds them from the base tables (after an import, or after plain SQL writes) and
records a fingerprint of the base tables. A metric asks `relation(con, name)`: the stored table
when its fingerprint still matches, otherwise the same query inline, so a stale summary can make
a page slower but never wrong.
"""

import datetime as dt
import hashlib
import json

import duckdb

from . import db, settings

# One row per grid and month: the net points of the grid's registered residents.
def grid_month_credit(where: str = "true") -> str:
    return f"""
    SELECT p.grid_id, date_trunc('month', e.occurred_at)::DATE AS month,
           sum(e.points)::DOUBLE AS points,
           coalesce(sum(e.points) FILTER (WHERE e.points > 0), 0)::DOUBLE AS positive_points,
           count(*) AS events
    FROM credit_events e JOIN people p ON p.person_id = e.subject_id
    WHERE e.subject_type = 'person' AND {where}
    GROUP BY ALL
"""


GRID_MONTH_CREDIT = grid_month_credit()

# One row per ticket: when it first reached each step. published_at is the last publication,
# and empty when the ticket was reopened after it (it is open again).
def ticket_facts(where: str = "true") -> str:
    return f"""
    WITH steps AS (
        SELECT ticket_id,
               min(occurred_at) FILTER (WHERE step = 'filed') AS filed_at,
               min(occurred_at) FILTER (WHERE step = 'accepted') AS accepted_at,
               min(occurred_at) FILTER (WHERE step = 'discussed') AS discussed_at,
               min(occurred_at) FILTER (WHERE step = 'decided') AS decided_at,
               min(occurred_at) FILTER (WHERE step = 'rated') AS rated_at,
               max(occurred_at) FILTER (WHERE step = 'published') AS last_published_at,
               max(occurred_at) FILTER (WHERE step = 'reopened') AS last_reopened_at,
               min(occurred_at) FILTER (WHERE step = 'escalated') AS escalated_at,
               count(*) FILTER (WHERE step = 'reopened') AS reopened,
               arg_max(step, (occurred_at, coalesce(seq, 0))) AS last_step,
               max(occurred_at) AS last_at
        FROM ticket_events WHERE {where} GROUP BY ticket_id
    )
    SELECT t.ticket_id, t.grid_id, g.community_id, c.subdistrict_id, t.category, t.channel,
           t.department, s.filed_at, s.accepted_at, s.discussed_at, s.decided_at, s.rated_at,
           CASE WHEN s.last_reopened_at IS NULL OR s.last_published_at > s.last_reopened_at
                THEN s.last_published_at END AS published_at,
           s.escalated_at, coalesce(s.reopened, 0) AS reopened, s.last_reopened_at AS reopened_at,
           s.last_step, s.last_at
    FROM tickets t
    LEFT JOIN steps s USING (ticket_id)
    LEFT JOIN grids g ON g.grid_id = t.grid_id
    LEFT JOIN communities c ON c.community_id = g.community_id
    WHERE {where}
"""


TICKET_FACTS = ticket_facts()

# One row per person and month with events: the month's events and net points, and the
# balance (net points ever) at the month's end.
def person_months(where: str = "true") -> str:
    return f"""
    SELECT e.subject_id AS person_id, date_trunc('month', e.occurred_at)::DATE AS month,
           count(*) AS events, sum(e.points)::DOUBLE AS points
    FROM credit_events e WHERE e.subject_type = 'person' AND {where} GROUP BY ALL
"""


def person_month(per_month: str) -> str:
    return f"""
    SELECT m.person_id, p.grid_id, m.month, m.events, m.points,
           sum(m.points) OVER (PARTITION BY m.person_id ORDER BY m.month) AS balance
    FROM ({per_month}) m JOIN people p USING (person_id)
"""


PERSON_MONTH = person_month(person_months())


def level_case(balance: str = "balance") -> str:
    """SQL CASE giving the level code of a balance on the ladder of settings.CREDIT_LEVELS.
    The ladder holds only numbers and codes from the settings module, never input."""
    parts = []
    for code, _, minimum in settings.CREDIT_LEVELS:
        parts.append(f"ELSE '{code}'" if minimum is None else f"WHEN {balance} >= {float(minimum)!r} THEN '{code}'")
    return "CASE " + " ".join(parts) + " END"


# Registered residents per grid, month end and credit level; people who never had an event
# are not counted here (their balance is 0: callers add them).
# The months run over the whole county's span, whichever grids `where` keeps.
def grid_month_levels(person_month: str, where: str = "true") -> str:
    return f"""
    WITH person_month AS (SELECT * FROM {person_month}),
    spans AS (
        SELECT grid_id, month, balance,
               lead(month) OVER (PARTITION BY person_id ORDER BY month) AS next_month
        FROM person_month WHERE {where}
    ),
    months AS (
        SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))::DATE AS month FROM person_month
    )
    SELECT s.grid_id, m.month, {level_case("s.balance")} AS level, count(*) AS people
    FROM spans s JOIN months m ON m.month >= s.month AND (s.next_month IS NULL OR m.month < s.next_month)
    WHERE s.grid_id IS NOT NULL
    GROUP BY ALL
"""


GRID_MONTH_LEVELS = grid_month_levels(f"({PERSON_MONTH})")

# Where each person was registered: person_id, grid_id, moved_in, moved_out (the day left,
# exclusive; both empty for a person registered in people.grid_id throughout). Read through
# residents.registered(con), which picks the rows covering a day.
REGISTRATIONS = """
    SELECT person_id, grid_id, NULL::DATE AS moved_in, NULL::DATE AS moved_out FROM people p
    WHERE grid_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM residence_history h WHERE h.person_id = p.person_id)
    UNION ALL
    SELECT person_id, grid_id, moved_in, moved_out FROM residence_history
"""

# Ledger ids stored more than once. The ledger keeps no unique index (an index would cost every
# append and hold all ids in memory): the importer never stores an id twice, and refresh finds what
# other writers did, for the data-quality flags.
def ledger_duplicates(where: str = "true") -> str:
    return f"""
    SELECT event_id, count(*) AS copies FROM credit_events WHERE {where} GROUP BY event_id HAVING count(*) > 1
"""


LEDGER_DUPLICATES = ledger_duplicates()

SUMMARIES = {
    "summary_registrations": (REGISTRATIONS, "person_id, moved_in"),
    "summary_grid_month_credit": (GRID_MONTH_CREDIT, "grid_id, month"),
    "summary_ticket_facts": (TICKET_FACTS, "published_at, ticket_id"),
    "summary_person_month": (PERSON_MONTH, "month, grid_id, person_id"),
    "summary_grid_month_levels": (GRID_MONTH_LEVELS, "month, grid_id, level"),
    "summary_ledger_duplicates": (LEDGER_DUPLICATES, "event_id"),
}


def fingerprint(con) -> str:
    """Cheap signature of what the summaries depend on: row counts and newest ids of the base
    tables (the ledger is append-only), the level ladder and the summaries' own definitions, so
    that a new release's summaries are rebuilt before use. Changing a person's grid in place
    is not seen: run refresh after such an edit."""
    row = con.execute("""
        SELECT (SELECT count(*) FROM credit_events), (SELECT max(event_id) FROM credit_events),
               (SELECT count(*) FROM people), (SELECT count(*) FROM tickets),
               (SELECT count(*) FROM ticket_events), (SELECT max(occurred_at) FROM ticket_events),
               (SELECT count(*) FROM grids), (SELECT count(*) FROM residence_history),
               (SELECT max(moved_out) FROM residence_history)
    """).fetchone()
    definitions = hashlib.sha256(json.dumps(SUMMARIES).encode()).hexdigest()[:16]
    return json.dumps([str(v) for v in row] + [settings.CREDIT_LEVELS, definitions])


def _write_fingerprint(con) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES ('summary_fingerprint', ?)", [fingerprint(con)])


def refresh(con) -> dict[str, int]:
    """Rebuild every derived table in one transaction; returns their row counts."""
    counts = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for name, (sql, order) in SUMMARIES.items():
            if name == "summary_grid_month_levels":  # from the table just built, not the ledger again
                sql = grid_month_levels("summary_person_month")
            # Names and SQL are this module's constants, never input.
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({sql}) ORDER BY {order}")
            counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        _write_fingerprint(con)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return counts


def update(con, ledger: str, people: str, residents: str, tickets: str, source: str | None = None) -> None:
    """Recompute, in the caller's transaction, only the summary rows that changed base rows touch, so
    that the tables end exactly as a refresh would leave them. The arguments name relations of the
    changed rows: ledger (subject_type, subject_id, occurred_at, event_id, points, sign), each row as
    it was (sign -1) and as it is (sign +1); people (person_id, grid_id), as they were and are;
    residents (person_id) whose residence history changed; tickets (ticket_id). A month's ledger
    figures are the stored ones plus the signed changed rows: the ledger itself is read only for people
    whose registration changed. Only for fresh summaries, and not when grids, communities or
    subdistricts changed: refresh then. With `source`, the catalogue of a file whose summaries already
    took the same change (the live file, for the standby replaying it), the touched rows are copied
    from it instead of computed. The caller writes the fingerprint (stamp)."""
    q = con.execute

    def fill(table: str, computed: str, where: str) -> None:
        if source is None:
            q(computed)
        else:  # names are this module's constants and the caller's catalogue alias, never input
            q(f"INSERT INTO {table} BY NAME SELECT * FROM {source}.main.{table} s WHERE {where}")
    q(f"""CREATE OR REPLACE TEMP TABLE touched_months AS
          SELECT DISTINCT subject_id AS person_id, date_trunc('month', occurred_at)::DATE AS month
          FROM {ledger} WHERE subject_type = 'person'""")
    # A person whose registration changed: every month of theirs now counts in another grid.
    q(f"CREATE OR REPLACE TEMP TABLE touched_people AS SELECT DISTINCT person_id FROM {people}")
    q(f"CREATE OR REPLACE TEMP TABLE moved_grids AS SELECT DISTINCT grid_id FROM {people} WHERE grid_id IS NOT NULL")
    q("""CREATE OR REPLACE TEMP TABLE touched_persons AS
         SELECT person_id FROM touched_months UNION SELECT person_id FROM touched_people""")
    q("""CREATE OR REPLACE TEMP TABLE touched_grids AS
         SELECT grid_id FROM moved_grids
         UNION SELECT grid_id FROM summary_person_month WHERE person_id IN (SELECT person_id FROM touched_persons)
         UNION SELECT grid_id FROM people WHERE person_id IN (SELECT person_id FROM touched_persons)
                                            AND grid_id IS NOT NULL""")
    q("""CREATE OR REPLACE TEMP TABLE touched_grid_months AS
         SELECT DISTINCT p.grid_id, t.month FROM touched_months t JOIN people p USING (person_id)
         WHERE p.grid_id IS NOT NULL AND p.grid_id NOT IN (SELECT grid_id FROM moved_grids)""")
    moved = q("SELECT count(*) > 0 FROM touched_people").fetchone()[0]
    if source is None:
        _deltas(con, ledger)

    q("""DELETE FROM summary_grid_month_credit s WHERE s.grid_id IN (SELECT grid_id FROM moved_grids)
         OR EXISTS (SELECT 1 FROM touched_grid_months k WHERE k.grid_id = s.grid_id AND k.month = s.month)""")
    if moved and source is None:
        q(f"INSERT INTO summary_grid_month_credit {grid_month_credit('p.grid_id IN (SELECT grid_id FROM moved_grids)')}")
    fill("summary_grid_month_credit", "INSERT INTO summary_grid_month_credit BY NAME SELECT * FROM touched_grid_month_credit",
         """s.grid_id IN (SELECT grid_id FROM moved_grids)
            OR EXISTS (SELECT 1 FROM touched_grid_months k WHERE k.grid_id = s.grid_id AND k.month = s.month)""")

    if source is None:
        # A person's untouched months are kept as stored: the balance runs over the same monthly figures.
        kept = """SELECT person_id, month, events, points FROM summary_person_month s
                  WHERE person_id IN (SELECT person_id FROM touched_months)
                    AND person_id NOT IN (SELECT person_id FROM touched_people)
                    AND NOT EXISTS (SELECT 1 FROM touched_months k WHERE k.person_id = s.person_id AND k.month = s.month)"""
        parts = [kept, "SELECT person_id, month, events, points FROM touched_months_changed"]
        if moved:
            parts.append(person_months("e.subject_id IN (SELECT person_id FROM touched_people)"))
        q(f"CREATE OR REPLACE TEMP TABLE touched_person_month AS {person_month(' UNION ALL '.join(parts))}")
    span_before = q("SELECT min(month), max(month) FROM summary_person_month").fetchone()
    q("DELETE FROM summary_person_month WHERE person_id IN (SELECT person_id FROM touched_persons)")
    fill("summary_person_month", "INSERT INTO summary_person_month SELECT * FROM touched_person_month",
         "s.person_id IN (SELECT person_id FROM touched_persons)")
    if q("SELECT min(month), max(month) FROM summary_person_month").fetchone() == span_before:
        q("DELETE FROM summary_grid_month_levels WHERE grid_id IN (SELECT grid_id FROM touched_grids)")
        fill("summary_grid_month_levels", f"""INSERT INTO summary_grid_month_levels {grid_month_levels(
                 "summary_person_month", "grid_id IN (SELECT grid_id FROM touched_grids)")}""",
             "s.grid_id IN (SELECT grid_id FROM touched_grids)")
    else:  # the county's span of months moved: every grid gained or lost a month
        q("DELETE FROM summary_grid_month_levels")
        fill("summary_grid_month_levels",
             f"INSERT INTO summary_grid_month_levels {grid_month_levels('summary_person_month')}", "true")

    q(f"""CREATE OR REPLACE TEMP TABLE touched_registrations AS
          SELECT person_id FROM touched_people UNION SELECT person_id FROM {residents}""")
    q("DELETE FROM summary_registrations WHERE person_id IN (SELECT person_id FROM touched_registrations)")
    fill("summary_registrations", f"""INSERT INTO summary_registrations SELECT * FROM ({REGISTRATIONS})
                                       WHERE person_id IN (SELECT person_id FROM touched_registrations)""",
         "s.person_id IN (SELECT person_id FROM touched_registrations)")

    q(f"DELETE FROM summary_ticket_facts WHERE ticket_id IN (SELECT ticket_id FROM {tickets})")
    fill("summary_ticket_facts",
         f"INSERT INTO summary_ticket_facts {ticket_facts(f'ticket_id IN (SELECT ticket_id FROM {tickets})')}",
         f"s.ticket_id IN (SELECT ticket_id FROM {tickets})")

    q(f"DELETE FROM summary_ledger_duplicates WHERE event_id IN (SELECT event_id FROM {ledger})")
    fill("summary_ledger_duplicates",
         f"INSERT INTO summary_ledger_duplicates {ledger_duplicates(f'event_id IN (SELECT event_id FROM {ledger})')}",
         f"s.event_id IN (SELECT event_id FROM {ledger})")


def _plus(stored: str, change: str) -> str:
    # A stored DOUBLE sum of two-decimal points goes back to its exact decimal: plus the change, it is
    # the DOUBLE that summing every row gives.
    return f"(coalesce({stored}::DECIMAL(38, 2), 0) + coalesce({change}, 0))::DOUBLE"


def _deltas(con, ledger: str) -> None:
    """The touched months' new figures, per person (touched_months_changed) and per grid
    (touched_grid_month_credit), from the stored ones and the signed changed rows; months left with
    no event are left out, as refresh leaves them out."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ledger_change AS
        SELECT subject_id AS person_id, date_trunc('month', occurred_at)::DATE AS month,
               sum(sign) AS events, sum(sign * points) AS points,
               sum(sign * points) FILTER (WHERE points > 0) AS positive_points
        FROM {ledger} WHERE subject_type = 'person' GROUP BY ALL""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE touched_months_changed AS
        SELECT d.person_id, d.month, (coalesce(s.events, 0) + d.events)::BIGINT AS events,
               {_plus("s.points", "d.points")} AS points
        FROM ledger_change d LEFT JOIN summary_person_month s USING (person_id, month)
        WHERE d.person_id NOT IN (SELECT person_id FROM touched_people) AND coalesce(s.events, 0) + d.events > 0""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE touched_grid_month_credit AS
        WITH change AS (
            SELECT p.grid_id, d.month, sum(d.events) AS events, sum(d.points) AS points,
                   sum(d.positive_points) AS positive_points
            FROM ledger_change d JOIN people p USING (person_id)
            WHERE EXISTS (SELECT 1 FROM touched_grid_months k WHERE k.grid_id = p.grid_id AND k.month = d.month)
            GROUP BY ALL
        )
        SELECT c.grid_id, c.month, {_plus("s.points", "c.points")} AS points,
               {_plus("s.positive_points", "c.positive_points")} AS positive_points,
               (coalesce(s.events, 0) + c.events)::BIGINT AS events
        FROM change c LEFT JOIN summary_grid_month_credit s USING (grid_id, month)
        WHERE coalesce(s.events, 0) + c.events > 0""")


def stamp(con) -> None:
    """Write the fingerprint after an update, outside its transaction: checkpointed first, the file
    answers the ledger's count and newest id from its statistics instead of reading the ledger."""
    con.execute("CHECKPOINT")
    _write_fingerprint(con)


def copy(con, source: str) -> None:
    """Every summary table taken whole from the file attached as `source`, in the caller's transaction
    (the standby replaying a change after which the live file rebuilt its summaries)."""
    for name in SUMMARIES:  # this module's constants; a file never refreshed has none of them yet
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {source}.main.{name}")


# Whether the summaries of a read-only file are fresh cannot change while it is open: decided once
# per file version (db.version), not on every metric call.
_FRESH: dict = {}


def is_fresh(con) -> bool:
    if not isinstance(con, duckdb.DuckDBPyConnection):  # another engine (analytics.spark) has no summaries
        return False
    version = db.version(con)
    if version in _FRESH:
        return _FRESH[version]
    row = con.execute("SELECT value FROM meta WHERE key = 'summary_fingerprint'").fetchall()
    fresh = bool(row) and row[0][0] == fingerprint(con)
    if version is not None:
        if len(_FRESH) >= 16:
            _FRESH.clear()
        _FRESH[version] = fresh
    return fresh


def relation(con, name: str) -> str:
    """SQL to put after FROM: the stored summary if fresh, else its defining query."""
    sql, _ = SUMMARIES[name]
    return name if is_fresh(con) else f"({sql})"
