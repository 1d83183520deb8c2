import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import STRtree

from analytics import db, demo
from analytics.demo import _allocate, ledger, people, volunteering
from analytics.demo.county import County

SHAOHAI = "370321002"


def scalar(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()[0]


# Figures of ../shared/DOMAIN.md that the demo reproduces at scale 1 with the default seed.
CALIBRATION = [
    ("urban subdistricts", "SELECT count(*) FROM subdistricts", 2),
    ("communities", "SELECT count(*) FROM communities", 15),
    ("grids", "SELECT count(*) FROM grids", 140),
    ("building leaders", "SELECT count(*) FROM person_roles WHERE role = 'building_leader' AND until IS NULL", 1967),
    ("unit leaders", "SELECT count(*) FROM person_roles WHERE role = 'unit_leader' AND until IS NULL", 3925),
    ("volunteer teams", "SELECT count(*) FROM volunteer_teams", 206),
    ("team members", "SELECT count(DISTINCT person_id) FROM team_members", 4878),
    ("deliberation halls", "SELECT count(*) FROM facilities WHERE facility_type = 'deliberation_hall'", 14),
    ("courtyard councils", "SELECT count(*) FROM facilities WHERE facility_type = 'courtyard_council'", 12),
    ("property companies with a branch",
     "SELECT count(*) FROM organizations WHERE org_type = 'property_company' AND has_party_branch", 21),
    ("new-employment stations", "SELECT count(*) FROM facilities WHERE facility_type = 'new_employment_station'", 22),
    ("redemption scenarios", "SELECT count(*) FROM redemption_scenarios", 36),
    ("charging sheds in 东岳国际社区",
     "SELECT count(*) FROM facilities JOIN communities USING (community_id) "
     "WHERE communities.name = '东岳国际社区' AND facility_type = 'charging_shed'", 38),
    ("charging piles in 橡树玫瑰城社区",
     "SELECT count(*) FROM facilities JOIN communities USING (community_id) "
     "WHERE communities.name = '橡树玫瑰城社区' AND facility_type = 'charging_pile'", 260),
    ("people volunteering in March 2026 in 少海街道",
     "SELECT count(DISTINCT a.person_id) FROM volunteer_activities a JOIN grids g USING (grid_id) "
     "JOIN communities c USING (community_id) WHERE c.subdistrict_id = '370321002' "
     "AND a.started_at >= '2026-03-01' AND a.started_at < '2026-04-01'", 4572),
    ("micro-wishes of 橡树玫瑰城社区 this year, all fulfilled",
     "SELECT count(fulfilled_at) FROM micro_wishes JOIN grids USING (grid_id) JOIN communities c USING (community_id) "
     "WHERE c.name = '橡树玫瑰城社区' AND filed_at >= '2026-01-01'", 35),
]


@pytest.mark.parametrize("what, sql, expected", CALIBRATION, ids=[c[0] for c in CALIBRATION])
def test_demo_reproduces_the_reported_figures(demo_con, what, sql, expected):
    assert scalar(demo_con, sql) == expected


def test_named_communities_and_subdistricts_are_there(demo_con):
    subs = {r[0] for r in demo_con.execute("SELECT name FROM subdistricts").fetchall()}
    assert subs == {"索镇街道", "少海街道"}
    comms = {r[0] for r in demo_con.execute("SELECT name FROM communities").fetchall()}
    assert {"东岳国际社区", "宝发社区", "紫悦城社区", "橡树玫瑰城社区"} <= comms


def test_tickets_and_redemptions_this_year(demo_con):
    tickets = scalar(demo_con, "SELECT count(DISTINCT ticket_id) FROM ticket_events "
                               "WHERE step = 'filed' AND occurred_at >= '2026-01-01'")
    assert 1400 <= tickets <= 1499
    assert scalar(demo_con, "SELECT count(*) FROM redemptions WHERE redeemed_at >= '2026-01-01'") >= 4790


def test_history_spans_three_years_to_the_end_date(demo_con):
    first, last = demo_con.execute("SELECT min(occurred_at), max(occurred_at) FROM credit_events").fetchone()
    assert str(first.date()) == "2025-11-29".replace("2025", "2023")
    assert last.date() <= demo.dt.date(2026, 11, 28)
    assert scalar(demo_con, "SELECT max(recorded_at) FROM credit_events").date() == demo.dt.date(2026, 11, 28)
    assert scalar(demo_con, "SELECT value FROM meta WHERE key = 'as_of'") == "2026-11-28"


def test_leaders_are_party_members_of_both_kinds(demo_con):
    rows = dict(demo_con.execute(
        "SELECT party_member_status, count(*) FROM person_roles JOIN people USING (person_id) "
        "WHERE role IN ('building_leader', 'unit_leader') GROUP BY 1").fetchall())
    assert None not in rows
    assert rows["employed"] > 0.4 * sum(rows.values()) and rows["not_employed"] > 0.4 * sum(rows.values())


def test_each_grid_has_one_leader_one_worker_and_a_team(demo_con):
    per_grid = demo_con.execute("""
        SELECT g.grid_id,
               (SELECT count(*) FROM person_roles r WHERE r.grid_id = g.grid_id AND role = 'grid_leader' AND until IS NULL),
               (SELECT count(*) FROM person_roles r WHERE r.grid_id = g.grid_id AND role = 'grid_worker' AND until IS NULL),
               (SELECT count(*) FROM volunteer_teams t WHERE t.grid_id = g.grid_id)
        FROM grids g""").fetchall()
    assert all(row[1:] == (1, 1, 1) for row in per_grid)


# Every reference between tables points at an existing row (FK constraints are not declared).
REFERENCES = [
    ("communities", "subdistrict_id", "subdistricts"),
    ("grids", "community_id", "communities"),
    ("buildings", "grid_id", "grids"),
    ("people", "grid_id", "grids"),
    ("people", "building_id", "buildings"),
    ("person_roles", "person_id", "people"),
    ("organizations", "grid_id", "grids"),
    ("volunteer_teams", "community_id", "communities"),
    ("team_members", "person_id", "people"),
    ("team_members", "team_id", "volunteer_teams"),
    ("volunteer_activities", "person_id", "people"),
    ("volunteer_activities", "grid_id", "grids"),
    ("credit_events", "indicator_code", "credit_indicators"),
    ("redemptions", "person_id", "people"),
    ("redemptions", "scenario_id", "redemption_scenarios"),
    ("ticket_events", "ticket_id", "tickets"),
    ("ticket_ratings", "ticket_id", "tickets"),
    ("facilities", "grid_id", "grids"),
    ("property_evaluations", "org_id", "organizations"),
    ("micro_wishes", "grid_id", "grids"),
    ("emergency_assignments", "person_id", "people"),
]


@pytest.mark.parametrize("table, column, target", REFERENCES, ids=[f"{r[0]}.{r[1]}" for r in REFERENCES])
def test_references_resolve(demo_con, table, column, target):
    key = {"subdistricts": "subdistrict_id", "communities": "community_id", "grids": "grid_id",
           "buildings": "building_id", "people": "person_id", "volunteer_teams": "team_id",
           "credit_indicators": "indicator_code", "redemption_scenarios": "scenario_id",
           "tickets": "ticket_id", "organizations": "org_id"}[target]
    orphans = scalar(demo_con, f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL "
                               f"AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.{key} = t.{column})")
    assert orphans == 0


def test_ledger_subjects_exist(demo_con):
    assert scalar(demo_con, "SELECT count(*) FROM credit_events e WHERE subject_type = 'person' "
                            "AND subject_id NOT IN (SELECT person_id FROM people)") == 0
    assert scalar(demo_con, "SELECT count(*) FROM credit_events e WHERE subject_type = 'org' "
                            "AND subject_id NOT IN (SELECT org_id FROM organizations)") == 0


def test_reversals_negate_an_earlier_event_of_the_same_subject(demo_con):
    n, bad = demo_con.execute("""
        SELECT count(*), count(*) FILTER (WHERE o.event_id IS NULL OR r.points <> -o.points
               OR r.subject_id <> o.subject_id OR r.recorded_at < o.recorded_at)
        FROM credit_events r LEFT JOIN credit_events o ON o.event_id = r.reverses_event_id
        WHERE r.reverses_event_id IS NOT NULL""").fetchone()
    assert n > 1000 and bad == 0


def test_rankings_move_between_quarters(demo_con):
    avg = demo_con.execute("""
        WITH residents AS (SELECT grid_id, count(*) AS n FROM people GROUP BY 1)
        SELECT g.community_id, g.grid_id, quarter(e.occurred_at) AS q, sum(e.points) / any_value(r.n) AS avg_credit
        FROM credit_events e JOIN people p ON p.person_id = e.subject_id JOIN grids g ON g.grid_id = p.grid_id
        JOIN residents r ON r.grid_id = g.grid_id
        WHERE e.subject_type = 'person' AND year(e.occurred_at) = 2026 AND quarter(e.occurred_at) IN (2, 3)
        GROUP BY ALL""").df()
    leaders = avg.sort_values("avg_credit", ascending=False).groupby(["community_id", "q"])["grid_id"].first().unstack()
    changed = (leaders[2] != leaders[3]).sum()
    assert 1 <= changed < 15
    spread = avg.groupby("q")["avg_credit"].agg(lambda s: s.max() / s.min())
    assert (spread > 2).all()


def test_tickets_behave_like_real_ones(demo_con):
    last = demo_con.execute("""
        SELECT ticket_id, arg_max(step, seq) AS last_step, count(*) FILTER (step = 'escalated') AS esc,
               count(*) FILTER (step = 'reopened') AS reopened
        FROM ticket_events GROUP BY 1""").df()
    n = len(last)
    assert 0.01 < (last["last_step"] != "published").mean() < 0.15
    assert 0.04 < (last["esc"] > 0).mean() < 0.2
    assert 0.01 < (last["reopened"] > 0).mean() < 0.08
    assert scalar(demo_con, "SELECT count(*) FROM tickets WHERE department IS NOT NULL") == (last["esc"] > 0).sum()
    days = demo_con.execute("""
        SELECT date_diff('minute', min(occurred_at) FILTER (step = 'filed'),
                         max(occurred_at) FILTER (step = 'published')) / 1440.0 AS d
        FROM ticket_events GROUP BY ticket_id HAVING d IS NOT NULL""").df()["d"]
    assert days.quantile(0.9) > 2 * days.median()
    categories = dict(demo_con.execute("SELECT category, count(*) FROM tickets GROUP BY 1").fetchall())
    assert max(categories, key=categories.get) == "parking_charging"
    assert n == scalar(demo_con, "SELECT count(*) FROM tickets")


def test_volunteering_peaks_in_campaign_months(demo_con):
    by_month = dict(demo_con.execute("SELECT month(started_at), count(*) FROM volunteer_activities "
                                     "WHERE year(started_at) = 2025 GROUP BY 1").fetchall())
    assert by_month[3] > 1.8 * np.median(list(by_month.values()))


def _geometries(con, table, key):
    rows = con.execute(f"SELECT {key}, geometry_wkt FROM {table} ORDER BY 1").fetchall()
    return [r[0] for r in rows], shapely.from_wkt([r[1] for r in rows])


@pytest.mark.parametrize("table, key, parent, parent_key", [
    ("grids", "grid_id", "communities", "community_id"),
    ("communities", "community_id", "subdistricts", "subdistrict_id"),
])
def test_polygons_are_valid_disjoint_and_tile_their_parent(demo_con, table, key, parent, parent_key):
    ids, shapes = _geometries(demo_con, table, key)
    assert all(s.is_valid and s.geom_type == "Polygon" and s.area > 0 for s in shapes)
    tree = STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(shapes[left[pairs]], shapes[right[pairs]]))
    assert overlap.max(initial=0) < 1e-10
    parents = dict(zip(*_geometries(demo_con, parent, parent_key)))
    owner = dict(demo_con.execute(f"SELECT {key}, {parent_key} FROM {table}").fetchall())
    for pid, pshape in parents.items():
        union = shapely.union_all([s for i, s in zip(ids, shapes) if owner[i] == pid])
        assert abs(union.area - pshape.area) < 1e-4 * pshape.area
        assert shapely.symmetric_difference(union, pshape).area < 1e-4 * pshape.area


