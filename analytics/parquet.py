"""A county's data as Parquet, for engines past one machine (analytics.spark).

Hive partitioning by county and, for the tables that grow with time, by month:
DIR/credit_events/county_code=370321/month=2026-07/data_0.parquet. Each county writes only its
own folders, so a province's counties export into one DIR independently; a county's folder is
written beside the old one and swapped in, so a reader never sees it half-written.
"""

import re
import shutil
from pathlib import Path

from . import db

# The tables the metrics read, and for those that grow with time the column giving the month.
TABLES = {
    "subdistricts": None,
    "communities": None,
    "grids": None,
    "people": None,
    "residence_history": None,
    "person_roles": None,
    "organizations": None,
    "volunteer_teams": None,
    "team_members": None,
    "volunteer_activities": "started_at",
    "credit_indicators": None,
    "credit_events": "occurred_at",
    "tickets": None,
    "ticket_events": "occurred_at",
    "ticket_ratings": None,
    "appeals": None,
    "flag_checks": None,
}

_COUNTY_CODE = re.compile(r"\d{6}")


def county_code(con, given: str | None = None) -> str:
    """The county's administrative code (6 digits): as given, else as stored in meta."""
    code = given or (db.get_meta(con, "county_code") if con is not None else None)
    if not code:
        raise ValueError("数据库中未记录县区代码(meta 表 county_code),请用 --county-code 指定,例如桓台县为 370321")
    if not _COUNTY_CODE.fullmatch(code):
        raise ValueError(f"县区代码应为 6 位数字,收到: {code!r}")
    return code


def export(con, root: Path | str, code: str) -> dict[str, int]:
    """Write TABLES of con's county under root; returns the rows written per table."""
    root = Path(root)
    counts = {}
    for table, month_column in TABLES.items():
        final = root / table / f"county_code={code}"
        # A leading dot: Spark and DuckDB's hive reader skip the folder while it is being written.
        partial = final.with_name(f".{final.name}.writing")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        # Table and column names come from TABLES above; the path is bound.
        if month_column:
            con.execute(f"""COPY (SELECT *, strftime({month_column}, '%Y-%m') AS month FROM {table})
                            TO $dir (FORMAT PARQUET, PARTITION_BY (month), OVERWRITE_OR_IGNORE)""",
                        {"dir": str(partial)})
        else:
            con.execute(f"COPY {table} TO $file (FORMAT PARQUET)", {"file": str(partial / "data_0.parquet")})
        counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    return counts


def views(con, root: Path | str, code: str) -> None:
    """One county of an export as views under the tables' names in con (an in-memory DuckDB), with
    an empty meta: the metrics run on it as on the county's own file whose summaries are stale."""
    for table, month_column in TABLES.items():
        pattern = str(Path(root) / table / "*" / ("*/*.parquet" if month_column else "*.parquet"))
        # A view's definition takes no bound parameters: the code is six digits and the path holds
        # no quote, checked here, before they are written in; table names come from TABLES.
        if "'" in pattern or not _COUNTY_CODE.fullmatch(code):
            raise ValueError(f"无法读取 {pattern}")
        con.execute(f"""CREATE OR REPLACE VIEW {table} AS
                        SELECT * EXCLUDE (county_code{", month" if month_column else ""})
                        FROM read_parquet('{pattern}', hive_partitioning = true, hive_types_autocast = false)
                        WHERE county_code = '{code}'""")
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
