"""Residents as of a date: per-resident figures count the people registered on the period's last
day, on a hand-built county with moves in, out and between grids (answers worked out in comments)."""

import datetime as dt

import pytest

from analytics import credit, db, overview, redemptions, residents, summary
from tests.helpers import norm

# C1: G1, G2, G3; C2: G4. P1-P5 and P10 never moved. P6 moved G1 -> G2 on 15 August; P7 left G2
# (and the county) on 10 November; P8 arrived in G3 on 30 September; P9 moved G3 (C1) -> G4 (C2)
# on 1 October. moved_out is the first day no longer registered there.
SETUP = """
    INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道');
    INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区');
    INSERT INTO grids (grid_id, community_id, name) VALUES ('G1', 'C1', '一'), ('G2', 'C1', '二'), ('G3', 'C1', '三'),
        ('G4', 'C2', '四');
    INSERT INTO people (person_id, grid_id, name) VALUES
        ('P1', 'G1', '张一'), ('P2', 'G1', '张二'), ('P3', 'G2', '李三'), ('P4', 'G2', '李四'), ('P5', 'G3', '王五'),
        ('P6', 'G2', '赵六'), ('P7', NULL, '钱七'), ('P8', 'G3', '孙八'), ('P9', 'G4', '周九'), ('P10', 'G4', '吴十');
    INSERT INTO residence_history (person_id, grid_id, moved_in, moved_out) VALUES
        ('P6', 'G1', '2020-01-01', '2026-08-15'), ('P6', 'G2', '2026-08-15', NULL),
        ('P7', 'G2', '2019-01-01', '2026-11-10'),
        ('P8', 'G3', '2026-09-30', NULL),
        ('P9', 'G3', '2018-01-01', '2026-10-01'), ('P9', 'G4', '2026-10-01', NULL);
    INSERT INTO credit_indicators (indicator_code, subject_type, category, name, points) VALUES
        ('VOL', 'person', 'volunteer', '志愿服务', 1);
    INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_at, recorded_by) VALUES
        (1, 'person', 'P1', 'VOL', 4, '2026-07-05 09:00', '2026-07-05 10:00', 'P1'),
        (2, 'person', 'P6', 'VOL', 6, '2026-07-10 09:00', '2026-07-10 10:00', 'P1'),
        (3, 'person', 'P3', 'VOL', 3, '2026-07-20 09:00', '2026-07-20 10:00', 'P1'),
        (4, 'person', 'P9', 'VOL', 3, '2026-07-25 09:00', '2026-07-25 10:00', 'P1'),
        (5, 'person', 'P10', 'VOL', 5, '2026-07-15 09:00', '2026-07-15 10:00', 'P1'),
        (6, 'person', 'P2', 'VOL', 2, '2026-08-20 09:00', '2026-08-20 10:00', 'P1'),
        (7, 'person', 'P7', 'VOL', 4, '2026-08-10 09:00', '2026-08-10 10:00', 'P1'),
        (8, 'person', 'P6', 'VOL', 2, '2026-09-01 09:00', '2026-09-01 10:00', 'P1'),
        (9, 'person', 'P4', 'VOL', 1, '2026-09-05 09:00', '2026-09-05 10:00', 'P1'),
        (10, 'person', 'P5', 'VOL', 2, '2026-09-10 09:00', '2026-09-10 10:00', 'P1'),
        (11, 'person', 'P8', 'VOL', 1, '2026-09-30 10:00', '2026-09-30 11:00', 'P1');
    INSERT INTO redemption_scenarios (scenario_id, name, category, points_cost) VALUES ('R1', '超市', 'goods', 3);
    INSERT INTO redemptions (redemption_id, person_id, scenario_id, points, redeemed_at) VALUES
        (1, 'P7', 'R1', 3, '2026-09-20 10:00');
"""


@pytest.fixture(params=["inline", "refreshed"])
def con(tmp_path, request):
    connection = db.connect(tmp_path / "r.duckdb")
    db.migrate(connection)
    connection.execute(SETUP)
    if request.param == "refreshed":
        summary.refresh(connection)
        assert summary.is_fresh(connection)
    yield connection
    connection.close()


@pytest.mark.parametrize("day, expected", [
    ("2026-08-14", {"G1": 3, "G2": 3, "G3": 2, "G4": 1}),   # P6 still in G1, P8 not yet arrived
    ("2026-08-15", {"G1": 2, "G2": 4, "G3": 2, "G4": 1}),   # P6 moved on the day
    ("2026-09-30", {"G1": 2, "G2": 4, "G3": 3, "G4": 1}),   # P8 arrived on the day, P9 still in G3
    ("2026-10-01", {"G1": 2, "G2": 4, "G3": 2, "G4": 2}),   # P9 in G4
    ("2026-11-10", {"G1": 2, "G2": 3, "G3": 2, "G4": 2}),   # P7 gone
])
def test_residents_by_grid_as_of_a_day(con, day, expected):
    found = residents.residents_by_grid(con, dt.date.fromisoformat(day))
    assert dict(zip(found["grid_id"], found["residents"])) == expected


