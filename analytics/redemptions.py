"""Credit redemption (信易+): points exchanged for goods and discounts, and the points still held.

A redemption belongs to a period when start <= redeemed_at < end, and to a scope when the
grid where the redeemer is registered on the period's last day is in scope. Residents are the
people registered in a grid on the period's last day (analytics.residents). Every query here
starts with the CTE `registered` (_with_registered).
"""


import pandas as pd

from . import residents, summary, vocab
from .db import query
from .period import COUNTY, bind, community_in_scope, in_scope, parse_period

_CATEGORIES = {"category_codes": list(vocab.REDEMPTION_CATEGORIES),
               "category_labels": list(vocab.REDEMPTION_CATEGORIES.values())}

# The redemptions of the period in scope, with the redeemer's community and the scenario.
_REDEMPTIONS = f"""
    SELECT r.redemption_id, r.person_id, r.scenario_id, r.points::DOUBLE AS points,
           s.category, s.value_yuan::DOUBLE AS value_yuan, g.community_id
    FROM redemptions r
    LEFT JOIN registered p ON p.person_id = r.person_id
    LEFT JOIN grids g ON g.grid_id = p.grid_id
    LEFT JOIN redemption_scenarios s ON s.scenario_id = r.scenario_id
    WHERE r.redeemed_at >= $start AND r.redeemed_at < $end AND {in_scope("p.grid_id")}
"""

# Registered residents of in-scope grids, per community.
_RESIDENTS = f"""
    SELECT g.community_id, count(*) AS residents
    FROM registered p JOIN grids g ON g.grid_id = p.grid_id
    WHERE {in_scope("p.grid_id")}
    GROUP BY g.community_id
"""


def _with_registered(con) -> str:
    return f"WITH registered AS (SELECT * FROM {residents.registered(con)}),"


def _params(con, period, scope) -> dict:
    return {**bind(con, period, scope), **_CATEGORIES, "as_of": period.last_day}


def redemptions_by_scenario(con, period, scope=COUNTY) -> pd.DataFrame:
    """Redemptions of the period in scope, per scenario (应用场景).

    - scenario_id, scenario_name, category (code), category_label (vocab.REDEMPTION_CATEGORIES;
      an unknown code is shown as itself), points_cost (the scenario's listed price, 分)
    - redemptions: how many (人次)
    - redeemers: distinct people (人)
    - points_spent: points paid, as recorded on each redemption (分)
    - value_yuan: the scenario's value in yuan times its redemptions (元)

    Every scenario has a row (zeros included), in the order of scenario ids.
    """
    period = parse_period(period)
    sql = f"""
        {_with_registered(con)}
        r AS ({_REDEMPTIONS}),
        agg AS (
            SELECT scenario_id, count(*) AS redemptions, count(DISTINCT person_id) AS redeemers,
                   sum(points) AS points_spent, coalesce(sum(value_yuan), 0) AS value_yuan
            FROM r GROUP BY scenario_id
        ),
        labels AS (SELECT unnest($category_codes) AS category, unnest($category_labels) AS label)
        SELECT s.scenario_id, s.name AS scenario_name, s.category,
               coalesce(l.label, s.category) AS category_label, s.points_cost::DOUBLE AS points_cost,
               coalesce(a.redemptions, 0) AS redemptions, coalesce(a.redeemers, 0) AS redeemers,
               coalesce(a.points_spent, 0) AS points_spent, coalesce(a.value_yuan, 0) AS value_yuan
        FROM redemption_scenarios s
        LEFT JOIN labels l ON l.category = s.category
        LEFT JOIN agg a ON a.scenario_id = s.scenario_id
        ORDER BY s.scenario_id
    """
    return query(con, sql, _params(con, period, scope))


def redemptions_by_category(con, period, scope=COUNTY) -> pd.DataFrame:
    """Redemptions of the period in scope, per scenario category.

    - category (code), category_label (Chinese; an unknown code is shown as itself)
    - scenarios: scenarios listed in the category (个)
    - redemptions (人次), redeemers (distinct people, 人), points_spent (分), value_yuan (元),
      defined as in redemptions_by_scenario

    Every category of the vocabulary and every other category a scenario has gets a row
    (zeros included), in the vocabulary's order, then by code.
    """
    period = parse_period(period)
    sql = f"""
        {_with_registered(con)}
        r AS ({_REDEMPTIONS}),
        agg AS (
            SELECT category, count(*) AS redemptions, count(DISTINCT person_id) AS redeemers,
                   sum(points) AS points_spent, coalesce(sum(value_yuan), 0) AS value_yuan
            FROM r WHERE category IS NOT NULL GROUP BY category
        ),
        listed AS (SELECT category, count(*) AS scenarios FROM redemption_scenarios GROUP BY category),
        vocab AS (SELECT unnest($category_codes) AS category, unnest($category_labels) AS label,
                         generate_subscripts($category_codes, 1) AS sort),
        categories AS (
            SELECT coalesce(v.category, l.category) AS category, coalesce(v.label, l.category) AS label,
                   v.sort, coalesce(l.scenarios, 0) AS scenarios
            FROM vocab v FULL JOIN listed l ON l.category = v.category
        )
        SELECT c.category, c.label AS category_label, c.scenarios,
               coalesce(a.redemptions, 0) AS redemptions, coalesce(a.redeemers, 0) AS redeemers,
               coalesce(a.points_spent, 0) AS points_spent, coalesce(a.value_yuan, 0) AS value_yuan
        FROM categories c LEFT JOIN agg a ON a.category = c.category
        ORDER BY c.sort NULLS LAST, c.category
    """
    return query(con, sql, _params(con, period, scope))


