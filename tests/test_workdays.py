import datetime as dt

import chinese_calendar
import pandas as pd
import pytest

from analytics import db, settings, summary, workdays
from analytics.period import Scope

T = dt.datetime
D = dt.date

# Official 2026 arrangement (the calendar migration 004 seeds, from chinese_calendar 1.11.0):
# Mid-Autumn Festival 9-25..9-27 and National Day 10-1..10-7 off; Sunday 9-20 and Saturday 10-10
# are make-up working days; New Year 1-1..1-3 off with Sunday 1-4 worked. 2027 and 2003 are not
# covered: weekends only.


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    with db.connect(tmp_path_factory.mktemp("cal") / "c.duckdb") as con:
        db.migrate(con)
        return workdays.calendar(con)


@pytest.mark.parametrize("t0, t1, expected", [
    (T(2026, 10, 23, 12), T(2026, 10, 26, 12), 1.0),   # Friday to Monday across a weekend
    (T(2026, 9, 25, 12), T(2026, 9, 28, 12), 0.5),     # that Friday is the Mid-Autumn Festival
    (T(2026, 9, 30, 18), T(2026, 10, 8, 6), 0.5),      # across National Day: 0.25 + 0.25
    (T(2026, 10, 1), T(2026, 10, 8), 0.0),             # the holiday itself
    (T(2026, 10, 9, 12), T(2026, 10, 12, 12), 2.0),    # make-up Saturday 10-10 counts, Sunday not
    (T(2026, 9, 19), T(2026, 9, 21), 1.0),             # make-up Sunday 9-20
    (T(2026, 10, 26, 6), T(2026, 10, 26, 18), 0.5),
    (T(2026, 10, 26, 18), T(2026, 10, 26, 6), -0.5),
    (T(2025, 12, 31, 12), T(2026, 1, 5, 12), 2.0),     # New Year off, Sunday 1-4 worked
    (T(2026, 12, 31, 12), T(2027, 1, 4, 12), 2.0),     # 2027-01-01 (Friday) counts: not covered
    (T(2003, 9, 30, 12), T(2003, 10, 8, 12), 6.0),     # 2003: Monday to Friday only
])
def test_workdays_between(cal, t0, t1, expected):
    assert cal.between(t0, t1) == expected


@pytest.mark.parametrize("t0, n, expected", [
    (T(2026, 10, 23, 12), 1, T(2026, 10, 26, 12)),
    (T(2026, 9, 30, 18), 0.5, T(2026, 10, 8, 6)),
    (T(2026, 9, 30, 12), 0.5, T(2026, 10, 1)),         # due at the end of the last working day
    (T(2026, 10, 3, 10), 1, T(2026, 10, 9)),           # started inside the holiday
    (T(2026, 10, 3, 10), 0, T(2026, 10, 3, 10)),
    (T(2026, 10, 9, 12), 1, T(2026, 10, 10, 12)),      # make-up Saturday
    (T(2026, 9, 30, 18), 30, T(2026, 11, 17, 18)),
    (T(2026, 10, 8, 6), -0.5, T(2026, 9, 30, 18)),
    (T(2027, 1, 1, 12), 1, T(2027, 1, 4, 12)),
])
def test_add_workdays_is_the_inverse(cal, t0, n, expected):
    due = cal.add(t0, n)
    assert due == expected
    assert cal.between(t0, due) == n


@pytest.mark.parametrize("start, end, is_workday, index", [
    (D(2026, 9, 30), D(2026, 10, 12),
     [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1], [0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 4]),
    (D(2026, 12, 31), D(2027, 1, 4), [1, 1, 0, 0, 1], [0, 1, 2, 2, 2]),
    (D(2026, 10, 2), D(2026, 10, 1), [], []),
])
def test_calendar_frame(cal, start, end, is_workday, index):
    frame = cal.frame(start, end)
    assert list(frame.columns) == ["day", "is_workday", "workday_index"]
    assert frame["day"].tolist() == [start + dt.timedelta(i) for i in range(len(is_workday))]
    assert frame["is_workday"].tolist() == [bool(w) for w in is_workday]
    assert frame["workday_index"].tolist() == index


def test_the_seeded_calendar_is_chinese_calendars_for_every_year_it_knows(cal):
    days = [D(2004, 1, 1) + dt.timedelta(i) for i in range((D(2027, 1, 1) - D(2004, 1, 1)).days)]
    assert [cal.is_workday(d) for d in days] == [chinese_calendar.is_workday(d) for d in days]
    assert cal.years == frozenset(range(2004, 2027))


