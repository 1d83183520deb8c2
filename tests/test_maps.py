"""The grid map: which figures can colour it, its classes and legend, its view, its basemaps and
the outlines it draws. Answers worked out by hand in the comments."""

import json
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from analytics import charts, db, geo, maps, metrics
from analytics.period import COUNTY, Scope

RED, ORANGE, YELLOW, LIGHT_BLUE, BLUE = charts.WORSE_TO_BETTER
HIGHER_BETTER = maps.Column("人均积分", "分/人", True, 2)
LOWER_BETTER = maps.Column("办结用时中位数", "天", False, 1)
NEITHER = maps.Column("户数", "户", None)
COUNT = maps.Column("超期工单", "单", False)

# Metrics whose rows name a grid but are not one row per grid, and why.
NOT_PER_GRID = {
    "red-flag-grids": "the ranking's best grids only",
    "deadline-status": "one row per ticket in progress",
    "data-quality-flags": "one row per problem found",
    "ticket-list": "one row per ticket",
    "uncovered-buildings": "one row per building",
    "integrity-flags": "one row per flag",
}


def numeric(frame: pd.DataFrame) -> set:
    return {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}


def test_every_per_grid_figure_of_the_registry_can_colour_the_map(small_path):
    """Each metric (not personal, not for one grid) whose rows carry a grid id is per grid, with all
    its numeric columns offered; or lists tickets, counted per grid; or is known not to be per grid."""
    with db.connect(small_path, read_only=True) as con:
        for m in metrics.REGISTRY:
            if m.personal or m.needs_grid or m.id == "county-profile":
                continue
            frame = m.compute(con, "2026Q3")
            if "grid_id" not in frame:
                assert m.id not in maps.GRID_METRICS, m.id
                continue
            if m.id in maps.GRID_METRICS:
                assert frame["grid_id"].is_unique, m.id
                assert set(maps.GRID_METRICS[m.id]) == numeric(frame), m.id
            else:
                assert m.id in maps.COUNTED or m.id in NOT_PER_GRID, f"{m.id}: per grid? add it to maps.GRID_METRICS"
    offered = maps.measures()
    assert len(offered) == sum(map(len, maps.GRID_METRICS.values())) + len(maps.COUNTED) > 5
    assert offered[maps.DEFAULT_MEASURE].label == "网格信用积分排名 · 人均积分"
    assert all(m.info.label and m.info.unit for m in offered.values())


def test_grid_values_give_every_grid_in_scope_a_value(small_path):
    with db.connect(small_path, read_only=True) as con:
        scope = Scope(communities=("101",))
        grids = set(scope.grid_ids(con))
        overdue = maps.grid_values(con, "2026Q3", scope, "overdue-tickets:count")
        listed = metrics.get("overdue-tickets").compute(con, "2026Q3", scope)
        assert set(overdue["grid_id"]) == grids
        assert overdue["value"].sum() == len(listed)  # a grid without overdue tickets has 0
        assert (overdue["value"] >= 0).all()
        median = maps.grid_values(con, "2026Q3", scope, "ticket-resolution:median_days")
        resolved = metrics.get("ticket-resolution").compute(con, "2026Q3", scope).set_index("grid_id")["median_days"]
        assert median.set_index("grid_id")["value"].dropna().to_dict() == pytest.approx(resolved.to_dict())
        assert median["value"].isna().sum() == len(grids) - len(resolved)  # no ticket published: no figure


# -- classes and legend --------------------------------------------------------------------

def test_quintile_classes_of_a_figure_where_higher_is_better():
    """1..10: the quintiles by linear interpolation are 1, 2.8, 4.6, 6.4, 8.2 and 10, two values in
    each class; the lowest class is the worst, red; the missing value has no colour."""
    values = pd.Series([float(v) for v in range(1, 11)] + [np.nan])
    classes, colors = charts.map_classes(values, HIGHER_BETTER)
    assert list(classes["label"]) == ["1.00–2.80", "2.80–4.60", "4.60–6.40", "6.40–8.20", "8.20–10.00"]
    assert list(classes["grids"]) == [2, 2, 2, 2, 2]
    assert list(classes["color"]) == [RED, ORANGE, YELLOW, LIGHT_BLUE, BLUE]
    assert colors[:3] == [RED, RED, ORANGE] and colors[-2] == BLUE and colors[-1] is None


def test_where_lower_is_better_the_highest_values_are_red():
    values = pd.Series([float(v) for v in range(1, 11)])
    classes, colors = charts.map_classes(values, LOWER_BETTER)
    assert list(classes["color"]) == [BLUE, LIGHT_BLUE, YELLOW, ORANGE, RED]
    assert colors[0] == BLUE and colors[-1] == RED


def test_a_figure_with_no_better_end_uses_a_neutral_scale():
    classes, colors = charts.map_classes(pd.Series([float(v) for v in range(1, 11)]), NEITHER)
    assert list(classes["color"]) == charts.LOW_TO_HIGH and RED not in colors


