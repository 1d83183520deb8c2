"""Writing: what a valid file would add, update and skip, and applying it to a second file.

The live database is never written in place: DuckDB lets one process write a file only while no
other process reads it, and the dashboard's processes read it all the time. An import writes a file
beside it, the standby brought up to date or else a whole copy (standby.py), applies every row in one
transaction with what undo needs (undo.py), updates the derived tables it touched, logs itself and
moves that file over the database; a reader holding the old file keeps reading it, and any failure
before the move leaves the database untouched. The old file is copied whole to backups/ once a day
(BACKUP_EVERY_HOURS), for a damaged file to be restored from (recovery.py); undo needs no backup.
"""

import contextlib
import datetime as dt
import errno
import fcntl
import glob
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .. import clock, db
from . import spec
from .validate import FLAT_STEP_CODES, STEP_SEQ

LOCK_TIMEOUT_SECONDS = 30
KEEP_BACKUPS = 3
BACKUP_EVERY_HOURS = 24


class Busy(RuntimeError):
    """Another import holds the database."""


@contextlib.contextmanager
def exclusive(db_path: Path, timeout: float | None = None):
    timeout = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    lock_path = Path(str(db_path) + ".import.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise Busy(f"另一个导入正在进行,请稍后再试(已等待 {timeout:g} 秒)") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def working_copy(db_path: Path) -> Path:
    """A copy of the database (with its write-ahead log, if any) beside it; a new file if none.
    A copy cut short (a full disk) is removed."""
    tmp = db_path.with_name(f".{db_path.name}.import-{os.getpid()}-{time.time_ns()}")
    try:
        if db_path.exists():
            shutil.copyfile(db_path, tmp)
            wal = Path(str(db_path) + ".wal")
            if wal.exists():
                shutil.copyfile(wal, Path(str(tmp) + ".wal"))
    except BaseException:
        discard(tmp)
        raise
    return tmp


def temp_prefix(kind: str) -> str:
    """The name start of a temporary folder (tempfile.mkdtemp(prefix=...)): the process id in it lets
    sweep() tell the folders of processes that are gone."""
    return f"gridgov-{kind}-{os.getpid()}-"


def sweep(db_path: Path) -> list[Path]:
    """Remove what killed imports left: working copies beside the database (only while no import holds
    its lock: a running import owns its copy) and temporary folders of processes that are gone.
    Called at start by the command line and the dashboard; returns what it removed."""
    removed = []
    try:
        with exclusive(db_path, timeout=0):
            for kind in ("import", "undo", "restore", "swap"):
                for tmp in db_path.parent.glob(f".{glob.escape(db_path.name)}.{kind}-*"):
                    tmp.unlink(missing_ok=True)
                    removed.append(tmp)
    except Busy:
        pass
    for folder in Path(tempfile.gettempdir()).glob("gridgov-*-*-*"):
        pid = folder.name.split("-")[2]
        try:
            mine = folder.is_dir() and folder.stat().st_uid == os.getuid()
        except FileNotFoundError:  # removed meanwhile by its own process
            continue
        if mine and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)


def discard_of(db_path: Path, pid: int) -> None:
    """The working copies a process that ended without cleaning up left beside the database."""
    for tmp in db_path.parent.glob(f".{db_path.name}.import-{pid}-*"):
        tmp.unlink(missing_ok=True)


def backup_path(db_path: Path, tag: str) -> str | None:
    """Where the file as it is now will be kept once an import or undo replaces it."""
    if not db_path.exists():
        return None
    stamp = clock.now().strftime("%Y%m%d-%H%M%S-%f")
    return str(db_path.parent / "backups" / f"{db_path.stem}-{stamp}-{tag}.duckdb")


def due_backup_path(db_path: Path, tag: str) -> str | None:
    """backup_path when the newest backup is older than BACKUP_EVERY_HOURS (or there is none), else None."""
    now = clock.now()
    for p in (db_path.parent / "backups").glob(f"{glob.escape(db_path.stem)}-*.duckdb"):
        try:  # the time is in the name: a hard link keeps the file's own times
            taken = dt.datetime.strptime(p.name[len(db_path.stem) + 1:][:22], "%Y%m%d-%H%M%S-%f")
        except ValueError:
            continue
        if now.replace(tzinfo=None) - taken < dt.timedelta(hours=BACKUP_EVERY_HOURS):
            return None
    return backup_path(db_path, tag)


