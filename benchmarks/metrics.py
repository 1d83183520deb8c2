"""Benchmark: each page metric from the registry against a straightforward pandas version of
the same figure, on a scaled demo database. Prints figures; asserts nothing.

    python -m benchmarks metrics [--scale F] [--db PATH] [--period 2026Q3] [--repeat N]
"""

import datetime as dt
import math
import statistics
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics import db, demo, metrics, settings, summary, vocab
from analytics.facilities import CHARGING_TICKET_CATEGORY, EARTH_RADIUS_METRES
from analytics.period import parse_period, quarter_of

STEPS = vocab.WORKFLOW_STEPS


def _q(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _ts(day) -> pd.Timestamp:
    return pd.Timestamp(day)


# --- pandas versions: load the base tables, then groupby/merge ------------------------------

def _person_events(con) -> pd.DataFrame:
    ev = _q(con, "SELECT subject_type, subject_id, points, occurred_at FROM credit_events")
    return ev[ev["subject_type"] == "person"]


def _ticket_facts(con) -> pd.DataFrame:
    """One row per ticket: first time at each step; published_at is the last publication unless
    the ticket was reopened after it (as summary.TICKET_FACTS)."""
    tickets = _q(con, "SELECT ticket_id, grid_id, category FROM tickets")
    ev = _q(con, "SELECT ticket_id, step, occurred_at FROM ticket_events")
    first = ev.groupby(["ticket_id", "step"])["occurred_at"].min().unstack()
    last = ev.groupby(["ticket_id", "step"])["occurred_at"].max().unstack()
    facts = pd.DataFrame(index=first.index)
    for step in STEPS[:-1]:
        facts[f"{step}_at"] = first.get(step)
    pub, reo = last.get("published"), last.get("reopened")
    facts["published_at"] = pub.where(reo.isna() | (pub > reo)) if reo is not None else pub
    return tickets.merge(facts, left_on="ticket_id", right_index=True, how="left")


def _between(s: pd.Series, period) -> pd.Series:
    return (s >= _ts(period.start)) & (s < _ts(period.end))


def pd_ranking(con, period):
    people = _q(con, "SELECT person_id, grid_id FROM people")
    grids = _q(con, "SELECT grid_id, community_id FROM grids")
    ev = _person_events(con).merge(people, left_on="subject_id", right_on="person_id")
    residents = people.dropna(subset=["grid_id"]).groupby("grid_id").size().rename("residents")
    out = grids.merge(residents, left_on="grid_id", right_index=True)
    for name, p in (("cur", period), ("prev", period.previous())):
        pts = ev[_between(ev["occurred_at"], p)].groupby("grid_id")["points"].sum().rename(name)
        out = out.merge(pts, left_on="grid_id", right_index=True, how="left").fillna({name: 0})
    out["avg_credit"] = out["cur"] / out["residents"]
    # Rounded before ranking, as the definition says, so equal averages tie.
    out["rank"] = out.assign(r=out["avg_credit"].round(9)).groupby("community_id")["r"].rank(
        method="min", ascending=False)
    return out


def _level(balance: pd.Series) -> pd.Series:
    conditions = [balance >= low for _, _, low in settings.CREDIT_LEVELS if low is not None]
    codes = [code for code, _, _ in settings.CREDIT_LEVELS]
    return pd.Series(np.select(conditions, codes[:-1], codes[-1]), index=balance.index)


def pd_levels(con, period):
    people = _q(con, "SELECT person_id FROM people")
    ev = _person_events(con)
    bal = ev[ev["occurred_at"] < _ts(period.end)].groupby("subject_id")["points"].sum().round(2)
    people["balance"] = people["person_id"].map(bal).fillna(0)
    counts = _level(people["balance"]).value_counts()
    return pd.DataFrame({"level": [c for c, _, _ in settings.CREDIT_LEVELS]}).assign(
        people=lambda d: d["level"].map(counts).fillna(0))


def pd_publication(con, period):
    ev = _person_events(con)
    month = ev[_between(ev["occurred_at"], period)].groupby("subject_id")["points"].agg(["size", "sum"])
    month.columns = ["events", "points"]
    earlier = ev[(ev["occurred_at"] < _ts(period.end)) & ev["subject_id"].isin(month.index)]
    month["balance"] = earlier.groupby("subject_id")["points"].sum()
    out = (month.round(2).reset_index().rename(columns={"subject_id": "person_id"})
           .merge(_q(con, "SELECT person_id, grid_id FROM people"), on="person_id")
           .merge(_q(con, "SELECT grid_id, community_id FROM grids"), on="grid_id"))
    out = out.sort_values(["community_id", "grid_id", "points", "person_id"], ascending=[True, True, False, True])
    out["level_label"] = _level(out["balance"]).map(dict((c, lbl) for c, lbl, _ in settings.CREDIT_LEVELS))
    return out


def pd_resolution(con, period):
    f = _ticket_facts(con)
    f = f[_between(f["published_at"], period) & f["filed_at"].notna() & f["grid_id"].notna()]
    days = (f["published_at"] - f["filed_at"]).dt.total_seconds() / 86400
    g = days.groupby(f["grid_id"])
    return pd.DataFrame({"tickets": g.size(), "median_days": g.median(), "p90_days": g.quantile(0.9),
                         "mean_days": g.mean()}).reset_index()


def pd_step_durations(con, period):
    f = _ticket_facts(con)
    f = f[_between(f["published_at"], period)]
    rows = []
    for a, b in zip(STEPS[:-1], STEPS[1:]):
        hours = ((f[f"{b}_at"] - f[f"{a}_at"]).dt.total_seconds() / 3600).dropna()
        rows.append((a, len(hours), hours.median(), hours.quantile(0.9)))
    return pd.DataFrame(rows, columns=["from_step", "tickets", "median_hours", "p90_hours"])


def pd_funnel(con, period):
    f = _ticket_facts(con)
    f = f[_between(f["filed_at"], period)]
    return pd.DataFrame({"step": STEPS, "reached": [f[f"{s}_at"].notna().sum() for s in STEPS]})


def pd_backlog(con, period):
    end = _ts(period.end)
    f = _ticket_facts(con)
    f = f[(f["filed_at"] < end) & (f["published_at"].isna() | (f["published_at"] >= end))].copy()
    f["current_step"] = None
    for step in STEPS[:-1]:  # later steps overwrite earlier ones
        f.loc[f[f"{step}_at"] < end, "current_step"] = step
    f["age_days"] = (end - f["filed_at"]).dt.total_seconds() / 86400
    g = f.groupby("current_step")["age_days"]
    return pd.DataFrame({"tickets": g.size(), "median_age_days": g.median(), "max_age_days": g.max()}).reindex(
        STEPS[:-1]).fillna({"tickets": 0}).rename_axis("current_step").reset_index()


def pd_volunteers_by_month(con, period):
    act = _q(con, "SELECT person_id, started_at, hours FROM volunteer_activities")
    act = act[_between(act["started_at"], period)].merge(
        _q(con, "SELECT person_id, is_party_member FROM people"), on="person_id", how="left")
    act["label"] = act["started_at"].dt.strftime("%Y-%m")
    g = act.groupby("label")
    return pd.DataFrame({"active_volunteers": g["person_id"].nunique(), "activities": g.size(),
                         "hours": g["hours"].sum()}).reindex([m.label for m in period.months()], fill_value=0
                                                            ).rename_axis("label").reset_index()


def pd_redemptions(con, period):
    r = _q(con, "SELECT person_id, scenario_id, points, redeemed_at FROM redemptions")
    scen = _q(con, "SELECT scenario_id, value_yuan FROM redemption_scenarios")
    r = (r[_between(r["redeemed_at"], period)].merge(_q(con, "SELECT person_id FROM people"), on="person_id")
         .merge(scen, on="scenario_id", how="left"))
    g = r.groupby("scenario_id")
    agg = pd.DataFrame({"redemptions": g.size(), "redeemers": g["person_id"].nunique(),
                        "points_spent": g["points"].sum(), "value_yuan": g["value_yuan"].sum()})
    return scen[["scenario_id"]].merge(agg, left_on="scenario_id", right_index=True, how="left").fillna(0)


def _open_facilities(con, period) -> pd.DataFrame:
    f = _q(con, "SELECT facility_type, grid_id, lat, lon, opened_on FROM facilities")
    return f[f["opened_on"].isna() | (pd.to_datetime(f["opened_on"]) <= _ts(period.last_day))]


def pd_coverage(con, period):
    b = _q(con, "SELECT building_id, grid_id, lat, lon, households FROM buildings")
    b = b.merge(_q(con, "SELECT grid_id FROM grids"), on="grid_id")
    f = _open_facilities(con, period)
    f = f[f["facility_type"].isin(settings.SERVICE_CIRCLE_FACILITIES)].dropna(subset=["lat", "lon"])
    pairs = b.dropna(subset=["lat", "lon"]).merge(f[["lat", "lon"]], how="cross", suffixes=("", "_f"))
    lat1, lat2 = np.radians(pairs["lat"]), np.radians(pairs["lat_f"])
    dlon = np.radians(pairs["lon_f"] - pairs["lon"])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    pairs["metres"] = 2 * EARTH_RADIUS_METRES * np.arcsin(np.minimum(1, np.sqrt(h)))
    nearest = pairs.groupby("building_id")["metres"].min()
    b["covered"] = b["building_id"].map(nearest).le(settings.SERVICE_CIRCLE_METRES)
    b["households"] = b["households"].fillna(0)
    b["households_covered"] = b["households"].where(b["covered"], 0)
    g = b.groupby("grid_id")
    return pd.DataFrame({"buildings": g.size(), "buildings_covered": g["covered"].sum(),
                         "households_covered": g["households_covered"].sum()}).reset_index()


def pd_charging(con, period):
    grids = _q(con, "SELECT grid_id FROM grids")
    f = _open_facilities(con, period).dropna(subset=["grid_id"])
    f = f[f["facility_type"].isin(settings.CHARGING_FACILITIES)]
    t = _q(con, "SELECT ticket_id, grid_id, category FROM tickets").merge(
        _q(con, "SELECT ticket_id, step, occurred_at FROM ticket_events"), on="ticket_id")
    t = t[(t["category"] == CHARGING_TICKET_CATEGORY) & (t["step"] == "filed") & _between(t["occurred_at"], period)]
    grids["charging_facilities"] = grids["grid_id"].map(f.groupby("grid_id").size()).fillna(0)
    grids["charging_tickets"] = grids["grid_id"].map(t.groupby("grid_id")["ticket_id"].nunique()).fillna(0)
    return grids


# (metric id, pandas version, key columns, compared columns); the check is on these figures.
CASES = [
    ("grid-credit-ranking", pd_ranking, ["grid_id"], ["residents", "avg_credit", "rank"]),
    ("ticket-resolution", pd_resolution, ["grid_id"], ["tickets", "median_days", "p90_days"]),
    ("ticket-step-durations", pd_step_durations, ["from_step"], ["tickets", "median_hours", "p90_hours"]),
    ("ticket-funnel", pd_funnel, ["step"], ["reached"]),
    ("ticket-backlog", pd_backlog, ["current_step"], ["tickets", "median_age_days", "max_age_days"]),
    ("credit-levels", pd_levels, ["level"], ["people"]),
    ("monthly-publication", pd_publication, ["row"], ["events", "points", "balance", "level_label"]),
    ("volunteers-by-month", pd_volunteers_by_month, ["label"], ["active_volunteers", "activities", "hours"]),
    ("redemptions-by-scenario", pd_redemptions, ["scenario_id"],
     ["redemptions", "redeemers", "points_spent", "value_yuan"]),
    ("service-coverage", pd_coverage, ["grid_id"], ["buildings", "buildings_covered", "households_covered"]),
    ("charging-supply", pd_charging, ["grid_id"], ["charging_facilities", "charging_tickets"]),
]
MONTHLY = {"monthly-publication"}  # shown for one month: the period's last


def differences(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str], cols: list[str],
                tol: float = 1e-6) -> list[str]:
    """Columns (or 'rows') on which the two results disagree; empty when they agree."""
    if len(ours) != len(theirs):
        return ["rows"]
    if keys == ["row"]:  # compared line by line, in the order the list is published
        ours, theirs = (f.reset_index(drop=True).rename_axis("row").reset_index() for f in (ours, theirs))
    both = ours[keys + cols].merge(theirs[keys + cols], on=keys, how="outer", suffixes=("_db", "_pd"),
                                   indicator=True)
    if (both["_merge"] != "both").any():
        return ["rows"]
    bad = []
    for c in cols:
        x, y = both[f"{c}_db"], both[f"{c}_pd"]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            x, y = x.astype(float), y.astype(float)
            ok = ((x - y).abs() <= tol) | (x.isna() & y.isna())
        else:
            ok = (x.astype(object) == y.astype(object)) | (x.isna() & y.isna())
        if not ok.all():
            bad.append(c)
    return bad


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _scale_of(path: Path) -> float | None:
    try:
        with db.connect(path, read_only=True) as con:
            return float(db.get_meta(con, "demo_scale"))
    except (duckdb.Error, TypeError, ValueError):
        return None


