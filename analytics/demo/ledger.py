"""Credit in the grid (信用进网格): the indicator catalogue and the points ledger,
append-only, with its reversals."""

import numpy as np
import pandas as pd

from .county import County
from .geography import Geography
from .people import Officials

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


def revised_from(county: County) -> pd.Timestamp:
    """The day the revised catalogue took effect: 1 January of the year before the end."""
    return pd.Timestamp(county.end.year - 1, 1, 1)


def indicators(county: County) -> pd.DataFrame:
    """The `credit_indicators` table."""
    revised = revised_from(county)
    rows = []
    for code, cat, name, pts, _ in PERSON_INDICATORS:
        until = revised - pd.Timedelta(days=1) if code == "P-CIV-01" else None
        rows.append((code, "person", cat, name, pts, pd.Timestamp("2022-01-01"), until))
    code, cat, name, pts = REVISED_INDICATOR
    rows.append((code, "person", cat, name, pts, revised, None))
    for code, cat, name, pts, _ in ORG_INDICATORS:
        rows.append((code, "org", cat, name, pts, pd.Timestamp("2022-01-01"), None))
    ind = pd.DataFrame(rows, columns=["indicator_code", "subject_type", "category", "name", "points", "valid_from", "valid_to"])
    ind["valid_from"] = ind["valid_from"].dt.date
    ind["valid_to"] = pd.to_datetime(ind["valid_to"]).dt.date
    return ind


def events(rng: np.random.Generator, county: County, area: Geography, people: pd.DataFrame, roles: pd.DataFrame,
           officials: Officials, activities: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
    """The `credit_events` table: volunteering, behaviour through each quarter, organisations,
    a few padded grids, and reversals of the events that turned out wrong."""
    p, g = people, area.grids
    worker = officials.grid_worker
    recorder_of_grid = worker.reindex(g["grid_id"]).to_numpy()
    # Day-to-day scoring is shared: the grid worker, the grid leader, three community workers.
    cw = officials.community_workers.groupby("community_id")["person_id"].agg(list)
    recorders = np.array([[worker.get(gid), officials.grid_leader.get(gid), *cw[cid][1:4]]
                          for gid, cid in zip(g["grid_id"], g["community_id"])], dtype=object)
    recorder_share = [0.5, 0.2, 0.1, 0.1, 0.1]
    # 1. Every volunteer activity is scored by the community it served.
    a = activities
    act_code = np.where(a["kind"] == "epidemic_prevention", "P-EPI-01", "P-VOL-01")
    a_grid = pd.Index(g["grid_id"]).get_indexer(a["grid_id"])
    act = pd.DataFrame({
        "subject_type": "person", "subject_id": a["person_id"], "indicator_code": act_code,
        "points": np.where(act_code == "P-EPI-01", 3.0, 2.0),
        "occurred_at": a["started_at"],
        # Activities are scored by whoever organised them in the community.
        "recorded_by": recorders[a_grid, rng.choice(5, len(a), p=[0.3, 0.1, 0.2, 0.2, 0.2])],
    })
    # 2. Behaviour scored through the quarter: a Poisson count per person and quarter.
    # First secretaries count as party members here, though the people table, written before
    # they were appointed, does not mark them.
    first_secretaries = roles.loc[roles["role"] == "first_secretary", "person_id"]
    party = p["is_party_member"].to_numpy() | p["person_id"].isin(first_secretaries).to_numpy()
    role_people = set(roles["person_id"])
    base = 0.22 * (1 + 1.6 * party + 1.5 * p["person_id"].isin(role_people).to_numpy())
    base = base * np.where(p["age"].to_numpy() < 16, 0.1, 1.0) * rng.gamma(3.0, 1 / 3.0, len(p))
    codes = [c for c, *_ in PERSON_INDICATORS if _[-1] > 0]
    freq = np.array([f for *_, f in PERSON_INDICATORS if f > 0])
    pts = {c: float(v) for c, _, _, v, _ in PERSON_INDICATORS}
    frames = [act]
    grid_idx = p["grid_idx"].to_numpy()
    revised = revised_from(county)
    start, end_of_data, quarters = county.start, county.end_of_data, county.quarters
    for qi, q in enumerate(quarters):
        q_start, q_end = max(q.start_time, start), min(q.end_time, end_of_data)
        frac = (q_end - q_start) / (q.end_time - q.start_time)
        lam = base * area.activity[grid_idx, qi] * frac
        count = rng.poisson(lam)
        idx = np.repeat(np.arange(len(p)), count)
        code = np.array(codes)[rng.choice(len(codes), len(idx), p=freq / freq.sum())]
        # Well-run grids see fewer deductions.
        bad = np.char.find(code.astype(str), "-N") > 0
        keep = ~bad | (rng.random(len(idx)) < np.clip(1.3 / area.activity[grid_idx[idx], qi], 0.2, 1))
        idx, code = idx[keep], code[keep]
        if q_start >= revised:
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
    o = orgs
    ocodes = [c for c, *_ in ORG_INDICATORS]
    ofreq = np.array([f for *_, f in ORG_INDICATORS])
    opts = {c: float(v) for c, _, _, v, _ in ORG_INDICATORS}
    org_quality = rng.normal(0, 1, len(o))
    org_comm = o["grid_id"].map(g.set_index("grid_id")["community_id"])
    for q in quarters:
        q_start, q_end = max(q.start_time, start), min(q.end_time, end_of_data)
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
            "recorded_by": officials.community_secretary.reindex(org_comm.to_numpy()[idx]).to_numpy(),
        }))
    e = pd.concat(frames, ignore_index=True)
    # 4. A few grids pad their figures: a burst recorded by one person in a quarter's last days.
    spikes = []
    padded = rng.choice(len(g), 3, replace=False)
    for k, gi in enumerate(padded):
        q = quarters[-2 - k % 2]
        q_end = min(q.end_time, end_of_data)
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
    e = e[e["recorded_at"] <= end_of_data]
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
    rev = rev[rev["recorded_at"] <= end_of_data].sort_values("recorded_at", kind="stable")
    rev["event_id"] = np.arange(len(e) + 1, len(e) + len(rev) + 1)
    return pd.concat([e, rev], ignore_index=True)