def test_counts_get_whole_number_classes():
    """0,0,0,0,0,0,1,2,5,9: the quintiles sit at positions 0, 1.8, 3.6, 5.4, 7.2 and 9 of the sorted
    values: 0, 0, 0, 0.4 (0 + 0.4 × (1 − 0)), 2.6 (2 + 0.2 × (5 − 2)) and 9. Rounded up to whole numbers
    they leave three classes: 0 (six grids), 1–2 (two) and 3–9 (two); fewer overdue tickets is better,
    so blue, the middle yellow, red."""
    classes, colors = charts.map_classes(pd.Series([0, 0, 0, 0, 0, 0, 1, 2, 5, 9]), COUNT)
    assert list(classes["label"]) == ["0", "1–2", "3–9"]
    assert list(classes["grids"]) == [6, 2, 2]
    assert list(classes["color"]) == [BLUE, YELLOW, RED]
    assert colors[0] == BLUE and colors[-1] == RED


def test_equal_values_make_one_class_and_no_values_none():
    classes, colors = charts.map_classes(pd.Series([0.5, 0.5]), maps.Column("户数覆盖占比", "%", True, 1, share=True))
    assert list(classes["label"]) == ["50.0%"] and colors == [YELLOW, YELLOW]
    classes, colors = charts.map_classes(pd.Series([np.nan, np.nan]), HIGHER_BETTER)
    assert classes.empty and colors == [None, None]


@pytest.mark.parametrize("info, first, last", [(HIGHER_BETTER, "1.00–2.80", "8.20–10.00"),
                                               (LOWER_BETTER, "8.2–10.0", "1.0–2.8")])
def test_the_legend_reads_from_the_worse_end_in_red(info, first, last):
    classes, _ = charts.map_classes(pd.Series([float(v) for v in range(1, 11)]), info)
    legend = charts.legend_html(classes, info, "某指标", missing=3)
    assert legend.index(first) < legend.index(last)
    assert legend.index("rgb(215,25,28)") < legend.index("rgb(44,123,182)")
    assert "3 个" in legend and "无数据" in legend and f"({info.unit})" in legend and "红色为最需关注" in legend


def test_format_value():
    assert maps.format_value(1234.567, HIGHER_BETTER) == "1,234.57 分/人"
    assert maps.format_value(0.4567, maps.Column("占比", "%", True, 1, share=True)) == "45.7%"
    assert maps.format_value(np.nan, HIGHER_BETTER) == "—"


# -- view ----------------------------------------------------------------------------------

def test_the_view_fits_the_box_of_every_grid():
    """A box 0.2° wide (118.0–118.2 E) and 0.1° high (36.9–37.0 N) in 440 × 390 pixels less 24 on
    each side (392 × 342). Across: 0.2/360 of the 512-pixel world fits at 2^z = 392/(512 × 0.2/360)
    = 1,378.1, z = 10.4285. Up: 0.1° at 36.95° is 0.1 × π/180 / cos 36.95° / 2π = 3.476e-4 of the
    world, z = log2(342 / (512 × 3.476e-4)) = 10.908. The narrower fit wins."""
    view = charts.fit_view([118.0, 118.2], [36.9, 37.0], 440, 390)
    assert view.zoom == pytest.approx(10.4285, abs=1e-3)
    assert view.longitude == pytest.approx(118.1)
    assert 36.95 < view.latitude < 36.9501  # Mercator's middle lies a little north of the mean


# -- basemaps and the deck -----------------------------------------------------------------

SQUARE = [[118.10, 36.95], [118.11, 36.95], [118.11, 36.96], [118.10, 36.96], [118.10, 36.95]]


def deck(basemap, selected=None):
    grids = pd.DataFrame({"grid_id": ["G1", "G2"], "grid_name": ["一网格", "二网格"], "community_name": ["宝发社区"] * 2,
                          "polygon": [SQUARE, [[x + 0.01, y] for x, y in SQUARE]], "value": [1.0, np.nan]})
    _, colors = charts.map_classes(grids["value"], HIGHER_BETTER)
    bounds = pd.DataFrame({"level": ["community"], "id": ["C1"], "name": ["宝发社区"], "paths": [[SQUARE]],
                           "label_lon": [118.105], "label_lat": [36.955]})
    points = pd.DataFrame({"name": ["驿站"], "community_name": ["宝发社区"], "type_label": ["红色驿站"],
                           "lon": [118.105], "lat": [36.955]})
    return charts.grid_map(grids, colors, HIGHER_BETTER, "人均积分", boundaries=bounds, outline=[SQUARE],
                           overlays=[charts.Overlay("service", points)], basemap=basemap, selected=selected)


def test_without_a_basemap_nothing_is_fetched():
    spec = deck(maps.basemap("none")).to_json()
    # The sentinel tells Streamlit's chart to draw no basemap; without any style it loads its own.
    assert json.loads(spec)["mapStyle"] == "__MAP_STYLE__"
    assert "http" not in spec
    assert maps.basemap("tianditu", tianditu_key=None).style is None
    assert maps.basemap("xyz", tile_url="").style is None


