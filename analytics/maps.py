"""What the grid map draws: grid polygons coloured by any per-grid figure of the metric registry,
the boundaries and names of subdistricts and communities, service points, ticket locations, the
service circle, and a grid's card. Every figure comes from the same metric functions as the
other pages."""

import json
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import pandas as pd
import shapely

from . import credit, geo, roads, settings, vocab
from .db import query
from .period import COUNTY, Scope, bind, in_scope, parse_period, quarter_of
from .privacy import mask_names


@dataclass(frozen=True)
class Column:
    """How one figure reads. Kept small so it can move into the column dictionary (issue 15)."""
    label: str
    unit: str
    better: bool | None  # True: higher is better; False: lower is better; None: neither
    digits: int = 0
    share: bool = False  # a 0–1 share, shown in per cent


_SHARE, _RANK = dict(unit="%", digits=1, share=True), dict(unit="名", better=False)
COLUMNS = {
    "residents": Column("居民数", "人", None), "points": Column("积分", "分", True),
    "avg_credit": Column("人均积分", "分/人", True, 2), "rank": Column("社区内名次", **_RANK),
    "prev_rank": Column("上期名次", **_RANK), "rank_change": Column("名次变化(上升为正)", "名", True),
    "tickets": Column("结果公开工单", "单", None), "median_days": Column("办结用时中位数", "天", False, 1),
    "p90_days": Column("办结用时第90百分位", "天", False, 1), "mean_days": Column("办结用时平均值", "天", False, 1),
    "steps_completed": Column("完成的办理步骤", "步", None), "on_time": Column("按时完成的步骤", "步", True),
    "on_time_share": Column("按时办结率", better=True, **_SHARE),
    "published": Column("结果公开工单", "单", None), "reworked": Column("返工工单", "单", False),
    "rework_share": Column("返工率", better=False, **_SHARE),
    "credit_rank": Column("信用名次", **_RANK), "mean_score": Column("评单均分", "分", True, 2),
    "credit_score": Column("信用得分", "分", True, 1), "on_time_score": Column("按时得分", "分", True, 1),
    "rework_score": Column("返工得分", "分", True, 1), "satisfaction_score": Column("满意得分", "分", True, 1),
    "composite": Column("综合得分", "分", True, 1),
    "active_volunteers": Column("志愿者", "人", True), "activities": Column("服务次数", "次", True),
    "hours": Column("服务时长", "小时", True, 1), "party_member_share": Column("党员占比", better=None, **_SHARE),
    "buildings": Column("楼栋", "栋", None), "households": Column("户数", "户", None),
    "buildings_covered": Column("服务圈内楼栋", "栋", True), "households_covered": Column("服务圈内户数", "户", True),
    "building_share": Column("楼栋覆盖占比", better=True, **_SHARE),
    "household_share": Column("户数覆盖占比", better=True, **_SHARE),
    "charging_piles": Column("充电桩", "个", True), "charging_sheds": Column("充电车棚", "个", True),
    "charging_facilities": Column("充电设施", "处", True), "charging_places": Column("充电车位", "个", True),
    "unknown_capacity": Column("未登记车位数的车棚", "处", False),
    "places_per_100_households": Column("每百户充电车位", "个/百户", True, 2),
    "charging_tickets": Column("停车充电工单", "单", False),
    "tickets_per_100_households": Column("每百户停车充电工单", "单/百户", False, 2),
    "gap_per_100_households": Column("充电供需差", "每百户", True, 2),
}

# The registry's per-grid metrics (one row per grid) and their numeric columns, in the order offered.
GRID_METRICS = {
    "grid-credit-ranking": ["avg_credit", "rank", "rank_change", "prev_rank", "points", "residents"],
    "grid-evaluation": ["composite", "rank", "credit_score", "on_time_score", "rework_score", "satisfaction_score",
                        "avg_credit", "credit_rank", "on_time_share", "rework_share", "mean_score"],
    "ticket-resolution": ["median_days", "p90_days", "mean_days", "tickets"],
    "on-time-by-grid": ["on_time_share", "on_time", "steps_completed"],
    "rework-by-grid": ["rework_share", "reworked", "published"],
    "service-coverage": ["household_share", "building_share", "households_covered", "buildings_covered",
                         "households", "buildings"],
    "charging-supply": ["gap_per_100_households", "places_per_100_households", "tickets_per_100_households",
                        "charging_places", "charging_tickets", "charging_facilities", "charging_piles",
                        "charging_sheds", "unknown_capacity", "households"],
    "volunteers-by-grid": ["hours", "activities", "active_volunteers", "party_member_share"],
}
# Metrics listing tickets, counted per grid (a grid without any has 0).
COUNTED = {"overdue-tickets": Column("超期工单", "单", False), "near-due-tickets": Column("临期工单", "单", False),
           "open-tickets": Column("在办工单", "单", False)}


