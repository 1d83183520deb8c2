"""Official results (正式公布结果): a quarter's ranking, red-flag grids and excellent grid workers
frozen when announced, so that an award reads the same next month and next year.

A freeze computes the ranking from the ledger as recorded up to a cut-off (credit_events.recorded_at)
and the residents of the quarter's last day, and stores it with who froze it, when, and a
fingerprint (SHA-256 of the canonical result). It is written as an import is (a second file made
live by a rename, ingest/standby.py), in one transaction, under the import lock, so a failed freeze
leaves nothing behind. Re-freezing needs
a reason and adds a version; the latest version is the official one, shown wherever the ranking is.
Today's recomputation (live) is compared with it line by line (公布后更正).
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from . import clock, credit, db, residents
from .ingest import load, standby
from .period import COUNTY, Period, Scope, parse_period

RANKING_COLUMNS = ["subdistrict_id", "community_id", "community_name", "grid_id", "grid_name", "residents", "points",
                   "avg_credit", "rank", "prev_rank", "rank_change", "red_flag"]
WORKER_COLUMNS = ["community_id", "community_name", "grid_id", "grid_name", "rank", "avg_credit", "person_id",
                  "worker_name", "tickets", "median_days", "mean_score", "meets_rule"]
CHANGES = {"late": "截止后补录", "corrected": "分值更正", "removed": "已删除", "moved": "居住登记变更",
           "backdated": "冻结后计入(记录时间早于截止:补录或登记变更)"}


@dataclass(frozen=True)
class Official:
    """One frozen version of a quarter's results."""
    quarter: str
    version: int
    cutoff: dt.datetime
    residents_as_of: dt.date
    frozen_at: dt.datetime
    frozen_by: str
    reason: str | None
    fingerprint: str

    @property
    def label(self) -> str:
        return f"正式公布结果({self.frozen_at:%Y-%m-%d} 冻结)"

    @property
    def detail(self) -> str:
        text = (f"第 {self.version} 版,{self.frozen_by} 于 {self.frozen_at:%Y-%m-%d %H:%M} 冻结;积分记录截至 "
                f"{self.cutoff:%Y-%m-%d %H:%M},居民按 {self.residents_as_of:%Y-%m-%d} 登记;指纹 {self.fingerprint[:12]}")
        return text + (f";重新冻结理由:{self.reason}" if self.reason else "")


def _stored(con) -> bool:
    """Whether the file has the tables (a file not yet migrated to 007 holds no official result; another
    engine, analytics.spark, reads exports that hold none)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return False
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'official_results' "
                       "AND database_name = current_database()").fetchone()[0] > 0


def versions(con, quarter) -> list[Official]:
    """Every frozen version of the quarter, the newest (the official one) first."""
    quarter = parse_period(quarter)
    if quarter.kind != "quarter" or not _stored(con):
        return []
    rows = con.execute("""
        SELECT quarter, version, cutoff, residents_as_of, frozen_at, frozen_by, reason, fingerprint
        FROM official_results WHERE quarter = $q ORDER BY version DESC
    """, {"q": quarter.label}).fetchall()
    return [Official(*row) for row in rows]


def latest(con, quarter) -> Official | None:
    found = versions(con, quarter)
    return found[0] if found else None


def _in_scope(frame: pd.DataFrame, con, scope: Scope) -> pd.DataFrame:
    grids = scope.grid_ids(con)
    return frame if grids is None else frame[frame["grid_id"].isin(grids)].reset_index(drop=True)


def ranking(con, official: Official, scope: Scope = COUNTY) -> pd.DataFrame:
    """The frozen ranking with grid_credit_ranking's columns, in its order, filtered to the scope."""
    frame = con.execute(f"""
        SELECT quarter AS period, {", ".join(RANKING_COLUMNS)} FROM official_ranking
        WHERE quarter = $q AND version = $v ORDER BY community_id, rank, grid_id
    """, {"q": official.quarter, "v": official.version}).df()
    for column in ("rank", "prev_rank", "rank_change"):
        frame[column] = frame[column].astype("Int64")
    return _in_scope(frame, con, scope)


