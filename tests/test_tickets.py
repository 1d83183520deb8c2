"""Ticket metrics on hand-built tickets whose answers are worked out in the comments."""

import pytest

from analytics import db, summary, tickets
from analytics.period import Scope

SETUP = """
    INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道');
    INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区');
    INSERT INTO grids (grid_id, community_id, name) VALUES ('G1', 'C1', '一'), ('G2', 'C1', '二'), ('G5', 'C2', '五');
    INSERT INTO people (person_id, grid_id, name) VALUES ('P1', 'G1', '张三');
    INSERT INTO tickets (ticket_id, grid_id, category, channel, title, department, filed_by) VALUES
        ('T1', 'G1', 'noise', 'hotline', '噪音', NULL, 'P1'),
        ('T2', 'G1', 'noise', 'in_person', '噪音', NULL, 'P1'),
        ('T3', 'G1', 'property', 'hotline', '电梯', NULL, 'P1'),
        ('T4', 'G2', 'property', 'hotline', '物业', NULL, 'P1'),
        ('T5', 'G2', 'parking_charging', 'hotline', '充电', 'power_supply', 'P1'),
        ('T6', 'G2', 'noise', 'hotline', '噪音', NULL, 'P404'),
        ('T7', 'G5', 'noise', 'hotline', '噪音', NULL, 'P1'),
        ('T8', NULL, 'noise', 'hotline', '无网格', NULL, 'P1'),
        ('T9', 'G5', 'noise', 'hotline', '顺序错', NULL, 'P1');
    INSERT INTO ticket_events (ticket_id, step, occurred_at, actor_id) VALUES
        -- T1: 5.0 days, every step
        ('T1', 'filed', '2026-07-01 09:00', 'P1'), ('T1', 'accepted', '2026-07-01 10:00', NULL),
        ('T1', 'discussed', '2026-07-02 09:00', NULL), ('T1', 'decided', '2026-07-03 09:00', NULL),
        ('T1', 'rated', '2026-07-05 09:00', NULL), ('T1', 'published', '2026-07-06 09:00', NULL),
        -- T2: filed in Q2, published in Q3: 3.0 days
        ('T2', 'filed', '2026-06-30 09:00', NULL), ('T2', 'accepted', '2026-06-30 10:00', NULL),
        ('T2', 'discussed', '2026-07-01 09:00', NULL), ('T2', 'decided', '2026-07-01 15:00', NULL),
        ('T2', 'rated', '2026-07-02 09:00', NULL), ('T2', 'published', '2026-07-03 09:00', NULL),
        -- T3: skipped 'discussed': 10.0 days
        ('T3', 'filed', '2026-07-10 09:00', NULL), ('T3', 'accepted', '2026-07-10 12:00', NULL),
        ('T3', 'decided', '2026-07-11 09:00', NULL), ('T3', 'rated', '2026-07-12 09:00', NULL),
        ('T3', 'published', '2026-07-20 09:00', NULL),
        -- T4: published in Q4, so open at the end of Q3
        ('T4', 'filed', '2026-09-01 09:00', NULL), ('T4', 'accepted', '2026-09-02 09:00', NULL),
        ('T4', 'published', '2026-10-01 09:00', NULL),
        -- T5: escalated, still open
        ('T5', 'filed', '2026-08-01 00:00', NULL), ('T5', 'accepted', '2026-08-01 09:00', 'P1'),
        ('T5', 'discussed', '2026-08-02 09:00', NULL), ('T5', 'escalated', '2026-08-03 09:00', NULL),
        -- T6: reopened after its first publication; the last publication counts: 10.0 days
        ('T6', 'filed', '2026-07-01 09:00', NULL), ('T6', 'accepted', '2026-07-01 11:00', NULL),
        ('T6', 'discussed', '2026-07-02 09:00', NULL), ('T6', 'decided', '2026-07-03 09:00', NULL),
        ('T6', 'rated', '2026-07-04 09:00', NULL), ('T6', 'published', '2026-07-05 09:00', NULL),
        ('T6', 'reopened', '2026-07-06 09:00', NULL), ('T6', 'decided', '2026-07-08 09:00', NULL),
        ('T6', 'rated', '2026-07-09 09:00', NULL), ('T6', 'published', '2026-07-11 09:00', NULL),
        -- T7: published 30 minutes after filing
        ('T7', 'filed', '2026-07-01 09:00', NULL), ('T7', 'published', '2026-07-01 09:30', NULL),
        -- T8: no grid; T9: accepted before it was filed
        ('T8', 'filed', '2026-07-15 09:00', NULL),
        ('T9', 'filed', '2026-07-20 10:00', NULL), ('T9', 'accepted', '2026-07-20 09:00', NULL);
    INSERT INTO ticket_ratings (ticket_id, rater_kind, score, rated_at) VALUES
        ('T1', 'resident', 5, '2026-07-05 10:00'), ('T1', 'party_member', 4, '2026-07-05 10:00'),
        ('T2', 'resident', 3, '2026-07-02 10:00'), ('T6', 'resident', 2, '2026-07-04 10:00');
"""


