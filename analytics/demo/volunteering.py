"""The volunteer teams (红色堡垒) with their members, and every activity since."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import names, vocab
from .county import County, allocate
from .geography import SHAOHAI_ID

# Figures the article reports, at scale 1.
VOLUNTEER_TEAMS = 206
TEAM_MEMBERS = 4878
MARCH_VOLUNTEERS_SHAOHAI = 4572


@dataclass(frozen=True)
class Teams:
    teams: pd.DataFrame  # the volunteer_teams table
    members: pd.DataFrame  # the team_members table
    roles: pd.DataFrame  # a volunteer role for each member
    unassigned: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"volunteer_teams": self.teams, "team_members": self.members}


def teams(rng: np.random.Generator, county: County, grids: pd.DataFrame, communities: pd.DataFrame,
          unassigned: pd.DataFrame) -> Teams:
    """One "1+1+N" team per grid, the rest themed teams of a community; `unassigned` needs community_id."""
    g, pool = grids, unassigned
    n_teams = county.scaled(VOLUNTEER_TEAMS, minimum=len(g) + 1)
    n_members = max(n_teams, county.scaled(TEAM_MEMBERS))
    extra = allocate(n_teams - len(g), np.ones(len(communities)))
    rows = [(f"T{k + 1:03d}", row.community_id, row.grid_id, f"{row.name}红色堡垒志愿服务队")
            for k, row in enumerate(g.itertuples())]
    for ci, (comm, k) in enumerate(zip(communities.itertuples(), extra)):
        for j in range(k):
            theme = names.TEAM_THEMES[(ci + j) % len(names.TEAM_THEMES)]
            rows.append((f"T{len(rows) + 1:03d}", comm.community_id, None, f"{comm.name}{theme}志愿服务队"))
    t = pd.DataFrame(rows, columns=["team_id", "community_id", "grid_id", "name"])
    t["founded_on"] = pd.Timestamp("2022-03-05") + pd.to_timedelta(rng.integers(0, 400, len(t)), unit="D")
    size = allocate(n_members, np.where(t["grid_id"].isna(), 1.5, 1.0) * rng.uniform(0.6, 1.4, len(t)), 1)
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
    m["joined_on"] = (founded + pd.to_timedelta(rng.integers(0, 700, len(m)), unit="D")).clip(upper=county.end)
    roles = pd.DataFrame({"person_id": m["person_id"], "role": "volunteer", "since": m["joined_on"],
                          "community_id": m["team_id"].map(t.set_index("team_id")["community_id"])})
    return Teams(t, m, roles, pool.drop(index=volunteers.index[taken]))


def activities(rng: np.random.Generator, county: County, grids: pd.DataFrame, people: pd.DataFrame,
               members: pd.DataFrame, moves) -> pd.DataFrame:
    """Every volunteer activity: members month by month, residents drawn by campaigns, and the
    March of 少海街道 the article reports (drawn among people registered all that month, as the
    activities of someone not registered are not kept); the `volunteer_activities` table."""
    p, m = people, members
    months = pd.period_range(county.start, county.end, freq="M")
    campaign = {3: 2.2, 6: 1.3, 7: 1.4, 8: 1.3, 12: 1.2, 1: 1.3}
    member_grid = p.set_index("person_id").loc[m["person_id"], "grid_id"].to_numpy()
    propensity = rng.gamma(2.0, 0.6, len(m))
    shaohai = set(grids.loc[grids["subdistrict_id"] == SHAOHAI_ID, "grid_id"])
    frames = []
    target_month = pd.Period(f"{county.end.year}-03", freq="M")
    for month in months:
        mult = campaign.get(month.month, 1.0)
        month_start = max(month.start_time, county.start)
        month_end = min(month.end_time, county.end_of_data)
        active = (m["joined_on"].to_numpy() <= month_start.to_datetime64())
        count = rng.poisson(propensity * mult) * active
        if month == target_month:
            # This month is calibrated below for 少海街道; its own members are counted there.
            count[np.isin(member_grid, list(shaohai))] = 0
        idx = np.repeat(np.arange(len(m)), count)
        frames.append(_activities(rng, m["person_id"].to_numpy()[idx], m["team_id"].to_numpy()[idx],
                                  member_grid[idx], month_start, month_end, campaign=mult > 1.5))
        if mult > 1.5 and month != target_month:
            # Campaign months (学雷锋月) draw residents outside the teams too.
            residents = p[p["age"].between(16, 75)]
            drawn = residents.sample(frac=rng.uniform(0.025, 0.035), random_state=rng)
            frames.append(_activities(rng, drawn["person_id"].to_numpy(), None, drawn["grid_id"].to_numpy(),
                                      month_start, month_end, campaign=True))
    if target_month.start_time <= county.end:
        # "今年3月份,少海街道先后有4572名志愿者参加社区服务": exactly that many people.
        month_start = target_month.start_time
        month_end = min(target_month.end_time, county.end_of_data)
        want = county.scaled(MARCH_VOLUNTEERS_SHAOHAI)
        in_sh = np.isin(member_grid, list(shaohai))
        sh_members = m[in_sh].sample(frac=0.9, random_state=rng)
        residents = p[p["grid_id"].isin(shaohai) & p["age"].between(16, 75) & ~p["person_id"].isin(m["person_id"])]
        residents = residents[moves.throughout(residents["person_id"], month_start, month_end)]
        outsiders = residents.sample(n=max(0, want - len(sh_members)), random_state=rng)
        sh_members = sh_members.head(want)
        person = np.concatenate([sh_members["person_id"].to_numpy(), outsiders["person_id"].to_numpy()])
        team = np.concatenate([sh_members["team_id"].to_numpy(), np.full(len(outsiders), None)])
        grid = p.set_index("person_id").loc[person, "grid_id"].to_numpy()
        times = rng.integers(1, 4, len(person))
        idx = np.repeat(np.arange(len(person)), times)
        frames.append(_activities(rng, person[idx], team[idx], grid[idx], month_start, month_end, campaign=True))
    a = pd.concat(frames, ignore_index=True).sort_values(["started_at", "person_id"], kind="stable", ignore_index=True)
    a["activity_id"] = np.arange(1, len(a) + 1)
    return a


def _activities(rng, person, team, grid, start, end, campaign):
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
