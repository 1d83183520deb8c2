"""Service positions (服务进网格): facilities, the 10-minute service circle, charging supply,
property-service evaluations (三评两公示) and micro-wishes (微心愿).

A facility counts for a period when it opened on or before the period's last day (an unknown
opening date counts as open). A facility is in scope when its grid is; one recorded without a
grid is in scope when any grid of its community is.
"""


import numpy as np
import pandas as pd

from . import roads, settings, vocab
from .db import query
from .geo import EARTH_RADIUS_METRES
from .period import COUNTY, bind, community_in_scope, in_scope, parse_period, place_in_scope

# Tickets about e-bike parking and charging: the demand beside the charging supply.
CHARGING_TICKET_CATEGORY = "parking_charging"


_OPEN = "(f.opened_on IS NULL OR f.opened_on <= $last_day)"

# Great-circle distance in metres between (b.lat, b.lon) and (f.lat, f.lon), by haversine.
_HAVERSINE = """2 * $radius * asin(least(1, sqrt(
        pow(sin(radians(f.lat - b.lat) / 2), 2)
        + cos(radians(b.lat)) * cos(radians(f.lat)) * pow(sin(radians(f.lon - b.lon) / 2), 2))))"""

# The service circle's nearest facility per in-scope building, by one of two definitions.
# Straight line: the great-circle distance to the nearest facility open by the period's last day,
# wherever that facility is (null without coordinates or facilities).
_STRAIGHT = f"""
    circle AS (
        SELECT f.lat, f.lon FROM facilities f
        WHERE list_contains($circle_types, f.facility_type) AND {_OPEN}
          AND f.lat IS NOT NULL AND f.lon IS NOT NULL
    ),
    nearest AS (
        SELECT b.building_id, min({_HAVERSINE}) AS nearest_metres
        FROM buildings b, circle f
        WHERE b.lat IS NOT NULL AND b.lon IS NOT NULL AND {in_scope("b.grid_id")}
        GROUP BY b.building_id
    )"""
# Walking: distances worked out along the imported road network (roads.nearest_walk), passed in.
_WALKING = """
    nearest AS (
        SELECT unnest($walk_buildings::VARCHAR[]) AS building_id, unnest($walk_metres::DOUBLE[]) AS nearest_metres
    )"""
_BUILDING = f"""
    building AS (
        SELECT b.building_id, b.name AS building_name, b.grid_id, g.name AS grid_name,
               g.community_id, c.name AS community_name, coalesce(b.households, 0) AS households,
               n.nearest_metres, coalesce(n.nearest_metres <= $metres, false) AS covered
        FROM buildings b
        JOIN grids g ON g.grid_id = b.grid_id
        LEFT JOIN communities c ON c.community_id = g.community_id
        LEFT JOIN nearest n ON n.building_id = b.building_id
        WHERE {in_scope("b.grid_id")}
    )
"""
_NEAREST = {False: "WITH" + _STRAIGHT + "," + _BUILDING, True: "WITH" + _WALKING + "," + _BUILDING}


def _nearest(con, period, scope, metres, facility_types, network) -> tuple[str, dict]:
    """The WITH clause ending in `building` (one row per in-scope building: ..., nearest_metres,
    covered) and its parameters; walking along `network` when there is one."""
    if network is roads.IMPORTED:
        network = roads.network_for(con)
    params = {**bind(con, period, scope), "last_day": period.last_day, "metres": float(metres),
              "radius": EARTH_RADIUS_METRES, "circle_types": list(facility_types)}
    if network is None:
        return _NEAREST[False], params
    buildings = query(con, f"""
        SELECT b.building_id, b.lon, b.lat FROM buildings b
        WHERE b.lat IS NOT NULL AND b.lon IS NOT NULL AND {in_scope("b.grid_id")} ORDER BY 1
    """, bind(con, period, scope))
    circle = query(con, f"""
        SELECT f.lon, f.lat FROM facilities f
        WHERE list_contains($circle_types, f.facility_type) AND {_OPEN} AND f.lat IS NOT NULL AND f.lon IS NOT NULL
    """, {"circle_types": list(facility_types), "last_day": period.last_day})
    walked = roads.nearest_walk(network, (buildings["lon"], buildings["lat"]), (circle["lon"], circle["lat"]))
    reached = np.isfinite(walked)
    return _NEAREST[True], {**params, "walk_buildings": buildings["building_id"][reached].tolist(),
                            "walk_metres": walked[reached].tolist()}


