"""Official results: a quarter frozen when announced stays as announced; late ledger lines, a
corrected line and a late-recorded move show only in today's recomputation and its corrections
(公布后更正). The county is tests/test_residents.py's; answers worked out in the comments."""

import datetime as dt

import pytest

from analytics import access, audit, clock, credit, db, official
from analytics.__main__ import main
from analytics.period import Scope, quarter_of
from tests.helpers import norm
from tests.test_residents import SETUP

CUTOFF = dt.datetime(2026, 10, 8, 18, 0)
WORKERS = """
    INSERT INTO people (person_id, grid_id, name) VALUES ('W1', NULL, '刘网格'), ('W2', NULL, '陈网格'), ('W4', NULL, '何网格');
    INSERT INTO person_roles (person_id, role, since, grid_id) VALUES
        ('W1', 'grid_worker', '2024-01-01', 'G2'), ('W2', 'grid_worker', '2024-01-01', 'G1'),
        ('W4', 'grid_worker', '2024-01-01', 'G4');
"""
# After the freeze: P1 +4 on 29 September recorded on 20 October (late); the 3 points of P3 (line 3)
# reversed on 21 October (late); line 10 of P5 corrected from 2 to 5 points; and P4 found to have
# moved G2 -> G3 on 1 September (recorded late: his line 9, +1, now counts in G3).
LATER = """
    INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_at,
                               recorded_by, reverses_event_id) VALUES
        (20, 'person', 'P1', 'VOL', 4, '2026-09-29 09:00', '2026-10-20 09:00', 'P1', NULL),
        (21, 'person', 'P3', 'VOL', -3, '2026-07-20 09:00', '2026-10-21 09:00', 'P1', 3);
    UPDATE credit_events SET points = 5 WHERE event_id = 10;
    INSERT INTO residence_history (person_id, grid_id, moved_in, moved_out) VALUES
        ('P4', 'G2', '2015-01-01', '2026-09-01'), ('P4', 'G3', '2026-09-01', NULL);
    UPDATE people SET grid_id = 'G3' WHERE person_id = 'P4';
"""
RANK = ["grid_id", "residents", "points", "avg_credit", "rank", "red_flag"]
# As announced (test_residents): G2 16 / 4, G1 6 / 2, G3 6 / 3; G4 5 / 1.
OFFICIAL = [("G2", 4, 16.0, 4.0, 1, True), ("G1", 2, 6.0, 3.0, 2, False), ("G3", 3, 6.0, 2.0, 3, False),
            ("G4", 1, 5.0, 5.0, 1, True)]
# Today: G1 6 + 4 = 10 / 2 = 5; G2 without P4: P6 8, P3 3 - 3, P7 4 = 12 / 3 = 4; G3 with P4:
# P5 5, P8 1, P9 3, P4 1 = 10 / 4 = 2.5.
LIVE = [("G1", 2, 10.0, 5.0, 1, True), ("G2", 3, 12.0, 4.0, 2, False), ("G3", 4, 10.0, 2.5, 3, False),
        ("G4", 1, 5.0, 5.0, 1, True)]


