"""A city of counties (市 → 县/区 → 街道 → 社区 → 网格): each county keeps its own database, and a
manifest lists them. The city reads them together: every county's file attached read-only to one
in-memory instance, the county's figures computed by the same metric functions on a cursor pointed
at the county, and the results concatenated with the county's code and name in front.

The manifest (GRIDGOV_CITY, city.json):
    {"code": "370300", "name": "淄博市",
     "counties": [{"code": "370321", "name": "桓台县", "db": "370321.duckdb"}, ...]}
A county's `db` is relative to the manifest. Ids of places are unique within a county only: in the
city a place is (county_code, id).
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd

from . import credit, db, overview, profile
from .period import COUNTY, Area, Period, Scope, parse_period

# An administrative division code: six digits (370321 桓台县). Also names the county's catalog.
_CODE = re.compile(r"\d{6}")
COUNTY_COLUMNS = ["county_code", "county_name"]


@dataclass(frozen=True)
class County:
    code: str
    name: str
    path: Path

    @property
    def catalog(self) -> str:
        return f"county_{self.code}"


@dataclass(frozen=True)
class City:
    code: str
    name: str
    counties: tuple[County, ...]

    def county(self, code: str) -> County:
        for county in self.counties:
            if county.code == code:
                return county
        raise ValueError(f"{self.name}没有县区代码 {code};可选: " + "、".join(f"{c.code}({c.name})" for c in self.counties))


def manifest_path() -> Path | None:
    """GRIDGOV_CITY: the manifest of a city deployment; None for a single county."""
    value = os.environ.get("GRIDGOV_CITY", "").strip()
    return Path(value) if value else None


def load(path: Path | str) -> City:
    """The city a manifest lists, checked: codes of six digits, each once, names given, files present."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"城市清单文件不存在: {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"城市清单 {path} 不是有效的 JSON(第 {exc.lineno} 行: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("counties"), list) or not data["counties"]:
        raise ValueError(f"城市清单 {path} 须列出 counties(县区数组,每项含 code、name、db)")
    counties = []
    for k, row in enumerate(data["counties"], start=1):
        if not isinstance(row, dict):
            raise ValueError(f"城市清单 {path} 第 {k} 个县区应为对象(含 code、name、db)")
        code, name, file = (str(row.get(key, "")).strip() for key in ("code", "name", "db"))
        if not _CODE.fullmatch(code):
            raise ValueError(f"城市清单 {path} 第 {k} 个县区的 code 应为 6 位行政区划代码,收到 {code!r}")
        if not name or not file:
            raise ValueError(f"城市清单 {path} 第 {k} 个县区({code})缺少 name 或 db")
        if code in {c.code for c in counties}:
            raise ValueError(f"城市清单 {path} 中县区代码 {code} 出现了不止一次")
        county_path = (path.parent / file).resolve()
        if not county_path.exists():
            raise ValueError(f"城市清单 {path} 第 {k} 个县区({name})的数据库文件不存在: {county_path}")
        counties.append(County(code, name, county_path))
    return City(str(data.get("code", "")), str(data.get("name") or "全市"), tuple(counties))


def write(city: City, path: Path | str) -> None:
    """The manifest of city, with each county's file relative to it when it lies beside or below."""
    path = Path(path)

    def relative(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(path.parent.resolve()))
        except ValueError:
            return str(p.resolve())

    data = {"code": city.code, "name": city.name,
            "counties": [{"code": c.code, "name": c.name, "db": relative(c.path)} for c in city.counties]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def identity(con) -> tuple[str | None, str | None]:
    """(county_code, county_name) a county's database records in meta (None where it records none)."""
    return db.get_meta(con, "county_code"), db.get_meta(con, "county_name") or db.get_meta(con, "county")


def attach(city: City) -> duckdb.DuckDBPyConnection:
    """Every county's file attached read-only to a new in-memory instance (catalog county_<code>), each
    checked against the manifest, and views in the instance's own catalog that union each table the
    counties share, with county_code and county_name in front (the city's rows, e.g. for an export)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE counties (county_code VARCHAR PRIMARY KEY, county_name VARCHAR, catalog VARCHAR)")
    versions, tables = set(), None
    for county in city.counties:
        # The catalog name is built from a code checked to be six digits (load), never free text.
        con.execute(f"ATTACH $path AS {county.catalog} (READ_ONLY)", {"path": str(county.path)})
        cur = county_cursor(con, county)
        code, name = identity(cur)
        if code is not None and code != county.code:
            raise ValueError(f"{county.path} 记录的县区代码是 {code}({name}),与城市清单中的 {county.code}"
                             f"({county.name})不符")
        versions.add(db.schema_version(cur))
        found = {r[0] for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()}
        tables = found if tables is None else tables & found
        con.execute("INSERT INTO counties VALUES (?, ?, ?)", [county.code, county.name, county.catalog])
    if len(versions) > 1:
        raise ValueError(f"各县区数据库的数据结构版本不一致({sorted(versions)}):请先对每个县区运行 python -m analytics init")
    for table in sorted(tables - {"counties"}):
        # Table names come from the catalogues; the county's code from the checked manifest.
        union = " UNION ALL BY NAME ".join(
            f"SELECT k.county_code, k.county_name, t.* FROM {c.catalog}.main.\"{table}\" t "
            f"JOIN counties k ON k.county_code = '{c.code}'" for c in city.counties)
        con.execute(f'CREATE VIEW "{table}" AS {union}')
    return con


def county_cursor(con, county: County) -> duckdb.DuckDBPyConnection:
    """A cursor reading one county's catalog: the county-level functions run on it unchanged."""
    cur = con.cursor()
    cur.execute(f"USE {county.catalog}")
    return cur


def with_county(frame: pd.DataFrame, county: County) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "county_name", county.name)
    frame.insert(0, "county_code", county.code)
    return frame


def per_county(con, city: City, function: Callable, period, areas: dict | None = None,
               **kwargs) -> pd.DataFrame:
    """function(cursor, period, area, **kwargs) on every county, concatenated with county_code and
    county_name first. areas: county code -> Scope or Area for the counties to compute (default:
    every county, whole). A county's rows are exactly what the function gives on its own database."""
    period = parse_period(period)
    areas = {c.code: COUNTY for c in city.counties} if areas is None else areas
    frames = [with_county(function(county_cursor(con, county), period, areas[county.code], **kwargs), county)
              for county in city.counties if county.code in areas]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COUNTY_COLUMNS)


