from functools import partial

import pytest

from analytics import db, facilities
from analytics.period import COUNTY, Scope
from tests import helpers

norm = partial(helpers.norm, places=3)  # distances and shares to the metre and the permille

C1_ONLY = Scope(communities=("C1",))
C2_ONLY = Scope(communities=("C2",))
G3_ONLY = Scope(grids=("G3",))

# Along a meridian the haversine distance is R × Δφ: 6,371,008.8 m × π/180 = 111,195.08 m per degree.
M_0005 = 555.975401    # 0.005° of latitude
M_001 = 1111.950802    # 0.01°
M_003 = 3335.852407    # 0.03°


@pytest.fixture
def con(tmp_path):
    """A red station F1 at (36.96, 118.10) in G1; buildings due north and south of it.

    B1 (G1) 0.005° north: 556 m, covered.  B2 (G1) 0.01° north: 1,112 m, not covered; a charging
    pile stands on it, which does not count.  B3 (G3, the other community) 0.005° south: covered
    by F1 of C1.  B4 (G2) 0.03° north, where red station F3 opens only on 1 October.  B5 (G2)
    has no coordinates.  C3 has a grid without buildings, households or facilities.
    """
    connection = db.connect(tmp_path / "f.duckdb")
    db.migrate(connection)
    connection.execute("""
        INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道'), ('S2', '索镇街道');
        INSERT INTO communities (community_id, subdistrict_id, name) VALUES
            ('C1', 'S1', '宝发社区'), ('C2', 'S1', '紫悦城社区'), ('C3', 'S2', '空社区');
        INSERT INTO grids (grid_id, community_id, name, households) VALUES
            ('G1', 'C1', '宝发社区第1网格', 100), ('G2', 'C1', '宝发社区第2网格', 50),
            ('G3', 'C2', '紫悦城社区第1网格', 70), ('G4', 'C3', '空社区第1网格', 0);
        INSERT INTO buildings (building_id, grid_id, name, lat, lon, households, units) VALUES
            ('B1', 'G1', '1号楼', 36.965, 118.10, 60, 2), ('B2', 'G1', '2号楼', 36.97, 118.10, 40, 1),
            ('B3', 'G3', '3号楼', 36.955, 118.10, 70, 2), ('B4', 'G2', '4号楼', 36.99, 118.10, 30, 1),
            ('B5', 'G2', '5号楼', NULL, NULL, 10, 1);
        INSERT INTO facilities (facility_id, facility_type, name, community_id, grid_id, lat, lon, capacity,
                                opened_on) VALUES
            ('F1', 'red_station', '宝发红色驿站', 'C1', 'G1', 36.96, 118.10, 20, '2024-01-01'),
            ('F2', 'charging_pile', '2号楼充电桩', 'C1', 'G1', 36.97, 118.10, 1, '2025-05-01'),
            ('F3', 'red_station', '宝发北驿站', 'C1', 'G2', 36.99, 118.10, 30, '2026-10-01'),
            ('F4', 'party_service_center', '紫悦城党群服务中心', 'C2', 'G3', 36.90, 118.10, 200, '2026-09-30'),
            ('F5', 'grid_home', '紫悦城网格之家', 'C2', 'G3', NULL, NULL, NULL, NULL),
            ('F6', 'charging_shed', '宝发充电车棚', 'C1', 'G2', NULL, NULL, 40, '2026-07-01'),
            ('F7', 'charging_pile', '1号楼充电桩', 'C1', 'G1', NULL, NULL, 1, '2026-10-01'),
            ('F8', 'charging_pile', '紫悦城充电桩', 'C2', 'G3', NULL, NULL, 2, '2023-01-01'),
            ('F9', 'deliberation_hall', '紫悦城红色议事厅', 'C2', NULL, NULL, NULL, 50, '2022-05-01');
        INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES
            ('K1', 'G1', 'parking_charging', 'hotline', 'a'), ('K2', 'G1', 'parking_charging', 'hotline', 'b'),
            ('K3', 'G1', 'noise', 'hotline', 'c'), ('K4', 'G2', 'parking_charging', 'hotline', 'd'),
            ('K5', 'G3', 'parking_charging', 'hotline', 'e'), ('K6', 'G3', 'parking_charging', 'hotline', 'f');
        INSERT INTO ticket_events (ticket_id, seq, step, occurred_at) VALUES
            ('K1', 1, 'filed', '2026-07-01 00:00:00'), ('K2', 1, 'filed', '2026-10-01 00:00:00'),
            ('K3', 1, 'filed', '2026-08-01 09:00:00'), ('K4', 1, 'filed', '2026-06-30 23:59:00'),
            ('K4', 2, 'accepted', '2026-07-01 09:00:00'), ('K5', 1, 'filed', '2026-09-30 23:59:00'),
            ('K6', 1, 'filed', '2026-08-01 10:00:00');
        INSERT INTO organizations (org_id, grid_id, name, org_type, has_party_branch) VALUES
            ('O1', 'G1', '宝发物业', 'property_company', true),
            ('O2', 'G3', '紫悦物业', 'property_company', false),
            ('O3', 'G1', '早餐店', 'merchant', false);
        INSERT INTO property_evaluations (org_id, quarter, evaluator, score) VALUES
            ('O1', '2026Q3', 'residents', 80), ('O1', '2026Q3', 'community', 90), ('O1', '2026Q3', 'subdistrict', 85),
            ('O1', '2026Q2', 'residents', 70), ('O2', '2026Q3', 'residents', 75.5), ('O3', '2026Q3', 'residents', 10);
        INSERT INTO micro_wishes (wish_id, grid_id, category, title, filed_at, fulfilled_at) VALUES
            ('W1', 'G1', 'facilities', '装扶手', '2026-07-01 00:00:00', '2026-07-03 12:00:00'),
            ('W2', 'G1', 'environment', '清杂物', '2026-08-01 00:00:00', '2026-08-11 00:00:00'),
            ('W3', 'G2', 'hazard', '修门禁', '2026-09-01 00:00:00', NULL),
            ('W4', 'G1', 'assistance', '送药', '2026-09-30 12:00:00', '2026-10-02 12:00:00'),
            ('W5', 'G1', 'facilities', '装路灯', '2026-10-01 00:00:00', NULL),
            ('W6', 'G3', 'mediation', '调解', '2026-06-01 00:00:00', '2026-07-15 00:00:00'),
            ('W7', 'G3', 'facilities', '装座椅', '2026-05-01 00:00:00', NULL);
    """)
    yield connection
    connection.close()



