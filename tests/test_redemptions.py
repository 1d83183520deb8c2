import pytest

from analytics import db, redemptions, summary
from analytics.period import COUNTY, Scope
from tests.helpers import norm

C2_ONLY = Scope(communities=("C2",))
S1_ONLY = Scope(subdistricts=("S1",))   # hides 空社区 of S2


@pytest.fixture
def con(tmp_path):
    """Residents P1, P2 (G1) and P3 (G2) of C1, P4 and P5 (G3) of C2; C3 has a grid and nobody.

    Redemptions around 2026Q3: 1 at the start and 3 in the last second count, 4 at the end and 5
    before the start do not. Recorded points may differ from the listed cost (5, 8). Scenario S04
    has a category outside the vocabulary, S03 no value in yuan. The ledger has a deduction, a
    reversal, an event at the period's end, and an organisation whose id looks like P5.
    """
    connection = db.connect(tmp_path / "r.duckdb")
    db.migrate(connection)
    connection.execute("""
        INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道'), ('S2', '索镇街道');
        INSERT INTO communities (community_id, subdistrict_id, name) VALUES
            ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区'), ('C3', 'S2', '空社区');
        INSERT INTO grids (grid_id, community_id, name, households) VALUES
            ('G1', 'C1', '宝发社区第1网格', 100), ('G2', 'C1', '宝发社区第2网格', 50),
            ('G3', 'C2', '紫悦城社区第1网格', 70), ('G4', 'C3', '空社区第1网格', 0);
        INSERT INTO people (person_id, grid_id, name) VALUES
            ('P1', 'G1', '甲'), ('P2', 'G1', '乙'), ('P3', 'G2', '丙'), ('P4', 'G3', '丁'), ('P5', 'G3', '戊');
        INSERT INTO redemption_scenarios (scenario_id, name, category, points_cost, value_yuan) VALUES
            ('S01', '兑换大米', 'goods', 50, 30), ('S02', '公交乘车优惠', 'travel', 20, 10),
            ('S03', '信用贷款利率优惠', 'credit_loan', 0, NULL), ('S04', '绿植认养', 'greening', 5, 2);
        INSERT INTO redemptions (redemption_id, person_id, scenario_id, points, redeemed_at) VALUES
            (1, 'P1', 'S01', 50, '2026-07-01 00:00:00'), (2, 'P1', 'S01', 50, '2026-08-01 10:00:00'),
            (3, 'P2', 'S02', 20, '2026-09-30 23:59:59'), (4, 'P2', 'S02', 20, '2026-10-01 00:00:00'),
            (5, 'P3', 'S01', 45, '2026-06-30 23:59:59'), (6, 'P4', 'S03', 0, '2026-08-15 09:00:00'),
            (7, 'P4', 'S04', 5, '2026-09-01 09:00:00'), (8, 'P5', 'S02', 18, '2026-07-10 09:00:00');
        INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at,
                                   recorded_at, reverses_event_id) VALUES
            (1, 'person', 'P1', 'V01', 100, '2026-03-01 09:00:00', '2026-03-01 09:00:00', NULL),
            (2, 'person', 'P1', 'D01', -10, '2026-09-30 23:59:59', '2026-10-01 09:00:00', NULL),
            (3, 'person', 'P1', 'V01', 50, '2026-10-01 00:00:00', '2026-10-01 09:00:00', NULL),
            (4, 'person', 'P2', 'V01', 30, '2026-07-15 09:00:00', '2026-07-15 09:00:00', NULL),
            (5, 'person', 'P2', 'V01', -30, '2026-07-20 09:00:00', '2026-07-20 09:00:00', 4),
            (6, 'person', 'P3', 'V01', 80, '2025-12-01 09:00:00', '2025-12-01 09:00:00', NULL),
            (7, 'person', 'P4', 'V01', 40, '2026-01-01 09:00:00', '2026-01-01 09:00:00', NULL),
            (8, 'org', 'P5', 'B01', 500, '2026-01-01 09:00:00', '2026-01-01 09:00:00', NULL),
            (9, 'person', 'P5', 'V01', 10, '2026-09-15 12:00:00', '2026-09-15 12:00:00', NULL),
            (10, 'person', 'P5', 'V01', 7, '2026-09-16 00:00:00', '2026-09-16 00:00:00', NULL);
    """)
    yield connection
    connection.close()



