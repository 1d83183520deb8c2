"""综合考评 on a hand-built community whose answers are worked out in the comments."""

import pytest

from analytics import db, evaluation, tickets, workdays
from helpers import norm

# Community C1: G1 (2 residents, +10 points: 5.0 each), G2 (2 residents, +6: 3.0), G3 (1 resident, 0).
# July 2026 has no holiday; 1 July is a Wednesday. Deadlines: accepted 1 working day, published 2.
SETUP = """
    INSERT INTO subdistricts VALUES ('S1', '少海街道', NULL);
    INSERT INTO communities VALUES ('C1', 'S1', '宝发社区', NULL, NULL, NULL);
    INSERT INTO grids VALUES ('G1', 'C1', '一', NULL, 10, NULL), ('G2', 'C1', '二', NULL, 10, NULL), ('G3', 'C1', '三', NULL, 10, NULL);
    INSERT INTO people (person_id, grid_id, name) VALUES ('A', 'G1', '张三'), ('B', 'G1', '李四'), ('C', 'G2', '王五'),
        ('D', 'G2', '赵六'), ('E', 'G3', '钱七'), ('W1', 'G1', '孙网格'), ('W2', 'G2', '周网格');
    INSERT INTO person_roles (person_id, role, since, grid_id) VALUES ('W1', 'grid_worker', '2025-01-01', 'G1'),
        ('W2', 'grid_worker', '2025-01-01', 'G2');
    INSERT INTO credit_events (event_id, subject_type, subject_id, points, occurred_at) VALUES
        (1, 'person', 'A', 6, '2026-07-05'), (2, 'person', 'B', 4, '2026-08-05'), (3, 'person', 'C', 6, '2026-09-05');
    INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES
        ('T1', 'G1', 'noise', 'hotline', 'x'), ('T2', 'G1', 'noise', 'hotline', 'x'), ('T3', 'G2', 'noise', 'hotline', 'x');
    INSERT INTO ticket_events (ticket_id, step, occurred_at) VALUES
        -- T1: accepted in an hour, published the next day: both on time
        ('T1', 'filed', '2026-07-01 09:00'), ('T1', 'accepted', '2026-07-01 10:00'), ('T1', 'published', '2026-07-02 09:00'),
        -- T2: accepted 3 working days after filing (late), published a day later (on time), reopened after
        ('T2', 'filed', '2026-07-06 09:00'), ('T2', 'accepted', '2026-07-09 09:00'), ('T2', 'published', '2026-07-10 09:00'),
        ('T2', 'reopened', '2026-07-20 09:00'),
        -- T3: both steps on time
        ('T3', 'filed', '2026-07-07 09:00'), ('T3', 'accepted', '2026-07-07 10:00'), ('T3', 'published', '2026-07-08 09:00');
    INSERT INTO ticket_ratings (ticket_id, rater_kind, score, rated_at) VALUES
        ('T1', 'resident', 4, '2026-07-02 08:00'), ('T2', 'resident', 2, '2026-07-10 08:00'), ('T3', 'resident', 5, '2026-07-08 08:00');
"""


@pytest.fixture
def con(tmp_path):
    connection = db.connect(tmp_path / "e.duckdb")
    db.migrate(connection)
    connection.execute(SETUP)
    yield connection
    connection.close()


def test_on_time_and_rework_by_grid(con):
    # G1: T1 accepted and published on time, T2 accepted late; T2's publication does not count, as
    # it was reopened (open again, as deadline_compliance has it): 2 of 3.
    assert norm(workdays.on_time_by_grid(con, "2026Q3").values.tolist()) == norm([("G1", 3, 2, 2 / 3), ("G2", 2, 2, 1.0)])
    # G1: T1 and T2 published in Q3, T2 reopened after: 1 of 2.
    assert norm(tickets.rework_by_grid(con, "2026Q3").values.tolist()) == [("G1", 2, 1, 0.5), ("G2", 1, 0, 0.0)]


def test_the_composite_weighs_each_component(con):
    frame = evaluation.grid_evaluation(con, "2026Q3").set_index("grid_id")
    # G1: credit 100 (5.0 is the best), on time 2/3, rework 50, satisfaction 4/5 = 80 (T2, reopened,
    #     is not a published ticket whose rating counts): 40 + 16.67 + 7.5 + 16 = 80.17.
    # G2: credit 3/5 = 60, 100, 100, 100: 24 + 25 + 15 + 20 = 84, first although second on credit.
    # G3: no ticket: credit alone, 0/5 = 0.
    assert norm(frame.loc[["G2", "G1", "G3"], ["credit_rank", "credit_score", "on_time_score", "rework_score",
                                               "satisfaction_score", "composite", "rank"]].values.tolist()) == norm([
        (2, 60.0, 100.0, 100.0, 100.0, 84.0, 1), (1, 100.0, 200 / 3, 50.0, 80.0, 40 + 50 / 3 + 7.5 + 16, 2),
        (3, 0.0, None, None, None, 0.0, 3)])
    assert list(frame.index) == ["G2", "G1", "G3"]


def test_weights_are_a_setting(con):
    credit_only = evaluation.grid_evaluation(con, "2026Q3", weights={"credit": 1}).set_index("grid_id")
    assert credit_only.loc[["G1", "G2", "G3"], "rank"].tolist() == [1, 2, 3]


def test_each_grid_worker_with_their_grids_figures(con):
    frame = evaluation.worker_service(con, "2026Q3")
    assert norm(frame[["grid_id", "person_id", "worker_name", "on_time_share", "rework_share"]].values.tolist()) == norm([
        ("G1", "W1", "孙*格", 2 / 3, 0.5), ("G2", "W2", "周*格", 1.0, 0.0)])