# --- facility_counts ---------------------------------------------------------------------------

@pytest.mark.parametrize("period, scope, expected", [
    # F3 and F7 open on 1 October: not yet; F4 opens on the last day and F5's date is unknown: open.
    # F5 has no capacity recorded; F9 has no grid but belongs to C2.
    ("2026Q3", COUNTY, {
        ("C1", "red_station"): (1, 20), ("C1", "charging_pile"): (1, 1), ("C1", "charging_shed"): (1, 40),
        ("C2", "party_service_center"): (1, 200), ("C2", "grid_home"): (1, 0), ("C2", "charging_pile"): (1, 2),
        ("C2", "deliberation_hall"): (1, 50),
    }),
    ("2026Q4", COUNTY, {
        ("C1", "red_station"): (2, 50), ("C1", "charging_pile"): (2, 2), ("C1", "charging_shed"): (1, 40),
        ("C2", "party_service_center"): (1, 200), ("C2", "grid_home"): (1, 0), ("C2", "charging_pile"): (1, 2),
        ("C2", "deliberation_hall"): (1, 50),
    }),
    # Before F4 opens (the period ends on 29 September).
    ("2026-07-01..2026-09-29", C2_ONLY, {
        ("C2", "grid_home"): (1, 0), ("C2", "charging_pile"): (1, 2), ("C2", "deliberation_hall"): (1, 50),
    }),
    # A grid-less facility is in scope when a grid of its community is.
    ("2026Q3", G3_ONLY, {
        ("C2", "party_service_center"): (1, 200), ("C2", "grid_home"): (1, 0), ("C2", "charging_pile"): (1, 2),
        ("C2", "deliberation_hall"): (1, 50),
    }),
])
def test_facility_counts(con, period, scope, expected):
    result = facilities.facility_counts(con, period, scope)
    assert list(result.columns) == ["community_id", "community_name", "facility_type", "type_label",
                                    "facilities", "capacity"]
    communities = sorted({c for c, _ in expected}) if scope != COUNTY else ["C1", "C2", "C3"]
    # Every in-scope community, every type: zeros included, nothing from outside the scope.
    assert len(result) == 9 * len(communities)
    assert sorted(set(result["community_id"])) == communities
    counted = {(r.community_id, r.facility_type): (r.facilities, r.capacity)
               for r in result.itertuples() if r.facilities}
    assert counted == expected


