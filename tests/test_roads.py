"""Walking distances along a small hand-built network, and the service circle that uses them.

The network (WGS-84), with a red station F on the west street at 36.952 N:

    36.970  W+-------------------+E
            |                    |
    36.965 -+------B3------------+-   the cross street (118.099–118.105) crosses both streets
            |                    |    with no shared point: it is joined where it crosses
    36.958  B1                   B2
    36.956  |  B4 (118.101, off the streets)
    36.952  F                    |
    36.950  +--------------------+    the south street
         118.100              118.104
    and an isolated path (118.120–118.121, 36.960) with B5 beside it.

Lengths, by hand: a degree of latitude is R × π/180 = 6,371,008.8 × 0.0174533 = 111,195.080 m;
a degree of longitude at latitude φ is that × cos φ (cos 36.95° = 0.799160, cos 36.956° = 0.799097,
cos 36.965° = 0.799003), which haversine matches to well under a millimetre over these lengths.
"""

import json

import numpy as np
import pytest

from analytics import db, facilities, geo, roads
from analytics.__main__ import main

DEG = 111_195.080  # metres per degree of latitude

STREETS = [
    [[118.100, 36.950], [118.100, 36.960], [118.100, 36.970]],   # west
    [[118.104, 36.950], [118.104, 36.970]],                      # east
    [[118.100, 36.950], [118.104, 36.950]],                      # south
    [[118.100, 36.970], [118.104, 36.970]],                      # north
    [[118.099, 36.965], [118.105, 36.965]],                      # cross street
    [[118.120, 36.960], [118.121, 36.960]],                      # isolated path
]
F = (118.100, 36.952)
BUILDINGS = {  # id: (lon, lat, walking metres to F by hand, straight metres)
    # Up the west street 0.006°: 0.006 × 111,195.080.
    "B1": (118.100, 36.958, 667.170, 667.170),
    # South 0.002° (222.390), east 0.004° at 36.95° (0.004 × 111,195.080 × 0.799160 = 355.451),
    # north 0.008° (889.561): 1,467.402. The other way round, by the cross street, is 2,579.9.
    "B2": (118.104, 36.958, 1467.402, None),
    # North 0.013° (1,445.536), then east 0.0025° at 36.965° (222.113): 1,667.649.
    "B3": (118.1025, 36.965, 1667.649, None),
    # A straight leg to the west street, 0.001° at 36.956° (88.856), then south 0.004° (444.780): 533.636.
    "B4": (118.101, 36.956, 533.636, None),
    # Its nearest line is the isolated path: no way to F.
    "B5": (118.1205, 36.9601, np.inf, None),
}


def write_geojson(path, lines, shift=None):
    if shift:
        lines = [np.column_stack(shift(*np.asarray(line).T)).tolist() for line in lines]
    features = [{"type": "Feature", "properties": {"name": f"路{k}"},
                 "geometry": {"type": "LineString", "coordinates": line}} for k, line in enumerate(lines)]
    features.append({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [118.1, 36.96]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


@pytest.fixture
def network(tmp_path):
    return roads.build(roads.read_lines(write_geojson(tmp_path / "roads.geojson", STREETS)))


def test_walking_distances_follow_the_streets(network):
    ids = list(BUILDINGS)
    lon, lat = np.array([BUILDINGS[b][0] for b in ids]), np.array([BUILDINGS[b][1] for b in ids])
    walked = roads.nearest_walk(network, (lon, lat), (np.array([F[0]]), np.array([F[1]])))
    assert walked == pytest.approx([BUILDINGS[b][2] for b in ids], abs=0.01)


def test_the_nearest_of_several_destinations_counts(network):
    # A second station on the east street at 36.958 is B2's own door: 0 m; B1 stays with F.
    walked = roads.nearest_walk(network, (np.array([118.104, 118.100]), np.array([36.958, 36.958])),
                                (np.array([F[0], 118.104]), np.array([F[1], 36.958])))
    assert walked == pytest.approx([0.0, 667.170], abs=0.01)


def test_the_network_is_joined_where_lines_meet_or_cross(network):
    """Two parts: the streets (the cross street joined to both it crosses) and the isolated path.
    Length: 0.02° twice up the west and east streets (4,447.803), 0.004° along the south street at
    36.95° (355.451) and the north one at 36.97° (× 0.798951: 355.357), 0.006° of cross street at
    36.965° (533.071) and the isolated 0.001° at 36.96° (× 0.799055: 88.851): 5,780.533 m."""
    assert network.parts == 2
    assert network.kilometres * 1000 == pytest.approx(5780.533, abs=0.01)


def test_the_reach_of_a_station_is_cut_where_the_distance_runs_out(network):
    """300 m from F: 300 m north up the west street, and 222.390 m south to the corner then
    77.610 m east along the south street: 600 m of street in all."""
    paths = roads.reach(network, (np.array([F[0]]), np.array([F[1]])), 300)
    lengths = [float(geo.metres_between(*a, *b)) for a, b in paths]
    assert sum(lengths) == pytest.approx(600, abs=0.01)
    ends = {tuple(np.round(p, 6)) for path in paths for p in path}
    assert (118.1, round(36.952 + 300 / DEG, 6)) in ends
    assert (round(118.1 + 77.610 / (DEG * 0.799160), 6), 36.95) in ends


def test_a_network_drawn_on_amap_is_shifted_back_before_use(tmp_path):
    path = write_geojson(tmp_path / "gcj.geojson", STREETS, shift=geo.wgs84_to_gcj02)
    network = roads.build(roads.read_lines(path, datum="gcj02"))
    walked = roads.nearest_walk(network, (np.array([118.104]), np.array([36.958])), (np.array([F[0]]), np.array([F[1]])))
    assert walked == pytest.approx([1467.402], abs=0.01)


@pytest.mark.parametrize("content, message", [
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.1, 36.9]}}]},
     "没有线要素"),
    ({"type": "LineString", "coordinates": [[520000.0, 4090000.0], [520100.0, 4090000.0]]}, "不是投影坐标"),
    ([1, 2], "应为 GeoJSON"),
])
def test_a_file_that_is_not_a_network_of_the_county_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        roads.read_lines(path)


