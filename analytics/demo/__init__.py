"""A generated demo county: three years of Huantai's urban grids, calibrated to the figures
the county reports (see ../shared/DOMAIN.md) and varied enough that rankings mean something.

Everything is drawn from one seed, in a fixed order, with one random stream per part, so the
same seed and end date give the same database. All inserts are batched (one DataFrame per table).
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .. import clock, geo, names, settings, vocab
from ..db import connect, migrate, table_counts
from ..summary import refresh

DEFAULT_SEED = 2022

# Figures the article reports, at scale 1.
BUILDING_LEADERS = 1967
UNIT_LEADERS = 3925
VOLUNTEER_TEAMS = 206
TEAM_MEMBERS = 4878
DELIBERATION_HALLS = 14
COURTYARD_COUNCILS = 12
PROPERTY_BRANCHES = 21
NEW_EMPLOYMENT_STATIONS = 22
CHARGING_SHEDS_DONGYUE = 38
CHARGING_PILES_XIANGSHU = 260
WISHES_XIANGSHU = 35
MARCH_VOLUNTEERS_SHAOHAI = 4572
EMERGENCY_FORCE = 7326
TICKETS_YTD = (1400, 1499)
REDEMPTIONS_YTD_MIN = 4790

DONGYUE, XIANGSHU, ZIYUE, BAOFA = "东岳国际社区", "橡树玫瑰城社区", "紫悦城社区", "宝发社区"
SHAOHAI_ID = "370321002"

PERSON_INDICATORS = [
    # code, category, name, points, relative frequency
    ("P-VOL-01", "volunteer", "参加志愿服务活动(每次)", 2, 0),
    ("P-EPI-01", "epidemic", "参加疫情防控志愿服务(每次)", 3, 0),
    ("P-CIV-01", "civility", "垃圾分类示范户(每月)", 1, 30),
    ("P-GOV-01", "governance", "参加网格议事协商", 2, 20),
    ("P-GOV-02", "governance", "调解邻里纠纷", 3, 6),
    ("P-SAF-01", "safety", "报告安全隐患并经核实", 3, 10),
    ("P-CIV-02", "civility", "见义勇为", 20, 0.2),
    ("P-CIV-03", "civility", "无偿献血", 10, 3),
    ("P-CIV-04", "civility", "获评最美家庭", 10, 1),
    ("P-SAF-N1", "safety", "楼道飞线充电", -5, 4),
    ("P-GOV-N1", "governance", "违规停车占用消防通道", -3, 5),
    ("P-CIV-N1", "civility", "乱扔垃圾", -2, 4),
    ("P-CIV-N2", "civility", "毁绿占绿", -3, 1.5),
    ("P-GOV-N2", "governance", "高空抛物", -10, 0.3),
]
# The catalogue was revised once: the monthly sorting award went from 1 to 2 points.
REVISED_INDICATOR = ("P-CIV-05", "civility", "垃圾分类示范户(每月)", 2)

ORG_INDICATORS = [
    ("O-BUS-01", "business", "诚信经营示范", 10, 6),
    ("O-BUS-02", "business", "参与社区共建活动", 5, 10),
    ("O-SAF-01", "safety", "安全生产检查达标", 5, 10),
    ("O-VOL-01", "volunteer", "组织员工参加志愿服务", 5, 6),
    ("O-SAF-N1", "safety", "消防安全隐患", -10, 2),
    ("O-BUS-N1", "business", "油烟噪音扰民被投诉查实", -5, 2),
    ("O-BUS-N2", "business", "占道经营", -3, 3),
    ("O-BUS-N3", "business", "拖欠工资", -20, 0.3),
]

SCENARIOS = [
    # name, category, points cost, value in yuan, minimum level, partner
    ("兑换大米5公斤", "goods", 50, 30, None, "社区信用超市"),
    ("兑换食用油5升", "goods", 60, 45, None, "社区信用超市"),
    ("兑换洗衣液", "goods", 20, 15, None, "社区信用超市"),
    ("兑换毛巾套装", "goods", 15, 12, None, "社区信用超市"),
    ("兑换雨伞", "goods", 25, 20, None, "社区信用超市"),
    ("兑换保温杯", "goods", 30, 25, None, "社区信用超市"),
    ("兑换鸡蛋一箱", "goods", 35, 28, None, "社区信用超市"),
    ("兑换纸巾一提", "goods", 10, 8, None, "社区信用超市"),
    ("免费理发服务", "goods", 20, 15, None, "红色驿站"),
    ("家电清洗服务", "goods", 40, 60, None, "红色驿站"),
    ("公交月卡8折", "travel", 30, 20, "good", "县公交公司"),
    ("出租车乘车券", "travel", 20, 10, None, "县出租车协会"),
    ("共享单车月卡", "travel", 15, 15, None, "共享单车运营商"),
    ("长途客车购票9折", "travel", 25, 15, "good", "县汽车站"),
    ("县医院挂号费减免", "medical", 10, 10, None, "县医院"),
    ("免费健康体检", "medical", 80, 200, "excellent", "县医院"),
    ("家庭医生优先签约", "medical", 0, 0, "good", "社区卫生服务中心"),
    ("中医理疗8折", "medical", 30, 40, None, "县中医院"),
    ("马踏湖景区门票免费", "tourism", 50, 60, None, "马踏湖景区"),
    ("红莲湖公园游船半价", "tourism", 15, 15, None, "红莲湖公园"),
    ("县内景区年卡优惠", "tourism", 60, 100, "excellent", "县文旅局"),
    ("乡村旅游采摘券", "tourism", 20, 30, None, "采摘园"),
    ("信用商户9折购物券", "shopping", 10, 10, None, "信用示范商户"),
    ("永乐巷商街消费券", "shopping", 20, 20, None, "永乐巷商街"),
    ("超市满100减10", "shopping", 15, 10, None, "县百货大楼"),
    ("家具建材9折", "shopping", 30, 100, "good", "建材市场"),
    ("书店图书8折", "shopping", 10, 10, None, "新华书店"),
    ("信用贷款利率优惠", "credit_loan", 0, 500, "excellent", "县农商银行"),
    ("免担保信用贷", "credit_loan", 0, 0, "honesty_model", "县农商银行"),
    ("信用卡额度提升", "credit_loan", 0, 0, "good", "县农商银行"),
    ("水费减免10元", "utilities", 20, 10, None, "县自来水公司"),
    ("电费减免10元", "utilities", 20, 10, None, "县供电中心"),
    ("燃气费9折", "utilities", 25, 20, None, "县燃气公司"),
    ("供暖费优惠50元", "utilities", 80, 50, "good", "县热力公司"),
    ("宽带月费减免", "utilities", 30, 40, None, "县通信公司"),
    ("诚信模范年度优惠补贴", "subsidy", 0, 980, "honesty_model", "县信用办"),
]

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


def _allocate(total: int, weights, minimum: int = 0) -> np.ndarray:
    """Split an integer total in proportion to weights (largest remainder), each >= minimum."""
    weights = np.asarray(weights, dtype=float)
    base = np.full(len(weights), minimum, dtype=np.int64)
    rest = total - base.sum()
    if rest < 0:
        raise ValueError("total smaller than the minimums")
    share = weights / weights.sum() * rest
    out = base + np.floor(share).astype(np.int64)
    remainder = total - out.sum()
    out[np.argsort(-(share - np.floor(share)), kind="stable")[:remainder]] += 1
    return out


def _scaled(value: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(value * scale)))


def _quarter_label(ts: pd.Timestamp) -> str:
    return f"{ts.year}Q{(ts.month - 1) // 3 + 1}"


def _working_time(ts: np.ndarray, rng) -> np.ndarray:
    """Move night-time timestamps to the next morning, when the office is open."""
    ts = pd.to_datetime(ts)
    hour = ts.hour.to_numpy()
    night = (hour >= 21) | (hour < 8)
    next_morning = ts.normalize() + pd.to_timedelta(np.where(hour >= 21, 1, 0), unit="D")
    morning = next_morning + pd.to_timedelta(8 * 60 + rng.integers(0, 90, len(ts)), unit="min")
    return np.where(night, morning, ts).astype("datetime64[ns]")


class _Builder:
    def __init__(self, con, scale: float, seed: int, end: dt.date, progress):
        self.con = con
        self.scale = scale
        self.seed = seed
        self.end = pd.Timestamp(end)
        self.end_of_data = self.end + pd.Timedelta(hours=23, minutes=59)
        self.start = pd.Timestamp(end.replace(year=end.year - 3)) + pd.Timedelta(days=1)
        self.year_start = pd.Timestamp(dt.date(end.year, 1, 1))
        self.progress = progress
        streams = np.random.SeedSequence(seed).spawn(16)
        self.rngs = iter([np.random.default_rng(s) for s in streams])
        self.quarters = pd.period_range(self.start, self.end, freq="Q")

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("_frame", frame)
        try:
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
        finally:
            self.con.unregister("_frame")

    # -- geography and hierarchy ---------------------------------------------------------
    def geography(self):
        rng = next(self.rngs)
        west, east = geo.split_urban_area()
        halves = {SHAOHAI_ID: west, "370321001": east}
        # Seeds for the grids are placed community by community; the grids themselves are cells of
        # one Voronoi diagram, and communities and subdistricts are unions of their grids.
        grid_seeds, owner = [], []
        for sub_id, (sub_name, communities) in sorted(names.COMMUNITIES.items()):
            weights = [n for _, n in communities]
            regions = geo.voronoi_cells(geo.seeds(halves[sub_id], len(communities), rng, weights=weights), halves[sub_id])
            for (comm_name, n_grids), region in zip(communities, regions):
                grid_seeds.append(geo.seeds(region, n_grids, rng))
                owner += [(sub_id, comm_name)] * n_grids
        cells = geo.voronoi_cells(np.vstack(grid_seeds), geo.URBAN_AREA)
        subs, comms, grids = [], [], []
        for sub_id, (sub_name, communities) in sorted(names.COMMUNITIES.items()):
            comm_shapes = []
            for k, (comm_name, _) in enumerate(communities):
                mine = [cells[i] for i, o in enumerate(owner) if o == (sub_id, comm_name)]
                shape = shapely.union_all(mine)
                comm_shapes.append(shape)
                comm_id = f"{sub_id[-1]}{k + 1:02d}"
                centre = shape.representative_point()
                comms.append((comm_id, sub_id, comm_name, round(centre.y, 6), round(centre.x, 6), geo.wkt(shape)))
                for j, idx in enumerate(geo.reading_order(mine)):
                    grids.append((f"{comm_id}-{j + 1:02d}", comm_id, f"{comm_name}第{j + 1}网格", mine[idx]))
            subs.append((sub_id, sub_name, geo.wkt(shapely.union_all(comm_shapes))))
        self.subdistricts = pd.DataFrame(subs, columns=["subdistrict_id", "name", "geometry_wkt"])
        self.communities = pd.DataFrame(
            comms, columns=["community_id", "subdistrict_id", "name", "lat", "lon", "geometry_wkt"]
        )
        g = pd.DataFrame(grids, columns=["grid_id", "community_id", "name", "shape"])
        g["party_branch"] = g["name"] + "党支部"
        households = np.clip(rng.lognormal(np.log(470), 0.35, len(g)), 220, 1100)
        g["households"] = np.maximum(8, np.round(households * self.scale)).astype(int)
        g["geometry_wkt"] = [geo.wkt(s) for s in g["shape"]]
        g = g.merge(self.communities[["community_id", "subdistrict_id"]], on="community_id")
        g["community_name"] = g["community_id"].map(self.communities.set_index("community_id")["name"])
        # Latent traits: how active residents are in earning credit, and how well the grid runs
        # its tickets. Both drift each quarter, so rankings move.
        n_q = len(self.quarters)
        g_act = rng.normal(0, 0.35, len(g))[:, None] + np.cumsum(rng.normal(0, 0.12, (len(g), n_q)), axis=1)
        self.activity = np.exp(g_act)
        self.slowness = np.exp(rng.normal(0, 0.35, len(g)))
        self.grids = g
        self.write("subdistricts", self.subdistricts)
        self.write("communities", self.communities)
        self.write("grids", g[["grid_id", "community_id", "name", "geometry_wkt", "households", "party_branch"]])

    def buildings(self):
        rng = next(self.rngs)
        g = self.grids
        n_buildings = max(len(g), _scaled(BUILDING_LEADERS, self.scale))
        n_units = max(n_buildings, _scaled(UNIT_LEADERS, self.scale))
        per_grid = _allocate(n_buildings, g["households"], minimum=1)
        grid_idx = np.repeat(np.arange(len(g)), per_grid)
        units = np.ones(n_buildings, dtype=int)
        extra = rng.choice(np.repeat(np.arange(n_buildings), 3), n_units - n_buildings, replace=False)
        np.add.at(units, extra, 1)
        households = np.zeros(n_buildings, dtype=int)
        for gi in range(len(g)):
            idx = np.flatnonzero(grid_idx == gi)
            households[idx] = _allocate(int(g["households"].iat[gi]), units[idx] * rng.uniform(0.7, 1.3, len(idx)), 1)
        lonlat = np.empty((n_buildings, 2))
        for gi in range(len(g)):
            idx = np.flatnonzero(grid_idx == gi)
            lonlat[idx] = geo.random_points(g["shape"].iat[gi], len(idx), rng, margin=0.0002)
        number = np.concatenate([np.arange(1, k + 1) for k in per_grid])
        compound = np.array(names.COMPOUND_WORDS)[rng.integers(0, len(names.COMPOUND_WORDS), len(g))]
        b = pd.DataFrame(
            {
                "building_id": [f"{g['grid_id'].iat[gi]}-B{n:03d}" for gi, n in zip(grid_idx, number)],
                "grid_id": g["grid_id"].to_numpy()[grid_idx],
                "name": [f"{compound[gi]}小区{n}号楼" for gi, n in zip(grid_idx, number)],
                "lat": lonlat[:, 1].round(6),
                "lon": lonlat[:, 0].round(6),
                "households": households,
                "units": units,
            }
        )
        # The compound named in the article stands in 兴旺社区.
        xingwang = b["grid_id"].str.startswith(self._community_id("兴旺社区"))
        b.loc[xingwang, "name"] = b.loc[xingwang, "name"].str.replace(r"^.*小区", "兴旺花园小区", regex=True)
        self.buildings_df = b
        self.write("buildings", b)

    def _community_id(self, name: str) -> str:
        return self.communities.loc[self.communities["name"] == name, "community_id"].iat[0]

    def people(self):
        rng = next(self.rngs)
        b = self.buildings_df
        # Households per building -> unit of each household -> people per household.
        hh_building = np.repeat(np.arange(len(b)), b["households"])
        hh_unit = np.concatenate(
            [rng.integers(1, u + 1, h) for u, h in zip(b["units"], b["households"])]
        ).astype(int)
        size = rng.choice([1, 2, 3, 4, 5], len(hh_building), p=[0.14, 0.31, 0.30, 0.16, 0.09])
        person_building = np.repeat(hh_building, size)
        person_unit = np.repeat(hh_unit, size)
        n = len(person_building)
        age = np.clip(rng.gamma(4.2, 10.5, n), 0, 96).astype(int)
        birth_year = self.end.year - age
        surname = np.array(list(names.SURNAMES))
        weights = 1 / np.arange(1, len(surname) + 1) ** 0.9
        given = np.array(list(names.GIVEN_CHARS))
        first = surname[rng.choice(len(surname), n, p=weights / weights.sum())]
        g1 = given[rng.integers(0, len(given), n)]
        g2 = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), n)], "")
        full = pd.Series(first).str.cat([pd.Series(g1), pd.Series(g2)])
        party_prob = np.where(age < 18, 0, np.where(age < 35, 0.05, np.where(age < 60, 0.08, 0.11)))
        is_party = rng.random(n) < party_prob
        p = pd.DataFrame(
            {
                "person_id": [f"P{k:07d}" for k in range(1, n + 1)],
                "grid_id": b["grid_id"].to_numpy()[person_building],
                "building_id": b["building_id"].to_numpy()[person_building],
                "unit_no": person_unit,
                "name": full,
                "gender": np.where(rng.random(n) < 0.5, "M", "F"),
                "birth_year": birth_year,
                "age": age,
                "is_party_member": is_party,
            }
        )
        p["grid_idx"] = person_building_grid = self.grids.reset_index().set_index("grid_id").loc[p["grid_id"], "index"].to_numpy()
        del person_building_grid
        self.people_df = p
        self.roles = []
        self._leaders(rng)
        p["party_member_status"] = np.where(
            p["is_party_member"], np.where(p["age"] < 60, "employed", "not_employed"), None
        )
        p.loc[self.status_override.index, "party_member_status"] = self.status_override
        self.write("people", p.drop(columns=["age", "grid_idx"]))

    def _pick(self, rng, candidates: pd.DataFrame, by: list[str], prefer) -> pd.Series:
        """One person per group, preferring rows where prefer is true; returns row labels."""
        key = rng.random(len(candidates)) - prefer.astype(float)
        ordered = candidates.assign(_k=key).sort_values("_k", kind="stable")
        return ordered.groupby(by, sort=True).head(1)

    def _leaders(self, rng):
        p = self.people_df
        adults = p[(p["age"] >= 25) & (p["age"] <= 75)]
        since_default = pd.Timestamp("2022-03-01")
        overrides = {}
        # "1 employed + 1 non-employed party member": a building's leader and its units'
        # leaders alternate between a retired member and one in work.
        building_no = adults["building_id"].str[-3:].astype(int)
        retired = adults["age"] >= 60
        bl = self._pick(rng, adults, ["building_id"], retired == (building_no % 2 == 1))
        used = set(bl.index)
        rest = adults.drop(index=bl.index)
        employed_wanted = (rest["unit_no"] + rest["building_id"].str[-3:].astype(int)) % 2 == 1
        ul = self._pick(rng, rest, ["building_id", "unit_no"], (rest["age"] < 60) == employed_wanted)
        used |= set(ul.index)
        for frame, role in ((bl, "building_leader"), (ul, "unit_leader")):
            overrides.update(zip(frame.index, np.where(frame["age"] >= 60, "not_employed", "employed")))
            self.roles.append(
                pd.DataFrame(
                    {
                        "person_id": frame["person_id"].to_numpy(),
                        "role": role,
                        "since": since_default + pd.to_timedelta(rng.integers(0, 200, len(frame)), unit="D"),
                        "grid_id": frame["grid_id"].to_numpy(),
                        "building_id": frame["building_id"].to_numpy(),
                        "unit_no": frame["unit_no"].to_numpy() if role == "unit_leader" else None,
                    }
                )
            )
        # Grid leader (the branch secretary) and the full-time grid worker, one each per grid.
        pool = adults.drop(index=list(used))
        gl = self._pick(rng, pool, ["grid_id"], pool["is_party_member"] & (pool["age"] >= 40))
        pool = pool.drop(index=gl.index)
        young = (pool["age"] >= 25) & (pool["age"] <= 50)
        gw = self._pick(rng, pool, ["grid_id"], young)
        pool = pool.drop(index=gw.index)
        overrides.update(zip(gl.index, np.where(gl["age"] >= 60, "not_employed", "employed")))
        self.grid_leader = gl.set_index("grid_id")["person_id"]
        self.grid_worker = gw.set_index("grid_id")["person_id"]
        self.roles.append(pd.DataFrame({"person_id": gl["person_id"].to_numpy(), "role": "grid_leader",
                                        "since": since_default, "grid_id": gl["grid_id"].to_numpy()}))
        # Some grids changed their grid worker once; the earlier worker's role has ended.
        changed = rng.random(len(gw)) < 0.15
        change_day = self.start + pd.to_timedelta(rng.integers(60, 700, len(gw)), unit="D")
        since = np.where(changed, change_day, since_default).astype("datetime64[ns]")
        self.roles.append(pd.DataFrame({"person_id": gw["person_id"].to_numpy(), "role": "grid_worker",
                                        "since": since, "grid_id": gw["grid_id"].to_numpy()}))
        former = self._pick(rng, pool, ["grid_id"], pool["age"].between(25, 50))
        former = former[former["grid_id"].isin(gw.loc[changed, "grid_id"])]
        pool = pool.drop(index=former.index)
        ended = pd.Series(change_day, index=gw["grid_id"].to_numpy())
        self.roles.append(pd.DataFrame({"person_id": former["person_id"].to_numpy(), "role": "grid_worker",
                                        "since": since_default, "grid_id": former["grid_id"].to_numpy(),
                                        "until": (ended.loc[former["grid_id"]] - pd.Timedelta(days=1)).to_numpy()}))
        for frame in (gl,):
            p.loc[frame.index, "is_party_member"] = True
        p.loc[list(overrides), "is_party_member"] = True
        self.status_override = pd.Series(overrides, dtype=object)
        self.pool = pool

    def roles_and_teams(self):
        rng = next(self.rngs)
        p, g = self.people_df, self.grids
        pool = self.pool
        comm_of_grid = g.set_index("grid_id")["community_id"]
        pool = pool.assign(community_id=comm_of_grid.loc[pool["grid_id"]].to_numpy())
        # Community workers (8 per community, the first is the party committee secretary)
        # and the first secretary sent to each community.
        cw = pool.sample(frac=1, random_state=rng).groupby("community_id").head(8)
        pool = pool.drop(index=cw.index)
        fs = pool[pool["age"].between(30, 55)].sample(frac=1, random_state=rng).groupby("community_id").head(1)
        pool = pool.drop(index=fs.index)
        p.loc[fs.index, "is_party_member"] = True
        self.status_override = pd.concat([self.status_override, pd.Series("employed", index=fs.index)])
        self.community_secretary = cw.groupby("community_id")["person_id"].first()
        self.community_workers = cw
        start = pd.Timestamp("2022-01-01")
        self.roles.append(pd.DataFrame({"person_id": cw["person_id"].to_numpy(), "role": "community_worker",
                                        "since": start, "community_id": cw["community_id"].to_numpy()}))
        self.roles.append(pd.DataFrame({"person_id": fs["person_id"].to_numpy(), "role": "first_secretary",
                                        "since": pd.Timestamp("2022-03-01"), "community_id": fs["community_id"].to_numpy()}))
        # Volunteer teams: one "1+1+N" team per grid, the rest themed teams of a community.
        n_teams = _scaled(VOLUNTEER_TEAMS, self.scale, minimum=len(g) + 1)
        n_members = max(n_teams, _scaled(TEAM_MEMBERS, self.scale))
        extra = _allocate(n_teams - len(g), np.ones(len(self.communities)))
        teams = [(f"T{k + 1:03d}", row.community_id, row.grid_id, f"{row.name}红色堡垒志愿服务队")
                 for k, row in enumerate(g.itertuples())]
        for ci, (comm, k) in enumerate(zip(self.communities.itertuples(), extra)):
            for j in range(k):
                theme = names.TEAM_THEMES[(ci + j) % len(names.TEAM_THEMES)]
                teams.append((f"T{len(teams) + 1:03d}", comm.community_id, None, f"{comm.name}{theme}志愿服务队"))
        t = pd.DataFrame(teams, columns=["team_id", "community_id", "grid_id", "name"])
        t["founded_on"] = pd.Timestamp("2022-03-05") + pd.to_timedelta(rng.integers(0, 400, len(t)), unit="D")
        self.teams = t
        self.write("volunteer_teams", t)
        size = _allocate(n_members, np.where(t["grid_id"].isna(), 1.5, 1.0) * rng.uniform(0.6, 1.4, len(t)), 1)
        # Grid teams draw from their grid first, then community teams from what is left of
        # their community; each resident joins one team at most.
        volunteers = pool[pool["age"].between(18, 78)].sample(frac=1, random_state=rng)
        taken = np.zeros(len(volunteers), dtype=bool)
        volunteer_ids = volunteers["person_id"].to_numpy(dtype=object)
        members = []
        for key, group in (("grid_id", t[t["grid_id"].notna()]), ("community_id", t[t["grid_id"].isna()])):
            positions = volunteers.groupby(key).indices
            for owner, teams_of_owner in group.groupby(key, sort=False):
                free = positions.get(owner, np.array([], dtype=int))
                free = free[~taken[free]]
                wanted = size[teams_of_owner.index.to_numpy()]
                bounds = np.minimum(np.concatenate([[0], np.cumsum(wanted)]), len(free))
                for team_id, lo, hi in zip(teams_of_owner["team_id"], bounds[:-1], bounds[1:]):
                    taken[free[lo:hi]] = True
                    members.append(pd.DataFrame({"team_id": team_id,
                                                 "person_id": volunteer_ids[free[lo:hi]]}))
        m = pd.concat(members, ignore_index=True)
        founded = m["team_id"].map(t.set_index("team_id")["founded_on"])
        m["joined_on"] = (founded + pd.to_timedelta(rng.integers(0, 700, len(m)), unit="D")).clip(upper=self.end)
        self.members = m
        self.write("team_members", m)
        self.roles.append(pd.DataFrame({"person_id": m["person_id"], "role": "volunteer", "since": m["joined_on"],
                                        "community_id": m["team_id"].map(t.set_index("team_id")["community_id"])}))
        self.pool = pool.drop(index=volunteers.index[taken])

    def organizations(self):
        rng = next(self.rngs)
        g = self.grids
        rows = []
        n_prop = max(PROPERTY_BRANCHES + 4, _scaled(PROPERTY_BRANCHES + 4, self.scale))
        words = names.COMPANY_WORDS
        for k in range(n_prop):
            rows.append(("property_company", f"桓台县{words[k % len(words)]}物业服务有限公司" + (f"{k // len(words) + 1}" if k >= len(words) else ""), k < PROPERTY_BRANCHES))
        n_merchants = _scaled(1400, self.scale)
        for k in range(n_merchants):
            rows.append(("merchant", f"{rng.choice(names.SHOP_WORDS)}{rng.choice(names.SHOP_KINDS)}", rng.random() < 0.06))
        for unit in names.CO_BUILDING_UNITS:
            rows.append(("co_building_unit", unit, True))
        for org in names.SOCIAL_ORGS:
            rows.append(("social_org", org, rng.random() < 0.3))
        for k in range(_scaled(120, self.scale)):
            rows.append(("enterprise", f"淄博{rng.choice(names.COMPANY_WORDS)}{rng.choice(names.ENTERPRISE_KINDS)}", rng.random() < 0.25))
        o = pd.DataFrame(rows, columns=["org_type", "name", "has_party_branch"])
        o["org_id"] = [f"O{k + 1:05d}" for k in range(len(o))]
        gi = rng.choice(len(g), len(o), p=(g["households"] / g["households"].sum()).to_numpy())
        # 紫悦城社区's merchants line 永乐巷, the credit street of the article.
        ziyue = np.flatnonzero(g["community_name"] == ZIYUE)
        shops = np.flatnonzero(o["org_type"] == "merchant")[:_scaled(60, self.scale)]
        gi[shops] = rng.choice(ziyue, len(shops))
        o.loc[shops, "name"] = "永乐巷" + o.loc[shops, "name"]
        # Names repeat across the county; a suffix keeps each one recognisable.
        dup = o.duplicated("name", keep=False) & (o["org_type"] != "property_company")
        o.loc[dup, "name"] = o.loc[dup, "name"] + "(" + g["name"].to_numpy()[gi[dup]].astype(object) + "店)"
        o.loc[dup & (o["org_type"] == "enterprise"), "name"] = o.loc[dup & (o["org_type"] == "enterprise"), "name"].str.replace("店)", ")")
        o["grid_id"] = g["grid_id"].to_numpy()[gi]
        lonlat = geo.points_in(list(g["shape"]), gi, rng, margin=0.0002)
        o["lat"], o["lon"] = lonlat[:, 1].round(6), lonlat[:, 0].round(6)
        self.orgs = o
        self.write("organizations", o)
        # Property staff: each company's people on the ground.
        staff_rows = []
        pool = self.pool
        for org in o[o["org_type"] == "property_company"].itertuples():
            chosen = pool[(pool["grid_id"] == org.grid_id) & pool["age"].between(22, 60)].head(int(rng.integers(6, 14)))
            pool = pool.drop(index=chosen.index)
            staff_rows.append(pd.DataFrame({"person_id": chosen["person_id"].to_numpy(), "role": "property_staff",
                                            "since": pd.Timestamp("2022-06-01"), "org_id": org.org_id,
                                            "grid_id": org.grid_id}))
        self.roles.extend(staff_rows)
        self.pool = pool

    def emergency(self):
        rng = next(self.rngs)
        roles = pd.concat(self.roles, ignore_index=True)
        current = roles[roles["until"].isna()] if "until" in roles else roles
        force_roles = ["community_worker", "grid_worker", "volunteer", "property_staff"]
        force = current[current["role"].isin(force_roles)].drop_duplicates("person_id")
        target = _scaled(EMERGENCY_FORCE, self.scale)
        # County and subdistrict cadres sent down to the grids (干部联网格) make up the rest.
        n_cadres = max(len(self.grids), target - len(force))
        pool = self.pool
        cadres = pool[pool["age"].between(24, 58)].sample(n=min(n_cadres, len(pool)), random_state=rng)
        self.pool = pool.drop(index=cadres.index)
        self.roles.append(pd.DataFrame({"person_id": cadres["person_id"].to_numpy(), "role": "cadre",
                                        "since": pd.Timestamp("2022-04-01"), "grid_id": cadres["grid_id"].to_numpy()}))
        people = pd.concat([force["person_id"], cadres["person_id"]], ignore_index=True)
        comm = self.people_df.set_index("person_id").loc[people, "grid_id"].map(self.grids.set_index("grid_id")["community_id"])
        groups = list(vocab.EMERGENCY_GROUPS)
        e = pd.DataFrame({"person_id": people.to_numpy(), "community_id": comm.to_numpy(),
                          "group_code": rng.choice(groups, len(people), p=[0.05] + [0.95 / 7] * 7)})
        self.write("emergency_assignments", e)
        r = pd.concat(self.roles, ignore_index=True)
        for col in ["until", "community_id", "grid_id", "building_id", "unit_no", "org_id"]:
            if col not in r:
                r[col] = None
        r["since"] = pd.to_datetime(r["since"]).dt.date
        r["until"] = pd.to_datetime(r["until"]).dt.date
        r["unit_no"] = r["unit_no"].astype("Int64")
        self.roles_df = r
        self.write("person_roles", r)

    # -- service points ------------------------------------------------------------------
    def facilities(self):
        rng = next(self.rngs)
        g, c = self.grids, self.communities
        rows = []

        def add(ftype, grid_idx, name, capacity, opened):
            rows.append((ftype, name, g["community_id"].iat[grid_idx], g["grid_id"].iat[grid_idx], capacity, opened))

        def grids_of(comm_name):
            return np.flatnonzero(g["community_name"] == comm_name)

        early = pd.Timestamp("2022-01-01")
        span_days = (self.end - self.start).days
        for comm in c.itertuples():
            idx = grids_of(comm.name)
            add("party_service_center", idx[0], f"{comm.name}党群服务中心", 200, early - pd.Timedelta(days=int(rng.integers(200, 2000))))
            # Some communities are still building their "1+N" matrix: the circle has gaps.
            for k in range(int(rng.integers(1, 5))):
                opened = self.start + pd.Timedelta(days=int(rng.integers(-400, span_days)))
                add("red_station", rng.choice(idx), f"{comm.name}红色驿站{k + 1}号", int(rng.integers(20, 60)), opened)
        halls = rng.choice(len(c), DELIBERATION_HALLS, replace=False)
        for ci in halls:
            idx = grids_of(c["name"].iat[ci])
            add("deliberation_hall", rng.choice(idx), f"{c['name'].iat[ci]}红色议事厅", int(rng.integers(30, 80)), early + pd.Timedelta(days=int(rng.integers(60, 500))))
        for k, ci in enumerate(rng.choice(len(c), COURTYARD_COUNCILS, replace=True)):
            idx = grids_of(c["name"].iat[ci])
            add("courtyard_council", rng.choice(idx), f"红色庭院议事会({c['name'].iat[ci]}{k + 1})", int(rng.integers(15, 40)), early + pd.Timedelta(days=int(rng.integers(60, 700))))
        # Charging: the 38 sheds of 东岳国际社区 answered its parking and charging tickets.
        self.shed_opening = self.start + pd.Timedelta(days=int(span_days * 0.45))
        for k in range(_scaled(CHARGING_SHEDS_DONGYUE, self.scale)):
            add("charging_shed", rng.choice(grids_of(DONGYUE)), f"{DONGYUE}充电车棚{k + 1}号", int(rng.integers(20, 60)), self.shed_opening + pd.Timedelta(days=int(rng.integers(0, 240))))
        for comm in c.itertuples():
            if comm.name in (DONGYUE, XIANGSHU):
                continue
            for k in range(int(rng.integers(0, 4))):
                add("charging_shed", rng.choice(grids_of(comm.name)), f"{comm.name}充电车棚{k + 1}号", int(rng.integers(20, 50)), self.start + pd.Timedelta(days=int(rng.integers(-300, span_days))))
            n_piles = _scaled(int(rng.integers(5, 40)), self.scale, minimum=0)
            for k in range(n_piles):
                add("charging_pile", rng.choice(grids_of(comm.name)), f"{comm.name}充电桩{k + 1}号", 1, self.start + pd.Timedelta(days=int(rng.integers(-300, span_days))))
        for k in range(_scaled(CHARGING_PILES_XIANGSHU, self.scale)):
            add("charging_pile", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}充电桩{k + 1}号", 1, self.start + pd.Timedelta(days=int(rng.integers(0, span_days))))
        station_names = ["小哥加油站", "司机之家", "户外劳动者驿站"]
        for k in range(NEW_EMPLOYMENT_STATIONS):
            gi = int(rng.integers(0, len(g)))
            add("new_employment_station", gi, f"{g['community_name'].iat[gi]}{station_names[k % 3]}", int(rng.integers(10, 30)), early + pd.Timedelta(days=int(rng.integers(300, 1100))))
        add("grid_home", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}网格之家", 60, self.start + pd.Timedelta(days=int(span_days * 0.6)))
        add("elderly_canteen", rng.choice(grids_of(XIANGSHU)), f"{XIANGSHU}长者食堂助餐点", 80, self.start + pd.Timedelta(days=int(span_days * 0.65)))
        for ci in rng.choice(len(c), 9, replace=False):
            name = c["name"].iat[ci]
            if name != XIANGSHU:
                add("elderly_canteen", rng.choice(grids_of(name)), f"{name}长者食堂", int(rng.integers(40, 100)), early + pd.Timedelta(days=int(rng.integers(100, 1200))))
        for gi in rng.choice(len(g), 16, replace=False):
            add("grid_home", gi, f"{g['name'].iat[gi]}网格之家", int(rng.integers(20, 50)), early + pd.Timedelta(days=int(rng.integers(100, 1300))))
        f = pd.DataFrame(rows, columns=["facility_type", "name", "community_id", "grid_id", "capacity", "opened_on"])
        f["opened_on"] = pd.to_datetime(f["opened_on"]).clip(upper=self.end).dt.date
        f["facility_id"] = [f"F{k + 1:05d}" for k in range(len(f))]
        which = g.reset_index().set_index("grid_id").loc[f["grid_id"], "index"].to_numpy()
        lonlat = geo.points_in(list(g["shape"]), which, rng, margin=0.0001)
        f["lat"], f["lon"] = lonlat[:, 1].round(6), lonlat[:, 0].round(6)
        self.write("facilities", f)

    # -- activity over time --------------------------------------------------------------
    def volunteering(self):
        rng = next(self.rngs)
        p, m = self.people_df, self.members
        months = pd.period_range(self.start, self.end, freq="M")
        campaign = {3: 2.2, 6: 1.3, 7: 1.4, 8: 1.3, 12: 1.2, 1: 1.3}
        member_grid = p.set_index("person_id").loc[m["person_id"], "grid_id"].to_numpy()
        propensity = rng.gamma(2.0, 0.6, len(m))
        shaohai = set(self.grids.loc[self.grids["subdistrict_id"] == SHAOHAI_ID, "grid_id"])
        frames = []
        target_month = pd.Period(f"{self.end.year}-03", freq="M")
        for month in months:
            mult = campaign.get(month.month, 1.0)
            month_start = max(month.start_time, self.start)
            month_end = min(month.end_time, self.end_of_data)
            active = (m["joined_on"].to_numpy() <= month_start.to_datetime64())
            count = rng.poisson(propensity * mult) * active
            if month == target_month:
                # This month is calibrated below for 少海街道; its own members are counted there.
                count[np.isin(member_grid, list(shaohai))] = 0
            idx = np.repeat(np.arange(len(m)), count)
            frames.append(self._activities(rng, m["person_id"].to_numpy()[idx], m["team_id"].to_numpy()[idx],
                                           member_grid[idx], month_start, month_end, campaign=mult > 1.5))
            if mult > 1.5 and month != target_month:
                # Campaign months (学雷锋月) draw residents outside the teams too.
                residents = p[p["age"].between(16, 75)]
                drawn = residents.sample(frac=rng.uniform(0.025, 0.035), random_state=rng)
                frames.append(self._activities(rng, drawn["person_id"].to_numpy(), None, drawn["grid_id"].to_numpy(),
                                               month_start, month_end, campaign=True))
        if target_month.start_time <= self.end:
            # "今年3月份,少海街道先后有4572名志愿者参加社区服务": exactly that many people.
            month_start = target_month.start_time
            month_end = min(target_month.end_time, self.end_of_data)
            want = _scaled(MARCH_VOLUNTEERS_SHAOHAI, self.scale)
            in_sh = np.isin(member_grid, list(shaohai))
            sh_members = m[in_sh].sample(frac=0.9, random_state=rng)
            residents = p[p["grid_id"].isin(shaohai) & p["age"].between(16, 75) & ~p["person_id"].isin(m["person_id"])]
            outsiders = residents.sample(n=max(0, want - len(sh_members)), random_state=rng)
            sh_members = sh_members.head(want)
            person = np.concatenate([sh_members["person_id"].to_numpy(), outsiders["person_id"].to_numpy()])
            team = np.concatenate([sh_members["team_id"].to_numpy(), np.full(len(outsiders), None)])
            grid = p.set_index("person_id").loc[person, "grid_id"].to_numpy()
            times = rng.integers(1, 4, len(person))
            idx = np.repeat(np.arange(len(person)), times)
            frames.append(self._activities(rng, person[idx], team[idx], grid[idx], month_start, month_end, campaign=True))
        a = pd.concat(frames, ignore_index=True).sort_values(["started_at", "person_id"], kind="stable", ignore_index=True)
        a["activity_id"] = np.arange(1, len(a) + 1)
        self.activities = a
        self.write("volunteer_activities", a)

    def _activities(self, rng, person, team, grid, start, end, campaign):
        n = len(person)
        kinds = list(vocab.VOLUNTEER_KINDS)
        p_kind = [0.12, 0.26, 0.16, 0.14, 0.16, 0.1, 0.06] if not campaign else [0.3, 0.3, 0.12, 0.08, 0.12, 0.05, 0.03]
        seconds = max(1, int((end - start).total_seconds()))
        day = start.normalize() + pd.to_timedelta(rng.integers(0, max(1, seconds // 86400 + 1), n), unit="D")
        started = day + pd.to_timedelta(rng.choice([8, 9, 14, 15, 19], n) * 60 + rng.integers(0, 30, n), unit="min")
        started = started.where(started <= end, end - pd.Timedelta(hours=1))
        return pd.DataFrame({
            "person_id": person,
            "team_id": team if team is not None else np.full(n, None),
            "grid_id": grid,
            "started_at": started,
            "hours": np.round(np.clip(rng.gamma(2.2, 1.0, n), 0.5, 8) * 2) / 2,
            "kind": rng.choice(kinds, n, p=p_kind),
        })

    def indicators(self):
        revised_from = pd.Timestamp(dt.date(self.end.year - 1, 1, 1))
        rows = []
        for code, cat, name, pts, _ in PERSON_INDICATORS:
            until = revised_from - pd.Timedelta(days=1) if code == "P-CIV-01" else None
            rows.append((code, "person", cat, name, pts, pd.Timestamp("2022-01-01"), until))
        code, cat, name, pts = REVISED_INDICATOR
        rows.append((code, "person", cat, name, pts, revised_from, None))
        for code, cat, name, pts, _ in ORG_INDICATORS:
            rows.append((code, "org", cat, name, pts, pd.Timestamp("2022-01-01"), None))
        ind = pd.DataFrame(rows, columns=["indicator_code", "subject_type", "category", "name", "points", "valid_from", "valid_to"])
        ind["valid_from"] = ind["valid_from"].dt.date
        ind["valid_to"] = pd.to_datetime(ind["valid_to"]).dt.date
        self.revised_from = revised_from
        self.write("credit_indicators", ind)

    def ledger(self):
        rng = next(self.rngs)
        p, g = self.people_df, self.grids
        worker = self.grid_worker
        recorder_of_grid = worker.reindex(g["grid_id"]).to_numpy()
        # Day-to-day scoring is shared: the grid worker, the grid leader, three community workers.
        cw = self.community_workers.groupby("community_id")["person_id"].agg(list)
        recorders = np.array([[worker.get(gid), self.grid_leader.get(gid), *cw[cid][1:4]]
                              for gid, cid in zip(g["grid_id"], g["community_id"])], dtype=object)
        recorder_share = [0.5, 0.2, 0.1, 0.1, 0.1]
        # 1. Every volunteer activity is scored by the community it served.
        a = self.activities
        act_code = np.where(a["kind"] == "epidemic_prevention", "P-EPI-01", "P-VOL-01")
        a_grid = self.grids.reset_index().set_index("grid_id").loc[a["grid_id"], "index"].to_numpy()
        act = pd.DataFrame({
            "subject_type": "person", "subject_id": a["person_id"], "indicator_code": act_code,
            "points": np.where(act_code == "P-EPI-01", 3.0, 2.0),
            "occurred_at": a["started_at"],
            # Activities are scored by whoever organised them in the community.
            "recorded_by": recorders[a_grid, rng.choice(5, len(a), p=[0.3, 0.1, 0.2, 0.2, 0.2])],
        })
        # 2. Behaviour scored through the quarter: a Poisson count per person and quarter.
        role_people = set(self.roles_df["person_id"])
        base = 0.22 * (1 + 1.6 * p["is_party_member"].to_numpy() + 1.5 * p["person_id"].isin(role_people).to_numpy())
        base = base * np.where(p["age"].to_numpy() < 16, 0.1, 1.0) * rng.gamma(3.0, 1 / 3.0, len(p))
        codes = [c for c, *_ in PERSON_INDICATORS if _[-1] > 0]
        freq = np.array([f for *_, f in PERSON_INDICATORS if f > 0])
        pts = {c: float(v) for c, _, _, v, _ in PERSON_INDICATORS}
        frames = [act]
        grid_idx = p["grid_idx"].to_numpy()
        for qi, q in enumerate(self.quarters):
            q_start, q_end = max(q.start_time, self.start), min(q.end_time, self.end_of_data)
            frac = (q_end - q_start) / (q.end_time - q.start_time)
            lam = base * self.activity[grid_idx, qi] * frac
            count = rng.poisson(lam)
            idx = np.repeat(np.arange(len(p)), count)
            code = np.array(codes)[rng.choice(len(codes), len(idx), p=freq / freq.sum())]
            # Well-run grids see fewer deductions.
            bad = np.char.find(code.astype(str), "-N") > 0
            keep = ~bad | (rng.random(len(idx)) < np.clip(1.3 / self.activity[grid_idx[idx], qi], 0.2, 1))
            idx, code = idx[keep], code[keep]
            if q_start >= self.revised_from:
                code = np.where(code == "P-CIV-01", "P-CIV-05", code)
            seconds = (q_end - q_start).total_seconds()
            occurred = q_start + pd.to_timedelta(rng.uniform(0, seconds, len(idx)), unit="s")
            frames.append(pd.DataFrame({
                "subject_type": "person", "subject_id": p["person_id"].to_numpy()[idx], "indicator_code": code,
                "points": [2.0 if c == "P-CIV-05" else pts[c] for c in code],
                "occurred_at": occurred.floor("min"),
                "recorded_by": recorders[grid_idx[idx], rng.choice(5, len(idx), p=recorder_share)],
            }))
        # 3. Organisations: merchants, companies and co-building units.
        o = self.orgs
        ocodes = [c for c, *_ in ORG_INDICATORS]
        ofreq = np.array([f for *_, f in ORG_INDICATORS])
        opts = {c: float(v) for c, _, _, v, _ in ORG_INDICATORS}
        org_quality = rng.normal(0, 1, len(o))
        comm_worker = self.community_secretary
        org_comm = o["grid_id"].map(g.set_index("grid_id")["community_id"])
        for q in self.quarters:
            q_start, q_end = max(q.start_time, self.start), min(q.end_time, self.end_of_data)
            count = rng.poisson(0.9, len(o))
            idx = np.repeat(np.arange(len(o)), count)
            probs = ofreq / ofreq.sum()
            code = np.array(ocodes)[rng.choice(len(ocodes), len(idx), p=probs)]
            # Poorly run organisations draw the deductions: flip some positives to negatives.
            neg = np.array([opts[c] < 0 for c in code])
            flip = (org_quality[idx] < -0.8) & ~neg & (rng.random(len(idx)) < 0.5)
            code[flip] = rng.choice(["O-SAF-N1", "O-BUS-N1", "O-BUS-N2"], flip.sum())
            seconds = (q_end - q_start).total_seconds()
            frames.append(pd.DataFrame({
                "subject_type": "org", "subject_id": o["org_id"].to_numpy()[idx], "indicator_code": code,
                "points": [opts[c] for c in code],
                "occurred_at": (q_start + pd.to_timedelta(rng.uniform(0, seconds, len(idx)), unit="s")).floor("min"),
                "recorded_by": comm_worker.reindex(org_comm.to_numpy()[idx]).to_numpy(),
            }))
        e = pd.concat(frames, ignore_index=True)
        # 4. A few grids pad their figures: a burst recorded by one person in a quarter's last days.
        spikes = []
        padded = rng.choice(len(g), 3, replace=False)
        for k, gi in enumerate(padded):
            q = self.quarters[-2 - k % 2]
            q_end = min(q.end_time, self.end_of_data)
            residents = p.loc[p["grid_idx"] == gi, "person_id"].to_numpy()
            n = int(len(residents) * 0.6)
            chosen = rng.choice(residents, n)
            spikes.append(pd.DataFrame({
                "subject_type": "person", "subject_id": chosen, "indicator_code": "P-GOV-01", "points": 2.0,
                "occurred_at": (q_end.normalize() - pd.to_timedelta(rng.integers(0, 4, n), unit="D")
                                + pd.to_timedelta(rng.integers(9 * 60, 17 * 60, n), unit="min")),
                "recorded_by": recorder_of_grid[gi],
            }))
        e = pd.concat([e, *spikes], ignore_index=True)
        lag = pd.to_timedelta(np.clip(rng.exponential(2.5, len(e)), 0, 40) * 86400, unit="s")
        e["recorded_at"] = (e["occurred_at"] + lag).dt.floor("min")
        e = e[e["recorded_at"] <= self.end_of_data]
        e = e.sort_values(["recorded_at", "subject_id", "indicator_code"], kind="stable", ignore_index=True)
        e["event_id"] = np.arange(1, len(e) + 1)
        e["reverses_event_id"] = pd.array([pd.NA] * len(e), dtype="Int64")
        e["note"] = None
        # 5. Corrections: about 1.5% of events turn out wrong and are reversed, never edited.
        wrong = e.sample(frac=0.015, random_state=rng)
        rev = wrong.copy()
        rev["reverses_event_id"] = wrong["event_id"].astype("Int64").to_numpy()
        rev["points"] = -wrong["points"]
        rev["recorded_at"] = (wrong["recorded_at"] + pd.to_timedelta(rng.integers(1, 45, len(wrong)), unit="D")).dt.floor("min")
        rev["note"] = rng.choice(["录入错误,予以冲正", "重复录入,予以冲正", "经核实不符合赋分条件"], len(rev))
        rev = rev[rev["recorded_at"] <= self.end_of_data].sort_values("recorded_at", kind="stable")
        rev["event_id"] = np.arange(len(e) + 1, len(e) + len(rev) + 1)
        e = pd.concat([e, rev], ignore_index=True)
        self.padded_grids = g["grid_id"].to_numpy()[padded]
        self.ledger_df = e
        self.write("credit_events", e)

    def redemptions(self):
        rng = next(self.rngs)
        e = self.ledger_df
        s = pd.DataFrame(SCENARIOS, columns=["name", "category", "points_cost", "value_yuan", "min_level", "partner"])
        s.insert(0, "scenario_id", [f"S{k + 1:02d}" for k in range(len(s))])
        self.write("redemption_scenarios", s)
        person = e[e["subject_type"] == "person"].groupby("subject_id")["points"].sum()
        person = person[person >= 10]
        thresholds = {code: t for code, _, t in settings.CREDIT_LEVELS if t is not None}
        # Redemptions grow as scenarios open: the end year is calibrated, earlier years fewer.
        ytd_days = (self.end - self.year_start).days + 1
        want_ytd = _scaled(REDEMPTIONS_YTD_MIN + int(rng.integers(20, 160)), self.scale)
        daily = want_ytd / ytd_days
        spans = [(self.year_start, self.end_of_data, want_ytd)]
        prev_end = self.year_start - pd.Timedelta(seconds=1)
        for year_back, factor in ((1, 0.75), (2, 0.5), (3, 0.35)):
            y_start = max(self.start, pd.Timestamp(dt.date(self.end.year - year_back, 1, 1)))
            if y_start > prev_end:
                break
            days = (prev_end - y_start).days + 1
            spans.append((y_start, prev_end, int(round(daily * days * factor))))
            prev_end = y_start - pd.Timedelta(seconds=1)
        rows = []
        weight = person.to_numpy() / person.sum()
        for start, end, n in spans:
            who = rng.choice(len(person), n, p=weight)
            balance = person.to_numpy()[who]
            min_points = s["min_level"].map(thresholds).fillna(-np.inf).to_numpy()
            eligible = (balance[:, None] >= min_points[None, :]) & (balance[:, None] >= s["points_cost"].to_numpy()[None, :])
            # A uniform choice among each person's eligible scenarios.
            pick = np.where(eligible, rng.random(eligible.shape), -1).argmax(axis=1)
            scen = s["scenario_id"].to_numpy()[pick]
            seconds = (end - start).total_seconds()
            when = start + pd.to_timedelta(rng.uniform(0, seconds, n), unit="s")
            rows.append(pd.DataFrame({"person_id": person.index.to_numpy()[who], "scenario_id": scen,
                                      "redeemed_at": when.floor("min")}))
        r = pd.concat(rows, ignore_index=True).sort_values(["redeemed_at", "person_id"], kind="stable", ignore_index=True)
        r["points"] = r["scenario_id"].map(s.set_index("scenario_id")["points_cost"]).astype(float)
        r["redemption_id"] = np.arange(1, len(r) + 1)
        self.write("redemptions", r)

    def tickets(self):
        rng = next(self.rngs)
        g, p = self.grids, self.people_df
        ytd_days = (self.end - self.year_start).days + 1
        lo, hi = TICKETS_YTD
        want_ytd = _scaled(int(rng.integers(lo + 10, hi - 10)), self.scale)
        daily = want_ytd / ytd_days if ytd_days >= 90 else 4.5 * self.scale
        days = pd.date_range(self.start, self.end, freq="D")
        # Growth as the method spread: earlier years see fewer tickets per day.
        years_back = (self.end.year - days.year).to_numpy()
        season = 1 + 0.25 * np.sin((days.day_of_year.to_numpy() - 100) / 365 * 2 * np.pi)
        weekday = np.where(days.day_of_week.to_numpy() >= 5, 0.6, 1.1)
        weight = season * weekday * np.array([1.0, 0.85, 0.7, 0.6])[np.minimum(years_back, 3)]
        in_ytd = days >= self.year_start
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
        before = pd.DatetimeIndex(filed) < self.shed_opening
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
        self._ticket_events(rng, t, filed, gi, escalate)
        self.write("tickets", t)

    def _ticket_events(self, rng, t, filed, gi, escalate):
        n = len(t)
        g = self.grids
        q_index = np.searchsorted(self.quarters.start_time.to_numpy(), filed.to_numpy(), side="right") - 1
        slow = self.slowness[gi] * np.exp(-0.15 * (self.activity[gi, q_index] - 1))
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
        gw = self.grid_worker.reindex(g["grid_id"]).to_numpy()[gi]
        gl = self.grid_leader.reindex(g["grid_id"]).to_numpy()[gi]
        sec = self.community_secretary.reindex(g["community_id"]).to_numpy()[gi]
        rows, ratings = [], []
        quality = 4.6 - 0.5 * (self.slowness[gi] - 1)
        ts = {"filed": filed.to_numpy()}
        prev = ts["filed"]
        for step, h in hours.items():
            cur = _working_time(prev + pd.to_timedelta(h * 3600, unit="s").to_numpy(), rng)
            if backfilled.any():
                cur = np.where(backfilled, prev + pd.to_timedelta(h * 3600, unit="s").to_numpy(), cur)
            ts[step] = cur
            prev = cur
        end = self.end_of_data.to_datetime64()
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
        self.write("ticket_events", ev)
        r = pd.DataFrame(ratings, columns=["ticket_id", "rater_kind", "score", "rated_at"])
        r["rated_at"] = pd.to_datetime(r["rated_at"]).clip(upper=self.end_of_data).dt.floor("min")
        r["rating_id"] = np.arange(1, len(r) + 1)
        self.write("ticket_ratings", r)

    def property_and_wishes(self):
        rng = next(self.rngs)
        o, g = self.orgs, self.grids
        companies = o[o["org_type"] == "property_company"]
        level = rng.normal(82, 6, len(companies))
        rows = []
        for q in self.quarters:
            if q.end_time > self.end_of_data:
                continue
            drift = rng.normal(0, 2.5, len(companies))
            for evaluator, bias in (("residents", -3), ("community", 1), ("subdistrict", 2)):
                score = np.clip(level + drift + bias + rng.normal(0, 3, len(companies)), 40, 99)
                rows.append(pd.DataFrame({"org_id": companies["org_id"].to_numpy(), "quarter": str(q).replace("Q", "Q"),
                                          "evaluator": evaluator, "score": score.round(1)}))
        self.write("property_evaluations", pd.concat(rows, ignore_index=True))
        cats = list(vocab.WISH_CATEGORIES)
        xiangshu = np.flatnonzero(g["community_name"] == XIANGSHU)
        span = (self.end_of_data - self.start).total_seconds()
        n = _scaled(3 * len(g) * 3, self.scale)
        gi = rng.integers(0, len(g), n)
        gi = gi[~np.isin(gi, xiangshu)]
        filed = self.start + pd.to_timedelta(rng.uniform(0, span, len(gi)), unit="s")
        # 橡树玫瑰城社区: 35 wishes this year, every one fulfilled.
        k = _scaled(WISHES_XIANGSHU, self.scale)
        ytd = (self.end_of_data - self.year_start).total_seconds() * 0.85
        x_filed = self.year_start + pd.to_timedelta(rng.uniform(0, ytd, k), unit="s")
        x_prev = self.start + pd.to_timedelta(rng.uniform(0, (self.year_start - self.start).total_seconds(), 2 * k), unit="s")
        all_gi = np.concatenate([gi, rng.choice(xiangshu, k), rng.choice(xiangshu, 2 * k)])
        all_filed = pd.DatetimeIndex(np.concatenate([filed.to_numpy(), x_filed.to_numpy(), x_prev.to_numpy()]))
        wait = pd.to_timedelta(rng.gamma(2.0, 9.0, len(all_gi)) * 86400, unit="s")
        done = all_filed + wait
        sure = np.zeros(len(all_gi), dtype=bool)
        sure[len(gi):] = True
        fulfilled = np.where(sure | (rng.random(len(all_gi)) < 0.85), done, pd.NaT)
        fulfilled = pd.DatetimeIndex(fulfilled)
        fulfilled = fulfilled.where((fulfilled <= self.end_of_data) | sure, pd.NaT)
        fulfilled = fulfilled.where(fulfilled <= self.end_of_data, self.end_of_data)
        cat = np.array(cats)[rng.integers(0, len(cats), len(all_gi))]
        titles = [names.WISH_TITLES[c][int(rng.integers(0, 3))] for c in cat]
        w = pd.DataFrame({"grid_id": g["grid_id"].to_numpy()[all_gi], "category": cat, "title": titles,
                          "filed_at": all_filed.floor("min"), "fulfilled_at": fulfilled.floor("min")})
        w = w.sort_values(["filed_at", "grid_id"], kind="stable", ignore_index=True)
        w["wish_id"] = [f"W{k + 1:05d}" for k in range(len(w))]
        self.write("micro_wishes", w)

    def meta(self):
        facts = {"source": "demo", "demo_seed": str(self.seed), "demo_scale": str(self.scale),
                 "as_of": self.end.date().isoformat(), "history_start": self.start.date().isoformat(),
                 "county": "桓台县", "built_at": clock.now().isoformat(timespec="seconds")}
        self.write("meta", pd.DataFrame({"key": list(facts), "value": list(facts.values())}))


STAGES = [
    ("geography", "绘制街道、社区和网格"),
    ("buildings", "生成楼栋与单元"),
    ("people", "登记居民与红色楼长、单元长"),
    ("roles_and_teams", "组建志愿服务队"),
    ("organizations", "登记商户、物业和共建单位"),
    ("emergency", "编组一办七组"),
    ("facilities", "布设服务阵地"),
    ("volunteering", "记录志愿服务"),
    ("indicators", "建立信用指标目录"),
    ("ledger", "记录信用积分台账"),
    ("redemptions", "记录积分兑换"),
    ("tickets", "生成协商议事工单"),
    ("property_and_wishes", "物业评议与微心愿"),
    ("meta", "写入数据说明"),
]


def build_demo(con, scale: float = 1.0, seed: int = DEFAULT_SEED, end: dt.date | None = None,
               progress: Callable[[float, str], None] | None = None) -> None:
    """Fill an empty, migrated database with the demo county, in one transaction."""
    if scale <= 0:
        raise ValueError("规模系数必须大于 0")
    end = end or clock.today()
    migrate(con)
    if con.execute("SELECT count(*) FROM grids").fetchone()[0]:
        raise ValueError("数据库中已有数据,演示数据只能写入空数据库")
    builder = _Builder(con, scale, seed, end, progress)
    con.execute("BEGIN TRANSACTION")
    try:
        for k, (stage, label) in enumerate(STAGES):
            if progress:
                progress(k / len(STAGES), label)
            getattr(builder, stage)()
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress(0.98, "生成汇总表")
    refresh(con)
    if progress:
        progress(1.0, "完成")


def build_demo_file(path: Path, scale: float = 1.0, seed: int = DEFAULT_SEED, end: dt.date | None = None,
                    progress: Callable[[float, str], None] | None = None) -> dict[str, int]:
    """Build the demo beside path and move it into place, so no reader sees a half-built file.

    Returns the row count of every table.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    with connect(tmp) as con:
        build_demo(con, scale=scale, seed=seed, end=end, progress=progress)
        counts = table_counts(con)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    tmp.replace(path)
    return counts
