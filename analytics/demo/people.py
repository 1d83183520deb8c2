"""The residents and the roles they hold, from red building leaders and grid workers to
community workers and the emergency force (一办七组); and the `person_roles` table.

Each stage that appoints people takes the adults still without a role (`unassigned`) and returns
those it left, so that nobody holds two of these roles.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import names, vocab
from .county import County

EMERGENCY_FORCE = 7326  # the article's "7,300+", at scale 1
SINCE_DEFAULT = pd.Timestamp("2022-03-01")


@dataclass(frozen=True)
class Residents:
    # The people table, plus age (in the end year) and grid_idx (the grid's row in the grids frame).
    people: pd.DataFrame
    roles: tuple[pd.DataFrame, ...]  # red building and unit leaders, grid leaders, grid workers
    grid_leader: pd.Series  # grid_id -> person_id
    grid_worker: pd.Series  # grid_id -> person_id, the current one
    unassigned: pd.DataFrame  # the adults aged 25-75 left without a role, as rows of people

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"people": self.people.drop(columns=["age", "grid_idx"])}


@dataclass(frozen=True)
class CommunityStaff:
    workers: pd.DataFrame  # 8 people per community with community_id; the first is the secretary
    secretary: pd.Series  # community_id -> person_id of the party committee secretary
    roles: tuple[pd.DataFrame, ...]  # community workers and first secretaries
    unassigned: pd.DataFrame  # now with community_id


@dataclass(frozen=True)
class Officials:
    """Who acts for a grid and its community: accepts tickets, decides them, records credit."""

    grid_leader: pd.Series
    grid_worker: pd.Series
    community_workers: pd.DataFrame
    community_secretary: pd.Series


@dataclass(frozen=True)
class EmergencyForce:
    cadres: pd.DataFrame  # their roles: county and subdistrict cadres sent down to the grids
    assignments: pd.DataFrame  # the emergency_assignments table


def residents(rng: np.random.Generator, county: County, grids: pd.DataFrame, buildings: pd.DataFrame) -> Residents:
    """Households per building -> unit of each household -> people per household; then the leaders."""
    b = buildings
    hh_building = np.repeat(np.arange(len(b)), b["households"])
    hh_unit = np.concatenate(
        [rng.integers(1, u + 1, h) for u, h in zip(b["units"], b["households"])]
    ).astype(int)
    size = rng.choice([1, 2, 3, 4, 5], len(hh_building), p=[0.14, 0.31, 0.30, 0.16, 0.09])
    person_building = np.repeat(hh_building, size)
    person_unit = np.repeat(hh_unit, size)
    n = len(person_building)
    age = np.clip(rng.gamma(4.2, 10.5, n), 0, 96).astype(int)
    birth_year = county.end.year - age
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
    p["grid_idx"] = pd.Index(grids["grid_id"]).get_indexer(p["grid_id"])
    roles, grid_leader, grid_worker, status, unassigned = _leaders(rng, county, p)
    p.loc[status.index, "is_party_member"] = True
    p["party_member_status"] = np.where(
        p["is_party_member"], np.where(p["age"] < 60, "employed", "not_employed"), None
    )
    p.loc[status.index, "party_member_status"] = status
    return Residents(p, roles, grid_leader, grid_worker, unassigned)


def _pick(rng, candidates: pd.DataFrame, by: list[str], prefer) -> pd.DataFrame:
    """One person per group, preferring rows where prefer is true."""
    key = rng.random(len(candidates)) - prefer.astype(float)
    ordered = candidates.assign(_k=key).sort_values("_k", kind="stable")
    return ordered.groupby(by, sort=True).head(1)


def _leaders(rng, county: County, p: pd.DataFrame):
    """Red building and unit leaders, grid leaders and grid workers.

    Returns their roles, the grid leader and worker of each grid, the party-member status of
    the people appointed (they are all members), and the adults left without a role.
    """
    adults = p[(p["age"] >= 25) & (p["age"] <= 75)]
    status = {}
    roles = []
    # "1 employed + 1 non-employed party member": a building's leader and its units'
    # leaders alternate between a retired member and one in work.
    building_no = adults["building_id"].str[-3:].astype(int)
    retired = adults["age"] >= 60
    bl = _pick(rng, adults, ["building_id"], retired == (building_no % 2 == 1))
    used = set(bl.index)
    rest = adults.drop(index=bl.index)
    employed_wanted = (rest["unit_no"] + rest["building_id"].str[-3:].astype(int)) % 2 == 1
    ul = _pick(rng, rest, ["building_id", "unit_no"], (rest["age"] < 60) == employed_wanted)
    used |= set(ul.index)
    for frame, role in ((bl, "building_leader"), (ul, "unit_leader")):
        status.update(zip(frame.index, np.where(frame["age"] >= 60, "not_employed", "employed")))
        roles.append(
            pd.DataFrame(
                {
                    "person_id": frame["person_id"].to_numpy(),
                    "role": role,
                    "since": SINCE_DEFAULT + pd.to_timedelta(rng.integers(0, 200, len(frame)), unit="D"),
                    "grid_id": frame["grid_id"].to_numpy(),
                    "building_id": frame["building_id"].to_numpy(),
                    "unit_no": frame["unit_no"].to_numpy() if role == "unit_leader" else None,
                }
            )
        )
    # Grid leader (the branch secretary) and the full-time grid worker, one each per grid.
    pool = adults.drop(index=list(used))
    gl = _pick(rng, pool, ["grid_id"], pool["is_party_member"] & (pool["age"] >= 40))
    pool = pool.drop(index=gl.index)
    young = (pool["age"] >= 25) & (pool["age"] <= 50)
    gw = _pick(rng, pool, ["grid_id"], young)
    pool = pool.drop(index=gw.index)
    status.update(zip(gl.index, np.where(gl["age"] >= 60, "not_employed", "employed")))
    roles.append(pd.DataFrame({"person_id": gl["person_id"].to_numpy(), "role": "grid_leader",
                               "since": SINCE_DEFAULT, "grid_id": gl["grid_id"].to_numpy()}))
    # Some grids changed their grid worker once; the earlier worker's role has ended.
    changed = rng.random(len(gw)) < 0.15
    change_day = county.start + pd.to_timedelta(rng.integers(60, 700, len(gw)), unit="D")
    since = np.where(changed, change_day, SINCE_DEFAULT).astype("datetime64[ns]")
    roles.append(pd.DataFrame({"person_id": gw["person_id"].to_numpy(), "role": "grid_worker",
                               "since": since, "grid_id": gw["grid_id"].to_numpy()}))
    former = _pick(rng, pool, ["grid_id"], pool["age"].between(25, 50))
    former = former[former["grid_id"].isin(gw.loc[changed, "grid_id"])]
    pool = pool.drop(index=former.index)
    ended = pd.Series(change_day, index=gw["grid_id"].to_numpy())
    roles.append(pd.DataFrame({"person_id": former["person_id"].to_numpy(), "role": "grid_worker",
                               "since": SINCE_DEFAULT, "grid_id": former["grid_id"].to_numpy(),
                               "until": (ended.loc[former["grid_id"]] - pd.Timedelta(days=1)).to_numpy()}))
    return (tuple(roles), gl.set_index("grid_id")["person_id"], gw.set_index("grid_id")["person_id"],
            pd.Series(status, dtype=object), pool)


def community_staff(rng: np.random.Generator, grids: pd.DataFrame, unassigned: pd.DataFrame) -> CommunityStaff:
    """Community workers (8 per community, the first is the party committee secretary) and the
    first secretary sent to each community."""
    comm_of_grid = grids.set_index("grid_id")["community_id"]
    pool = unassigned.assign(community_id=comm_of_grid.loc[unassigned["grid_id"]].to_numpy())
    cw = pool.sample(frac=1, random_state=rng).groupby("community_id").head(8)
    pool = pool.drop(index=cw.index)
    fs = pool[pool["age"].between(30, 55)].sample(frac=1, random_state=rng).groupby("community_id").head(1)
    pool = pool.drop(index=fs.index)
    roles = (
        pd.DataFrame({"person_id": cw["person_id"].to_numpy(), "role": "community_worker",
                      "since": pd.Timestamp("2022-01-01"), "community_id": cw["community_id"].to_numpy()}),
        pd.DataFrame({"person_id": fs["person_id"].to_numpy(), "role": "first_secretary",
                      "since": SINCE_DEFAULT, "community_id": fs["community_id"].to_numpy()}),
    )
    return CommunityStaff(cw, cw.groupby("community_id")["person_id"].first(), roles, pool)


def emergency_force(rng: np.random.Generator, county: County, grids: pd.DataFrame, people: pd.DataFrame,
                    roles: list[pd.DataFrame], unassigned: pd.DataFrame) -> EmergencyForce:
    """Everyone in a current role of the force, plus cadres, assigned to one of the 一办七组."""
    roles = pd.concat(roles, ignore_index=True)
    current = roles[roles["until"].isna()] if "until" in roles else roles
    force_roles = ["community_worker", "grid_worker", "volunteer", "property_staff"]
    force = current[current["role"].isin(force_roles)].drop_duplicates("person_id")
    target = county.scaled(EMERGENCY_FORCE)
    # County and subdistrict cadres sent down to the grids (干部联网格) make up the rest.
    n_cadres = max(len(grids), target - len(force))
    pool = unassigned
    cadres = pool[pool["age"].between(24, 58)].sample(n=min(n_cadres, len(pool)), random_state=rng)
    cadre_roles = pd.DataFrame({"person_id": cadres["person_id"].to_numpy(), "role": "cadre",
                                "since": pd.Timestamp("2022-04-01"), "grid_id": cadres["grid_id"].to_numpy()})
    members = pd.concat([force["person_id"], cadres["person_id"]], ignore_index=True)
    comm = people.set_index("person_id").loc[members, "grid_id"].map(grids.set_index("grid_id")["community_id"])
    groups = list(vocab.EMERGENCY_GROUPS)
    assignments = pd.DataFrame({"person_id": members.to_numpy(), "community_id": comm.to_numpy(),
                                "group_code": rng.choice(groups, len(members), p=[0.05] + [0.95 / 7] * 7)})
    return EmergencyForce(cadre_roles, assignments)


def role_table(roles: list[pd.DataFrame]) -> pd.DataFrame:
    """The `person_roles` table from every stage's roles, in stage order."""
    r = pd.concat(roles, ignore_index=True)
    for col in ["until", "community_id", "grid_id", "building_id", "unit_no", "org_id"]:
        if col not in r:
            r[col] = None
    r["since"] = pd.to_datetime(r["since"]).dt.date
    r["until"] = pd.to_datetime(r["until"]).dt.date
    r["unit_no"] = r["unit_no"].astype("Int64")
    return r


