import datetime as dt

import pytest

from analytics import db, profile
from analytics.period import Scope


@pytest.fixture
def con(tmp_path):
    """Two communities, three grids, a handful of people, tickets and redemptions around new year."""
    connection = db.connect(tmp_path / "p.duckdb")
    db.migrate(connection)
    connection.execute("""
        INSERT INTO subdistricts VALUES ('S1', '少海街道', NULL);
        INSERT INTO communities VALUES ('C1', 'S1', '宝发社区', 36.96, 118.1, NULL), ('C2', 'S1', '紫悦城社区', 36.95, 118.1, NULL);
        INSERT INTO grids VALUES ('G1', 'C1', '宝发社区第1网格', NULL, 100, NULL), ('G2', 'C1', '宝发社区第2网格', NULL, 50, NULL),
                                 ('G3', 'C2', '紫悦城社区第1网格', NULL, 70, NULL);
        INSERT INTO buildings VALUES ('B1', 'G1', '1号楼', 0, 0, 60, 2), ('B2', 'G1', '2号楼', 0, 0, 40, 1), ('B3', 'G3', '1号楼', 0, 0, 70, 2);
        INSERT INTO people (person_id, grid_id, building_id, name, is_party_member, party_member_status) VALUES
            ('P1', 'G1', 'B1', '甲', true, 'employed'), ('P2', 'G1', 'B1', '乙', false, NULL),
            ('P3', 'G2', NULL, '丙', true, 'not_employed'), ('P4', 'G3', 'B3', '丁', false, NULL);
        INSERT INTO person_roles (person_id, role, since, until) VALUES
            ('P1', 'building_leader', '2024-01-01', NULL), ('P3', 'building_leader', '2023-01-01', '2025-06-30'),
            ('P2', 'unit_leader', '2024-01-01', NULL), ('P4', 'unit_leader', '2024-01-01', '2026-03-31');
        INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES
            ('T1', 'G1', 'noise', 'hotline', 'a'), ('T2', 'G1', 'noise', 'hotline', 'b'), ('T3', 'G3', 'noise', 'hotline', 'c'),
            ('T4', 'G3', 'noise', 'hotline', 'd');
        INSERT INTO ticket_events (ticket_id, step, occurred_at) VALUES ('T1', 'filed', '2025-12-31 23:59'),
            ('T2', 'filed', '2026-01-01 00:00'), ('T2', 'accepted', '2026-01-02 09:00'),
            ('T3', 'filed', '2026-03-31 18:00'), ('T4', 'filed', '2026-04-01 08:00');
        INSERT INTO redemption_scenarios VALUES ('S01', '兑换大米', 'goods', 50, 30, NULL, NULL);
        INSERT INTO redemptions VALUES (1, 'P1', 'S01', 50, '2025-12-31 10:00'), (2, 'P1', 'S01', 50, '2026-02-01 10:00'),
            (3, 'P2', 'S01', 50, '2026-03-31 23:00'), (4, 'P2', 'S01', 50, '2026-04-01 00:00');
        INSERT INTO meta VALUES ('as_of', '2026-03-31');
    """)
    yield connection
    connection.close()


def test_county_profile_counts_structure_and_the_year_to_date(con):
    figures = profile.county_profile(con).set_index("key")["value"]
    assert figures["communities"] == 2
    assert figures["grid_branches"] == 3
    # P3 stepped down before the as-of date; P4 is still in office on it.
    assert figures["building_leaders"] == 1
    assert figures["unit_leaders"] == 2
    # 1 January to 31 March inclusive: T2 and T3, redemptions 2 and 3.
    assert figures["tickets_ytd"] == 2
    assert figures["redemptions_ytd"] == 2


def test_county_profile_takes_another_as_of_date(con):
    figures = profile.county_profile(con, as_of=dt.date(2026, 4, 1)).set_index("key")["value"]
    assert figures["tickets_ytd"] == 3
    assert figures["redemptions_ytd"] == 3
    assert figures["unit_leaders"] == 1


@pytest.mark.parametrize("scope, expected", [
    # C1 holds G1 and G2: P1 leads a building, P2 a unit (P3 stepped down); T2 filed this year (T1 last
    # year); P1 and P2 of G1 redeemed on 1 February and 31 March.
    (Scope(communities=("C1",)), {"communities": 1, "grid_branches": 2, "building_leaders": 1, "unit_leaders": 1,
                                  "tickets_ytd": 1, "redemptions_ytd": 2, "redemption_scenarios": 1}),
    # C2 holds G3: P4 leads a unit until the as-of day; T3 filed on 31 March (T4 after it); no redemption.
    (Scope(communities=("C2",)), {"communities": 1, "grid_branches": 1, "building_leaders": 0, "unit_leaders": 1,
                                  "tickets_ytd": 1, "redemptions_ytd": 0, "redemption_scenarios": 1}),
    (Scope(grids=("G2",)), {"communities": 1, "grid_branches": 1, "building_leaders": 0, "unit_leaders": 0,
                            "tickets_ytd": 0, "redemptions_ytd": 0, "redemption_scenarios": 1}),
])
def test_the_profile_of_a_community_or_grid_counts_only_its_places(con, scope, expected):
    figures = profile.county_profile(con, scope=scope).set_index("key")["value"]
    assert {k: figures[k] for k in expected} == expected


def test_as_of_falls_back_to_the_newest_event(con):
    assert profile.as_of_date(con) == dt.date(2026, 3, 31)
    con.execute("DELETE FROM meta")
    assert profile.as_of_date(con) == dt.date(2026, 4, 1)


def test_community_summary(con):
    rows = profile.community_summary(con).to_dict("records")
    assert rows == [
        {"subdistrict": "少海街道", "community": "宝发社区", "grids": 2, "buildings": 2, "households": 150,
         "residents": 3, "party_members": 2},
        {"subdistrict": "少海街道", "community": "紫悦城社区", "grids": 1, "buildings": 1, "households": 70,
         "residents": 1, "party_members": 0},
    ]
