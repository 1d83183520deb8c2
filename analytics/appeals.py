"""公示 and 异议申诉: the publicity period the monthly publication opens, the appeals raised against a
ledger line or a quarter's ranking, and their decisions.

A month's publication is posted on the first working day after the month (the official calendar of
analytics.workdays) and stays up settings.PUBLICITY_WORKDAYS working days. An appeal concerns the
publication of the month its ledger line occurred in, or, for a ranking, of the quarter's last month.
It is due by the last day of that 公示期; one raised after it, within PUBLICITY_WORKDAYS working days
of being raised. An upheld appeal is put right by a new ledger event (the ledger is append-only)
carrying the appeal's id, written in the same transaction as the decision.
"""

import contextlib
import datetime as dt
import re
from pathlib import Path

import pandas as pd

from . import access, audit, clock, db, profile, settings, summary, vocab, workdays
from .period import COUNTY, Period, Scope, in_scope, month, parse_period, quarter_of
from .privacy import mask_names

STATUSES = vocab.APPEAL_STATUSES
OPEN = ("pending", "accepted")
DECIDED = ("upheld", "rejected")


# -- the 公示期 -------------------------------------------------------------------------------

def nth_workday(cal: workdays.Calendar, first: dt.date, n: int) -> dt.date:
    """The n-th working day counting from first (first itself counts when it is a working day)."""
    day, seen = first, 0
    while True:
        if cal.is_workday(day):
            seen += 1
            if seen == n:
                return day
        day += dt.timedelta(days=1)


def publicity_period(cal: workdays.Calendar, published: Period,
                     days: int = settings.PUBLICITY_WORKDAYS) -> tuple[dt.date, dt.date]:
    """(first, last day) of the 公示期 of a month's publication: from the first working day after the
    month, `days` working days, both ends included."""
    first = nth_workday(cal, published.end, 1)
    return first, nth_workday(cal, first, days)


def publicity_dates(con, period, scope: Scope = COUNTY, days: int = settings.PUBLICITY_WORKDAYS) -> pd.DataFrame:
    """The 公示期 of each month's publication in the period: month (its label_zh), first, last (dates),
    workdays (the days counted) and missing_years (years the holiday table lacks: counted Monday to
    Friday). The calendar is the county's: scope changes nothing."""
    cal = workdays.calendar(con)
    rows = []
    for m in parse_period(period).months():
        first, last = publicity_period(cal, m, days)
        rows.append((m.label_zh, first, last, days, cal.missing(m.start, last)))
    return pd.DataFrame(rows, columns=["month", "first", "last", "workdays", "missing_years"])


def _zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def publication_marks(con, published, scope: Scope = COUNTY, *, days: int = settings.PUBLICITY_WORKDAYS,
                      as_of: dt.date | None = None) -> dict[str, str]:
    """What a month's publication says it is, as of the data's date: publicity (its 公示期: not yet
    begun, open and until when, or over) and official (the month's quarter frozen: the official
    result's mark, as the ranking shows it, with its version and cut-off; else that it is not yet).
    The calendar and the freeze are the county's: scope changes nothing."""
    from . import official

    published = parse_period(published)
    first, last = publicity_period(workdays.calendar(con), published, days)
    as_of = as_of or profile.as_of_date(con)
    span = f"{_zh(first)}至{_zh(last)}({days}个工作日)"
    if as_of < first:
        publicity = f"公示期{span},尚未开始"
    elif as_of <= last:
        publicity = f"公示中:公示期至{_zh(last)}止({span});如有异议,请在此之前向所在网格提出"
    else:
        publicity = f"公示期{span}已结束"
    quarter = quarter_of(published.start)
    frozen = official.latest(con, quarter)
    mark = (f"{quarter.label_zh}考评:{frozen.label},第 {frozen.version} 版,积分记录截至 {frozen.cutoff:%Y-%m-%d %H:%M}"
            if frozen else f"{quarter.label_zh}考评结果尚未冻结公布(实时数据)")
    return {"publicity": publicity, "official": mark}


def _publication_month(event_at, quarter: str | None) -> Period:
    if quarter:
        return parse_period(quarter).months()[-1]
    return month(event_at.year, event_at.month)


# -- reading ----------------------------------------------------------------------------------

