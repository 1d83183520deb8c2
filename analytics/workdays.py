"""Deadlines on a working-day clock: which open tickets are overdue or near due, and how often
each step was completed in time.

The clock counts official working days (chinese_calendar: public holidays and the make-up
working days 调休); each working day counts 1.0, spread evenly over its 24 hours, and other days
count 0. The working days allowed per step and category are in `settings`.
"""

import datetime as dt
import functools

import chinese_calendar
import numpy as np
import pandas as pd
import pyarrow as pa

from . import db, settings, summary, vocab
from .period import COUNTY, IN_SCOPE, Scope, parse_period
from .vocab import WORKFLOW_STEPS

# The SQL clock counts from here; ticket data older than this has no clock (NULL).
CALENDAR_FIRST_YEAR = 2000
STATUSES = ("overdue", "near_due", "on_time")

# County-wide viewers also see tickets whose grid is missing (as in tickets.py).
_TICKET_SCOPE = "(" + IN_SCOPE.format(col="f.grid_id") + " OR ($all_grids AND f.grid_id IS NULL))"


# The years chinese_calendar knows; calling its is_workday per day is slow (it rescans its
# tables each call), so the same rule is applied to its published tables here.
_COVERED = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def is_workday(day: dt.date) -> bool:
    """An official working day; outside the years chinese_calendar knows, Monday to Friday."""
    if day.year in _COVERED:
        return day in chinese_calendar.workdays or (day.weekday() < 5 and day not in chinese_calendar.holidays)
    return day.weekday() < 5


@functools.lru_cache(maxsize=16)
def _calendar(first_year: int, last_year: int) -> pd.DataFrame:
    """Every day of the years, workday_index counted from 1 January of first_year. Shared: copy
    before changing it."""
    first = dt.date(first_year, 1, 1)
    days = [first + dt.timedelta(i) for i in range((dt.date(last_year + 1, 1, 1) - first).days)]
    work = np.array([is_workday(d) for d in days], dtype=bool)
    index = np.concatenate(([0], np.cumsum(work)[:-1])).astype("int64")
    return pd.DataFrame({"day": days, "is_workday": work, "workday_index": index})


@functools.lru_cache(maxsize=4)
def _calendar_arrow(first_year: int, last_year: int) -> pa.Table:
    # Arrow keeps `day` a DATE for DuckDB without converting Python objects on every scan.
    return pa.Table.from_pandas(_calendar(first_year, last_year), preserve_index=False)


def calendar_frame(start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day from start to end, both included: day (date), is_workday (bool) and
    workday_index (int: working days from start up to the day, the day itself excluded)."""
    if end < start:
        return _calendar(start.year, start.year).iloc[:0].copy()
    full = _calendar(start.year, end.year)
    first = (start - dt.date(start.year, 1, 1)).days
    frame = full.iloc[first:first + (end - start).days + 1].reset_index(drop=True).copy()
    frame["workday_index"] -= frame["workday_index"].iloc[0]
    return frame


def _clock(ts: dt.datetime, cal: pd.DataFrame) -> float:
    """Working days from the first day of `cal` to ts."""
    i = (ts.date() - cal["day"].iat[0]).days
    seconds = ts.hour * 3600 + ts.minute * 60 + ts.second + ts.microsecond / 1e6
    return float(cal["workday_index"].iat[i]) + (seconds / 86400 if cal["is_workday"].iat[i] else 0.0)


def workdays_between(t0: dt.datetime, t1: dt.datetime) -> float:
    """Working days elapsed from t0 to t1 (negative when t1 is earlier)."""
    cal = _calendar(min(t0.year, t1.year), max(t0.year, t1.year))
    return _clock(t1, cal) - _clock(t0, cal)


def add_workdays(t0: dt.datetime, n: float) -> dt.datetime:
    """The earliest moment at which n working days have elapsed since t0 (the due moment of a
    step started at t0); n may be negative. A step due at the end of a Friday is due then, not on
    Monday morning."""
    if n == 0:
        return t0
    # About 250 working days a year: years enough for n either way, plus a margin.
    span = int(abs(n) // 200) + 1
    cal = _calendar(t0.year - span, t0.year + span)
    index, work = cal["workday_index"].to_numpy(), cal["is_workday"].to_numpy()
    target = _clock(t0, cal) + n
    i = int(np.searchsorted(index + work, target, side="left"))
    due = dt.datetime.combine(cal["day"].iat[i], dt.time()) + dt.timedelta(days=target - index[i])
    return due


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
    cur.register("workday_calendar", _calendar_arrow(CALENDAR_FIRST_YEAR, last_year + 2))
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


def _as_of(period, as_of) -> dt.datetime:
    if as_of is None:
        return dt.datetime.combine(period.end, dt.time())
    if not isinstance(as_of, dt.datetime):
        # A date means the end of that day.
        return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    return as_of


def deadline_status(con, period, scope: Scope = COUNTY, *, as_of: dt.datetime | dt.date | None = None,
                    step_deadlines: dict | None = None, category_deadlines: dict | None = None,
                    near_due_share: float | None = None) -> pd.DataFrame:
    """The tickets open at the clock time as_of, with the deadline of their next step.

    as_of defaults to the end of the period (midnight after its last day); a date means the end
    of that day. An event has happened if it occurred before as_of. A ticket is open if it was
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
    as_of = _as_of(period, as_of)
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
                  AND {_TICKET_SCOPE}
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


def deadline_compliance(con, period, scope: Scope = COUNTY, *, step_deadlines: dict | None = None,
                        category_deadlines: dict | None = None) -> pd.DataFrame:
    """How often each step was completed in time, for the steps completed in the period.

    A step counts when the ticket first reached it within the period (publication: its last
    publication, unless reopened afterwards) and had reached an earlier step; its time runs from
    the last earlier step reached (a skipped step is passed over). One row per step from
    'accepted' to 'published', in workflow order:

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
            WITH tickets_in_scope AS (
                SELECT f.ticket_id, f.category, f.filed_at AS filed, f.accepted_at AS accepted,
                       f.discussed_at AS discussed, f.decided_at AS decided, f.rated_at AS rated,
                       f.published_at AS published
                FROM {summary.relation(cur, "summary_ticket_facts")} f
                WHERE f.filed_at < $end AND {_TICKET_SCOPE}
            ),
            reached AS (
                UNPIVOT tickets_in_scope ON filed, accepted, discussed, decided, rated, published
                INTO NAME step VALUE reached_at
            ),
            paired AS (
                SELECT ticket_id, category, step, reached_at,
                       lag(reached_at) OVER (PARTITION BY ticket_id ORDER BY list_position($steps, step)) AS prev_at
                FROM reached
            ),
            done AS (
                SELECT p.ticket_id, p.category, p.step,
                       {_clock_sql("p.reached_at", "a")} - {_clock_sql("p.prev_at", "b")} AS used
                FROM paired p
                LEFT JOIN workday_calendar a ON a.day = p.reached_at::DATE
                LEFT JOIN workday_calendar b ON b.day = p.prev_at::DATE
                WHERE p.reached_at >= $start AND p.reached_at < $end AND p.prev_at IS NOT NULL
            ),
            judged AS (
                SELECT t.step, t.used, t.used <= coalesce(o.allowed, d.allowed) AS in_time
                FROM done t {_ALLOWED_SQL.format(t="t", step="step")}
            ),
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