@pytest.mark.parametrize("period, scope, expected", [
    ("2026Q3", COUNTY, [
        ("S01", "兑换大米", "goods", "生活物品", 50.0, 2, 1, 100.0, 60.0),
        ("S02", "公交乘车优惠", "travel", "出行", 20.0, 2, 2, 38.0, 20.0),
        ("S03", "信用贷款利率优惠", "credit_loan", "信贷", 0.0, 1, 1, 0.0, 0.0),
        ("S04", "绿植认养", "greening", "greening", 5.0, 1, 1, 5.0, 2.0),
    ]),
    # Every scenario is listed, with zeros when it was not used by the scope.
    ("2026Q3", C2_ONLY, [
        ("S01", "兑换大米", "goods", "生活物品", 50.0, 0, 0, 0.0, 0.0),
        ("S02", "公交乘车优惠", "travel", "出行", 20.0, 1, 1, 18.0, 10.0),
        ("S03", "信用贷款利率优惠", "credit_loan", "信贷", 0.0, 1, 1, 0.0, 0.0),
        ("S04", "绿植认养", "greening", "greening", 5.0, 1, 1, 5.0, 2.0),
    ]),
    # Both days: redemption 3 in the last second of 30 September and 4 at midnight.
    ("2026-09-30..2026-10-01", COUNTY, [
        ("S01", "兑换大米", "goods", "生活物品", 50.0, 0, 0, 0.0, 0.0),
        ("S02", "公交乘车优惠", "travel", "出行", 20.0, 2, 1, 40.0, 20.0),
        ("S03", "信用贷款利率优惠", "credit_loan", "信贷", 0.0, 0, 0, 0.0, 0.0),
        ("S04", "绿植认养", "greening", "greening", 5.0, 0, 0, 0.0, 0.0),
    ]),
])
def test_redemptions_by_scenario(con, period, scope, expected):
    result = redemptions.redemptions_by_scenario(con, period, scope)
    assert list(result.columns) == ["scenario_id", "scenario_name", "category", "category_label", "points_cost",
                                    "redemptions", "redeemers", "points_spent", "value_yuan"]
    assert norm(result.itertuples(index=False)) == norm(expected)


@pytest.mark.parametrize("period, scope, expected", [
    ("2026Q3", COUNTY, [
        ("goods", "生活物品", 1, 2, 1, 100.0, 60.0),
        ("travel", "出行", 1, 2, 2, 38.0, 20.0),
        ("medical", "就医", 0, 0, 0, 0.0, 0.0),
        ("tourism", "旅游", 0, 0, 0, 0.0, 0.0),
        ("shopping", "购物", 0, 0, 0, 0.0, 0.0),
        ("credit_loan", "信贷", 1, 1, 1, 0.0, 0.0),
        ("utilities", "水电气暖", 0, 0, 0, 0.0, 0.0),
        ("subsidy", "优惠补贴", 0, 0, 0, 0.0, 0.0),
        ("greening", "greening", 1, 1, 1, 5.0, 2.0),   # outside the vocabulary: last, as its code
    ]),
    # June: redemption 5 of P3 only.
    ("2026-06", Scope(grids=("G2",)), [
        ("goods", "生活物品", 1, 1, 1, 45.0, 30.0),
        ("travel", "出行", 1, 0, 0, 0.0, 0.0),
        ("medical", "就医", 0, 0, 0, 0.0, 0.0),
        ("tourism", "旅游", 0, 0, 0, 0.0, 0.0),
        ("shopping", "购物", 0, 0, 0, 0.0, 0.0),
        ("credit_loan", "信贷", 1, 0, 0, 0.0, 0.0),
        ("utilities", "水电气暖", 0, 0, 0, 0.0, 0.0),
        ("subsidy", "优惠补贴", 0, 0, 0, 0.0, 0.0),
        ("greening", "greening", 1, 0, 0, 0.0, 0.0),
    ]),
])
def test_redemptions_by_category(con, period, scope, expected):
    result = redemptions.redemptions_by_category(con, period, scope)
    assert list(result.columns) == ["category", "category_label", "scenarios", "redemptions", "redeemers",
                                    "points_spent", "value_yuan"]
    assert norm(result.itertuples(index=False)) == norm(expected)


