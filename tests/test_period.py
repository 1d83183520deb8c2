import duckdb
import pytest

from analytics.period import Area, Scope, community_in_scope, in_scope, parse_scope, place_in_scope

# Two subdistricts; S2 has a community without grids.
PLACES = [
    ("S1", "索镇街道", "C1", "兴旺社区", "G1", "第1网格"),
    ("S1", "索镇街道", "C1", "兴旺社区", "G2", "第2网格"),
    ("S1", "索镇街道", "C2", "东岳社区", "G3", "第1网格"),
    ("S2", "少海街道", "C3", "新建社区", None, None),
]


@pytest.mark.parametrize(("scope", "expected"), [
    ("", Area(None, "全县")),
    ("S:S1", Area(("G1", "G2", "G3"), "索镇街道")),
    ("C:C1", Area(("G1", "G2"), "兴旺社区")),
    ("C:C3", Area((), "新建社区")),
    ("G:G3", Area(("G3",), "第1网格")),
    ("C:C2,G:G1", Area(("G1", "G3"), "东岳社区、第1网格")),
    ("S:S2,C:C1", Area(("G1", "G2"), "少海街道、兴旺社区")),
])
def test_a_scope_resolves_to_its_grids_and_names(scope, expected):
    assert parse_scope(scope).within(PLACES) == expected


@pytest.mark.parametrize(("scope", "message"), [
    ("C:C9", "未知的社区编号: C9"),
    ("S:S1,G:G7,G:G8", "未知的网格编号: G7, G8"),
])
def test_an_unknown_place_is_an_error(scope, message):
    with pytest.raises(ValueError, match=message):
        parse_scope(scope).within(PLACES)


def test_describing_names_an_unknown_place_by_its_id():
    assert Scope(communities=("C1", "C9")).within(PLACES, strict=False).label == "兴旺社区、C9"


def test_a_label_given_is_kept():
    assert Scope(grids=("G1",)).within(PLACES, "我的网格") == Area(("G1",), "我的网格")


# Rows (id, grid, community) with G1, G2 in C1, G3 in C2, and one row without a grid.
ROWS = "SELECT * FROM (VALUES (1, 'G1', 'C1'), (2, 'G2', 'C1'), (3, 'G3', 'C2'), (4, NULL, 'C2')) t(id, grid_id, community_id)"


@pytest.mark.parametrize(("condition", "area", "expected"), [
    (in_scope("t.grid_id"), Area(None), [1, 2, 3, 4]),  # the county sees rows without a grid
    (in_scope("t.grid_id"), Area(("G1", "G3")), [1, 3]),
    (in_scope("grid_id"), Area(("G1",)), [1]),
    (in_scope("t.grid_id"), Area(()), []),
    (community_in_scope("t.community_id"), Area(("G1",)), [1, 2]),
    (community_in_scope("t.community_id"), Area(("G3",)), [3, 4]),
    (place_in_scope("t.grid_id", "t.community_id"), Area(("G3",)), [3, 4]),
    (place_in_scope("t.grid_id", "t.community_id"), Area(("G1",)), [1]),
])
def test_a_scope_condition_keeps_the_rows_of_the_area(condition, area, expected):
    con = duckdb.connect()
    con.execute("CREATE TABLE grids AS SELECT * FROM (VALUES ('G1', 'C1'), ('G2', 'C1'), ('G3', 'C2')) g(grid_id, community_id)")
    rows = con.execute(f"SELECT id FROM ({ROWS}) t WHERE {condition} ORDER BY id", area.params()).fetchall()
    assert [r[0] for r in rows] == expected


@pytest.mark.parametrize("column", ["grid_id; DROP TABLE people", "g.grid_id)", "'x'", "", "coalesce(a, 'x')"])
def test_a_scope_condition_takes_only_a_column_name(column):
    with pytest.raises(ValueError, match="not a column name"):
        in_scope(column)