def test_everything_lies_inside_the_county_outline(demo_con):
    from analytics.geo import county_outline
    outline = county_outline()
    _, shapes = _geometries(demo_con, "subdistricts", "subdistrict_id")
    assert all(outline.contains(s) for s in shapes)
    centre = shapely.union_all(shapes).centroid
    assert abs(centre.x - 118.10) < 0.02 and abs(centre.y - 36.96) < 0.02


@pytest.mark.parametrize("table", ["buildings", "organizations", "facilities", "tickets"])
def test_points_lie_inside_their_grid(demo_con, table):
    rows = demo_con.execute(f"""
        SELECT t.lon, t.lat, g.geometry_wkt FROM {table} t JOIN grids g USING (grid_id)""").fetchall()
    polygons = shapely.from_wkt([r[2] for r in rows])
    inside = shapely.contains_xy(polygons, [r[0] for r in rows], [r[1] for r in rows])
    assert len(rows) > 10 and inside.all()


def _fingerprint(path):
    with db.connect(path, read_only=True) as con:
        out = {}
        for table in db.table_counts(con):
            if table == "schema_version":
                continue
            frame = con.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            if table == "meta":
                frame = frame[frame["key"] != "built_at"]
            out[table] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
        return out


def test_same_seed_gives_the_same_database(small_path, tmp_path):
    again = tmp_path / "again.duckdb"
    demo.build_demo_file(again, scale=0.05, seed=7, end=demo.dt.date(2026, 11, 28))
    assert _fingerprint(small_path) == _fingerprint(again)


