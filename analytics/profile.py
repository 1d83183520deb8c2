"""The county at a glance: the structural figures the county reports, read from the database."""

import datetime as dt

import pandas as pd

from .db import get_meta

# key, label, unit, query; each query takes the year's start and the as-of date.
_FIGURES = [
    ("communities", "社区", "个", "SELECT count(*) FROM communities"),
    ("grid_branches", "网格党支部", "个", "SELECT count(*) FROM grids"),
    ("building_leaders", "红色楼长", "名",
     "SELECT count(DISTINCT person_id) FROM person_roles WHERE role = 'building_leader' AND (until IS NULL OR until >= $as_of)"),
    ("unit_leaders", "红色单元长", "名",
     "SELECT count(DISTINCT person_id) FROM person_roles WHERE role = 'unit_leader' AND (until IS NULL OR until >= $as_of)"),
    ("volunteer_teams", "志愿服务队", "支", "SELECT count(*) FROM volunteer_teams"),
    ("team_members", "志愿服务队队员", "人", "SELECT count(DISTINCT person_id) FROM team_members"),
    ("tickets_ytd", "今年以来协商议事", "单",
     "SELECT count(DISTINCT ticket_id) FROM ticket_events WHERE step = 'filed' AND occurred_at >= $year_start "
     "AND occurred_at < $as_of + INTERVAL 1 DAY"),
    ("deliberation_halls", "红色议事厅", "处", "SELECT count(*) FROM facilities WHERE facility_type = 'deliberation_hall'"),
    ("courtyard_councils", "红色庭院议事会", "个", "SELECT count(*) FROM facilities WHERE facility_type = 'courtyard_council'"),
    ("property_branches", "成立党支部的物业企业", "家",
     "SELECT count(*) FROM organizations WHERE org_type = 'property_company' AND has_party_branch"),
    ("redemption_scenarios", "信用积分应用场景", "个", "SELECT count(*) FROM redemption_scenarios"),
    ("redemptions_ytd", "今年以来积分兑换", "人次",
     "SELECT count(*) FROM redemptions WHERE redeemed_at >= $year_start AND redeemed_at < $as_of + INTERVAL 1 DAY"),
    ("new_employment_stations", "新就业群体服务站点", "处",
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
    return newest.date() if newest else dt.date.today()


def county_profile(con, as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per headline figure: key, label (Chinese), value, unit.

    Counts of structure are as they stand; *_ytd figures run from 1 January of the as-of year
    to the as-of date inclusive.
    """
    as_of = as_of or as_of_date(con)
    params = {"as_of": as_of, "year_start": dt.date(as_of.year, 1, 1)}
    rows = []
    for key, label, unit, sql in _FIGURES:
        wanted = {k: v for k, v in params.items() if f"${k}" in sql}
        rows.append((key, label, con.execute(sql, wanted).fetchone()[0], unit))
    return pd.DataFrame(rows, columns=["key", "label", "value", "unit"])