def redemption_uptake(con, period, scope=COUNTY) -> pd.DataFrame:
    """How many residents of each in-scope community redeemed points in the period.

    - community_id, community_name
    - residents: people registered in the community's in-scope grids (人)
    - redeemers: of them, people with a redemption in the period (人)
    - uptake_share: redeemers / residents (0–1; empty for a community without residents)
    - redemptions (人次), points_spent (分): their redemptions in the period

    Every in-scope community has a row (zeros included), in the order of community ids.
    """
    period = parse_period(period)
    sql = f"""
        {_with_registered(con)}
        r AS ({_REDEMPTIONS}),
        agg AS (
            SELECT community_id, count(DISTINCT person_id) AS redeemers, count(*) AS redemptions,
                   sum(points) AS points_spent
            FROM r GROUP BY community_id
        ),
        residents AS ({_RESIDENTS})
        SELECT c.community_id, c.name AS community_name, coalesce(p.residents, 0) AS residents,
               coalesce(a.redeemers, 0) AS redeemers, a.redeemers / nullif(p.residents, 0) AS uptake_share,
               coalesce(a.redemptions, 0) AS redemptions, coalesce(a.points_spent, 0) AS points_spent
        FROM communities c
        LEFT JOIN residents p ON p.community_id = c.community_id
        LEFT JOIN agg a ON a.community_id = c.community_id
        WHERE {community_in_scope("c.community_id")}
        ORDER BY c.community_id
    """
    return query(con, sql, _params(con, period, scope))


def outstanding_points(con, period, scope=COUNTY) -> pd.DataFrame:
    """Points the residents of each in-scope community still hold at the end of the period.

    - community_id, community_name
    - residents: people registered in the community's in-scope grids (人)
    - points_earned: net points of the ledger (credit_events of subject_type 'person', awards
      less deductions and reversals) of those residents, occurred before the period's end (分)
    - points_spent: points they redeemed before the period's end (分)
    - outstanding: points_earned − points_spent (分)
    - outstanding_per_resident: outstanding / residents (分/人; empty without residents)

    Every in-scope community has a row (zeros included), in the order of community ids. Whole
    months are read from the summary table summary_person_month when it is fresh.
    """
    period = parse_period(period)
    sql = f"""
        {_with_registered(con)}
        ledger AS (
            -- Whole months from the per-person monthly summary, the rest of the last month raw.
            SELECT p.grid_id, m.points FROM {summary.relation(con, "summary_person_month")} m
            JOIN registered p USING (person_id)
            WHERE m.month < $month_cut
            UNION ALL
            SELECT p.grid_id, e.points::DOUBLE
            FROM credit_events e JOIN registered p ON p.person_id = e.subject_id
            WHERE e.subject_type = 'person' AND e.occurred_at >= $month_cut AND e.occurred_at < $end
        ),
        earned AS (
            SELECT g.community_id, sum(l.points) AS points_earned
            FROM ledger l JOIN grids g ON g.grid_id = l.grid_id
            WHERE {in_scope("l.grid_id")}
            GROUP BY g.community_id
        ),
        spent AS (
            SELECT g.community_id, sum(r.points)::DOUBLE AS points_spent
            FROM redemptions r
            JOIN registered p ON p.person_id = r.person_id
            JOIN grids g ON g.grid_id = p.grid_id
            WHERE r.redeemed_at < $end AND {in_scope("p.grid_id")}
            GROUP BY g.community_id
        ),
        residents AS ({_RESIDENTS}),
        final AS (
            SELECT c.community_id, c.name AS community_name, coalesce(n.residents, 0) AS residents,
                   coalesce(e.points_earned, 0) AS points_earned, coalesce(s.points_spent, 0) AS points_spent,
                   n.residents AS denominator
            FROM communities c
            LEFT JOIN residents n ON n.community_id = c.community_id
            LEFT JOIN earned e ON e.community_id = c.community_id
            LEFT JOIN spent s ON s.community_id = c.community_id
            WHERE {community_in_scope("c.community_id")}
        )
        SELECT community_id, community_name, residents, points_earned, points_spent,
               points_earned - points_spent AS outstanding,
               (points_earned - points_spent) / nullif(denominator, 0) AS outstanding_per_resident
        FROM final
        ORDER BY community_id
    """
    params = {**_params(con, period, scope), "month_cut": period.end.replace(day=1)}
    return query(con, sql, params)
