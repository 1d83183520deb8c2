import subprocess
import sys

import pytest

from analytics import db

ROOT = db.ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_init_on_the_demo_file_changes_no_row_count(small_path):
    with db.connect(small_path, read_only=True) as con:
        before = db.table_counts(con)
    result = run("init", "--db", str(small_path))
    assert result.returncode == 0, result.stderr
    assert "已是最新" in result.stdout
    with db.connect(small_path, read_only=True) as con:
        assert db.table_counts(con) == before


def test_init_creates_an_empty_database(tmp_path):
    path = tmp_path / "new" / "g.duckdb"
    result = run("init", "--db", str(path))
    assert result.returncode == 0, result.stderr
    with db.connect(path, read_only=True) as con:
        assert db.schema_version(con) == len(db.load_migrations())
        assert db.table_counts(con)["grids"] == 0


def test_demo_builds_a_small_county_and_replaces_an_older_demo(tmp_path):
    path = tmp_path / "d.duckdb"
    for seed in ("1", "2"):
        result = run("demo", "--db", str(path), "--scale", "0.02", "--seed", seed, "--end", "2026-06-30")
        assert result.returncode == 0, result.stderr
        assert "演示数据已写入" in result.stdout
    with db.connect(path, read_only=True) as con:
        assert db.get_meta(con, "demo_seed") == "2"
        assert db.get_meta(con, "as_of") == "2026-06-30"
    assert not (tmp_path / "d.duckdb.building").exists()


def test_demo_never_overwrites_imported_data(tmp_path):
    path = tmp_path / "real.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("INSERT INTO grids (grid_id, community_id, name) VALUES ('G1', 'C1', '第1网格')")
        con.execute("INSERT INTO meta VALUES ('source', 'import')")
    result = run("demo", "--db", str(path), "--scale", "0.02")
    assert result.returncode == 2
    assert "--force" in result.stderr
    with db.connect(path, read_only=True) as con:
        assert db.table_counts(con)["grids"] == 1


@pytest.mark.parametrize("args, message", [
    (["demo", "--end", "2026-13-01"], "日期格式应为 YYYY-MM-DD"),
    (["demo", "--scale", "0"], "规模系数必须大于 0"),
    (["demo", "--scale", "abc"], "规模系数应为数字"),
])
def test_bad_arguments_are_explained_in_chinese(tmp_path, args, message):
    result = run(*args, "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2
    assert message in result.stderr


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("这不是数据库")
    result = run("demo", "--db", str(path), "--scale", "0.02")
    assert result.returncode == 2
    assert "不是本系统的数据库文件" in result.stderr
    assert path.read_text() == "这不是数据库"


def test_metric_csv_from_a_database_built_with_plain_sql(tmp_path):
    """The way another tool would load data: init, plain SQL, refresh, then the CSVs."""
    import csv
    import io

    from tests.test_credit import EXPECTED_Q3, SETUP as CREDIT_SETUP

    path = tmp_path / "hand.duckdb"
    assert run("init", "--db", str(path)).returncode == 0
    with db.connect(path) as con:
        con.execute(CREDIT_SETUP)
    refreshed = run("refresh", "--db", str(path))
    assert refreshed.returncode == 0, refreshed.stderr
    result = run("metric", "grid-credit-ranking", "--db", str(path), "--period", "2026Q3")
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    got = [(r["网格编号"], int(r["居民"]), float(r["积分"]), float(r["人均积分"]), int(r["名次"]),
            int(r["上期名次"]), int(r["名次变化"]), r["红旗网格"]) for r in table]
    assert got == [(*row[:-1], "是" if row[-1] else "否") for row in EXPECTED_Q3]
    assert {r["社区编号"] for r in table} == {"C1", "C2"}


def test_metric_formats_list_and_errors(tmp_path, small_path):
    listing = run("metric", "--list")
    assert listing.returncode == 0 and "grid-credit-ranking" in listing.stdout and "网格信用积分排名" in listing.stdout
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / f"r.{fmt}"
        result = run("metric", "ticket-resolution", "--db", str(small_path), "--period", "2026Q3",
                     "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 100
    import openpyxl
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert [c.value for c in sheet[1]][:4] == ["网格编号", "网格", "社区编号", "社区"]
    assert sheet.title == "工单办结用时(按网格)"
    for args, message in [
        (["metric", "no-such-metric", "--period", "2026Q3"], "未知的指标"),
        (["metric", "ticket-resolution", "--period", "2026Q9"], "无法识别的统计期"),
        (["metric", "ticket-resolution", "--period", "2026Q3", "--scope", "C:999"], "未知的社区编号: 999"),
        (["metric", "grid-ledger", "--period", "2026Q3"], "需要指定网格编号"),
    ]:
        result = run(*args, "--db", str(small_path))
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_metric_dictionary_document_is_current():
    from analytics import metrics

    assert (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8") == metrics.render_markdown()
