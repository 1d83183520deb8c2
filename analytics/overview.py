"""The overview: headline figures against the previous period, monthly trends, and the alerts
that need a decision. Built from the metric functions so every figure matches its own page."""

import datetime as dt

import pandas as pd

from . import credit, facilities, profile, redemptions, summary, tickets, volunteers, workdays
from .db import query
from .period import COUNTY, Period, Scope, in_scope, parse_period


def credit_summary(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """One row: residents (registered in the grids of the scope, 人), points (their net points
    in the period, 分), avg_credit (points / residents, 分/人), the county-level figure of
    the grid ranking."""
    grids = credit.grid_points(con, period, scope)
    residents, points = int(grids["residents"].sum()), float(grids["points"].sum())
    return pd.DataFrame([{"residents": residents, "points": points,
                          "avg_credit": points / residents if residents else None}])


def _figures(con, period: Period, scope: Scope) -> dict:
    county = tickets.ticket_resolution(con, period, scope, by="county")
    coverage = facilities.service_coverage(con, period, scope)
    households = coverage["households"].sum()
    return {
        "tickets": int(county["tickets"].sum()),
        "median_days": county["median_days"].iat[0] if len(county) else None,
        "avg_credit": credit_summary(con, period, scope)["avg_credit"].iat[0],
        "volunteers": int(volunteers.volunteer_summary(con, period, scope)["active_volunteers"].iat[0]),
        "redemptions": int(redemptions.redemptions_by_category(con, period, scope)["redemptions"].sum()),
        "coverage": coverage["households_covered"].sum() / households if households else None,
    }


# key, label, unit, metric id (its definition is shown beside the figure), higher is better
HEADLINES = [
    ("tickets", "办结工单", "单", "ticket-resolution-county", True),
    ("median_days", "办结用时中位数", "天", "ticket-resolution-county", False),
    ("avg_credit", "居民人均信用积分", "分", "credit-summary", True),
    ("volunteers", "参与志愿服务", "人", "volunteer-summary", True),
    ("redemptions", "积分兑换", "人次", "redemptions-by-category", True),
    ("coverage", "10分钟服务圈覆盖户数", "%", "service-coverage", True),
]


def headline(con, period, scope: Scope = COUNTY, as_of: dt.date | None = None) -> pd.DataFrame:
    """The overview's figures: key, label, unit, metric_id, value, previous, change (value -
    previous), higher_is_better, compared_with ('上期' or '上期同期') and compared_span (the span of
    previous, e.g. 2026年11月01日至2026年11月01日). Coverage is a share (0-1). previous is the period before; while the period is in progress (the data, running to
    as_of, default meta.as_of, stop before its last day) it is the same span of the period before,
    so that a month of one day is not compared with a whole month."""
    period = parse_period(period)
    as_of = as_of or profile.as_of_date(con)
    before = period.same_span_before(as_of) if period.in_progress(as_of) else period.previous()
    compared_with = "上期同期" if period.in_progress(as_of) else "上期"
    now, then = _figures(con, period, scope), _figures(con, before, scope)
    rows = []
    for key, label, unit, metric_id, higher in HEADLINES:
        value, prev = now[key], then[key]
        change = value - prev if value is not None and prev is not None else None
        rows.append((key, label, unit, metric_id, value, prev, change, higher, compared_with, before.label_zh))
    return pd.DataFrame(rows, columns=["key", "label", "unit", "metric_id", "value", "previous", "change",
                                       "higher_is_better", "compared_with", "compared_span"])


def headline_values(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """key, value: headline's values for the period alone, without the period it is compared with
    (the city puts counties side by side and compares none with its past)."""
    figures = _figures(con, parse_period(period), scope)
    return pd.DataFrame([(key, figures[key]) for key, *_ in HEADLINES], columns=["key", "value"])


def monthly_trend(con, period, scope: Scope = COUNTY, months: int = 12) -> pd.DataFrame:
    """The twelve months up to the period's end: month (first day), tickets (published),
    median_days (filed to published), avg_credit (net points in the month of the people registered
    in the scope's grids on its last day, per resident), volunteers (active that month)."""
    period = parse_period(period)
    last = period.months()[-1]
    first = last
    for _ in range(months - 1):
        first = first.previous()
    span = Period("range", first.start, last.end)
    frame = query(con, f"""
        WITH months AS (
            SELECT unnest(generate_series($start::TIMESTAMP, $end::TIMESTAMP - INTERVAL 1 MONTH, INTERVAL 1 MONTH))::DATE AS month
        ),
        done AS (
            SELECT date_trunc('month', f.published_at)::DATE AS month, count(*) AS tickets,
                   quantile_cont(epoch(f.published_at - f.filed_at) / 86400.0, 0.5) AS median_days
            FROM {summary.relation(con, "summary_ticket_facts")} f
            WHERE f.published_at >= $start AND f.published_at < $end AND {in_scope("f.grid_id")}
            GROUP BY 1
        ),
        month_ends AS (SELECT month, (month + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS last_day FROM months),
        spans AS (SELECT * FROM {summary.relation(con, "summary_registrations")} s WHERE {in_scope("s.grid_id")}),
        residents AS (
            -- Each month's residents: the people registered in an in-scope grid on its last day; those who
            -- never moved are counted once, not once a month.
            SELECT m.month, (SELECT count(*) FROM spans WHERE moved_in IS NULL AND moved_out IS NULL) + count(s.person_id) AS n
            FROM month_ends m LEFT JOIN (SELECT * FROM spans WHERE moved_in IS NOT NULL OR moved_out IS NOT NULL) s
              ON (s.moved_in IS NULL OR s.moved_in <= m.last_day) AND (s.moved_out IS NULL OR s.moved_out > m.last_day)
            GROUP BY 1
        ),
        points AS (
            SELECT pm.month, sum(pm.points) AS points
            FROM {summary.relation(con, "summary_person_month")} pm JOIN spans s USING (person_id)
            JOIN month_ends m USING (month)
            WHERE (s.moved_in IS NULL OR s.moved_in <= m.last_day) AND (s.moved_out IS NULL OR s.moved_out > m.last_day)
            GROUP BY 1
        )
        SELECT m.month, coalesce(d.tickets, 0) AS tickets, d.median_days,
               coalesce(p.points, 0) / n.n AS avg_credit
        FROM months m LEFT JOIN done d USING (month) LEFT JOIN points p USING (month)
        LEFT JOIN residents n USING (month)
        ORDER BY m.month
    """, {"start": span.start, "end": span.end, **scope.params(con)})
    vol = volunteers.volunteer_breakdown(con, span, scope, by="month")[["month", "active_volunteers"]]
    vol["month"] = pd.to_datetime(vol["month"]).dt.date
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame.merge(vol.rename(columns={"active_volunteers": "volunteers"}), on="month", how="left")


def alerts(con, period, scope: Scope = COUNTY, *, fall: int = 3) -> pd.DataFrame:
    """What needs a decision: kind, label, count, detail (a short Chinese sentence), metric_id.
    Tickets overdue as of the data's date (whatever the period: what needs doing now), grids that
    fell `fall` places or more in the period, its integrity flags."""
    period = parse_period(period)
    overdue = workdays.overdue_tickets(con, period, scope)
    ranking = credit.grid_credit_ranking(con, period, scope)
    falling = ranking[ranking["rank_change"].fillna(0) <= -fall]
    flags = credit.integrity_flags(con, period, scope)
    worst = overdue.head(3)["ticket_id"].tolist()  # sorted by the share of the deadline used
    as_of = profile.as_of_date(con)
    return pd.DataFrame([
        ("overdue", f"超期工单(截至{as_of:%m月%d日})", len(overdue),
         "超期最多的(按已用时限比例):" + "、".join(worst) if worst else "没有超期工单", "overdue-tickets"),
        ("falling", f"排名下降{fall}位及以上的网格", len(falling),
         "、".join(falling["grid_name"].head(5)) if len(falling) else "没有明显下滑的网格", "grid-credit-ranking"),
        ("integrity", "积分异常提示", len(flags),
         "、".join(dict.fromkeys(flags["grid_name"]).keys()) if len(flags) else "未发现异常赋分", "integrity-flags"),
    ], columns=["kind", "label", "count", "detail", "metric_id"])
