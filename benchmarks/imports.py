"""Import cost: a 60-ticket (and a 60-row ledger) import at several database sizes, its time beside
the time to read and check the same file, the importing process's peak memory and the disk it adds;
and, with --rows, ledger rows per second from a generated CSV and Parquet file and seconds for a
100,000-row workbook. Prints figures; asserts nothing.

    python -m benchmarks import [--sizes 1,10] [--tickets 60]
    python -m benchmarks import --rows N [--repeat K]
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import statistics
import tempfile
import time
from pathlib import Path

from analytics import db, demo, summary
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


# --- an import against the database's size ----------------------------------------------------------

# Run in a child so that its peak memory and processor time are its own.
CHILD = """
import json, sys, time
from analytics import ingest
t0 = time.perf_counter()
if sys.argv[1] == "check":
    result = ingest.check(sys.argv[2], sys.argv[3])
    status = "ok" if result.ok else "rejected"
else:
    result = ingest.import_file(sys.argv[2], sys.argv[3])
    status = result.status
seconds = time.perf_counter() - t0
# The peak of this process's own memory: ru_maxrss would also count the parent's at the fork.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "status": status, "peak_kb": peak}))
"""


def _child(kind: str, path: Path, db_path: Path) -> tuple[dict, float, float]:
    """The child's own answer, its peak memory in MB (VmHWM) and its processor seconds (user and system:
    on a machine other work shares, steadier than the time on the clock)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(path), str(db_path)], cwd=db.ROOT,
                             stdout=subprocess.PIPE, text=True)
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"子进程失败({child.returncode})")
    answer = json.loads(stdout.strip().splitlines()[-1])
    return answer, answer["peak_kb"] / 1024, usage.ru_utime + usage.ru_stime


def disk_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk, each file counted once however many names it has."""
    seen, total = set(), 0
    for p in folder.rglob("*"):
        st = p.lstat()
        if p.is_file() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def grown_database(millions: float, base: Path, out=print) -> Path:
    """The scale-1 demo county with its ledger replicated to about `millions` million rows (kept
    under data/ for the next run)."""
    path = db.ROOT / "data" / f"bench-ledger{millions:g}m.duckdb"
    if path.exists():
        with db.connect(path) as con:
            if db.migrate(con) or not summary.is_fresh(con):  # built by an earlier release
                summary.refresh(con)
                con.execute("CHECKPOINT")
        return path
    out(f"正在生成约 {millions:g} 百万行台账的数据库 {path} …")
    t0 = time.perf_counter()
    tmp = path.with_name(path.name + ".building")
    shutil.copyfile(base, tmp)
    with db.connect(tmp) as con:
        db.migrate(con)  # before the copies, not in the first import timed
        rows, top = con.execute("SELECT count(*), max(event_id) FROM credit_events").fetchone()
        for k in range(1, max(1, round(millions * 1e6 / rows))):
            con.execute("""INSERT INTO credit_events SELECT * REPLACE (event_id + $k * $top AS event_id,
                               reverses_event_id + $k * $top AS reverses_event_id)
                           FROM credit_events WHERE event_id <= $top""", {"k": k, "top": top})
        summary.refresh(con)
        con.execute("CHECKPOINT")
    os.replace(tmp, path)
    out(f"已生成,用时 {time.perf_counter() - t0:.0f} 秒")
    return path


def _tickets_file(con, folder: Path, tickets: int, tag: str) -> Path:
    """`tickets` new flat tickets in the data's last month, each in a grid of the county."""
    grids = [r[0] for r in con.execute("SELECT grid_id FROM grids ORDER BY grid_id").fetchall()]
    as_of = dt.date.fromisoformat(db.get_meta(con, "as_of"))
    path = folder / f"tickets-{tag}.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("工单编号,所在网格,诉求类别,提单时间,接单时间,结果公开时间,评分,评分人类别\n")
        for k in range(tickets):
            day = as_of - dt.timedelta(days=k % 20)
            f.write(f"BENCH-{tag}-{k:04d},{grids[k * 7 % len(grids)]},停车充电,{day} 08:00,{day} 10:00,"
                    f"{day} 18:00,5,群众\n")
    return path


def _ledger_file(con, folder: Path, rows: int, tag: str) -> Path:
    people = [r[0] for r in con.execute(f"SELECT person_id FROM people ORDER BY person_id LIMIT {rows}").fetchall()]
    first = con.execute("SELECT max(event_id) + 1 FROM credit_events").fetchone()[0]
    as_of = dt.date.fromisoformat(db.get_meta(con, "as_of"))
    path = folder / f"ledger-{tag}.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("记录编号,主体类型,主体编号,积分,发生时间\n")
        for k in range(rows):
            f.write(f"{first + k},个人,{people[k % len(people)]},5,{as_of - dt.timedelta(days=k % 20)} 09:00\n")
    return path


def growth(sizes: list[float], tickets: int = 60, out=print) -> int:
    """Time, peak memory and disk growth of importing `tickets` tickets (and as many ledger rows) into
    databases of each size (millions of ledger rows), beside the time to read and check the same file."""
    from . import metrics

    base = metrics.ensure_database(1.0, db.ROOT / "data" / "bench-scale1.duckdb", out)
    out("读取检查、导入:子进程用时(括号内为其处理器时间);超出读取 = 导入 - 读取检查")
    out(f"{'台账行数':>12} {'数据库':>9} {'文件':<10} {'读取检查':>14} {'导入':>14} {'超出读取':>8} "
        f"{'峰值内存':>8} {'磁盘增长':>9}")
    for millions in sizes:
        source = grown_database(millions, base, out)
        folder = Path(tempfile.mkdtemp(prefix="gridgov-bench-growth-"))
        try:
            target = folder / "gridgov.duckdb"
            shutil.copyfile(source, target)
            with db.connect(target, read_only=True) as con:
                ledger_rows = con.execute("SELECT count(*) FROM credit_events").fetchone()[0]
                # The first import into a single file sets up its standby (and keeps the day's backup): a
                # whole copy each, once. The ones after it are what an import costs from then on; the
                # second is the first written into the standby, the last the first into neither file first.
                files = [("首次工单", _tickets_file(con, folder, tickets, "s")),
                         ("工单", _tickets_file(con, folder, tickets, "t")),
                         ("台账", _ledger_file(con, folder, tickets, "l")),
                         ("再次工单", _tickets_file(con, folder, tickets, "u"))]
            for label, path in files:
                # What earlier writes left unwritten (the copy above, the first import's two whole copies)
                # goes to disk first: imports come minutes apart, not back to back, and the kernel writes
                # it out within half a minute; left, it is paid by the next import's first fsync.
                os.sync()
                checked, _, check_cpu = _child("check", path, target)
                before = disk_bytes(folder) - path.stat().st_size
                done, peak, cpu = _child("import", path, target)
                grown = disk_bytes(folder) - path.stat().st_size - before
                out(f"{ledger_rows:>12,} {target.stat().st_size / 1e6:>7.0f}MB {label}{tickets:<4} "
                    f"{checked['seconds']:>6.2f}s({check_cpu:5.2f}) {done['seconds']:>6.2f}s({cpu:5.2f}) "
                    f"{done['seconds'] - checked['seconds']:>7.2f}s {peak:>6.0f}MB {grown / 1e6:>7.1f}MB  "
                    f"{done['status']}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    out("磁盘增长:对单个文件的第一次导入建立备用文件(整份复制,仅一次,此后常备一份),当天第一次导入把原文件整份复制为备份"
        "(每天至多一份,供文件损坏时恢复);其后的导入只增加数据本身和撤销所需的行")
    return 0
