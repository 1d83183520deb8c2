"""Text from the data or a user is shown as text: Markdown built from it is escaped, and the map's
HTML tooltip is a fixed template whose values Streamlit escapes."""

import json

import pandas as pd
import pytest

from analytics import charts, maps
from pages._format import plain


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


def test_the_map_tooltip_is_a_fixed_template_filled_with_the_datas_own_fields():
    """Streamlit escapes each value it puts into the template (its DeckGlJsonChart), so the names go
    in unchanged; the template itself holds nothing from the data."""
    grids = pd.DataFrame({"grid_id": ["G1"], "grid_name": ["<img src=x onerror=alert(1)>"],
                          "community_name": ["社区&<b>"], "polygon": [[[118.1, 36.9], [118.2, 36.9], [118.2, 37.0]]],
                          "value": [1.5]})
    points = pd.DataFrame({"name": ["红色驿站<1>"], "community_name": ["社区"], "type_label": ["红色驿站"],
                           "lon": [118.15], "lat": [36.95]})
    bounds = pd.DataFrame(columns=["level", "id", "name", "paths", "label_lon", "label_lat"])
    info = maps.Column("人均积分", "分", True, 2)
    deck = charts.grid_map(grids, [(1, 2, 3)], info, "人均积分", boundaries=bounds, outline=[],
                           overlays=[charts.Overlay("p", points)])
    assert deck._tooltip["html"] == "<b>{tip_title}</b><br/>{tip_place}<br/>{tip_detail}"
    layers = {layer["id"]: layer for layer in json.loads(deck.to_json())["layers"]}
    assert {k: layers["grids"]["data"][0][k] for k in ("tip_title", "tip_place", "tip_detail")} == {
        "tip_title": "<img src=x onerror=alert(1)>", "tip_place": "社区&<b>", "tip_detail": "人均积分:1.50 分"}
    assert {k: layers["p"]["data"][0][k] for k in ("tip_title", "tip_place", "tip_detail")} == {
        "tip_title": "红色驿站<1>", "tip_place": "社区", "tip_detail": "红色驿站"}


def test_the_cards_figures_escape_their_text():
    card = pd.DataFrame({"label": ["<b>人均</b>"], "text": ["<script>1</script>"]})
    shown = charts.figures_html(card, ['口径"<i>'])
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "&lt;b&gt;" in shown and "&quot;&lt;i&gt;" in shown