def facility_counts(con, period, scope=COUNTY) -> pd.DataFrame:
    """Facilities open by the period's last day, per community and facility type.

    - community_id, community_name
    - facility_type: the code; type_label: its Chinese name (vocab.FACILITY_TYPES)
    - facilities: how many (处)
    - capacity: the sum of their recorded capacities (seats, charging places …; 0 when none)

    Every in-scope community has a row for every type of the vocabulary (zeros included), in
    the order of community ids and of the vocabulary; a facility's community is its grid's.
    Facilities of a type outside the vocabulary (or none) get rows of their own after those.
    """
    period = parse_period(period)
    sql = f"""
        WITH counted AS (
            SELECT coalesce(g.community_id, f.community_id) AS community_id, f.facility_type,
                   count(*) AS facilities, coalesce(sum(f.capacity), 0) AS capacity
            FROM facilities f LEFT JOIN grids g ON g.grid_id = f.grid_id
            WHERE {_OPEN} AND {place_in_scope("f.grid_id", "f.community_id")}
            GROUP BY ALL
        ),
        types AS (
            SELECT unnest($type_codes) AS facility_type, unnest($type_labels) AS type_label,
                   generate_subscripts($type_codes, 1) AS sort
        ),
        cells AS (
            SELECT c.community_id, c.name AS community_name, t.facility_type, t.type_label, t.sort
            FROM communities c, types t
            WHERE {community_in_scope("c.community_id")}
        )
        SELECT coalesce(x.community_id, n.community_id) AS community_id,
               coalesce(x.community_name, (SELECT name FROM communities WHERE community_id = n.community_id))
                   AS community_name,
               coalesce(x.facility_type, n.facility_type) AS facility_type,
               coalesce(x.type_label, n.facility_type, $unknown) AS type_label,
               coalesce(n.facilities, 0) AS facilities, coalesce(n.capacity, 0)::BIGINT AS capacity
        FROM cells x FULL JOIN counted n ON n.community_id = x.community_id AND n.facility_type = x.facility_type
        ORDER BY 1 NULLS LAST, x.sort NULLS LAST, 3
    """
    params = {**bind(con, period, scope), "last_day": period.last_day, "type_codes": list(vocab.FACILITY_TYPES),
              "type_labels": list(vocab.FACILITY_TYPES.values()), "unknown": "（未填写）"}
    return query(con, sql, params)


def service_coverage(con, period, scope=COUNTY, metres: float = settings.SERVICE_CIRCLE_METRES,
                     facility_types=settings.SERVICE_CIRCLE_FACILITIES, network=roads.IMPORTED) -> pd.DataFrame:
    """The 10-minute party-mass service circle (10分钟党群服务圈), per in-scope grid.

    A building is covered when a facility of `facility_types` (party service centres and red
    stations) open by the period's last day lies within `metres` of it: walking along `network`
    (roads.nearest_walk; by default the network imported for the database) when there is one,
    else the great-circle distance (haversine, earth radius 6,371,008.8 m). The facility may be
    in any grid or community. A building without coordinates, or that the network does not
    connect to any such facility, is not covered.

    - grid_id, grid_name, community_id, community_name
    - buildings: buildings in the grid (栋); households: their households (户, from buildings)
    - buildings_covered, households_covered: of those, the covered ones
    - building_share, household_share: covered / all (0–1; empty for a grid without buildings)

    Every in-scope grid has a row, in the order of grid ids.
    """
    period = parse_period(period)
    nearest, params = _nearest(con, period, scope, metres, facility_types, network)
    sql = nearest + f"""
        , per_grid AS (
            SELECT grid_id, count(*) AS buildings, sum(households) AS households,
                   count(*) FILTER (covered) AS buildings_covered,
                   coalesce(sum(households) FILTER (covered), 0) AS households_covered
            FROM building GROUP BY grid_id
        )
        SELECT g.grid_id, g.name AS grid_name, g.community_id, c.name AS community_name,
               coalesce(p.buildings, 0) AS buildings, coalesce(p.households, 0)::BIGINT AS households,
               coalesce(p.buildings_covered, 0) AS buildings_covered,
               coalesce(p.households_covered, 0)::BIGINT AS households_covered,
               p.buildings_covered / nullif(p.buildings, 0) AS building_share,
               p.households_covered / nullif(p.households, 0) AS household_share
        FROM grids g
        LEFT JOIN communities c ON c.community_id = g.community_id
        LEFT JOIN per_grid p ON p.grid_id = g.grid_id
        WHERE {in_scope("g.grid_id")}
        ORDER BY g.grid_id
    """
    return query(con, sql, params)


def uncovered_buildings(con, period, scope=COUNTY, metres: float = settings.SERVICE_CIRCLE_METRES,
                        facility_types=settings.SERVICE_CIRCLE_FACILITIES, network=roads.IMPORTED) -> pd.DataFrame:
    """The in-scope buildings outside the service circle (as in service_coverage).

    - building_id, building_name, grid_id, grid_name, community_id, community_name
    - households: the building's households (户)
    - nearest_metres: distance (walking or straight, as in service_coverage) to the nearest
      facility of `facility_types` open by the period's last day (米; empty when there is none,
      none can be reached, or the building has no coordinates)

    Ordered by households, most first, then building id.
    """
    period = parse_period(period)
    nearest, params = _nearest(con, period, scope, metres, facility_types, network)
    sql = nearest + """
        SELECT building_id, building_name, grid_id, grid_name, community_id, community_name,
               households, nearest_metres
        FROM building WHERE NOT covered
        ORDER BY households DESC, building_id
    """
    return query(con, sql, params)