@pytest.mark.parametrize("period, scope, expected", [
    # C1: P1 (twice) and P2 of three residents; C2: P4 (twice) and P5; C3: nobody, a row of zeros.
    ("2026Q3", COUNTY, [
        ("C1", "宝发社区", 3, 2, 2 / 3, 3, 120.0),
        ("C2", "紫悦城社区", 2, 2, 1.0, 3, 23.0),
        ("C3", "空社区", 0, 0, None, 0, 0.0),
    ]),
    ("2026Q3", S1_ONLY, [
        ("C1", "宝发社区", 3, 2, 2 / 3, 3, 120.0),
        ("C2", "紫悦城社区", 2, 2, 1.0, 3, 23.0),
    ]),
    # Only G1 of C1 is in scope: its two residents.
    ("2026-07", Scope(grids=("G1",)), [
        ("C1", "宝发社区", 2, 1, 0.5, 1, 50.0),
    ]),
])
def test_redemption_uptake(con, period, scope, expected):
    result = redemptions.redemption_uptake(con, period, scope)
    assert list(result.columns) == ["community_id", "community_name", "residents", "redeemers", "uptake_share",
                                    "redemptions", "points_spent"]
    assert norm(result.itertuples(index=False)) == norm(expected)


OUTSTANDING = [
    # To 30 September: C1 earned 100 − 10 (P1) + 30 − 30 (P2) + 80 (P3) = 170, spent 50 + 50 + 20 + 45;
    # C2 earned 40 + 10 + 7 (the organisation's 500 is not a resident's), spent 0 + 5 + 18.
    ("2026Q3", COUNTY, [
        ("C1", "宝发社区", 3, 170.0, 165.0, 5.0, 5 / 3),
        ("C2", "紫悦城社区", 2, 57.0, 23.0, 34.0, 17.0),
        ("C3", "空社区", 0, 0.0, 0.0, 0.0, None),
    ]),
    # To 15 September (inclusive): the −10 of 30 September, redemption 3 and the 7 points of
    # 16 September are later; the 10 points of 15 September, noon, count.
    ("2026-01-01..2026-09-15", S1_ONLY, [
        ("C1", "宝发社区", 3, 180.0, 145.0, 35.0, 35 / 3),
        ("C2", "紫悦城社区", 2, 50.0, 23.0, 27.0, 13.5),
    ]),
    # Everything up to the end of 2026, the +50 of 1 October and redemption 4 included.
    ("2026Q4", COUNTY, [
        ("C1", "宝发社区", 3, 220.0, 185.0, 35.0, 35 / 3),
        ("C2", "紫悦城社区", 2, 57.0, 23.0, 34.0, 17.0),
        ("C3", "空社区", 0, 0.0, 0.0, 0.0, None),
    ]),
    ("2026Q3", C2_ONLY, [
        ("C2", "紫悦城社区", 2, 57.0, 23.0, 34.0, 17.0),
    ]),
]


@pytest.mark.parametrize("period, scope, expected", OUTSTANDING)
def test_outstanding_points(con, period, scope, expected):
    result = redemptions.outstanding_points(con, period, scope)
    assert list(result.columns) == ["community_id", "community_name", "residents", "points_earned", "points_spent",
                                    "outstanding", "outstanding_per_resident"]
    assert norm(result.itertuples(index=False)) == norm(expected)


@pytest.mark.parametrize("period, scope, expected", OUTSTANDING)
def test_outstanding_points_from_the_monthly_summary(con, period, scope, expected):
    summary.refresh(con)
    assert summary.is_fresh(con)
    result = redemptions.outstanding_points(con, period, scope)
    assert norm(result.itertuples(index=False)) == norm(expected)


def test_outstanding_points_with_a_stale_summary(con):
    summary.refresh(con)
    con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at)
                   VALUES (11, 'person', 'P4', 'V01', 3, '2026-02-01 09:00:00')""")
    assert not summary.is_fresh(con)
    result = redemptions.outstanding_points(con, "2026Q3", C2_ONLY)
    assert result["points_earned"].tolist() == [60.0]
