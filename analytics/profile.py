"""The county at a glance: the structural figures the county reports, read from the database."""

import datetime as dt

import pandas as pd

from . import clock
from .db import get_meta
from .period import COUNTY, Area, Scope, in_scope, place_in_scope

_FACILITIES = "SELECT count(*) FROM facilities f WHERE f.facility_type = '{kind}' AND " + place_in_scope("f.grid_id", "f.community_id")
_LEADERS = ("SELECT count(DISTINCT r.person_id) FROM person_roles r LEFT JOIN people p USING (person_id) "
            "WHERE r.role = '{role}' AND (r.until IS NULL OR r.until >= $as_of) AND "
            + in_scope("coalesce(r.grid_id, p.grid_id)"))
_TEAMS = "FROM volunteer_teams t WHERE " + place_in_scope("t.grid_id", "t.community_id")

# group, key, label, unit, query; each query may use the year's start and the as-of date, and is
# held to the area's grids.
_FIGURES = [
    ("组织体系", "communities", "社区", "个",
     "SELECT count(*) FROM communities c WHERE $all_grids OR EXISTS (SELECT 1 FROM grids g "
     "WHERE g.community_id = c.community_id AND list_contains($scope_grids, g.grid_id))"),
    ("组织体系", "grid_branches", "网格党支部", "个", "SELECT count(*) FROM grids WHERE " + in_scope("grid_id")),
    ("组织体系", "building_leaders", "红色楼长", "名", _LEADERS.format(role="building_leader")),
    ("组织体系", "unit_leaders", "红色单元长", "名", _LEADERS.format(role="unit_leader")),
    ("协商议事", "tickets_ytd", "今年以来协商议事", "单",
     "SELECT count(DISTINCT e.ticket_id) FROM ticket_events e LEFT JOIN tickets t USING (ticket_id) "
     "WHERE e.step = 'filed' AND e.occurred_at >= $year_start AND e.occurred_at < $as_of + INTERVAL 1 DAY AND "
     + in_scope("t.grid_id")),
    ("协商议事", "deliberation_halls", "红色议事厅", "处", _FACILITIES.format(kind="deliberation_hall")),
    ("协商议事", "courtyard_councils", "红色庭院议事会", "个", _FACILITIES.format(kind="courtyard_council")),
    ("志愿服务", "volunteer_teams", "志愿服务队", "支", "SELECT count(*) " + _TEAMS),
    ("志愿服务", "team_members", "志愿服务队队员", "人",
     f"SELECT count(DISTINCT person_id) FROM team_members WHERE team_id IN (SELECT t.team_id {_TEAMS})"),
    # The scenarios are the county's: every resident may use each of them.
    ("信用积分", "redemption_scenarios", "信用积分应用场景", "个", "SELECT count(*) FROM redemption_scenarios"),
    ("信用积分", "redemptions_ytd", "今年以来积分兑换", "人次",
     "SELECT count(*) FROM redemptions r LEFT JOIN people p USING (person_id) "
     "WHERE r.redeemed_at >= $year_start AND r.redeemed_at < $as_of + INTERVAL 1 DAY AND " + in_scope("p.grid_id")),
    ("服务阵地", "property_branches", "成立党支部的物业企业", "家",
     "SELECT count(*) FROM organizations WHERE org_type = 'property_company' AND has_party_branch AND "
     + in_scope("grid_id")),
    ("服务阵地", "new_employment_stations", "新就业群体服务站点", "处", _FACILITIES.format(kind="new_employment_station")),
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



def labels() -> dict[str, str]:
    """Each figure's key with its Chinese name and unit, as the county's 总览 shows it: 社区(个)."""
    return {key: f"{label}({unit})" for _, key, label, unit, _ in _FIGURES}

def county_profile(con, as_of: dt.date | None = None, scope: Scope | Area = COUNTY) -> pd.DataFrame:
    """One row per headline figure of the county, or of the places in scope: group and label
    (Chinese), key, value (int), unit.

    Counts of structure are as they stand; *_ytd figures run from 1 January of the as-of year
    to the as-of date inclusive. Within a scope, a facility or volunteer team recorded against a
    community and no grid counts for each grid of that community.
    """
    as_of = as_of or as_of_date(con)
    params = {"as_of": as_of, "year_start": dt.date(as_of.year, 1, 1), **scope.params(con)}
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
