"""公示 and 异议申诉, and the check before an award (待核实), on a county small enough to work out by hand.

The county: one community C with grids G1 (P1, P2) and G2 (P3, P4), two residents each. In 2026Q3:
event 1 P1 +5, event 2 P2 +3 (G1: 8 points / 2 = 4.0 per resident), event 3 P3 +2, event 4 P4 +2
(G2: 2.0). G1 ranks first and is the red-flag grid; W1 is G1's grid worker, W2 G2's. Too few points
for the integrity checks (INTEGRITY_MIN_POINTS) to judge either grid.

The calendar is migration 004's: 1-7 October 2026 off, Saturday 10 October a make-up working day.
"""

import datetime as dt
import io
import sqlite3

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from analytics import access, appeals, audit, awards, clock, credit, db, ingest, official, report, review, workdays
from analytics.__main__ import main
from analytics.period import month
from helpers import norm, write

D = dt.date


@pytest.fixture
def county(tmp_path):
    path = tmp_path / "g.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("INSERT INTO subdistricts VALUES ('S', '少海街道', NULL)")
        con.execute("INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C', 'S', '宝发社区'), ('C2', 'S', '紫悦城社区')")
        con.execute("INSERT INTO grids (grid_id, community_id, name) VALUES ('G1', 'C', '一网格'), ('G2', 'C', '二网格')")
        con.execute("""INSERT INTO people (person_id, grid_id, name) VALUES ('P1', 'G1', '张三明'), ('P2', 'G1', '李四'),
                       ('P3', 'G2', '王五'), ('P4', 'G2', '赵六'), ('W1', NULL, '孙网格'), ('W2', NULL, '周网格')""")
        con.execute("""INSERT INTO person_roles (person_id, role, since, grid_id) VALUES
                       ('W1', 'grid_worker', '2025-01-01', 'G1'), ('W2', 'grid_worker', '2025-01-01', 'G2')""")
        con.execute("INSERT INTO credit_indicators (indicator_code, subject_type, name, points) VALUES "
                    "('I5', 'person', '志愿服务', 5), ('I3', 'person', '议事', 3), ('I2', 'person', '垃圾分类', 2)")
        con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_at)
                       VALUES (1, 'person', 'P1', 'I5', 5, '2026-09-10 09:00', '2026-09-10 10:00'),
                              (2, 'person', 'P2', 'I3', 3, '2026-09-11 09:00', '2026-09-11 10:00'),
                              (3, 'person', 'P3', 'I2', 2, '2026-09-12 09:00', '2026-09-12 10:00'),
                              (4, 'person', 'P4', 'I2', 2, '2026-09-13 09:00', '2026-09-13 10:00')""")
        con.execute("INSERT INTO meta VALUES ('as_of', '2026-11-30'), ('source', 'import')")
    return path


@pytest.fixture
def audit_file(tmp_path, monkeypatch):
    path = tmp_path / "audit.sqlite"
    monkeypatch.setenv("GRIDGOV_AUDIT", str(path))
    return path


SECRETARY = access.User("sec", "community_secretary", place="C")


def g1_average(path, quarter="2026Q3"):
    with db.connect(path, read_only=True) as con:
        ranking = credit.grid_credit_ranking(con, quarter)
    return ranking.set_index("grid_id").at["G1", "avg_credit"]


# -- the 公示期 --------------------------------------------------------------------------------

@pytest.mark.parametrize("published, first, last", [
    # September's publication: 1-7 October off; 8, 9, Sat 10 (调休), 12, 13, 14, 15 October.
    ("2026-09", D(2026, 10, 8), D(2026, 10, 15)),
    # August's: from Tuesday 1 September, seven weekdays.
    ("2026-08", D(2026, 9, 1), D(2026, 9, 9)),
    # December 2025's: 1-3 January off, Sunday 4 January 2026 a make-up day: 4, 5, 6, 7, 8, 9, 12.
    ("2025-12", D(2026, 1, 4), D(2026, 1, 12)),
])
def test_the_publicity_period_counts_working_days_of_the_official_calendar(county, published, first, last):
    with db.connect(county, read_only=True) as con:
        cal = workdays.calendar(con)
    year, m = map(int, published.split("-"))
    assert appeals.publicity_period(cal, month(year, m), 7) == (first, last)


@pytest.mark.parametrize("published, as_of, frozen, publicity, mark", [
    ("2026-09", D(2026, 10, 5), False, "公示期2026年10月8日至2026年10月15日(7个工作日),尚未开始",
     "2026年第3季度考评结果尚未冻结公布(实时数据)"),
    ("2026-09", D(2026, 10, 12), True, "公示中:公示期至2026年10月15日止(2026年10月8日至2026年10月15日(7个工作日))",
     "2026年第3季度考评:正式公布结果(2026-12-01 冻结),第 1 版,积分记录截至 2026-10-08 18:00"),
    ("2026-09", D(2026, 10, 16), True, "公示期2026年10月8日至2026年10月15日(7个工作日)已结束", "正式公布结果"),
    # October belongs to 2026Q4, not frozen.
    ("2026-10", D(2026, 11, 30), True, "公示期2026年11月2日至2026年11月10日(7个工作日)已结束",
     "2026年第4季度考评结果尚未冻结公布(实时数据)"),
])
def test_the_publication_says_until_when_it_is_posted_and_whether_its_quarter_is_official(
        county, monkeypatch, tmp_path, published, as_of, frozen, publicity, mark):
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 12, 1, 9, 30))
    if frozen:
        official.freeze(county, "2026Q3", cutoff=dt.datetime(2026, 10, 8, 18), user="lead")
    with db.connect(county) as con:
        con.execute("UPDATE meta SET value = $d WHERE key = 'as_of'", {"d": as_of.isoformat()})
        marks = appeals.publication_marks(con, published)
        report.write_publication(con, published, tmp_path / "p.pdf")
        report.write_publication(con, published, tmp_path / "p.xlsx")
    assert marks["publicity"].startswith(publicity) and mark in marks["official"]
    said = f"{marks['publicity']}。{marks['official']}。"
    assert "".join(said.split()) in "".join(PdfReader(tmp_path / "p.pdf").pages[0].extract_text().split())
    about = list(openpyxl.load_workbook(tmp_path / "p.xlsx")["公示说明"].iter_rows(values_only=True))
    assert about[3:] == [("公示期", marks["publicity"]), ("考评结果", marks["official"])]


@pytest.mark.parametrize("raised, decided, due, in_time", [
    (D(2026, 10, 9), D(2026, 10, 15), D(2026, 10, 15), True),    # the 公示期's last day
    (D(2026, 10, 9), D(2026, 10, 16), D(2026, 10, 15), False),   # one day after it: late
    (D(2026, 10, 8), D(2026, 10, 10), D(2026, 10, 15), True),    # on the make-up Saturday
    # Raised after the 公示期: seven working days from raising, 20-23, 26-28 October.
    (D(2026, 10, 20), D(2026, 10, 28), D(2026, 10, 28), True),
    (D(2026, 10, 20), D(2026, 10, 29), D(2026, 10, 28), False),
])
def test_an_appeal_decided_after_its_due_day_counts_as_late(county, raised, decided, due, in_time):
    with db.connect(county) as con:
        appeal_id = appeals.add_appeal(con, raised_on=raised, reason="不属实", event_id=1, raised_by="P1")
        con.execute("UPDATE appeals SET status = 'rejected', decided_on = $d, decision_reason = '属实' "
                    "WHERE appeal_id = $id", {"d": decided, "id": appeal_id})
        rows = appeals.appeal_list(con, "2026Q4")
        summary = appeals.appeal_summary(con, "2026Q4")
    assert rows[["appeal_id", "publicity_end", "due_on", "in_time", "raised_by_name"]].values.tolist() == [
        ["A2026-0001", D(2026, 10, 15), due, in_time, "张*明"]]
    assert summary[["raised", "decided", "in_time", "upheld", "open_appeals"]].values.tolist() == [[1, 1, int(in_time), 0, 0]]


@pytest.mark.parametrize("grids, listed", [(None, ["A2026-0001", "A2026-0002"]), (("G1",), ["A2026-0001"]),
                                            (("G2",), ["A2026-0002"])])
def test_appeals_are_listed_with_the_grid_of_their_line_or_ranking(county, grids, listed):
    with db.connect(county) as con:
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="不属实", event_id=2, raised_by="P3")
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="排名不公", quarter="2026Q3", grid_id="G2",
                           raised_by_name="王五")
        scope = credit.Scope(grids=grids) if grids else credit.COUNTY
        rows = appeals.appeal_list(con, "2026-10", scope)
    assert rows["appeal_id"].tolist() == listed
    assert set(rows["grid_id"]) == set(grids or ("G1", "G2"))


# Line 2 (P2, 11 September). P2's registration decides the grid of an appeal on it, as of that day.
@pytest.mark.parametrize("moves, today, grid", [
    ("", "G1", "G1"),
    # Moved to G2 on 1 October, after the line: still G1's line.
    ("('P2', 'G1', '2020-01-01', '2026-10-01'), ('P2', 'G2', '2026-10-01', NULL)", "G2", "G1"),
    # Lived in G2 until 15 September: the line was G2's although P2 is in G1 today.
    ("('P2', 'G2', '2020-01-01', '2026-09-15'), ('P2', 'G1', '2026-09-15', NULL)", "G1", "G2"),
])
def test_an_appeal_on_a_line_belongs_to_the_grid_of_the_line_s_day(county, moves, today, grid):
    with db.connect(county) as con:
        if moves:
            con.execute(f"INSERT INTO residence_history (person_id, grid_id, moved_in, moved_out) VALUES {moves}")
            con.execute("UPDATE people SET grid_id = $g WHERE person_id = 'P2'", {"g": today})
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="不属实", event_id=2, raised_by="P3")
        listed = appeals.appeal_list(con, "2026-10")
        held = appeals.open_appeals(con, "2026Q3")
        in_grid = appeals.appeal_list(con, "2026-10", credit.Scope(grids=(grid,)))
    assert listed["grid_id"].tolist() == [grid] and held["grid_id"].tolist() == [grid]
    assert in_grid["appeal_id"].tolist() == ["A2026-0001"]


def test_an_open_appeal_past_its_due_day_is_overdue(county):
    with db.connect(county) as con:
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="不属实", event_id=1, raised_by="P1")
        rows = appeals.appeal_list(con, "2026Q4", as_of=D(2026, 10, 16))
        on_time = appeals.appeal_list(con, "2026Q4", as_of=D(2026, 10, 15))
    assert rows[["status_label", "overdue"]].values.tolist() == [["待处理", True]]
    assert pd.isna(rows["in_time"].iat[0]) and not on_time["overdue"].iat[0]


# -- upholding writes the correction ------------------------------------------------------------

@pytest.mark.parametrize("corrected, points, average", [
    (None, -5.0, 1.5),   # reversed: G1 keeps 3 points over 2 residents
    (2, -3.0, 2.5),      # corrected to 2: 5 points, 2.5 each
])
def test_an_upheld_appeal_writes_a_correcting_event_with_its_id(county, audit_file, corrected, points, average):
    assert g1_average(county) == 4.0
    appeal_id = appeals.submit(county, SECRETARY, raised_on=D(2026, 10, 9), reason="未参加该活动", event_id=1,
                               raised_by="P1")
    event = appeals.decide(county, SECRETARY, appeal_id, "upheld", decided_on=D(2026, 10, 13),
                           decision_reason="经核实不属实", corrected_points=corrected)
    assert event == 5
    with db.connect(county, read_only=True) as con:
        written = con.execute("SELECT subject_id, points::DOUBLE, occurred_at, reverses_event_id, appeal_id "
                              "FROM credit_events WHERE event_id = 5").fetchone()
        stored = con.execute("SELECT status, decided_on, correcting_event_id FROM appeals").fetchone()
    assert written == ("P1", points, dt.datetime(2026, 9, 10, 9), 1, appeal_id)
    assert stored == ("upheld", D(2026, 10, 13), 5)
    assert g1_average(county) == average
    with sqlite3.connect(audit_file) as log:
        assert log.execute("SELECT user_name, action, target FROM audit ORDER BY id").fetchall() == [
            ("sec", "appeal", appeal_id), ("sec", "appeal_decision", appeal_id)]


def test_a_rejected_appeal_leaves_the_ledger_alone(county, audit_file):
    appeal_id = appeals.submit(county, SECRETARY, raised_on=D(2026, 10, 9), reason="排名不公", quarter="2026Q3",
                               grid_id="G2", raised_by_name="王五")
    assert appeals.decide(county, SECRETARY, appeal_id, "rejected", decided_on=D(2026, 10, 12),
                          decision_reason="排名无误") is None
    with db.connect(county, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM credit_events").fetchone()[0] == 4
        assert appeals.appeal_list(con, "2026Q4")["subject"].tolist() == ["2026年第3季度网格排名"]


@pytest.mark.parametrize("user, values, message", [
    (SECRETARY, {"event_id": 99}, "积分记录 99 不存在"),
    (SECRETARY, {"event_id": 1, "raised_on": "2026-13-01"}, "提出日期无法识别"),
    (SECRETARY, {"event_id": 1, "reason": " "}, "请填写申诉理由"),
    (SECRETARY, {}, "请指明申诉对象"),
    (access.User("sec2", "community_secretary", place="C2"), {"event_id": 1}, "不在您的管理范围"),
    (access.User("boss", "county_leader"), {"event_id": 1}, "无权登记和处理异议申诉"),
])
def test_a_bad_appeal_is_refused_in_chinese_and_nothing_is_written(county, audit_file, user, values, message):
    before = county.read_bytes()
    with pytest.raises((ValueError, access.Denied), match=message):
        appeals.submit(county, user, **{"raised_on": D(2026, 10, 9), "reason": "不属实", "raised_by": "P1", **values})
    assert county.read_bytes() == before


def test_an_appeal_cannot_be_decided_twice(county, audit_file):
    appeal_id = appeals.submit(county, SECRETARY, raised_on=D(2026, 10, 9), reason="不属实", event_id=1, raised_by="P1")
    appeals.decide(county, SECRETARY, appeal_id, "upheld", decided_on=D(2026, 10, 12), decision_reason="属实")
    with pytest.raises(ValueError, match="已支持,不能再次处理"):
        appeals.decide(county, SECRETARY, appeal_id, "upheld", decided_on=D(2026, 10, 12), decision_reason="属实")
    assert g1_average(county) == 1.5


# -- the check before the award ------------------------------------------------------------------

def test_a_red_flag_grid_with_an_open_appeal_is_pending_on_every_surface(county):
    with db.connect(county) as con:
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="加分不实", event_id=2, raised_by="P3")
        rv = review.quarter_review(con, "2026Q3")
        xlsx, pptx, pdf = io.BytesIO(), io.BytesIO(), io.BytesIO()
        report.write_xlsx(con, rv, xlsx)
        report.write_pptx(con, rv, pptx, images={})
        report.write_pdf(con, rv, pdf, images={})
    flags = rv.tables["red_flags"]
    assert flags[["grid_id", "red_flag", "award_label", "check_reason"]].values.tolist() == [
        ["G1", True, "红旗网格(待核实)", "异议申诉 A2026-0001 未处理完毕"]]
    assert rv.tables["workers"][["grid_id", "award_label"]].values.tolist() == [["G1", "优秀网格员(待核实)"]]
    assert rv.tables["ranking"].set_index("grid_id")["award_label"].to_dict() == {"G1": "红旗网格(待核实)", "G2": ""}
    book = openpyxl.load_workbook(xlsx)
    sheet = list(book["红旗网格"].iter_rows(values_only=True))
    assert sheet[0][-2:] == ("评选结果", "待核实事项")
    assert sheet[1][-2:] == ("红旗网格(待核实)", "异议申诉 A2026-0001 未处理完毕")
    # The review counts the appeals raised in its quarter: this one, raised in October, is the next one's.
    assert [row[-1] for row in book["异议申诉处理情况"].iter_rows(values_only=True)] == ["逾期"]
    from pptx import Presentation

    text = [shape.text_frame.text if shape.has_text_frame else "\n".join(c.text for r in shape.table.rows for c in r.cells)
            for slide in Presentation(pptx).slides for shape in slide.shapes if shape.has_text_frame or shape.has_table]
    assert any("红旗网格(待核实)" in t and "异议申诉 A2026-0001" in t for t in text)
    # The community's own slide and page mark it in its 评选结果 column, the grid named short.
    assert [t for t in text if "一网格" in t and "二网格" in t] == ["\n".join([
        "名次", "网格", "人均积分", "名次变化", "评选结果", "1", "一网格", "4.00", "—", "红旗网格(待核实)",
        "2", "二网格", "2.00", "—", ""])]
    page = next(p.extract_text() for p in PdfReader(pdf).pages if "宝发社区 · 网格排名" in p.extract_text())
    assert "一网格 4.00 — 2 红旗网格(待核实)" in " ".join(page.split())


def test_a_decided_appeal_no_longer_holds_the_award(county):
    with db.connect(county) as con:
        appeal_id = appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="加分不实", event_id=2, raised_by="P3")
        appeals.decide_appeal(con, appeal_id, "rejected", D(2026, 10, 12), "属实")
        flags = credit.red_flag_grids(con, "2026Q3")
    assert flags[["grid_id", "award_label"]].values.tolist() == [["G1", "红旗网格"]]


@pytest.mark.parametrize("mode, expected", [
    ("award", [("G1", True, True, "红旗网格(待核实)"), ("G2", False, False, "")]),
    # Withheld: G1 is listed as 待核实 and G2, next in its community, takes the place.
    ("withhold", [("G1", False, True, "待核实(暂缓评定)"), ("G2", True, False, "红旗网格")]),
])
def test_the_setting_decides_whether_a_pending_grid_is_named(county, mode, expected):
    with db.connect(county) as con:
        appeals.add_appeal(con, raised_on=D(2026, 10, 9), reason="排名不公", quarter="2026Q3", grid_id="G1",
                           raised_by_name="王五")
        ranking = credit.grid_credit_ranking(con, "2026Q3", pending_check=mode)
        named = credit.red_flag_grids(con, "2026Q3", pending_check=mode)
        g2_only = credit.grid_credit_ranking(con, "2026Q3", credit.Scope(grids=("G2",)), pending_check=mode)
    rows = ranking[["grid_id", "red_flag", "pending", "award_label"]].itertuples(index=False, name=None)
    assert [tuple(r) for r in rows] == expected
    assert sorted(named["grid_id"]) == ["G1", "G2"] if mode == "withhold" else named["grid_id"].tolist() == ["G1"]
    # The award is decided over the whole community, whatever part of it is shown.
    assert g2_only["red_flag"].tolist() == [mode == "withhold"]


def test_a_ledger_line_off_the_catalogue_holds_the_award(county):
    with db.connect(county) as con:
        con.execute("INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at) "
                    "VALUES (9, 'person', 'P1', 'I5', 8, '2026-09-20 09:00')")
        checked = credit.red_flag_grids(con, "2026Q3")
        con.execute("UPDATE credit_events SET adjustment = true WHERE event_id = 9")
        approved = credit.red_flag_grids(con, "2026Q3")
    assert checked["check_reason"].tolist() == ["与指标目录不符的积分记录 1 条(未标为调整)"]
    assert approved["award_label"].tolist() == ["红旗网格"]


# -- 已核实 -------------------------------------------------------------------------------------

# Ten lines of +5 for P1 on 28 September, recorded by W1: G1 then has 58 positive points (enough to be
# judged), 50 of them (86 %) in the quarter's last 7 days and 50 of 58 from one recorder, so two flags.
SPIKE = """INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_by)
           SELECT 10 + i, 'person', 'P1', 'I5', 5, TIMESTAMP '2026-09-28 09:00', 'W1' FROM range(10) t(i)"""
# A line in 2026Q2: G1's history (5 / 4 quarters / 2 residents = 0.625) is below half its 29.0 now.
HISTORY = """INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at)
             VALUES (30, 'person', 'P2', 'I5', 5, '2026-05-10 09:00')"""
LEADER = access.User("lead", "county_leader")


@pytest.mark.parametrize("checked, later, label, reason", [
    ((), "", "红旗网格(待核实)", "期末突击赋分;单人集中赋分"),
    (("quarter_end_spike",), "", "红旗网格(待核实)", "单人集中赋分"),
    (("quarter_end_spike", "single_recorder"), "", "红旗网格", None),
    # A flag raised after the check (the history line recorded later) holds the award again.
    (("quarter_end_spike", "single_recorder"), HISTORY, "红旗网格(待核实)", "积分远超历史水平"),
])
def test_a_flag_marked_checked_no_longer_holds_the_award(county, audit_file, checked, later, label, reason):
    with db.connect(county) as con:
        con.execute(SPIKE)
    for flag in checked:
        awards.verify(county, SECRETARY, "2026Q3", "G1", flag, "经入户核实,系重阳节集中志愿服务")
    if later:
        with db.connect(county) as con:
            con.execute(later)
    with db.connect(county, read_only=True) as con:
        named = credit.red_flag_grids(con, "2026Q3")
        flags = credit.integrity_flags(con, "2026Q3")
    assert named[["grid_id", "award_label"]].values.tolist() == [["G1", label]]
    assert norm([named["check_reason"]]) == norm([[reason]])
    assert sorted(flags.loc[flags["checked"], "flag"]) == sorted(checked)
    assert set(flags.loc[flags["checked"], "checked_by"]) <= {"sec"}
    with sqlite3.connect(audit_file) as log:
        assert not checked or log.execute("SELECT user_name, action, target, detail FROM audit ORDER BY id").fetchall() == [
            ("sec", "flag_check", f"2026Q3 G1 {credit.INTEGRITY_FLAGS[f]}", "经入户核实,系重阳节集中志愿服务")
            for f in checked]


@pytest.mark.parametrize("user, grid, flag, reason, message", [
    (SECRETARY, "G1", "quarter_end_spike", "  ", "请填写核实说明"),
    (SECRETARY, "G1", "spike", "属实", "提示类型只能是"),
    (SECRETARY, "G9", "quarter_end_spike", "属实", "网格 'G9' 不存在"),
    (SECRETARY, "G1", "above_history", "属实", "一网格2026年第3季度没有「积分远超历史水平」提示,无需核实"),
    (SECRETARY, "G2", "quarter_end_spike", "属实", "没有「期末突击赋分」提示"),
    (access.User("sec2", "community_secretary", place="C2"), "G1", "quarter_end_spike", "属实", "不在您的管理范围"),
    (access.User("ana", "analyst"), "G1", "quarter_end_spike", "属实", "无权核实积分异常提示"),
])
def test_a_bad_check_is_refused_in_chinese_and_nothing_is_written(county, audit_file, user, grid, flag, reason, message):
    with db.connect(county) as con:
        con.execute(SPIKE)
    before = county.read_bytes()
    with pytest.raises((ValueError, access.Denied), match=message):
        awards.verify(county, user, "2026Q3", grid, flag, reason)
    assert county.read_bytes() == before


def test_a_flag_is_checked_once(county, audit_file):
    with db.connect(county) as con:
        con.execute(SPIKE)
    awards.verify(county, LEADER, "2026Q3", "G1", "single_recorder", "属实")
    with pytest.raises(ValueError, match="一网格2026年第3季度的「单人集中赋分」已于 .* 由 lead 核实"):
        awards.verify(county, SECRETARY, "2026Q3", "G1", "single_recorder", "属实")


# -- the command line ----------------------------------------------------------------------------

@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users.json"
    store = access.UserStore(path)
    store.add("sec", "community_secretary", "long enough password 1", place="C")
    store.add("ana", "analyst", "long enough password 1")
    return path


def run(county, users, *argv):
    return main([*argv, "--db", str(county), "--users", str(users)])


ADD = ["--raised-on", "2026-10-09", "--reason", "加分不实"]


@pytest.mark.parametrize("argv, code, message", [
    (["--event", "2", "--raised-by", "P3", *ADD, "--user", "sec"], 0, "已登记异议申诉 A2026-0001,状态为待处理。"),
    (["--quarter", "2026Q3", "--grid", "G2", "--raised-by-name", "王五", *ADD], 0, "已登记异议申诉 A2026-0001"),
    (["--event", "99", "--raised-by", "P3", *ADD, "--user", "sec"], 2, "错误: 积分记录 99 不存在"),
    (["--event", "2", "--raised-by", "P3", "--raised-on", "2026-13-01", "--reason", "x"], 2, "提出日期无法识别"),
    (["--event", "2", "--raised-by", "P3", "--raised-on", "2026-10-09", "--reason", " "], 2, "请填写申诉理由"),
    (["--quarter", "2026Q3", "--raised-by", "P3", *ADD], 2, "网格 None 不存在"),
    (["--event", "2", "--raised-by", "P9", *ADD], 2, "提出人编号 P9 不在居民登记册中"),
    (["--event", "2", "--raised-by", "P3", *ADD, "--user", "ana"], 3, "无权登记和处理异议申诉"),
])
def test_appeals_are_added_on_the_command_line_with_the_pages_checks(county, users, audit_file, capsys, argv, code,
                                                                      message):
    before = county.read_bytes()
    assert run(county, users, "appeals", "add", *argv) == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)
    if code:
        assert county.read_bytes() == before


def test_appeals_are_decided_and_listed_on_the_command_line_and_audited(county, users, audit_file, capsys):
    assert run(county, users, "appeals", "add", "--event", "1", "--raised-by", "P1", *ADD, "--user", "sec") == 0
    assert run(county, users, "appeals", "decide", "A2026-0001", "--status", "支持", "--decided-on", "2026-10-13",
               "--user", "sec") == 2
    assert "请填写处理理由" in capsys.readouterr().err
    assert run(county, users, "appeals", "decide", "A2026-0001", "--status", "upheld", "--decided-on", "2026-10-13",
               "--reason", "未参加该活动", "--corrected-points", "2", "--user", "sec") == 0
    assert "异议申诉 A2026-0001 已支持。已在台账中写入更正记录 5。" in capsys.readouterr().out
    assert g1_average(county) == 2.5  # line 1 corrected from 5 to 2: 5 points over 2 residents
    assert run(county, users, "appeals", "list", "--period", "2026-10", "--user", "sec") == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and "A2026-0001" in listed[1] and "支持" in listed[1] and "张*明" in listed[1]
    log = audit.read(path=audit_file)
    assert log.sort_values("id")[["user_name", "action", "target"]].values.tolist()[:2] == [
        ["sec", "appeal", "A2026-0001"], ["sec", "appeal_decision", "A2026-0001"]]


@pytest.mark.parametrize("user, flag, reason, code, message", [
    ("sec", "quarter_end_spike", "系集中志愿服务", 0, "已核实:一网格2026年第3季度的「期末突击赋分」(sec(命令行"),
    (None, "quarter_end_spike", "系集中志愿服务", 0, "该网格仍待核实:单人集中赋分"),
    ("sec", "above_history", "系集中志愿服务", 2, "没有「积分远超历史水平」提示,无需核实"),
    ("sec", "quarter_end_spike", " ", 2, "请填写核实说明"),
    ("ana", "quarter_end_spike", "系集中志愿服务", 3, "无权核实积分异常提示"),
])
def test_a_flag_is_checked_on_the_command_line(county, users, audit_file, capsys, user, flag, reason, code, message):
    with db.connect(county) as con:
        con.execute(SPIKE)
    argv = ["verify", "--period", "2026Q3", "--grid", "G1", "--flag", flag, "--reason", reason]
    assert run(county, users, *argv, *(["--user", user] if user else [])) == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)
    if code == 0:
        assert run(county, users, "verify", "--period", "2026Q3", "--grid", "G1", "--flag", "single_recorder",
                   "--reason", "核实无误") == 0
        assert "该网格评选结果:红旗网格" in capsys.readouterr().out


# -- the import sheet -------------------------------------------------------------------------

APPEAL_HEADER = "申诉编号,被申诉记录编号,被申诉排名季度,被申诉排名网格,提出人编号,提出日期,申诉理由,处理状态,处理日期,处理理由\n"


@pytest.mark.parametrize("row, column, fragment", [
    ("A1,99,,,P1,2026-10-09,不属实,待处理,,\n", "被申诉记录编号", "不存在"),
    ("A1,1,,,P1,2026-10-32,不属实,待处理,,\n", "提出日期", "不是有效的日期"),
    ("A1,1,,,P1,2026-10-09,不属实,驳回,,\n", "处理状态", "必须填写处理日期"),
    ("A1,,2026Q3,,P1,2026-10-09,不属实,待处理,,\n", "被申诉记录编号", "请指明申诉对象"),
    ("A1,1,,,P1,2026-10-09,不属实,驳回,2026-10-01,属实\n", "处理日期", "早于提出日期"),
    ("A1,1,,,P1,2026-10-09,不属实,搁置,,\n", "处理状态", "不在允许的取值中"),
])
def test_appeal_sheet_problems_name_row_and_column(county, tmp_path, row, column, fragment):
    before = county.read_bytes()
    result = ingest.import_file(write(tmp_path, "appeals.csv", APPEAL_HEADER + row), county, table="appeals")
    assert result.status == "rejected"
    hits = result.problems[(result.problems["行"] == 2) & (result.problems["列"] == column)]
    assert hits["问题"].str.contains(fragment).any(), result.problems.to_string()
    assert county.read_bytes() == before


def test_an_imported_upheld_appeal_and_its_correction_land_together(county, tmp_path):
    path = tmp_path / "appeals.xlsx"
    book = openpyxl.Workbook()
    ledger = book.active
    ledger.title = "信用积分记录"
    ledger.append(["记录编号", "主体类型", "主体编号", "指标代码", "积分", "发生时间", "冲销记录编号", "异议申诉编号"])
    ledger.append([20, "个人", "P2", "I3", -3, "2026-09-11 09:00", 2, "A2026-0007"])
    sheet = book.create_sheet("异议申诉")
    sheet.append(APPEAL_HEADER.strip().split(",") + ["更正记录编号"])
    sheet.append(["A2026-0007", 2, None, None, "P2", "2026-10-09", "未参加", "支持", "2026-10-14", "属实", 20])
    book.save(path)
    result = ingest.import_file(path, county)
    assert result.status == "imported", result.problems.to_string()
    with db.connect(county, read_only=True) as con:
        rows = appeals.appeal_list(con, "2026Q4")
    assert rows[["appeal_id", "status_label", "in_time", "correcting_event_id"]].values.tolist() == [
        ["A2026-0007", "支持", True, 20]]
    assert g1_average(county) == 2.5


# -- the demo -----------------------------------------------------------------------------------

def test_the_demo_draws_a_handful_of_appeals_mostly_rejected_each_upheld_one_corrected(small_path):
    with db.connect(small_path, read_only=True) as con:
        counts = dict(con.execute("SELECT status, count(*) FROM appeals GROUP BY 1").fetchall())
        unmatched = con.execute("""
            SELECT count(*) FROM appeals a LEFT JOIN credit_events e ON e.event_id = a.correcting_event_id
            WHERE a.status = 'upheld' AND (e.appeal_id IS DISTINCT FROM a.appeal_id
                                           OR e.reverses_event_id IS DISTINCT FROM a.event_id)""").fetchone()[0]
        stray = con.execute("SELECT count(*) FROM credit_events WHERE appeal_id IS NOT NULL").fetchone()[0]
    assert counts.get("rejected", 0) > counts.get("upheld", 0) > 0
    assert unmatched == 0 and stray == counts["upheld"]
