"""综合考评: a grid's composite evaluation beside its credit ranking, from the components the
county's evaluation systems also weigh (on-time rate, rework, satisfaction), with each component's
figure and score so a leader sees why a grid scored as it did."""

import pandas as pd

from . import credit, settings, tickets, workdays
from .period import COUNTY, Scope, parse_period

COMPONENTS = {"credit": "信用", "on_time": "按时", "rework": "返工", "satisfaction": "满意"}


def grid_evaluation(con, period, scope: Scope = COUNTY, *, weights: dict | None = None) -> pd.DataFrame:
    """One row per ranked grid (see credit.grid_credit_ranking), best composite first within each
    community. Columns: community_id, community_name, grid_id, grid_name, avg_credit (分/人) and
    credit_rank; the figures on_time_share (steps completed in time, 0-1), rework_share (tickets
    published in the period and reopened after, 0-1), mean_score (ratings, 1-5); the scores 0-100
    credit_score (avg_credit / the community's best avg_credit), on_time_score, rework_score
    (1 - rework_share), satisfaction_score (mean_score / 5), each null without figures; composite
    (the weights' mean over the scores present, settings.EVALUATION_WEIGHTS); rank (RANK() of
    composite within the community)."""
    period = parse_period(period)
    weights = settings.EVALUATION_WEIGHTS if weights is None else weights
    ranking = credit.grid_credit_ranking(con, period, scope)
    frame = (ranking[["community_id", "community_name", "grid_id", "grid_name", "avg_credit", "rank"]]
             .rename(columns={"rank": "credit_rank"})
             .merge(workdays.on_time_by_grid(con, period, scope)[["grid_id", "on_time_share"]], on="grid_id", how="left")
             .merge(tickets.rework_by_grid(con, period, scope)[["grid_id", "rework_share"]], on="grid_id", how="left")
             .merge(tickets.ticket_ratings_by_grid(con, period, scope)[["grid_id", "mean_score"]], on="grid_id", how="left"))
    best = frame.groupby("community_id")["avg_credit"].transform("max")
    frame["credit_score"] = (100 * frame["avg_credit"].clip(lower=0) / best).where(best > 0)
    frame["on_time_score"] = 100 * frame["on_time_share"]
    frame["rework_score"] = 100 * (1 - frame["rework_share"])
    frame["satisfaction_score"] = 100 * frame["mean_score"] / 5
    scores = frame[[f"{c}_score" for c in COMPONENTS]].astype(float)
    weight = pd.Series({f"{c}_score": float(weights.get(c, 0)) for c in COMPONENTS})
    present = scores.notna().mul(weight, axis=1).sum(axis=1)
    frame["composite"] = (scores.fillna(0).mul(weight, axis=1).sum(axis=1) / present).where(present > 0)
    frame["rank"] = frame.groupby("community_id")["composite"].rank(method="min", ascending=False).astype("Int64")
    return frame.sort_values(["community_id", "rank", "grid_id"]).reset_index(drop=True)


def worker_service(con, period, scope: Scope = COUNTY) -> pd.DataFrame:
    """The grid worker in office at the period's end of each grid with tickets, and the grid's
    on-time and rework figures: community_name, grid_id, grid_name, person_id, worker_name
    (masked), steps_completed, on_time_share (0-1), published, rework_share (0-1)."""
    period = parse_period(period)
    grids = credit.grid_credit_ranking(con, period, scope)[["community_name", "grid_id", "grid_name"]]
    on_time = workdays.on_time_by_grid(con, period, scope)[["grid_id", "steps_completed", "on_time_share"]]
    rework = tickets.rework_by_grid(con, period, scope)[["grid_id", "published", "rework_share"]]
    workers = credit.current_grid_workers(con, period.last_day).rename(columns={"name": "worker_name"})
    frame = (grids.merge(workers, on="grid_id").merge(on_time, on="grid_id", how="left")
             .merge(rework, on="grid_id", how="left"))
    frame = frame[frame["steps_completed"].notna() | frame["published"].notna()]
    for column in ("steps_completed", "published"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame.reset_index(drop=True)