def charging_supply(con, period, scope=COUNTY, facility_types=settings.CHARGING_FACILITIES,
                    ticket_category: str = CHARGING_TICKET_CATEGORY) -> pd.DataFrame:
    """E-bike charging supply against demand, per in-scope grid, counted in charging places.

    - grid_id, grid_name, community_id, community_name
    - households: the grid's households (户, grids.households)
    - charging_piles, charging_sheds: charging piles and charging sheds in the grid open by the
      period's last day (个)
    - charging_facilities: facilities of `facility_types` (by default piles and sheds) open then
    - charging_places: their charging places (个): a pile's capacity or 1 when not recorded, any
      other facility's capacity (a shed holds 20–60); 0 for one without a recorded capacity
    - unknown_capacity: facilities other than piles without a recorded capacity, so not counted (个)
    - places_per_100_households: charging_places / households × 100 (empty without households)
    - charging_tickets: tickets of `ticket_category` in the grid filed in the period (件)
    - tickets_per_100_households: charging_tickets / households × 100 (empty without households)
    - gap_per_100_households: places_per_100_households − tickets_per_100_households, i.e.
      (places − tickets) / households × 100: below 0 when the grid's residents filed more
      charging and parking tickets in the period than the grid has charging places
    - short_of_supply: gap_per_100_households < 0 (false without households)

    Every in-scope grid has a row, in the order of grid ids.
    """
    period = parse_period(period)
    sql = f"""
        WITH supply AS (
            SELECT f.grid_id, count(*) FILTER (f.facility_type = 'charging_pile') AS charging_piles,
                   count(*) FILTER (f.facility_type = 'charging_shed') AS charging_sheds,
                   count(*) AS charging_facilities,
                   sum(CASE WHEN f.facility_type = 'charging_pile' THEN coalesce(f.capacity, 1)
                            ELSE coalesce(f.capacity, 0) END) AS charging_places,
                   count(*) FILTER (f.facility_type <> 'charging_pile' AND f.capacity IS NULL) AS unknown_capacity
            FROM facilities f
            WHERE {_OPEN} AND f.grid_id IS NOT NULL AND list_contains($charging_types, f.facility_type)
            GROUP BY f.grid_id
        ),
        demand AS (
            SELECT t.grid_id, count(DISTINCT t.ticket_id) AS charging_tickets
            FROM tickets t JOIN ticket_events e ON e.ticket_id = t.ticket_id
            WHERE t.category = $ticket_category AND e.step = 'filed'
              AND e.occurred_at >= $start AND e.occurred_at < $end
            GROUP BY t.grid_id
        ),
        per_grid AS (
            SELECT g.grid_id, g.name AS grid_name, g.community_id, c.name AS community_name,
                   g.households, coalesce(s.charging_piles, 0) AS charging_piles,
                   coalesce(s.charging_sheds, 0) AS charging_sheds,
                   coalesce(s.charging_facilities, 0) AS charging_facilities,
                   coalesce(s.charging_places, 0)::BIGINT AS charging_places,
                   coalesce(s.unknown_capacity, 0) AS unknown_capacity,
                   coalesce(d.charging_tickets, 0) AS charging_tickets
            FROM grids g
            LEFT JOIN communities c ON c.community_id = g.community_id
            LEFT JOIN supply s ON s.grid_id = g.grid_id
            LEFT JOIN demand d ON d.grid_id = g.grid_id
            WHERE {in_scope("g.grid_id")}
        ),
        final AS (
            SELECT grid_id, grid_name, community_id, community_name, households, charging_piles, charging_sheds,
                   charging_facilities, charging_places, unknown_capacity,
                   charging_places / nullif(households, 0) * 100 AS places_per_100_households,
                   charging_tickets, charging_tickets / nullif(households, 0) * 100 AS tickets_per_100_households,
                   (charging_places - charging_tickets) / nullif(households, 0) * 100 AS gap_per_100_households
            FROM per_grid
        )
        SELECT *, coalesce(gap_per_100_households < 0, false) AS short_of_supply FROM final ORDER BY grid_id
    """
    params = {**bind(con, period, scope), "last_day": period.last_day, "charging_types": list(facility_types),
              "ticket_category": ticket_category}
    return query(con, sql, params)


