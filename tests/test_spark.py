"""The metrics on Apache Spark (local mode) over the Parquet export of two demo counties give
DuckDB's answers, figure for figure."""

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from analytics import demo, parquet, spark
from analytics.__main__ import main
from analytics.period import COUNTY, Area, parse_period

from conftest import END

# PySpark 4.3 warns about pandas 3 at every conversion; the answers are compared all the same.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support", "ignore:The copy keyword")

# Two counties, differently seeded: the same ids (grid 101-01 ...) with different data, so a view
# that leaked one county's rows into the other's would change the answers.
COUNTIES = {"370321": 7, "370322": 8}


@pytest.fixture(scope="module")
def counties(tmp_path_factory, small_path):
    """county code -> its DuckDB file (seed 7 is the suite's small county), all exported into one lake."""
    root = tmp_path_factory.mktemp("lake")
    paths = {"370321": small_path}
    paths["370322"] = root / "370322.duckdb"
    demo.build_demo_file(paths["370322"], scale=0.05, seed=COUNTIES["370322"], end=END)
    for code, path in paths.items():
        assert main(["export", "--db", str(path), "--parquet", str(root / "lake"), "--county-code", code]) == 0
    return root / "lake", paths


@pytest.fixture(scope="module")
def session():
    s = spark.session("local[2]", **{"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false",
                                     "spark.default.parallelism": "2"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def _grids(con, community):
    return Area(tuple(r[0] for r in con.execute(
        "SELECT grid_id FROM grids WHERE community_id = ? ORDER BY 1", [community]).fetchall()), "一个社区")


# (metric function, period, scope or a function of the connection giving one, options)
CASES = {
    "ranking-quarter": ("analytics.credit.grid_credit_ranking", "2026Q3", COUNTY, {}),
    "ranking-community": ("analytics.credit.grid_credit_ranking", "2026-09", lambda con: _grids(con, "102"), {}),
    "resolution-grid": ("analytics.tickets.ticket_resolution", "2026Q3", COUNTY, {"by": "grid"}),
    # Not whole months: DuckDB reads the ledger, not its summaries.
    "resolution-county": ("analytics.tickets.ticket_resolution", "2026-01-01..2026-11-28", COUNTY, {"by": "county"}),
    "volunteers": ("analytics.volunteers.volunteer_summary", "2026Q3", COUNTY, {}),
    "volunteers-by-kind": ("analytics.volunteers.volunteer_breakdown", "2026-08-10..2026-10-20", COUNTY, {"by": "kind"}),
}


def _function(name):
    module, _, function = name.rpartition(".")
    return getattr(__import__(module, fromlist=[function]), function)


@pytest.mark.parametrize("code", list(COUNTIES))
def test_spark_gives_duckdbs_answers(counties, session, code):
    lake, paths = counties
    on_spark = spark.SparkCounty(session, lake, code)
    with duckdb.connect(str(paths[code]), read_only=True) as con:
        for case, (name, period, scope, options) in CASES.items():
            scope = scope(con) if callable(scope) else scope
            expected = _function(name)(con, parse_period(period), scope, **options)
            got = _function(name)(on_spark, parse_period(period), scope, **options)
            assert len(expected), f"{case}: no rows to compare"
            pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=0, atol=1e-9,
                                          obj=f"{code} {case}")


def test_counties_differ(counties):
    """The comparison means something: the two counties' rankings are not the same (on DuckDB, which
    Spark matches county by county above)."""
    _, paths = counties
    from analytics.credit import grid_credit_ranking

    rankings = []
    for code in COUNTIES:
        with duckdb.connect(str(paths[code]), read_only=True) as con:
            rankings.append(grid_credit_ranking(con, "2026Q3"))
    assert not rankings[0]["points"].equals(rankings[1]["points"])


@pytest.mark.parametrize("value, expected", [
    ("x' OR '1'='1", "x' OR '1'='1"),  # a quote in a value stays inside the literal
    ("反斜杠\\'; --", "反斜杠\\'; --"),
    (2.5, 2.5),
    (True, True),
    (dt.date(2026, 7, 1), dt.date(2026, 7, 1)),
    (dt.datetime(2026, 7, 1, 8, 30), dt.datetime(2026, 7, 1, 8, 30)),
    (None, None),
])
def test_parameters_become_literals(session, value, expected):
    assert session.sql(spark.transpile("SELECT $v AS v", {"v": value})).collect()[0]["v"] == expected


def test_lists_become_arrays(session):
    sql = spark.transpile("SELECT list_contains($ids, 'b') AS hit, list_contains($none, 'b') AS miss",
                          {"ids": ["a", "b"], "none": []})
    assert tuple(session.sql(sql).collect()[0]) == (True, False)


def test_a_parameter_left_unbound_is_an_error():
    with pytest.raises(KeyError, match=r"\$end"):
        spark.transpile("SELECT * FROM t WHERE d >= $start AND d < $end", {"start": dt.date(2026, 7, 1)})


def test_export_is_partitioned_by_county_and_month(counties):
    lake, paths = counties
    july = sorted(p.name for p in (lake / "credit_events" / "county_code=370321" / "month=2026-07").iterdir())
    assert july and all(name.endswith(".parquet") for name in july)
    assert (lake / "grids" / "county_code=370322" / "data_0.parquet").exists()
    found = duckdb.sql(f"""
        SELECT county_code, count(*), count(*) FILTER (WHERE strftime(occurred_at, '%Y-%m') <> month)
        FROM read_parquet('{lake}/credit_events/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false)
        GROUP BY 1 ORDER BY 1
    """).fetchall()
    counts = {code: duckdb.connect(str(p), read_only=True).execute("SELECT count(*) FROM credit_events").fetchone()[0]
              for code, p in paths.items()}
    assert found == [(code, counts[code], 0) for code in sorted(COUNTIES)]


def test_export_again_replaces_the_countys_files(tmp_path, small_path):
    lake = tmp_path / "lake"
    for _ in range(2):
        assert main(["export", "--db", str(small_path), "--parquet", str(lake), "--county-code", "370399"]) == 0
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/people/*/*.parquet')").fetchall()[0][0]
    with duckdb.connect(str(small_path), read_only=True) as con:
        assert rows == con.execute("SELECT count(*) FROM people").fetchone()[0]
    assert not [p for p in (lake / "people").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("code, message", [
    (None, "未记录县区代码"),
    ("37032", "6 位数字"),
    ("../x", "6 位数字"),
])
def test_export_needs_a_county_code(tmp_path, small_path, capsys, code, message):
    path = tmp_path / "c.duckdb"  # a county file that records no code (the demo records Huantai's)
    shutil.copy(small_path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM meta WHERE key = 'county_code'")
    args = ["export", "--db", str(path), "--parquet", str(tmp_path / "lake")]
    assert main(args + (["--county-code", code] if code else [])) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_export_takes_the_code_stored_in_meta(tmp_path, small_path):
    path = tmp_path / "c.duckdb"
    shutil.copy(small_path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('county_code', '370303')")
    assert main(["export", "--db", str(path), "--parquet", str(tmp_path / "lake")]) == 0
    assert (tmp_path / "lake" / "grids" / "county_code=370303").is_dir()


def test_spark_command_refuses_a_metric_not_compared(capsys, tmp_path):
    assert main(["spark", "county-profile", "--parquet", str(tmp_path), "--county-code", "370321",
                 "--period", "2026Q3"]) == 2
    assert "尚未在 Spark 上验证" in capsys.readouterr().err


def test_duckdb_reads_a_county_of_the_export(counties):
    """The same export read back by DuckDB (a city deployment without Spark): the file's answers."""
    from analytics.credit import grid_credit_ranking

    lake, paths = counties
    for code, path in paths.items():
        with duckdb.connect() as con, duckdb.connect(str(path), read_only=True) as own:
            parquet.views(con, lake, code)
            pd.testing.assert_frame_equal(grid_credit_ranking(con, "2026Q3"), grid_credit_ranking(own, "2026Q3"),
                                          check_exact=False, rtol=0, atol=1e-9)