@pytest.fixture
def path(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    path = tmp_path / "o.duckdb"
    with db.connect(path) as con:
        db.migrate(con)
        con.execute(SETUP)
        con.execute(WORKERS)
    return path


def rows(frame, columns=RANK):
    return norm(frame[columns].astype(object).itertuples(index=False))


def later(path):
    with db.connect(path) as con:
        con.execute(LATER)


def test_the_official_ranking_stays_as_frozen_and_live_differs_by_the_late_lines(path):
    frozen = official.freeze(path, "2026Q3", cutoff=CUTOFF, user="leader")
    assert (frozen.version, frozen.cutoff, frozen.residents_as_of, frozen.frozen_by) == (
        1, CUTOFF, dt.date(2026, 9, 30), "leader")
    assert frozen.label == f"正式公布结果({frozen.frozen_at:%Y-%m-%d} 冻结)"
    later(path)
    with db.connect(path, read_only=True) as con:
        assert rows(credit.grid_credit_ranking(con, "2026Q3")) == OFFICIAL
        assert rows(credit.grid_credit_ranking(con, "2026Q3", live=True)) == LIVE
        # The sums and averages read the announced figures too, for the scope asked.
        assert rows(credit.grid_points(con, "2026Q3"), RANK[:4]) == [r[:4] for r in OFFICIAL]
        assert rows(credit.grid_points(con, "2026Q3", Scope(grids=("G1", "G4"))), RANK[:4]) == [
            ("G1", 2, 6.0, 3.0), ("G4", 1, 5.0, 5.0)]
        assert list(credit.red_flag_grids(con, "2026Q3")["grid_id"]) == ["G2", "G4"]
        assert norm(credit.excellent_grid_workers(con, "2026Q3")[["grid_id", "worker_name"]].itertuples(index=False)) == [
            ("G2", "刘*格"), ("G4", "何*格")]
        assert norm(credit.excellent_grid_workers(con, "2026Q3", live=True)[["grid_id", "worker_name"]]
                    .itertuples(index=False)) == [("G1", "陈*格"), ("G4", "何*格")]
        grids, lines = official.corrections(con, "2026Q3")
        scoped, only = official.corrections(con, "2026Q3", Scope(grids=("G1",)))
    assert rows(grids, ["grid_id", "official_rank", "live_rank", "official_avg", "live_avg", "avg_change",
                        "official_residents", "live_residents"]) == [
        # Changed ranks first (the larger change of the average first), then G3 (same rank, +0.5).
        ("G1", 2, 1, 3.0, 5.0, 2.0, 2, 2), ("G2", 1, 2, 4.0, 4.0, 0.0, 4, 3), ("G3", 3, 3, 2.0, 2.5, 0.5, 3, 4)]
    assert list(scoped["grid_id"]) == ["G1"] and list(only["event_id"]) == [20]
    assert rows(lines, ["event_id", "grid_id", "change", "official_points", "live_points"]) == [
        (20, "G1", "late", None, 4.0), (21, "G2", "late", None, -3.0),
        (9, "G3", "moved", 1.0, 1.0), (10, "G3", "corrected", 2.0, 5.0)]
    assert lines.set_index("event_id").loc[21, "reverses_event_id"] == 3


# 2026Q4 has no points: every grid ties first in its community. Its change of rank is against Q3
# as announced (G2 1, G1 2, G3 3; G4 1), not Q3 as recomputed today (G1 1, G2 2, G3 3; G4 1).
@pytest.mark.parametrize("frozen, changes", [
    (True, [("G1", 2, 1), ("G2", 1, 0), ("G3", 3, 2), ("G4", 1, 0)]),
    (False, [("G1", 1, 0), ("G2", 2, 1), ("G3", 3, 2), ("G4", 1, 0)]),
])
def test_the_next_quarters_rank_change_is_against_the_announced_ranking(path, frozen, changes):
    if frozen:
        official.freeze(path, "2026Q3", cutoff=CUTOFF, user="leader")
    later(path)
    with db.connect(path, read_only=True) as con:
        for live in (False, True):
            found = credit.grid_credit_ranking(con, "2026Q4", live=live).sort_values("grid_id")
            assert rows(found, ["grid_id", "prev_rank", "rank_change"]) == changes


def test_a_freeze_counts_only_lines_recorded_up_to_the_cutoff(path):
    later(path)
    # Frozen on 20 October 12:00: line 20 (recorded that morning) counts, line 21 (the 21st) not.
    frozen = official.freeze(path, "2026Q3", cutoff=dt.datetime(2026, 10, 20, 12, 0), user="leader")
    with db.connect(path, read_only=True) as con:
        found = rows(official.ranking(con, frozen))
    assert found[:3] == [("G1", 2, 10.0, 5.0, 1, True), ("G2", 3, 15.0, 5.0, 1, True), ("G3", 4, 10.0, 2.5, 3, False)]


def test_refreezing_needs_a_reason_and_keeps_the_earlier_version(path):
    first = official.freeze(path, "2026Q3", cutoff=CUTOFF, user="leader")
    later(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="已于 .* 冻结\\(第 1 版\\);重新冻结须说明理由"):
        official.freeze(path, "2026Q3", user="leader")
    with pytest.raises(ValueError, match="重新冻结须说明理由"):
        official.freeze(path, "2026Q3", reason="   ", user="leader")
    assert path.read_bytes() == before   # a refused freeze writes nothing
    second = official.freeze(path, "2026Q3", reason="补录10月20日前漏记的积分", user="admin")
    with db.connect(path, read_only=True) as con:
        assert [v.version for v in official.versions(con, "2026Q3")] == [2, 1]
        assert official.latest(con, "2026Q3").reason == "补录10月20日前漏记的积分"
        assert rows(credit.grid_credit_ranking(con, "2026Q3")) == LIVE
        assert rows(official.ranking(con, first)) == OFFICIAL
    assert second.fingerprint != first.fingerprint


@pytest.mark.parametrize("quarter, cutoff, message", [
    ("2026-09", None, "冻结按季度进行"),
    ("2026Q3", dt.datetime(2026, 9, 30, 23, 0), "早于2026年第3季度结束"),
    ("2026Q3", dt.datetime(2099, 1, 1), "晚于现在"),
    (quarter_of(clock.today()).label, None, "尚未结束"),
])
def test_an_implausible_freeze_is_refused(path, quarter, cutoff, message):
    with pytest.raises(ValueError, match=message):
        official.freeze(path, quarter, cutoff=cutoff, user="leader")


def test_the_fingerprint_is_the_canonical_result(path):
    frozen = official.freeze(path, "2026Q3", cutoff=CUTOFF, user="leader")
    with db.connect(path, read_only=True) as con:
        again = official.fingerprint("2026Q3", official.ranking(con, frozen), official.workers(con, frozen))
        rank, good, _ = official.compute(con, "2026Q3", CUTOFF)
    assert frozen.fingerprint == again == official.fingerprint("2026Q3", rank, good)
    # The same result in any process, on any day: nothing but the result goes into it.
    assert frozen.fingerprint == "2e103a6aa24c880f14005bb8a66713d226e3f7e367775a7d722a4af11693a4fe"


def test_the_command_line_freezes_audits_and_shows_the_corrections(path, tmp_path, capsys):
    users = tmp_path / "users.json"
    store = access.UserStore(users)
    store.add("lead", "county_leader", "long enough password 1")
    store.add("ana", "analyst", "long enough password 1")
    common = ["--db", str(path), "--users", str(users)]
    assert main(["freeze", "--quarter", "2026Q3", "--cutoff", "2026-10-08 18:00", "--user", "ana", *common]) == 3
    assert "无权冻结季度考评结果" in capsys.readouterr().err
    assert main(["freeze", "--quarter", "2026Q3", "--cutoff", "2026-10-08 18:00", "--user", "lead", *common]) == 0
    out = capsys.readouterr().out
    assert "已冻结2026年第3季度考评结果" in out and "红旗网格 2 个:二、四" in out
    assert main(["freeze", "--quarter", "2026Q3", "--user", "lead", *common]) == 2
    assert "重新冻结须说明理由" in capsys.readouterr().err
    later(path)
    assert main(["metric", "grid-credit-ranking", "--period", "2026Q3", "--db", str(path)]) == 0
    captured = capsys.readouterr()
    assert "正式公布结果(" in captured.err and "第 1 版,lead(" in captured.err
    assert captured.out.splitlines()[1].split(",")[:6] == ["2026Q3", "S1", "C1", "宝发社区", "G2", "二"]
    assert main(["metric", "grid-credit-ranking", "--period", "2026Q3", "--db", str(path), "--live"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].split(",")[4:6] == ["G1", "一"]
    assert "公布后更正" in captured.err
    assert "宝发社区 一(G1):名次 2 → 1,人均积分 3.00 → 5.00,居民 2 → 2" in captured.err
    assert "积分记录 #20(一,截止后补录):— → 4.00 分,记录于 2026-10-20 09:00" in captured.err
    assert "积分记录 #10(三,分值更正):2.00 → 5.00 分" in captured.err
    assert main(["metric", "credit-levels", "--period", "2026Q3", "--db", str(path), "--live"]) == 2
    log = audit.read(action="freeze")
    assert list(zip(log["user_name"], log["ok"])) == [("lead", False), ("lead", True)]
    assert audit.read(action="denied")["user_name"].tolist() == ["ana"]


def test_undoing_an_import_keeps_a_freeze_made_after_it(tiny, tmp_path):
    from analytics import ingest
    from tests.helpers import write
    from tests.test_ingest import LEDGER_HEADER

    # tiny: P1 (101-01) and P2 (101-02) 5 points each in August. The import adds 5 for P1 in September.
    result = ingest.import_file(write(tmp_path, "ledger.csv", LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n"), tiny)
    assert result.status == "imported"
    frozen = official.freeze(tiny, "2026Q3", cutoff=CUTOFF, user="leader")
    ingest.undo_last(tiny)
    with db.connect(tiny, read_only=True) as con:
        assert official.latest(con, "2026Q3") == frozen
        assert rows(credit.grid_credit_ranking(con, "2026Q3"), ["grid_id", "points", "rank"]) == [
            ("101-01", 10.0, 1), ("101-02", 5.0, 2)]
        assert rows(credit.grid_credit_ranking(con, "2026Q3", live=True), ["grid_id", "points", "rank"]) == [
            ("101-01", 5.0, 1), ("101-02", 5.0, 1)]