def _quarters(period) -> list[str]:
    """The quarters overlapping the period, as 'YYYYQn'."""
    labels = []
    for month in period.months():
        label = f"{month.start.year}Q{(month.start.month - 1) // 3 + 1}"
        if label not in labels:
            labels.append(label)
    return labels


def property_scores(con, period, scope=COUNTY) -> pd.DataFrame:
    """三评两公示: the evaluations of each property company, per quarter overlapping the period.

    - org_id, company_name, has_party_branch (bool), community_id, community_name
    - quarter: 'YYYYQn'
    - residents_score, community_score, subdistrict_score: the evaluations by residents, the
      community and the subdistrict (0–100 分; empty when not given)
    - evaluations: how many of the three were given
    - mean_score: the mean of the given ones (分; empty when none)

    One row per in-scope property company (organizations of type property_company whose grid
    is in scope) and quarter, evaluated or not, ordered by org_id and quarter.
    """
    period = parse_period(period)
    sql = f"""
        WITH scores AS (
            SELECT org_id, quarter,
                   max(score) FILTER (evaluator = 'residents')::DOUBLE AS residents_score,
                   max(score) FILTER (evaluator = 'community')::DOUBLE AS community_score,
                   max(score) FILTER (evaluator = 'subdistrict')::DOUBLE AS subdistrict_score
            FROM property_evaluations
            WHERE list_contains($quarters, quarter) AND list_contains($evaluators, evaluator)
            GROUP BY ALL
        ),
        quarters AS (SELECT unnest($quarters) AS quarter)
        SELECT o.org_id, o.name AS company_name, o.has_party_branch, g.community_id,
               c.name AS community_name, q.quarter,
               s.residents_score, s.community_score, s.subdistrict_score,
               (s.residents_score IS NOT NULL)::INTEGER + (s.community_score IS NOT NULL)::INTEGER
                   + (s.subdistrict_score IS NOT NULL)::INTEGER AS evaluations,
               list_avg([s.residents_score, s.community_score, s.subdistrict_score]) AS mean_score
        FROM organizations o
        CROSS JOIN quarters q
        LEFT JOIN grids g ON g.grid_id = o.grid_id
        LEFT JOIN communities c ON c.community_id = g.community_id
        LEFT JOIN scores s ON s.org_id = o.org_id AND s.quarter = q.quarter
        WHERE o.org_type = 'property_company' AND {in_scope("o.grid_id")}
        ORDER BY o.org_id, q.quarter
    """
    params = {**bind(con, period, scope), "last_day": period.last_day, "quarters": _quarters(period),
              "evaluators": list(vocab.PROPERTY_EVALUATORS)}
    return query(con, sql, params)


def micro_wish_summary(con, period, scope=COUNTY) -> pd.DataFrame:
    """微心愿 per in-scope community (a wish belongs to its grid's community).

    - community_id, community_name
    - filed: wishes filed in the period (个)
    - fulfilled: of those, the ones fulfilled by now (at any date, also after the period)
    - fulfilled_share: fulfilled / filed (0–1; empty when none was filed)
    - median_days_to_fulfil: median of fulfilled_at − filed_at over those fulfilled (天, with
      fractions; empty when none)
    - open_now: wishes filed before the period's end and not fulfilled by then, i.e. the
      backlog at the end of the period (个)

    Every in-scope community has a row (zeros included), in the order of community ids; only
    the wishes of in-scope grids are counted.
    """
    period = parse_period(period)
    sql = f"""
        WITH wishes AS (
            SELECT g.community_id, w.filed_at, w.fulfilled_at,
                   w.filed_at >= $start AND w.filed_at < $end AS in_period,
                   epoch(w.fulfilled_at - w.filed_at) / 86400 AS days
            FROM micro_wishes w JOIN grids g ON g.grid_id = w.grid_id
            WHERE w.filed_at < $end AND {in_scope("w.grid_id")}
        ),
        per_community AS (
            SELECT community_id, count(*) FILTER (in_period) AS filed,
                   count(*) FILTER (in_period AND fulfilled_at IS NOT NULL) AS fulfilled,
                   quantile_cont(days, 0.5) FILTER (in_period) AS median_days_to_fulfil,
                   count(*) FILTER (fulfilled_at IS NULL OR fulfilled_at >= $end) AS open_now
            FROM wishes GROUP BY community_id
        )
        SELECT c.community_id, c.name AS community_name, coalesce(p.filed, 0) AS filed,
               coalesce(p.fulfilled, 0) AS fulfilled, p.fulfilled / nullif(p.filed, 0) AS fulfilled_share,
               p.median_days_to_fulfil, coalesce(p.open_now, 0) AS open_now
        FROM communities c LEFT JOIN per_community p ON p.community_id = c.community_id
        WHERE {community_in_scope("c.community_id")}
        ORDER BY c.community_id
    """
    return query(con, sql, {**bind(con, period, scope), "last_day": period.last_day})