@dataclass(frozen=True)
class Measure:
    key: str             # "metric-id:column" ("metric-id:count" for a count of rows)
    metric_id: str
    column: str
    label: str           # the metric's name and the column's, as offered
    info: Column


def measures() -> dict[str, Measure]:
    """Every figure the map can colour the grids by, keyed "metric-id:column"."""
    from . import metrics  # metrics imports this module (grid-team): looked up when called
    out = {}
    for metric_id, columns in GRID_METRICS.items():
        name = metrics.get(metric_id).name
        for column in columns:
            out[f"{metric_id}:{column}"] = Measure(f"{metric_id}:{column}", metric_id, column,
                                                   f"{name} · {COLUMNS[column].label}", COLUMNS[column])
    for metric_id, info in COUNTED.items():
        out[f"{metric_id}:count"] = Measure(f"{metric_id}:count", metric_id, "count", f"{info.label}(各网格单数)", info)
    return out


DEFAULT_MEASURE = "grid-credit-ranking:avg_credit"


def format_value(value, info: Column, unit: bool = True) -> str:
    """A figure as the map, its legend and the card write it; a dash where there is none."""
    if value is None or pd.isna(value):
        return "—"
    if info.share:
        return f"{value * 100:.{info.digits}f}%"
    return f"{value:,.{info.digits}f}" + (f" {info.unit}" if unit else "")


def grid_values(con, period, scope: Scope = COUNTY, measure: str = DEFAULT_MEASURE) -> pd.DataFrame:
    """One row per in-scope grid: grid_id, value (the measure's column of its metric for the grid;
    empty where the metric has no row for it, 0 for a count)."""
    from . import metrics  # see measures()
    m = measures()[measure]
    period = parse_period(period)
    grids = query(con, f"SELECT grid_id FROM grids WHERE {in_scope('grid_id')} ORDER BY grid_id",
                  scope.params(con))
    rows = metrics.get(m.metric_id).compute(con, period, scope)
    if m.column == "count":
        counted = rows.groupby("grid_id").size()
        grids["value"] = grids["grid_id"].map(counted).fillna(0).astype(int)
    else:
        grids["value"] = grids["grid_id"].map(rows.set_index("grid_id")[m.column]).astype(float)
    return grids


def grid_shapes(con, period, scope: Scope = COUNTY, tolerance: float = 0.00003) -> pd.DataFrame:
    """The in-scope grids with a polygon: grid_id, grid_name, community_name, polygon (simplified
    [[lon, lat], ...], WGS-84), centre_lon, centre_lat."""
    grids = query(con, f"""
        SELECT g.grid_id, g.name AS grid_name, c.name AS community_name, g.geometry_wkt
        FROM grids g JOIN communities c USING (community_id)
        WHERE g.geometry_wkt IS NOT NULL AND {in_scope("g.grid_id")} ORDER BY g.grid_id
    """, scope.params(con))
    shapes = shapely.simplify(shapely.from_wkt(grids.pop("geometry_wkt")), tolerance)
    grids["polygon"] = [_ring(s) for s in shapes]
    centres = shapely.point_on_surface(shapes)
    grids["centre_lon"], grids["centre_lat"] = shapely.get_x(centres), shapely.get_y(centres)
    return grids


def map_grids(con, period, scope: Scope = COUNTY, measure: str = DEFAULT_MEASURE) -> pd.DataFrame:
    """grid_shapes with the measure's value of each grid (grid_values): what the map colours."""
    return grid_shapes(con, period, scope).merge(grid_values(con, period, scope, measure), on="grid_id", how="left")


