"""Dates and times as the importer reads them: never a silently wrong year, day or zone."""

import datetime as dt
import os
import subprocess
import sys

import openpyxl
import pytest

from analytics import clock, db, ingest
from analytics.__main__ import main
from analytics.period import parse_period
from helpers import write

TICKETS = "工单编号,所在网格,提单时间,结果公开时间\n"
LEDGER = "记录编号,主体类型,主体编号,指标代码,积分,发生时间\n"


def stored_steps(path, ticket_id: str) -> dict:
    with db.connect(path, read_only=True) as con:
        return dict(con.execute("SELECT step, occurred_at FROM ticket_events WHERE ticket_id = ?", [ticket_id]).fetchall())


def mapping(tmp_path, fields: str):
    path = tmp_path / "m.yaml"
    path.write_text("table: tickets\nfields:\n  ticket_id: id\n  grid_id: {constant: '101-01'}\n" + fields, encoding="utf-8")
    return path


def test_two_digit_years_in_day_month_order_are_refused_with_the_format_to_write(tiny, tmp_path):
    # Every day is at most 12: the file cannot tell 1 February from 2 January.
    path = write(tmp_path, "t.csv", TICKETS + "T1,101-01,1/2/20 8:43,1/3/20 9:00\nT2,101-01,3/4/20 8:43,\n")
    result = ingest.import_file(path, tiny)
    assert result.status == "rejected" and stored_steps(tiny, "T1") == {}
    first = result.details.iloc[0]
    assert (first["行"], first["列"], first["值"]) == (2, "提单时间", "1/2/20 8:43")
    assert 'format: "%m/%d/%y %H:%M"(月/日/年)或 "%d/%m/%y %H:%M"(日/月/年)' in first["问题"]
    assert set(result.details["列"]) == {"提单时间", "结果公开时间"} and len(result.details) == 3


def test_the_mapping_format_reads_them_and_is_never_replaced(tiny, tmp_path):
    fields = "  filed_at: {column: created, format: '%m/%d/%y %H:%M'}\n"
    good = write(tmp_path, "a.csv", "id,created\nT1,1/2/20 8:43\n")
    assert ingest.import_file(good, tiny, mapping=mapping(tmp_path, fields)).status == "imported"
    assert stored_steps(tiny, "T1") == {"filed": dt.datetime(2020, 1, 2, 8, 43)}
    # An ISO date the default spellings would take is still a problem of this mapped column.
    other = write(tmp_path, "b.csv", "id,created\nT2,2020-01-03 08:00\n")
    problems = ingest.check(other, tiny, mapping=mapping(tmp_path, fields)).problems
    assert problems[["行", "值", "问题"]].values.tolist() == [
        [2, "2020-01-03 08:00", "不符合对照表为这一列规定的格式 %m/%d/%y %H:%M"]]


@pytest.mark.parametrize("written, fragment", [
    ("0001-01-01", "早于 2000 年"),
    ("20-01-02 08:00:00", "早于 2000 年"),       # DuckDB's %Y reads 20 as the year 0020
    ("1999-12-31 23:59", "早于 2000 年"),
    ("2099-01-01", "不能是将来的时间"),
    ((clock.today() + dt.timedelta(days=5)).isoformat(), "不能是将来的时间"),
])
def test_an_implausible_year_is_a_row_error(tiny, tmp_path, written, fragment):
    result = ingest.import_file(write(tmp_path, "l.csv", LEDGER + f"10,个人,P1,I1,5,{written}\n"), tiny)
    assert result.status == "rejected"
    assert result.problems[["行", "列", "值"]].values.tolist() == [[2, "发生时间", written]]
    assert fragment in result.problems["问题"].iloc[0]


def test_a_ledger_row_of_2099_cannot_move_the_dashboard(tiny, tmp_path):
    ingest.import_file(write(tmp_path, "l.csv", LEDGER + "10,个人,P1,I1,5,2026-09-01\n11,个人,P1,I1,5,2099-01-01\n"), tiny)
    with db.connect(tiny, read_only=True) as con:
        assert db.get_meta(con, "as_of") == "2026-08-31"
        assert con.execute("SELECT count(*) FROM credit_events").fetchone()[0] == 3


