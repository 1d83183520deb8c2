"""What the grid map draws: grid polygons with their figures, service points, ticket locations,
and a grid's card. The figures come from the same metric functions as the other pages."""

import pandas as pd
import shapely

from . import credit, facilities, tickets, vocab, workdays
from .db import query
from .period import COUNTY, IN_SCOPE, Scope, bind, parse_period, quarter_of
from .privacy import mask_names

# measure key -> (Chinese label, unit, metric id, higher is better)
MEASURES = {
    "avg_credit": ("人均信用积分", "分", "grid-credit-ranking", True),
    "rank": ("社区内名次", "名", "grid-credit-ranking", False),
    "median_days": ("办结用时中位数", "天", "ticket-resolution", False),
    "overdue": ("超期工单", "单", "overdue-tickets", False),
    "coverage": ("服务圈覆盖户数占比", "%", "service-coverage", True),
}

LAYERS = {
    "service": ("党群服务中心与红色驿站", ("party_service_center", "red_station")),
    "charging": ("充电车棚与充电桩", ("charging_shed", "charging_pile")),
    "deliberation": ("红色议事厅与庭院议事会", ("deliberation_hall", "courtyard_council")),
    "new_employment": ("新就业群体服务站", ("new_employment_station",)),
    "care": ("网格之家与长者食堂", ("grid_home", "elderly_canteen")),
}


def grid_measures(con, period, scope: Scope = COUNTY, tolerance: float = 0.00003) -> pd.DataFrame:
    """One row per grid in scope: grid_id, grid_name, community_name, polygon (simplified
    [[lon, lat], ...]), centre_lon, centre_lat, residents, avg_credit (分/人), rank, tickets
    (published in the period), median_days (天), overdue (tickets overdue at the period end),
    coverage (share of households in the 10-minute circle, 0-1)."""
    period = parse_period(period)
    grids = query(con, f"""
        SELECT g.grid_id, g.name AS grid_name, c.name AS community_name, g.geometry_wkt
        FROM grids g JOIN communities c USING (community_id)
        WHERE g.geometry_wkt IS NOT NULL AND {IN_SCOPE.format(col="g.grid_id")} ORDER BY g.grid_id
    """, scope.params(con))
    shapes = shapely.simplify(shapely.from_wkt(grids.pop("geometry_wkt")), tolerance)
    grids["polygon"] = [[[round(x, 6), round(y, 6)] for x, y in s.exterior.coords] if s.geom_type == "Polygon"
                        else [] for s in shapes]
    centres = shapely.centroid(shapes)
    grids["centre_lon"], grids["centre_lat"] = shapely.get_x(centres), shapely.get_y(centres)
    ranking = credit.grid_credit_ranking(con, period, scope)[["grid_id", "residents", "avg_credit", "rank"]]
    resolution = tickets.ticket_resolution(con, period, scope, by="grid")[["grid_id", "tickets", "median_days"]]
    overdue = workdays.overdue_tickets(con, period, scope).groupby("grid_id").size().rename("overdue")
    coverage = facilities.service_coverage(con, period, scope)[["grid_id", "household_share"]]
    out = (grids.merge(ranking, on="grid_id", how="left").merge(resolution, on="grid_id", how="left")
           .merge(overdue, left_on="grid_id", right_index=True, how="left")
           .merge(coverage.rename(columns={"household_share": "coverage"}), on="grid_id", how="left"))
    out["tickets"] = out["tickets"].fillna(0).astype(int)
    out["overdue"] = out["overdue"].fillna(0).astype(int)
    return out


def facility_points(con, period, scope: Scope = COUNTY, layer: str = "service") -> pd.DataFrame:
    """The facilities of one map layer (a key of LAYERS) open by the period's last day:
    facility_type, type_label, name, community_name, lon, lat, capacity."""
    period = parse_period(period)
    types = list(LAYERS[layer][1])
    frame = query(con, f"""
        SELECT f.facility_type, f.name, c.name AS community_name, f.lon, f.lat, f.capacity
        FROM facilities f LEFT JOIN communities c USING (community_id)
        WHERE list_contains($types, f.facility_type) AND f.lon IS NOT NULL
          AND (f.opened_on IS NULL OR f.opened_on <= $last_day) AND {IN_SCOPE.format(col="f.grid_id")}
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
          AND {IN_SCOPE.format(col="t.grid_id")}
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
    quarter (label), rank, avg_credit (分/人), red_flag."""
    period = parse_period(period)
    _check_grid(con, grid_id, scope)
    q, rows = quarter_of(period.last_day), []
    for _ in range(quarters):
        ranking = credit.grid_credit_ranking(con, q, Scope(grids=(grid_id,)))
        if len(ranking):
            r = ranking.iloc[0]
            rows.append((q.label_zh, int(r["rank"]), r["avg_credit"], bool(r["red_flag"])))
        q = q.previous()
    return pd.DataFrame(rows[::-1], columns=["quarter", "rank", "avg_credit", "red_flag"])


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
