"""Credit: the grid ranking (红旗网格), excellent grid workers, levels, the monthly lists and
the integrity checks. Every function takes a connection, a period and a scope."""

import pandas as pd

from . import awards, residents, settings, summary, vocab
from .period import COUNTY, Period, Scope, in_scope, parse_period
from .privacy import mask_names, mask_sql

# Net points per grid in [${p}start, ${p}end) of the people registered in it on ${p}as_of: from the
# person-month summary when the period is made of whole months, otherwise from the ledger itself
# ($cutoff, when bound, keeps the lines recorded up to it: the ledger as it stood then).
_POINTS_FROM_SUMMARY = """
    SELECT r.grid_id, sum(m.points) AS points FROM summary_person_month m JOIN {registered} r USING (person_id)
    WHERE m.month >= ${p}start AND m.month < ${p}end GROUP BY r.grid_id
"""
_POINTS_FROM_LEDGER = """
    SELECT r.grid_id, sum(e.points)::DOUBLE AS points
    FROM credit_events e JOIN {registered} r ON r.person_id = e.subject_id
    WHERE e.subject_type = 'person' AND e.occurred_at >= ${p}start AND e.occurred_at < ${p}end {cutoff}
    GROUP BY r.grid_id
"""
BY_CUTOFF = "AND coalesce(e.recorded_at, e.occurred_at) <= $cutoff"

_RANKING = """
    WITH residents AS (SELECT grid_id, count(*) AS residents FROM {cur_registered} GROUP BY grid_id),
    prev_residents AS (SELECT grid_id, count(*) AS residents FROM {prev_registered} GROUP BY grid_id),
    cur_points AS ({cur}),
    prev_points AS ({prev}),
    scored AS (
        SELECT g.grid_id, g.name AS grid_name, g.community_id, r.residents,
               coalesce(c.points, 0) AS points, coalesce(c.points, 0) / r.residents AS avg_credit,
               coalesce(p.points, 0) / pr.residents AS prev_avg_credit
        FROM grids g
        JOIN residents r USING (grid_id)
        LEFT JOIN prev_residents pr USING (grid_id)
        LEFT JOIN cur_points c USING (grid_id)
        LEFT JOIN prev_points p USING (grid_id)
    ),
    ranked AS (
        -- Rounded before ranking so that equal averages reached by different sums tie.
        SELECT *,
               rank() OVER (PARTITION BY community_id ORDER BY round(avg_credit, 9) DESC) AS rank,
               rank() OVER (PARTITION BY community_id ORDER BY round(prev_avg_credit, 9) DESC NULLS LAST) AS prev_rank
        FROM scored
    ),
    final AS (
        SELECT $label AS period, c.subdistrict_id, r.community_id, c.name AS community_name,
               r.grid_id, r.grid_name, r.residents, r.points, r.avg_credit, r.rank,
               CASE WHEN $has_prev THEN r.prev_rank END AS prev_rank,
               CASE WHEN $has_prev THEN r.prev_rank - r.rank END AS rank_change,
               r.rank <= $red_flags AS red_flag
        FROM ranked r JOIN communities c USING (community_id)
        WHERE {in_scope}
    )
    SELECT * FROM final ORDER BY community_id, rank, grid_id
"""


def _whole_months(period: Period) -> bool:
    return period.start.day == 1 and period.end.day == 1


def _points_sql(con, period: Period, prefix: str, cutoff: bool = False) -> str:
    """The points per grid of the period, its parameters prefixed (cur_start, cur_end, cur_as_of)."""
    registered = residents.registered(con, f"${prefix}as_of")
    if _whole_months(period) and summary.is_fresh(con) and not cutoff:
        return _POINTS_FROM_SUMMARY.format(registered=registered, p=prefix)
    return _POINTS_FROM_LEDGER.format(registered=registered, cutoff=BY_CUTOFF if cutoff else "", p=prefix)


GRID_POINTS = ["subdistrict_id", "community_id", "community_name", "grid_id", "grid_name", "residents", "points",
               "avg_credit"]


