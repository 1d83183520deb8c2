"""The importer: row-level problems, encodings, headers, re-imports, all-or-none, undo, the log,
readers during an import, lock contention, mapping files and the command line."""

import codecs
import datetime as dt
import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import openpyxl
import pytest

from analytics import access, db, ingest
from analytics.ingest import load, read
from helpers import write

read_number_rows = read.number_rows

DATA = Path(__file__).parent / "data"
MAPPING_311 = db.ROOT / "docs" / "mappings" / "311.yaml"

LEDGER_HEADER = "记录编号,主体类型,主体编号,指标代码,积分,发生时间\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(path: Path) -> dict:
    """Row counts and a checksum of every data table's contents."""
    with db.connect(path, read_only=True) as con:
        counts = db.table_counts(con)
        sums = {t: con.execute(f'SELECT sum(hash(x)) FROM (SELECT * FROM "{t}") x').fetchone()[0] for t in counts}
    return {"counts": counts, "sums": sums}


# --- row-level problems ------------------------------------------------------------------------

@pytest.mark.parametrize("rows, row, column, fragment", [
    ("10,个人,P1,I1,abc,2026-09-01 10:00\n", 2, "积分", "不是有效的数字"),
    ("10,个人,P1,I1,5,2026-13-01\n", 2, "发生时间", "不是有效的时间"),
    ("10,居民,P1,I1,5,2026-09-01\n", 2, "主体类型", "不在允许的取值中"),
    ("10,个人,,I1,5,2026-09-01\n", 2, "主体编号", "必填"),
    ("10,个人,P9,I1,5,2026-09-01\n", 2, "主体编号", "不存在"),
    ("10,组织,P1,I1,5,2026-09-01\n", 2, "主体编号", "不存在"),
    ("10,个人,P1,I9,5,2026-09-01\n", 2, "指标代码", "不存在"),
    ("10,个人,P1,I1,5,2026-09-01\n10,个人,P2,I1,5,2026-09-01\n", 3, "记录编号", "与第 3 行重复"),
    ("1,个人,P1,I1,7,2026-08-01 09:00\n", 2, "记录编号", "冲销"),
    ("x1,个人,P1,I1,5,2026-09-01\n", 2, "记录编号", "不是整数"),
])
def test_ledger_problems_name_row_column_and_cause(tiny, tmp_path, rows, row, column, fragment):
    before = digest(tiny)
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + "11,个人,P2,I1,3,2026-09-02\n" + rows)
    result = ingest.import_file(path, tiny)
    assert result.status == "rejected"
    hits = result.problems[(result.problems["行"] == row + 1) & (result.problems["列"] == column)]
    assert hits["问题"].str.contains(fragment).any(), result.problems.to_string()
    assert list(result.problems.columns) == ["文件", "工作表", "行", "列", "值", "问题"]
    assert digest(tiny) == before


def test_every_problem_is_reported_at_once(tiny, tmp_path):
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER
                 + "10,个人,P1,I1,abc,2026-09-01\n11,个人,P1,I1,5,2026-09-01\n12,某,P9,I1,5,昨天\n")
    problems = ingest.check(path, tiny).problems
    assert sorted(zip(problems["行"], problems["列"])) == [(2, "积分"), (4, "主体类型"), (4, "发生时间")]


