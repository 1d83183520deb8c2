import pytest

from analytics import db, volunteers
from analytics.period import COUNTY, Scope
from tests.helpers import norm

C2_ONLY = Scope(communities=("C2",))
S2_ONLY = Scope(subdistricts=("S2",))  # 空社区: one grid, a team, no activity


@pytest.fixture
def con(tmp_path):
    """Two communities with activity around 2026Q3 and an empty third one.

    People: P1, P3 party members; P6 a party member who did nothing. Rosters: P1 on T1 since
    2025, P3 on T2 from 15 August, P4 on T3 (date unknown), P2 joins T1 on 1 October.
    """
    connection = db.connect(tmp_path / "v.duckdb")
    db.migrate(connection)
    connection.execute("""
        INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道'), ('S2', '索镇街道');
        INSERT INTO communities (community_id, subdistrict_id, name) VALUES
            ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区'), ('C3', 'S2', '空社区');
        INSERT INTO grids (grid_id, community_id, name, households) VALUES
            ('G1', 'C1', '宝发社区第1网格', 100), ('G2', 'C1', '宝发社区第2网格', 50),
            ('G3', 'C2', '紫悦城社区第1网格', 70), ('G4', 'C3', '空社区第1网格', 0);
        INSERT INTO people (person_id, grid_id, name, is_party_member) VALUES
            ('P1', 'G1', '甲', true), ('P2', 'G1', '乙', false), ('P3', 'G2', '丙', true),
            ('P4', 'G3', '丁', false), ('P5', 'G3', '戊', false), ('P6', 'G1', '己', true);
        INSERT INTO volunteer_teams (team_id, community_id, grid_id, name) VALUES
            ('T1', 'C1', 'G1', '宝发一网格服务队'), ('T2', 'C1', NULL, '宝发助老队'),
            ('T3', 'C2', 'G3', '紫悦城服务队'), ('T4', 'C3', 'G4', '空社区服务队');
        INSERT INTO team_members (team_id, person_id, joined_on) VALUES
            ('T1', 'P1', '2025-01-01'), ('T2', 'P3', '2026-08-15'), ('T3', 'P4', NULL), ('T1', 'P2', '2026-10-01');
        INSERT INTO volunteer_activities (activity_id, person_id, team_id, grid_id, started_at, hours, kind) VALUES
            (1, 'P1', 'T1', 'G1', '2026-07-01 00:00:00', 2.0, 'environment'),
            (2, 'P1', 'T1', 'G1', '2026-08-10 09:00:00', 1.5, 'elderly_care'),
            (3, 'P2', NULL, 'G1', '2026-09-30 23:59:59', 3.0, 'environment'),
            (4, 'P2', 'T1', 'G1', '2026-10-01 00:00:00', 4.0, 'environment'),
            (5, 'P3', 'T2', 'G2', '2026-07-15 10:00:00', 2.5, 'elderly_care'),
            (6, 'P3', 'T2', 'G1', '2026-08-20 10:00:00', 1.0, 'safety_patrol'),
            (7, 'P4', 'T3', 'G3', '2026-06-30 23:59:59', 2.0, 'publicity'),
            (8, 'P4', 'T3', 'G3', '2026-09-01 08:00:00', 2.0, 'publicity'),
            (9, 'P5', 'T3', 'G3', '2026-09-02 08:00:00', 0.5, 'mediation'),
            (10, 'P5', 'T1', 'G3', '2026-07-20 08:00:00', 1.0, 'greening');
    """)
    yield connection
    connection.close()



SUMMARY_COLUMNS = ["active_volunteers", "activities", "hours", "party_member_share", "team_member_share",
                   "hours_per_volunteer"]


@pytest.mark.parametrize("period, scope, expected", [
    # 1 (at the start) to 3 (last second) count, 4 (at the end) and 7 (before) do not.
    # P1, P2, P3, P4, P5; 2+1.5+3+2.5+1+2+0.5+1 hours; party P1, P3; on a roster by then P1, P3, P4.
    ("2026Q3", COUNTY, (5, 8, 13.5, 2 / 5, 3 / 5, 13.5 / 5)),
    # Only grid G3: activities 8, 9 and 10 of P4 and P5; P4 is on a roster.
    ("2026Q3", C2_ONLY, (2, 3, 3.5, 0.0, 1 / 2, 3.5 / 2)),
    # July: activities 1, 5, 10 (P1, P3, P5); P3 joined T2 only in August.
    ("2026-07", COUNTY, (3, 3, 5.5, 2 / 3, 1 / 3, 5.5 / 3)),
    # Both days included: activities 3 and 4 of P2, who joins T1 on 1 October.
    ("2026-09-30..2026-10-01", COUNTY, (1, 2, 7.0, 0.0, 1.0, 7.0)),
    # Nobody active: counts are zero, shares are empty.
    ("2026Q3", S2_ONLY, (0, 0, 0.0, None, None, None)),
])
def test_volunteer_summary(con, period, scope, expected):
    result = volunteers.volunteer_summary(con, period, scope)
    assert list(result.columns) == SUMMARY_COLUMNS
    assert norm(result.itertuples(index=False)) == norm([expected])