def grid_credit_ranking(con, period, scope: Scope = COUNTY, *, red_flags: int = settings.RED_FLAGS_PER_COMMUNITY,
                        pending_check: str = settings.AWARD_PENDING_CHECK, recorded_by=None,
                        live: bool = False) -> pd.DataFrame:
    """The ranking of grids within their community by average credit per resident (红旗网格).

    Columns: period; subdistrict_id, community_id, community_name, grid_id, grid_name;
    residents (people registered in the grid on the period's last day, 人); points (net points
    of those people with occurred_at in the period, reversals included, 分); avg_credit (points /
    residents, 分/人); rank (RANK() within the community by avg_credit descending: ties share a
    rank, the next skips); prev_rank (the same in the period before, with its own residents);
    rank_change (prev_rank - rank, positive = moved up; against the official ranking when the previous
    quarter is frozen); red_flag (rank <= red_flags, as
    awards.check_awards leaves it under pending_check); pending, check_reason, award_label (the
    check before the award). Grids without residents are not ranked and not listed. Ranks and
    awards are always decided over the whole community; the scope only filters the rows shown.
    recorded_by (a datetime): only the ledger lines recorded up to then count, as the ranking
    stood at that moment (a freeze). A frozen quarter gives its official result (analytics.official)
    unless live is set.
    """
    period = parse_period(period)
    frame = awards.check_awards(con, period, _ranked(con, period, red_flags, recorded_by, live), red_flags,
                                pending_check)
    frame = _narrowed(con, frame, scope)
    for column in ("rank", "prev_rank", "rank_change"):
        frame[column] = frame[column].astype("Int64")
    return frame


