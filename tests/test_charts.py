import pandas as pd
import pytest

from analytics import charts

FRAME = pd.DataFrame({"grid": ["<b>甲</b>", "乙"], "avg": [12.5, 9.0], "red": [True, False]})


def test_a_bar_shows_names_as_text_and_the_highlighted_bars_in_gold():
    trace = charts.bar(FRAME, "grid", "avg", highlight=FRAME["red"]).data[0]
    assert list(trace.x) == ["&lt;b&gt;甲&lt;/b&gt;", "乙"]
    assert list(trace.y) == [12.5, 9.0]
    assert list(trace.marker.color) == [charts.GOLD, charts.RED]


def test_horizontal_bars_put_the_values_on_x_and_the_first_row_on_top():
    figure = charts.bar(FRAME, "grid", "avg", horizontal=True)
    assert list(figure.data[0].x) == [12.5, 9.0] and figure.data[0].orientation == "h"
    assert figure.layout.yaxis.autorange == "reversed"


@pytest.mark.parametrize("groups", [["居民", "党员"], ["党员", "居民"]])
def test_a_stacked_bar_keeps_each_groups_colour_whatever_comes_first(groups):
    frame = pd.DataFrame({"category": ["文明风尚"] * 2, "group": groups, "points": [3.0, 4.0]})
    figure = charts.stacked_bar(frame, "category", "group", "points")
    assert {t.name: t.marker.color for t in figure.data} == {"居民": charts.colour("居民"), "党员": charts.colour("党员")}
    assert charts.colour("居民") != charts.colour("党员") and figure.layout.barmode == "stack"