@pytest.fixture
def county(tmp_path):
    """F (a red station) and the five buildings: B1–B3 in G1 with 10, 20, 30 households, B4 and B5 in
    G2 with 40 and 50. Straight lines cover B1 (667 m), B2 (756 m) and B4 (454 m); walking, B1 and B4."""
    path = tmp_path / "county.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("""
            INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道');
            INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C1', 'S1', '宝发社区');
            INSERT INTO grids (grid_id, community_id, name, households) VALUES
                ('G1', 'C1', '第1网格', 60), ('G2', 'C1', '第2网格', 90);
            INSERT INTO facilities (facility_id, facility_type, name, community_id, grid_id, lat, lon, opened_on)
                VALUES ('F', 'red_station', '红色驿站', 'C1', 'G1', 36.952, 118.100, '2024-01-01');
        """)
        for (building, (lon, lat, *_)), grid, households in zip(BUILDINGS.items(), ["G1"] * 3 + ["G2"] * 2,
                                                                  [10, 20, 30, 40, 50]):
            con.execute("INSERT INTO buildings (building_id, grid_id, name, lon, lat, households) VALUES (?, ?, ?, ?, ?, ?)",
                        [building, grid, building, lon, lat, households])
    return path


def coverage(path):
    with db.connect(path, read_only=True) as con:
        shares = facilities.service_coverage(con, "2026Q3").set_index("grid_id")["household_share"]
        distances = facilities.uncovered_buildings(con, "2026Q3").set_index("building_id")["nearest_metres"]
    return shares.to_dict(), distances


def test_the_service_circle_walks_once_the_network_is_imported(county, tmp_path):
    shares, distances = coverage(county)
    assert shares == pytest.approx({"G1": 30 / 60, "G2": 40 / 90})
    assert sorted(distances.index) == ["B3", "B5"]

    assert main(["import-roads", str(write_geojson(tmp_path / "roads.geojson", STREETS)), "--db", str(county)]) == 0
    assert roads.path_for(county).exists()
    shares, distances = coverage(county)
    assert shares == pytest.approx({"G1": 10 / 60, "G2": 40 / 90})
    assert distances["B2"] == pytest.approx(1467.402, abs=0.01)
    assert distances["B3"] == pytest.approx(1667.649, abs=0.01)
    assert np.isnan(distances["B5"])  # no way along the network

    assert main(["import-roads", "--remove", "--db", str(county)]) == 0
    assert coverage(county)[0] == pytest.approx({"G1": 30 / 60, "G2": 40 / 90})


def test_import_roads_refuses_a_bad_file_and_keeps_the_old_network(county, tmp_path, capsys):
    good = write_geojson(tmp_path / "roads.geojson", STREETS)
    assert main(["import-roads", str(good), "--db", str(county)]) == 0
    assert "条线" in capsys.readouterr().out
    bad = tmp_path / "points.geojson"
    bad.write_text(json.dumps({"type": "Point", "coordinates": [118.1, 36.96]}), encoding="utf-8")
    assert main(["import-roads", str(bad), "--db", str(county)]) == 1
    assert "没有线要素" in capsys.readouterr().err
    assert len(json.loads(roads.path_for(county).read_text(encoding="utf-8"))["features"]) == len(STREETS)