def workers(con, official: Official, scope: Scope = COUNTY) -> pd.DataFrame:
    """The frozen excellent grid workers with excellent_grid_workers' columns, filtered to the scope."""
    frame = con.execute(f"""
        SELECT {", ".join(WORKER_COLUMNS)} FROM official_workers
        WHERE quarter = $q AND version = $v ORDER BY community_id, rank, grid_id
    """, {"q": official.quarter, "v": official.version}).df()
    frame["rank"] = frame["rank"].astype("Int64")
    frame["tickets"] = frame["tickets"].astype(int)
    return _in_scope(frame, con, scope)


# The ledger lines a ranking counts: the quarter's lines of the people registered on its last day.
_LINES = """
    SELECT e.event_id, r.grid_id, e.points::DOUBLE AS points, e.occurred_at, e.recorded_at, e.reverses_event_id
    FROM credit_events e JOIN {registered} r ON r.person_id = e.subject_id
    WHERE e.subject_type = 'person' AND e.occurred_at >= $start AND e.occurred_at < $end {cutoff}
"""


def _lines(con, quarter: Period, cutoff: dt.datetime | None = None) -> pd.DataFrame:
    sql = _LINES.format(registered=residents.registered(con), cutoff=credit.BY_CUTOFF if cutoff else "")
    params = {"start": quarter.start, "end": quarter.end, "as_of": quarter.last_day}
    return con.execute(sql, {**params, "cutoff": cutoff} if cutoff else params).df()