@pytest.fixture(params=["inline", "refreshed"])
def con(tmp_path, request):
    connection = db.connect(tmp_path / "t.duckdb")
    db.migrate(connection)
    connection.execute(SETUP)
    if request.param == "refreshed":
        summary.refresh(connection)
    yield connection
    connection.close()


def rows(frame, columns):
    return [tuple(r) for r in frame[columns].astype(object).itertuples(index=False)]


@pytest.mark.parametrize("by, key, expected", [
    # G1: [5, 3, 10] -> median 5, p90 at position 1.8 = 5 + 0.8 * 5 = 9; G2: [10]; G5: [1/48].
    ("grid", "grid_id", [("G1", 3, 5.0, 9.0), ("G2", 1, 10.0, 10.0), ("G5", 1, 1 / 48, 1 / 48)]),
    ("community", "community_id", [("C1", 4, 7.5, 10.0), ("C2", 1, 1 / 48, 1 / 48)]),
    # noise: T1 5, T2 3, T6 10, T7 1/48 -> median 4, p90 at 2.7 = 5 + 0.7 * 5 = 8.5
    ("category", "category", [("noise", 4, 4.0, 8.5), ("property", 1, 10.0, 10.0)]),
    ("county", "county", [("county", 5, 5.0, 10.0)]),
])
def test_ticket_resolution(con, by, key, expected):
    frame = tickets.ticket_resolution(con, "2026Q3", by=by)
    assert rows(frame, [key, "tickets"]) == [(k, n) for k, n, _, _ in expected]
    assert frame["median_days"].tolist() == pytest.approx([m for _, _, m, _ in expected])
    assert frame["p90_days"].tolist() == pytest.approx([p for _, _, _, p in expected])


def test_ticket_resolution_scope_and_bad_grouping(con):
    frame = tickets.ticket_resolution(con, "2026Q3", Scope(communities=("C2",)), by="grid")
    assert list(frame["grid_id"]) == ["G5"]
    with pytest.raises(ValueError, match="不支持的分组"):
        tickets.ticket_resolution(con, "2026Q3", by="grid_id; DROP TABLE tickets")


def test_step_durations_skip_and_bottleneck(con):
    steps = tickets.step_durations(con, "2026Q3").set_index("from_step")
    # Published in Q3 with both steps: filed->accepted T1 1h, T2 1h, T3 3h, T6 2h; T3 skipped 'discussed'.
    assert steps.loc["filed", "tickets"] == 4 and steps.loc["filed", "median_hours"] == 1.5
    assert steps.loc["accepted", "tickets"] == 3 and steps.loc["discussed", "tickets"] == 3
    # decided->rated: T1 48h, T2 18h, T3 24h, T6 24h (first decision to first rating) -> 24
    assert steps.loc["decided", "median_hours"] == 24.0
    # rated->published: T1 24h, T2 24h, T3 192h, T6 168h (first rating to last publication) -> 96
    assert steps.loc["rated", "median_hours"] == 96.0
    assert steps.index[steps["bottleneck"]].tolist() == ["rated"]


def test_funnel_counts_tickets_filed_in_the_period(con):
    funnel = tickets.ticket_funnel(con, "2026Q3")
    # Filed in Q3: T1, T3, T4, T5, T6, T7, T8, T9 (T2 was filed in Q2).
    assert dict(zip(funnel["step"], funnel["reached"])) == {
        "filed": 8, "accepted": 6, "discussed": 3, "decided": 3, "rated": 3, "published": 5}
    assert funnel["share"].iloc[0] == 1.0


