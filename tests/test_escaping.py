"""Text from the data or a user is shown as text: Markdown built from it is escaped, and the map's
HTML tooltip gets names with their HTML escaped."""

import json

import pandas as pd
import pytest

from analytics import charts
from pages._common import plain


@pytest.mark.parametrize("text, shown", [
    ("<script>alert(1)</script>", r"\<script\>alert\(1\)\</script\>"),
    ("[点我](javascript:alert(1))", r"\[点我\]\(javascript:alert\(1\)\)"),
    ("**粗体** _斜体_ `代码`", r"\*\*粗体\*\* \_斜体\_ \`代码\`"),
    ("# 标题", r"\# 标题"),
    ("兴旺社区第1网格", "兴旺社区第1网格"),
    ("T2026-0012", r"T2026\-0012"),
])
def test_markdown_built_from_data_shows_it_literally(text, shown):
    assert plain(text) == shown


def test_the_map_tooltip_escapes_names_from_the_data():
    grids = pd.DataFrame({"grid_id": ["G1"], "grid_name": ["<img src=x onerror=alert(1)>"],
                          "community_name": ["社区&<b>"], "polygon": [[[118.1, 36.9], [118.2, 36.9], [118.2, 37.0]]],
                          "centre_lon": [118.15], "centre_lat": [36.95], "avg_credit": [1.5]})
    deck = charts.grid_map(grids, "avg_credit", "人均积分", "分")
    assert "{tip_grid}" in deck._tooltip["html"] and "{grid_name}" not in deck._tooltip["html"]
    row = json.loads(deck.to_json())["layers"][0]["data"][0]
    assert row["tip_grid"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert row["tip_community"] == "社区&amp;&lt;b&gt;"
