"""Growth: the grid ranking, the monthly publication list and a small import at 1, 10 and 50 million
ledger rows (the scale-1 county's ledger replicated), and the same ranking on Spark in local mode
over the Parquet export. Prints figures; asserts nothing.

    python -m benchmarks scale [--millions 1 10 50] [--repeat K] [--no-spark] [--base scale1.duckdb]
"""

import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from analytics import credit, db, demo, parquet, spark, summary
from analytics.ingest import import_file

from .imports import LEDGER_COLUMNS

END = dt.date(2026, 11, 28)
QUARTER, MONTH = "2026Q3", "2026-09"
CODE = "370321"


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _grow(path: Path, rows: int) -> int:
    """Append copies of the scale-1 ledger (new ids, same people and times) until it holds `rows`."""
    with db.connect(path) as con:
        base, top = con.execute("SELECT count(*), max(event_id) FROM credit_events").fetchone()
        copies = max(0, round(rows / base) - 1)
        con.execute("""
            INSERT INTO credit_events BY NAME
            SELECT e.* EXCLUDE (event_id, reverses_event_id), e.event_id + r.c * $top AS event_id,
                   e.reverses_event_id + r.c * $top AS reverses_event_id
            FROM credit_events e, range(1, $copies + 1) r(c) WHERE e.event_id <= $top
        """, {"top": top, "copies": copies})
        summary.refresh(con)
        return con.execute("SELECT count(*) FROM credit_events").fetchone()[0]


def _import_seconds(path: Path, folder: Path) -> tuple[float, int]:
    """Seconds to import a 60-row ledger CSV into a copy of the database; the copy's size in MB."""
    target = folder / "import.duckdb"
    shutil.copyfile(path, target)
    csv_path = folder / "sixty.csv"
    with db.connect(target, read_only=True) as con:
        # Sixty of the county's own 2026 events under new ids: rows the importer's checks accept.
        con.execute(f"""COPY (SELECT {LEDGER_COLUMNS} FROM (
                            SELECT * REPLACE ((SELECT max(event_id) FROM credit_events) + row_number() OVER () AS event_id)
                            FROM credit_events WHERE subject_type = 'person' AND reverses_event_id IS NULL
                              AND NOT coalesce(adjustment, false) AND occurred_at >= '2026-01-01' LIMIT 60))
                        TO '{csv_path}' (HEADER)""")
    t0 = time.perf_counter()
    result = import_file(csv_path, target)
    seconds = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(result.message)
    size = target.stat().st_size // 10**6
    target.unlink()
    shutil.rmtree(folder / "backups", ignore_errors=True)
    return seconds, size


def run(millions=(1, 10, 50), repeat: int = 3, with_spark: bool = True, base: Path | None = None, out=print) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gridgov-bench-scale-", dir=base.parent if base else None))
    session = None
    try:
        base = base or folder / "scale1.duckdb"
        if not base.exists():
            out(f"正在生成规模 1 的演示县到 {base}……")
            demo.build_demo_file(base, end=END)
        if with_spark:
            session = spark.session("local[2]", **{"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false",
                                                   "spark.driver.memory": "4g"})
            session.sparkContext.setLogLevel("ERROR")
        out(f"每项取 {repeat} 次的中位数;排名 {QUARTER},公示 {MONTH};导入为 60 行积分台账 CSV")
        for m in millions:
            path = folder / f"ledger-{m}m.duckdb"
            shutil.copyfile(base, path)
            t0 = time.perf_counter()
            rows = _grow(path, m * 1_000_000)
            grown = time.perf_counter() - t0
            with db.connect(path, read_only=True) as con:
                ranking = _median(lambda: credit.grid_credit_ranking(con, QUARTER), repeat)
                publication = _median(lambda: credit.monthly_publication(con, MONTH), repeat)
            imported, size = _import_seconds(path, folder)
            out(f"{rows:>12,} 行  库 {size:,} MB(复制并汇总 {grown:.0f} 秒)  排名 {ranking * 1000:7.0f} 毫秒  "
                f"公示 {publication * 1000:7.0f} 毫秒  导入 60 行 {imported:6.1f} 秒")
            if session is not None:
                lake = folder / f"lake-{m}m"
                t0 = time.perf_counter()
                with db.connect(path, read_only=True) as con:
                    parquet.export(con, lake, CODE)
                exported = time.perf_counter() - t0
                county = spark.SparkCounty(session, lake, CODE)
                first = _median(lambda: credit.grid_credit_ranking(county, QUARTER), 1)
                again = _median(lambda: credit.grid_credit_ranking(county, QUARTER), repeat)
                with duckdb.connect() as con:
                    parquet.views(con, lake, CODE)
                    on_parquet = _median(lambda: credit.grid_credit_ranking(con, QUARTER), repeat)
                out(f"{'':>12}     Parquet 导出 {exported:.0f} 秒;同一份 Parquet 上的排名:Spark local[2] 首次 {first:.1f} 秒、"
                    f"之后 {again:.1f} 秒,DuckDB {on_parquet:.2f} 秒")
            path.unlink()
            shutil.rmtree(folder / f"lake-{m}m", ignore_errors=True)
    finally:
        if session is not None:
            session.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0
