"""Import speed: ledger rows per second from a generated CSV and Parquet file of a million rows,
and seconds for a 100,000-row workbook. Prints figures; asserts nothing.

    python -m benchmarks import [--rows N] [--repeat K]
"""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from analytics import db, demo
from analytics.ingest import import_file

LEDGER_COLUMNS = ("event_id AS 记录编号, '个人' AS 主体类型, subject_id AS 主体编号, indicator_code AS 指标代码, "
                  "points AS 积分, strftime(occurred_at, '%Y-%m-%d %H:%M:%S') AS 发生时间, '网格员' AS 登记人")


def _ledger(con, rows: int, first_id: int) -> str:
    return f"""
        WITH p AS (SELECT list(person_id) AS ids FROM people),
             i AS (SELECT list(indicator_code) AS codes FROM credit_indicators WHERE subject_type = 'person')
        SELECT {first_id} + k AS event_id, p.ids[1 + (k * 7919) % len(p.ids)] AS subject_id,
               i.codes[1 + k % len(i.codes)] AS indicator_code, ((k % 11) - 3)::DECIMAL(8, 2) AS points,
               TIMESTAMP '2026-01-01' + to_seconds(k % 25000000) AS occurred_at
        FROM range({rows}) t(k), p, i"""


def run(rows: int = 1_000_000, xlsx_rows: int = 100_000, repeat: int = 5, out=print) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gridgov-bench-import-"))
    try:
        base = folder / "base.duckdb"
        out("正在生成小规模演示数据库(规模 0.05)……")
        demo.build_demo_file(base, scale=0.05)
        with db.connect(base, read_only=True) as con:
            first = con.execute("SELECT max(event_id) + 1 FROM credit_events").fetchall()[0][0]
            select = _ledger(con, rows, first)
            csv_path, parquet_path = folder / "ledger.csv", folder / "ledger.parquet"
            con.execute(f"COPY (SELECT {LEDGER_COLUMNS} FROM ({select})) TO '{csv_path}' (HEADER, DELIMITER ',')")
            con.execute(f"COPY (SELECT {LEDGER_COLUMNS} FROM ({select})) TO '{parquet_path}' (FORMAT parquet)")
            small = con.execute(f"SELECT {LEDGER_COLUMNS} FROM ({_ledger(con, xlsx_rows, first)})").df()
        xlsx_path = folder / "ledger.xlsx"
        _write_xlsx(small, xlsx_path)
        size = base.stat().st_size / 1e6
        out(f"数据库 {size:.0f} MB;CSV {csv_path.stat().st_size / 1e6:.0f} MB,{rows:,} 行")
        out(f"每种格式导入 {repeat} 次(每次导入一份新的数据库副本),取中位数")
        for label, path, n in (("CSV", csv_path, rows), ("Parquet", parquet_path, rows), ("Excel", xlsx_path, xlsx_rows)):
            times = []
            for _ in range(repeat):
                target = folder / f"target-{label}.duckdb"
                shutil.copyfile(base, target)
                t0 = time.perf_counter()
                result = import_file(path, target)
                times.append(time.perf_counter() - t0)
                shutil.rmtree(folder / "backups", ignore_errors=True)
            seconds = statistics.median(times)
            added = result.counts.get("credit_events", {}).get("added", 0)
            out(f"{label:<8} {n:>10,} 行  中位 {seconds:6.2f} 秒(最快 {min(times):.2f})  {n / seconds:>12,.0f} 行/秒  "
                f"状态 {result.status},新增 {added:,} 行")
            if not result.ok:
                out(result.problems.head(5).to_string())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _write_xlsx(frame, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("积分台账")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, int) else v for v in row])
    book.save(path)