def install(tmp: Path, db_path: Path, backup: str | None) -> None:
    """Keep the current file as backup and move tmp over it."""
    if backup is not None and db_path.exists():
        keep_backup(db_path, Path(backup))
    Path(str(db_path) + ".wal").unlink(missing_ok=True)
    os.replace(tmp, db_path)


def upgrade(db_path: Path) -> list[int]:
    """A file written by an earlier release brought to the current schema as an import writes one:
    a migrated copy installed under the import lock, the file as it was kept in backups/. Returns
    the migrations applied (none for a file already current)."""
    latest = db.load_migrations()[-1].version

    def current() -> bool:
        with db.connect(db_path, read_only=True) as con:
            return db.schema_version(con) >= latest

    # Asked first without the lock: a current file (the usual answer) need not wait for an import.
    if current():
        return []
    with exclusive(db_path):
        if current():  # another process upgraded it meanwhile
            return []
        tmp = working_copy(db_path)
        try:
            with db.connect(tmp) as con:
                applied = db.migrate(con)
                con.execute("CHECKPOINT")
            install(tmp, db_path, backup_path(db_path, f"schema-{latest:03d}"))
        finally:
            discard(tmp)
    return applied


def keep_backup(db_path: Path, backup: Path, link: bool = True) -> None:
    """The database file as it is now kept as backup: a second name of the file when `link` (it is
    never written again), else a copy."""
    private_folder(backup.parent)
    if link:
        try:
            os.link(db_path, backup)  # the old file stays where readers have it open
        except OSError:
            link = False
    if not link:
        shutil.copy2(db_path, backup)
    backup.chmod(0o600)  # names and ledgers of residents: the owner's only
    prune_backups(backup.parent, db_path.stem)


