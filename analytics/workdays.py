"""Deadlines on a working-day clock: which open tickets are overdue or near due, and how often
each step was completed in time.

The clock counts official working days: Monday to Friday, less the public holidays, plus the
make-up working days (调休), as the database's `holidays` table gives them year by year (seeded
with the years chinese-calendar knew, imported as the State Council publishes a new year). Each
working day counts 1.0, spread evenly over its 24 hours; other days count 0. A year the table does
not cover is counted Monday to Friday, and `missing_years` tells the pages to say so. The working
days allowed per step and category are in `settings`.
"""

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from . import db, profile, settings, summary, vocab
from .period import COUNTY, Scope, in_scope, parse_period
from .vocab import WORKFLOW_STEPS

# The SQL clock counts from here; ticket data older than this has no clock (NULL).
CALENDAR_FIRST_YEAR = 2000
STATUSES = ("overdue", "near_due", "on_time")
# Deadlines run at most this far past the end of a period (the longest is 30 working days).
DEADLINE_REACH = dt.timedelta(days=60)



@dataclass(frozen=True)
class Calendar:
    """The official calendar: holidays (off), make-up working days (work) and the years whose
    schedule is known."""
    off: frozenset = frozenset()
    work: frozenset = frozenset()
    years: frozenset = frozenset()

    def is_workday(self, day: dt.date) -> bool:
        """An official working day; in a year not covered, Monday to Friday."""
        return day in self.work or (day.weekday() < 5 and day not in self.off)

    def missing(self, first: dt.date, last: dt.date) -> list[int]:
        """The years from first to last that the calendar does not cover."""
        return [y for y in range(first.year, last.year + 1) if y not in self.years]

    def frame(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per day from start to end, both included: day (date), is_workday (bool) and
        workday_index (int: working days from start up to the day, the day itself excluded)."""
        if end < start:
            return _days(self, start.year, start.year).iloc[:0].copy()
        full = _days(self, start.year, end.year)
        first = (start - dt.date(start.year, 1, 1)).days
        frame = full.iloc[first:first + (end - start).days + 1].reset_index(drop=True).copy()
        frame["workday_index"] -= frame["workday_index"].iloc[0]
        return frame

    def between(self, t0: dt.datetime, t1: dt.datetime) -> float:
        """Working days elapsed from t0 to t1 (negative when t1 is earlier)."""
        days = _days(self, min(t0.year, t1.year), max(t0.year, t1.year))
        return _clock(t1, days) - _clock(t0, days)

    def add(self, t0: dt.datetime, n: float) -> dt.datetime:
        """The earliest moment at which n working days have elapsed since t0 (the due moment of a
        step started at t0); n may be negative. A step due at the end of a Friday is due then, not
        on Monday morning."""
        if n == 0:
            return t0
        # About 250 working days a year: years enough for n either way, plus a margin.
        span = int(abs(n) // 200) + 1
        days = _days(self, t0.year - span, t0.year + span)
        index, work = days["workday_index"].to_numpy(), days["is_workday"].to_numpy()
        target = _clock(t0, days) + n
        i = int(np.searchsorted(index + work, target, side="left"))
        return dt.datetime.combine(days["day"].iat[i], dt.time()) + dt.timedelta(days=target - index[i])


def calendar(con) -> Calendar:
    """The calendar the database holds; an empty one (nothing covered) in a file older than it."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'holidays' "
                       "AND database_name = current_database()").fetchall()[0][0]:
        return Calendar()
    rows = con.execute("SELECT day, kind FROM holidays").fetchall()
    return Calendar(frozenset(d for d, k in rows if k == "off"), frozenset(d for d, k in rows if k == "work"),
                    frozenset(d.year for d, _ in rows))


def missing_years(con, period, scope: Scope = COUNTY, as_of: dt.date | None = None) -> list[int]:
    """The years a period's working-day figures reach (its deadlines run up to DEADLINE_REACH past
    its end, or past as_of) that the calendar does not cover: figures there count Monday to Friday.
    The calendar is the county's: scope changes nothing."""
    period = parse_period(period)
    last = max(period.last_day, as_of or period.last_day) + DEADLINE_REACH
    return calendar(con).missing(period.start, last)