@pytest.mark.parametrize("table, text, row, column, fragment", [
    ("volunteer_activities", "活动编号,人员编号,开始时间,时长(小时)\n1,P1,2026-09-01 08:00,25\n", 2, "时长(小时)", "不超过 24"),
    ("volunteer_activities", "活动编号,人员编号,开始时间,时长\n1,P1,2026-09-01 08:00,0\n", 2, "时长", "应大于 0"),
    ("ticket_ratings", "工单编号,评分\nT1,6\n", 2, "评分", "1–5"),
    ("people", "人员编号,出生年份\nP5,1850\n", 2, "出生年份", "1900–2100"),
    ("facilities", "设施编号,纬度,经度\nF1,40.7,-73.9\n", 2, "纬度", "桓台县范围"),
    ("credit_indicators", "指标代码,生效日期,失效日期\nI2,2026-09-01,2026-08-01\n", 2, "失效日期", "早于生效日期"),
    ("person_roles", "人员编号,职务,任职起始日期,任职截止日期\nP1,网格长,2026-09-01,2025-01-01\n", 2, "任职截止日期", "早于"),
    ("micro_wishes", "心愿编号,提出时间,实现时间\nW1,2026-09-05,2026-09-01\n", 2, "实现时间", "早于"),
    ("tickets", "工单编号,网格编号,提单时间,接单时间,结果公开时间\nT1,101-01,2026-09-02 08:00,2026-09-01 08:00,\n", 2, "接单时间", "倒退"),
    ("tickets", "工单编号,提单时间,接单时间\nT1,,2026-09-01 08:00\n", 2, "提单时间", "必须同时填写"),
    ("property_evaluations", "物业企业编号,季度,评议方,得分\nO1,2026-3,居民评议,80\n", 2, "季度", "2026Q3"),
    ("property_evaluations", "物业企业编号,季度,评议方,得分\nO1,2026Q3,居民评议,101\n", 2, "得分", "0–100"),
    ("credit_events", "记录编号,主体类型,主体编号,积分,发生时间\n10,个人,P1,1000000,2026-09-01\n", 2, "积分",
     "应在 -999999.99–999999.99 之间"),
    ("people", "人员编号,是否党员,党员类别\nP5,否,在职党员\n", 2, "党员类别", "是否党员"),
    ("people", "人员编号,是否党员\nP5,也许\n", 2, "是否党员", "是"),
    ("grids", "网格编号,所属社区\nG9,999\n", 2, "所属社区", "不存在"),
])
def test_range_order_and_reference_checks(tiny, tmp_path, table, text, row, column, fragment):
    problems = ingest.check(write(tmp_path, "f.csv", text), tiny, table=table).problems
    hits = problems[(problems["行"] == row) & (problems["列"] == column)]
    assert hits["问题"].str.contains(fragment).any(), problems.to_string()