def ensure_database(scale: float, path: Path, out=print) -> Path:
    if path.exists() and _scale_of(path) == float(scale):
        with db.connect(path) as con:
            if not summary.is_fresh(con):
                out("汇总表已过期,正在重建……")
                summary.refresh(con)
        return path
    out(f"正在生成规模 {scale:g} 的演示数据库 {path} …")
    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    demo.build_demo_file(path, scale=scale)
    out(f"已生成,用时 {time.perf_counter() - t0:.1f} 秒")
    return path


def run(scale: float = 1.0, db_path: Path | None = None, period: str | None = None, repeat: int = 5,
        out=print) -> int:
    path = Path(db_path) if db_path else db.ROOT / "data" / f"bench-scale{scale:g}.duckdb"
    ensure_database(scale, path, out)
    with db.connect(path, read_only=True) as con:
        as_of = dt.date.fromisoformat(db.get_meta(con, "as_of"))
        period = parse_period(period) if period else quarter_of(as_of).previous()
        out(f"数据库 {path.name}(规模 {scale:g}),统计期 {period.label_zh}(一月一公示取 {period.months()[-1].label_zh}),"
            f"DuckDB 取 {repeat} 次中位数,pandas 取 {max(1, repeat // 2)} 次中位数(含读表)")
        width = max(len(mid) for mid, *_ in CASES)
        results = []
        for mid, pandas_fn, keys, cols in CASES:
            metric, p = metrics.get(mid), (period.months()[-1] if mid in MONTHLY else period)
            ours = metric.compute(con, p)  # warm-up, untimed; also the result checked below
            duck_ms = _median_ms(lambda: metric.compute(con, p), repeat)
            theirs = pandas_fn(con, p)
            pandas_ms = _median_ms(lambda: pandas_fn(con, p), max(1, repeat // 2))
            bad = differences(ours, theirs, keys, cols)
            ratio = pandas_ms / duck_ms
            verdict = "一致" if not bad else f"不一致({', '.join(bad)})"
            shown = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
            out(f"{mid:<{width}}  DuckDB {duck_ms:8.1f} ms   pandas {pandas_ms:8.1f} ms   ×{shown:<5} {verdict}")
            results.append((mid, duck_ms, ratio, not bad))
    slowest = max(results, key=lambda r: r[1])
    fast = sum(r[1] < 100 for r in results)
    geo = math.exp(statistics.fmean(math.log(r[2]) for r in results))
    agree = sum(r[3] for r in results)
    out(f"共 {len(results)} 项指标:DuckDB 最慢 {slowest[0]} {slowest[1]:.1f} ms;{fast}/{len(results)} 项在 100 ms 以内;"
        f"结果一致 {agree}/{len(results)} 项;比 pandas 快 ×{geo:.0f}(几何平均)")
    return 0
