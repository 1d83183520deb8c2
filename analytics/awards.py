"""The check before an award (评选前核实): which red-flag grids, and so which excellent grid workers,
are 待核实, and whether they are named pending the check. One decision, made on the ranking itself
(credit.grid_credit_ranking), so that every page, meeting mode and file of the pack read the same."""

from pathlib import Path

import pandas as pd

from . import access, audit, clock, db, settings
from .period import COUNTY, Period, Scope, parse_period

MODES = ("award", "withhold")
LABELS = {"awarded": "红旗网格", "pending": "红旗网格(待核实)", "withheld": "待核实(暂缓评定)"}


def open_checks(con, period: Period) -> pd.DataFrame:
    """What is still to be checked about each grid's figures for the period: its integrity flags not
    marked 已核实 (verify_flag), its open appeals (analytics.appeals.open_appeals) and its ledger lines
    off the catalogue not approved as adjustments. Columns: grid_id, check_reason (the items,
    ';'-separated)."""
    from .appeals import open_appeals
    from .credit import integrity_flags

    flags = integrity_flags(con, period, COUNTY)
    flags = flags[~flags["checked"]][["grid_id", "flag_label"]].rename(columns={"flag_label": "item"})
    appeals = open_appeals(con, period)
    appeals = pd.DataFrame({"grid_id": appeals["grid_id"], "item": "异议申诉 " + appeals["appeal_id"] + " 未处理完毕"})
    off = con.execute("""
        SELECT p.grid_id, '与指标目录不符的积分记录 ' || count(*) || ' 条(未标为调整)' AS item
        FROM credit_events e JOIN people p ON e.subject_type = 'person' AND p.person_id = e.subject_id
        JOIN credit_indicators i USING (indicator_code)
        WHERE e.occurred_at >= $start AND e.occurred_at < $end AND NOT coalesce(e.adjustment, false)
          AND ((e.reverses_event_id IS NULL AND e.points <> i.points) OR e.occurred_at < i.valid_from
               OR e.occurred_at >= i.valid_to + INTERVAL 1 DAY)
        GROUP BY 1
    """, {"start": period.start, "end": period.end}).df()
    items = pd.concat([flags, appeals, off], ignore_index=True).dropna(subset=["grid_id"])
    return (items.groupby("grid_id", sort=True)["item"].agg(";".join).rename("check_reason").reset_index())


def check_awards(con, period: Period, ranking: pd.DataFrame, red_flags: int = settings.RED_FLAGS_PER_COMMUNITY,
                 mode: str = settings.AWARD_PENDING_CHECK) -> pd.DataFrame:
    """The ranking of every grid of the communities it holds (rank within the community) with the check
    applied. Adds pending (待核实: a grid that would be named, or would be named but for the check, with
    something open), check_reason (what, for those) and award_label (红旗网格, 红旗网格(待核实) or
    待核实(暂缓评定), empty for the rest). mode "award": red_flag stays as ranked, pending grids marked;
    "withhold": red_flag only for grids with nothing open, ranked among themselves (the next grid takes
    a withheld grid's place; ties at the cut all qualify)."""
    if mode not in MODES:
        raise ValueError(f"AWARD_PENDING_CHECK 只能是 award 或 withhold,收到: {mode!r}")
    out = ranking.merge(open_checks(con, period), on="grid_id", how="left")
    has_check = out["check_reason"].notna()
    by_rank = out["rank"] <= red_flags
    if mode == "withhold":
        clean_rank = (out["avg_credit"].round(9).where(~has_check)
                      .groupby(out["community_id"]).rank(method="min", ascending=False))
        out["red_flag"] = (clean_rank <= red_flags).to_numpy()
        last_named = out["rank"].where(out["red_flag"]).groupby(out["community_id"]).transform("max")
        out["pending"] = has_check & (by_rank | (out["rank"] <= last_named.fillna(0)))
        status = pd.Series(None, index=out.index, dtype=object).mask(out["red_flag"], "awarded").mask(out["pending"], "withheld")
    else:
        out["pending"] = has_check & out["red_flag"]
        status = pd.Series(None, index=out.index, dtype=object).mask(out["red_flag"], "awarded").mask(out["pending"], "pending")
    out["check_reason"] = out["check_reason"].where(out["pending"])
    out["award_label"] = status.map(LABELS).fillna("")
    out["pending"] = out["pending"].astype(bool)
    out["red_flag"] = out["red_flag"].astype(bool)
    return out


