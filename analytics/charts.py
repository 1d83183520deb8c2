"""Figure builders: data in, a plotly Figure or pydeck Deck out; nothing is drawn here.

Styled for a projector: large type, the party-red palette, no chart junk.
"""

import html

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk

RED = "#C0161D"
GOLD = "#D4A017"
GREY = "#8C8C8C"
PALETTE = [RED, "#E5673E", GOLD, "#7A1F1F", "#4F6D7A", "#A3A3A3", "#2E7D32", "#6A4C93", "#C97C5D", "#3B8EA5"]
FONT = dict(family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif", size=16, color="#1F1F1F")


def _axis(title: str = "", **options) -> dict:
    return dict(title=dict(text=title), gridcolor="#EEEEEE", zeroline=False, **options)


def _figure(traces, title: str | None, height: int, *, xaxis: dict, yaxis: dict, right: int = 10,
            **layout) -> go.Figure:
    # One layout dict passed to the constructor: update_layout() parses every key path and costs
    # about six times as much, which a page rerun pays for every chart.
    return go.Figure(traces, layout=dict(
        title=dict(text=title, font=dict(size=20)) if title else None,
        font=FONT, height=height, margin=dict(l=10, r=right, t=50 if title else 10, b=10),
        plot_bgcolor="white", paper_bgcolor="white", colorway=PALETTE, separators=".,",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), hoverlabel=dict(font=dict(size=15)),
        xaxis=xaxis, yaxis=yaxis, **layout,
    ))


def bar(frame: pd.DataFrame, x: str, y: str, *, title: str | None = None, x_title: str = "", y_title: str = "",
        horizontal: bool = False, color: str = RED, highlight: pd.Series | None = None, text_format: str = ",.0f",
        value_format: str | None = None, value_range: list[float] | None = None, height: int = 380) -> go.Figure:
    """Bars of y by x; highlight (a boolean Series aligned with frame) draws those bars in gold.
    value_format and value_range set the value axis (default: plain numbers, automatic range).
    Horizontal bars leave out x_title: rotated Chinese reads badly and the labels say it."""
    colors = [GOLD if h else color for h in highlight] if highlight is not None else color
    values, labels = frame[y], frame[x]
    if labels.dtype == object:
        # plotly draws tags in labels (<a href>, <b>); names from the data are escaped to stay text.
        labels = labels.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    trace = go.Bar(
        x=values if horizontal else labels, y=labels if horizontal else values,
        orientation="h" if horizontal else "v", marker_color=colors,
        text=values, texttemplate=f"%{{text:{text_format}}}", textposition="outside", cliponaxis=False,
        hovertemplate=f"%{{{'y' if horizontal else 'x'}}}<br>{y_title or y}: %{{{'x' if horizontal else 'y'}:{text_format}}}<extra></extra>",
    )
    value_axis = _axis(y_title, tickformat=value_format or ",~r", range=value_range)
    if horizontal:
        # Room on the right for the value printed beyond the longest bar.
        return _figure(trace, title, height, xaxis=value_axis, yaxis=_axis(autorange="reversed"), right=80)
    return _figure(trace, title, height, xaxis=_axis(x_title), yaxis=value_axis)


def line(frame: pd.DataFrame, x: str, ys: dict[str, str], *, title: str | None = None, y_title: str = "",
         y_format: str | None = None, height: int = 360) -> go.Figure:
    """One line per column in ys (column -> legend label)."""
    traces = [go.Scatter(x=frame[x], y=frame[col], name=label, mode="lines+markers", line=dict(width=3))
              for col, label in ys.items()]
    return _figure(traces, title, height, xaxis=_axis(tickformat="%Y年%-m月", hoverformat="%Y年%-m月"),
                   yaxis=_axis(y_title, tickformat=y_format))


def funnel(frame: pd.DataFrame, label: str, value: str, *, title: str | None = None, height: int = 380) -> go.Figure:
    trace = go.Funnel(y=frame[label], x=frame[value], textinfo="value+percent initial",
                      marker=dict(color=[PALETTE[i % len(PALETTE)] for i in range(len(frame))]))
    return _figure(trace, title, height, xaxis=_axis(), yaxis=_axis())