def test_facility_counts_label_and_order(con):
    result = facilities.facility_counts(con, "2026Q3")
    first = result.iloc[0]
    assert (first["community_id"], first["community_name"], first["facility_type"], first["type_label"]) == \
        ("C1", "宝发社区", "party_service_center", "党群服务中心")
    assert list(result["facility_type"][:9]) == list(facilities.vocab.FACILITY_TYPES)
    empty = result[result["community_id"] == "C3"]
    assert (empty["facilities"] == 0).all() and (empty["capacity"] == 0).all()


# --- service_coverage and uncovered_buildings ---------------------------------------------------

COVERAGE = ["grid_id", "grid_name", "community_id", "community_name", "buildings", "households",
            "buildings_covered", "households_covered", "building_share", "household_share"]


@pytest.mark.parametrize("period, scope, metres, expected", [
    ("2026Q3", COUNTY, 800, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 2, 100, 1, 60, 0.5, 0.6),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 2, 40, 0, 0, 0.0, 0.0),
        ("G3", "紫悦城社区第1网格", "C2", "紫悦城社区", 1, 70, 1, 70, 1.0, 1.0),   # covered from C1
        ("G4", "空社区第1网格", "C3", "空社区", 0, 0, 0, 0, None, None),           # a row, shares empty
    ]),
    # F3 has opened next to B4; B5 without coordinates stays out.
    ("2026Q4", C1_ONLY, 800, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 2, 100, 1, 60, 0.5, 0.6),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 2, 40, 1, 30, 0.5, 0.75),
    ]),
    ("2026Q3", C1_ONLY, 1200, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 2, 100, 2, 100, 1.0, 1.0),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 2, 40, 0, 0, 0.0, 0.0),
    ]),
    # Just under and just over B1's 555.975 m.
    ("2026Q3", Scope(grids=("G1",)), 555, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 2, 100, 0, 0, 0.0, 0.0),
    ]),
    ("2026Q3", Scope(grids=("G1",)), 556, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 2, 100, 1, 60, 0.5, 0.6),
    ]),
    ("2026Q3", C2_ONLY, 800, [
        ("G3", "紫悦城社区第1网格", "C2", "紫悦城社区", 1, 70, 1, 70, 1.0, 1.0),
    ]),
])
def test_service_coverage(con, period, scope, metres, expected):
    result = facilities.service_coverage(con, period, scope, metres=metres)
    assert list(result.columns) == COVERAGE
    assert norm(result.itertuples(index=False)) == norm(expected)


def test_service_coverage_counts_only_the_circle_facilities(con):
    # Without red stations only F4, 6.1 km south, is left: nothing is covered.
    result = facilities.service_coverage(con, "2026Q3", metres=800, facility_types=("party_service_center",))
    assert result["buildings_covered"].sum() == 0
    # The charging pile F2 on top of B2 covers it if charging piles count.
    result = facilities.service_coverage(con, "2026Q3", metres=1, facility_types=("charging_pile",))
    assert result.set_index("grid_id").loc["G1", "buildings_covered"] == 1


@pytest.mark.parametrize("period, scope, expected", [
    ("2026Q3", COUNTY, [
        ("B2", "2号楼", "G1", "宝发社区第1网格", "C1", "宝发社区", 40, M_001),
        ("B4", "4号楼", "G2", "宝发社区第2网格", "C1", "宝发社区", 30, M_003),
        ("B5", "5号楼", "G2", "宝发社区第2网格", "C1", "宝发社区", 10, None),   # no coordinates
    ]),
    ("2026Q4", COUNTY, [
        ("B2", "2号楼", "G1", "宝发社区第1网格", "C1", "宝发社区", 40, M_001),
        ("B5", "5号楼", "G2", "宝发社区第2网格", "C1", "宝发社区", 10, None),
    ]),
    ("2026Q3", C2_ONLY, []),
])
def test_uncovered_buildings(con, period, scope, expected):
    result = facilities.uncovered_buildings(con, period, scope)
    assert list(result.columns) == ["building_id", "building_name", "grid_id", "grid_name", "community_id",
                                    "community_name", "households", "nearest_metres"]
    assert norm(result.itertuples(index=False)) == norm(expected)


def test_nearest_is_empty_without_any_circle_facility(con):
    result = facilities.uncovered_buildings(con, "2023Q4", Scope(grids=("G1",)))
    assert list(result["building_id"]) == ["B1", "B2"]
    assert result["nearest_metres"].isna().all()