def compute(con, quarter, cutoff: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(ranking, excellent workers, ledger lines counted) of the quarter as recorded up to cutoff,
    over the whole county."""
    quarter = parse_period(quarter)
    rank = credit.grid_credit_ranking(con, quarter, recorded_by=cutoff)
    good = credit.excellent_grid_workers(con, quarter, recorded_by=cutoff)
    return rank, good, _lines(con, quarter, cutoff)[["event_id", "grid_id", "points"]]


def fingerprint(quarter: str, rank: pd.DataFrame, good: pd.DataFrame) -> str:
    """SHA-256 of the canonical result: the quarter, every grid's rank, residents, points, average and
    red flag, and every excellent worker; sorted, numbers rounded, so the same result gives the same hash."""
    def num(v, places=6):
        return None if v is None or pd.isna(v) else round(float(v), places)

    canonical = {
        "quarter": quarter,
        "ranking": sorted([r.grid_id, int(r.rank), int(r.residents), num(r.points), num(r.avg_credit), bool(r.red_flag)]
                          for r in rank.itertuples()),
        "workers": sorted([w.grid_id, w.person_id if isinstance(w.person_id, str) else None] for w in good.itertuples()),
    }
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _no_grids() -> pd.DataFrame:
    return pd.DataFrame(columns=["community_name", "grid_id", "grid_name", "official_rank", "live_rank", "official_avg",
                                 "live_avg", "avg_change", "official_residents", "live_residents", "official_points",
                                 "live_points"])


def _no_lines() -> pd.DataFrame:
    return pd.DataFrame(columns=["event_id", "grid_id", "grid_name", "change", "change_label", "occurred_at",
                                 "recorded_at", "official_points", "live_points", "reverses_event_id"])


def _parse_quarter(quarter) -> Period:
    quarter = parse_period(quarter)
    if quarter.kind != "quarter":
        raise ValueError(f"冻结按季度进行,请给出季度(如 2026Q3),收到: {quarter.label}")
    return quarter


def check_request(con, quarter, cutoff: dt.datetime | None, reason: str | None,
                  now: dt.datetime | None = None) -> tuple[Period, dt.datetime, str | None]:
    """The quarter, cutoff and reason of a freeze, or ValueError in Chinese: the quarter must be over,
    the cutoff after its end and not in the future, and a quarter already frozen needs a reason."""
    quarter, now = _parse_quarter(quarter), now or clock.now()
    cutoff = cutoff or now
    end = dt.datetime.combine(quarter.end, dt.time())
    if now < end:
        raise ValueError(f"{quarter.label_zh}尚未结束,不能冻结")
    if cutoff < end:
        raise ValueError(f"截止时间 {cutoff:%Y-%m-%d %H:%M} 早于{quarter.label_zh}结束({end:%Y-%m-%d}),不能冻结")
    if cutoff > now:
        raise ValueError(f"截止时间 {cutoff:%Y-%m-%d %H:%M} 晚于现在,不能冻结")
    reason = (reason or "").strip() or None
    earlier = latest(con, quarter)
    if earlier is not None and reason is None:
        raise ValueError(f"{quarter.label_zh}已于 {earlier.frozen_at:%Y-%m-%d %H:%M} 由 {earlier.frozen_by} 冻结"
                         f"(第 {earlier.version} 版);重新冻结须说明理由,原版本将保留")
    return quarter, cutoff, reason


def freeze(db_path, quarter, *, cutoff: dt.datetime | None = None, reason: str | None = None,
           user: str) -> Official:
    """Freeze the quarter's official results in the database file (written as an import is, under the
    import lock, one transaction; the file as it was is kept in backups/). Returns the version stored.
    Raises ValueError in Chinese for a request that cannot be frozen (see check_request)."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise ValueError(f"数据库文件不存在: {db_path}")
    with load.exclusive(db_path), standby.writing(db_path, summaries=False) as (con, change):
        quarter, cutoff, reason = check_request(con, quarter, cutoff, reason)
        rank, good, lines = compute(con, quarter, cutoff)
        if rank.empty:
            raise ValueError(f"{quarter.label_zh}没有可排名的网格(没有登记居民),不能冻结")
        frozen_at = clock.now()
        version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM official_results WHERE quarter = $q",
                              {"q": quarter.label}).fetchone()[0]
        official = Official(quarter.label, version, cutoff, quarter.last_day, frozen_at, user, reason,
                            fingerprint(quarter.label, rank, good))
        keys = {"quarter": quarter.label, "version": version}
        change.backup = load.backup_path(db_path, f"freeze-{quarter.label}-v{version}")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("INSERT INTO official_results VALUES ($quarter, $version, $cutoff, $as_of, $at, $by, "
                        "$reason, $fingerprint)",
                        {**keys, "cutoff": cutoff, "as_of": quarter.last_day, "at": frozen_at, "by": user,
                         "reason": reason, "fingerprint": official.fingerprint})
            for table, frame, columns in (("official_ranking", rank, RANKING_COLUMNS),
                                          ("official_workers", good, WORKER_COLUMNS),
                                          ("official_ledger", lines, ["event_id", "grid_id", "points"])):
                rows = frame[columns].assign(**keys)[["quarter", "version", *columns]]
                con.register("frozen_rows", rows)
                # Table and column names are this module's constants, never input.
                con.execute(f"INSERT INTO {table} (quarter, version, {', '.join(columns)}) "
                            "SELECT * FROM frozen_rows")
                con.unregister("frozen_rows")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        change.rows += [[table, keys] for table in
                        ("official_results", "official_ranking", "official_workers", "official_ledger")]
    return official


def status(con, period, scope: Scope = COUNTY) -> str:
    """The mark a ranking of the period carries: the official result's label when the quarter is
    frozen, else an empty string."""
    frozen = latest(con, period)
    return frozen.label if frozen else ""


