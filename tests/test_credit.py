"""Credit metrics on a hand-built county whose answers are worked out in the comments."""

import pytest

from analytics import credit, db, summary
from analytics.period import Scope
from analytics.privacy import mask_name, mask_sql

# Community C1: G1 (P1, P2), G2 (P3-P6), G3 (P7), G4 (no residents). Community C2: G5 (P8), G6 (P9, P10).
SETUP = """
    INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道');
    INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区');
    INSERT INTO grids (grid_id, community_id, name) VALUES ('G1', 'C1', '一'), ('G2', 'C1', '二'), ('G3', 'C1', '三'),
        ('G4', 'C1', '四'), ('G5', 'C2', '五'), ('G6', 'C2', '六');
    INSERT INTO people (person_id, grid_id, name, is_party_member) VALUES
        ('P1', 'G1', '张三明', true), ('P2', 'G1', '李四', false), ('P3', 'G2', '王五', false), ('P4', 'G2', '赵六', false),
        ('P5', 'G2', '孙七', false), ('P6', 'G2', '周八', false), ('P7', 'G3', '吴九', false), ('P8', 'G5', '郑十', false),
        ('P9', 'G6', '欧阳明月', false), ('P10', 'G6', '钱', false);
    INSERT INTO organizations (org_id, grid_id, name, org_type) VALUES
        ('O1', 'G1', '好邻居超市', 'merchant'), ('O2', 'G5', '安泰物业', 'property_company'), ('O3', 'G6', '福满餐馆', 'merchant');
    INSERT INTO credit_indicators (indicator_code, subject_type, category, name, points) VALUES
        ('VOL', 'person', 'volunteer', '志愿服务', 2), ('BAD', 'person', 'civility', '乱扔垃圾', -3),
        ('OK', 'org', 'business', '诚信经营', 5), ('FIRE', 'org', 'safety', '消防隐患', -10);
    INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_at, recorded_by) VALUES
        -- 2026Q2
        (1, 'person', 'P7', 'VOL', 10, '2026-05-10 09:00', '2026-05-10 10:00', 'P1'),
        (2, 'person', 'P1', 'VOL', 1, '2026-06-30 23:59:59', '2026-07-01 09:00', 'P1'),
        (3, 'person', 'P8', 'VOL', 2, '2026-04-01 00:00', '2026-04-02 09:00', 'P1'),
        -- 2026Q3: G1 = 3 + 2 = 5 over 2 residents = 2.5
        (10, 'person', 'P1', 'VOL', 3, '2026-07-01 00:00', '2026-07-01 09:00', 'P1'),
        (11, 'person', 'P2', 'VOL', 2, '2026-08-15 10:00', '2026-08-15 11:00', 'P1'),
        -- G2 = 10 - 10 (reversal) + 6 + 4 = 10 over 4 residents = 2.5: ties with G1
        (12, 'person', 'P3', 'VOL', 10, '2026-08-01 10:00', '2026-08-01 11:00', 'P2'),
        (13, 'person', 'P4', 'VOL', 6, '2026-08-02 10:00', '2026-08-02 11:00', 'P2'),
        (14, 'person', 'P5', 'VOL', 4, '2026-09-03 10:00', '2026-09-03 11:00', 'P2'),
        (15, 'person', 'P3', 'VOL', -10, '2026-08-01 10:00', '2026-08-20 11:00', 'P2'),
        -- G3 = 2 (the event at the next quarter's first instant belongs to Q4)
        (16, 'person', 'P7', 'VOL', 2, '2026-09-30 23:59:59', '2026-10-01 09:00', 'P1'),
        (17, 'person', 'P7', 'VOL', 5, '2026-10-01 00:00', '2026-10-01 09:00', 'P1'),
        -- C2: G5 = -3 (rank 2), G6 = 1 over 2 = 0.5 (rank 1)
        (18, 'person', 'P8', 'BAD', -3, '2026-09-10 10:00', '2026-09-10 11:00', 'P1'),
        (19, 'person', 'P9', 'VOL', 1, '2026-09-11 10:00', '2026-09-11 11:00', 'P1'),
        -- organisations do not count in the ranking
        (20, 'org', 'O1', 'OK', 50, '2026-09-01 10:00', '2026-09-01 11:00', 'P1'),
        (21, 'org', 'O2', 'FIRE', -10, '2026-09-02 10:00', '2026-09-02 11:00', 'P1'),
        (22, 'org', 'O3', 'OK', 5, '2026-09-03 10:00', '2026-09-03 11:00', 'P1');
    UPDATE credit_events SET reverses_event_id = 12 WHERE event_id = 15;
"""

