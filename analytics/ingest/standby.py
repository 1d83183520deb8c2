"""Two files, so that an import writes what it carries and not a copy of the database.

Beside the live database (the file every reader opens) lies a standby, `.NAME.standby`, that no reader
opens, one operation behind. An import (or an undo) brings the standby up to date by replaying the last
operation, writes itself into it, and makes it live by a rename; the old live file, which readers may
still be reading, is renamed to be the next standby. The last operation is replayed from what the live
file keeps for undo: an import's keys select its rows in the live file, an undo is the same revert.
A quarter's freeze, an appeal or a flag check writes through the pair too (`writing`), naming the rows
it wrote, which the replay takes from the live file.

The standby is trusted only while `.NAME.standby.json`, written at the swap, still describes both files
(inode, size and modification time): anything that writes the live file another way (a refresh, plain
SQL, a restore), a migration, an operation cut short, or a reader that still has the standby
open makes the import copy the live file whole, as before the pair, and logs why. The first import of a
single file sets the pair up with that copy.
"""

import contextlib
import fcntl
import glob
import json
import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import db, summary
from . import load, spec, undo

log = logging.getLogger(__name__)


class Untrusted(Exception):
    """The standby does not hold what the state file says; the import copies the live file instead."""


def standby_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.standby")


def state_path(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.standby.json")


def _identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _wal(path: Path) -> Path:
    return Path(str(path) + ".wal")


def in_use(path: Path) -> bool:
    """Whether any process, this one included, has the file open: a descriptor of it in a process we may
    look into, or a DuckDB lock on it (DuckDB locks a file it opens whole). The lock alone can be gone:
    a process loses its locks on a file when it closes any descriptor of it, a second reader's too."""
    st = path.stat()
    for folder in glob.glob("/proc/[0-9]*/fd"):
        try:
            descriptors = os.listdir(folder)
        except OSError:  # another user's process, or gone
            continue
        for fd in descriptors:
            try:
                found = os.stat(f"{folder}/{fd}")
            except OSError:
                continue
            if (found.st_dev, found.st_ino) == (st.st_dev, st.st_ino):
                return True
    fd = os.open(path, os.O_RDWR)
    try:
        # An open-file-description lock probe conflicts with a lock of this same process too.
        probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        return struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe))[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def _state(db_path: Path) -> dict:
    """The state file, checked against the two files; Untrusted saying why not."""
    try:
        state = json.loads(state_path(db_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Untrusted("no standby yet") from None
    except (OSError, ValueError) as exc:
        raise Untrusted(f"state file unreadable: {exc}") from None
    standby = standby_path(db_path)
    if _wal(db_path).exists() or not db_path.exists() or _identity(db_path) != state.get("live"):
        raise Untrusted("the live file was written since the last import")
    if _wal(standby).exists() or not standby.exists() or _identity(standby) != state.get("standby"):
        raise Untrusted("the standby was written since the last import")
    if in_use(standby):
        raise Untrusted("a reader still has the standby (the previous live file) open")
    return state


def _write_state(db_path: Path, state: dict | None) -> None:
    path = state_path(db_path)
    if state is None:
        path.unlink(missing_ok=True)
        return
    tmp = db_path.with_name(f".{db_path.name}.swap-{os.getpid()}.json")  # swept as the swap's link is
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Target:
    """The file an import or undo writes, attached as `new`: the standby brought up to date, or a copy."""
    path: Path
    standby: bool
    migrated: bool = False  # the caller applied a migration to it: the old live file is then no standby
    done: bool = False


def prepare(con, db_path: Path) -> Target:
    """Attach as `new` a file holding exactly what the live database holds, for the caller to write
    (under load.exclusive): the standby brought up to date when it can be trusted, else a whole copy."""
    try:
        state = _state(db_path)
        _attach(con, standby_path(db_path), "new")
        try:
            _catch_up(con, db_path, state.get("behind"))
        except BaseException:
            con.execute("USE memory")
            con.execute("DETACH new")
            _write_state(db_path, None)
            raise
        return Target(standby_path(db_path), standby=True)
    except Untrusted as exc:
        (log.info if str(exc) == "no standby yet" else log.warning)(
            "%s: copying the database whole for this write (%s)", db_path, exc)
    tmp = load.working_copy(db_path)
    try:
        _attach(con, tmp, "new")
    except BaseException:
        load.discard(tmp)
        raise
    return Target(tmp, standby=False)


def _attach(con, path: Path, alias: str, read_only: bool = False) -> None:
    con.execute(f"ATTACH $p AS {alias}" + (" (READ_ONLY)" if read_only else ""), {"p": str(path)})


def install(con, target: Target, db_path: Path, backup: str | None, behind: dict | None) -> None:
    """Make the target live; the live file becomes the standby, `behind` (the operation just written:
    {"op": "import" | "undo", "id": ..., "incremental": ...}) to be replayed on it next time. The file
    replaced is first copied to backup when one is due (it is written again as the standby)."""
    con.execute("USE memory")
    con.execute("CHECKPOINT new")
    con.execute("DETACH new")
    if backup is not None and db_path.exists():
        load.keep_backup(db_path, Path(backup), link=False)
    target.done = True
    if not db_path.exists() or target.migrated:
        _write_state(db_path, None)
        load.install(target.path, db_path, None)
        return
    link = db_path.with_name(f".{db_path.name}.swap-{os.getpid()}")
    link.unlink(missing_ok=True)
    try:
        os.link(db_path, link)  # the live file keeps a second name, to become the standby
    except OSError:  # no hard links here: a single file, copied whole by every write
        _write_state(db_path, None)
        load.install(target.path, db_path, None)
        return
    # Written before the renames: should they not all happen, the identities do not match and the
    # next write copies whole.
    _write_state(db_path, {"live": _identity(target.path), "standby": _identity(db_path), "behind": behind})
    _wal(db_path).unlink(missing_ok=True)
    os.replace(target.path, db_path)
    os.replace(link, standby_path(db_path))


@dataclass
class Change:
    """What a write other than an import changed, for the standby to replay it: `rows`, [table,
    {column: value}] pairs picking rows the write replaced (taken from the live file whole), and
    `ledger`, the ids of the ledger rows it appended; `backup`, where to keep the file it replaces."""
    rows: list = field(default_factory=list)
    ledger: list = field(default_factory=list)
    backup: str | None = None


@contextlib.contextmanager
def writing(db_path: Path, summaries: bool = True):
    """A write other than an import or undo (a quarter's freeze, an appeal) through the standby, as an
    import writes, under the caller's load.exclusive: yields a connection whose default catalogue is
    the file to write, and the Change for the caller to fill. On a clean exit the summaries take the
    ledger rows appended (with `summaries`: brought up to date, rebuilt when stale) and the file is
    made live. A ValueError (a request refused, written nothing) keeps the standby usable."""
    con = duckdb.connect()
    try:
        target = prepare(con, db_path)
        failed = True
        try:
            con.execute("USE new")
            target.migrated = bool(db.migrate(con))
            fresh = summary.is_fresh(con)
            change = Change()
            try:
                yield con, change
            except ValueError:
                failed = False
                raise
            con.execute("USE new")
            if summaries:
                undo.appended(con, change.ledger)
                undo.refresh_summaries(con, incremental=fresh)
            install(con, target, db_path, change.backup, {"op": "rows", "rows": change.rows, "ledger": change.ledger,
                                                          "summaries": summaries, "incremental": fresh})
            failed = False
        finally:
            release(con, target, db_path, failed)
    finally:
        con.close()


def release(con, target: Target, db_path: Path, failed: bool) -> None:
    """After a write that was not installed (a refused or unchanged file, an error): a copy is removed;
    the standby, brought up to date and otherwise untouched, is kept as such."""
    if target.done:
        return
    try:
        con.execute("USE memory")
        if not failed:
            con.execute("CHECKPOINT new")
        con.execute("DETACH DATABASE IF EXISTS new")
    except duckdb.Error:
        failed = True
    if not target.standby:
        load.discard(target.path)
    elif failed or target.migrated or _wal(target.path).exists():
        _write_state(db_path, None)
    else:
        state = json.loads(state_path(db_path).read_text(encoding="utf-8"))
        _write_state(db_path, {**state, "standby": _identity(target.path), "behind": None})


# --- bringing the standby up to date ---------------------------------------------------------------

def _catch_up(con, db_path: Path, behind: dict | None) -> None:
    """Replay `behind` from the live file onto `new`, then check that both hold the same tables with
    the same row counts (Untrusted if not)."""
    _attach(con, db_path, "live", read_only=True)
    try:
        versions = con.execute("SELECT (SELECT max(version) FROM new.main.schema_version), "
                               "(SELECT max(version) FROM live.main.schema_version)").fetchone()
        if versions[0] != versions[1]:
            raise Untrusted("the standby's schema differs")
        con.execute("USE new")
        if behind is not None:
            _replay(con, behind)
            # Written out, the file answers the ledger's newest id from its statistics (the fingerprint)
            # instead of reading the ledger.
            con.execute("CHECKPOINT")
        con.execute("USE memory")
        mismatch = _differing_counts(con)
        if mismatch:
            raise Untrusted(f"row counts differ after catching up: {', '.join(mismatch[:5])}")
    finally:
        con.execute("USE memory")
        con.execute("DETACH DATABASE IF EXISTS live")


def _replay(con, behind: dict) -> None:
    op, import_id = behind["op"], int(behind.get("id", 0))
    for name in _undo_tables(con, "live"):
        undo._ensure(con, "new", name)
    if op == "import":
        con.execute("BEGIN TRANSACTION")
        try:
            for name in undo.tables(con, import_id, "live"):
                _copy_rows(con, name, import_id)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        undo.changed(con, import_id, "new")
    elif op == "undo":
        undo.undo(con, import_id, "new")
    elif op == "rows":
        _copy_change(con, behind)
    else:
        raise Untrusted(f"unknown operation {op!r}")
    if behind.get("summaries", True):
        undo.refresh_summaries(con, incremental=bool(behind["incremental"]), source="live")
    con.execute("BEGIN TRANSACTION")
    try:  # small tables, taken whole: the fingerprint the summaries wrote is the live file's too
        con.execute("DELETE FROM new.main.meta")
        con.execute("INSERT INTO new.main.meta BY NAME SELECT * FROM live.main.meta")
        con.execute("""INSERT INTO new.main.import_log BY NAME SELECT * FROM live.main.import_log
                       WHERE import_id NOT IN (SELECT import_id FROM new.main.import_log)""")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _copy_change(con, behind: dict) -> None:
    """A Change replayed: the rows it picks taken from the live file in place of the standby's."""
    ledger = [int(i) for i in behind["ledger"]]
    con.execute("BEGIN TRANSACTION")
    try:
        for name, where in behind["rows"]:
            known = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = 'live' "
                                               "AND schema_name = 'main' AND table_name = ?", [name]).fetchall()}
            if not where or not set(where) <= known:
                raise Untrusted(f"the state file names rows of {name!r} the live file has no columns for")
            # Table and column names checked against the live file's catalogue just above.
            pick = " AND ".join(f'"{column}" = ${k}' for k, column in enumerate(where, 1))
            values = {str(k): v for k, v in enumerate(where.values(), 1)}
            con.execute(f'DELETE FROM new.main."{name}" WHERE {pick}', values)
            con.execute(f'INSERT INTO new.main."{name}" BY NAME SELECT * FROM live.main."{name}" WHERE {pick}', values)
        if ledger:
            con.execute("INSERT INTO new.main.credit_events BY NAME SELECT * FROM live.main.credit_events "
                        "WHERE event_id IN (SELECT unnest($ids))", {"ids": ledger})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    undo.appended(con, ledger)


def _undo_tables(con, alias: str) -> list[str]:
    return [r[0][len("undo_"):] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name LIKE 'undo\\_%' ESCAPE '\\'", [alias]).fetchall()]


def _copy_rows(con, name: str, import_id: int) -> None:
    """The rows import_id wrote to `name`, as the live file has them now, in place of the standby's
    rows of the same keys; and its rows for undo."""
    keys = (f"SELECT 1 FROM live.main.undo_{name} k WHERE k.undo_import = $id AND NOT k.undo_old "
            f"AND {undo._match(name, 'e', 'k')}")
    if name != "meta":  # meta is taken whole afterwards
        if not spec.TABLES[name].append_only:  # an append-only table had none of the keys before
            con.execute(f"DELETE FROM new.main.{name} e WHERE EXISTS ({keys})", {"id": import_id})
        con.execute(f"INSERT INTO new.main.{name} BY NAME SELECT e.* FROM live.main.{name} e WHERE EXISTS ({keys})",
                    {"id": import_id})
    con.execute(f"INSERT INTO new.main.undo_{name} BY NAME SELECT * FROM live.main.undo_{name} "
                "WHERE undo_import = $id", {"id": import_id})


def _differing_counts(con) -> list[str]:
    tables = {}
    for alias in ("live", "new"):
        tables[alias] = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
            [alias]).fetchall()}
    out = sorted(tables["live"] ^ tables["new"])
    # Names from the catalogue, never input.
    out += [t for t in sorted(tables["live"] & tables["new"]) if con.execute(
        f'SELECT (SELECT count(*) FROM live.main."{t}") = (SELECT count(*) FROM new.main."{t}")').fetchone()[0]
        is not True]
    return out