@pytest.mark.parametrize("category, step, steps, overrides, expected", [
    ("renovation", "rated", None, None, 30.0),
    ("noise", "rated", None, None, 10.0),
    ("renovation", "accepted", None, None, 1.0),
    ("safety", "accepted", None, None, 0.5),
    ("renovation", "rated", None, {}, 10.0),
    ("noise", "published", {"published": 4}, {"noise": {"rated": 2}}, 4.0),
    ("noise", "rated", {"published": 4}, {"noise": {"rated": 2}}, 2.0),
])
def test_allowed_workdays(category, step, steps, overrides, expected):
    assert workdays.allowed_workdays(category, step, steps, overrides) == expected


def test_allowed_workdays_has_no_deadline_for_filing():
    with pytest.raises(ValueError):
        workdays.allowed_workdays("noise", "filed")


# ticket, grid, category, events (step, time). G1 is in community C1, G2 in C2.
TICKETS = [
    ("T1", "G1", "noise", [("filed", "2026-10-26 06:00"), ("accepted", "2026-10-26 12:00")]),
    ("T2", "G1", "noise", [("filed", "2026-10-23 18:00"), ("accepted", "2026-10-26 06:00"),
                           ("discussed", "2026-10-26 12:00")]),
    ("T3", "G1", "renovation", [("filed", "2026-09-28 06:00"), ("accepted", "2026-09-28 18:00"),
                                ("discussed", "2026-09-29 12:00"), ("decided", "2026-09-30 18:00")]),
    ("T4", "G1", "noise", [("filed", "2026-10-19 18:00"), ("accepted", "2026-10-20 09:00"),
                           ("decided", "2026-10-28 06:00")]),  # skipped 'discussed'
    ("T5", "G1", "environment", [("filed", "2026-10-12 06:00"), ("accepted", "2026-10-12 12:00"),
                                 ("discussed", "2026-10-13 12:00"), ("decided", "2026-10-15 12:00"),
                                 ("rated", "2026-10-26 12:00"), ("published", "2026-10-27 12:00")]),
    ("T6", "G2", "noise", [("filed", "2026-10-15 12:00"), ("accepted", "2026-10-19 18:00")]),
    ("T7", "G1", "safety", [("filed", "2026-10-30 18:00"), ("accepted", "2026-11-02 09:00")]),
    ("T8", "G1", "noise", [("filed", "2026-11-02 06:00")]),
    ("T9", "G1", "noise", [("filed", "2026-10-29 12:00"), ("accepted", "2026-10-29 18:00"),
                           ("discussed", "2026-10-30 06:00"), ("decided", "2026-10-30 09:00"),
                           ("rated", "2026-10-30 12:00"), ("published", "2026-11-02 09:00")]),
]


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "w.duckdb"
    con = db.connect(path)
    db.migrate(con)
    con.execute("""
        INSERT INTO subdistricts VALUES ('S1', '少海街道', NULL);
        INSERT INTO communities VALUES ('C1', 'S1', '宝发社区', NULL, NULL, NULL), ('C2', 'S1', '紫悦城社区', NULL, NULL, NULL);
        INSERT INTO grids VALUES ('G1', 'C1', '宝发社区第1网格', NULL, 100, NULL), ('G2', 'C2', '紫悦城社区第1网格', NULL, 70, NULL);
    """)
    con.executemany("INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES (?, ?, ?, 'hotline', 'x')",
                    [t[:3] for t in TICKETS])
    con.executemany("INSERT INTO ticket_events (ticket_id, seq, step, occurred_at) VALUES (?, ?, ?, ?)",
                    [(t, seq, step, at) for t, _, _, events in TICKETS for seq, (step, at) in enumerate(events, 1)])
    con.execute("INSERT INTO meta VALUES ('as_of', '2026-10-31')")  # the data run to the end of October
    con.close()
    return path


@pytest.fixture
def con(path):
    connection = db.connect(path)
    yield connection
    connection.close()


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    frame = frame[columns].astype(object)
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


STATUS_COLUMNS = ["ticket_id", "grid_id", "community_id", "category", "current_step", "next_step", "since",
                  "allowed_workdays", "used_workdays", "share_used", "status", "overdue_multiple", "due_at",
                  "age_days"]
# The same with the Chinese labels the pages show, beside their codes.
LABELLED_COLUMNS = STATUS_COLUMNS[:4] + ["category_label", "current_step", "current_step_label", "next_step",
                                         "next_step_label"] + STATUS_COLUMNS[6:] + ["grid_name"]