def _ring(shape) -> list:
    if shape.geom_type == "MultiPolygon":  # a grid drawn in parts: its largest
        shape = max(shape.geoms, key=lambda g: g.area)
    return [[round(x, 6), round(y, 6)] for x, y in shape.exterior.coords] if shape.geom_type == "Polygon" else []


def boundaries(con, period, scope: Scope = COUNTY, tolerance: float = 0.00002) -> pd.DataFrame:
    """The subdistricts and communities of the in-scope grids, to draw with their names:
    level ('subdistrict' or 'community'), id, name, paths (their outlines, [[[lon, lat], ...], ...]),
    label_lon, label_lat. A place without its own geometry is drawn as the union of its grids
    (all of them, in scope or not, so that its outline is its own)."""
    frame = query(con, f"""
        WITH shown AS (
            SELECT DISTINCT c.community_id, c.subdistrict_id FROM grids g JOIN communities c USING (community_id)
            WHERE {in_scope("g.grid_id")}
        ),
        places AS (
            SELECT 'subdistrict' AS level, s.subdistrict_id AS id, s.name, s.geometry_wkt,
                   (SELECT list(g.geometry_wkt) FROM grids g JOIN communities c USING (community_id)
                    WHERE c.subdistrict_id = s.subdistrict_id AND g.geometry_wkt IS NOT NULL) AS grid_wkts
            FROM subdistricts s WHERE s.subdistrict_id IN (SELECT subdistrict_id FROM shown)
            UNION ALL
            SELECT 'community', c.community_id, c.name, c.geometry_wkt,
                   (SELECT list(g.geometry_wkt) FROM grids g
                    WHERE g.community_id = c.community_id AND g.geometry_wkt IS NOT NULL)
            FROM communities c WHERE c.community_id IN (SELECT community_id FROM shown)
        )
        SELECT * FROM places ORDER BY level DESC, id
    """, scope.params(con))
    shapes = [shapely.from_wkt(own) if isinstance(own, str) else
              shapely.union_all(shapely.from_wkt(list(grids) if isinstance(grids, (list, np.ndarray)) else []))
              for own, grids in zip(frame.pop("geometry_wkt"), frame.pop("grid_wkts"))]
    shapes = [shapely.simplify(s, tolerance) for s in shapes]
    frame["paths"] = [_outlines(s) for s in shapes]
    labels = [shapely.point_on_surface(s) if not s.is_empty else None for s in shapes]
    frame["label_lon"] = [p.x if p is not None else np.nan for p in labels]
    frame["label_lat"] = [p.y if p is not None else np.nan for p in labels]
    return frame[[bool(p) for p in frame["paths"]]].reset_index(drop=True)


def _outlines(shape) -> list:
    rings = []
    for part in getattr(shape, "geoms", [shape]):
        if part.geom_type == "Polygon":
            rings += [[[round(x, 6), round(y, 6)] for x, y in ring.coords] for ring in (part.exterior, *part.interiors)]
    return rings


def county_outline(con) -> list:
    """The outline (WGS-84) of the county the database holds (geo.outline) as paths [[[lon, lat], ...], ...];
    none for a county whose outline is nowhere."""
    try:
        return _outlines(geo.outline_of(con))
    except ValueError:
        return []


# -- basemaps ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Basemap:
    style: str | None    # a MapLibre style (as a data: URL) or None for no tiles at all
    gcj02: bool = False  # the tiles are in GCJ-02: every layer is shifted to match
    label: str = "无底图"


_TIANDITU = "https://t{n}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}" \
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
_AMAP = "https://webrd0{n}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={{x}}&y={{y}}&z={{z}}"


