"""What an import changed, kept in the database so that undo puts it back without a copy of the file.

For every table an import writes, undo_<table> holds under the import's id the keys it wrote
(undo_old false: the key columns only) and every row those keys matched before it (undo_old true:
the whole row). Undo deletes the rows matching the keys and inserts the old rows again, so the table
is once more exactly what it was, duplicates included. The same rows tell the summaries what to
recompute. Disk: the keys and old rows of what was imported, nothing more.
"""

from .. import summary
from . import spec

# What update_meta may write: kept like a table keyed by `key`.
META_KEYS = ("as_of", "source", "county", "last_import", "summary_fingerprint")
# Changes to these move tickets and people between communities: the summaries are rebuilt.
STRUCTURAL = ("subdistricts", "communities", "grids")
# A change of more than this share of the ledger rebuilds the summaries instead.
REBUILD_SHARE = 0.1


def _key(name: str) -> tuple:
    return ("key",) if name == "meta" else spec.TABLES[name].key


def _match(name: str, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in _key(name))


def _columns(con, target: str, name: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                       "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [target, name]).fetchall()


def _ensure(con, target: str, name: str) -> None:
    """undo_<name> with every column of the table (a later migration's new columns added to it)."""
    kept = dict(_columns(con, target, f"undo_{name}"))
    if not kept:
        con.execute(f"CREATE TABLE {target}.main.undo_{name} AS SELECT NULL::INTEGER AS undo_import, "
                    f"NULL::BOOLEAN AS undo_old, * FROM {target}.main.{name} WHERE false")
        return
    for column, kind in _columns(con, target, name):
        if column not in kept:  # names and types from the catalogue, never input
            con.execute(f'ALTER TABLE {target}.main.undo_{name} ADD COLUMN "{column}" {kind}')


def record(con, import_id: int, target: str, keys: dict[str, str]) -> None:
    """Before an import writes: for each table, keys[table] is SQL giving the key columns of the rows
    it will add, change or remove; those keys and the rows they match now are kept."""
    keys = {**keys, "meta": f"SELECT key FROM {target}.main.meta UNION SELECT unnest($names)"}
    for name, sql in keys.items():
        _ensure(con, target, name)
        params = {"names": list(META_KEYS)} if name == "meta" else {}
        con.execute(f"CREATE OR REPLACE TEMP TABLE undo_keys AS SELECT DISTINCT * FROM ({sql})", params)
        con.execute(f"INSERT INTO {target}.main.undo_{name} BY NAME "
                    "SELECT $id AS undo_import, false AS undo_old, * FROM undo_keys", {"id": import_id})
        if name != "meta" and spec.TABLES[name].append_only:
            continue  # only new keys are ever written to it: nothing stood there before
        con.execute(f"""INSERT INTO {target}.main.undo_{name} BY NAME
            SELECT $id AS undo_import, true AS undo_old, e.* FROM {target}.main.{name} e
            WHERE EXISTS (SELECT 1 FROM undo_keys k WHERE {_match(name, 'e', 'k')})""", {"id": import_id})


def tables(con, import_id: int, target: str) -> list[str]:
    """The tables import_id wrote, as its undo rows say; empty for an import kept by a backup only."""
    names = [r[0][len("undo_"):] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name LIKE 'undo\\_%' ESCAPE '\\'", [target]).fetchall()]
    return [n for n in names if con.execute(f"SELECT count(*) FROM {target}.main.undo_{n} WHERE undo_import = ?",
                                            [import_id]).fetchall()[0][0]]


def _rows(name: str, target: str, columns: str, now: str = "", before: str = "") -> str:
    """The rows of `name` the keys of import $id match now, and the rows they matched before it (each
    with the columns now and before, e.g. a sign)."""
    undo = f"{target}.main.undo_{name}"
    return f"""SELECT {columns}{now} FROM {target}.main.{name} e
               WHERE EXISTS (SELECT 1 FROM {undo} k WHERE k.undo_import = $id AND NOT k.undo_old
                             AND {_match(name, 'e', 'k')})
               UNION ALL SELECT {columns}{before} FROM {undo} WHERE undo_import = $id AND undo_old"""


def changed(con, import_id: int, target: str, undoing: bool = False) -> bool:
    """What import_id changed, in the temp tables changed_credit_events (as it was, sign -1, and as it
    is, sign +1), changed_people (as it was and is), changed_residents and changed_tickets for
    summary.update; True when it wrote grids, communities or subdistricts (the summaries are then
    rebuilt). Taken after an import is applied, or, `undoing`, before its undo is."""
    written = tables(con, import_id, target)
    empty = {"credit_events": "SELECT NULL::VARCHAR AS subject_type, NULL::VARCHAR AS subject_id, "
                              "NULL::TIMESTAMP AS occurred_at, NULL::BIGINT AS event_id, "
                              "NULL::DECIMAL(8, 2) AS points, NULL::INTEGER AS sign WHERE false",
             "people": "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS grid_id WHERE false"}
    now, before = (-1, 1) if undoing else (1, -1)
    parts = {"credit_events": ("subject_type, subject_id, occurred_at, event_id, points",
                               f", {now} AS sign", f", {before} AS sign"),
             "people": ("person_id, grid_id", "", "")}
    for name, (columns, now_sign, before_sign) in parts.items():
        if name in written:
            con.execute(f"CREATE OR REPLACE TEMP TABLE changed_{name} AS "
                        f"{_rows(name, target, columns, now_sign, before_sign)}", {"id": import_id})
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE changed_{name} AS {empty[name]}")
    residents = (f"SELECT person_id FROM {target}.main.undo_residence_history WHERE undo_import = $id"
                 if "residence_history" in written else "SELECT NULL::VARCHAR AS person_id WHERE $id IS NULL")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_residents AS {residents}", {"id": import_id})
    tickets = [f"SELECT ticket_id FROM {target}.main.undo_{n} WHERE undo_import = $id"
               for n in ("tickets", "ticket_events", "ticket_ratings") if n in written]
    if tickets:
        con.execute("CREATE OR REPLACE TEMP TABLE changed_tickets AS " + " UNION ".join(tickets), {"id": import_id})
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE changed_tickets AS SELECT NULL::VARCHAR AS ticket_id WHERE false")
    return any(n in written for n in STRUCTURAL)


def appended(con, event_ids: list[int]) -> None:
    """changed()'s temp tables for a write that only appended the ledger rows event_ids (an upheld
    appeal's correction)."""
    con.execute("""CREATE OR REPLACE TEMP TABLE changed_credit_events AS
                   SELECT subject_type, subject_id, occurred_at, event_id, points, 1 AS sign FROM credit_events
                   WHERE event_id IN (SELECT unnest($ids::BIGINT[]))""", {"ids": event_ids})
    con.execute("CREATE OR REPLACE TEMP TABLE changed_people AS "
                "SELECT NULL::VARCHAR AS person_id, NULL::VARCHAR AS grid_id WHERE false")
    for name, column in (("residents", "person_id"), ("tickets", "ticket_id")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE changed_{name} AS SELECT NULL::VARCHAR AS {column} WHERE false")


def refresh_summaries(con, incremental: bool, source: str | None = None) -> None:
    """The summaries brought up to date after changed(): only the rows it touched when `incremental`
    (they were fresh before and no grid moved), else rebuilt; rebuilt too when the change is a large
    share of the ledger, where one pass over it is cheaper. Both give the same tables. con's default
    catalogue is the target. With `source`, a file that already took the same change (standby.py),
    the rows are copied from it: those touched when `incremental`, else every one."""
    if source is None:
        changed_rows, ledger_rows = con.execute(
            "SELECT (SELECT count(*) FROM changed_credit_events), (SELECT count(*) FROM credit_events)").fetchone()
        if not incremental or changed_rows > REBUILD_SHARE * ledger_rows:
            summary.refresh(con)
            return
    con.execute("BEGIN TRANSACTION")
    try:
        if source is not None and not incremental:
            summary.copy(con, source)
        else:
            summary.update(con, "changed_credit_events", "changed_people", "changed_residents", "changed_tickets",
                           source)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if source is None:
        summary.stamp(con)


def revert(con, import_id: int, target: str) -> None:
    """Put back every table import_id wrote as it was before it; its undo rows are dropped."""
    for name in tables(con, import_id, target):
        undo = f"{target}.main.undo_{name}"
        con.execute(f"""DELETE FROM {target}.main.{name} e WHERE EXISTS (SELECT 1 FROM {undo} k
                        WHERE k.undo_import = $id AND NOT k.undo_old AND {_match(name, 'e', 'k')})""", {"id": import_id})
        con.execute(f"INSERT INTO {target}.main.{name} BY NAME SELECT * EXCLUDE (undo_import, undo_old) FROM {undo} "
                    "WHERE undo_import = $id AND undo_old", {"id": import_id})
        con.execute(f"DELETE FROM {undo} WHERE undo_import = $id", {"id": import_id})


def undo(con, import_id: int, target: str) -> bool:
    """changed(), then revert() in a transaction of its own; changed()'s answer."""
    structural = changed(con, import_id, target, undoing=True)
    con.execute("BEGIN TRANSACTION")
    try:
        revert(con, import_id, target)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return structural
