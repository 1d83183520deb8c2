"""The county at a glance: the structural figures the county reports, read from the database."""

import datetime as dt

import pandas as pd

from . import clock
from .db import get_meta

# group, key, label, unit, query; each query may use the year's start and the as-of date.
_FIGURES = [
    ("组织体系", "communities", "社区", "个", "SELECT count(*) FROM communities"),
    ("组织体系", "grid_branches", "网格党支部", "个", "SELECT count(*) FROM grids"),
    ("组织体系", "building_leaders", "红色楼长", "名",
     "SELECT count(DISTINCT person_id) FROM person_roles WHERE role = 'building_leader' AND (until IS NULL OR until >= $as_of)"),
    ("组织体系", "unit_leaders", "红色单元长", "名",
     "SELECT count(DISTINCT person_id) FROM person_roles WHERE role = 'unit_leader' AND (until IS NULL OR until >= $as_of)"),
    ("协商议事", "tickets_ytd", "今年以来协商议事", "单",
     "SELECT count(DISTINCT ticket_id) FROM ticket_events WHERE step = 'filed' AND occurred_at >= $year_start "
     "AND occurred_at < $as_of + INTERVAL 1 DAY"),
    ("协商议事", "deliberation_halls", "红色议事厅", "处", "SELECT count(*) FROM facilities WHERE facility_type = 'deliberation_hall'"),
    ("协商议事", "courtyard_councils", "红色庭院议事会", "个", "SELECT count(*) FROM facilities WHERE facility_type = 'courtyard_council'"),
    ("志愿服务", "volunteer_teams", "志愿服务队", "支", "SELECT count(*) FROM volunteer_teams"),
    ("志愿服务", "team_members", "志愿服务队队员", "人", "SELECT count(DISTINCT person_id) FROM team_members"),
    ("信用积分", "redemption_scenarios", "信用积分应用场景", "个", "SELECT count(*) FROM redemption_scenarios"),
    ("信用积分", "redemptions_ytd", "今年以来积分兑换", "人次",
     "SELECT count(*) FROM redemptions WHERE redeemed_at >= $year_start AND redeemed_at < $as_of + INTERVAL 1 DAY"),
    ("服务阵地", "property_branches", "成立党支部的物业企业", "家",
     "SELECT count(*) FROM organizations WHERE org_type = 'property_company' AND has_party_branch"),
    ("服务阵地", "new_employment_stations", "新就业群体服务站点", "处",
     "SELECT count(*) FROM facilities WHERE facility_type = 'new_employment_station'"),
]


def as_of_date(con) -> dt.date:
    """The date the data run to: meta.as_of, or the newest ticket or ledger event."""
    value = get_meta(con, "as_of")
    if value:
        return dt.date.fromisoformat(value)
    newest = con.execute(
        "SELECT greatest((SELECT max(occurred_at) FROM ticket_events), (SELECT max(occurred_at) FROM credit_events))"
    ).fetchone()[0]
    return newest.date() if newest else clock.today()


def county_profile(con, as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per headline figure: group and label (Chinese), key, value (int), unit.

    Counts of structure are as they stand; *_ytd figures run from 1 January of the as-of year
    to the as-of date inclusive.
    """
    as_of = as_of or as_of_date(con)
    params = {"as_of": as_of, "year_start": dt.date(as_of.year, 1, 1)}
    rows = []
    for group, key, label, unit, sql in _FIGURES:
        wanted = {k: v for k, v in params.items() if f"${k}" in sql}
        rows.append((group, key, label, con.execute(sql, wanted).fetchone()[0], unit))
    return pd.DataFrame(rows, columns=["group", "key", "label", "value", "unit"])


def community_summary(con) -> pd.DataFrame:
    """One row per community: subdistrict, community, grids, buildings, households (户),
    residents (registered people, 人) and party members (人), in the order of their ids."""
    return con.execute("""
        WITH per_grid AS (
            SELECT g.grid_id, g.community_id, g.households,
                   (SELECT count(*) FROM buildings b WHERE b.grid_id = g.grid_id) AS buildings
            FROM grids g
        ),
        per_person AS (
            SELECT g.community_id, count(*) AS residents, count(*) FILTER (p.is_party_member) AS party_members
            FROM people p JOIN grids g USING (grid_id) GROUP BY 1
        )
        SELECT s.name AS subdistrict, c.name AS community, count(pg.grid_id) AS grids,
               sum(pg.buildings)::BIGINT AS buildings, sum(pg.households)::BIGINT AS households,
               coalesce(any_value(pp.residents), 0) AS residents,
               coalesce(any_value(pp.party_members), 0) AS party_members
        FROM communities c
        JOIN subdistricts s USING (subdistrict_id)
        LEFT JOIN per_grid pg USING (community_id)
        LEFT JOIN per_person pp USING (community_id)
        GROUP BY c.community_id, s.name, c.name
        ORDER BY c.community_id
    """).df()


def data_span(con) -> tuple[dt.date, dt.date]:
    """(first day with a ticket event, the as-of date): the dates a period may be chosen from."""
    first = con.execute("SELECT min(occurred_at) FROM ticket_events").fetchone()[0]
    as_of = as_of_date(con)
    return (first.date() if first else as_of), as_of


def hierarchy(con) -> pd.DataFrame:
    """subdistrict_id, subdistrict, community_id, community, grid_id, grid: every grid with its
    parents, in id order (the filters' cascade)."""
    return con.execute("""
        SELECT s.subdistrict_id, s.name AS subdistrict, c.community_id, c.name AS community, g.grid_id, g.name AS grid
        FROM grids g JOIN communities c USING (community_id) JOIN subdistricts s USING (subdistrict_id)
        ORDER BY s.subdistrict_id, c.community_id, g.grid_id
    """).df()
