"""The redemption scenarios (信易+) and the points residents exchanged for them."""

import numpy as np
import pandas as pd

from .. import settings
from .county import County

REDEMPTIONS_YTD_MIN = 4790  # the article's "4,790+" since 1 January, at scale 1

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


def scenarios() -> pd.DataFrame:
    """The `redemption_scenarios` table."""
    s = pd.DataFrame(SCENARIOS, columns=["name", "category", "points_cost", "value_yuan", "min_level", "partner"])
    s.insert(0, "scenario_id", [f"S{k + 1:02d}" for k in range(len(s))])
    return s


def redemptions(rng: np.random.Generator, county: County, events: pd.DataFrame,
                scenarios: pd.DataFrame) -> pd.DataFrame:
    """The `redemptions` table: residents with at least 10 points redeem, more each year."""
    s = scenarios
    person = events[events["subject_type"] == "person"].groupby("subject_id")["points"].sum()
    person = person[person >= 10]
    thresholds = {code: t for code, _, t in settings.CREDIT_LEVELS if t is not None}
    # Redemptions grow as scenarios open: the end year is calibrated, earlier years fewer.
    year_start, end_of_data = county.year_start, county.end_of_data
    ytd_days = (county.end - year_start).days + 1
    want_ytd = county.scaled(REDEMPTIONS_YTD_MIN + int(rng.integers(20, 160)))
    daily = want_ytd / ytd_days
    spans = [(year_start, end_of_data, want_ytd)]
    prev_end = year_start - pd.Timedelta(seconds=1)
    for year_back, factor in ((1, 0.75), (2, 0.5), (3, 0.35)):
        y_start = max(county.start, pd.Timestamp(county.end.year - year_back, 1, 1))
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
    return r
