"""Consultation in the grid (协商进网格): the tickets of 五单一公开, every step of each (with
escalations to departments, reopenings and the flaws of data as it arrives) and the ratings."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import geo, names, vocab
from .county import County
from .geography import Geography
from .people import Officials
from .service import DONGYUE

TICKETS_YTD = (1400, 1499)  # the article's "1,400+" this year, at scale 1

TICKET_CATEGORY_SHARE = {
    "parking_charging": 0.19, "environment": 0.15, "property": 0.15, "noise": 0.10,
    "facilities": 0.10, "dispute": 0.08, "safety": 0.08, "renovation": 0.06,
    "business": 0.05, "greenery": 0.04,
}
CHANNEL_SHARE = {
    "photo_report": 0.27, "in_person": 0.22, "hotline": 0.15, "stool_chat": 0.14,
    "deliberation_hall": 0.11, "appointment": 0.11,
}
ESCALATION_DEPARTMENTS = {
    "parking_charging": ["power_supply", "property_company", "housing"],
    "environment": ["law_enforcement", "ecology"],
    "property": ["property_company", "housing"],
    "noise": ["law_enforcement", "ecology"],
    "facilities": ["housing", "property_company"],
    "dispute": ["property_company"],
    "safety": ["law_enforcement", "power_supply", "housing"],
    "renovation": ["housing"],
    "business": ["market_regulation", "law_enforcement"],
    "greenery": ["housing"],
}
# Median hours of each step transition; execution (decided -> rated) depends on the category.
STEP_MEDIAN_HOURS = {"accepted": 3.0, "discussed": 30.0, "decided": 44.0, "rated": 96.0, "published": 20.0}
EXECUTION_FACTOR = {"renovation": 3.0, "safety": 1.3, "facilities": 1.4, "dispute": 0.8, "noise": 0.7}


@dataclass(frozen=True)
class Tickets:
    tickets: pd.DataFrame
    events: pd.DataFrame
    ratings: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"tickets": self.tickets, "ticket_events": self.events, "ticket_ratings": self.ratings}


def tickets(rng: np.random.Generator, county: County, area: Geography, people: pd.DataFrame,
            officials: Officials, shed_opening: pd.Timestamp) -> Tickets:
    g, p = area.grids, people
    ytd_days = (county.end - county.year_start).days + 1
    lo, hi = TICKETS_YTD
    want_ytd = county.scaled(int(rng.integers(lo + 10, hi - 10)))
    daily = want_ytd / ytd_days if ytd_days >= 90 else 4.5 * county.scale
    days = pd.date_range(county.start, county.end, freq="D")
    # Growth as the method spread: earlier years see fewer tickets per day.
    years_back = (county.end.year - days.year).to_numpy()
    season = 1 + 0.25 * np.sin((days.day_of_year.to_numpy() - 100) / 365 * 2 * np.pi)
    weekday = np.where(days.day_of_week.to_numpy() >= 5, 0.6, 1.1)
    weight = season * weekday * np.array([1.0, 0.85, 0.7, 0.6])[np.minimum(years_back, 3)]
    in_ytd = days >= county.year_start
    count = np.zeros(len(days), dtype=int)
    if ytd_days >= 90:
        ytd_weight = weight[in_ytd]
        count[in_ytd] = np.bincount(rng.choice(in_ytd.sum(), want_ytd, p=ytd_weight / ytd_weight.sum()),
                                    minlength=in_ytd.sum())
        count[~in_ytd] = rng.poisson(daily * weight[~in_ytd] / weight[in_ytd].mean())
    else:
        count = rng.poisson(daily * weight)
    filed_day = np.repeat(days.to_numpy(), count)
    n = len(filed_day)
    filed = pd.to_datetime(filed_day) + pd.to_timedelta(rng.integers(7 * 60, 21 * 60, n), unit="min")
    cats = list(TICKET_CATEGORY_SHARE)
    cat = np.array(cats)[rng.choice(len(cats), n, p=list(TICKET_CATEGORY_SHARE.values()))]
    summer = np.isin(pd.DatetimeIndex(filed).month, [6, 7, 8])
    cat = np.where(summer & (rng.random(n) < 0.08), "noise", cat)
    # Grid: by households and a grid-specific share of trouble.
    trouble = rng.gamma(4.0, 0.25, len(g))
    grid_w = g["households"].to_numpy() * trouble
    gi = rng.choice(len(g), n, p=grid_w / grid_w.sum())
    # 东岳国际社区's charging tickets piled up until its sheds were built.
    dongyue = np.flatnonzero(g["community_name"] == DONGYUE)
    before = pd.DatetimeIndex(filed) < shed_opening
    extra = (rng.random(n) < np.where(before, 0.05, 0.01))
    gi = np.where(extra, rng.choice(dongyue, n), gi)
    cat = np.where(extra, "parking_charging", cat)
    chans = list(CHANNEL_SHARE)
    channel = np.array(chans)[rng.choice(len(chans), n, p=list(CHANNEL_SHARE.values()))]
    order = np.lexsort((gi, filed.to_numpy()))
    filed, cat, gi, channel = filed[order], cat[order], gi[order], channel[order]
    year = pd.DatetimeIndex(filed).year.to_numpy()
    seq_in_year = pd.Series(np.ones(n)).groupby(year).cumsum().astype(int).to_numpy()
    ticket_id = [f"T{y}-{k:05d}" for y, k in zip(year, seq_in_year)]
    residents_by_grid = p.groupby("grid_idx")["person_id"].agg(list)
    building_no = rng.integers(1, 30, n)
    titles = []
    for c, b in zip(cat, building_no):
        options = names.TICKET_TITLES[c]
        titles.append(options[int(rng.integers(0, len(options)))].format(b=b))
    lonlat = geo.points_in(list(g["shape"]), gi, rng)
    escalate = rng.random(n) < np.where(np.isin(cat, ["business", "environment", "parking_charging", "safety"]), 0.14, 0.05)
    department = np.array([ESCALATION_DEPARTMENTS[c][int(rng.integers(0, len(ESCALATION_DEPARTMENTS[c])))] for c in cat], dtype=object)
    department[~escalate] = None
    filer = np.array([residents_by_grid[k][int(rng.integers(0, len(residents_by_grid[k])))] for k in gi], dtype=object)
    t = pd.DataFrame({"ticket_id": ticket_id, "grid_id": g["grid_id"].to_numpy()[gi], "category": cat, "channel": channel,
                      "title": titles, "lat": lonlat[:, 1].round(6), "lon": lonlat[:, 0].round(6),
                      "department": department, "filed_by": filer})
    # Data as it arrives: a handful of tickets lost their grid on entry.
    no_grid = rng.random(n) < 0.003
    t.loc[no_grid, "grid_id"] = None
    events, ratings = _steps(rng, county, area, officials, t, filed, gi, escalate)
    return Tickets(t, events, ratings)


def _steps(rng, county: County, area: Geography, officials: Officials, t, filed, gi, escalate):
    """Every step of every ticket (the `ticket_events` table) and the ratings given."""
    n = len(t)
    g = area.grids
    q_index = np.searchsorted(county.quarters.start_time.to_numpy(), filed.to_numpy(), side="right") - 1
    slow = area.slowness[gi] * np.exp(-0.15 * (area.activity[gi, q_index] - 1))
    exec_factor = np.array([EXECUTION_FACTOR.get(c, 1.0) for c in t["category"]])
    stall = np.where(rng.random(n) < 0.03, rng.uniform(4, 12, n), 1.0)
    stall_step = rng.integers(1, 6, n)
    hours = {}
    for k, step in enumerate(["accepted", "discussed", "decided", "rated", "published"], start=1):
        h = STEP_MEDIAN_HOURS[step] * slow * rng.lognormal(0, 0.8, n)
        if step == "rated":
            h = h * exec_factor
        if step == "decided":
            h = h + np.where(escalate, 72 * rng.lognormal(0, 0.6, n), 0)
        hours[step] = h * np.where(stall_step == k, stall, 1.0)
    # Back-filled tickets: entered in one sitting after the fact, minutes apart.
    backfilled = rng.random(n) < 0.006
    for step in hours:
        hours[step] = np.where(backfilled, rng.uniform(0.02, 0.1, n), hours[step])
    reopened = (rng.random(n) < 0.035) & ~backfilled
    gw = officials.grid_worker.reindex(g["grid_id"]).to_numpy()[gi]
    gl = officials.grid_leader.reindex(g["grid_id"]).to_numpy()[gi]
    sec = officials.community_secretary.reindex(g["community_id"]).to_numpy()[gi]
    rows, ratings = [], []
    quality = 4.6 - 0.5 * (area.slowness[gi] - 1)
    ts = {"filed": filed.to_numpy()}
    prev = ts["filed"]
    for step, h in hours.items():
        cur = _working_time(prev + pd.to_timedelta(h * 3600, unit="s").to_numpy(), rng)
        if backfilled.any():
            cur = np.where(backfilled, prev + pd.to_timedelta(h * 3600, unit="s").to_numpy(), cur)
        ts[step] = cur
        prev = cur
    end = county.end_of_data.to_datetime64()
    swapped = (rng.random(n) < 0.003) & ~backfilled
    ticket_ids = t["ticket_id"].to_numpy(dtype=object)
    filers = t["filed_by"].to_numpy(dtype=object)
    departments = t["department"].to_numpy(dtype=object)
    for i in range(n):
        seq = 0
        events = [("filed", ts["filed"][i], filers[i], None),
                  ("accepted", ts["accepted"][i], gw[i], None),
                  ("discussed", ts["discussed"][i], gl[i], None)]
        if escalate[i]:
            esc_time = ts["discussed"][i] + np.timedelta64(int(rng.integers(2, 30)), "h")
            dept = vocab.DEPARTMENTS[departments[i]]
            events.append(("escalated", esc_time, gw[i], f"约请{dept}到网格现场办公"))
        events.append(("decided", ts["decided"][i], sec[i], None))
        events.append(("rated", ts["rated"][i], None, None))
        if reopened[i]:
            r1 = ts["rated"][i]
            back = r1 + np.timedelta64(int(rng.integers(1, 72)), "h")
            redecide = back + np.timedelta64(int(rng.integers(24, 240)), "h")
            rerate = redecide + np.timedelta64(int(rng.integers(48, 400)), "h")
            events += [("reopened", back, gw[i], "群众评议不满意,重新办理"), ("decided", redecide, sec[i], None),
                       ("rated", rerate, None, None)]
            pub = rerate + (ts["published"][i] - ts["rated"][i])
        else:
            pub = ts["published"][i]
        events.append(("published", pub, gw[i], None))
        if swapped[i]:
            events[0], events[1] = (events[0][0], events[1][1], *events[0][2:]), (events[1][0], events[0][1], *events[1][2:])
        for step, when, actor, note in events:
            if when > end:
                break
            seq += 1
            rows.append((ticket_ids[i], seq, step, when, actor, note))
            if step == "rated" and rng.random() < 0.95:
                first_round = reopened[i] and seq < 8
                n_r = int(rng.integers(1, 4))
                for r in range(n_r):
                    kind = "party_member" if r == 1 else "resident"
                    score = 2 if first_round else quality[i] + rng.normal(0, 0.7)
                    ratings.append((ticket_ids[i], kind, int(np.clip(round(score), 1, 5)),
                                    when + np.timedelta64(int(rng.integers(0, 180)), "m")))
    ev = pd.DataFrame(rows, columns=["ticket_id", "seq", "step", "occurred_at", "actor_id", "note"])
    ev["occurred_at"] = pd.to_datetime(ev["occurred_at"]).dt.floor("min")
    # A few events name a person the register does not know (a typing error upstream).
    unknown = ev.index[(ev["step"] == "accepted") & (rng.random(len(ev)) < 0.002)]
    ev.loc[unknown, "actor_id"] = "P9" + pd.Series(rng.integers(100000, 999999, len(unknown)).astype(str), index=unknown)
    r = pd.DataFrame(ratings, columns=["ticket_id", "rater_kind", "score", "rated_at"])
    r["rated_at"] = pd.to_datetime(r["rated_at"]).clip(upper=county.end_of_data).dt.floor("min")
    r["rating_id"] = np.arange(1, len(r) + 1)
    return ev, r



def _working_time(ts: np.ndarray, rng) -> np.ndarray:
    """Move night-time timestamps to the next morning, when the office is open."""
    ts = pd.to_datetime(ts)
    hour = ts.hour.to_numpy()
    night = (hour >= 21) | (hour < 8)
    next_morning = ts.normalize() + pd.to_timedelta(np.where(hour >= 21, 1, 0), unit="D")
    morning = next_morning + pd.to_timedelta(8 * 60 + rng.integers(0, 90, len(ts)), unit="min")
    return np.where(night, morning, ts).astype("datetime64[ns]")