def line_grid(con, line: str = "e") -> str:
    """SQL for the grid a ledger line (alias `line`) concerns: for a person, the grid registered in
    on the line's day (analytics.residents), not today's; for an organisation, its grid."""
    return f"""coalesce(
        (SELECT min(s.grid_id) FROM {summary.relation(con, "summary_registrations")} s
         WHERE {line}.subject_type = 'person' AND s.person_id = {line}.subject_id
           AND (s.moved_in IS NULL OR s.moved_in <= CAST({line}.occurred_at AS DATE))
           AND (s.moved_out IS NULL OR s.moved_out > CAST({line}.occurred_at AS DATE))),
        (SELECT min(o.grid_id) FROM organizations o WHERE {line}.subject_type = 'org' AND o.org_id = {line}.subject_id))"""


_APPEALS = """
    WITH ledger AS (
        SELECT * FROM credit_events QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY recorded_at, points) = 1
    ),
    a AS (
        SELECT a.*, e.occurred_at AS event_at, e.points::DOUBLE AS event_points, e.indicator_code,
               coalesce(a.grid_id, {line_grid}) AS appeal_grid,
               coalesce(r.name, a.raised_by_name, a.raised_by) AS raiser
        FROM appeals a
        LEFT JOIN ledger e ON e.event_id = a.event_id
        LEFT JOIN people r ON r.person_id = a.raised_by
    ),
    final AS (
        SELECT a.appeal_id, a.raised_on, c.community_id, c.name AS community_name, a.appeal_grid AS grid_id,
               g.name AS grid_name, a.event_id, a.quarter, a.event_at, a.event_points, a.indicator_code, a.raiser,
               a.reason, a.status, a.decided_on, a.decision_reason, a.correcting_event_id
        FROM a LEFT JOIN grids g ON g.grid_id = a.appeal_grid LEFT JOIN communities c ON c.community_id = g.community_id
        WHERE a.raised_on >= $start AND a.raised_on < $end AND {in_scope}
    )
    SELECT * FROM final ORDER BY raised_on, appeal_id
"""

LIST_COLUMNS = ["appeal_id", "raised_on", "community_name", "grid_id", "grid_name", "subject", "event_id", "quarter",
                "raised_by_name", "reason", "status", "status_label", "publicity_end", "due_on", "decided_on",
                "in_time", "overdue", "decision_reason", "correcting_event_id"]


def appeal_list(con, period, scope: Scope = COUNTY, *, days: int = settings.PUBLICITY_WORKDAYS,
                as_of: dt.date | None = None) -> pd.DataFrame:
    """异议申诉 raised in the period (raised_on in it) on grids in the scope, oldest first.

    Columns: appeal_id; raised_on; community_name, grid_id, grid_name (the grid of the ledger line's
    subject, or the ranking's); subject (what is appealed, in words); event_id or quarter; raised_by_name
    (masked); reason; status and status_label (待处理/已受理/支持/驳回); publicity_end (last day of the
    公示期 of the publication concerned); due_on (publicity_end, or for an appeal raised after it `days`
    working days from raising); decided_on; in_time (decided by due_on; empty while open); overdue
    (open after due_on, as of the data's date); decision_reason; correcting_event_id (the ledger
    event that put an upheld appeal right).
    """
    period = parse_period(period)
    sql = _APPEALS.format(line_grid=line_grid(con), in_scope=in_scope("a.appeal_grid"))
    frame = con.execute(sql, {"start": period.start, "end": period.end, **scope.params(con)}).df()
    cal = workdays.calendar(con)
    as_of = as_of or profile.as_of_date(con)
    ends, dues = [], []
    for event_at, quarter, raised in zip(frame["event_at"], frame["quarter"], frame["raised_on"]):
        raised = pd.Timestamp(raised).date()
        quarter = quarter if isinstance(quarter, str) else None
        if quarter is None and pd.isna(event_at):  # a ledger line no longer stored
            ends.append(None)
            dues.append(nth_workday(cal, raised, days))
            continue
        _, last = publicity_period(cal, _publication_month(event_at, quarter), days)
        ends.append(last)
        dues.append(last if raised <= last else nth_workday(cal, raised, days))
    frame["publicity_end"], frame["due_on"] = ends, dues
    frame["raised_on"] = pd.to_datetime(frame["raised_on"]).dt.date
    frame["decided_on"] = pd.to_datetime(frame["decided_on"]).dt.date
    decided = frame["status"].isin(DECIDED)
    frame["in_time"] = pd.array([bool(d <= due) if ok else pd.NA
                                 for ok, d, due in zip(decided, frame["decided_on"], frame["due_on"])], dtype="boolean")
    frame["overdue"] = ~decided & (frame["due_on"] < as_of) if len(frame) else pd.Series(dtype=bool)
    frame["status_label"] = frame["status"].map(STATUSES)
    frame["raised_by_name"] = mask_names(frame["raiser"])
    frame["subject"] = [
        f"{q[:4]}年第{q[-1]}季度网格排名" if isinstance(q, str) else
        f"积分记录 {int(e)}({p:+g} 分,{pd.Timestamp(at):%Y-%m-%d})" if pd.notna(at) else f"积分记录 {int(e)}(已不存在)"
        for q, e, p, at in zip(frame["quarter"], frame["event_id"], frame["event_points"], frame["event_at"])]
    for column in ("event_id", "correcting_event_id"):
        frame[column] = frame[column].astype("Int64")
    return frame[LIST_COLUMNS]