def calendar_coverage(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The holiday calendar year by year, from the first year of ticket data (or the period's) to
    the year after the period: year, covered (bool), days_off (holidays, weekends in them
    included), makeup_days (调休 working days), status_label (已录入 / 缺少,请导入当年节假日安排)."""
    period = parse_period(period)
    first = con.execute(f"SELECT min(filed_at) FROM {summary.relation(con, 'summary_ticket_facts')} f").fetchall()[0][0]
    first_year = min(first.year if first else period.start.year, period.start.year)
    counts = {}
    if calendar(con).years:
        counts = {y: (off, work) for y, off, work in con.execute(
            "SELECT year(day), count(*) FILTER (kind = 'off'), count(*) FILTER (kind = 'work') FROM holidays GROUP BY 1"
        ).fetchall()}
    years = range(first_year, period.last_day.year + 2)
    frame = pd.DataFrame({"year": list(years), "covered": [y in counts for y in years],
                          "days_off": [counts.get(y, (0, 0))[0] for y in years],
                          "makeup_days": [counts.get(y, (0, 0))[1] for y in years]})
    frame["status_label"] = frame["covered"].map({True: "已录入", False: "缺少,请导入当年节假日安排"})
    return frame


@functools.lru_cache(maxsize=16)
def _days(cal: Calendar, first_year: int, last_year: int) -> pd.DataFrame:
    """Every day of the years, workday_index counted from 1 January of first_year. Shared: copy
    before changing it."""
    first = dt.date(first_year, 1, 1)
    days = [first + dt.timedelta(i) for i in range((dt.date(last_year + 1, 1, 1) - first).days)]
    work = np.array([cal.is_workday(d) for d in days], dtype=bool)
    index = np.concatenate(([0], np.cumsum(work)[:-1])).astype("int64")
    return pd.DataFrame({"day": days, "is_workday": work, "workday_index": index})


@functools.lru_cache(maxsize=4)
def _days_arrow(cal: Calendar, first_year: int, last_year: int) -> pa.Table:
    # Arrow keeps `day` a DATE for DuckDB without converting Python objects on every scan.
    return pa.Table.from_pandas(_days(cal, first_year, last_year), preserve_index=False)


def _clock(ts: dt.datetime, days: pd.DataFrame) -> float:
    """Working days from the first day of `days` to ts."""
    i = (ts.date() - days["day"].iat[0]).days
    seconds = ts.hour * 3600 + ts.minute * 60 + ts.second + ts.microsecond / 1e6
    return float(days["workday_index"].iat[i]) + (seconds / 86400 if days["is_workday"].iat[i] else 0.0)


def allowed_workdays(category: str, step: str, step_deadlines: dict | None = None,
                     category_deadlines: dict | None = None) -> float:
    """Working days allowed to reach `step` from the step before it, for a ticket of `category`:
    the category's override if it has one, else the step's deadline."""
    steps = settings.STEP_DEADLINE_WORKDAYS if step_deadlines is None else step_deadlines
    overrides = settings.CATEGORY_DEADLINE_WORKDAYS if category_deadlines is None else category_deadlines
    if step in overrides.get(category, {}):
        return float(overrides[category][step])
    if step not in steps:
        raise ValueError(f"步骤 {step!r} 没有办理时限")
    return float(steps[step])


def _rules(step_deadlines, category_deadlines) -> pa.Table:
    """The deadline rules as rows: category null holds the default of each step."""
    steps = settings.STEP_DEADLINE_WORKDAYS if step_deadlines is None else step_deadlines
    overrides = settings.CATEGORY_DEADLINE_WORKDAYS if category_deadlines is None else category_deadlines
    rows = [(None, s, float(d)) for s, d in steps.items()]
    rows += [(c, s, float(d)) for c, by_step in overrides.items() for s, d in by_step.items()]
    category, step, allowed = zip(*rows) if rows else ((), (), ())
    return pa.table({"category": pa.array(category, pa.string()), "step": pa.array(step, pa.string()),
                     "allowed": pa.array(allowed, pa.float64())})


def _cursor(con, last_year: int, step_deadlines, category_deadlines):
    """A cursor with the calendar and the rules registered as views: nothing is written, so this
    works on a read-only file, and each call's views stay on its own cursor."""
    cur = db.cursor(con)
    cur.register("workday_calendar", _days_arrow(calendar(cur), CALENDAR_FIRST_YEAR, last_year + 2))
    cur.register("deadline_rules", _rules(step_deadlines, category_deadlines))
    return cur


def _clock_sql(ts: str, cal: str) -> str:
    """The SQL clock of timestamp expression `ts`, given calendar row `cal` joined on its date."""
    return (f"({cal}.workday_index + CASE WHEN {cal}.is_workday "
            f"THEN (epoch({ts}) - epoch(date_trunc('day', {ts}))) / 86400.0 ELSE 0 END)")


_ALLOWED_SQL = """
    LEFT JOIN deadline_rules o ON o.category = {t}.category AND o.step = {t}.{step}
    LEFT JOIN deadline_rules d ON d.category IS NULL AND d.step = {t}.{step}
"""


def _as_of(con, as_of) -> dt.datetime:
    if as_of is None:
        as_of = profile.as_of_date(con)
    if not isinstance(as_of, dt.datetime):
        # A date means the end of that day.
        return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    return as_of


def deadline_status(con, period, scope: Scope = COUNTY, *, as_of: dt.datetime | dt.date | None = None,
                    step_deadlines: dict | None = None, category_deadlines: dict | None = None,
                    near_due_share: float | None = None) -> pd.DataFrame:
    """The tickets open at the clock time as_of, with the deadline of their next step.

    as_of defaults to the end of the data's date (meta.as_of): the lists say what needs doing now,
    whatever the period (a past period's tickets closed since are not listed; a period in progress
    is not judged at a future date). A date means the end of that day. An event has happened if it occurred before as_of. A ticket is open if it was
    filed and not published (its last publication, unless reopened afterwards) by then. A
    ticket's time at each step is when it first reached it, so a reopened ticket is judged by its
    first pass. One row per open ticket, sorted by share_used, highest first:

    - ticket_id, grid_id, community_id, category (code), category_label
    - current_step: the last of the six steps reached (steps may be skipped); next_step: the one
      after it in the workflow, whose deadline runs; current_step_label, next_step_label
    - since (timestamp): when current_step was reached
    - allowed_workdays (working days): the deadline of next_step for the category
    - used_workdays (working days): the working-day clock from since to as_of
    - share_used (ratio): used_workdays / allowed_workdays
    - status: 'overdue' (share_used > 1), 'near_due' (share_used at least near_due_share,
      default settings.NEAR_DUE_SHARE) or 'on_time'
    - overdue_multiple (ratio): share_used when overdue, else null
    - due_at (timestamp): the moment the allowed working days run out
    - age_days (calendar days, fractional): from filed to as_of
    - grid_name
    """
    period = parse_period(period)
    as_of = _as_of(con, as_of)
    near = settings.NEAR_DUE_SHARE if near_due_share is None else near_due_share
    cur = _cursor(con, as_of.year, step_deadlines, category_deadlines)
    try:
        frame = cur.execute(f"""
            WITH open_tickets AS (
                SELECT f.ticket_id, f.grid_id, f.community_id, f.category, f.filed_at AS filed,
                       f.accepted_at AS accepted, f.discussed_at AS discussed, f.decided_at AS decided,
                       f.rated_at AS rated
                FROM {summary.relation(cur, "summary_ticket_facts")} f
                WHERE f.filed_at < $as_of AND (f.published_at IS NULL OR f.published_at >= $as_of)
                  AND {in_scope("f.grid_id")}
            ),
            reached AS (
                UNPIVOT open_tickets ON filed, accepted, discussed, decided, rated INTO NAME step VALUE reached_at
            ),
            latest AS (
                SELECT ticket_id, arg_max(step, list_position($steps, step)) AS current_step,
                       arg_max(reached_at, list_position($steps, step)) AS since
                FROM reached WHERE reached_at < $as_of GROUP BY ticket_id
            ),
            now AS (
                SELECT {_clock_sql("$as_of::TIMESTAMP", "c")} AS clock
                FROM workday_calendar c WHERE c.day = $as_of::DATE
            ),
            clocked AS (
                SELECT t.ticket_id, t.grid_id, t.community_id, t.category, l.current_step,
                       $steps[list_position($steps, l.current_step) + 1] AS next_step, l.since,
                       t.filed, {_clock_sql("l.since", "c")} AS since_clock
                FROM open_tickets t JOIN latest l USING (ticket_id)
                LEFT JOIN workday_calendar c ON c.day = l.since::DATE
            ),
            judged AS (
                SELECT k.*, coalesce(o.allowed, d.allowed) AS allowed_workdays,
                       (SELECT clock FROM now) - k.since_clock AS used_workdays
                FROM clocked k {_ALLOWED_SQL.format(t="k", step="next_step")}
            ),
            final AS (
                SELECT j.ticket_id, j.grid_id, j.community_id, j.category, j.current_step, j.next_step,
                       j.since, j.allowed_workdays, j.used_workdays,
                       j.used_workdays / nullif(j.allowed_workdays, 0) AS share_used,
                       CASE WHEN j.used_workdays > j.allowed_workdays THEN 'overdue'
                            WHEN j.used_workdays >= $near * j.allowed_workdays THEN 'near_due'
                            ELSE 'on_time' END AS status,
                       CASE WHEN j.used_workdays > j.allowed_workdays
                            THEN j.used_workdays / nullif(j.allowed_workdays, 0) END AS overdue_multiple,
                       greatest(j.since, due.day::TIMESTAMP + to_microseconds(CAST(round(
                           (j.since_clock + j.allowed_workdays - due.workday_index) * 86400e6) AS BIGINT)))
                           AS due_at,
                       (epoch($as_of::TIMESTAMP) - epoch(j.filed)) / 86400.0 AS age_days
                FROM judged j
                LEFT JOIN workday_calendar due ON due.is_workday
                     AND due.workday_index = ceil(j.since_clock + j.allowed_workdays) - 1
            )
            SELECT final.*, g.name AS grid_name FROM final LEFT JOIN grids g ON g.grid_id = final.grid_id
            ORDER BY share_used DESC NULLS LAST, ticket_id
        """, {"as_of": as_of, "steps": WORKFLOW_STEPS, "near": near, **scope.params(cur)}).df()
    finally:
        cur.close()
    frame.insert(4, "category_label", frame["category"].map(vocab.TICKET_CATEGORIES))
    frame.insert(6, "current_step_label", frame["current_step"].map(vocab.TICKET_STEPS))
    frame.insert(8, "next_step_label", frame["next_step"].map(vocab.TICKET_STEPS))
    return frame


def overdue_tickets(con, period, scope: Scope = COUNTY, **options) -> pd.DataFrame:
    """The rows of deadline_status with status 'overdue' (same columns and order)."""
    frame = deadline_status(con, period, scope, **options)
    return frame[frame["status"] == "overdue"].reset_index(drop=True)


def near_due_tickets(con, period, scope: Scope = COUNTY, **options) -> pd.DataFrame:
    """The rows of deadline_status with status 'near_due' (same columns and order)."""
    frame = deadline_status(con, period, scope, **options)
    return frame[frame["status"] == "near_due"].reset_index(drop=True)


# The steps completed in [$start, $end) within scope, each with the working days it took and whether
# that was within its deadline. A step counts when the ticket first reached it within the period
# (publication: its last, unless reopened afterwards) and had reached an earlier step; its time runs
# from the last earlier step reached (a skipped step is passed over).
_COMPLETED_STEPS = """
    WITH tickets_in_scope AS (
        SELECT f.ticket_id, f.grid_id, f.category, f.filed_at AS filed, f.accepted_at AS accepted,
               f.discussed_at AS discussed, f.decided_at AS decided, f.rated_at AS rated,
               f.published_at AS published
        FROM {facts} f
        WHERE f.filed_at < $end AND {scope}
    ),
    reached AS (
        UNPIVOT tickets_in_scope ON filed, accepted, discussed, decided, rated, published
        INTO NAME step VALUE reached_at
    ),
    paired AS (
        SELECT ticket_id, grid_id, category, step, reached_at,
               lag(reached_at) OVER (PARTITION BY ticket_id ORDER BY list_position($steps, step)) AS prev_at
        FROM reached
    ),
    done AS (
        SELECT p.ticket_id, p.grid_id, p.category, p.step,
               {clock_a} - {clock_b} AS used
        FROM paired p
        LEFT JOIN workday_calendar a ON a.day = p.reached_at::DATE
        LEFT JOIN workday_calendar b ON b.day = p.prev_at::DATE
        WHERE p.reached_at >= $start AND p.reached_at < $end AND p.prev_at IS NOT NULL
    )
    SELECT t.ticket_id, t.grid_id, t.step, t.used, t.used <= coalesce(o.allowed, d.allowed) AS in_time
    FROM done t {allowed}
"""


def _completed(cur) -> str:
    return _COMPLETED_STEPS.format(facts=summary.relation(cur, "summary_ticket_facts"), scope=in_scope("f.grid_id"),
                                   clock_a=_clock_sql("p.reached_at", "a"), clock_b=_clock_sql("p.prev_at", "b"),
                                   allowed=_ALLOWED_SQL.format(t="t", step="step"))


def deadline_compliance(con, period, scope: Scope = COUNTY, *, step_deadlines: dict | None = None,
                        category_deadlines: dict | None = None) -> pd.DataFrame:
    """How often each step was completed in time, for the steps completed in the period (see
    _COMPLETED_STEPS). One row per step from 'accepted' to 'published', in workflow order:

    - step (code)
    - steps_completed (count)
    - on_time (count): completed within the working days allowed for the ticket's category
    - on_time_share (0-1): on_time / steps_completed; null when none was completed
    - median_used_workdays (working days): median time taken, interpolated; null when none
    """
    period = parse_period(period)
    cur = _cursor(con, period.end.year, step_deadlines, category_deadlines)
    try:
        return cur.execute(f"""
            WITH judged AS ({_completed(cur)}),
            final AS (
                SELECT s.step, count(j.step) AS steps_completed, count(*) FILTER (j.in_time) AS on_time,
                       count(*) FILTER (j.in_time) / nullif(count(j.step), 0) AS on_time_share,
                       quantile_cont(j.used, 0.5) AS median_used_workdays
                FROM (SELECT unnest($steps[2:]) AS step) s LEFT JOIN judged j USING (step)
                GROUP BY s.step
            )
            SELECT * FROM final ORDER BY list_position($steps, step)
        """, {"start": period.start, "end": period.end, "steps": WORKFLOW_STEPS, **scope.params(cur)}).df()
    finally:
        cur.close()


def on_time_by_grid(con, period, scope: Scope = COUNTY, *, step_deadlines: dict | None = None,
                    category_deadlines: dict | None = None) -> pd.DataFrame:
    """Per grid with a step completed in the period (see _COMPLETED_STEPS): grid_id,
    steps_completed, on_time (count), on_time_share (0-1)."""
    period = parse_period(period)
    cur = _cursor(con, period.end.year, step_deadlines, category_deadlines)
    try:
        return cur.execute(f"""
            WITH judged AS ({_completed(cur)})
            SELECT grid_id, count(*) AS steps_completed, count(*) FILTER (in_time) AS on_time,
                   count(*) FILTER (in_time) / count(*) AS on_time_share
            FROM judged WHERE grid_id IS NOT NULL GROUP BY grid_id ORDER BY grid_id
        """, {"start": period.start, "end": period.end, "steps": WORKFLOW_STEPS, **scope.params(cur)}).df()
    finally:
        cur.close()
