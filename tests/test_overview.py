"""The overview's comparisons: a period in progress against the same span of the one before."""

import datetime as dt

import pytest

from analytics import db, overview
from analytics.period import parse_period

D = dt.date


@pytest.mark.parametrize("period, as_of, in_progress, span", [
    ("2026-12", D(2026, 12, 1), True, (D(2026, 11, 1), D(2026, 11, 1))),
    ("2026Q4", D(2026, 11, 28), True, (D(2026, 7, 1), D(2026, 8, 28))),
    ("2026-03", D(2026, 3, 31), False, (D(2026, 2, 1), D(2026, 2, 28))),  # complete: the whole month before
    ("2026-03", D(2026, 3, 30), True, (D(2026, 2, 1), D(2026, 2, 28))),   # 30 days, February has 28
    ("2026Q3", D(2026, 11, 28), False, (D(2026, 4, 1), D(2026, 6, 30))),
    ("2026-07-01..2026-07-10", D(2026, 7, 4), True, (D(2026, 6, 21), D(2026, 6, 24))),
])
def test_the_same_span_of_the_period_before(period, as_of, in_progress, span):
    p = parse_period(period)
    assert p.in_progress(as_of) is in_progress
    before = p.same_span_before(as_of) if in_progress else p.previous()
    assert (before.start, before.last_day) == span


@pytest.fixture
def con(tmp_path):
    """Grid G1; tickets published on 1 and 15 November and 1 December; T5, filed on 20 November, never
    accepted (1 working day allowed), and T6, filed on 1 December, still open."""
    connection = db.connect(tmp_path / "o.duckdb")
    db.migrate(connection)
    connection.execute("""
        INSERT INTO subdistricts VALUES ('S1', '少海街道', NULL);
        INSERT INTO communities VALUES ('C1', 'S1', '宝发社区', NULL, NULL, NULL);
        INSERT INTO grids VALUES ('G1', 'C1', '一', NULL, 100, NULL);
        INSERT INTO tickets (ticket_id, grid_id, category, channel, title) SELECT 'T' || k, 'G1', 'noise', 'hotline', 'x'
            FROM range(7) t(k);
        INSERT INTO ticket_events (ticket_id, step, occurred_at) VALUES
            ('T0', 'filed', '2026-10-30 09:00'), ('T0', 'published', '2026-11-01 09:00'),
            ('T1', 'filed', '2026-11-14 09:00'), ('T1', 'published', '2026-11-15 09:00'),
            ('T2', 'filed', '2026-11-14 09:00'), ('T2', 'published', '2026-11-15 09:00'),
            ('T3', 'filed', '2026-11-14 09:00'), ('T3', 'published', '2026-11-15 09:00'),
            ('T4', 'filed', '2026-11-30 09:00'), ('T4', 'published', '2026-12-01 09:00'),
            ('T5', 'filed', '2026-11-20 09:00'), ('T6', 'filed', '2026-12-01 09:00');
        INSERT INTO meta VALUES ('as_of', '2026-12-01');""")
    yield connection
    connection.close()


def test_a_month_of_one_day_is_compared_with_one_day(con):
    row = overview.headline(con, "2026-12").set_index("key").loc["tickets"]
    assert (row["value"], row["previous"], row["change"]) == (1, 1, 0)  # 1 December against 1 November
    assert (row["compared_with"], row["compared_span"]) == ("上期同期", "2026年11月01日至2026年11月01日")
    done = overview.headline(con, "2026-12", as_of=D(2026, 12, 31)).set_index("key").loc["tickets"]
    assert (done["value"], done["previous"], done["change"]) == (1, 4, -3)
    assert (done["compared_with"], done["compared_span"]) == ("上期", "2026年11月")


def test_overdue_alerts_are_as_of_the_datas_date_and_say_their_order(con):
    for period in ("2026-10", "2026-11", "2026-12"):  # what needs doing on 1 December, whatever the period
        alert = overview.alerts(con, parse_period(period)).set_index("kind").loc["overdue"]
        assert (alert["label"], alert["count"]) == ("超期工单(截至12月01日)", 1)
        assert alert["detail"] == "超期最多的(按已用时限比例):T5"