def private_folder(folder: Path) -> None:
    """folder, made or kept accessible to its owner only (0700)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid == os.getuid() and folder.stat().st_mode & 0o077:
        folder.chmod(0o700)


def prune_backups(folder: Path, stem: str, keep: int = KEEP_BACKUPS) -> None:
    found = sorted(folder.glob(f"{stem}-*.duckdb"))
    for old in found[:-keep]:
        old.unlink(missing_ok=True)


def live_tables(con, alias: str) -> set:
    # duckdb_tables(), not information_schema: a tenth of the time.
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'", [alias]).fetchall()}


# --- what would change -----------------------------------------------------------------------

def _cast(table: spec.Table, name: str, src: str = "t") -> str:
    return f"CAST({src}.v_{name} AS {table.field(name).sql})"


def _key_match(table: spec.Table, present: list) -> str:
    parts = []
    for k in table.key:
        value = _cast(table, k) if k in present else "NULL"
        parts.append(f"e.{k} = {value}" if table.pk else f"e.{k} IS NOT DISTINCT FROM {value}")
    return " AND ".join(parts)


def classify(con, table: spec.Table, present: list, target: str | None) -> dict:
    """cls_<table>: each file row marked add, upd or skip against the target database."""
    t = f"memory.main.typ_{table.name}"
    values = [n for n in present if n not in table.key and n not in table.extra]
    match = _key_match(table, present)
    # A file of new rows only (the usual ledger) is told by one join, not the two below.
    if target is None or not con.execute(f"SELECT count(*) FROM {t} t WHERE EXISTS "
                                         f"(SELECT 1 FROM {target}.main.{table.name} e WHERE {match})").fetchall()[0][0]:
        con.execute(f"CREATE OR REPLACE TABLE memory.main.cls_{table.name} AS SELECT _sheet, _row, 'add' AS c FROM {t}")
        counts = {"add": con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]}
    else:
        same = " AND ".join([match] + [f"e.{n} IS NOT DISTINCT FROM {_cast(table, n)}" for n in values])
        con.execute(f"""
            CREATE OR REPLACE TABLE memory.main.cls_{table.name} AS
            SELECT _sheet, _row,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM {target}.main.{table.name} e WHERE {match}) THEN 'add'
                        WHEN EXISTS (SELECT 1 FROM {target}.main.{table.name} e WHERE {same}) THEN 'skip'
                        ELSE 'upd' END AS c
            FROM {t} t""")
        counts = dict(con.execute(f"SELECT c, count(*) FROM memory.main.cls_{table.name} GROUP BY c").fetchall())
    out = {"added": counts.get("add", 0), "updated": counts.get("upd", 0), "skipped": counts.get("skip", 0)}
    if table.flat_steps:
        out = _classify_flat(con, table, present, target, out)
    return {table.name: out} if not table.flat_steps else out


def _classify_flat(con, table, present, target, ticket_counts) -> dict:
    """Flat tickets: the status history and rating each row implies, against what is stored."""
    t = f"memory.main.typ_{table.name}"
    steps = [s for s in FLAT_STEP_CODES if s in present]
    parts = [f"SELECT v_ticket_id AS ticket_id, '{FLAT_STEP_CODES[s]}' AS step, v_{s} AS occurred_at, "
             f"{STEP_SEQ[FLAT_STEP_CODES[s]]} AS seq FROM {t} WHERE v_{s} IS NOT NULL" for s in steps]
    events = " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS ticket_id, NULL::VARCHAR AS step, NULL::TIMESTAMP AS occurred_at, NULL::INTEGER AS seq WHERE false"
    con.execute(f"CREATE OR REPLACE TABLE memory.main.flat_events AS {events}")
    owned = ", ".join(f"'{FLAT_STEP_CODES[s]}'" for s in steps) or "NULL"
    rating = "score" in present
    rated_at = "v_rated_at" if "rated_at" in present else "NULL::TIMESTAMP"
    kind = "v_rater_kind" if "rater_kind" in present else "NULL::VARCHAR"
    con.execute(f"""CREATE OR REPLACE TABLE memory.main.flat_ratings AS
        SELECT v_ticket_id AS ticket_id, {kind} AS rater_kind, {'v_score' if rating else 'NULL'}::INTEGER AS score,
               {rated_at} AS rated_at
        FROM {t} WHERE {'v_score IS NOT NULL' if rating else 'false'}""")
    if target is None:
        con.execute("CREATE OR REPLACE TABLE memory.main.flat_events_del AS SELECT NULL::VARCHAR AS ticket_id, "
                    "NULL::VARCHAR AS step, NULL::TIMESTAMP AS occurred_at WHERE false")
        con.execute("CREATE OR REPLACE TABLE memory.main.flat_ratings_del AS SELECT NULL::VARCHAR AS ticket_id, "
                    "NULL::VARCHAR AS rater_kind, NULL::INTEGER AS score, NULL::TIMESTAMP AS rated_at WHERE false")
        con.execute("CREATE OR REPLACE TABLE memory.main.flat_events_add AS SELECT * FROM memory.main.flat_events")
        con.execute("CREATE OR REPLACE TABLE memory.main.flat_ratings_add AS SELECT * FROM memory.main.flat_ratings")
    else:
        con.execute(f"""CREATE OR REPLACE TABLE memory.main.flat_events_del AS
            SELECT e.ticket_id, e.step, e.occurred_at FROM {target}.main.ticket_events e
            WHERE e.step IN ({owned}) AND e.ticket_id IN (SELECT v_ticket_id FROM {t})
              AND NOT EXISTS (SELECT 1 FROM memory.main.flat_events d
                              WHERE d.ticket_id = e.ticket_id AND d.step = e.step AND d.occurred_at = e.occurred_at)""")
        con.execute(f"""CREATE OR REPLACE TABLE memory.main.flat_events_add AS
            SELECT d.* FROM memory.main.flat_events d
            WHERE NOT EXISTS (SELECT 1 FROM {target}.main.ticket_events e
                              WHERE d.ticket_id = e.ticket_id AND d.step = e.step AND d.occurred_at = e.occurred_at)""")
        same = ("r.ticket_id = d.ticket_id AND r.rater_kind IS NOT DISTINCT FROM d.rater_kind "
                "AND r.score = d.score AND r.rated_at IS NOT DISTINCT FROM d.rated_at")
        con.execute(f"""CREATE OR REPLACE TABLE memory.main.flat_ratings_del AS
            SELECT r.ticket_id, r.rater_kind, r.score, r.rated_at FROM {target}.main.ticket_ratings r
            WHERE {'true' if rating else 'false'} AND r.rating_id IS NULL
              AND r.ticket_id IN (SELECT v_ticket_id FROM {t})
              AND NOT EXISTS (SELECT 1 FROM memory.main.flat_ratings d WHERE {same})""")
        con.execute(f"""CREATE OR REPLACE TABLE memory.main.flat_ratings_add AS
            SELECT d.* FROM memory.main.flat_ratings d
            WHERE NOT EXISTS (SELECT 1 FROM {target}.main.ticket_ratings r WHERE r.rating_id IS NULL AND {same})""")
        # A ticket whose history or rating changes is an updated ticket even if its own row is not.
        con.execute(f"""UPDATE memory.main.cls_{table.name} c SET c = 'upd'
            FROM {t} t WHERE c.c = 'skip' AND t._sheet = c._sheet AND t._row = c._row AND t.v_ticket_id IN (
                SELECT ticket_id FROM memory.main.flat_events_del UNION SELECT ticket_id FROM memory.main.flat_events_add
                UNION SELECT ticket_id FROM memory.main.flat_ratings_del
                UNION SELECT ticket_id FROM memory.main.flat_ratings_add)""")
        counts = dict(con.execute(f"SELECT c, count(*) FROM memory.main.cls_{table.name} GROUP BY c").fetchall())
        ticket_counts = {"added": counts.get("add", 0), "updated": counts.get("upd", 0), "skipped": counts.get("skip", 0)}

    def n(name):
        return con.execute(f"SELECT count(*) FROM memory.main.{name}").fetchall()[0][0]

    out = {"tickets": ticket_counts}
    if steps:
        add, gone, total = n("flat_events_add"), n("flat_events_del"), n("flat_events")
        out["ticket_events"] = {"added": add, "updated": 0, "skipped": total - add, "removed": gone}
    if rating:
        add, gone, total = n("flat_ratings_add"), n("flat_ratings_del"), n("flat_ratings")
        out["ticket_ratings"] = {"added": add, "updated": 0, "skipped": total - add, "removed": gone}
    return out


def skip_flat_duplicates(con) -> None:
    """A status-history sheet beside flat tickets: steps the flat rows already give are not
    added twice."""
    con.execute("""DELETE FROM memory.main.typ_ticket_events t USING memory.main.flat_events d
        WHERE t.v_ticket_id = d.ticket_id AND t.v_step = d.step AND t.v_occurred_at = d.occurred_at""")


def skip_flat_rating_duplicates(con, present: list) -> None:
    if not {"rater_kind", "rated_at"} <= set(present):
        return
    con.execute("""DELETE FROM memory.main.typ_ticket_ratings t USING memory.main.flat_ratings d
        WHERE t.v_ticket_id = d.ticket_id AND t.v_rater_kind IS NOT DISTINCT FROM d.rater_kind
          AND t.v_score = d.score AND t.v_rated_at IS NOT DISTINCT FROM d.rated_at""")


# --- applying --------------------------------------------------------------------------------

def apply(con, table: spec.Table, present: list, target: str) -> None:
    """Write the classified rows of one table into the target (inside the caller's transaction)."""
    t = f"memory.main.typ_{table.name}"
    stored = [n for n in present if n not in table.extra]
    cols = ", ".join(stored)
    casts = ", ".join(f"{_cast(table, n)} AS {n}" for n in stored)
    rows = f"{t} t JOIN memory.main.cls_{table.name} c USING (_sheet, _row)"
    if con.execute(f"SELECT bool_and(c = 'add') FROM memory.main.cls_{table.name}").fetchall()[0][0]:
        # Only new rows (the usual first import of a large ledger): no join needed to pick them.
        con.execute(f"INSERT INTO {target}.main.{table.name} ({cols}) SELECT {casts} FROM {t} t")
    else:
        con.execute(f"INSERT INTO {target}.main.{table.name} ({cols}) SELECT {casts} FROM {rows} WHERE c.c = 'add'")
    values = [n for n in stored if n not in table.key]
    if values and not table.append_only:
        keys = [k for k in table.key]
        key_cols = ", ".join(f"{_cast(table, k)} AS {k}" if k in present else f"NULL AS {k}" for k in keys)
        sets = ", ".join(f"{n} = u.{n}" for n in values)
        match = " AND ".join(f"e.{k} = u.{k}" if table.pk else f"e.{k} IS NOT DISTINCT FROM u.{k}" for k in keys)
        con.execute(f"""UPDATE {target}.main.{table.name} e SET {sets}
            FROM (SELECT {key_cols}, {', '.join(f'{_cast(table, n)} AS {n}' for n in values)}
                  FROM {rows} WHERE c.c = 'upd') u
            WHERE {match}""")
    if table.flat_steps:
        con.execute(f"""DELETE FROM {target}.main.ticket_events e USING memory.main.flat_events_del d
            WHERE e.ticket_id = d.ticket_id AND e.step = d.step AND e.occurred_at = d.occurred_at""")
        con.execute(f"""INSERT INTO {target}.main.ticket_events (ticket_id, step, occurred_at, seq)
            SELECT ticket_id, step, occurred_at, seq FROM memory.main.flat_events_add""")
        con.execute(f"""DELETE FROM {target}.main.ticket_ratings r USING memory.main.flat_ratings_del d
            WHERE r.rating_id IS NULL AND r.ticket_id = d.ticket_id AND r.rater_kind IS NOT DISTINCT FROM d.rater_kind
              AND r.score = d.score AND r.rated_at IS NOT DISTINCT FROM d.rated_at""")
        con.execute(f"""INSERT INTO {target}.main.ticket_ratings (ticket_id, rater_kind, score, rated_at)
            SELECT ticket_id, rater_kind, score, rated_at FROM memory.main.flat_ratings_add""")


def newest_timestamp(con, tables: dict) -> dt.datetime | None:
    parts = [f"SELECT max(v_{n}) AS m FROM memory.main.typ_{name}" for name, present in tables.items()
             for n in present if spec.TABLES[name].field(n).kind == "timestamp"]
    if not parts:
        return None
    return con.execute("SELECT max(m) FROM (" + " UNION ALL ".join(parts) + ")").fetchall()[0][0]


def update_meta(con, newest: dt.datetime | None) -> None:
    """as_of moves to the newest imported date if later; source is 'import' unless the demo."""
    if newest is not None:
        current = db.get_meta(con, "as_of")
        if current is None or newest.date().isoformat() > current:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('as_of', ?)", [newest.date().isoformat()])
    if db.get_meta(con, "source") != "demo":
        con.execute("INSERT OR REPLACE INTO meta VALUES ('source', 'import')")
    if db.get_meta(con, "county") is None:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('county', '桓台县')")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('last_import', ?)", [clock.now().isoformat(timespec="seconds")])