BREAKDOWN = ["label", "active_volunteers", "activities", "hours", "party_member_share"]


@pytest.mark.parametrize("by, period, scope, key, expected", [
    ("community", "2026Q3", COUNTY, "community_id", [
        ("C1", "宝发社区", 3, 5, 10.0, 2 / 3),
        ("C2", "紫悦城社区", 2, 3, 3.5, 0.0),
        ("C3", "空社区", 0, 0, 0.0, None),            # an empty community: a row of zeros
    ]),
    ("community", "2026Q3", C2_ONLY, "community_id", [
        ("C2", "紫悦城社区", 2, 3, 3.5, 0.0),
    ]),
    ("grid", "2026Q3", COUNTY, "grid_id", [
        ("G1", "宝发社区第1网格", 3, 4, 7.5, 2 / 3),   # P3 served here too (activity 6)
        ("G2", "宝发社区第2网格", 1, 1, 2.5, 1.0),
        ("G3", "紫悦城社区第1网格", 2, 3, 3.5, 0.0),
        ("G4", "空社区第1网格", 0, 0, 0.0, None),
    ]),
    ("team", "2026Q3", COUNTY, "team_id", [
        ("T1", "宝发一网格服务队", 2, 3, 4.5, 1 / 2),
        ("T2", "宝发助老队", 1, 2, 3.5, 1.0),
        ("T3", "紫悦城服务队", 2, 2, 2.5, 0.0),
        ("T4", "空社区服务队", 0, 0, 0.0, None),
        (None, "（未编队）", 1, 1, 3.0, 0.0),          # activity 3, without a team
    ]),
    # C2's own team, and T1 of C1 because it served in G3 (activity 10); T2 serves C1 only.
    ("team", "2026Q3", C2_ONLY, "team_id", [
        ("T1", "宝发一网格服务队", 1, 1, 1.0, 0.0),
        ("T3", "紫悦城服务队", 2, 2, 2.5, 0.0),
    ]),
    ("kind", "2026Q3", COUNTY, "kind", [
        ("epidemic_prevention", "疫情防控", 0, 0, 0.0, None),
        ("environment", "环境整治", 2, 2, 5.0, 1 / 2),
        ("elderly_care", "助老帮扶", 2, 2, 4.0, 1.0),
        ("safety_patrol", "安全巡查", 1, 1, 1.0, 1.0),
        ("civilization", "文明创建", 0, 0, 0.0, None),
        ("publicity", "政策宣传", 1, 1, 2.0, 0.0),
        ("mediation", "矛盾调解", 1, 1, 0.5, 0.0),
        ("greening", "greening", 1, 1, 1.0, 0.0),     # not in the vocabulary: shown as its code
    ]),
])
def test_volunteer_breakdown(con, by, period, scope, key, expected):
    result = volunteers.volunteer_breakdown(con, period, scope, by=by)
    assert list(result.columns) == [key, *BREAKDOWN]
    assert norm(result.itertuples(index=False)) == norm(expected)


@pytest.mark.parametrize("period, scope, expected", [
    ("2026Q3", COUNTY, [
        ("2026-07", 3, 3, 5.5, 2 / 3),
        ("2026-08", 2, 2, 2.5, 1.0),
        ("2026-09", 3, 3, 5.5, 0.0),
    ]),
    # Every month of the period is listed, the empty August too; June holds activity 7 only.
    ("2026-06-15..2026-08-05", COUNTY, [
        ("2026-06", 1, 1, 2.0, 0.0),
        ("2026-07", 3, 3, 5.5, 2 / 3),
        ("2026-08", 0, 0, 0.0, None),
    ]),
    ("2026Q3", S2_ONLY, [
        ("2026-07", 0, 0, 0.0, None),
        ("2026-08", 0, 0, 0.0, None),
        ("2026-09", 0, 0, 0.0, None),
    ]),
])
def test_volunteer_breakdown_by_month(con, period, scope, expected):
    result = volunteers.volunteer_breakdown(con, period, scope, by="month")
    assert list(result.columns) == ["month", *BREAKDOWN]
    assert [m.strftime("%Y-%m") for m in result["month"]] == [row[0] for row in expected]
    assert norm(result[BREAKDOWN].itertuples(index=False)) == norm(expected)


@pytest.mark.parametrize("by", ["teams", "person_id", "grid_id; DROP TABLE people", ""])
def test_volunteer_breakdown_rejects_unknown_groupings(con, by):
    with pytest.raises(ValueError, match="无法按"):
        volunteers.volunteer_breakdown(con, "2026Q3", by=by)


def test_breakdowns_add_up_to_the_summary(con):
    total = volunteers.volunteer_summary(con, "2026Q3").iloc[0]
    for by in volunteers.BREAKDOWNS:
        result = volunteers.volunteer_breakdown(con, "2026Q3", by=by)
        assert result["activities"].sum() == total["activities"], by
        assert result["hours"].sum() == pytest.approx(total["hours"]), by