def test_another_seed_gives_another_county(small_path, tmp_path):
    other = tmp_path / "other.duckdb"
    demo.build_demo_file(other, scale=0.05, seed=8, end=demo.dt.date(2026, 11, 28))
    a, b = _fingerprint(small_path), _fingerprint(other)
    assert a["people"] != b["people"] and a["credit_events"] != b["credit_events"]
    assert a["redemption_scenarios"] == b["redemption_scenarios"]


def test_demo_refuses_a_database_that_has_data(small_path):
    with db.connect(small_path) as con, pytest.raises(ValueError, match="空数据库"):
        demo.build_demo(con, scale=0.05)


@pytest.mark.parametrize("total, weights, minimum, expected", [
    (10, [1, 1], 0, [5, 5]),
    (10, [1, 2, 2], 0, [2, 4, 4]),
    (7, [1, 1, 1], 2, [3, 2, 2]),
    (5, [0, 1], 1, [1, 4]),
])
def test_allocate_splits_a_total_exactly(total, weights, minimum, expected):
    assert _allocate(total, weights, minimum).tolist() == expected


def test_allocate_rejects_minimums_above_the_total():
    with pytest.raises(ValueError):
        _allocate(2, [1, 1, 1], 1)


# -- single stages, on inputs small enough to work out by hand -------------------------------