# At the end of October (Sunday 2026-11-01 00:00): used working days counted by hand from the
# 2026 calendar; due_at is when the allowed working days run out.
STATUS_2026_10 = [
    ("T6", "G2", "C2", "noise", "accepted", "discussed", T(2026, 10, 19, 18), 3.0, 9.25, 9.25 / 3, "overdue",
     9.25 / 3, T(2026, 10, 22, 18), 16.5),
    ("T1", "G1", "C1", "noise", "accepted", "discussed", T(2026, 10, 26, 12), 3.0, 4.5, 1.5, "overdue", 1.5,
     T(2026, 10, 29, 12), 5.75),
    ("T2", "G1", "C1", "noise", "discussed", "decided", T(2026, 10, 26, 12), 5.0, 4.5, 0.9, "near_due", None,
     T(2026, 11, 2, 12), 8.25),
    # renovation: 30 working days to be rated; the clock stops over National Day.
    ("T3", "G1", "C1", "renovation", "decided", "rated", T(2026, 9, 30, 18), 30.0, 18.25, 18.25 / 30, "on_time",
     None, T(2026, 11, 17, 18), 33.75),
    # safety: half a working day to be accepted; the acceptance on 11-02 comes after the clock time.
    ("T7", "G1", "C1", "safety", "filed", "accepted", T(2026, 10, 30, 18), 0.5, 0.25, 0.5, "on_time", None,
     T(2026, 11, 2, 6), 1.25),
    # skipped 'discussed': decided is the last step reached, rated the next one due.
    ("T4", "G1", "C1", "noise", "decided", "rated", T(2026, 10, 28, 6), 10.0, 2.75, 0.275, "on_time", None,
     T(2026, 11, 11, 6), 12.25),
    # published on 11-02, after the clock time: still open then.
    ("T9", "G1", "C1", "noise", "rated", "published", T(2026, 10, 30, 12), 2.0, 0.5, 0.25, "on_time", None,
     T(2026, 11, 3, 12), 2.5),
]


def test_deadline_status_as_of_the_datas_date_whatever_the_period(con):
    for period in ("2026-10", "2026Q3", "2026Q4"):  # ended with the data, before it, still under way
        frame = workdays.deadline_status(con, period)
        assert list(frame.columns) == LABELLED_COLUMNS
        assert records(frame, STATUS_COLUMNS) == STATUS_2026_10
    con.execute("UPDATE meta SET value = '2026-11-02' WHERE key = 'as_of'")
    assert "T9" not in set(workdays.deadline_status(con, "2026-10")["ticket_id"])  # published on 11-02


def test_a_date_as_of_means_the_end_of_that_day(con):
    by_date = workdays.deadline_status(con, "2026Q3", as_of=D(2026, 10, 31))
    assert records(by_date, STATUS_COLUMNS) == STATUS_2026_10


def test_deadline_status_at_another_clock_time(con):
    frame = workdays.deadline_status(con, "2026-10", Scope(communities=("C1",)), as_of=T(2026, 11, 2, 12))
    # T9 was published at 09:00; T8 was filed at 06:00; T2 has used exactly its 5 days: not overdue yet.
    assert records(frame, ["ticket_id", "current_step", "next_step", "used_workdays", "share_used", "status"]) == [
        ("T1", "accepted", "discussed", 5.0, 5.0 / 3, "overdue"),
        ("T2", "discussed", "decided", 5.0, 1.0, "near_due"),
        ("T3", "decided", "rated", 18.75, 0.625, "on_time"),
        ("T4", "decided", "rated", 3.25, 0.325, "on_time"),
        ("T8", "filed", "accepted", 0.25, 0.25, "on_time"),
        ("T7", "accepted", "discussed", 0.125, 0.125 / 3, "on_time"),
    ]


@pytest.mark.parametrize("function, scope, options, expected", [
    (workdays.overdue_tickets, Scope(), {}, ["T6", "T1"]),
    (workdays.overdue_tickets, Scope(communities=("C1",)), {}, ["T1"]),
    (workdays.overdue_tickets, Scope(grids=("G2",)), {}, ["T6"]),
    (workdays.near_due_tickets, Scope(), {}, ["T2"]),
    (workdays.near_due_tickets, Scope(communities=("C2",)), {}, []),
    (workdays.near_due_tickets, Scope(), {"near_due_share": 0.5}, ["T2", "T3", "T7"]),
    # Without the category overrides renovation gets 10 days to be rated: 18.25 used.
    (workdays.overdue_tickets, Scope(), {"category_deadlines": {}}, ["T6", "T3", "T1"]),
    (workdays.overdue_tickets, Scope(), {"step_deadlines": {**settings.STEP_DEADLINE_WORKDAYS,
                                                            "discussed": 5}}, ["T6"]),
])
def test_overdue_and_near_due_lists(con, function, scope, options, expected):
    frame = function(con, "2026-10", scope, **options)
    assert frame["ticket_id"].tolist() == expected
    assert list(frame.columns) == LABELLED_COLUMNS


def test_scope_hides_a_community(con):
    frame = workdays.deadline_status(con, "2026-10", Scope(communities=("C1",)))
    assert frame["ticket_id"].tolist() == ["T1", "T2", "T3", "T7", "T4", "T9"]