def _city_rank(frame: pd.DataFrame, column: str) -> pd.Series:
    # As the county's own ranking does: rounded before ranking, ties share a rank and the next skips.
    return frame[column].round(9).rank(method="min", ascending=False).astype("Int64")


def grid_ranking(con, city: City, period, areas: dict | None = None) -> pd.DataFrame:
    """Every grid of the counties by average credit per resident, across counties: the columns of
    credit.grid_credit_ranking (rank is within the community, as in the county) with county_code and
    county_name first and city_rank (over every grid listed, same definition: avg_credit descending,
    ties share a rank). Ordered by city_rank, county and grid."""
    frame = per_county(con, city, credit.grid_credit_ranking, period, areas)
    frame.insert(2, "city_rank", _city_rank(frame, "avg_credit"))
    return frame.sort_values(["city_rank", "county_code", "grid_id"]).reset_index(drop=True)


def community_credit(con, period, scope: Scope | Area = COUNTY) -> pd.DataFrame:
    """One row per community: subdistrict_id, community_id, community_name, grids (ranked grids),
    residents (人), points (分), avg_credit (points / residents, 分/人): the grid ranking's figures
    summed, so that a community's average is the one credit-summary gives for it."""
    grids = credit.grid_points(con, period, scope)
    frame = (grids.groupby(["subdistrict_id", "community_id", "community_name"], as_index=False)
             .agg(grids=("grid_id", "count"), residents=("residents", "sum"), points=("points", "sum")))
    frame["avg_credit"] = frame["points"] / frame["residents"]
    return frame


