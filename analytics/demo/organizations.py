"""Merchants, property companies, co-building units, social organisations and enterprises,
and the property companies' staff on the ground."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import geo, names
from .county import County

PROPERTY_BRANCHES = 21  # property companies with a party branch, at any scale
ZIYUE = "紫悦城社区"


@dataclass(frozen=True)
class Organizations:
    orgs: pd.DataFrame  # the organizations table
    roles: tuple[pd.DataFrame, ...]  # property staff, one frame per company
    unassigned: pd.DataFrame


def organizations(rng: np.random.Generator, county: County, grids: pd.DataFrame,
                  unassigned: pd.DataFrame) -> Organizations:
    g = grids
    rows = []
    n_prop = max(PROPERTY_BRANCHES + 4, county.scaled(PROPERTY_BRANCHES + 4))
    words = names.COMPANY_WORDS
    for k in range(n_prop):
        rows.append(("property_company", f"桓台县{words[k % len(words)]}物业服务有限公司" + (f"{k // len(words) + 1}" if k >= len(words) else ""), k < PROPERTY_BRANCHES))
    n_merchants = county.scaled(1400)
    for k in range(n_merchants):
        rows.append(("merchant", f"{rng.choice(names.SHOP_WORDS)}{rng.choice(names.SHOP_KINDS)}", rng.random() < 0.06))
    for unit in names.CO_BUILDING_UNITS:
        rows.append(("co_building_unit", unit, True))
    for org in names.SOCIAL_ORGS:
        rows.append(("social_org", org, rng.random() < 0.3))
    for k in range(county.scaled(120)):
        rows.append(("enterprise", f"淄博{rng.choice(names.COMPANY_WORDS)}{rng.choice(names.ENTERPRISE_KINDS)}", rng.random() < 0.25))
    o = pd.DataFrame(rows, columns=["org_type", "name", "has_party_branch"])
    o["org_id"] = [f"O{k + 1:05d}" for k in range(len(o))]
    gi = rng.choice(len(g), len(o), p=(g["households"] / g["households"].sum()).to_numpy())
    # 紫悦城社区's merchants line 永乐巷, the credit street of the article.
    ziyue = np.flatnonzero(g["community_name"] == ZIYUE)
    shops = np.flatnonzero(o["org_type"] == "merchant")[:county.scaled(60)]
    gi[shops] = rng.choice(ziyue, len(shops))
    o.loc[shops, "name"] = "永乐巷" + o.loc[shops, "name"]
    # Names repeat across the county; a suffix keeps each one recognisable.
    dup = o.duplicated("name", keep=False) & (o["org_type"] != "property_company")
    o.loc[dup, "name"] = o.loc[dup, "name"] + "(" + g["name"].to_numpy()[gi[dup]].astype(object) + "店)"
    o.loc[dup & (o["org_type"] == "enterprise"), "name"] = o.loc[dup & (o["org_type"] == "enterprise"), "name"].str.replace("店)", ")")
    o["grid_id"] = g["grid_id"].to_numpy()[gi]
    lonlat = geo.points_in(list(g["shape"]), gi, rng, margin=0.0002)
    o["lat"], o["lon"] = lonlat[:, 1].round(6), lonlat[:, 0].round(6)
    # Property staff: each company's people on the ground.
    staff = []
    pool = unassigned
    for org in o[o["org_type"] == "property_company"].itertuples():
        chosen = pool[(pool["grid_id"] == org.grid_id) & pool["age"].between(22, 60)].head(int(rng.integers(6, 14)))
        pool = pool.drop(index=chosen.index)
        staff.append(pd.DataFrame({"person_id": chosen["person_id"].to_numpy(), "role": "property_staff",
                                   "since": pd.Timestamp("2022-06-01"), "org_id": org.org_id,
                                   "grid_id": org.grid_id}))
    return Organizations(o, tuple(staff), pool)
