"""A generated demo county: three years of Huantai's urban grids, calibrated to the figures
the county reports (see ../shared/DOMAIN.md) and varied enough that rankings mean something.

The county is drawn in stages, one module per part of it; each stage is a function of the
county's settings, its own random stream and what earlier stages returned. `build_demo` runs
them in order and writes the tables each produced, one DataFrame per table, in one transaction.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import clock
from ..db import connect, migrate, table_counts
from ..summary import refresh
from . import appeals, city, geography, ledger, organizations, people, redemptions, service, tickets, volunteering
from .county import County
from .county import allocate as _allocate  # noqa: F401  (the name the tests know it by)

DEFAULT_SEED = 2022

# What the progress bar says while each stage runs, in the order they run.
STAGES = (
    "绘制街道、社区和网格",
    "生成楼栋与单元",
    "登记居民与红色楼长、单元长",
    "组建志愿服务队",
    "登记商户、物业和共建单位",
    "编组一办七组",
    "登记迁入迁出",
    "布设服务阵地",
    "记录志愿服务",
    "建立信用指标目录",
    "记录信用积分台账",
    "受理异议申诉",
    "记录积分兑换",
    "生成协商议事工单",
    "物业评议与微心愿",
    "写入数据说明",
)


def _draw(county: County, seed: int, stage: Callable[[str], None], write: Callable[..., None]) -> None:
    """Run every stage in order: `stage(label)` before each, `write(table=frame, ...)` after."""
    # A stream per drawing stage, fixed by its number, so that a stage added later with a new
    # number leaves the draws of every other stage, and the database they give, as they are.
    rng = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(16)]

    stage("绘制街道、社区和网格")
    area = geography.hierarchy(rng[0], county)
    write(**area.tables())

    stage("生成楼栋与单元")
    buildings = geography.buildings(rng[1], county, area.grids)
    write(buildings=buildings)

    stage("登记居民与红色楼长、单元长")
    residents = people.residents(rng[2], county, area.grids, buildings)

    stage("组建志愿服务队")
    # Community staff and the teams share a stream, staff first.
    staff = people.community_staff(rng[3], area.grids, residents.unassigned)
    teams = volunteering.teams(rng[3], county, area.grids, area.communities, staff.unassigned)
    write(**teams.tables())

    stage("登记商户、物业和共建单位")
    orgs = organizations.organizations(rng[4], county, area.grids, teams.unassigned)
    write(organizations=orgs.orgs)

    stage("编组一办七组")
    roles = [*residents.roles, *staff.roles, teams.roles, *orgs.roles]
    force = people.emergency_force(rng[5], county, area.grids, residents.people, roles, orgs.unassigned)
    person_roles = people.role_table([*roles, force.cadres])
    write(emergency_assignments=force.assignments, person_roles=person_roles)

    stage("登记迁入迁出")
    # Who moved is known once every role is given: people with a role stay put. What a person who
    # moved away (or in) did while not registered here is not kept, below.
    moved = people.moves(rng[12], county, area.grids, buildings, residents.people, person_roles)
    write(people=moved.people, residence_history=moved.history)

    stage("布设服务阵地")
    facilities = service.facilities(rng[6], county, area.grids, area.communities)
    write(facilities=facilities.facilities)

    stage("记录志愿服务")
    activities = moved.keep(volunteering.activities(rng[7], county, area.grids, residents.people, teams.members, moved),
                            "person_id", "started_at")
    write(volunteer_activities=activities)

    stage("建立信用指标目录")
    write(credit_indicators=ledger.indicators(county))

    stage("记录信用积分台账")
    officials = people.Officials(residents.grid_leader, residents.grid_worker, staff.workers, staff.secretary)
    events = ledger.events(rng[8], county, area, residents.people, person_roles, officials, activities, orgs.orgs)
    people_events = events["subject_type"] == "person"
    events = pd.concat([events[~people_events], moved.keep(events[people_events], "subject_id", "occurred_at")])

    stage("受理异议申诉")
    drawn_appeals, corrections = appeals.appeals(rng[13], county, events, moved.people, area.grids)
    events = pd.concat([events, corrections], ignore_index=True)
    write(credit_events=events.sort_values("event_id").reset_index(drop=True), appeals=drawn_appeals)

    stage("记录积分兑换")
    scenarios = redemptions.scenarios()
    drawn_redemptions = moved.keep(redemptions.redemptions(rng[9], county, events, scenarios), "person_id", "redeemed_at")
    write(redemption_scenarios=scenarios, redemptions=drawn_redemptions)

    stage("生成协商议事工单")
    drawn = tickets.tickets(rng[10], county, area, residents.people, officials, facilities.shed_opening)
    write(**drawn.tables())

    stage("物业评议与微心愿")
    # Evaluations and wishes share a stream, evaluations first.
    evaluations = service.property_evaluations(rng[11], county, orgs.orgs)
    write(property_evaluations=evaluations, micro_wishes=service.micro_wishes(rng[11], county, area.grids))

    stage("写入数据说明")
    facts = {"source": "demo", "demo_seed": str(seed), "demo_scale": str(county.scale),
             "as_of": county.end.date().isoformat(), "history_start": county.start.date().isoformat(),
             "county": "桓台县", "county_code": "370321", "county_name": "桓台县", "built_at": clock.now().isoformat(timespec="seconds")}
    write(meta=pd.DataFrame({"key": list(facts), "value": list(facts.values())}))


def build_demo(con, scale: float = 1.0, seed: int = DEFAULT_SEED, end: dt.date | None = None,
               progress: Callable[[float, str], None] | None = None, place: city.Place | None = None) -> None:
    """Fill an empty, migrated database with the demo county, in one transaction: Huantai, or
    another county of the demo city (place), drawn the same way and renamed."""
    if scale <= 0:
        raise ValueError("规模系数必须大于 0")
    end = end or clock.today()
    migrate(con)
    if con.execute("SELECT count(*) FROM grids").fetchone()[0]:
        raise ValueError("数据库中已有数据,演示数据只能写入空数据库")

    def stage(label: str) -> None:
        if progress:
            progress(STAGES.index(label) / len(STAGES), label)

    relabel = city.Relabel(place) if place is not None and not place.is_huantai else None

    def write(**tables: pd.DataFrame) -> None:
        for table, frame in tables.items():
            frame = relabel(frame) if relabel else frame
            con.register("_frame", frame)
            try:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
            finally:
                con.unregister("_frame")

    con.execute("BEGIN TRANSACTION")
    try:
        _draw(County(scale, pd.Timestamp(end)), seed, stage, write)
        if relabel:
            con.execute("INSERT INTO meta VALUES ('county_outline', ?)", [relabel.outline()])
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
                    progress: Callable[[float, str], None] | None = None,
                    place: city.Place | None = None) -> dict[str, int]:
    """Build the demo beside path and move it into place, so no reader sees a half-built file.

    Returns the row count of every table.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    with connect(tmp) as con:
        build_demo(con, scale=scale, seed=seed, end=end, progress=progress, place=place)
        counts = table_counts(con)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    tmp.replace(path)
    return counts
