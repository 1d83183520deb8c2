"""Volunteer service (红色堡垒志愿服务): who served, how often, for how long.

An activity belongs to a period when start <= started_at < end, and to a scope when its
volunteer_activities.grid_id is in scope (the grid where the service was done, not the
volunteer's home grid). Party membership is as recorded on the person today.
"""


import pandas as pd

from . import vocab
from .db import query
from .period import COUNTY, bind, community_in_scope, in_scope, parse_period, place_in_scope

BREAKDOWNS = ("team", "grid", "community", "month", "kind")

# The activities of the period in scope, with the volunteer's party membership.
_ACTIVITIES = f"""
    SELECT a.activity_id, a.person_id, a.team_id, a.grid_id, g.community_id, a.started_at,
           a.hours::DOUBLE AS hours, a.kind, coalesce(p.is_party_member, false) AS is_party_member
    FROM volunteer_activities a
    LEFT JOIN grids g ON g.grid_id = a.grid_id
    LEFT JOIN people p ON p.person_id = a.person_id
    WHERE a.started_at >= $start AND a.started_at < $end AND {in_scope("a.grid_id")}
"""

# Per breakdown: the grouping expression on _ACTIVITIES, and every known group as
# (key, label, sort, shown) where shown means "list it even without activity".
_GROUPS = {
    "team": ("team_id", f"""
        SELECT t.team_id AS key, t.name AS label, t.team_id AS sort,
               {place_in_scope("t.grid_id", "t.community_id")} AS shown
        FROM volunteer_teams t"""),
    "grid": ("grid_id", f"""
        SELECT g.grid_id AS key, g.name AS label, g.grid_id AS sort, {in_scope("g.grid_id")} AS shown
        FROM grids g"""),
    "community": ("community_id", f"""
        SELECT c.community_id AS key, c.name AS label, c.community_id AS sort,
               {community_in_scope("c.community_id")} AS shown
        FROM communities c"""),
    "month": ("date_trunc('month', started_at)::DATE", """
        SELECT m.key, strftime(m.key, '%Y-%m') AS label, m.key AS sort, true AS shown
        FROM (SELECT unnest($months) AS key) m"""),
    # One unnest per SELECT and positions looked up: the form Spark runs too (analytics.spark).
    "kind": ("kind", """
        SELECT k.key, list_extract($kind_labels, array_position($kind_codes, k.key)) AS label,
               array_position($kind_codes, k.key) AS sort, true AS shown
        FROM (SELECT unnest($kind_codes) AS key) k"""),
}

# What to call a group whose key is empty (an activity recorded without team or grid).
_NO_GROUP = {"team": "（未编队）", "grid": "（未指定网格）", "community": "（未指定社区）"}


def volunteer_summary(con, period, scope=COUNTY) -> pd.DataFrame:
    """One row for the period and scope:

    - active_volunteers: distinct people with at least one activity (人)
    - activities: activities recorded (次)
    - hours: service hours (小时)
    - party_member_share: share of active volunteers who are party members (0–1; empty when
      no one was active)
    - team_member_share: share of active volunteers on a volunteer team's roster at the end of
      the period (joined before the period's end, or joining date unknown) (0–1; empty when
      no one was active)
    - hours_per_volunteer: hours / active_volunteers (小时/人; empty when no one was active)
    """
    period = parse_period(period)
    sql = f"""
        WITH act AS ({_ACTIVITIES}),
        volunteers AS (
            SELECT person_id, bool_or(is_party_member) AS is_party_member,
                   person_id IN (SELECT person_id FROM team_members
                                 WHERE joined_on IS NULL OR joined_on < $end) AS in_team
            FROM act GROUP BY person_id
        ),
        totals AS (SELECT count(*) AS activities, coalesce(sum(hours), 0) AS hours FROM act),
        heads AS (SELECT count(*) AS active_volunteers,
                          count(*) FILTER (is_party_member) AS party_members,
                          count(*) FILTER (in_team) AS team_members FROM volunteers)
        SELECT p.active_volunteers, t.activities, t.hours,
               p.party_members / nullif(p.active_volunteers, 0) AS party_member_share,
               p.team_members / nullif(p.active_volunteers, 0) AS team_member_share,
               t.hours / nullif(p.active_volunteers, 0) AS hours_per_volunteer
        FROM totals t, heads p
    """
    return query(con, sql, bind(con, period, scope))


def volunteer_breakdown(con, period, scope=COUNTY, by: str = "community") -> pd.DataFrame:
    """One row per group of the period's activities in scope; `by` is one of BREAKDOWNS.

    Columns:
    - the group's key, named after it: team_id, grid_id, community_id, month (first day, a date)
      or kind (the code)
    - label: team name, grid name, community name, month as 'YYYY-MM', or the kind's Chinese
      label (vocab.VOLUNTEER_KINDS; an unknown code is shown as itself)
    - active_volunteers: distinct people with an activity in the group (人); a person active
      in two groups counts in both
    - activities: activities (次)
    - hours: service hours (小时)
    - party_member_share: share of the group's active volunteers who are party members (0–1;
      empty when the group had no activity)

    Rows: every in-scope team, grid or community, every month of the period and every kind of
    the vocabulary is listed, with zeros when it had no activity; a team is in scope when its
    grid is (or, for a community-wide team, any grid of its community). Groups outside that
    list still appear when they had in-scope activity (a team from elsewhere serving here, an
    activity without team or grid: key empty, label in brackets). Ordered by id, by month, or
    in the vocabulary's order of kinds.
    """
    if by not in _GROUPS:
        raise ValueError(f"无法按 {by!r} 分组统计志愿服务，可选：{'、'.join(BREAKDOWNS)}")
    period = parse_period(period)
    key_expr, groups = _GROUPS[by]
    # key_expr and groups come from the allow-list above, never from input.
    sql = f"""
        WITH act AS ({_ACTIVITIES}),
        agg AS (
            SELECT {key_expr} AS key, count(DISTINCT person_id) AS active_volunteers,
                   count(*) AS activities, sum(hours) AS hours,
                   count(DISTINCT person_id) FILTER (is_party_member) AS party_members
            FROM act GROUP BY 1
        ),
        groups AS ({groups}),
        final AS (
            SELECT coalesce(g.key, a.key) AS key,
                   coalesce(g.label, a.key::VARCHAR, $no_group) AS label,
                   coalesce(a.active_volunteers, 0) AS active_volunteers,
                   coalesce(a.activities, 0) AS activities,
                   coalesce(a.hours, 0)::DOUBLE AS hours,
                   a.party_members / nullif(a.active_volunteers, 0) AS party_member_share,
                   g.sort
            FROM groups g FULL JOIN agg a ON a.key = g.key
            WHERE g.shown OR a.activities > 0
        )
        SELECT key AS {by if by in ("month", "kind") else by + "_id"}, label, active_volunteers,
               activities, hours, party_member_share
        FROM final ORDER BY sort NULLS LAST, key NULLS LAST
    """
    months = [m.start for m in period.months()]
    params = {**bind(con, period, scope), "months": months, "no_group": _NO_GROUP.get(by, "（未填写）"),
              "kind_codes": list(vocab.VOLUNTEER_KINDS), "kind_labels": list(vocab.VOLUNTEER_KINDS.values())}
    return query(con, sql, params)