def grid_points(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """grid_credit_ranking's subdistrict_id, community_id, community_name, grid_id, grid_name, residents,
    points and avg_credit, the same rows without the check before the award (which changes none of
    these): what a sum or an average over grids needs, at about half the cost."""
    frame = _ranked(con, parse_period(period), settings.RED_FLAGS_PER_COMMUNITY, None, False)
    return _narrowed(con, frame[GRID_POINTS], scope)


def _narrowed(con, frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    shown = scope.grid_ids(con)
    return frame if shown is None else frame[frame["grid_id"].isin(shown)].reset_index(drop=True)


def _ranked(con, period: Period, red_flags: int, recorded_by, live: bool) -> pd.DataFrame:
    """The whole county's ranking before the check: the official one of a frozen quarter unless live."""
    if not live and recorded_by is None and red_flags == settings.RED_FLAGS_PER_COMMUNITY:
        from . import official
        if (frozen := official.latest(con, period)) is not None:
            return official.ranking(con, frozen, COUNTY)
    prev = period.previous()
    cutoff = recorded_by is not None
    sql = _RANKING.format(cur=_points_sql(con, period, "cur_", cutoff), prev=_points_sql(con, prev, "prev_", cutoff),
                          cur_registered=residents.registered(con, "$cur_as_of"),
                          prev_registered=residents.registered(con, "$prev_as_of"),
                          in_scope=in_scope("r.grid_id"))
    first = con.execute(f"SELECT min(month) FROM {summary.relation(con, 'summary_grid_month_credit')}").fetchone()[0]
    has_prev = first is not None and first < period.start
    params = {"cur_start": period.start, "cur_end": period.end, "prev_start": prev.start, "prev_end": prev.end,
              "cur_as_of": period.last_day, "prev_as_of": prev.last_day,
              "label": period.label, "red_flags": red_flags, "has_prev": has_prev, **COUNTY.params(con)}
    if cutoff:
        params["cutoff"] = recorded_by
    return _announced_previous(con, prev, con.execute(sql, params).df())


def _announced_previous(con, prev: Period, frame: pd.DataFrame) -> pd.DataFrame:
    """prev_rank and rank_change against the previous quarter's official ranking when it is frozen:
    the rank announced then, not today's recomputation of it (a grid it did not rank has none)."""
    from . import official

    frozen = official.latest(con, prev)
    if frozen is None:
        return frame
    announced = official.ranking(con, frozen).set_index("grid_id")["rank"]
    frame["prev_rank"] = frame["grid_id"].map(announced).astype("Int64")
    frame["rank_change"] = frame["prev_rank"] - frame["rank"].astype("Int64")
    return frame


def red_flag_grids(con, period, scope: Scope = COUNTY, **kwargs) -> pd.DataFrame:
    """The rows of grid_credit_ranking named red-flag grids, and those withheld pending the check
    (red_flag false, pending true) (same columns; official when frozen)."""
    ranking = grid_credit_ranking(con, period, scope, **kwargs)
    return ranking[ranking["red_flag"] | ranking["pending"]].reset_index(drop=True)


def current_grid_workers(con, day) -> pd.DataFrame:
    """grid_id, person_id, name (masked) of the grid worker in office on `day`."""
    frame = con.execute("""
        SELECT r.grid_id, r.person_id, p.name
        FROM person_roles r JOIN people p USING (person_id)
        WHERE r.role = 'grid_worker' AND r.since <= $day AND (r.until IS NULL OR r.until >= $day)
        QUALIFY row_number() OVER (PARTITION BY r.grid_id ORDER BY r.since DESC, r.person_id) = 1
    """, {"day": day}).df()
    frame["name"] = mask_names(frame["name"])
    return frame


def excellent_grid_workers(con, period, scope: Scope = COUNTY, *,
                           min_rating: float | None = settings.EXCELLENT_WORKER_MIN_RATING,
                           recorded_by=None, live: bool = False) -> pd.DataFrame:
    """优秀网格员: the grid worker in office at the end of the period of each red-flag grid.

    Columns: community_id, community_name, grid_id, grid_name, rank, avg_credit (分/人),
    person_id, worker_name (masked), tickets (published in the period), median_days (filed to
    published, 天), mean_score (1-5), meets_rule (the rating condition of settings, if any),
    award_label and check_reason (the grid's: a worker of a grid 待核实 is 待核实 too).
    A frozen quarter gives its official list unless live is set; recorded_by as in grid_credit_ranking.
    """
    from . import official
    from .tickets import ticket_ratings_by_grid, ticket_resolution

    period = parse_period(period)
    if not live and recorded_by is None and min_rating == settings.EXCELLENT_WORKER_MIN_RATING:
        if (frozen := official.latest(con, period)) is not None:
            checks = grid_credit_ranking(con, period, scope)[["grid_id", "award_label", "check_reason"]]
            out = official.workers(con, frozen, scope).merge(checks, on="grid_id", how="left")
            out["award_label"] = out["award_label"].str.replace("红旗网格", "优秀网格员")
            return out
    grids = red_flag_grids(con, period, scope, recorded_by=recorded_by, live=live)
    workers = current_grid_workers(con, period.last_day)
    resolution = ticket_resolution(con, period, scope, by="grid")[["grid_id", "tickets", "median_days"]]
    ratings = ticket_ratings_by_grid(con, period, scope)[["grid_id", "mean_score"]]
    out = (grids[["community_id", "community_name", "grid_id", "grid_name", "rank", "avg_credit", "award_label",
                  "check_reason"]]
           .merge(workers.rename(columns={"name": "worker_name"}), on="grid_id", how="left")
           .merge(resolution, on="grid_id", how="left")
           .merge(ratings, on="grid_id", how="left"))
    out["tickets"] = out["tickets"].fillna(0).astype(int)
    out["award_label"] = out["award_label"].str.replace("红旗网格", "优秀网格员")
    out["meets_rule"] = True if min_rating is None else out["mean_score"].fillna(0) >= min_rating
    return out


LEVEL_LABELS = {code: label for code, label, _ in settings.CREDIT_LEVELS}

# Net points ever, per person, before $end: from the ledger itself.
_BALANCES = """
    SELECT subject_id AS person_id, sum(points)::DOUBLE AS balance FROM credit_events
    WHERE subject_type = 'person' AND occurred_at < $end GROUP BY 1
"""


def credit_level_distribution(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Residents by credit level at the end of the period: level, level_label, minimum
    (分, empty for the lowest rung), people, share (0-1). Every rung is listed, top first.
    Residents are the people registered on the period's last day; a resident's balance is the
    net of all their points before the period end (0 if none)."""
    period = parse_period(period)
    if _whole_months(period) and summary.is_fresh(con):
        balances = """SELECT person_id, arg_max(balance, month) AS balance FROM summary_person_month
                      WHERE month < $end GROUP BY 1"""
    else:
        balances = _BALANCES
    found = dict(con.execute(f"""
        WITH bal AS ({balances})
        SELECT {summary.level_case("coalesce(b.balance, 0)")} AS level, count(*)
        FROM {residents.registered(con)} r LEFT JOIN bal b USING (person_id) WHERE {in_scope("r.grid_id")}
        GROUP BY level
    """, {"end": period.end, "as_of": period.last_day, **scope.params(con)}).fetchall())
    total = sum(found.values())
    rows = [(code, label, minimum, found.get(code, 0), found.get(code, 0) / total if total else 0.0)
            for code, label, minimum in settings.CREDIT_LEVELS]
    frame = pd.DataFrame(rows, columns=["level", "level_label", "minimum", "people", "share"])
    frame["minimum"] = frame["minimum"].astype("Int64")
    return frame


def monthly_publication(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """一月一公示: everyone whose points changed in the period (normally a month) and who is registered
    on its last day, under that day's grid; names masked.

    Columns: community_name, grid_name, name (masked, 张*明), events, points (net in the
    period, 分), balance (net points ever, to the period end, 分), level_label.
    No person id, ID number or phone number: the list is meant to be posted.
    """
    period = parse_period(period)
    if _whole_months(period) and summary.is_fresh(con):
        changed = """
            SELECT person_id, sum(events) AS events, sum(points) AS points, arg_max(balance, month) AS balance
            FROM summary_person_month
            WHERE month >= $start AND month < $end
            GROUP BY person_id
        """
    else:
        changed = f"""
            WITH period_points AS (
                SELECT subject_id AS person_id, count(*) AS events, sum(points)::DOUBLE AS points
                FROM credit_events
                WHERE subject_type = 'person' AND occurred_at >= $start AND occurred_at < $end GROUP BY 1
            ),
            bal AS ({_BALANCES})
            SELECT m.*, b.balance FROM period_points m JOIN bal b USING (person_id)
        """
    frame = con.execute(f"""
        WITH changed AS ({changed})
        SELECT c.name AS community_name, g.name AS grid_name, {mask_sql("p.name")} AS name,
               m.events, m.points, m.balance, {summary.level_case("m.balance")} AS level
        FROM changed m JOIN people p USING (person_id) JOIN {residents.registered(con)} r USING (person_id)
        JOIN grids g ON g.grid_id = r.grid_id JOIN communities c ON c.community_id = g.community_id
        WHERE {in_scope("r.grid_id")}
        ORDER BY c.community_id, g.grid_id, m.points DESC, p.person_id
    """, {"start": period.start, "end": period.end, "as_of": period.last_day, **scope.params(con)}).df()
    frame["level_label"] = frame.pop("level").map(LEVEL_LABELS)
    return frame


def red_grey_list(con, period, scope: Scope = COUNTY, *, red_min_points: float = settings.RED_LIST_MIN_POINTS,
                  grey_deduction: float = settings.GREY_LIST_DEDUCTION) -> pd.DataFrame:
    """信用积分红灰榜 of organisations for the period (normally a month).

    Red: net points >= red_min_points and no deduction. Grey: a single deduction of
    grey_deduction or worse, or negative net points. Columns: list ('red'/'grey'), list_label
    (红榜/灰榜), org_id, org_name, org_type_label, community_name, grid_name, events, points
    (net, 分), deductions (events with negative points), worst (most negative single event, 分),
    reason. Red first, then grey; by points within each.
    """
    period = parse_period(period)
    frame = con.execute(f"""
        WITH per_org AS (
            SELECT subject_id AS org_id, count(*) AS events, sum(points)::DOUBLE AS points,
                   count(*) FILTER (WHERE points < 0) AS deductions, min(points)::DOUBLE AS worst
            FROM credit_events
            WHERE subject_type = 'org' AND occurred_at >= $start AND occurred_at < $end
            GROUP BY 1
        ),
        listed AS (
            SELECT *, CASE WHEN points >= $red_min AND deductions = 0 THEN 'red'
                           WHEN worst <= $grey_deduction OR points < 0 THEN 'grey' END AS list
            FROM per_org
        )
        SELECT l.list, l.org_id, o.name AS org_name, o.org_type, c.name AS community_name,
               g.name AS grid_name, l.events, l.points, l.deductions, l.worst
        FROM listed l JOIN organizations o USING (org_id)
        LEFT JOIN grids g ON g.grid_id = o.grid_id LEFT JOIN communities c ON c.community_id = g.community_id
        WHERE l.list IS NOT NULL AND {in_scope("o.grid_id")}
        ORDER BY l.list = 'grey', CASE WHEN l.list = 'red' THEN -l.points ELSE l.points END, l.org_id
    """, {"start": period.start, "end": period.end, "red_min": red_min_points, "grey_deduction": grey_deduction,
          **scope.params(con)}).df()
    frame.insert(1, "list_label", frame["list"].map({"red": "红榜", "grey": "灰榜"}))
    frame.insert(5, "org_type_label", frame.pop("org_type").map(vocab.ORG_TYPES))
    frame["reason"] = [
        f"本期净得 {p:g} 分,无扣分" if kind == "red"
        else (f"单次扣 {-w:g} 分" if w <= grey_deduction else f"本期净扣 {-p:g} 分")
        for kind, p, w in zip(frame["list"], frame["points"], frame["worst"])
    ]
    return frame


_GROUP_OF_SUBJECT = """
    WITH roles AS (
        SELECT person_id,
               bool_or(role = 'community_worker') AS community_worker,
               bool_or(role = 'grid_worker') AS grid_worker
        FROM person_roles WHERE since < $end AND (until IS NULL OR until >= $start) GROUP BY 1
    )
    SELECT 'person' AS subject_type, p.person_id AS subject_id, g.grid_id,
           CASE WHEN r.community_worker THEN 'community_worker' WHEN r.grid_worker THEN 'grid_worker'
                WHEN p.is_party_member THEN 'party_member' ELSE 'resident' END AS credit_group
    FROM people p LEFT JOIN {registered} g USING (person_id) LEFT JOIN roles r USING (person_id)
    UNION ALL
    SELECT 'org', org_id, grid_id,
           CASE WHEN org_type IN ('merchant', 'enterprise') THEN 'market_entity' ELSE org_type END
    FROM organizations
"""


def points_by_category_group(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Points by indicator category and assessment group (the 8 groups of 分类考核).

    A person counts in the grid registered on the period's last day (in the county's figures
    only, when registered nowhere then). A person's group is the first that applies: community worker, grid worker (a role held in
    the period), party member, resident; an organisation's follows its type (merchants and
    enterprises are market entities). Columns: category, category_label, credit_group,
    group_label, subjects (distinct subjects with events), events, points (net, 分),
    positive_points, negative_points (分).
    """
    period = parse_period(period)
    frame = con.execute(f"""
        WITH subjects AS ({_GROUP_OF_SUBJECT.format(registered=residents.registered(con))})
        SELECT i.category, s.credit_group, count(DISTINCT e.subject_id) AS subjects, count(*) AS events,
               sum(e.points)::DOUBLE AS points,
               coalesce(sum(e.points) FILTER (WHERE e.points > 0), 0)::DOUBLE AS positive_points,
               coalesce(sum(e.points) FILTER (WHERE e.points < 0), 0)::DOUBLE AS negative_points
        FROM credit_events e
        JOIN subjects s ON s.subject_type = e.subject_type AND s.subject_id = e.subject_id
        JOIN credit_indicators i USING (indicator_code)
        WHERE e.occurred_at >= $start AND e.occurred_at < $end AND {in_scope("s.grid_id")}
        GROUP BY ALL ORDER BY i.category, s.credit_group
    """, {"start": period.start, "end": period.end, "as_of": period.last_day, **scope.params(con)}).df()
    frame.insert(1, "category_label", frame["category"].map(vocab.CREDIT_CATEGORIES).fillna(frame["category"]))
    frame.insert(3, "group_label", frame["credit_group"].map(vocab.CREDIT_GROUPS))
    return frame


def grid_ledger(con, grid_id: str, period, scope: Scope = COUNTY, names: bool = False) -> pd.DataFrame:
    """The ledger lines behind a grid's ranking figure: every event in the period of the people
    registered in the grid on its last day, names masked unless `names` (a detail view for a role that needs them). Their
    points add up to the ranking's `points`.

    Columns: event_id, occurred_at, recorded_at, name (masked), indicator_code, indicator_name,
    category_label, points (分), recorded_by_name (masked), reverses_event_id, note.
    """
    period = parse_period(period)
    if scope.grid_ids(con) is not None and grid_id not in scope.grid_ids(con):
        raise ValueError(f"网格 {grid_id} 不在您的查看范围内")
    if not con.execute("SELECT count(*) FROM grids WHERE grid_id = $g", {"g": grid_id}).fetchone()[0]:
        raise ValueError(f"未知的网格编号: {grid_id}")
    frame = con.execute(f"""
        SELECT e.event_id, e.occurred_at, e.recorded_at, p.name, e.indicator_code, i.name AS indicator_name,
               i.category, e.points::DOUBLE AS points, r.name AS recorded_by_name, e.reverses_event_id, e.note
        FROM credit_events e JOIN {residents.registered(con)} g ON g.person_id = e.subject_id
        JOIN people p ON p.person_id = e.subject_id
        LEFT JOIN credit_indicators i USING (indicator_code)
        LEFT JOIN people r ON r.person_id = e.recorded_by
        WHERE e.subject_type = 'person' AND g.grid_id = $grid
          AND e.occurred_at >= $start AND e.occurred_at < $end
        ORDER BY e.occurred_at, e.event_id
    """, {"grid": grid_id, "start": period.start, "end": period.end, "as_of": period.last_day}).df()
    if not names:
        frame["name"] = mask_names(frame["name"])
        frame["recorded_by_name"] = mask_names(frame["recorded_by_name"])
    frame.insert(6, "category_label", frame.pop("category").map(vocab.CREDIT_CATEGORIES))
    frame["reverses_event_id"] = frame["reverses_event_id"].astype("Int64")
    return frame


INTEGRITY_FLAGS = {
    "quarter_end_spike": "期末突击赋分",
    "single_recorder": "单人集中赋分",
    "above_history": "积分远超历史水平",
}


def integrity_flags(con, period, scope: Scope = COUNTY, *, end_days: int = settings.QUARTER_END_DAYS,
                    end_share: float = settings.QUARTER_END_SHARE,
                    recorder_share: float = settings.RECORDER_SHARE,
                    history_ratio: float = settings.HISTORY_RATIO,
                    min_points: float = settings.INTEGRITY_MIN_POINTS) -> pd.DataFrame:
    """Patterns that would inflate a grid's ranking, to be looked at before an award.

    For each grid with at least min_points positive points in the period: quarter_end_spike
    (more than end_share of the positive points occurred in the last end_days days),
    single_recorder (one recorder awarded more than recorder_share of them), above_history
    (avg credit above history_ratio times its mean over the four periods before, when that
    mean is positive). Columns: grid_id, grid_name, community_name, flag, flag_label, value,
    threshold, reason, checked (marked 已核实: it no longer holds an award), check_label (已核实 or
    待核实), checked_by, checked_at, check_note (why it is in order). A grid's people are those
    registered in it on the period's last day.
    """
    period = parse_period(period)
    history, back = [], period
    for _ in range(4):
        back = back.previous()
        history.append(back)
    params = {"start": period.start, "end": period.end, "tail_start": period.end - pd.Timedelta(days=end_days),
              "as_of": period.last_day,
              "hist_start": history[-1].start, "min_points": min_points, **scope.params(con)}
    stats = con.execute(f"""
        WITH registered AS (SELECT * FROM {residents.registered(con)}),
        ev AS (
            SELECT p.grid_id, e.points::DOUBLE AS points, e.occurred_at, e.recorded_by
            FROM credit_events e JOIN registered p ON p.person_id = e.subject_id
            WHERE e.subject_type = 'person' AND e.occurred_at >= $start AND e.occurred_at < $end
              AND {in_scope("p.grid_id")}
        ),
        per_grid AS (
            SELECT grid_id, sum(points) FILTER (WHERE points > 0) AS positive,
                   sum(points) FILTER (WHERE points > 0 AND occurred_at >= $tail_start) AS tail,
                   sum(points) AS net
            FROM ev GROUP BY 1
        ),
        per_recorder AS (
            SELECT grid_id, max(points) AS top_recorder FROM (
                SELECT grid_id, recorded_by, sum(points) AS points FROM ev WHERE points > 0 GROUP BY 1, 2
            ) GROUP BY 1
        ),
        residents AS (SELECT grid_id, count(*) AS n FROM registered GROUP BY 1),
        past AS (
            SELECT p.grid_id, sum(e.points)::DOUBLE AS points
            FROM credit_events e JOIN registered p ON p.person_id = e.subject_id
            WHERE e.subject_type = 'person' AND e.occurred_at >= $hist_start AND e.occurred_at < $start
            GROUP BY 1
        )
        SELECT g.grid_id, g.name AS grid_name, c.name AS community_name,
               coalesce(pg.tail, 0) / pg.positive AS tail_share,
               pr.top_recorder / pg.positive AS recorder_share,
               pg.net / r.n AS avg_credit, coalesce(pa.points, 0) / 4 / r.n AS past_avg
        FROM per_grid pg JOIN grids g USING (grid_id) JOIN communities c ON c.community_id = g.community_id
        JOIN residents r USING (grid_id) LEFT JOIN per_recorder pr USING (grid_id) LEFT JOIN past pa USING (grid_id)
        WHERE pg.positive >= $min_points
        ORDER BY g.grid_id
    """, params).df()
    rows = []
    for s in stats.itertuples():
        if s.tail_share > end_share:
            rows.append((s, "quarter_end_spike", s.tail_share, end_share,
                         f"最后 {end_days} 天的加分占本期加分的 {s.tail_share:.0%}(阈值 {end_share:.0%})"))
        if s.recorder_share > recorder_share:
            rows.append((s, "single_recorder", s.recorder_share, recorder_share,
                         f"一名记录人赋予了本期加分的 {s.recorder_share:.0%}(阈值 {recorder_share:.0%})"))
        if s.past_avg > 0 and s.avg_credit > history_ratio * s.past_avg:
            ratio = s.avg_credit / s.past_avg
            rows.append((s, "above_history", ratio, history_ratio,
                         f"人均积分 {s.avg_credit:.2f} 分,是前四期平均 {s.past_avg:.2f} 分的 {ratio:.1f} 倍"))
    frame = pd.DataFrame(
        [(s.grid_id, s.grid_name, s.community_name, flag, INTEGRITY_FLAGS[flag], value, threshold, reason)
         for s, flag, value, threshold, reason in rows],
        columns=["grid_id", "grid_name", "community_name", "flag", "flag_label", "value", "threshold", "reason"],
    )
    frame = frame.merge(awards.flag_checks(con, period), on=["grid_id", "flag"], how="left")
    frame["checked"] = frame["checked_by"].notna()
    frame["check_label"] = frame["checked"].map({True: "已核实", False: "待核实"})
    return frame