def basemap(choice: str = settings.MAP_BASEMAP, tianditu_key: str | None = None,
            tile_url: str = settings.MAP_TILE_URL, tile_gcj02: bool = settings.MAP_TILE_GCJ02) -> Basemap:
    """The basemap a setting names: "none" (nothing fetched), "tianditu" (needs its key),
    "amap" or "xyz" (tile_url, a {z}/{x}/{y} template). A choice that cannot be served falls back
    to none, with a label that says why."""
    if choice == "tianditu":
        if not tianditu_key:
            return Basemap(None, label="无底图(未配置天地图密钥)")
        layers = [[_TIANDITU.format(n=n, layer=layer, key=tianditu_key) for n in range(8)] for layer in ("vec", "cva")]
        return Basemap(_raster_style(layers, "© 天地图"), label="天地图")
    if choice == "amap":
        return Basemap(_raster_style([[_AMAP.format(n=n) for n in range(1, 5)]], "© 高德地图"), gcj02=True,
                       label="高德地图")
    if choice == "xyz":
        if not tile_url:
            return Basemap(None, label="无底图(未配置瓦片地址)")
        return Basemap(_raster_style([[tile_url]], ""), gcj02=tile_gcj02, label="自定义底图")
    return Basemap(None)


def _raster_style(layers: list[list[str]], attribution: str) -> str:
    """A MapLibre style of raster tile layers, inline as a data: URL (nothing else to serve)."""
    style = {"version": 8, "sources": {}, "layers": []}
    for k, urls in enumerate(layers):
        style["sources"][f"tiles{k}"] = {"type": "raster", "tiles": urls, "tileSize": 256, "maxzoom": 18,
                                         **({"attribution": attribution} if attribution and not k else {})}
        style["layers"].append({"id": f"tiles{k}", "type": "raster", "source": f"tiles{k}"})
    return "data:application/json;charset=utf-8," + quote(json.dumps(style, ensure_ascii=False), safe="")


LAYERS = {
    "service": ("党群服务中心与红色驿站", settings.SERVICE_CIRCLE_FACILITIES),
    "charging": ("充电车棚与充电桩", settings.CHARGING_FACILITIES),
    "deliberation": ("红色议事厅与庭院议事会", ("deliberation_hall", "courtyard_council")),
    "new_employment": ("新就业群体服务站", ("new_employment_station",)),
    "care": ("网格之家与长者食堂", ("grid_home", "elderly_canteen")),
}


def facility_points(con, period, scope: Scope = COUNTY, layer: str = "service") -> pd.DataFrame:
    """The facilities of one map layer (a key of LAYERS) open by the period's last day:
    facility_type, type_label, name, community_name, lon, lat, capacity."""
    period = parse_period(period)
    types = list(LAYERS[layer][1])
    frame = query(con, f"""
        SELECT f.facility_type, f.name, c.name AS community_name, f.lon, f.lat, f.capacity
        FROM facilities f LEFT JOIN communities c USING (community_id)
        WHERE list_contains($types, f.facility_type) AND f.lon IS NOT NULL
          AND (f.opened_on IS NULL OR f.opened_on <= $last_day) AND {in_scope("f.grid_id")}
        ORDER BY f.facility_id
    """, {"types": types, "last_day": period.last_day, **scope.params(con)})
    frame.insert(1, "type_label", frame["facility_type"].map(vocab.FACILITY_TYPES))
    return frame