def corrections(con, quarter, scope: Scope = COUNTY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """公布后更正 of a frozen quarter: (grids, lines), both empty when it is not frozen. grids: every
    in-scope grid whose rank, average or residents differ between the official result and today's
    recomputation, changed ranks first, then by the size of the change of the average:
    community_name, grid_id, grid_name,
    official_rank, live_rank, official_avg, live_avg, avg_change (分/人), official_residents,
    live_residents, official_points, live_points. lines: the ledger lines behind the change (added
    after the cutoff, points corrected, removed, or counted in another grid since a registration
    changed): event_id, grid_id, grid_name, change (code), change_label, occurred_at, recorded_at,
    official_points, live_points, reverses_event_id."""
    quarter = parse_period(quarter)
    official = latest(con, quarter)
    if official is None:
        return _no_grids(), _no_lines()
    frozen = ranking(con, official)
    live = credit.grid_credit_ranking(con, quarter, live=True)
    both = frozen.merge(live, on="grid_id", how="outer", suffixes=("_o", "_l"))
    both["community_name"] = both["community_name_o"].fillna(both["community_name_l"])
    both["grid_name"] = both["grid_name_l"].fillna(both["grid_name_o"])
    grids = pd.DataFrame({
        "community_name": both["community_name"], "grid_id": both["grid_id"], "grid_name": both["grid_name"],
        "official_rank": both["rank_o"], "live_rank": both["rank_l"],
        "official_avg": both["avg_credit_o"], "live_avg": both["avg_credit_l"],
        "avg_change": both["avg_credit_l"] - both["avg_credit_o"],
        "official_residents": both["residents_o"].astype("Int64"), "live_residents": both["residents_l"].astype("Int64"),
        "official_points": both["points_o"], "live_points": both["points_l"],
    })
    changed = ((grids["official_rank"] != grids["live_rank"]).fillna(True)
               | (grids["official_avg"].round(9) != grids["live_avg"].round(9)).fillna(True)
               | (grids["official_residents"] != grids["live_residents"]).fillna(True))
    grids = _in_scope(grids[changed.astype(bool)], con, scope)
    # Changed ranks first, then the largest changes of the average.
    order = pd.DataFrame({"same_rank": (grids["official_rank"] == grids["live_rank"]).fillna(False).astype(bool),
                          "change": -grids["avg_change"].abs().fillna(float("inf")), "grid_id": grids["grid_id"]})
    grids = grids.loc[order.sort_values(["same_rank", "change", "grid_id"]).index].reset_index(drop=True)

    kept = con.execute("SELECT event_id, grid_id, points FROM official_ledger WHERE quarter = $q AND version = $v",
                       {"q": official.quarter, "v": official.version}).df()
    now = _lines(con, quarter)
    lines = kept.merge(now, on="event_id", how="outer", suffixes=("_o", "_l"), indicator=True)
    change = pd.Series(None, index=lines.index, dtype=object)
    change[lines["_merge"] == "left_only"] = "removed"
    added = lines["_merge"] == "right_only"
    change[added & (lines["recorded_at"] > official.cutoff)] = "late"
    earlier = lines["recorded_at"].isna() | (lines["recorded_at"] <= official.cutoff)
    change[added & earlier] = "backdated"
    common = lines["_merge"] == "both"
    change[common & (lines["grid_id_o"] != lines["grid_id_l"])] = "moved"
    change[common & (lines["grid_id_o"] == lines["grid_id_l"]) & (lines["points_o"] != lines["points_l"])] = "corrected"
    lines["change"] = change
    lines = lines[lines["change"].notna()].copy()
    lines["grid_id"] = lines["grid_id_l"].fillna(lines["grid_id_o"])
    names = con.execute("SELECT grid_id, name FROM grids").df().set_index("grid_id")["name"]
    out = pd.DataFrame({
        "event_id": lines["event_id"].astype("Int64"), "grid_id": lines["grid_id"],
        "grid_name": lines["grid_id"].map(names), "change": lines["change"],
        "change_label": lines["change"].map(CHANGES), "occurred_at": lines["occurred_at"],
        "recorded_at": lines["recorded_at"], "official_points": lines["points_o"], "live_points": lines["points_l"],
        "reverses_event_id": lines["reverses_event_id"].astype("Int64"),
    })
    # A line moved between grids concerns both: shown when either is in scope.
    grids_in = scope.grid_ids(con)
    if grids_in is not None:
        touched = out["grid_id"].isin(grids_in) | lines["grid_id_o"].isin(grids_in).to_numpy()
        out = out[touched]
    return grids, out.sort_values(["grid_id", "event_id"]).reset_index(drop=True)