def stacked_bar(frame: pd.DataFrame, x: str, stack: str, y: str, *, title: str | None = None, y_title: str = "",
                height: int = 380) -> go.Figure:
    traces = [go.Bar(x=part[x], y=part[y], name=str(name)) for name, part in frame.groupby(stack, sort=False)]
    return _figure(traces, title, height, xaxis=_axis(), yaxis=_axis(y_title, tickformat=",~r"), barmode="stack")


# -- maps ---------------------------------------------------------------------------------

def color_scale(values: pd.Series, reverse: bool = False) -> list[list[int]]:
    """Light to party red by the value's rank among the grids (reverse: red for low values), so
    one outlier does not wash out the rest; grey where missing."""
    share = values.rank(pct=True, method="average")
    out = []
    for t in share:
        if pd.isna(t):
            out.append([200, 200, 200, 160])
            continue
        t = 1 - t if reverse else t
        out.append([int(255 - (255 - 192) * t), int(235 - (235 - 22) * t), int(220 - (220 - 29) * t), 200])
    return out


def grid_map(grids: pd.DataFrame, value: str, label: str, unit: str, *, higher_is_better: bool = True,
             layers: list[pdk.Layer] = (), basemap: str | None = None, height: int = 620,
             percent: bool = False) -> pdk.Deck:
    """Grid polygons (columns polygon, grid_name, community_name, centre_lon/lat and `value`)
    coloured by value, with extra layers on top. Without a basemap it needs no tile server."""
    grids = grids.assign(
        fill_color=color_scale(grids[value], reverse=not higher_is_better),
        tip_title=grids["grid_name"], tip_place=grids["community_name"],
        tip_detail=[f"{label}:" + ("无数据" if pd.isna(v) else (f"{v:.1%}" if percent else f"{v:,.2f} {unit}"))
                    for v in grids[value]],
    )
    centre_lon = grids["centre_lon"].mean() if len(grids) else 118.10
    centre_lat = grids["centre_lat"].mean() if len(grids) else 36.96
    # Streamlit escapes the values it puts into this template, so names from the data stay text.
    tooltip_html = "<b>{tip_title}</b><br/>{tip_place}<br/>{tip_detail}"
    polygons = pdk.Layer(
        "PolygonLayer", data=grids, id="grids", get_polygon="polygon", get_fill_color="fill_color",
        get_line_color=[255, 255, 255, 255], line_width_min_pixels=1, pickable=True, auto_highlight=True,
    )
    return pdk.Deck(
        layers=[polygons, *layers],
        initial_view_state=pdk.ViewState(longitude=centre_lon, latitude=centre_lat, zoom=12.6 if len(grids) > 20 else 14,
                                          pitch=0),
        map_style=basemap, map_provider=None if basemap is None else "carto",
        tooltip={"html": tooltip_html, "style": {"fontSize": "15px", "backgroundColor": "#FFFFFF", "color": "#1F1F1F"}},
        height=height,
    )


def point_layer(points: pd.DataFrame, layer_id: str, color: list[int], radius: int = 30, *, title: str = "name",
                place: str = "community_name", detail: str = "type_label") -> pdk.Layer:
    """Points with the map's tooltip fields taken from the columns title, place and detail."""
    points = points.assign(**{k: points[c] if c in points else "" for k, c in
                              (("tip_title", title), ("tip_place", place), ("tip_detail", detail))})
    return pdk.Layer("ScatterplotLayer", data=points, id=layer_id, get_position=["lon", "lat"], get_fill_color=color,
                     get_radius=radius, radius_min_pixels=3, pickable=True, stroked=True,
                     get_line_color=[255, 255, 255], line_width_min_pixels=1)


def circle_layer(points: pd.DataFrame, layer_id: str, metres: float, color: list[int]) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", data=points, id=layer_id, get_position=["lon", "lat"], get_radius=metres,
                     get_fill_color=color, stroked=True, get_line_color=color[:3] + [110], line_width_min_pixels=1,
                     pickable=False)


def heat_layer(points: pd.DataFrame, layer_id: str) -> pdk.Layer:
    return pdk.Layer("HeatmapLayer", data=points, id=layer_id, get_position=["lon", "lat"], radius_pixels=40,
                     opacity=0.7)