COLUMNS = ["grid_id", "residents", "points", "avg_credit", "rank", "prev_rank", "rank_change", "red_flag"]
EXPECTED_Q3 = [
    ("G1", 2, 5.0, 2.5, 1, 2, 1, True),
    ("G2", 4, 10.0, 2.5, 1, 3, 2, True),
    ("G3", 1, 2.0, 2.0, 3, 1, -2, False),
    ("G6", 2, 1.0, 0.5, 1, 2, 1, True),
    ("G5", 1, -3.0, -3.0, 2, 1, -1, False),
]


@pytest.fixture(params=["inline", "refreshed"])
def con(tmp_path, request):
    """The same answers must come out before refresh (base tables) and after (summaries)."""
    connection = db.connect(tmp_path / "c.duckdb")
    db.migrate(connection)
    connection.execute(SETUP)
    if request.param == "refreshed":
        summary.refresh(connection)
        assert summary.is_fresh(connection)
    yield connection
    connection.close()


def rows(frame, columns=COLUMNS):
    return [tuple(r) for r in frame[columns].astype(object).itertuples(index=False)]


def test_ranking_ties_reversals_empty_grids_and_boundaries(con):
    ranking = credit.grid_credit_ranking(con, "2026Q3")
    assert rows(ranking) == EXPECTED_Q3
    assert "G4" not in set(ranking["grid_id"])
    assert set(ranking["period"]) == {"2026Q3"}


def test_ranking_next_quarter_and_the_year_boundary(con):
    q4 = credit.grid_credit_ranking(con, "2026Q4")
    # Only P7 scored in Q4: G3 leads C1 with 5.0; G1 and G2 tie at 0 for rank 2.
    assert rows(q4[q4["community_id"] == "C1"], ["grid_id", "points", "rank", "prev_rank"]) == [
        ("G3", 5.0, 1, 3), ("G1", 0.0, 2, 1), ("G2", 0.0, 2, 1)]
    q1 = credit.grid_credit_ranking(con, "2027Q1")
    assert set(q1["prev_rank"].dropna()) <= {1, 2}
    assert q1.loc[q1["grid_id"] == "G3", "prev_rank"].item() == 1


def test_first_quarter_with_data_has_no_previous_rank(con):
    first = credit.grid_credit_ranking(con, "2026Q1")
    assert first["prev_rank"].isna().all() and first["rank_change"].isna().all()


def test_scope_hides_a_community_but_not_its_effect_on_nothing_else(con):
    ranking = credit.grid_credit_ranking(con, "2026Q3", Scope(communities=("C1",)))
    assert rows(ranking) == EXPECTED_Q3[:3]
    only_g3 = credit.grid_credit_ranking(con, "2026Q3", Scope(grids=("G3",)))
    assert rows(only_g3) == [EXPECTED_Q3[2]]


def test_unknown_scope_is_an_error(con):
    with pytest.raises(ValueError, match="未知的社区编号: C9"):
        credit.grid_credit_ranking(con, "2026Q3", Scope(communities=("C9",)))


@pytest.mark.parametrize("period, expected_g1", [
    ("2026-07", 3.0),                      # a month: only event 10
    ("2026-07-01..2026-08-14", 3.0),       # a range not made of whole months
    ("2026-07-01..2026-08-15", 5.0),       # both days included
    ("2026-06-30..2026-06-30", 1.0),
])
def test_ranking_over_months_and_ranges(con, period, expected_g1):
    ranking = credit.grid_credit_ranking(con, period)
    assert ranking.loc[ranking["grid_id"] == "G1", "points"].item() == expected_g1


def test_red_flags_per_community_is_a_setting(con):
    ranking = credit.grid_credit_ranking(con, "2026Q3", red_flags=3)
    assert ranking["red_flag"].sum() == 5
    assert list(credit.red_flag_grids(con, "2026Q3")["grid_id"]) == ["G1", "G2", "G6"]