def test_references_may_point_to_another_sheet_of_the_workbook(tiny, tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "网格"
    ws.append(["网格编号", "所属社区"])
    ws.append(["101-09", "101"])
    ws = book.create_sheet("居民")
    ws.append(["人员编号", "居住网格", "姓名"])
    ws.append(["P7", "101-09", "丙"])
    ws.append(["P8", "101-77", "丁"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    problems = ingest.check(path, tiny).problems
    assert list(zip(problems["工作表"], problems["行"], problems["列"])) == [("居民", 3, "居住网格")]


@pytest.mark.parametrize("text, fragment", [
    ("", "空"),
    ("记录编号,主体类型,主体编号,积分,发生时间\n", "没有数据行"),
    ("foo,bar\n1,2\n", "列头与任何导入模板都不符"),
])
def test_unusable_files_are_explained(tiny, tmp_path, text, fragment):
    problems = ingest.check(write(tmp_path, "f.csv", text), tiny).problems
    assert problems["问题"].str.contains(fragment).any(), problems.to_string()


def test_a_binary_file_is_not_a_spreadsheet(tiny, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(bytes(range(256)) * 10)
    assert "不是该格式" in ingest.check(path, tiny).problems["问题"].iloc[0]
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x00\x01\x02" * 100)
    assert "不是表格文件" in ingest.check(path, tiny).problems["问题"].iloc[0]


def test_unknown_and_missing_columns_name_the_table(tiny, tmp_path):
    path = write(tmp_path, "f.csv", "记录编号,主体类型,主体编号,积分,发生时间,备注栏\n10,个人,P1,5,2026-09-01\n")
    problems = ingest.check(path, tiny, table="credit_events").problems
    assert "未知的列" in problems.loc[problems["列"] == "备注栏", "问题"].iloc[0]
    path = write(tmp_path, "g.csv", "记录编号,主体类型,主体编号,积分\n10,个人,P1,5\n")
    problems = ingest.check(path, tiny, table="credit_events").problems
    assert problems["问题"].str.contains("缺少必填列“发生时间”").any()


# --- reading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(tiny, tmp_path, encoding):
    text = "人员编号,居住网格,姓名,性别\nP5,101-01,张三丰,男\nP6,101-02,李四,女\n"
    result = ingest.import_file(write(tmp_path, "people.csv", text, encoding), tiny)
    assert result.status == "imported", result.problems.to_string()
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT name, gender FROM people WHERE person_id IN ('P5', 'P6') ORDER BY 1").fetchall() == [
            ("张三丰", "M"), ("李四", "F")]


@pytest.mark.parametrize("bom, encoding", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_excel_unicode_text_utf16_with_tabs(tiny, tmp_path, bom, encoding):
    # Excel's "Unicode text" is UTF-16 with a BOM and tabs; its newline bytes are not its lines.
    text = "人员编号\t居住网格\t姓名\nP5\t101-01\t上官婉儿\n\nP6\t{grid}\t李四\n"
    path = tmp_path / "people.txt"
    path.write_bytes(bom + text.format(grid="101-09").encode(encoding))
    problems = ingest.check(path, tiny).problems
    assert list(zip(problems["行"], problems["列"], problems["值"])) == [(4, "居住网格", "101-09")], problems.to_string()
    path.write_bytes(bom + text.format(grid="101-02").encode(encoding))
    assert ingest.import_file(path, tiny).status == "imported"
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT name FROM people WHERE person_id = 'P5'").fetchone() == ("上官婉儿",)


def test_gbk_after_a_long_ascii_start_is_still_detected(tiny, tmp_path):
    # The first block decodes as UTF-8; DuckDB finds the GBK bytes further on.
    rows = "".join(f"P{k},101-01,A{k}\n" for k in range(10, 90_000)) + "\nP5,101-02,张三丰\n"
    result = ingest.import_file(write(tmp_path, "people.csv", "person_id,grid_id,name\n" + rows, "gbk"), tiny)
    assert result.status == "imported", result.problems.to_string()
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT name FROM people WHERE person_id = 'P5'").fetchone() == ("张三丰",)


def test_a_nul_byte_deep_in_a_csv_makes_it_binary(tiny, tmp_path):
    rows = "".join(f"{100 + k},个人,P1,I1,5,2026-09-01\n" for k in range(3000))
    path = tmp_path / "ledger.csv"
    path.write_bytes((LEDGER_HEADER + rows).encode() + b"101,\x00\n")
    assert "不是表格文件" in ingest.check(path, tiny).problems["问题"].iloc[0]


@pytest.mark.parametrize("cells, expected", [
    ("10, 5 ,2026-09-01 08:00 ", (10, 5, dt.datetime(2026, 9, 1, 8))),
    ("\u300010\u3000,\u00a05,\u30002026/9/1", (10, 5, dt.datetime(2026, 9, 1))),
])
def test_spaces_around_numbers_and_times_are_ignored(tiny, tmp_path, cells, expected):
    event_id, points, when = cells.split(",")
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + f"{event_id},个人, P1 ,I1,{points},{when}\n")
    result = ingest.import_file(path, tiny)
    assert result.status == "imported", result.problems.to_string()
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT event_id, points, occurred_at, subject_id FROM credit_events WHERE event_id = 10"
                           ).fetchone() == (*expected, "P1")


def test_thousands_separators_and_spelled_codes(tiny, tmp_path):
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + '10, Person ,P1,,"1,000",2026-09-01\n11,组织,O1,,"-2,500.5",2026-09-01\n')
    assert ingest.import_file(path, tiny).status == "imported"
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT event_id, subject_type, points FROM credit_events WHERE event_id >= 10 ORDER BY 1"
                           ).fetchall() == [(10, "person", 1000), (11, "org", -2500.5)]


