"""Tickets through the six steps of 五单一公开: volume, speed, ratings, escalations, backlog and
data-quality flags. Every function takes a connection, a period and a scope.

A ticket's time at each step is when it first reached it; it is resolved when published (its
last publication, unless it was reopened afterwards). Tickets without a grid are only visible
to a county-wide scope.
"""

import pandas as pd

from . import settings, summary, vocab
from .period import COUNTY, Scope, bind, in_scope, parse_period

STEP_PAIRS = list(zip(vocab.WORKFLOW_STEPS[:-1], vocab.WORKFLOW_STEPS[1:]))


_GROUPS = {
    "grid": ("f.grid_id, g.name AS grid_name, f.community_id, c.name AS community_name", "f.grid_id IS NOT NULL"),
    "community": ("f.community_id, c.name AS community_name", "f.community_id IS NOT NULL"),
    "category": ("f.category", "true"),
    "channel": ("f.channel", "true"),
    "county": ("'county' AS county", "true"),
}
_LABELS = {"category": vocab.TICKET_CATEGORIES, "channel": vocab.TICKET_CHANNELS}


def _facts(con) -> str:
    return summary.relation(con, "summary_ticket_facts")


def _with_label(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    if by in _LABELS:
        frame.insert(1, f"{by}_label", frame[by].map(_LABELS[by]).fillna(frame[by]))
    return frame


def _check_by(by: str) -> None:
    if by not in _GROUPS:
        raise ValueError(f"不支持的分组 {by!r},可选: {', '.join(_GROUPS)}")


def ticket_resolution(con, period, scope: Scope = COUNTY, by: str = "grid") -> pd.DataFrame:
    """Resolution time of the tickets published in the period, by grid, community, category,
    channel or for the county.

    Columns: the group's columns (grid: grid_id, grid_name, community_id, community_name);
    tickets (published in the period); median_days and p90_days (filed to published, in days,
    linear interpolation as quantile_cont); mean_days. Tickets with no 'filed' step are left
    out (they are listed by data_quality_flags).
    """
    _check_by(by)
    period = parse_period(period)
    keys, not_null = _GROUPS[by]
    frame = con.execute(f"""
        WITH done AS (
            SELECT f.*, epoch(f.published_at - f.filed_at) / 86400.0 AS days
            FROM {_facts(con)} f
            WHERE f.published_at >= $start AND f.published_at < $end AND f.filed_at IS NOT NULL
              AND {in_scope("f.grid_id")}
        )
        SELECT {keys}, count(*) AS tickets,
               quantile_cont(days, 0.5) AS median_days, quantile_cont(days, 0.9) AS p90_days,
               avg(days) AS mean_days
        FROM done f LEFT JOIN grids g ON g.grid_id = f.grid_id
        LEFT JOIN communities c ON c.community_id = f.community_id
        WHERE {not_null}
        GROUP BY ALL ORDER BY ALL
    """, bind(con, period, scope)).df()
    return _with_label(frame, by)


def step_durations(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Time between consecutive steps for the tickets published in the period.

    One row per step pair (filed→accepted, accepted→discussed, discussed→decided,
    decided→rated, rated→published): from_step, to_step, label, tickets (with both steps),
    median_hours, p90_hours, bottleneck (true for the pair with the longest median). A ticket
    that skipped a step has no figure for the two pairs around it.
    """
    period = parse_period(period)
    parts = [
        f"SELECT '{a}' AS from_step, '{b}' AS to_step, {k} AS ord, "
        f"epoch(f.{b}_at - f.{a}_at) / 3600.0 AS hours FROM done f "
        f"WHERE f.{a}_at IS NOT NULL AND f.{b}_at IS NOT NULL"
        for k, (a, b) in enumerate(STEP_PAIRS)
    ]
    frame = con.execute(f"""
        WITH done AS (
            SELECT * FROM {_facts(con)} f
            WHERE f.published_at >= $start AND f.published_at < $end AND {in_scope("f.grid_id")}
        ),
        pairs AS ({" UNION ALL ".join(parts)})
        SELECT from_step, to_step, count(hours) AS tickets,
               quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.9) AS p90_hours
        FROM pairs GROUP BY from_step, to_step, ord ORDER BY ord
    """, bind(con, period, scope)).df()
    frame = pd.DataFrame({"from_step": [a for a, _ in STEP_PAIRS], "to_step": [b for _, b in STEP_PAIRS]}).merge(
        frame, on=["from_step", "to_step"], how="left")
    frame["tickets"] = frame["tickets"].fillna(0).astype(int)
    frame.insert(2, "label", [f"{vocab.TICKET_STEPS[a]}→{vocab.TICKET_STEPS[b]}" for a, b in STEP_PAIRS])
    longest = frame["median_hours"].max()
    frame["bottleneck"] = frame["median_hours"].eq(longest) & frame["median_hours"].notna()
    return frame


def ticket_funnel(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The six-step funnel of the tickets filed in the period: step, label, reached (tickets
    that reached the step by now), share (of those filed, 0-1)."""
    period = parse_period(period)
    reached = ", ".join(f"count(f.{s}_at) AS {s}" for s in vocab.WORKFLOW_STEPS)
    row = con.execute(f"""
        SELECT {reached} FROM {_facts(con)} f
        WHERE f.filed_at >= $start AND f.filed_at < $end AND {in_scope("f.grid_id")}
    """, bind(con, period, scope)).fetchone()
    filed = row[0]
    return pd.DataFrame({
        "step": vocab.WORKFLOW_STEPS,
        "label": [vocab.TICKET_STEPS[s] for s in vocab.WORKFLOW_STEPS],
        "reached": list(row),
        "share": [n / filed if filed else 0.0 for n in row],
    })


_RATINGS = """
    WITH done AS (
        SELECT f.ticket_id, f.grid_id FROM {facts} f
        WHERE f.published_at >= $start AND f.published_at < $end AND {scope}
    )
    SELECT {keys}, count(DISTINCT d.ticket_id) AS tickets, count(DISTINCT r.ticket_id) AS tickets_rated,
           count(r.score) AS ratings, avg(r.score) AS mean_score
    FROM done d LEFT JOIN ticket_ratings r USING (ticket_id)
    {where}
    GROUP BY ALL ORDER BY ALL
"""


def ticket_ratings(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Ratings (党员群众评单) of the tickets published in the period, overall and by rater kind.

    Columns: rater_kind ('all', 'party_member', 'resident'), label, tickets (published),
    tickets_rated (with at least one rating of that kind), share_rated (0-1), ratings,
    mean_score (1-5).
    """
    period = parse_period(period)
    params = bind(con, period, scope)
    overall = con.execute(_RATINGS.format(facts=_facts(con), scope=in_scope("f.grid_id"), keys="'all' AS rater_kind",
                                          where=""), params).df()
    kinds = []
    for kind in vocab.RATER_KINDS:
        frame = con.execute(_RATINGS.format(
            facts=_facts(con), scope=in_scope("f.grid_id"), keys="$kind AS rater_kind",
            where="WHERE r.rater_kind = $kind OR r.rater_kind IS NULL"), {**params, "kind": kind}).df()
        frame["tickets"] = overall["tickets"].iat[0]
        kinds.append(frame)
    out = pd.concat([overall, *kinds], ignore_index=True)
    out.insert(1, "label", out["rater_kind"].map({"all": "全部", **vocab.RATER_KINDS}))
    out["share_rated"] = (out["tickets_rated"] / out["tickets"]).where(out["tickets"] > 0, 0.0)
    return out[["rater_kind", "label", "tickets", "tickets_rated", "share_rated", "ratings", "mean_score"]]


def ticket_ratings_by_grid(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Per grid: grid_id, tickets (published in the period), tickets_rated, ratings, mean_score (1-5)."""
    period = parse_period(period)
    return con.execute(_RATINGS.format(facts=_facts(con), scope=in_scope("f.grid_id"), keys="d.grid_id",
                                       where="WHERE d.grid_id IS NOT NULL"), bind(con, period, scope)).df()


def rework_by_grid(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """返工: per grid, the tickets published in the period and how many of them were reopened after
    that publication (up to the data's end). Columns: grid_id, published, reworked, rework_share (0-1)."""
    period = parse_period(period)
    return con.execute(f"""
        WITH published AS (
            SELECT e.ticket_id, min(e.occurred_at) AS published_at FROM ticket_events e
            WHERE e.step = 'published' AND e.occurred_at >= $start AND e.occurred_at < $end GROUP BY e.ticket_id
        ),
        reopened AS (
            SELECT DISTINCT p.ticket_id FROM published p JOIN ticket_events e USING (ticket_id)
            WHERE e.step = 'reopened' AND e.occurred_at > p.published_at
        )
        SELECT f.grid_id, count(*) AS published, count(r.ticket_id) AS reworked,
               count(r.ticket_id) / count(*) AS rework_share
        FROM published p JOIN {_facts(con)} f USING (ticket_id) LEFT JOIN reopened r USING (ticket_id)
        WHERE f.grid_id IS NOT NULL AND {in_scope("f.grid_id")}
        GROUP BY f.grid_id ORDER BY f.grid_id
    """, bind(con, period, scope)).df()


def decision_publication(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """结果公开: of the tickets decided in the period, how many are published and how fast.

    One row: decided, published, share_published (0-1), median_lag_days and p90_lag_days
    (decided to published, 天).
    """
    period = parse_period(period)
    return con.execute(f"""
        SELECT count(*) AS decided, count(f.published_at) AS published,
               coalesce(count(f.published_at) / nullif(count(*), 0), 0) AS share_published,
               quantile_cont(epoch(f.published_at - f.decided_at) / 86400.0, 0.5) AS median_lag_days,
               quantile_cont(epoch(f.published_at - f.decided_at) / 86400.0, 0.9) AS p90_lag_days
        FROM {_facts(con)} f
        WHERE f.decided_at >= $start AND f.decided_at < $end AND {in_scope("f.grid_id")}
    """, bind(con, period, scope)).df()


def escalations(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """网格约请: tickets escalated to a department in the period, by department.

    Columns: department, department_label, escalations (tickets), resolved (published by now),
    median_days (filed to published of the resolved ones, 天).
    """
    period = parse_period(period)
    frame = con.execute(f"""
        SELECT coalesce(f.department, 'unknown') AS department, count(*) AS escalations,
               count(f.published_at) AS resolved,
               quantile_cont(epoch(f.published_at - f.filed_at) / 86400.0, 0.5) AS median_days
        FROM {_facts(con)} f
        WHERE f.escalated_at >= $start AND f.escalated_at < $end AND {in_scope("f.grid_id")}
        GROUP BY 1 ORDER BY escalations DESC, department
    """, bind(con, period, scope)).df()
    frame.insert(1, "department_label", frame["department"].map({**vocab.DEPARTMENTS, "unknown": "未注明"}))
    return frame


def open_tickets(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The backlog at the end of the period: tickets filed before it and not published by it.

    Columns: ticket_id, title, grid_id, grid_name, community_name, category, category_label,
    current_step (the last of the six steps reached by then), step_label, filed_at, age_days
    (from filing to the period end, 天). Oldest first.
    """
    period = parse_period(period)
    steps = " ".join(f"WHEN f.{s}_at < $end THEN '{s}'" for s in reversed(vocab.WORKFLOW_STEPS[:-1]))
    frame = con.execute(f"""
        SELECT f.ticket_id, t.title, f.grid_id, g.name AS grid_name, c.name AS community_name, f.category,
               CASE {steps} END AS current_step, f.filed_at,
               epoch($end::TIMESTAMP - f.filed_at) / 86400.0 AS age_days
        FROM {_facts(con)} f JOIN tickets t USING (ticket_id)
        LEFT JOIN grids g ON g.grid_id = f.grid_id LEFT JOIN communities c ON c.community_id = f.community_id
        WHERE f.filed_at < $end AND (f.published_at IS NULL OR f.published_at >= $end) AND {in_scope("f.grid_id")}
        ORDER BY f.filed_at, f.ticket_id
    """, {"end": period.end, **scope.params(con)}).df()
    frame.insert(6, "category_label", frame["category"].map(vocab.TICKET_CATEGORIES))
    frame.insert(8, "step_label", frame["current_step"].map(vocab.TICKET_STEPS))
    return frame


def ticket_backlog(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The backlog at the end of the period by current step: current_step, step_label,
    tickets, median_age_days, max_age_days (天). Steps without open tickets are listed with 0."""
    backlog = open_tickets(con, period, scope)
    grouped = backlog.groupby("current_step")["age_days"].agg(["size", "median", "max"])
    frame = pd.DataFrame({"current_step": vocab.WORKFLOW_STEPS[:-1]})
    frame["step_label"] = frame["current_step"].map(vocab.TICKET_STEPS)
    frame["tickets"] = frame["current_step"].map(grouped["size"]).fillna(0).astype(int)
    frame["median_age_days"] = frame["current_step"].map(grouped["median"])
    frame["max_age_days"] = frame["current_step"].map(grouped["max"])
    return frame


QUALITY_FLAGS = {
    "too_fast": "办结过快",
    "out_of_order": "步骤顺序错乱",
    "missing_grid": "缺少网格",
    "unknown_grid": "网格不存在",
    "no_filed_step": "缺少提单记录",
    "unknown_person": "人员不在登记册",
    "unknown_subject": "积分对象不存在",
    "unknown_indicator": "指标不存在",
    "dangling_reversal": "冲正对象不存在",
    "duplicate_event": "记录编号重复",
    "off_catalogue": "与指标目录不符",
}


def data_quality_flags(con, period, scope: Scope = COUNTY, *,
                       too_fast_minutes: float = settings.TOO_FAST_MINUTES) -> pd.DataFrame:
    """Records that look wrong, one row per problem, shown rather than silently dropped.

    Tickets filed in the period (or with no filing, last touched in it): too_fast (published
    within too_fast_minutes of filing), out_of_order (a step earlier than the step before it),
    missing_grid, unknown_grid, no_filed_step, unknown_person (an actor or filer not in the
    register). Ledger events in the period: unknown_subject, unknown_indicator,
    dangling_reversal, duplicate_event (an id stored more than once, by a writer other than the
    importer; one row per copy), off_catalogue (points other than the indicator's, a reversal
    excepted, or a date outside its validity; approved adjustments included, and said so). Columns: source ('ticket'/'credit'), record_id, grid_id, flag,
    flag_label, reason, grid_name.
    """
    period = parse_period(period)
    order_checks = " OR ".join(f"f.{b}_at < f.{a}_at" for a, b in STEP_PAIRS)
    frame = con.execute(f"""
        WITH f AS (
            SELECT f.* FROM {_facts(con)} f
            WHERE coalesce(f.filed_at, f.last_at) >= $start AND coalesce(f.filed_at, f.last_at) < $end
              AND {in_scope("f.grid_id")}
        ),
        people_ids AS (SELECT person_id FROM people),
        unknown_people AS (
            SELECT DISTINCT e.ticket_id, e.actor_id AS person FROM ticket_events e JOIN f USING (ticket_id)
            WHERE e.actor_id IS NOT NULL AND e.actor_id NOT IN (SELECT person_id FROM people_ids)
            UNION
            SELECT t.ticket_id, t.filed_by FROM tickets t JOIN f USING (ticket_id)
            WHERE t.filed_by IS NOT NULL AND t.filed_by NOT IN (SELECT person_id FROM people_ids)
        ),
        ev AS (
            SELECT e.*, coalesce(p.grid_id, o.grid_id) AS grid_id, p.person_id IS NOT NULL OR o.org_id IS NOT NULL AS known
            FROM credit_events e
            LEFT JOIN people p ON e.subject_type = 'person' AND p.person_id = e.subject_id
            LEFT JOIN organizations o ON e.subject_type = 'org' AND o.org_id = e.subject_id
            WHERE e.occurred_at >= $start AND e.occurred_at < $end
        )
        SELECT 'ticket' AS source, ticket_id AS record_id, grid_id, 'too_fast' AS flag,
               '从提单到结果公开仅用 ' || round(epoch(published_at - filed_at) / 60)::INT || ' 分钟' AS reason
        FROM f WHERE epoch(published_at - filed_at) < $too_fast * 60
        UNION ALL
        SELECT 'ticket', ticket_id, grid_id, 'out_of_order', '后一步骤的时间早于前一步骤' FROM f WHERE {order_checks}
        UNION ALL
        SELECT 'ticket', ticket_id, NULL, 'missing_grid', '工单未填写所属网格' FROM f WHERE grid_id IS NULL
        UNION ALL
        SELECT 'ticket', ticket_id, grid_id, 'unknown_grid', '所属网格 ' || grid_id || ' 不存在'
        FROM f WHERE grid_id IS NOT NULL AND community_id IS NULL
        UNION ALL
        SELECT 'ticket', ticket_id, grid_id, 'no_filed_step', '状态记录中没有居民提单' FROM f WHERE filed_at IS NULL
        UNION ALL
        SELECT 'ticket', u.ticket_id, f.grid_id, 'unknown_person', '人员编号 ' || u.person || ' 不在居民登记册中'
        FROM unknown_people u JOIN f USING (ticket_id)
        UNION ALL
        SELECT 'credit', event_id::VARCHAR, grid_id, 'unknown_subject', '积分对象 ' || subject_id || ' 不存在'
        FROM ev WHERE NOT known AND $all_grids
        UNION ALL
        SELECT 'credit', event_id::VARCHAR, grid_id, 'unknown_indicator', '指标 ' || indicator_code || ' 不在指标目录中'
        FROM ev WHERE indicator_code IS NOT NULL AND indicator_code NOT IN (SELECT indicator_code FROM credit_indicators)
          AND (known AND {in_scope("grid_id")} OR (NOT known AND $all_grids))
        UNION ALL
        SELECT 'credit', event_id::VARCHAR, grid_id, 'dangling_reversal', '冲正的原记录 ' || reverses_event_id || ' 不存在'
        FROM ev WHERE reverses_event_id IS NOT NULL
          AND reverses_event_id NOT IN (SELECT event_id FROM credit_events)
          AND (known AND {in_scope("grid_id")} OR (NOT known AND $all_grids))
        UNION ALL
        SELECT 'credit', event_id::VARCHAR, grid_id, 'duplicate_event',
               '记录编号 ' || event_id || ' 在台账中出现 ' || d.copies || ' 次(积分被重复计入)'
        FROM ev JOIN {summary.relation(con, "summary_ledger_duplicates")} d USING (event_id)
        WHERE (known AND {in_scope("grid_id")} OR (NOT known AND $all_grids))
        UNION ALL
        SELECT 'credit', event_id::VARCHAR, grid_id, 'off_catalogue',
               CASE WHEN ev.reverses_event_id IS NULL AND ev.points <> i.points
                    THEN '分值 ' || rtrim(rtrim(ev.points::VARCHAR, '0'), '.') || ' 与指标 ' || i.indicator_code
                         || ' 的 ' || rtrim(rtrim(i.points::VARCHAR, '0'), '.') || ' 不同'
                    ELSE '发生时间不在指标 ' || i.indicator_code || ' 的有效期内' END
               || CASE WHEN coalesce(ev.adjustment, false) THEN '(已标为调整)' ELSE '(未标为调整)' END
        FROM ev JOIN credit_indicators i USING (indicator_code)
        WHERE ((ev.reverses_event_id IS NULL AND ev.points <> i.points) OR ev.occurred_at < i.valid_from
               OR ev.occurred_at >= i.valid_to + INTERVAL 1 DAY)
          AND (known AND {in_scope("grid_id")} OR (NOT known AND $all_grids))
        ORDER BY source DESC, flag, record_id
    """, {**bind(con, period, scope), "too_fast": too_fast_minutes}).df()
    frame.insert(4, "flag_label", frame["flag"].map(QUALITY_FLAGS))
    frame["grid_name"] = frame["grid_id"].map(dict(con.execute("SELECT grid_id, name FROM grids").fetchall()))
    return frame


def ticket_list(con, period, scope: Scope = COUNTY, search: str = "", limit: int = 500) -> pd.DataFrame:
    """Tickets filed in the period, newest first, optionally those whose id, title or grid name
    contains `search`. Columns: ticket_id, title, category_label, channel_label, community_name,
    grid_name, status ('已公开' or the current step's label), filed_at, published_at, days
    (filed to published, 天), department_label. At most `limit` rows."""
    period = parse_period(period)
    frame = con.execute(f"""
        SELECT f.ticket_id, t.title, f.category, f.channel, c.name AS community_name, g.name AS grid_name,
               f.last_step, f.filed_at, f.published_at,
               epoch(f.published_at - f.filed_at) / 86400.0 AS days, f.department
        FROM {_facts(con)} f JOIN tickets t USING (ticket_id)
        LEFT JOIN grids g ON g.grid_id = f.grid_id LEFT JOIN communities c ON c.community_id = f.community_id
        WHERE f.filed_at >= $start AND f.filed_at < $end AND {in_scope("f.grid_id")}
          AND ($search = '' OR f.ticket_id ILIKE '%' || $search || '%' OR t.title ILIKE '%' || $search || '%'
               OR g.name ILIKE '%' || $search || '%')
        ORDER BY f.filed_at DESC, f.ticket_id LIMIT $limit
    """, {**bind(con, period, scope), "search": search.strip(), "limit": limit}).df()
    frame["status"] = [("已公开" if pd.notna(p) else vocab.TICKET_STEPS.get(s, "未知"))
                       for s, p in zip(frame.pop("last_step"), frame["published_at"])]
    frame.insert(2, "category_label", frame.pop("category").map(vocab.TICKET_CATEGORIES))
    frame.insert(3, "channel_label", frame.pop("channel").map(vocab.TICKET_CHANNELS))
    frame["department_label"] = frame.pop("department").map(vocab.DEPARTMENTS).fillna("")
    return frame


def ticket_history(con, ticket_id: str, scope: Scope = COUNTY, names: bool = False) -> pd.DataFrame:
    """The status history of one ticket: step, step_label, occurred_at, actor (name masked
    unless `names`), note. A ticket outside the scope is an error."""
    from .privacy import mask_names

    row = con.execute("SELECT grid_id FROM tickets WHERE ticket_id = $t", {"t": ticket_id}).fetchone()
    if row is None:
        raise ValueError(f"未知的工单编号: {ticket_id}")
    allowed = scope.grid_ids(con)
    if allowed is not None and row[0] not in allowed:
        raise ValueError(f"工单 {ticket_id} 不在您的查看范围内")
    frame = con.execute("""
        SELECT e.step, e.occurred_at, p.name AS actor, e.note
        FROM ticket_events e LEFT JOIN people p ON p.person_id = e.actor_id
        WHERE e.ticket_id = $t ORDER BY e.occurred_at, e.seq
    """, {"t": ticket_id}).df()
    frame.insert(1, "step_label", frame["step"].map(vocab.TICKET_STEPS))
    if not names:
        frame["actor"] = mask_names(frame["actor"])
    return frame
