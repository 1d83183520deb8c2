"""The check before an award (评选前核实): which red-flag grids, and so which excellent grid workers,
are 待核实, and whether they are named pending the check. One decision, made on the ranking itself
(credit.grid_credit_ranking), so that every page, meeting mode and file of the pack read the same."""

import pandas as pd

from . import settings
from .period import COUNTY, Period

MODES = ("award", "withhold")
LABELS = {"awarded": "红旗网格", "pending": "红旗网格(待核实)", "withheld": "待核实(暂缓评定)"}


def open_checks(con, period: Period) -> pd.DataFrame:
    """What is still to be checked about each grid's figures for the period: its integrity flags, its
    open appeals (analytics.appeals.open_appeals) and its ledger lines off the catalogue not approved
    as adjustments. Columns: grid_id, check_reason (the items, ';'-separated)."""
    from .appeals import open_appeals
    from .credit import integrity_flags

    flags = integrity_flags(con, period, COUNTY)[["grid_id", "flag_label"]].rename(columns={"flag_label": "item"})
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