def test_distances_follow_the_haversine_formula(con):
    result = facilities.uncovered_buildings(con, "2026Q3", C1_ONLY, metres=0)
    distances = dict(zip(result["building_id"], result["nearest_metres"]))
    assert distances["B1"] == pytest.approx(M_0005, abs=1e-3)
    assert distances["B2"] == pytest.approx(M_001, abs=1e-3)


# --- charging_supply ----------------------------------------------------------------------------

CHARGING_COLUMNS = ["grid_id", "grid_name", "community_id", "community_name", "households", "charging_piles",
                    "charging_sheds", "charging_facilities", "charging_places", "unknown_capacity",
                    "places_per_100_households", "charging_tickets", "tickets_per_100_households",
                    "gap_per_100_households", "short_of_supply"]


@pytest.mark.parametrize("period, scope, expected", [
    # Places: G1 the pile F2 (1), G2 the shed F6 (40 places), G3 the pile F8 (2 ports).
    # K1 filed at the start counts, K2 at the end does not, K3 is about noise, K4 was filed in June.
    # Gap = (places − tickets) / households × 100: G1 (1 − 1)/100 = 0; G2 (40 − 0)/50 = 80;
    # G3 (2 − 2)/70 = 0; nobody is short. G4 has no households: no rates, not short.
    ("2026Q3", COUNTY, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 100, 1, 0, 1, 1, 0, 1.0, 1, 1.0, 0.0, False),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 50, 0, 1, 1, 40, 0, 80.0, 0, 0.0, 80.0, False),
        ("G3", "紫悦城社区第1网格", "C2", "紫悦城社区", 70, 1, 0, 1, 2, 0, 200 / 70, 2, 200 / 70, 0.0, False),
        ("G4", "空社区第1网格", "C3", "空社区", 0, 0, 0, 0, 0, 0, None, 0, None, None, False),
    ]),
    # F7 opens on 1 October, K2 is filed then: G1 (2 − 1)/100 × 100 = 1.
    ("2026Q4", C1_ONLY, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 100, 2, 0, 2, 2, 0, 2.0, 1, 1.0, 1.0, False),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 50, 0, 1, 1, 40, 0, 80.0, 0, 0.0, 80.0, False),
    ]),
    # Before the shed F6 opens G2 has no place and K4: (0 − 1)/50 × 100 = −2, short of supply.
    ("2026-06", C1_ONLY, [
        ("G1", "宝发社区第1网格", "C1", "宝发社区", 100, 1, 0, 1, 1, 0, 1.0, 0, 0.0, 1.0, False),
        ("G2", "宝发社区第2网格", "C1", "宝发社区", 50, 0, 0, 0, 0, 0, 0.0, 1, 2.0, -2.0, True),
    ]),
])
def test_charging_supply(con, period, scope, expected):
    result = facilities.charging_supply(con, period, scope)
    assert list(result.columns) == CHARGING_COLUMNS
    assert norm(result.itertuples(index=False)) == norm(expected)


def test_charging_places_count_a_sheds_capacity_and_a_pile_without_one_as_one(con):
    """G1 gets a shed of unknown size (not counted, said so) and G3 a pile without a recorded
    capacity (1 place) and a shed of 25 places: G1 keeps 1 place against 1 ticket (gap 0);
    G3 has 2 + 1 + 25 = 28 places and 2 tickets: (28 − 2) / 70 × 100 = 37.142857.
    Three more K-tickets in G1 make it short: (1 − 4) / 100 × 100 = −3."""
    con.execute("""
        INSERT INTO facilities (facility_id, facility_type, name, community_id, grid_id, capacity, opened_on) VALUES
            ('F10', 'charging_shed', '1号楼车棚', 'C1', 'G1', NULL, '2026-01-01'),
            ('F11', 'charging_pile', '紫悦城2号桩', 'C2', 'G3', NULL, '2026-01-01'),
            ('F12', 'charging_shed', '紫悦城车棚', 'C2', 'G3', 25, '2026-09-30');
        INSERT INTO tickets (ticket_id, grid_id, category, channel, title) VALUES
            ('K7', 'G1', 'parking_charging', 'hotline', 'g'), ('K8', 'G1', 'parking_charging', 'hotline', 'h'),
            ('K9', 'G1', 'parking_charging', 'hotline', 'i');
        INSERT INTO ticket_events (ticket_id, seq, step, occurred_at) VALUES
            ('K7', 1, 'filed', '2026-07-02 09:00:00'), ('K8', 1, 'filed', '2026-08-02 09:00:00'),
            ('K9', 1, 'filed', '2026-09-02 09:00:00');
    """)
    result = facilities.charging_supply(con, "2026Q3", COUNTY).set_index("grid_id")
    assert norm([result.loc["G1", ["charging_sheds", "charging_facilities", "charging_places", "unknown_capacity",
                                   "charging_tickets", "gap_per_100_households", "short_of_supply"]]]) == \
        norm([(1, 2, 1, 1, 4, -3.0, True)])
    assert norm([result.loc["G3", ["charging_piles", "charging_sheds", "charging_places", "places_per_100_households",
                                   "gap_per_100_households", "short_of_supply"]]]) == \
        norm([(2, 1, 28, 40.0, 2600 / 70, False)])
    assert list(result.index[result["short_of_supply"]]) == ["G1"]