# grid, residents, points, avg, rank. Q3 as of 30 September: G1 P1 4 + P2 2 = 6 / 2; G2 P6 6 + 2
# (both lines: P6 is in G2 on the last day), P3 3, P4 1, P7 4 = 16 / 4; G3 P5 2, P8 1, P9 3 = 6 / 3;
# G4 P10 5 / 1. Counted by today's people.grid_id it would be G2 12 / 3, G3 3 / 2, G4 8 / 2.
# July as of 31 July: G1 P1 4 + P6 6 = 10 / 3 (P6 not yet moved); G2 P3 3 / 3 (P7 there);
# G3 P9 3 / 2 (P8 not yet arrived); G4 5 / 1.
@pytest.mark.parametrize("period, expected", [
    ("2026Q3", [("G2", 4, 16.0, 4.0, 1), ("G1", 2, 6.0, 3.0, 2), ("G3", 3, 6.0, 2.0, 3), ("G4", 1, 5.0, 5.0, 1)]),
    ("2026-07", [("G1", 3, 10.0, 10 / 3, 1), ("G3", 2, 3.0, 1.5, 2), ("G2", 3, 3.0, 1.0, 3), ("G4", 1, 5.0, 5.0, 1)]),
    ("2026-07-01..2026-09-30", [("G2", 4, 16.0, 4.0, 1), ("G1", 2, 6.0, 3.0, 2), ("G3", 3, 6.0, 2.0, 3),
                                ("G4", 1, 5.0, 5.0, 1)]),
    # Q4 has no points; residents as of 31 December: P7 gone, P9 in G4.
    ("2026Q4", [("G1", 2, 0.0, 0.0, 1), ("G2", 3, 0.0, 0.0, 1), ("G3", 2, 0.0, 0.0, 1), ("G4", 2, 0.0, 0.0, 1)]),
])
def test_ranking_counts_the_residents_of_the_last_day(con, period, expected):
    ranking = credit.grid_credit_ranking(con, period)
    assert norm(ranking[["grid_id", "residents", "points", "avg_credit", "rank"]].itertuples(index=False)) == norm(expected)


def test_previous_rank_uses_the_previous_periods_residents(con):
    # August as of 31 August: G1 P2 2 / 2 = 1; G2 P7 4 / 4 = 1 (P6 arrived); G3 0 / 2. July ranks G1 1, G3 2, G2 3.
    ranking = credit.grid_credit_ranking(con, "2026-08").set_index("grid_id")
    assert ranking.loc[["G1", "G2", "G3"], "rank"].tolist() == [1, 1, 3]
    assert ranking.loc[["G1", "G2", "G3"], "prev_rank"].tolist() == [1, 3, 2]


def test_credit_summary_and_trend(con):
    assert norm(overview.credit_summary(con, "2026Q3").itertuples(index=False)) == [(10, 33.0, 3.3)]
    trend = overview.monthly_trend(con, "2026-09", months=3).set_index("month")["avg_credit"]
    # July 21 points / 9 residents (P8 not yet); August P2 2 + P7 4 = 6 / 9; September P6 2 + P4 1 +
    # P5 2 + P8 1 = 6 / 10.
    assert norm([tuple(trend)]) == norm([(21 / 9, 6 / 9, 0.6)])


def test_levels_publication_and_ledger_follow_the_move(con):
    assert credit.credit_level_distribution(con, "2026Q3")["people"].sum() == 10
    assert credit.credit_level_distribution(con, "2026-11")["people"].sum() == 9   # P7 left on 10 November
    listing = credit.monthly_publication(con, "2026-09")
    assert [tuple(r) for r in listing[["grid_name", "name", "points"]].itertuples(index=False)] == [
        ("二", "赵*", 2.0), ("二", "李*", 1.0), ("三", "王*", 2.0), ("三", "孙*", 1.0)]
    ledger = credit.grid_ledger(con, "G2", "2026Q3")
    assert sorted(ledger["event_id"]) == [2, 3, 7, 8, 9] and ledger["points"].sum() == 16
    assert sorted(credit.grid_ledger(con, "G1", "2026-07")["event_id"]) == [1, 2]


def test_redemptions_count_residents_of_the_last_day(con):
    uptake = redemptions.redemption_uptake(con, "2026Q3")
    assert norm(uptake[["community_id", "residents", "redeemers"]].itertuples(index=False)) == [("C1", 9, 1), ("C2", 1, 0)]
    # Q3: C1 earned 6 + 16 + 6 = 28, P7 spent 3; C2 5. November (as of 30 November): C1 without P7
    # and P9 earned 21; C2 P9 3 + P10 5.
    q3 = redemptions.outstanding_points(con, "2026Q3")
    assert norm(q3[["community_id", "residents", "points_earned", "points_spent", "outstanding"]].itertuples(index=False)) == [
        ("C1", 9, 28.0, 3.0, 25.0), ("C2", 1, 5.0, 0.0, 5.0)]
    nov = redemptions.outstanding_points(con, "2026-11")
    assert norm(nov[["community_id", "residents", "points_earned", "points_spent"]].itertuples(index=False)) == [
        ("C1", 7, 21.0, 0.0), ("C2", 2, 8.0, 0.0)]
