import pytest

from analytics.period import Area, Scope, parse_scope

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