# --- property_scores ----------------------------------------------------------------------------

@pytest.mark.parametrize("period, scope, expected", [
    ("2026Q3", COUNTY, [
        ("O1", "宝发物业", True, "C1", "宝发社区", "2026Q3", 80.0, 90.0, 85.0, 3, 85.0),
        ("O2", "紫悦物业", False, "C2", "紫悦城社区", "2026Q3", 75.5, None, None, 1, 75.5),
    ]),
    # Two quarters overlap the range; a quarter without evaluations still has its row.
    ("2026-06-15..2026-07-15", COUNTY, [
        ("O1", "宝发物业", True, "C1", "宝发社区", "2026Q2", 70.0, None, None, 1, 70.0),
        ("O1", "宝发物业", True, "C1", "宝发社区", "2026Q3", 80.0, 90.0, 85.0, 3, 85.0),
        ("O2", "紫悦物业", False, "C2", "紫悦城社区", "2026Q2", None, None, None, 0, None),
        ("O2", "紫悦物业", False, "C2", "紫悦城社区", "2026Q3", 75.5, None, None, 1, 75.5),
    ]),
    ("2026-09", C2_ONLY, [
        ("O2", "紫悦物业", False, "C2", "紫悦城社区", "2026Q3", 75.5, None, None, 1, 75.5),
    ]),
    ("2026Q3", Scope(subdistricts=("S2",)), []),
])
def test_property_scores(con, period, scope, expected):
    result = facilities.property_scores(con, period, scope)
    assert list(result.columns) == ["org_id", "company_name", "has_party_branch", "community_id", "community_name",
                                    "quarter", "residents_score", "community_score", "subdistrict_score",
                                    "evaluations", "mean_score"]
    assert norm(result.itertuples(index=False)) == norm(expected)


# --- micro_wish_summary -------------------------------------------------------------------------

@pytest.mark.parametrize("period, scope, expected", [
    # C1: W1 (at the start), W2, W3, W4 filed; W5 at the end is not. Fulfilled W1 2.5 days,
    # W2 10 days, W4 2 days (after the period): median 2.5. Open at the end: W3, W4.
    # C2: nothing filed; W7 from May still open, W6 fulfilled in July.
    ("2026Q3", COUNTY, [
        ("C1", "宝发社区", 4, 3, 0.75, 2.5, 2),
        ("C2", "紫悦城社区", 0, 0, None, None, 1),
        ("C3", "空社区", 0, 0, None, None, 0),
    ]),
    ("2026-07", COUNTY, [
        ("C1", "宝发社区", 1, 1, 1.0, 2.5, 0),
        ("C2", "紫悦城社区", 0, 0, None, None, 1),
        ("C3", "空社区", 0, 0, None, None, 0),
    ]),
    # Only G2 of C1: W3.
    ("2026Q3", Scope(grids=("G2",)), [
        ("C1", "宝发社区", 1, 0, 0.0, None, 1),
    ]),
    # June: W6 filed, fulfilled 44 days later; both W6 and W7 open at the end of June.
    ("2026-06", C2_ONLY, [
        ("C2", "紫悦城社区", 1, 1, 1.0, 44.0, 2),
    ]),
])
def test_micro_wish_summary(con, period, scope, expected):
    result = facilities.micro_wish_summary(con, period, scope)
    assert list(result.columns) == ["community_id", "community_name", "filed", "fulfilled", "fulfilled_share",
                                    "median_days_to_fulfil", "open_now"]
    assert norm(result.itertuples(index=False)) == norm(expected)