# Moves a year, as shares of the residents who hold no role: between grids of the county, away
# from it, and into it from elsewhere (a county seat's registrations turn over a few per cent a year).
MOVES_WITHIN, MOVES_AWAY, MOVES_IN = 0.03, 0.015, 0.015


@dataclass(frozen=True)
class Moves:
    people: pd.DataFrame  # the people table: grid, building and unit empty for those who moved away
    history: pd.DataFrame  # the residence_history table, for the people who moved
    spans: pd.DataFrame  # person_id, moved_in, moved_out: the only time a mover away or in is registered

    def throughout(self, person_ids, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
        """Whether each person was registered in the county from start to end."""
        s = pd.DataFrame({"person_id": np.asarray(person_ids)}).merge(self.spans, on="person_id", how="left")
        return (~((s["moved_in"] > start) | (s["moved_out"] <= end))).to_numpy()

    def keep(self, frame: pd.DataFrame, person: str, when: str) -> pd.DataFrame:
        """The rows of frame whose person was registered in the county at `when`."""
        s = frame[[person, when]].merge(self.spans, left_on=person, right_on="person_id", how="left")
        outside = (s["moved_in"].notna() & (s[when] < s["moved_in"])) | (s["moved_out"].notna() & (s[when] >= s["moved_out"]))
        return frame[~outside.to_numpy()].reset_index(drop=True)


def moves(rng: np.random.Generator, county: County, grids: pd.DataFrame, buildings: pd.DataFrame,
          people: pd.DataFrame, roles: pd.DataFrame) -> Moves:
    """Who moved during the three years, and when: within the county (from a grid of the same
    community seven times in ten), away from it, and into it. People with a role stay put."""
    years = (county.end - county.start).days / 365.25
    free = people[~people["person_id"].isin(roles["person_id"])]
    shares = [MOVES_WITHIN * years, MOVES_AWAY * years, MOVES_IN * years]
    n_within, n_away, n_in, _ = rng.multinomial(len(free), shares + [1 - sum(shares)])
    chosen = free.iloc[rng.permutation(len(free))]
    within = chosen.iloc[:n_within]
    away = chosen.iloc[n_within:n_within + n_away]
    arrived = chosen.iloc[n_within + n_away:n_within + n_away + n_in]
    days = (county.end - county.start).days

    def during(n):  # a day of the history, never its first or last
        return county.start + pd.to_timedelta(rng.integers(1, days, n), unit="D")

    def before(n):  # registered years before the history starts
        return county.start - pd.to_timedelta(rng.integers(365, 20 * 365, n), unit="D")

    def rows(frame, grid, building, moved_in, moved_out):
        return pd.DataFrame({"person_id": frame["person_id"].to_numpy(), "grid_id": grid, "building_id": building,
                             "moved_in": pd.to_datetime(moved_in), "moved_out": pd.to_datetime(moved_out)})

    community = grids.set_index("grid_id")["community_id"]
    origin = []
    for grid, same in zip(within["grid_id"], rng.random(len(within)) < 0.7):
        pool = grids[((grids["community_id"] == community[grid]) == same) & (grids["grid_id"] != grid)]
        origin.append(pool["grid_id"].iat[rng.integers(0, len(pool))] if len(pool) else grid)
    first_building = buildings.groupby("grid_id")["building_id"].first()
    moved = during(len(within))
    left = rows(away, away["grid_id"].to_numpy(), away["building_id"].to_numpy(), before(len(away)), during(len(away)))
    came = rows(arrived, arrived["grid_id"].to_numpy(), arrived["building_id"].to_numpy(), during(len(arrived)), pd.NaT)
    history = pd.concat([
        rows(within, origin, first_building.reindex(origin).to_numpy(), before(len(within)), moved),
        rows(within, within["grid_id"].to_numpy(), within["building_id"].to_numpy(), moved, pd.NaT),
        left, came,
    ], ignore_index=True).sort_values(["person_id", "moved_in"]).reset_index(drop=True)
    spans = pd.concat([left.assign(moved_in=pd.NaT), came], ignore_index=True)[["person_id", "moved_in", "moved_out"]]
    for column in ("moved_in", "moved_out"):
        history[column] = history[column].dt.date
    table = people.drop(columns=["age", "grid_idx"]).copy()
    table.loc[table["person_id"].isin(away["person_id"]), ["grid_id", "building_id", "unit_no"]] = None
    return Moves(table, history, spans)