def community_ranking(con, city: City, period, areas: dict | None = None) -> pd.DataFrame:
    """Every community across counties by average credit per resident: community_credit's columns
    with county_code, county_name and city_rank first; ordered by city_rank."""
    frame = per_county(con, city, community_credit, period, areas)
    frame.insert(2, "city_rank", _city_rank(frame, "avg_credit"))
    return frame.sort_values(["city_rank", "county_code", "community_id"]).reset_index(drop=True)


def county_headlines(con, city: City, period, areas: dict | None = None) -> pd.DataFrame:
    """The overview's headline figures side by side, one row per county: county_code, county_name,
    then each key of overview.HEADLINES (its value for the period, as the county's own 总览 shows it)."""
    return _side_by_side(per_county(con, city, overview.headline_values, period, areas), city,
                         [h[0] for h in overview.HEADLINES])


def _side_by_side(frame: pd.DataFrame, city: City, keys: list[str]) -> pd.DataFrame:
    """Rows of (county, key, value) as one row per county, a column per key, in the manifest's order."""
    if frame.empty:
        return pd.DataFrame(columns=COUNTY_COLUMNS + keys)
    wide = frame.pivot(index=COUNTY_COLUMNS, columns="key", values="value").reset_index()
    order = {c.code: k for k, c in enumerate(city.counties)}
    wide = wide.sort_values("county_code", key=lambda s: s.map(order)).reset_index(drop=True)
    wide.columns.name = None
    return wide[COUNTY_COLUMNS + keys]


def county_profiles(con, city: City, period, areas: dict | None = None) -> pd.DataFrame:
    """The county profile (组织体系与服务力量) side by side: one row per county, a column per figure
    key of profile.county_profile, as of the period's last day."""
    period = parse_period(period)

    def one(cur, period: Period, area):
        return profile.county_profile(cur, as_of=period.last_day)

    return _side_by_side(per_county(con, city, one, period, areas), city, list(profile.labels()))


def by_figure(wide: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """A side-by-side table turned for a screen when it has more figures than counties: figure (the
    label of each key of labels, in their order), then a column per county, named by its code, in
    the order of wide's rows (a row per county: county_code, then a column per key)."""
    turned = wide.set_index("county_code")[list(labels)].T
    turned.columns.name = None
    turned.insert(0, "figure", [labels[key] for key in turned.index])
    return turned.reset_index(drop=True)


def areas(con, city: City, user=None, county: str | None = None) -> dict:
    """County code -> the Area the user may see there (the whole county for the operator and a
    county-level role), for the counties the user may see, or only `county` if given."""
    from . import access

    # The user's area, if resolved, belongs to one county's database: each county resolves its own.
    user = replace(user, area=None) if user is not None else None
    allowed = access.counties(user, city)
    if county is not None:
        wanted = city.county(county)
        if wanted not in allowed:
            raise access.Denied(f"用户 {user.name} 不能查看{wanted.name}的数据")
        allowed = [wanted]
    out = {}
    for c in allowed:
        cur = county_cursor(con, c)
        out[c.code] = access.effective_scope(user, COUNTY, cur)
    return out


def metric(con, city: City, metric_id: str, period, user=None, county: str | None = None):
    """(what was computed, its rows): a city figure (metrics.CITY_REGISTRY), or any registered metric run
    on each county the user may see (its own function, its own permissions) with the county in front."""
    from . import access, metrics

    where = areas(con, city, user, county)
    wanted = metrics.get(metric_id)
    if wanted.city:
        access.require(user, "figures")
        return wanted, wanted.function(con, city, period, where)
    frames = [with_county(wanted.compute(county_cursor(con, c), period, where[c.code], user=user), c)
              for c in city.counties if c.code in where]
    return wanted, pd.concat(frames, ignore_index=True)