@pytest.mark.parametrize("function", [workdays.deadline_status, workdays.deadline_compliance,
                                      workdays.overdue_tickets])
def test_unknown_community_is_an_error(con, function):
    with pytest.raises(ValueError, match="C9"):
        function(con, "2026-10", Scope(communities=("C9",)))


COMPLIANCE_COLUMNS = ["step", "steps_completed", "on_time", "on_time_share", "median_used_workdays"]


@pytest.mark.parametrize("period, scope, expected", [
    # accepted: T1 0.25, T2 0.5, T4 0.625, T5 0.25, T6 2.25 (late), T9 0.25; discussed: T2 0.25,
    # T5 1.0, T9 0.5; decided: T4 5.875 from 'accepted' (late), T5 2.0, T9 0.125; rated: T5 7.0,
    # T9 0.125; published: T5 1.0 (T9's publication falls in November).
    ("2026-10", Scope(), [("accepted", 6, 5, 5 / 6, 0.375), ("discussed", 3, 3, 1.0, 0.5),
                          ("decided", 3, 2, 2 / 3, 2.0), ("rated", 2, 2, 1.0, 3.5625), ("published", 1, 1, 1.0, 1.0)]),
    ("2026-10", Scope(communities=("C1",)),
     [("accepted", 5, 5, 1.0, 0.25), ("discussed", 3, 3, 1.0, 0.5), ("decided", 3, 2, 2 / 3, 2.0),
      ("rated", 2, 2, 1.0, 3.5625), ("published", 1, 1, 1.0, 1.0)]),
    # T3 only: 0.5, 0.75 and 1.25 working days; nothing rated or published.
    ("2026Q3", Scope(), [("accepted", 1, 1, 1.0, 0.5), ("discussed", 1, 1, 1.0, 0.75), ("decided", 1, 1, 1.0, 1.25),
                         ("rated", 0, 0, None, None), ("published", 0, 0, None, None)]),
])
def test_deadline_compliance(con, period, scope, expected):
    frame = workdays.deadline_compliance(con, period, scope)
    assert list(frame.columns) == COMPLIANCE_COLUMNS
    assert records(frame, COMPLIANCE_COLUMNS) == expected


def test_works_on_a_read_only_file_with_a_fresh_summary(path):
    con = db.connect(path)
    summary.refresh(con)
    con.close()
    con = db.connect(path, read_only=True)
    try:
        assert summary.relation(con, "summary_ticket_facts") == "summary_ticket_facts"
        assert records(workdays.deadline_status(con, "2026-10"), STATUS_COLUMNS) == STATUS_2026_10
        assert workdays.deadline_compliance(con, "2026-10")["on_time"].tolist() == [5, 3, 2, 2, 1]
    finally:
        con.close()


def test_a_deadline_across_spring_festival_2027_counts_the_holiday_once_its_calendar_is_imported(tmp_path):
    """A noise ticket decided on Wednesday 3 February 2027 at 10:00 must be rated within 10 working
    days. By the end of 18 February: Monday to Friday alone gives 14/24 + 2 (4–5 Feb) + 5 (8–12 Feb)
    + 4 (15–18 Feb) = 11.58 days, overdue. With the festival (6–12 Feb off, here a test schedule)
    imported, the week of 8–12 Feb drops out: 6.58 days, on time."""
    from analytics import ingest

    path = tmp_path / "g.duckdb"
    with db.connect(path) as con:
        db.migrate(con)
        con.execute("""
            INSERT INTO subdistricts VALUES ('S1', '少海街道', NULL);
            INSERT INTO communities VALUES ('C1', 'S1', '宝发社区', NULL, NULL, NULL);
            INSERT INTO grids VALUES ('G1', 'C1', '宝发社区第1网格', NULL, 100, NULL);
            INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES ('T1', 'G1', 'noise', 'hotline', 'x');
            INSERT INTO ticket_events (ticket_id, step, occurred_at) VALUES
                ('T1', 'filed', '2027-02-03 08:00'), ('T1', 'decided', '2027-02-03 10:00');""")

    def status():
        with db.connect(path, read_only=True) as con:
            row = workdays.deadline_status(con, "2027Q1", as_of=D(2027, 2, 18)).iloc[0]
            return row["status"], round(row["used_workdays"], 4), workdays.missing_years(con, "2027Q1", as_of=D(2027, 2, 18))

    assert status() == ("overdue", round(14 / 24 + 11, 4), [2027])
    schedule = tmp_path / "节假日安排.csv"
    schedule.write_text("日期,类型,名称\n" + "".join(f"2027-02-{d:02d},休,春节\n" for d in range(6, 13)), encoding="utf-8")
    assert ingest.import_file(schedule, path).status == "imported"
    assert status() == ("on_time", round(14 / 24 + 6, 4), [])