def ticket_points(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Where the tickets filed in the period came from: ticket_id, category_label, lon, lat (no title:
    the map's data reach the browser whole, and a title may describe a resident)."""
    period = parse_period(period)
    frame = query(con, f"""
        SELECT t.ticket_id, t.category, t.lon, t.lat
        FROM tickets t JOIN ticket_events e ON e.ticket_id = t.ticket_id AND e.step = 'filed'
        WHERE e.occurred_at >= $start AND e.occurred_at < $end AND t.lon IS NOT NULL
          AND {in_scope("t.grid_id")}
        ORDER BY t.ticket_id
    """, bind(con, period, scope))
    frame["category_label"] = frame.pop("category").map(vocab.TICKET_CATEGORIES)
    return frame


def _check_grid(con, grid_id: str, scope: Scope) -> None:
    allowed = scope.grid_ids(con)
    if allowed is not None and grid_id not in allowed:
        raise ValueError(f"网格 {grid_id} 不在您的查看范围内")


def rank_history(con, period, scope: Scope = COUNTY, grid_id: str = "", quarters: int = 8) -> pd.DataFrame:
    """A grid's rank and average credit in the `quarters` quarters up to the period's end:
    quarter (label), short (25年3季), rank, avg_credit (分/人), red_flag."""
    period = parse_period(period)
    _check_grid(con, grid_id, scope)
    q, rows = quarter_of(period.last_day), []
    for _ in range(quarters):
        ranking = credit.grid_credit_ranking(con, q, Scope(grids=(grid_id,)))
        if len(ranking):
            r = ranking.iloc[0]
            rows.append((q.label_zh, f"{q.start.year % 100}年{(q.start.month + 2) // 3}季", int(r["rank"]),
                         r["avg_credit"], bool(r["red_flag"])))
        q = q.previous()
    return pd.DataFrame(rows[::-1], columns=["quarter", "short", "rank", "avg_credit", "red_flag"])


def grid_team(con, period, scope: Scope = COUNTY, grid_id: str = "") -> pd.DataFrame:
    """Who serves the grid at the period's end (names masked): role_label, name, and the
    grid's own volunteer team with its member count."""
    period = parse_period(period)
    _check_grid(con, grid_id, scope)
    frame = query(con, """
        SELECT r.role, p.name FROM person_roles r JOIN people p USING (person_id)
        WHERE r.grid_id = $grid AND r.role IN ('grid_leader', 'grid_worker', 'cadre')
          AND (r.since IS NULL OR r.since <= $day) AND (r.until IS NULL OR r.until >= $day)
        ORDER BY list_position(['grid_leader', 'grid_worker', 'cadre'], r.role), p.person_id
    """, {"grid": grid_id, "day": period.last_day})
    frame.insert(0, "role_label", frame.pop("role").map(vocab.ROLES))
    frame["name"] = mask_names(frame["name"])
    teams = query(con, """
        SELECT '志愿服务队' AS role_label, t.name || '(' || count(m.person_id) || ' 人)' AS name
        FROM volunteer_teams t LEFT JOIN team_members m USING (team_id)
        WHERE t.grid_id = $grid GROUP BY t.team_id, t.name ORDER BY t.team_id
    """, {"grid": grid_id})
    return pd.concat([frame, teams], ignore_index=True)


def service_distance(con, period=None, scope: Scope = COUNTY) -> str:
    """How the service circle measures distance, in words for the page (the network is the
    county's: period and scope change nothing)."""
    network = roads.network_for(con)
    if network is None:
        return f"直线距离 {settings.SERVICE_CIRCLE_METRES} 米(未导入路网)"
    return (f"沿路网步行 {settings.SERVICE_CIRCLE_METRES} 米(路网 {network.source},"
            f"{network.kilometres:,.1f} 公里,{network.imported_at[:10]} 导入)")


def service_reach(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The streets within the service circle's walking distance of the in-scope party service
    centres and red stations open by the period's last day: path ([[lon, lat], [lon, lat]]).
    Empty without an imported network."""
    network = roads.network_for(con)
    if network is None:
        return pd.DataFrame({"path": []})
    points = facility_points(con, period, scope, layer="service")
    return pd.DataFrame({"path": roads.reach(network, (points["lon"].to_numpy(), points["lat"].to_numpy()),
                                             settings.SERVICE_CIRCLE_METRES)})


CARD = ["grid-credit-ranking:avg_credit", "grid-credit-ranking:rank", "grid-evaluation:composite",
        "ticket-resolution:median_days", "open-tickets:count", "overdue-tickets:count",
        "service-coverage:household_share", "charging-supply:gap_per_100_households"]


def grid_card(con, period, scope: Scope = COUNTY, grid_id: str = "") -> pd.DataFrame:
    """A grid's figures for its card, one row each: key, label, value, text (formatted with its
    unit), metric_id, better (True/False/None)."""
    _check_grid(con, grid_id, scope)
    known = measures()
    rows = []
    for key in CARD:
        m = known[key]
        # In the page's scope, as the map has it: some figures compare a grid with the others in scope.
        values = grid_values(con, period, scope, key)
        value = values.loc[values["grid_id"] == grid_id, "value"].iat[0]
        rows.append((key, m.info.label, value, format_value(value, m.info), m.metric_id, m.info.better))
    return pd.DataFrame(rows, columns=["key", "label", "value", "text", "metric_id", "better"])