def next_import_id(con) -> int:
    return con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM import_log").fetchall()[0][0]


def log_entry(con, **values) -> None:
    if isinstance(values.get("tables"), dict):
        values["tables"] = json.dumps(values["tables"], ensure_ascii=False)
    cols = ", ".join(values)
    con.execute(f"INSERT INTO import_log ({cols}) VALUES ({', '.join('?' for _ in values)})", list(values.values()))


def written_keys(con, table: spec.Table, present: list) -> dict[str, str]:
    """SQL of the keys apply() will write, per table (flat tickets write their steps and ratings too),
    for undo.record."""
    t = f"memory.main.typ_{table.name}"
    keys = ", ".join(_cast(table, k) + f" AS {k}" if k in present else f"CAST(NULL AS {table.field(k).sql}) AS {k}"
                     for k in table.key)
    out = {table.name: f"""SELECT {keys} FROM {t} t JOIN memory.main.cls_{table.name} c USING (_sheet, _row)
                           WHERE c.c IN ('add', 'upd')"""}
    if table.flat_steps:
        out["ticket_events"] = ("SELECT ticket_id, step, occurred_at FROM memory.main.flat_events_del "
                                "UNION ALL SELECT ticket_id, step, occurred_at FROM memory.main.flat_events_add")
        out["ticket_ratings"] = ("SELECT ticket_id, rater_kind, rated_at FROM memory.main.flat_ratings_del "
                                 "UNION ALL SELECT ticket_id, rater_kind, rated_at FROM memory.main.flat_ratings_add")
    return out