TS = pd.Timestamp


@pytest.mark.parametrize("end, start, year_start, quarters", [
    ("2026-11-28", "2023-11-29", "2026-01-01", ("2023Q4", "2026Q4", 13)),
    ("2026-03-31", "2023-04-01", "2026-01-01", ("2023Q2", "2026Q1", 12)),
    ("2025-12-31", "2023-01-01", "2025-01-01", ("2023Q1", "2025Q4", 12)),
])
def test_a_county_holds_three_years_to_its_end(end, start, year_start, quarters):
    county = County(1.0, TS(end))
    assert (county.start, county.year_start) == (TS(start), TS(year_start))
    assert county.end_of_data == TS(f"{end} 23:59")
    q = county.quarters
    assert (str(q[0]), str(q[-1]), len(q)) == quarters


@pytest.mark.parametrize("value, scale, minimum, expected", [
    (1967, 0.05, 1, 98),   # 98.35
    (38, 0.01, 1, 1),      # 0.38 rounds to 0, the minimum is 1
    (5, 0.05, 0, 0),
    (206, 0.05, 141, 141),  # at least one team per grid and one more
    (206, 1.0, 141, 206),
])
def test_a_reported_figure_is_scaled_and_kept_above_its_minimum(value, scale, minimum, expected):
    assert County(scale, TS("2026-11-28")).scaled(value, minimum=minimum) == expected


def _frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def _rows(frame, columns):
    """The rows as lists, any missing value (None, NaN, NaT, NA) as None."""
    frame = frame[columns].astype(object)
    return frame.where(frame.notna(), None).values.tolist()


def test_the_sorting_award_is_revised_on_1_january_of_the_year_before_the_end():
    ind = ledger.indicators(County(1.0, TS("2026-11-28")))
    changed = ind[ind["valid_to"].notna() | (ind["valid_from"] != dt.date(2022, 1, 1))]
    assert _rows(changed, ["indicator_code", "points", "valid_from", "valid_to"]) == [
        ["P-CIV-01", 1, dt.date(2022, 1, 1), dt.date(2024, 12, 31)],
        ["P-CIV-05", 2, dt.date(2025, 1, 1), None],
    ]
    assert len(ind) == 14 + 1 + 8