def test_grid_ledger_adds_up_to_the_ranking(con):
    ledger = credit.grid_ledger(con, "G2", "2026Q3")
    assert list(ledger["event_id"]) == [12, 15, 13, 14]
    assert ledger["points"].sum() == 10.0
    assert list(ledger["name"]) == ["王*", "王*", "赵*", "孙*"]
    assert ledger.loc[ledger["event_id"] == 15, "reverses_event_id"].item() == 12
    with pytest.raises(ValueError, match="不在您的查看范围内"):
        credit.grid_ledger(con, "G5", "2026Q3", Scope(communities=("C1",)))
    with pytest.raises(ValueError, match="未知的网格编号"):
        credit.grid_ledger(con, "G99", "2026Q3")


@pytest.mark.parametrize("name, masked", [
    ("张三明", "张*明"), ("李四", "李*"), ("欧阳明月", "欧**月"), ("钱", "钱"), ("", ""), (None, None), (" 王小二 ", "王*二"),
])
def test_mask_name_in_python_and_sql(con, name, masked):
    assert mask_name(name) == masked
    assert con.execute(f"SELECT {mask_sql('$n')}", {"n": name}).fetchone()[0] == masked


def test_monthly_publication_is_masked(con):
    listing = credit.monthly_publication(con, "2026-09")
    # September: P5 +4, P7 +2, P8 -3, P9 +1. Balances to the end of September.
    assert rows(listing, ["grid_name", "name", "points", "balance", "level_label"]) == [
        ("二", "孙*", 4.0, 4.0, "信用合格"),
        ("三", "吴*", 2.0, 12.0, "信用合格"),
        ("五", "郑*", -3.0, -1.0, "信用警示"),
        ("六", "欧**月", 1.0, 1.0, "信用合格"),
    ]
    assert "person_id" not in listing.columns


def test_credit_level_distribution(con):
    levels = credit.credit_level_distribution(con, "2026Q3")
    # Balances at the end of Q3: P1 4, P2 2, P3 0, P4 6, P5 4, P6 0, P7 12, P8 -1, P9 1, P10 0.
    assert dict(zip(levels["level"], levels["people"])) == {
        "honesty_model": 0, "excellent": 0, "good": 0, "qualified": 9, "warning": 1}
    assert levels["share"].sum() == pytest.approx(1.0)


def test_red_grey_list(con):
    listing = credit.red_grey_list(con, "2026-09")
    # O1 +50 red; O3 +5 below the red minimum of 10; O2 -10 grey (a deduction of 10).
    assert rows(listing, ["list", "org_id", "points"]) == [("red", "O1", 50.0), ("grey", "O2", -10.0)]
    assert listing["reason"].tolist() == ["本期净得 50 分,无扣分", "单次扣 10 分"]


def test_points_by_category_and_group(con):
    table = credit.points_by_category_group(con, "2026Q3")
    found = {(r.category, r.credit_group): (r.events, r.points) for r in table.itertuples()}
    assert found == {
        ("business", "market_entity"): (2, 55.0),
        ("civility", "resident"): (1, -3.0),
        ("safety", "property_company"): (1, -10.0),
        ("volunteer", "party_member"): (1, 3.0),
        ("volunteer", "resident"): (7, 15.0),
    }


def test_integrity_flags_find_a_padded_grid(tmp_path):
    con = db.connect(tmp_path / "i.duckdb")
    db.migrate(con)
    con.execute(SETUP)
    # G2 in 2026Q3 gets 60 points more, all on 28-30 September, all by P2.
    con.execute("""
        INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_by)
        SELECT 100 + i, 'person', 'P6', 'VOL', 2, TIMESTAMP '2026-09-28 10:00' + INTERVAL (i % 3) DAY, 'P2'
        FROM range(30) t(i)
    """)
    flags = credit.integrity_flags(con, "2026Q3")
    assert set(flags["grid_id"]) == {"G2"}
    assert set(flags["flag"]) == {"quarter_end_spike", "single_recorder"}
    spike = flags.set_index("flag").loc["quarter_end_spike", "value"]
    assert spike == pytest.approx(60 / 80)
    assert credit.integrity_flags(con, "2026Q3", min_points=1000).empty
