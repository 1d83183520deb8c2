"""Figure builders: data in, a plotly Figure or pydeck Deck out; nothing is drawn here.

Styled for a projector: large type, the party-red palette, no chart junk.
"""

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk

from . import geo, vocab
from .maps import format_value

RED = "#C0161D"
GOLD = "#D4A017"
GREY = "#8C8C8C"
PALETTE = [RED, "#E5673E", GOLD, "#7A1F1F", "#4F6D7A", "#A3A3A3", "#2E7D32", "#6A4C93", "#C97C5D", "#3B8EA5"]
FONT = dict(family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif", size=16, color="#1F1F1F")


def _axis(title: str = "", **options) -> dict:
    return dict(title=dict(text=title), gridcolor="#EEEEEE", zeroline=False, **options)


def _figure(traces: list[dict], title: str | None, height: int, *, xaxis: dict, yaxis: dict, right: int = 10,
            **layout) -> go.Figure:
    # Traces as dicts and one layout dict, validated once by the constructor: a go.Bar is validated
    # again when a Figure takes it, and update_layout() parses every key path (six times the cost).
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
    if labels.dtype == object or pd.api.types.is_string_dtype(labels):
        # plotly draws tags in labels (<a href>, <b>); names from the data are escaped to stay text.
        labels = labels.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    trace = dict(
        type="bar", x=values if horizontal else labels, y=labels if horizontal else values,
        orientation="h" if horizontal else "v", marker=dict(color=colors),
        text=values, texttemplate=f"%{{text:{text_format}}}", textposition="outside", cliponaxis=False,
        hovertemplate=f"%{{{'y' if horizontal else 'x'}}}<br>{y_title or y}: %{{{'x' if horizontal else 'y'}:{text_format}}}<extra></extra>",
    )
    value_axis = _axis(y_title, tickformat=value_format or ",~r", range=value_range)
    if horizontal:
        # Room on the right for the value printed beyond the longest bar.
        return _figure([trace], title, height, xaxis=value_axis, yaxis=_axis(autorange="reversed"), right=80)
    return _figure([trace], title, height, xaxis=_axis(x_title), yaxis=value_axis)


def line(frame: pd.DataFrame, x: str, ys: dict[str, str], *, title: str | None = None, y_title: str = "",
         y_format: str | None = None, height: int = 360) -> go.Figure:
    """One line per column in ys (column -> legend label)."""
    traces = [dict(type="scatter", x=frame[x], y=frame[col], name=label, mode="lines+markers", line=dict(width=3))
              for col, label in ys.items()]
    return _figure(traces, title, height, xaxis=_axis(tickformat="%Y年%-m月", hoverformat="%Y年%-m月"),
                   yaxis=_axis(y_title, tickformat=y_format))


# One colour per category, whatever the scope shows of them: each list of vocab labels takes the
# palette in its own order (a step, a credit group or a facility type keeps its colour on every page;
# 党员 is a rater kind and a credit group, and keeps the group's).
CATEGORY_COLOURS = {label: PALETTE[i % len(PALETTE)]
                    for labels in (vocab.RATER_KINDS.values(), vocab.TICKET_STEPS.values(),
                                   vocab.CREDIT_GROUPS.values(), vocab.FACILITY_TYPES.values())
                    for i, label in enumerate(labels)}


def colour(label) -> str:
    """The category's fixed colour; a label outside the vocabularies takes a grey."""
    return CATEGORY_COLOURS.get(str(label), "#A3A3A3")


def funnel(frame: pd.DataFrame, label: str, value: str, *, title: str | None = None, height: int = 380) -> go.Figure:
    trace = dict(type="funnel", y=frame[label], x=frame[value], textinfo="value+percent initial",
                 marker=dict(color=[colour(v) for v in frame[label]]))
    return _figure([trace], title, height, xaxis=_axis(), yaxis=_axis())


def stacked_bar(frame: pd.DataFrame, x: str, stack: str, y: str, *, title: str | None = None, y_title: str = "",
                height: int = 380) -> go.Figure:
    traces = [dict(type="bar", x=part[x], y=part[y], name=str(name), marker=dict(color=colour(name)))
              for name, part in frame.groupby(stack, sort=False)]
    return _figure(traces, title, height, xaxis=_axis(), yaxis=_axis(y_title, tickformat=",~r"), barmode="stack")


# -- maps ---------------------------------------------------------------------------------

# ColorBrewer's RdYlBu (colour-blind safe), worst first: the alarming red is always the worse end.
WORSE_TO_BETTER = [(215, 25, 28), (253, 174, 97), (255, 255, 191), (171, 217, 233), (44, 123, 182)]
# For a figure that is neither better nor worse when higher (households, volunteers' party share).
LOW_TO_HIGH = [(242, 240, 247), (203, 201, 226), (158, 154, 200), (117, 107, 177), (84, 39, 143)]
MISSING = (200, 200, 200)


def _TEXT(value: str) -> str:
    """A literal string for a layer property: pydeck reads a bare string as a column expression."""
    return f'"{value}"'


def map_classes(values: pd.Series, info, n: int = 5) -> tuple[pd.DataFrame, list]:
    """Up to n classes of the values by quantile, and each value's colour (None where missing).

    The classes come back as a frame, lowest values first: low, high, label (the range as the
    legend writes it, unit aside), grids (how many fall in it), color (r, g, b). `info` says how
    the figure reads (maps.Column): the worse end is always the first colour of WORSE_TO_BETTER,
    whichever way the figure runs. Whole-number figures get whole-number ranges (0, 1–2, 3–7)."""
    present = values.dropna().astype(float)
    if present.empty:
        return pd.DataFrame(columns=["low", "high", "label", "grids", "color"]), [None] * len(values)
    edges = np.quantile(present, np.linspace(0, 1, n + 1))
    whole = info.digits == 0 and not info.share and bool((present == present.round()).all())
    if whole:
        edges = np.ceil(edges)
        edges[0] = present.min()
    edges = np.unique(edges)
    k = max(len(edges) - 1, 1)
    lows = edges[:k]
    highs = np.append(edges[1:k], present.max()) if k > 1 else np.array([present.max()])
    which = [None if pd.isna(v) else int(min(np.searchsorted(edges, v, side="right") - 1, k - 1)) for v in values]
    which = [None if c is None else max(c, 0) for c in which]
    palette = LOW_TO_HIGH if info.better is None else WORSE_TO_BETTER
    picks = np.linspace(0, len(palette) - 1, k).round().astype(int) if k > 1 else [len(palette) // 2]
    colors = [palette[i] for i in picks]
    if info.better is False:
        colors = colors[::-1]
    labels = []
    for c, (low, high) in enumerate(zip(lows, highs)):
        last = c == k - 1
        if whole:
            top = high if last else high - 1
            labels.append(f"{low:,.0f}" if top <= low else f"{low:,.0f}–{top:,.0f}")
        else:
            low_text, high_text = format_value(low, info, unit=False), format_value(high, info, unit=False)
            labels.append(low_text if low_text == high_text else f"{low_text}–{high_text}")
    counts = pd.Series([c for c in which if c is not None]).value_counts()
    classes = pd.DataFrame({"low": lows, "high": highs, "label": labels,
                            "grids": [int(counts.get(c, 0)) for c in range(k)], "color": colors})
    return classes, [None if c is None else colors[c] for c in which]


def legend_html(classes: pd.DataFrame, info, title: str, missing: int) -> str:
    """The map's legend: the classes as one bar, the worse end on the left, each range written
    under its colour, then missing data; for beside the map (st.html). Only numbers and fixed
    words go in: no text from the data."""
    ordered = classes if info.better is not False else classes.iloc[::-1]
    ends = ("较低", "较高") if info.better is None else ("较差", "较好")
    cells = []
    for row in ordered.itertuples():
        r, g, b = row.color
        ink = "#FFFFFF" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#1F1F1F"
        cells.append(f'<div style="flex:1;min-width:0"><div style="background:rgb({r},{g},{b});color:{ink};'
                     f'height:30px;line-height:30px;text-align:center;font-size:15px">{row.grids} 个</div>'
                     f'<div style="text-align:center;font-size:15px;padding-top:3px;overflow-wrap:anywhere">'
                     f'{html.escape(row.label)}</div></div>')
    r, g, b = MISSING
    cells.append('<div style="flex:0 0 64px;margin-left:10px"><div style="height:30px;line-height:30px;'
                 f'text-align:center;font-size:15px;background:repeating-linear-gradient(45deg,rgb({r},{g},{b}) 0 6px,'
                 f'#FFFFFF 6px 9px)">{missing} 个</div><div style="text-align:center;font-size:15px;padding-top:3px">'
                 '无数据</div></div>')
    unit = "" if info.share else f"({html.escape(info.unit)})"
    direction = {True: "越高越好,红色为最需关注", False: "越低越好,红色为最需关注", None: "颜色越深数值越高"}[info.better]
    return (f'<div style="font-family:{FONT["family"]};color:#1F1F1F">'
            f'<div style="font-size:16px;font-weight:600;margin-bottom:4px">{html.escape(title)}{unit}'
            f'<span style="font-weight:400;font-size:15px;color:#555"> · {direction}</span></div>'
            f'<div style="display:flex;gap:2px;align-items:flex-start">{"".join(cells)}</div>'
            f'<div style="display:flex;justify-content:space-between;font-size:14px;color:#555;margin-right:74px">'
            f'<span>◀ {ends[0]}</span><span>{ends[1]} ▶</span></div></div>')


def bars_html(labels, values, *, highlight=None, text_format: str = ".2f", size: int = 24, title: str = "") -> str:
    """Horizontal bars as HTML, for a slide zoomed to the window (a plotly chart measures the zoomed
    window and overflows its place): a row per label, the bar's length in proportion to its value
    (none below zero), the value after it; highlighted bars in gold. Labels from the data are escaped."""
    values = list(values)
    marks = list(highlight) if highlight is not None else [False] * len(values)
    top = max([v for v in values if pd.notna(v)] + [0]) or 1
    rows = []
    for label, value, gold in zip(labels, values, marks):
        length = 0 if pd.isna(value) else 85 * max(0, value) / top
        text = "—" if pd.isna(value) else format(value, text_format)
        rows.append(f'<div style="text-align:right;white-space:nowrap">{html.escape(str(label))}</div>'
                    f'<div style="display:flex;align-items:center;gap:8px"><div style="flex:none;'
                    f'background:{GOLD if gold else RED};height:{round(size * 1.1)}px;width:{length:.1f}%"></div>'
                    f'<span>{text}</span></div>')
    heading = f'<div style="color:#555;margin-bottom:6px">{html.escape(title)}</div>' if title else ""
    return (f'<div style="font-family:{FONT["family"]};font-size:{size}px;line-height:1.3;color:#1F1F1F">{heading}'
            f'<div style="display:grid;grid-template-columns:max-content 1fr;column-gap:12px;row-gap:{round(size * 0.3)}px;'
            f'align-items:center">{"".join(rows)}</div></div>')


def fit_view(lons, lats, width: int, height: int, padding: int = 24) -> pdk.ViewState:
    """The centre and zoom at which the box around all the points fits a width × height map with
    padding pixels to spare (Web Mercator, deck.gl's 512-pixel world at zoom 0)."""
    lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    if not len(lons):
        return pdk.ViewState(longitude=118.10, latitude=36.96, zoom=12)

    def merc_y(lat):  # 0 at the equator, in world widths
        return np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / (2 * np.pi)
    x0, x1 = lons.min(), lons.max()
    y0, y1 = merc_y(lats.min()), merc_y(lats.max())
    span_x, span_y = max((x1 - x0) / 360, 1e-9), max(y1 - y0, 1e-9)
    zoom = np.log2(min((width - 2 * padding) / (512 * span_x), (height - 2 * padding) / (512 * span_y)))
    centre_lat = np.degrees(2 * np.arctan(np.exp((y0 + y1) / 2 * 2 * np.pi)) - np.pi / 2)
    return pdk.ViewState(longitude=float((x0 + x1) / 2), latitude=float(centre_lat), zoom=float(min(zoom, 17)))


@dataclass(frozen=True)
class Overlay:
    """A layer on top of the grids: kind 'points' (lon, lat; tooltip from title/place/detail
    columns), 'circles' (lon, lat; outlines of radius metres), 'heat' (lon, lat) or 'paths' (path)."""
    id: str
    frame: pd.DataFrame
    kind: str = "points"
    color: tuple = (31, 31, 31)
    radius: float = 30
    title: str = "name"
    place: str = "community_name"
    detail: str = "type_label"


def _shift(frame: pd.DataFrame, gcj02: bool) -> pd.DataFrame:
    """The frame's coordinates (lon/lat columns, polygon, path, paths) moved to GCJ-02 when the
    tiles are in it; every layer goes through here, so they all move together."""
    if not gcj02 or frame.empty:
        return frame

    def move(coords):
        if not len(coords):
            return coords
        if isinstance(coords[0][0], (list, tuple)):
            return [move(c) for c in coords]
        xy = np.asarray(coords, dtype=float)
        return np.column_stack(geo.wgs84_to_gcj02(xy[:, 0], xy[:, 1])).round(7).tolist()
    frame = frame.copy()
    for lon, lat in (("lon", "lat"), ("centre_lon", "centre_lat"), ("label_lon", "label_lat")):
        if lon in frame:
            frame[lon], frame[lat] = geo.wgs84_to_gcj02(frame[lon].to_numpy(), frame[lat].to_numpy())
    for column in ("polygon", "path", "paths"):
        if column in frame:
            frame[column] = [move(c) for c in frame[column]]
    return frame


def grid_map(grids: pd.DataFrame, classes: list, info, label: str, *, boundaries: pd.DataFrame,
             outline: list, overlays: list[Overlay] = (), basemap=None, selected: str | None = None,
             height: int = 390, width: int = 440) -> pdk.Deck:
    """Grid polygons (columns grid_id, polygon, grid_name, community_name, value) filled by
    their class (map_classes' colours, grey where missing), with the county outline, the
    subdistrict and community boundaries and names, the overlays, and the selected grid outlined.
    basemap (maps.Basemap): tiles behind, and every coordinate shifted when they are GCJ-02;
    None or no style draws without any tile server and fetches nothing. The initial view fits
    every grid in a map `width` pixels wide (the narrowest it is drawn) and `height` high."""
    gcj02 = bool(basemap and basemap.gcj02)
    alpha = 170 if basemap is not None and basemap.style else 225
    colors = [list(classes_color) + [alpha] if classes_color is not None else list(MISSING) + [150]
              for classes_color in classes]
    grids = _shift(grids.assign(
        fill_color=colors, tip_title=grids["grid_name"], tip_place=grids["community_name"],
        tip_detail=[f"{label}:" + ("无数据" if pd.isna(v) else format_value(v, info)) for v in grids["value"]],
    ), gcj02)
    boundaries = _shift(boundaries, gcj02)
    outline = _shift(pd.DataFrame({"path": outline}), gcj02)
    view = fit_view([p[0] for ring in grids["polygon"] for p in ring], [p[1] for ring in grids["polygon"] for p in ring],
                    width, height)
    layers = [
        pdk.Layer("PathLayer", data=outline, id="county", get_path="path", get_color=[90, 90, 90, 220],
                  get_width=2.5, width_units=_TEXT("pixels"), pickable=False),
        pdk.Layer("PolygonLayer", data=grids, id="grids", get_polygon="polygon", get_fill_color="fill_color",
                  get_line_color=[255, 255, 255, 230], line_width_min_pixels=1, pickable=True, auto_highlight=True,
                  highlight_color=[0, 0, 0, 60]),
    ]
    for level, width, color in (("community", 2, [60, 60, 60, 230]), ("subdistrict", 4, [20, 20, 20, 255])):
        part = boundaries[boundaries["level"] == level]
        paths = pd.DataFrame({"path": [ring for rings in part["paths"] for ring in rings]})
        layers.append(pdk.Layer("PathLayer", data=paths, id=f"{level}_lines", get_path="path", get_color=color,
                                get_width=width, width_units=_TEXT("pixels"), pickable=False))
    if selected is not None and (grids["grid_id"] == selected).any():
        ring = grids.loc[grids["grid_id"] == selected, "polygon"].iat[0]
        layers.append(pdk.Layer("PathLayer", data=pd.DataFrame({"path": [ring]}), id="selected", get_path="path",
                                get_color=[0, 0, 0, 255], get_width=5, width_units=_TEXT("pixels"), pickable=False))
    for overlay in overlays:
        layers.append(_overlay(overlay, gcj02))
    for level, size, weight in (("community", 15, 600), ("subdistrict", 20, 700)):
        part = boundaries[boundaries["level"] == level]
        if level == "subdistrict":  # above its communities' names
            part = part.assign(label_lat=[max(p[1] for ring in rings for p in ring) - 0.002 for rings in part["paths"]])
        layers.append(pdk.Layer(
            "TextLayer", data=part[["name", "label_lon", "label_lat"]], id=f"{level}_names",
            get_position=["label_lon", "label_lat"], get_text="name", get_size=size, size_units=_TEXT("pixels"),
            character_set=_TEXT("auto"), font_family=_TEXT(FONT["family"]), font_weight=weight, get_color=[20, 20, 20, 255],
            background=True, get_background_color=[255, 255, 255, 200], background_padding=[4, 2, 4, 2],
            pickable=False))
    return pdk.Deck(
        layers=layers, initial_view_state=view,
        # No style at all, unless tiles were chosen: a missing style makes the chart fetch its own.
        **({"map_style": basemap.style, "map_provider": "carto"} if basemap is not None and basemap.style
           else {"map_provider": None}),
        # Streamlit escapes the values it puts into this template, so names from the data stay text.
        tooltip={"html": "<b>{tip_title}</b><br/>{tip_place}<br/>{tip_detail}",
                 "style": {"fontSize": "16px", "backgroundColor": "#FFFFFF", "color": "#1F1F1F"}},
        height=height,
    )


def _overlay(overlay: Overlay, gcj02: bool) -> pdk.Layer:
    frame = _shift(overlay.frame, gcj02)
    color = list(overlay.color)
    if overlay.kind == "paths":
        return pdk.Layer("PathLayer", data=frame, id=overlay.id, get_path="path", get_color=color + [200],
                         get_width=2.5, width_units=_TEXT("pixels"), pickable=False)
    if overlay.kind == "heat":
        return pdk.Layer("HeatmapLayer", data=frame, id=overlay.id, get_position=["lon", "lat"], radius_pixels=40,
                         opacity=0.7)
    if overlay.kind == "circles":
        return pdk.Layer("ScatterplotLayer", data=frame, id=overlay.id, get_position=["lon", "lat"],
                         get_radius=overlay.radius, filled=False, stroked=True, get_line_color=color + [200],
                         line_width_min_pixels=1.5, pickable=False)
    frame = frame.assign(**{k: frame[c] if c in frame else "" for k, c in
                            (("tip_title", overlay.title), ("tip_place", overlay.place), ("tip_detail", overlay.detail))})
    return pdk.Layer("ScatterplotLayer", data=frame, id=overlay.id, get_position=["lon", "lat"],
                     get_fill_color=color + [235], get_radius=overlay.radius, radius_min_pixels=4, pickable=True,
                     stroked=True, get_line_color=[255, 255, 255], line_width_min_pixels=1.5)


def rank_line(history: pd.DataFrame, *, height: int = 240) -> go.Figure:
    """A grid's rank by quarter (columns quarter, short, rank, red_flag) as a line where up is better:
    rank 1 at the top; red-flag quarters marked in gold."""
    trace = dict(
        type="scatter", x=history["short"], y=history["rank"], customdata=history["quarter"], mode="lines+markers+text", line=dict(color=RED, width=3),
        marker=dict(size=[16 if f else 9 for f in history["red_flag"]],
                    color=[GOLD if f else RED for f in history["red_flag"]],
                    symbol=["star" if f else "circle" for f in history["red_flag"]]),
        text=history["rank"], textposition="top center", cliponaxis=False,
        hovertemplate="%{customdata}<br>名次:第 %{y} 名<extra></extra>",
    )
    worst = int(history["rank"].max()) if len(history) else 1
    return _figure([trace], None, height, xaxis=_axis(tickangle=-40, tickfont=dict(size=13)),
                   yaxis=_axis("社区内名次", autorange=False, range=[worst + 0.7, 0.3], dtick=1))


def figures_html(card: pd.DataFrame, definitions: list[str]) -> str:
    """A card's figures (columns label, text) two to a row, each with its definition on hover;
    for a narrow column beside the map (st.html). Text from the data is escaped."""
    cells = "".join(
        f'<div title="{html.escape(d)}" style="border:1px solid #E6E0DE;border-radius:8px;padding:6px 10px">'
        f'<div style="font-size:14px;color:#555">{html.escape(row.label)}</div>'
        f'<div style="font-size:22px;font-weight:600;white-space:nowrap">{html.escape(row.text)}</div></div>'
        for row, d in zip(card.itertuples(), definitions))
    return (f'<div style="font-family:{FONT["family"]};color:#1F1F1F;display:grid;'
            f'grid-template-columns:1fr 1fr;gap:6px">{cells}</div>')