def test_tianditu_tiles_carry_the_key_and_stay_in_wgs84():
    base = maps.basemap("tianditu", tianditu_key="KEY123")
    style = json.loads(unquote(base.style.split(",", 1)[1]))
    assert not base.gcj02 and len(style["layers"]) == 2  # the map and its labels
    assert all("tianditu.gov.cn" in url and "tk=KEY123" in url for s in style["sources"].values() for url in s["tiles"])
    layers = {layer["id"]: layer for layer in json.loads(deck(base).to_json())["layers"]}
    assert layers["grids"]["data"][0]["polygon"] == SQUARE


def test_on_amap_tiles_every_layer_moves_to_gcj02():
    base = maps.basemap("amap")
    assert base.gcj02 and "autonavi.com" in unquote(base.style)
    layers = {layer["id"]: layer for layer in json.loads(deck(base, selected="G1").to_json())["layers"]}
    lon, lat = map(float, geo.wgs84_to_gcj02(118.10, 36.95))
    for moved in (layers["grids"]["data"][0]["polygon"][0], layers["county"]["data"][0]["path"][0],
                  layers["community_lines"]["data"][0]["path"][0], layers["selected"]["data"][0]["path"][0]):
        assert moved == pytest.approx([lon, lat], abs=1e-7)
    lon, lat = map(float, geo.wgs84_to_gcj02(118.105, 36.955))
    assert [layers["service"]["data"][0]["lon"], layers["service"]["data"][0]["lat"]] == pytest.approx([lon, lat])
    assert [layers["community_names"]["data"][0][k] for k in ("label_lon", "label_lat")] == pytest.approx([lon, lat])


def test_grids_are_filled_by_class_with_missing_grey_and_the_selection_outlined():
    layers = {layer["id"]: layer for layer in json.loads(deck(None, selected="G2").to_json())["layers"]}
    fills = [row["fill_color"] for row in layers["grids"]["data"]]
    assert fills[0][:3] == list(YELLOW) and fills[1][:3] == list(charts.MISSING)
    assert layers["selected"]["data"][0]["path"][1] == [118.12, 36.95]
    assert layers["grids"]["data"][1]["tip_detail"] == "人均积分:无数据"


# -- boundaries ----------------------------------------------------------------------------

def test_a_place_without_its_own_outline_is_drawn_as_its_grids(tmp_path):
    """C1 has its own square; C2 has none, and its two grids side by side make a 0.02° × 0.01° box;
    S1 (no outline either) is all three grids."""
    path = tmp_path / "b.duckdb"
    db.init_db(path)
    def box(x0, x1):
        return f"POLYGON(({x0} 36.95, {x1} 36.95, {x1} 36.96, {x0} 36.96, {x0} 36.95))"
    with db.connect(path) as con:
        con.execute("INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S1', '少海街道')")
        con.execute("INSERT INTO communities (community_id, subdistrict_id, name, geometry_wkt) VALUES "
                    "('C1', 'S1', '宝发社区', ?), ('C2', 'S1', '紫悦城社区', NULL)", [box(118.09, 118.10)])
        con.execute("INSERT INTO grids (grid_id, community_id, name, geometry_wkt) VALUES "
                    "('G1', 'C1', '一', ?), ('G2', 'C2', '二', ?), ('G3', 'C2', '三', ?)",
                    [box(118.09, 118.10), box(118.10, 118.11), box(118.11, 118.12)])
        found = maps.boundaries(con, "2026Q3").set_index("id")
        only_c2 = maps.boundaries(con, "2026Q3", Scope(communities=("C2",)))
    assert list(found["level"]) == ["subdistrict", "community", "community"]
    xs = {k: sorted({p[0] for ring in found.loc[k, "paths"] for p in ring}) for k in found.index}
    assert xs["C2"] == [118.10, 118.12] and xs["C1"] == [118.09, 118.10] and xs["S1"] == [118.09, 118.12]
    assert 118.10 < found.loc["C2", "label_lon"] < 118.12
    assert list(only_c2["id"]) == ["S1", "C2"]


def test_every_measure_gives_a_number_or_nothing_for_every_grid(small_path):
    with db.connect(small_path, read_only=True) as con:
        grids = len(COUNTY.grid_ids(con) or con.execute("SELECT grid_id FROM grids").fetchall())
        for key in maps.measures():
            values = maps.grid_values(con, "2026Q3", COUNTY, key)
            assert len(values) == grids and pd.api.types.is_numeric_dtype(values["value"]), key


def test_a_grids_card_holds_the_figures_of_the_map(small_path):
    with db.connect(small_path, read_only=True) as con:
        grid = con.execute("SELECT min(grid_id) FROM grids").fetchone()[0]
        card = maps.grid_card(con, "2026Q3", COUNTY, grid).set_index("key")
        for key in maps.CARD:
            values = maps.grid_values(con, "2026Q3", COUNTY, key).set_index("grid_id")["value"]
            assert card.loc[key, "text"] == maps.format_value(values[grid], maps.measures()[key].info), key
        with pytest.raises(ValueError):
            maps.grid_card(con, "2026Q3", Scope(grids=("nowhere",)), grid)
