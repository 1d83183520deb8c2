"""The database: where it lives, how to open it, and its versioned schema."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "gridgov.duckdb"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "sql" / "migrations"


def default_db_path() -> Path:
    return Path(os.environ.get("GRIDGOV_DB", DEFAULT_DB))


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = re.fullmatch(r"(\d+)_(\w+)\.sql", path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"迁移脚本编号不连续: {versions}")
    return found


def connect(path: Path | str | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path) if path is not None else default_db_path()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


CATALOG = "gridgov"


def attach_read_only(path) -> duckdb.DuckDBPyConnection:
    """The file attached read-only to an in-memory instance of its own, as catalog `gridgov`.
    A plain duckdb.connect(path) would hand back an instance already open on the same path, even
    after an import has replaced the file there; a new instance per version reads the new file
    while sessions on the old one finish undisturbed."""
    con = duckdb.connect()
    con.execute(f"ATTACH $path AS {CATALOG} (READ_ONLY)", {"path": str(path)})
    con.execute(f"USE {CATALOG}")
    return con


def cursor(con) -> duckdb.DuckDBPyConnection:
    """A new cursor on con's instance, pointed at the data. A cursor starts in its instance's default
    catalog, which is not the data when the file is attached (attach_read_only). Only the new cursor
    is queried: con may be shared by every session's thread, and a query on it from two threads at
    once fails (ResourceInUseException)."""
    cur = con.cursor()
    if cur.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG]).fetchall()[0][0]:
        cur.execute(f"USE {CATALOG}")
    return cur


def version(con) -> tuple[str, int] | None:
    """(path, modification time) of the file con reads when it is opened read-only: a version that
    cannot change while readers hold it (an import replaces the file). None for a writable file."""
    rows = con.execute("SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
                       ).fetchall()
    if not rows or not rows[0][1] or not rows[0][0]:
        return None
    return rows[0][0], os.stat(rows[0][0]).st_mtime_ns


def schema_version(con) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(con, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations newer than the file's version, each in its own transaction.

    Returns the versions applied; an up-to-date file is left untouched.
    """
    migrations = load_migrations() if migrations is None else migrations
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    current = schema_version(con)
    applied = []
    for migration in migrations:
        if migration.version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied


def init_db(path: Path | str | None = None) -> list[int]:
    with connect(path) as con:
        return migrate(con)


def table_counts(con) -> dict[str, int]:
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    ]
    # Table names come from the catalogue, never from input, so quoting them is safe.
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def query(con, sql: str, params: dict):
    """Run sql with the parameters it names bound, as DuckDB's own parser reads its names (the usual
    parameters of a metric, period and scope, go to every query, and DuckDB refuses unused ones); a DataFrame."""
    (statement,) = duckdb.extract_statements(sql)
    return con.execute(sql, {k: v for k, v in params.items() if k in statement.named_parameters}).df()


def get_meta(con, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else default
