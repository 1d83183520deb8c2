"""Service in the grid (服务进网格): the service points, the quarterly evaluations of
property companies (三评两公示) and the micro-wishes (微心愿)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import geo, names, vocab
from .county import County

# Figures the article reports, at scale 1 unless said.
DELIBERATION_HALLS = 14  # at any scale, as the next three
COURTYARD_COUNCILS = 12
NEW_EMPLOYMENT_STATIONS = 22
CHARGING_SHEDS_DONGYUE = 38
CHARGING_PILES_XIANGSHU = 260
WISHES_XIANGSHU = 35
DONGYUE, XIANGSHU = "东岳国际社区", "橡树玫瑰城社区"


@dataclass(frozen=True)
class Facilities:
    facilities: pd.DataFrame  # the facilities table
    # When 东岳国际社区's charging sheds began to open: its charging tickets pile up until then.
    shed_opening: pd.Timestamp


def facilities(rng: np.random.Generator, county: County, grids: pd.DataFrame,
               communities: pd.DataFrame) -> Facilities:
    g, c = grids, communities
    rows = []

    def add(ftype, grid_idx, name, capacity, opened):
        rows.append((ftype, name, g["community_id"].iat[grid_idx], g["grid_id"].iat[grid_idx], capacity, opened))

    def grids_of(comm_name):
        return np.flatnonzero(g["community_name"] == comm_name)

    early = pd.Timestamp("2022-01-01")
    start = county.start
    span_days = (county.end - start).days
    for comm in c.itertuples():
        idx = grids_of(comm.name)
        add("party_service_center", idx[0], f"{comm.name}党群服务中心", 200, early - pd.Timedelta(days=int(rng.integers(200, 2000))))
        # Some communities are still building their "1+N" matrix: the circle has gaps.
        for k in range(int(rng.integers(1, 5))):
            opened = start + pd.Timedelta(days=int(rng.integers(-400, span_days)))
            add("red_station", rng.choice(idx), f"{comm.name}红色驿站{k + 1}号", int(rng.integers(20, 60)), opened)
    halls = rng.choice(len(c), DELIBERATION_HALLS, replace=False)
    for ci in halls:
        idx = grids_of(c["name"].iat[ci])
        add("deliberation_hall", rng.choice(idx), f"{c['name'].iat[ci]}红色议事厅", int(rng.integers(30, 80)), early + pd.Timedelta(days=int(rng.integers(60, 500))))
    for k, ci in enumerate(rng.choice(len(c), COURTYARD_COUNCILS, replace=True)):
        idx = grids_of(c["name"].iat[ci])
        add("courtyard_council", rng.choice(idx), f"红色庭院议事会({c['name'].iat[ci]}{k + 1})", int(rng.integers(15, 40)), early + pd.Timedelta(days=int(rng.integers(60, 700))))
    # Charging: the 38 sheds of 东岳国际社区 answered its parking and charging tickets.
    shed_opening = start + pd.Timedelta(days=int(span_days * 0.45))
    for k in range(county.scaled(CHARGING_SHEDS_DONGYUE)):
        add("charging_shed", rng.choice(grids_of(DONGYUE)), f"{DONGYUE}充电车棚{k + 1}号", int(rng.integers(20, 60)), shed_opening + pd.Timedelta(days=int(rng.integers(0, 240))))
    for comm in c.itertuples():
        if comm.name in (DONGYUE, XIANGSHU):
            continue
        for k in range(int(rng.integers(0, 4))):
            add("charging_shed", rng.choice(grids_of(comm.name)), f"{comm.name}充电车棚{k + 1}号", int(rng.integers(20, 50)), start + pd.Timedelta(days=int(rng.integers(-300, span_days))))
        n_piles = county.scaled(int(rng.integers(5, 40)), minimum=0)
        for k in range(n_piles):
            add("charging_pile", rng.choice(grids_of(comm.name)), f"{comm.name}充电桩{k + 1}号", 1, start + pd.Timedelta(days=int(rng.integers(-300, span_days))))
    for k in range(county.scaled(CHARGING_PILES_XIANGSHU)):
        add("charging_pile", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}充电桩{k + 1}号", 1, start + pd.Timedelta(days=int(rng.integers(0, span_days))))
    station_names = ["小哥加油站", "司机之家", "户外劳动者驿站"]
    for k in range(NEW_EMPLOYMENT_STATIONS):
        gi = int(rng.integers(0, len(g)))
        add("new_employment_station", gi, f"{g['community_name'].iat[gi]}{station_names[k % 3]}", int(rng.integers(10, 30)), early + pd.Timedelta(days=int(rng.integers(300, 1100))))
    add("grid_home", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}网格之家", 60, start + pd.Timedelta(days=int(span_days * 0.6)))
    add("elderly_canteen", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}长者食堂助餐点", 80, start + pd.Timedelta(days=int(span_days * 0.65)))
    for ci in rng.choice(len(c), 9, replace=False):
        name = c["name"].iat[ci]
        if name != XIANGSHU:
            add("elderly_canteen", rng.choice(grids_of(name)), f"{name}长者食堂", int(rng.integers(40, 100)), early + pd.Timedelta(days=int(rng.integers(100, 1200))))
    for gi in rng.choice(len(g), 16, replace=False):
        add("grid_home", gi, f"{g['name'].iat[gi]}网格之家", int(rng.integers(20, 50)), early + pd.Timedelta(days=int(rng.integers(100, 1300))))
    f = pd.DataFrame(rows, columns=["facility_type", "name", "community_id", "grid_id", "capacity", "opened_on"])
    f["opened_on"] = pd.to_datetime(f["opened_on"]).clip(upper=county.end).dt.date
    f["facility_id"] = [f"F{k + 1:05d}" for k in range(len(f))]
    which = pd.Index(g["grid_id"]).get_indexer(f["grid_id"])
    lonlat = geo.points_in(list(g["shape"]), which, rng, margin=0.0001)
    f["lat"], f["lon"] = lonlat[:, 1].round(6), lonlat[:, 0].round(6)
    return Facilities(f, shed_opening)


def property_evaluations(rng: np.random.Generator, county: County, orgs: pd.DataFrame) -> pd.DataFrame:
    """Each property company scored every finished quarter by residents, community and subdistrict."""
    companies = orgs[orgs["org_type"] == "property_company"]
    level = rng.normal(82, 6, len(companies))
    rows = []
    for q in county.quarters:
        if q.end_time > county.end_of_data:
            continue
        drift = rng.normal(0, 2.5, len(companies))
        for evaluator, bias in (("residents", -3), ("community", 1), ("subdistrict", 2)):
            score = np.clip(level + drift + bias + rng.normal(0, 3, len(companies)), 40, 99)
            rows.append(pd.DataFrame({"org_id": companies["org_id"].to_numpy(), "quarter": str(q),
                                      "evaluator": evaluator, "score": score.round(1)}))
    return pd.concat(rows, ignore_index=True)


def micro_wishes(rng: np.random.Generator, county: County, grids: pd.DataFrame) -> pd.DataFrame:
    g = grids
    cats = list(vocab.WISH_CATEGORIES)
    xiangshu = np.flatnonzero(g["community_name"] == XIANGSHU)
    start, end_of_data, year_start = county.start, county.end_of_data, county.year_start
    span = (end_of_data - start).total_seconds()
    n = county.scaled(3 * len(g) * 3)
    gi = rng.integers(0, len(g), n)
    gi = gi[~np.isin(gi, xiangshu)]
    filed = start + pd.to_timedelta(rng.uniform(0, span, len(gi)), unit="s")
    # 橡树玫瑰城社区: 35 wishes this year, every one fulfilled.
    k = county.scaled(WISHES_XIANGSHU)
    ytd = (end_of_data - year_start).total_seconds() * 0.85
    x_filed = year_start + pd.to_timedelta(rng.uniform(0, ytd, k), unit="s")
    x_prev = start + pd.to_timedelta(rng.uniform(0, (year_start - start).total_seconds(), 2 * k), unit="s")
    all_gi = np.concatenate([gi, rng.choice(xiangshu, k), rng.choice(xiangshu, 2 * k)])
    all_filed = pd.DatetimeIndex(np.concatenate([filed.to_numpy(), x_filed.to_numpy(), x_prev.to_numpy()]))
    wait = pd.to_timedelta(rng.gamma(2.0, 9.0, len(all_gi)) * 86400, unit="s")
    done = all_filed + wait
    sure = np.zeros(len(all_gi), dtype=bool)
    sure[len(gi):] = True
    fulfilled = np.where(sure | (rng.random(len(all_gi)) < 0.85), done, pd.NaT)
    fulfilled = pd.DatetimeIndex(fulfilled)
    fulfilled = fulfilled.where((fulfilled <= end_of_data) | sure, pd.NaT)
    fulfilled = fulfilled.where(fulfilled <= end_of_data, end_of_data)
    cat = np.array(cats)[rng.integers(0, len(cats), len(all_gi))]
    titles = [names.WISH_TITLES[c][int(rng.integers(0, 3))] for c in cat]
    w = pd.DataFrame({"grid_id": g["grid_id"].to_numpy()[all_gi], "category": cat, "title": titles,
                      "filed_at": all_filed.floor("min"), "fulfilled_at": fulfilled.floor("min")})
    w = w.sort_values(["filed_at", "grid_id"], kind="stable", ignore_index=True)
    w["wish_id"] = [f"W{k + 1:05d}" for k in range(len(w))]
    return w