def appeal_summary(con, period, scope: Scope = COUNTY, **kwargs) -> pd.DataFrame:
    """Appeals raised in the period by community: community_name, raised, decided (支持 or 驳回),
    in_time (decided by the due day), in_time_share (in_time / decided, 0-1), upheld, open_appeals
    (待处理 or 已受理), overdue (open past the due day). Communities without appeals are left out."""
    rows = appeal_list(con, period, scope, **kwargs)
    rows = rows.assign(decided=rows["status"].isin(DECIDED), upheld=rows["status"] == "upheld",
                       open_appeals=rows["status"].isin(OPEN), in_time=rows["in_time"].fillna(False).astype(bool),
                       community_name=rows["community_name"].fillna("(网格不详)"))
    out = (rows.groupby("community_name", sort=True)
           .agg(raised=("appeal_id", "size"), decided=("decided", "sum"), in_time=("in_time", "sum"),
                upheld=("upheld", "sum"), open_appeals=("open_appeals", "sum"), overdue=("overdue", "sum"))
           .reset_index())
    for column in ("raised", "decided", "in_time", "upheld", "open_appeals", "overdue"):
        out[column] = out[column].astype(int)
    out.insert(4, "in_time_share", (out["in_time"] / out["decided"]).where(out["decided"] > 0))
    return out


