"""The subdistricts, communities and grids as polygons, and the buildings in them."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .. import geo, names
from .county import County, allocate

SHAOHAI_ID = "370321002"
# Figures the article reports, at scale 1.
BUILDING_LEADERS = 1967
UNIT_LEADERS = 3925


@dataclass(frozen=True)
class Geography:
    subdistricts: pd.DataFrame
    communities: pd.DataFrame
    # grid_id, community_id, name, party_branch, households, geometry_wkt, shape (shapely),
    # subdistrict_id, community_name; a grid's position in this frame indexes the traits below.
    grids: pd.DataFrame
    # Latent traits: how active residents are in earning credit (grid x quarter), and how
    # slowly the grid runs its tickets. Activity drifts each quarter, so rankings move.
    activity: np.ndarray
    slowness: np.ndarray

    def tables(self) -> dict[str, pd.DataFrame]:
        grids = self.grids[["grid_id", "community_id", "name", "geometry_wkt", "households", "party_branch"]]
        return {"subdistricts": self.subdistricts, "communities": self.communities, "grids": grids}


def hierarchy(rng: np.random.Generator, county: County) -> Geography:
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
    subdistricts = pd.DataFrame(subs, columns=["subdistrict_id", "name", "geometry_wkt"])
    communities = pd.DataFrame(comms, columns=["community_id", "subdistrict_id", "name", "lat", "lon", "geometry_wkt"])
    g = pd.DataFrame(grids, columns=["grid_id", "community_id", "name", "shape"])
    g["party_branch"] = g["name"] + "党支部"
    households = np.clip(rng.lognormal(np.log(470), 0.35, len(g)), 220, 1100)
    g["households"] = np.maximum(8, np.round(households * county.scale)).astype(int)
    g["geometry_wkt"] = [geo.wkt(s) for s in g["shape"]]
    g = g.merge(communities[["community_id", "subdistrict_id"]], on="community_id")
    g["community_name"] = g["community_id"].map(communities.set_index("community_id")["name"])
    n_q = len(county.quarters)
    g_act = rng.normal(0, 0.35, len(g))[:, None] + np.cumsum(rng.normal(0, 0.12, (len(g), n_q)), axis=1)
    activity = np.exp(g_act)
    slowness = np.exp(rng.normal(0, 0.35, len(g)))
    return Geography(subdistricts, communities, g, activity, slowness)


def buildings(rng: np.random.Generator, county: County, grids: pd.DataFrame) -> pd.DataFrame:
    """The buildings of every grid, their units, households and points; the `buildings` table."""
    g = grids
    n_buildings = max(len(g), county.scaled(BUILDING_LEADERS))
    n_units = max(n_buildings, county.scaled(UNIT_LEADERS))
    per_grid = allocate(n_buildings, g["households"], minimum=1)
    grid_idx = np.repeat(np.arange(len(g)), per_grid)
    units = np.ones(n_buildings, dtype=int)
    extra = rng.choice(np.repeat(np.arange(n_buildings), 3), n_units - n_buildings, replace=False)
    np.add.at(units, extra, 1)
    households = np.zeros(n_buildings, dtype=int)
    for gi in range(len(g)):
        idx = np.flatnonzero(grid_idx == gi)
        households[idx] = allocate(int(g["households"].iat[gi]), units[idx] * rng.uniform(0.7, 1.3, len(idx)), 1)
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
    xingwang = b["grid_id"].isin(g.loc[g["community_name"] == "兴旺社区", "grid_id"])
    b.loc[xingwang, "name"] = b.loc[xingwang, "name"].str.replace(r"^.*小区", "兴旺花园小区", regex=True)
    return b