def test_todays_events_and_planned_dates_within_a_year_are_taken(tiny, tmp_path):
    today = clock.today()
    ledger = write(tmp_path, "l.csv", LEDGER + f"10,个人,P1,I1,5,{today} 08:00\n")
    assert ingest.import_file(ledger, tiny).status == "imported"
    catalogue = "指标代码,主体类型,分值,生效日期,失效日期\n"
    ahead = write(tmp_path, "c.csv", catalogue + f"I2,个人,3,{today},{today.replace(year=today.year + 1) - dt.timedelta(days=1)}\n")
    assert ingest.import_file(ahead, tiny).status == "imported"
    far = write(tmp_path, "d.csv", catalogue + "I3,个人,3,2026-01-01,2099-12-31\n")
    assert "超出合理范围" in ingest.check(far, tiny).problems["问题"].iloc[0]


@pytest.mark.parametrize("written, county_time", [
    ("2020-01-31T20:00:00-08:00", dt.datetime(2020, 2, 1, 12, 0)),
    ("2020-01-31T20:00:00Z", dt.datetime(2020, 2, 1, 4, 0)),
    ("2020-01-31 20:00:00+05:30", dt.datetime(2020, 1, 31, 22, 30)),
    ("2020-01-31T20:00+08:00", dt.datetime(2020, 1, 31, 20, 0)),
    ("2020-01-31T20:00:00.250+0800", dt.datetime(2020, 1, 31, 20, 0, 0, 250000)),
])
def test_times_with_an_offset_are_stored_in_the_county_zone(tiny, tmp_path, written, county_time):
    path = write(tmp_path, "t.csv", TICKETS + f"T1,101-01,{written},\n")
    assert ingest.import_file(path, tiny).status == "imported"
    assert stored_steps(tiny, "T1") == {"filed": county_time}


def test_an_offset_in_a_mapping_format_is_converted_too(tiny, tmp_path):
    fields = "  filed_at: {column: created, format: '%d.%m.%Y %H:%M %z'}\n"
    path = write(tmp_path, "a.csv", "id,created\nT1,31.01.2020 20:00 -0800\n")
    assert ingest.import_file(path, tiny, mapping=mapping(tmp_path, fields)).status == "imported"
    assert stored_steps(tiny, "T1") == {"filed": dt.datetime(2020, 2, 1, 12, 0)}


def run_import(path, db_path, tz: str) -> str:
    code = f"from analytics import ingest; print(ingest.import_file({str(path)!r}, {str(db_path)!r}).status)"
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, "TZ": tz}, capture_output=True, text=True,
                          check=True, cwd=db.ROOT).stdout.strip()


def test_the_servers_zone_changes_nothing(tiny, tmp_path):
    path = write(tmp_path, "t.csv", TICKETS + "T1,101-01,2020-01-31T20:00:00-08:00,2020-02-01T05:00:00Z\n"
                                             "T2,101-01,2020-02-01 09:00,2020-02-01 10:00\n")
    assert run_import(path, tiny, "America/Los_Angeles") == "imported"
    assert stored_steps(tiny, "T1") == {"filed": dt.datetime(2020, 2, 1, 12), "published": dt.datetime(2020, 2, 1, 13)}
    assert stored_steps(tiny, "T2") == {"filed": dt.datetime(2020, 2, 1, 9), "published": dt.datetime(2020, 2, 1, 10)}
    assert run_import(path, tiny, "Asia/Tokyo") == "unchanged"
    assert run_import(path, tiny, "UTC") == "unchanged"


def test_excel_serial_times_are_rounded_to_the_second(tiny, tmp_path):
    # 43832.2541666 is 2020-01-02 06:05:59.994 and 43832.254166666666 06:06:00: the same minute as Excel shows it.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(["工单编号", "所在网格", "提单时间", "结果公开时间"])
    sheet.append(["T1", "101-01", 43832.2541666, 43832.254166666666])
    sheet["C2"].number_format = sheet["D2"].number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.append(["T2", "101-01", 43832.2541666, 43832.2541666])  # plain numbers, not formatted as dates
    book.save(tmp_path / "serial.xlsx")
    result = ingest.import_file(tmp_path / "serial.xlsx", tiny)
    assert result.status == "imported", result.problems.to_string()
    minute = dt.datetime(2020, 1, 2, 6, 6)
    assert stored_steps(tiny, "T1") == stored_steps(tiny, "T2") == {"filed": minute, "published": minute}


@pytest.mark.parametrize("text", ["0001Q1", "0001-01", "0001-01-01..0001-03-31", "1999Q4", "2099-01"])
def test_a_period_outside_the_plausible_years_is_refused(text):
    with pytest.raises(ValueError, match="不在合理范围内"):
        parse_period(text)


def test_the_command_line_refuses_a_period_in_year_one(demo_path, capsys):
    assert main(["metric", "grid-credit-ranking", "--db", str(demo_path), "--period", "0001Q1"]) == 2
    assert "不在合理范围内" in capsys.readouterr().err