def test_volunteers_join_the_team_of_their_grid_first_and_one_team_at_most():
    grids = _frame([("101-01", "101", "宝发社区第1网格"), ("101-02", "101", "宝发社区第2网格")],
                   ["grid_id", "community_id", "name"])
    communities = _frame([("101", "宝发社区")], ["community_id", "name"])
    unassigned = _frame([("P1", "101-01", "101", 30), ("P2", "101-01", "101", 77), ("P3", "101-02", "101", 18),
                         ("P4", "101-02", "101", 80), ("P5", "101-02", "101", 45)],
                        ["person_id", "grid_id", "community_id", "age"])
    # Scale 0.01: round(2.06) teams, at least one per grid and one more -> 3; round(48.78) = 49
    # members wanted, far more than the four residents aged 18-78, so the grid teams take them all.
    county = County(0.01, TS("2026-11-28"))
    t = volunteering.teams(np.random.default_rng(1), county, grids, communities, unassigned)
    assert _rows(t.teams, ["team_id", "grid_id", "name"]) == [
        ["T001", "101-01", "宝发社区第1网格红色堡垒志愿服务队"],
        ["T002", "101-02", "宝发社区第2网格红色堡垒志愿服务队"],
        ["T003", None, "宝发社区助老帮扶志愿服务队"],
    ]
    assert sorted(t.members[["team_id", "person_id"]].values.tolist()) == [
        ["T001", "P1"], ["T001", "P2"], ["T002", "P3"], ["T002", "P5"]]
    assert (t.members["joined_on"] <= county.end).all()
    assert t.unassigned["person_id"].tolist() == ["P4"]
    assert sorted(t.roles[["person_id", "role", "community_id"]].values.tolist()) == [
        [p, "volunteer", "101"] for p in ("P1", "P2", "P3", "P5")]


def test_the_emergency_force_is_the_current_staff_and_volunteers_plus_cadres():
    grids = _frame([("101-01", "101"), ("201-01", "201")], ["grid_id", "community_id"])
    residents = _frame([(p, g) for p, g in zip("ABCDEFG", ["101-01"] * 4 + ["201-01"] * 3)], ["person_id", "grid_id"])
    roles = [
        _frame([("A", "grid_worker", None), ("B", "grid_worker", TS("2024-05-01"))], ["person_id", "role", "until"]),
        _frame([("C", "volunteer"), ("C", "community_worker"), ("D", "building_leader")], ["person_id", "role"]),
    ]
    unassigned = _frame([("E", "201-01", 30), ("F", "201-01", 70), ("G", "201-01", 40)],
                        ["person_id", "grid_id", "age"])
    # Scale 0.0005: round(3.663) = 4 people wanted; A and C are in the force (B's role has ended,
    # a building leader is not of it), so 2 cadres come from the adults aged 24-58: E and G.
    force = people.emergency_force(np.random.default_rng(1), County(0.0005, TS("2026-11-28")), grids,
                                   residents, roles, unassigned)
    assert sorted(force.cadres[["person_id", "role", "grid_id"]].values.tolist()) == [
        ["E", "cadre", "201-01"], ["G", "cadre", "201-01"]]
    assert sorted(force.assignments[["person_id", "community_id"]].values.tolist()) == [
        ["A", "101"], ["C", "101"], ["E", "201"], ["G", "201"]]


def test_the_role_table_has_every_column_and_dates():
    roles = people.role_table([
        _frame([("P1", "unit_leader", TS("2022-03-05"), "101-01", "101-01-B001", 2)],
               ["person_id", "role", "since", "grid_id", "building_id", "unit_no"]),
        _frame([("P2", "grid_worker", TS("2022-03-01"), "101-01", TS("2024-01-31 00:00"))],
               ["person_id", "role", "since", "grid_id", "until"]),
    ])
    columns = ["person_id", "role", "since", "until", "community_id", "grid_id", "building_id", "unit_no", "org_id"]
    assert sorted(roles.columns) == sorted(columns)
    assert _rows(roles, columns) == [
        ["P1", "unit_leader", dt.date(2022, 3, 5), None, None, "101-01", "101-01-B001", 2, None],
        ["P2", "grid_worker", dt.date(2022, 3, 1), dt.date(2024, 1, 31), None, "101-01", None, None, None],
    ]


def test_progress_names_every_stage_once_in_order(tmp_path):
    seen = []
    demo.build_demo_file(tmp_path / "p.duckdb", scale=0.05, seed=7, end=dt.date(2026, 11, 28),
                         progress=lambda share, label: seen.append((share, label)))
    assert [label for _, label in seen] == [*demo.STAGES, "生成汇总表", "完成"]
    shares = [share for share, _ in seen]
    assert shares[0] == 0 and shares == sorted(shares) and len(set(shares)) == len(shares) and shares[-1] == 1