def test_problems_name_their_line_in_a_file_read_in_parallel(tiny, tmp_path, monkeypatch):
    # 1.2 million rows, so that DuckDB reads the file in pieces on several threads; a row of
    # empty cells on line 500,002 is dropped without moving the lines after it.
    path = tmp_path / "big.csv"
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT CASE WHEN k <> 500000 THEN 100 + k END AS 记录编号,
                                     CASE WHEN k <> 500000 THEN '个人' END AS 主体类型,
                                     CASE WHEN k % 250000 = 123 THEN 'P9' WHEN k <> 500000 THEN 'P1' END AS 主体编号,
                                     CASE WHEN k <> 500000 THEN '2026-09-01 08:00:00' END AS 发生时间,
                                     CASE WHEN k <> 500000 THEN 1 END AS 积分
                              FROM range(1200000) t(k)) TO '{path}' (HEADER)""")
    numbered = []
    monkeypatch.setattr(read, "number_rows", lambda *args: numbered.append(read_number_rows(*args)))
    problems = ingest.check(path, tiny).problems
    assert numbered, "staged straight from the file"
    lines = [k + 2 for k in range(1200000) if k % 250000 == 123]
    assert problems["行"].isna().all() and len(problems) == 1
    assert problems["问题"].iloc[0].startswith(f"第 {'、'.join(map(str, lines))} 行:主体编号不存在")
    assert set(problems["列"]) == {"主体编号"}


@pytest.mark.parametrize("rows, bad_line", [
    # Blank lines and a note spanning two lines: DuckDB's rows are not the file's lines.
    ("10,个人,P1,I1,5,2026-09-01,\n\n11,个人,P9,I1,5,2026-09-01,\n", 4),
    ('10,个人,P1,I1,5,2026-09-01,"第一行\n第二行"\n11,个人,P9,I1,5,2026-09-01,\n', 4),
    ("10,个人,P1,I1,5,2026-09-01,\n11,个人,P9,I1,5,2026-09-01,\n\n", 3),
])
def test_files_only_the_careful_reader_takes(tiny, tmp_path, rows, bad_line):
    header = LEDGER_HEADER.strip() + ",备注\n"
    problems = ingest.check(write(tmp_path, "ledger.csv", header + rows), tiny).problems
    assert list(zip(problems["行"], problems["列"])) == [(bad_line, "主体编号")], problems.to_string()
    assert ingest.import_file(write(tmp_path, "ok.csv", header + rows.replace("P9", "P2")), tiny).status == "imported"
    with db.connect(tiny, read_only=True) as con:
        notes = {r[0] for r in con.execute("SELECT note FROM credit_events WHERE event_id = 10").fetchall()}
    assert notes == ({"第一行\n第二行"} if "第一行" in rows else {None})


def test_values_are_shown_trimmed(tiny, tmp_path):
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,, 9999999 ,2026-09-01\n 1 ,个人,P1,,7,2026-08-01 09:00\n")
    problems = ingest.check(path, tiny).problems
    assert sorted(zip(problems["行"], problems["值"])) == [(2, "9999999"), (3, "1")], problems.to_string()


def test_a_cell_of_spaces_is_empty(tiny, tmp_path):
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,\u3000 ,2026-09-01\n")
    problems = ingest.check(path, tiny).problems
    assert list(zip(problems["列"], problems["问题"])) == [("积分", "必填,不能为空")]


def test_the_ledger_keeps_event_ids_unique_across_imports(tiny, tmp_path):
    first = LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n11,个人,P2,I1,5,2026-09-01\n"
    assert ingest.import_file(write(tmp_path, "a.csv", first), tiny).status == "imported"
    second = LEDGER_HEADER + "11,个人,P2,I1,5,2026-09-01\n12,个人,P1,I1,5,2026-09-02\n"
    result = ingest.import_file(write(tmp_path, "b.csv", second), tiny)
    assert result.counts["credit_events"] == {"added": 1, "updated": 0, "skipped": 1}
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM credit_events").fetchone() == (6, 6)


@pytest.mark.parametrize("text, expected", [
    ("2026-09-01", dt.datetime(2026, 9, 1)), ("2026/9/1", dt.datetime(2026, 9, 1)),
    ("2026.9.1", dt.datetime(2026, 9, 1)), ("2026年9月1日", dt.datetime(2026, 9, 1)),
    ("20260901", dt.datetime(2026, 9, 1)), ("46266", dt.datetime(2026, 9, 1)),
    ("2026-09-01 08:30", dt.datetime(2026, 9, 1, 8, 30)), ("2026/9/1 8:30:15", dt.datetime(2026, 9, 1, 8, 30, 15)),
    ("2026-09-01T08:30:00", dt.datetime(2026, 9, 1, 8, 30)),
])
def test_dates_in_the_usual_spellings(tiny, tmp_path, text, expected):
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + f"10,个人,P1,I1,5,{text}\n")
    assert ingest.import_file(path, tiny).status == "imported"
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT occurred_at FROM credit_events WHERE event_id = 10").fetchone()[0] == expected


def test_merged_title_and_group_header_rows_are_skipped(tiny, tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "积分台账"
    ws.append(["桓台县信用积分台账(2026年9月)"])
    ws.merge_cells("A1:F1")
    ws.append(["基本信息", None, None, "积分", None, None])
    ws.merge_cells("A2:C2")
    ws.merge_cells("D2:F2")
    ws.append(["记录编号", "主体类型", "主体编号", "指标代码", "积分", "发生时间"])
    ws.append([10, "个人", "P1", "I1", 5, dt.datetime(2026, 9, 1, 8, 0)])
    ws.append([None] * 6)
    ws.append([11, "个人", "P2", "I1", "abc", dt.datetime(2026, 9, 2)])
    path = tmp_path / "merged.xlsx"
    book.save(path)
    problems = ingest.check(path, tiny).problems
    assert list(zip(problems["工作表"], problems["行"], problems["列"])) == [("积分台账", 6, "积分")]


def test_parquet_and_english_headers(tiny, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"event_id": [10, 11], "subject_type": ["person", "org"], "subject_id": ["P1", "O1"],
                          "points": [2.5, -1.0], "occurred_at": pd.to_datetime(["2026-09-01 08:00", "2026-09-02 00:00"])})
    path = tmp_path / "ledger.parquet"
    frame.to_parquet(path)
    result = ingest.import_file(path, tiny)
    assert result.counts["credit_events"] == {"added": 2, "updated": 0, "skipped": 0}


# --- re-imports, all-or-none, undo and the log --------------------------------------------------

def test_reimport_adds_nothing_and_a_changed_row_updates(tiny, tmp_path):
    text = "人员编号,居住网格,姓名\nP5,101-01,张三\nP1,101-01,甲\n"
    first = ingest.import_file(write(tmp_path, "p.csv", text), tiny)
    assert first.counts["people"] == {"added": 1, "updated": 0, "skipped": 1}
    before = digest(tiny)
    again = ingest.import_file(write(tmp_path, "p.csv", text), tiny)
    assert again.status == "unchanged" and digest(tiny) == before
    changed = ingest.import_file(write(tmp_path, "p.csv", text.replace("张三", "张三丰")), tiny)
    assert changed.counts["people"] == {"added": 0, "updated": 1, "skipped": 1}
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT name, grid_id FROM people WHERE person_id = 'P5'").fetchone() == ("张三丰", "101-01")
        # Columns absent from the file keep their stored values.
        assert con.execute("SELECT name FROM people WHERE person_id = 'P2'").fetchone() == ("乙",)


def test_one_bad_row_among_many_changes_nothing(tiny, tmp_path):
    rows = "".join(f"{100 + k},个人,P{1 + k % 2},,{k % 7},2026-09-{1 + k % 28:02d} 08:00\n" for k in range(500))
    rows += "999,个人,P1,I1,5,2026-02-30\n"
    before = contents(tiny)
    result = ingest.import_file(write(tmp_path, "ledger.csv", LEDGER_HEADER + rows), tiny)
    assert result.status == "rejected" and list(result.problems["行"]) == [502]
    assert contents(tiny) == before


def test_undo_restores_the_file_and_logs_both(tiny, tmp_path):
    before = contents(tiny)
    result = ingest.import_file(write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n"),
                                tiny, user="王五")
    assert result.import_id == 1 and Path(result.backup_path).exists()
    assert Path(result.backup_path).parent == tiny.parent / "backups"
    undone = ingest.undo_last(tiny, user="王五")
    assert undone.status == "undone"
    after = contents(tiny)
    base = [t for t in before["counts"] if t not in ("import_log", "meta") and not t.startswith("summary_")]
    assert {t: after["sums"][t] for t in base} == {t: before["sums"][t] for t in base}
    with db.connect(tiny, read_only=True) as con:
        log = ingest.import_log(con)
    assert list(log["status"]) == ["undone", "imported"]
    assert log.iloc[1]["user_name"] == "王五" and log.iloc[1]["rows_added"] == 1
    assert log.iloc[1]["file_sha256"] == hashlib.sha256(
        (LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n").encode()).hexdigest()
    with pytest.raises(ValueError, match="没有可撤销的导入"):
        ingest.undo_last(tiny)


def test_import_refreshes_summaries_and_moves_as_of(tiny, tmp_path):
    ingest.import_file(write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-15 10:00\n"), tiny)
    from analytics import summary

    with db.connect(tiny, read_only=True) as con:
        assert summary.is_fresh(con)
        assert db.get_meta(con, "as_of") == "2026-09-15"


def test_a_new_database_is_initialised(tmp_path):
    text = "街道编号,街道名称\n370321001,少海街道\n"
    target = tmp_path / "fresh" / "g.duckdb"
    result = ingest.import_file(write(tmp_path, "s.csv", text), target)
    assert result.status == "imported" and result.backup_path is None
    with db.connect(target, read_only=True) as con:
        assert con.execute("SELECT name FROM subdistricts").fetchall() == [("少海街道",)]


def test_a_reader_keeps_working_during_an_import(tiny, tmp_path):
    reader = db.connect(tiny, read_only=True)
    result = ingest.import_file(write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n"), tiny)
    assert result.status == "imported"
    assert reader.execute("SELECT count(*) FROM credit_events").fetchone()[0] == 3  # its snapshot
    reader.close()
    # A new connection (as a restarted or reconnecting dashboard process) sees the new rows.
    out = subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                          ".execute('SELECT count(*) FROM credit_events').fetchone()[0])", str(tiny)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "4"


def test_a_second_import_waits_then_says_another_is_running(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(load, "LOCK_TIMEOUT_SECONDS", 0.3)
    path = write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n")
    held, release = threading.Event(), threading.Event()

    def hold():
        with load.exclusive(tiny):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(ingest.Busy, match="另一个导入正在进行"):
            ingest.import_file(path, tiny)
    finally:
        release.set()
        thread.join()
    assert ingest.import_file(path, tiny).status == "imported"


# --- flat tickets and the 311 mapping -----------------------------------------------------------

def test_flat_tickets_become_status_history_and_a_changed_ticket_replaces_it(tiny, tmp_path):
    text = ("工单编号,所在网格,诉求类别,提单时间,接单时间,议单时间,定单时间,评单时间,结果公开时间,评分,评分人类别\n"
            "T1,101-01,停车充电,2026-09-01 08:00,2026-09-01 10:00,,,,2026-09-03 08:00,5,群众\n")
    result = ingest.import_file(write(tmp_path, "t.csv", text), tiny)
    assert result.counts["tickets"]["added"] == 1
    assert result.counts["ticket_events"]["added"] == 3 and result.counts["ticket_ratings"]["added"] == 1
    changed = ingest.import_file(write(tmp_path, "t.csv", text.replace("2026-09-03 08:00", "2026-09-04 08:00")), tiny)
    assert changed.counts["tickets"] == {"added": 0, "updated": 1, "skipped": 0}
    assert changed.counts["ticket_events"]["removed"] == 1 and changed.counts["ticket_events"]["added"] == 1
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT step, occurred_at FROM ticket_events ORDER BY seq").fetchall() == [
            ("filed", dt.datetime(2026, 9, 1, 8)), ("accepted", dt.datetime(2026, 9, 1, 10)),
            ("published", dt.datetime(2026, 9, 4, 8))]
        assert con.execute("SELECT score, rater_kind FROM ticket_ratings").fetchall() == [(5, "resident")]


def test_311_export_through_the_mapping_file(tiny, tmp_path):
    before = digest(tiny)
    path = DATA / "service_requests_311.csv"
    result = ingest.import_file(path, tiny, mapping=MAPPING_311)
    assert result.status == "imported", result.problems.to_string()
    assert result.counts["tickets"] == {"added": 20, "updated": 0, "skipped": 0}
    assert result.counts["ticket_events"]["added"] == 20 + 18  # two requests are still open
    with db.connect(tiny, read_only=True) as con:
        facts = dict(con.execute("""SELECT ticket_id, epoch(published_at - filed_at) / 3600
                                     FROM summary_ticket_facts""").fetchall())
        row = con.execute("SELECT category, channel, department, grid_id, title FROM tickets "
                          "WHERE ticket_id = '311-60000008'").fetchone()
    # Request k was closed 3.5 + 5k hours after it was created; k = 4 and 13 are open.
    assert facts["311-60000001"] == 3.5 and facts["311-60000002"] == 8.5 and facts["311-60000020"] == 98.5
    assert facts["311-60000005"] is None and facts["311-60000014"] is None
    assert row == ("facilities", "hotline", "housing", "101-01", "Elevator Not Working")
    after = digest(tiny)
    assert after != before
    again = ingest.import_file(path, tiny, mapping=MAPPING_311)
    assert again.status == "unchanged" and digest(tiny) == after
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    blank = write(tmp_path, "311.csv", "".join(lines[:5] + ["\n"] + lines[5:]))
    assert ingest.import_file(blank, tiny, mapping=MAPPING_311).status == "unchanged"


def test_a_mapping_naming_a_missing_column_is_a_problem(tiny, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("table: tickets\nfields:\n  ticket_id: Request ID\n", encoding="utf-8")
    problems = ingest.check(DATA / "service_requests_311.csv", tiny, mapping=mapping).problems
    assert problems["问题"].str.contains("Request ID").any()
    mapping.write_text("table: nowhere\n", encoding="utf-8")
    assert "table 无效" in ingest.check(DATA / "service_requests_311.csv", tiny, mapping=mapping).problems["问题"].iloc[0]


# --- templates and the command line -------------------------------------------------------------

def test_the_template_of_every_table_imports_into_a_new_database(tmp_path):
    path = ingest.write_template("all", tmp_path / "all.xlsx")
    book = openpyxl.load_workbook(path)
    assert "允许取值" in book.sheetnames and "节假日安排" in book.sheetnames and len(book.sheetnames) == 25
    allowed = {(r[0], r[3]): r[6] for r in book["允许取值"].iter_rows(min_row=2, values_only=True)}
    assert allowed[("credit_events", "points")] == "-999999.99–999999.99"
    assert allowed[("people", "birth_year")] == "1900–2100"
    result = ingest.import_file(path, tmp_path / "g.duckdb")
    assert result.status == "imported", result.problems.to_string()
    assert all(c["added"] >= 1 for c in result.counts.values())
    assert ingest.template_bytes(["工单"])[:2] == b"PK"


def run(*args):
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True,
                          cwd=db.ROOT, timeout=120)


def test_command_line_exit_codes_and_error_file(tiny, tmp_path):
    good = write(tmp_path, "good.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n")
    bad = write(tmp_path, "bad.csv", LEDGER_HEADER + "11,个人,P9,I1,5,2026-09-01\n")
    errors = tmp_path / "errors.csv"
    result = run("import", str(bad), "--db", str(tiny), "--errors", str(errors))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "主体编号不存在" in result.stderr
    assert "主体编号不存在" in errors.read_text(encoding="utf-8-sig")
    result = run("import", str(good), "--db", str(tiny), "--dry-run")
    assert result.returncode == 0 and "检查通过" in result.stdout
    access.UserStore(tmp_path / "users.json").add("zhao.liu", "clerk", "grid gov 2026")
    result = run("import", str(good), "--db", str(tiny), "--user", "zhao.liu", "--users", str(tmp_path / "users.json"))
    assert result.returncode == 0, result.stderr
    assert "zhao.liu(命令行:" in run("imports", "--db", str(tiny)).stdout
    assert run("import", str(tmp_path / "missing.csv"), "--db", str(tiny)).returncode == 2
    assert run("undo", "--db", str(tiny)).returncode == 0
    result = run("undo", "--db", str(tiny))
    assert result.returncode == 2 and "没有可撤销的导入" in result.stderr
    assert run("template", "工单", "--out", str(tmp_path / "t.xlsx")).returncode == 0