def test_ratings(con):
    ratings = tickets.ticket_ratings(con, "2026Q3").set_index("rater_kind")
    # Published in Q3: T1, T2, T3, T6, T7; rated: T1 (5, 4), T2 (3), T6 (2).
    assert ratings.loc["all", "tickets"] == 5 and ratings.loc["all", "tickets_rated"] == 3
    assert ratings.loc["all", "share_rated"] == pytest.approx(0.6)
    assert ratings.loc["all", "mean_score"] == pytest.approx(3.5)
    assert ratings.loc["party_member", "tickets_rated"] == 1 and ratings.loc["party_member", "mean_score"] == 4.0
    assert ratings.loc["resident", "mean_score"] == pytest.approx(10 / 3)


def test_backlog_at_the_end_of_the_period(con):
    open_now = tickets.open_tickets(con, "2026Q3")
    # T4 is published on 1 October, after the end; T5 never was; T8 and T9 are stuck.
    assert rows(open_now, ["ticket_id", "current_step"]) == [
        ("T8", "filed"), ("T9", "accepted"), ("T5", "discussed"), ("T4", "accepted")]
    t5 = open_now.set_index("ticket_id").loc["T5"]
    assert t5["current_step"] == "discussed" and t5["age_days"] == 61.0
    backlog = tickets.ticket_backlog(con, "2026Q3").set_index("current_step")
    assert backlog.loc["accepted", "tickets"] == 2 and backlog.loc["rated", "tickets"] == 0
    # Scoped to C1, the ticket without a grid and C2's T9 disappear.
    assert set(tickets.open_tickets(con, "2026Q3", Scope(communities=("C1",)))["ticket_id"]) == {"T4", "T5"}


def test_escalations_and_publication(con):
    esc = tickets.escalations(con, "2026Q3")
    assert rows(esc, ["department", "escalations", "resolved"]) == [("power_supply", 1, 0)]
    pub = tickets.decision_publication(con, "2026Q3").iloc[0]
    # Decided in Q3 (first decision): T1, T2, T3, T6, all published; lags 3, 1.75, 9, 8 days.
    assert pub["decided"] == 4 and pub["published"] == 4 and pub["median_lag_days"] == pytest.approx(5.5)


def test_data_quality_flags(con):
    flags = tickets.data_quality_flags(con, "2026Q3")
    found = set(zip(flags["record_id"], flags["flag"]))
    assert found == {("T7", "too_fast"), ("T9", "out_of_order"), ("T8", "missing_grid"), ("T6", "unknown_person")}
    assert flags.set_index("record_id").loc["T7", "reason"] == "从提单到结果公开仅用 30 分钟"
    scoped = tickets.data_quality_flags(con, "2026Q3", Scope(communities=("C1",)))
    assert set(scoped["record_id"]) == {"T6"}


def test_ledger_lines_written_around_the_importer_are_flagged(con):
    # Plain SQL bypasses the importer's checks: id 7 is stored twice (P1 of grid G1), id 8 reverses
    # an event that was never stored. The ledger keeps no unique index, so the flags are the guard.
    con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, points, occurred_at, reverses_event_id)
                   VALUES (7, 'person', 'P1', 5, '2026-07-01', NULL), (7, 'person', 'P1', 5, '2026-07-02', NULL),
                          (8, 'person', 'P1', -5, '2026-07-03', 99), (9, 'person', 'P1', 5, '2026-07-04', NULL)""")
    for refreshed in (False, True):  # the summaries stale after the write, then rebuilt by `refresh`
        if refreshed:
            assert summary.refresh(con)["summary_ledger_duplicates"] == 1
        flags = tickets.data_quality_flags(con, "2026Q3")
        credit = flags[flags["source"] == "credit"]
        assert sorted(zip(credit["record_id"], credit["flag"])) == [
            ("7", "duplicate_event"), ("7", "duplicate_event"), ("8", "dangling_reversal")]
        assert set(credit.loc[credit["flag"] == "duplicate_event", "reason"]) == {"记录编号 7 在台账中出现 2 次(积分被重复计入)"}
        assert set(tickets.data_quality_flags(con, "2026Q3", Scope(communities=("C2",)))["source"]) == {"ticket"}