def open_appeal_choices(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """Appeals not yet decided (待处理/已受理) on grids in the scope, raised up to the period's end, for
    choosing one to decide: appeal_id, label (id, status, what is appealed, grid; no names)."""
    period = parse_period(period)
    rows = appeal_list(con, Period("range", clock.earliest(), period.end), scope)
    rows = rows[rows["status"].isin(OPEN)]
    return pd.DataFrame({"appeal_id": rows["appeal_id"],
                         "label": [f"{a} · {st} · {s} · {g or '网格不详'}" for a, st, s, g in
                                   zip(rows["appeal_id"], rows["status_label"], rows["subject"], rows["grid_name"])]})


def open_appeals(con, period) -> pd.DataFrame:
    """Appeals still open (待处理/已受理) that bear on a grid's figures for the period: on a ledger line
    that occurred in it, or on a ranking of a quarter overlapping it. Columns: grid_id, appeal_id."""
    period = parse_period(period)
    return con.execute(f"""
        SELECT DISTINCT coalesce(a.grid_id, {line_grid(con)}) AS grid_id, a.appeal_id
        FROM appeals a
        LEFT JOIN credit_events e ON e.event_id = a.event_id
        WHERE a.status IN ('pending', 'accepted')
          AND ((a.quarter IS NOT NULL AND make_date(CAST(left(a.quarter, 4) AS INTEGER),
                                                    CAST(right(a.quarter, 1) AS INTEGER) * 3 - 2, 1) < $end
                AND make_date(CAST(left(a.quarter, 4) AS INTEGER), CAST(right(a.quarter, 1) AS INTEGER) * 3 - 2, 1)
                    + INTERVAL 3 MONTH > $start)
               OR (a.quarter IS NULL AND e.occurred_at >= $start AND e.occurred_at < $end))
        ORDER BY 1, 2
    """, {"start": period.start, "end": period.end}).df()


# -- writing ----------------------------------------------------------------------------------

def _fail(message: str):
    raise ValueError(message)


def _check_day(day: dt.date, what: str) -> dt.date:
    if not isinstance(day, dt.date):
        try:
            day = dt.date.fromisoformat(str(day).strip())
        except ValueError:
            _fail(f"{what}无法识别:{day!r},请写成 2026-10-09 这样的年-月-日")
    if isinstance(day, dt.datetime):
        day = day.date()
    if day < clock.earliest() or day > clock.today():
        _fail(f"{what} {day:%Y-%m-%d} 不合理:应在 {clock.earliest().year} 年之后,且不晚于今天({clock.today():%Y-%m-%d})")
    return day


def _grid_of_event(con, event_id: int):
    return con.execute(f"SELECT {line_grid(con)}, e.occurred_at FROM credit_events e WHERE e.event_id = $id LIMIT 1",
                       {"id": event_id}).fetchone()


def in_area(area, grid_id) -> None:
    """access.Denied unless the grid is within `area` (the user's places; None: no limit)."""
    if area is not None and area.grids is not None and grid_id not in area.grids:
        raise access.Denied(f"网格 {grid_id} 不在您的管理范围({area.label})内")


def next_appeal_id(con, year: int) -> str:
    prefix = f"A{year}-"
    last = con.execute("SELECT max(CAST(substr(appeal_id, length($p) + 1) AS INTEGER)) FROM appeals "
                       "WHERE starts_with(appeal_id, $p) AND regexp_full_match(substr(appeal_id, length($p) + 1), '\\d+')",
                       {"p": prefix}).fetchone()[0]
    return f"{prefix}{(last or 0) + 1:04d}"


def add_appeal(con, *, raised_on, reason: str, event_id: int | None = None, quarter: str | None = None,
               grid_id: str | None = None, raised_by: str | None = None, raised_by_name: str | None = None,
               area=None) -> str:
    """Record an appeal (status 待处理) on a writable connection; returns its id. Bad input raises
    ValueError in Chinese; a grid outside `area` (the user's places) raises access.Denied."""
    raised_on = _check_day(raised_on, "提出日期")
    reason = (reason or "").strip()
    if not reason:
        _fail("请填写申诉理由")
    if (event_id is None) == (not quarter):
        _fail("请指明申诉对象:一条积分记录(记录编号),或某季度某网格的排名(季度和网格),二者选一")
    if event_id is not None:
        found = _grid_of_event(con, int(event_id))
        if found is None:
            _fail(f"积分记录 {event_id} 不存在")
        grid_id = None
        in_area(area, found[0])
        if raised_on < found[1].date():
            _fail(f"提出日期 {raised_on:%Y-%m-%d} 早于被申诉记录的发生日期 {found[1]:%Y-%m-%d}")
    else:
        if not re.fullmatch(r"\d{4}Q[1-4]", quarter or ""):
            _fail(f"季度应写作 2026Q3 的格式,收到: {quarter!r}")
        if not grid_id or not con.execute("SELECT count(*) FROM grids WHERE grid_id = $g", {"g": grid_id}).fetchone()[0]:
            _fail(f"网格 {grid_id!r} 不存在")
        in_area(area, grid_id)
    raised_by = (raised_by or "").strip() or None
    if raised_by and not con.execute("SELECT count(*) FROM people WHERE person_id = $p", {"p": raised_by}).fetchone()[0]:
        _fail(f"提出人编号 {raised_by} 不在居民登记册中;不是登记居民的,请只填姓名")
    raised_by_name = (raised_by_name or "").strip() or None
    if not raised_by and not raised_by_name:
        _fail("请填写提出人(人员编号或姓名)")
    appeal_id = next_appeal_id(con, raised_on.year)
    con.execute("""INSERT INTO appeals (appeal_id, event_id, quarter, grid_id, raised_by, raised_by_name, raised_on, reason, status)
                   VALUES ($id, $event, $quarter, $grid, $by, $name, $on, $reason, 'pending')""",
                {"id": appeal_id, "event": event_id, "quarter": quarter or None, "grid": grid_id, "by": raised_by,
                 "name": raised_by_name, "on": raised_on, "reason": reason})
    return appeal_id


def decide_appeal(con, appeal_id: str, status: str, decided_on=None, decision_reason: str = "", *,
                  recorded_by: str = "", corrected_points: float | None = None, event_id: int | None = None,
                  area=None) -> int | None:
    """Accept (已受理), uphold (支持) or reject (驳回) an open appeal on a writable connection, in one
    transaction. Upholding writes the correcting ledger event: on the appealed line (or, for a ranking,
    the line `event_id` names) a new event with reverses_event_id set and the appeal's id, dated when
    the line occurred so that the period's figures change, worth -points (a reversal) or
    corrected_points - points (a correction). Returns that event's id (None when nothing is written)."""
    if status not in ("accepted", "upheld", "rejected"):
        _fail(f"处理结果只能是 已受理、支持 或 驳回,收到: {status!r}")
    row = con.execute("SELECT status, raised_on, event_id, grid_id FROM appeals WHERE appeal_id = $id",
                      {"id": appeal_id}).fetchone()
    if row is None:
        _fail(f"异议申诉 {appeal_id} 不存在")
    current, raised_on, appealed, grid_id = row
    if current not in OPEN:
        _fail(f"异议申诉 {appeal_id} 已{STATUSES[current]},不能再次处理")
    in_area(area, grid_id if appealed is None else _grid_of_event(con, appealed)[0])
    decision_reason = (decision_reason or "").strip()
    decided = None
    if status in DECIDED:
        decided = _check_day(decided_on or clock.today(), "处理日期")
        if decided < raised_on:
            _fail(f"处理日期 {decided:%Y-%m-%d} 早于提出日期 {raised_on:%Y-%m-%d}")
        if not decision_reason:
            _fail("请填写处理理由")
    target = appealed if appealed is not None else event_id
    if status == "upheld" and target is not None:
        original = con.execute("""SELECT subject_type, subject_id, indicator_code, points::DOUBLE, occurred_at
                                  FROM credit_events WHERE event_id = $id LIMIT 1""", {"id": target}).fetchone()
        if original is None:
            _fail(f"积分记录 {target} 不存在")
        if appealed is None:
            found = _grid_of_event(con, target)[0]
            if found != grid_id:
                _fail(f"积分记录 {target} 不属于被申诉的网格 {grid_id}")
        reversed_ = con.execute("SELECT coalesce(sum(points), 0)::DOUBLE FROM credit_events WHERE reverses_event_id = $id",
                                {"id": target}).fetchone()[0]
        standing = original[3] + reversed_
        delta = (float(corrected_points) if corrected_points is not None else 0.0) - standing
        if abs(delta) < 0.005:
            _fail(f"积分记录 {target} 现计 {standing:g} 分,与更正后的分值相同,无需更正")
    con.execute("BEGIN TRANSACTION")
    try:
        new_event = None
        if status == "upheld" and target is not None:
            new_event = con.execute("SELECT coalesce(max(event_id), 0) + 1 FROM credit_events").fetchone()[0]
            verb = "冲正" if corrected_points is None else f"更正为 {float(corrected_points):g} 分"
            con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at,
                                                      recorded_at, recorded_by, reverses_event_id, note, appeal_id)
                           VALUES ($id, $st, $sid, $ind, $pts, $at, $now, $by, $rev, $note, $appeal)""",
                        {"id": new_event, "st": original[0], "sid": original[1], "ind": original[2], "pts": round(delta, 2),
                         "at": original[4], "now": clock.now().replace(microsecond=0), "by": recorded_by or None,
                         "rev": target, "note": f"异议申诉 {appeal_id} 支持,{verb}:{decision_reason}", "appeal": appeal_id})
        con.execute("""UPDATE appeals SET status = $status, decided_on = $on, decision_reason = $why,
                              correcting_event_id = $event WHERE appeal_id = $id""",
                    {"status": status, "on": decided, "why": decision_reason or None, "event": new_event, "id": appeal_id})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return new_event


@contextlib.contextmanager
def writable(db_path: Path):
    """The database to write and the Change to fill (standby.writing): on a clean exit the summaries take
    the change and the file written replaces the live one (readers keep the version they hold), as an
    import does, without a copy of the database."""
    from .ingest import load, standby

    with load.exclusive(db_path), standby.writing(db_path) as (con, change):
        yield con, change


def submit(db_path, user: access.User | None, *, by: str | None = None, **values) -> str:
    """Record an appeal in the database file on a user's behalf (permission "appeals", the grid within
    the user's places), audited (under the user's name, else `by`: the operator). Returns the appeal's id."""
    db_path = Path(db_path or db.default_db_path())
    access.require(user, "appeals")
    with writable(db_path) as (con, change):
        area = access.with_area(user, con).area if user is not None else None
        appeal_id = add_appeal(con, area=area, **values)
        change.rows.append(["appeals", {"appeal_id": appeal_id}])
    audit.record("appeal", user.name if user else by, appeal_id, values.get("reason", ""),
                 path=audit.default_path(db_path))
    return appeal_id


def decide(db_path, user: access.User | None, appeal_id: str, status: str, *, by: str | None = None,
           **values) -> int | None:
    """Decide an appeal in the database file on a user's behalf (permission "appeals"), audited (under the
    user's name, else `by`: the operator); an upheld appeal's correcting ledger event is written with the
    decision, recorded by `by` (default the user's name). Returns that event's id."""
    db_path = Path(db_path or db.default_db_path())
    access.require(user, "appeals")
    with writable(db_path) as (con, change):
        area = access.with_area(user, con).area if user is not None else None
        event = decide_appeal(con, appeal_id, status, area=area, recorded_by=by or (user.name if user else ""), **values)
        change.rows.append(["appeals", {"appeal_id": appeal_id}])
        change.ledger += [] if event is None else [int(event)]
    detail = STATUSES[status] + (f",更正记录 {event}" if event is not None else "")
    audit.record("appeal_decision", user.name if user else by, appeal_id, detail,
                 path=audit.default_path(db_path))
    return event