# -- 已核实 ------------------------------------------------------------------------------------

def flag_checks(con, period) -> pd.DataFrame:
    """The integrity flags of the period marked 已核实: grid_id, flag, checked_by, checked_at, check_note."""
    return con.execute("""
        SELECT grid_id, flag, checked_by, checked_at, reason AS check_note FROM flag_checks
        WHERE period = $period ORDER BY grid_id, flag
    """, {"period": parse_period(period).label}).df()


def verify_flag(con, period, grid_id: str, flag: str, reason: str, *, checked_by: str, area=None) -> None:
    """Mark a grid's integrity flag of the period 已核实 on a writable connection: from then on it no
    longer holds the grid's award. Bad input raises ValueError in Chinese; a grid outside `area` (the
    user's places) raises access.Denied."""
    from .appeals import in_area
    from .credit import INTEGRITY_FLAGS, integrity_flags

    period = parse_period(period)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("请填写核实说明:为什么这条提示不影响评选")
    if flag not in INTEGRITY_FLAGS:
        raise ValueError(f"提示类型只能是 {'、'.join(f'{k}({v})' for k, v in INTEGRITY_FLAGS.items())},收到: {flag!r}")
    name = con.execute("SELECT name FROM grids WHERE grid_id = $g", {"g": grid_id}).fetchone()
    if name is None:
        raise ValueError(f"网格 {grid_id!r} 不存在")
    in_area(area, grid_id)
    raised = integrity_flags(con, period, Scope(grids=(grid_id,)))
    if flag not in set(raised["flag"]):
        raise ValueError(f"{name[0]}{period.label_zh}没有「{INTEGRITY_FLAGS[flag]}」提示,无需核实")
    done = con.execute("SELECT checked_by, checked_at FROM flag_checks WHERE period = $p AND grid_id = $g AND flag = $f",
                       {"p": period.label, "g": grid_id, "f": flag}).fetchone()
    if done is not None:
        raise ValueError(f"{name[0]}{period.label_zh}的「{INTEGRITY_FLAGS[flag]}」已于 {done[1]:%Y-%m-%d %H:%M} "
                         f"由 {done[0]} 核实")
    con.execute("INSERT INTO flag_checks VALUES ($p, $g, $f, $by, $at, $why)",
                {"p": period.label, "g": grid_id, "f": flag, "by": checked_by,
                 "at": clock.now().replace(microsecond=0), "why": reason})


def verify(db_path, user: access.User | None, period, grid_id: str, flag: str, reason: str, *,
           checked_by: str | None = None) -> None:
    """Mark an integrity flag 已核实 in the database file on a user's behalf (permission "verify", the
    grid within the user's places), audited. checked_by: who, as stored (default the user's name)."""
    from .appeals import writable
    from .credit import INTEGRITY_FLAGS

    db_path = Path(db_path or db.default_db_path())
    access.require(user, "verify")
    period = parse_period(period)
    who = checked_by or (user.name if user else "")
    with writable(db_path) as (con, change):
        area = access.with_area(user, con).area if user is not None else None
        verify_flag(con, period, grid_id, flag, reason, checked_by=who, area=area)
        change.rows.append(["flag_checks", {"period": period.label, "grid_id": grid_id, "flag": flag}])
    audit.record("flag_check", user.name if user else who, f"{period.label} {grid_id} {INTEGRITY_FLAGS[flag]}",
                 reason, path=audit.default_path(db_path))
