"""异议申诉: a handful of appeals each quarter against ledger lines and rankings, raised while the
month's publication is posted; most are rejected, some upheld and put right by a reversal carrying
the appeal's id, and the most recent still open."""

import numpy as np
import pandas as pd

from .county import County

REJECTED = ["经核实,积分记录与事实相符", "赋分依据充分,符合指标目录", "申诉人所述情况不属于扣分撤销情形"]
UPHELD = ["经核实记录有误,予以冲正", "重复记录,予以冲正", "当事人已整改且经核实不属实,撤销扣分"]
REASONS_DEDUCTION = ["本人未有该行为,要求核实", "已当场整改,不应扣分", "扣分对象登记错误"]
REASONS_AWARD = ["同一活动被重复加分", "该户并未参加,加分不实"]
REASONS_RANKING = ["本网格部分加分集中在季度末,排名有失公平", "居民人数统计有误,人均积分偏低"]


def appeals(rng: np.random.Generator, county: County, events: pd.DataFrame, people: pd.DataFrame,
            grids: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The `appeals` table and the ledger events that put the upheld ones right (appended to the
    ledger by the caller, numbered after its last event)."""
    lines = events[(events["subject_type"] == "person") & events["reverses_event_id"].isna()
                   & ~events["event_id"].isin(events["reverses_event_id"].dropna())]
    rows, fixes = [], []
    next_event = int(events["event_id"].max()) + 1
    per_year = {}
    grid_of = dict(zip(people["person_id"], people["grid_id"]))
    end = county.end
    for q in county.quarters:
        q_start, q_end = max(q.start_time, county.start), min(q.end_time, county.end_of_data)
        in_q = lines[(lines["occurred_at"] >= q_start) & (lines["occurred_at"] <= q_end)]
        # Deductions draw most of the objections.
        weight = np.where(in_q["points"].to_numpy() < 0, 8.0, 1.0)
        n = min(len(in_q), rng.poisson(county.scaled(5, 0) + 0.5))
        chosen = in_q.iloc[rng.choice(len(in_q), n, replace=False, p=weight / weight.sum())] if n else in_q.iloc[:0]
        targets = [("event", e) for e in chosen.itertuples()]
        if rng.random() < 0.6:
            targets.append(("ranking", grids["grid_id"].iat[rng.integers(len(grids))]))
        for kind, target in targets:
            if kind == "event":
                month_end = (pd.Timestamp(target.occurred_at) + pd.offsets.MonthBegin(1)).normalize()
            else:
                month_end = (q.end_time + pd.Timedelta(seconds=1)).normalize()
            raised = month_end + pd.Timedelta(days=int(rng.integers(0, 12)))
            if raised > end:
                continue
            decided = raised + pd.Timedelta(days=int(rng.choice([1, 2, 3, 5, 6, 8, 12, 20, 30],
                                                                  p=[.1, .15, .2, .2, .13, .1, .06, .03, .03])))
            upheld = kind == "event" and rng.random() < 0.25
            status = "upheld" if upheld else "rejected"
            if decided > end:
                status, decided = ("accepted" if rng.random() < 0.5 else "pending"), None
            year = raised.year
            per_year[year] = per_year.get(year, 0) + 1
            appeal_id = f"A{year}-{per_year[year]:04d}"
            row = {"appeal_id": appeal_id, "raised_on": raised.date(), "status": status,
                   "decided_on": decided.date() if decided is not None else None, "correcting_event_id": None}
            if kind == "event":
                grid = grid_of.get(target.subject_id)
                residents = people.loc[people["grid_id"] == grid, "person_id"].to_numpy() if grid else []
                # Mostly the person scored; sometimes a neighbour on their behalf.
                raiser = residents[rng.integers(len(residents))] if len(residents) and rng.random() < 0.2 else target.subject_id
                reasons = REASONS_DEDUCTION if target.points < 0 else REASONS_AWARD
                row.update(event_id=int(target.event_id), raised_by=raiser, reason=reasons[rng.integers(len(reasons))])
            else:
                residents = people.loc[people["grid_id"] == target, "person_id"]
                row.update(quarter=f"{q.year}Q{q.quarter}", grid_id=target,
                           raised_by=residents.iat[0] if len(residents) else None,
                           raised_by_name=None if len(residents) else "网格居民代表",
                           reason=REASONS_RANKING[rng.integers(len(REASONS_RANKING))])
            if status in ("upheld", "rejected"):
                texts = UPHELD if upheld else REJECTED
                row["decision_reason"] = texts[rng.integers(len(texts))]
            if upheld:
                row["correcting_event_id"] = next_event
                fixes.append({"event_id": next_event, "subject_type": "person", "subject_id": target.subject_id,
                              "indicator_code": target.indicator_code, "points": -target.points,
                              "occurred_at": target.occurred_at, "recorded_at": decided + pd.Timedelta(hours=10),
                              "recorded_by": target.recorded_by, "reverses_event_id": int(target.event_id),
                              "note": f"异议申诉 {appeal_id} 支持:{row['decision_reason']}", "appeal_id": appeal_id})
                next_event += 1
            rows.append(row)
    columns = ["appeal_id", "event_id", "quarter", "grid_id", "raised_by", "raised_by_name", "raised_on", "reason",
               "status", "decided_on", "decision_reason", "correcting_event_id"]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("event_id", "correcting_event_id"):
        table[column] = table[column].astype("Int64")
    # In the ledger's types even when empty, so that the ledger keeps them once the two are joined.
    fixes = pd.DataFrame(fixes, columns=[*events.columns, "appeal_id"]).astype(events.dtypes.to_dict())
    return table, fixes
