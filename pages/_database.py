"""The database a page reads and the caches around it: the file's version (an import replaces the
file, and the next run reads the new one), one connection per version with a cursor per call, the
demo county built on first start, the damage check, and the figures that depend on the file alone."""

import datetime as dt
import fcntl
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from analytics import access, city, db, demo, maps, profile, recovery
from analytics.ingest import load

TTL = 600


class _DemoBuild:
    """Builds the demo county in a thread of its own, so a closed browser tab cannot abort it."""

    def __init__(self, path: Path):
        self.path = path
        self.fraction, self.label, self.error = 0.0, "准备中", None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            # Another process (a second server, the command line) may be building the same file.
            with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not self.path.exists():
                    demo.build_demo_file(self.path, progress=self._report)
        except Exception as exc:  # shown to every waiting session
            self.error = exc

    def _report(self, fraction: float, label: str) -> None:
        self.fraction, self.label = fraction, label

@st.cache_resource(show_spinner=False)
def _demo_build(path: str) -> _DemoBuild:
    return _DemoBuild(Path(path))

def ensure_database(path: Path) -> None:
    """On first start, build the demo county and show its progress; a file of an earlier release,
    migrated once before any page reads it; then rerun the page."""
    if path.exists():
        if _behind(version()):  # the connection of the old file is let go with its version (_let_go)
            with st.spinner("数据库来自较早的版本,正在升级(原文件保留在 backups/ 中)……"):
                load.upgrade(path)
            st.rerun()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    build = _demo_build(str(path))
    with st.status("首次启动:正在生成桓台县演示数据,约需半分钟……", expanded=True):
        bar = st.progress(0.0)
        while build.thread.is_alive():
            bar.progress(build.fraction, text=build.label)
            time.sleep(0.3)
    if build.error is not None:
        _demo_build.clear()
        st.error(f"演示数据生成失败:{build.error}")
        st.stop()
    st.rerun()

@st.cache_data(ttl=TTL, show_spinner=False)
def _behind(key) -> bool:
    return db.schema_version(cursor()) < db.load_migrations()[-1].version

@st.cache_data(ttl=TTL, show_spinner=False)
def _damage(path: str, mtime: float) -> str | None:
    load.sweep(Path(path))  # what killed imports left, once per file version
    return recovery.problem(path)

@st.cache_data(ttl=TTL, show_spinner=False)
def _city(path: str, mtime: float) -> city.City:
    return city.load(path)


def the_city() -> city.City | None:
    """The city of a city deployment (GRIDGOV_CITY, its manifest), None for a single county. Raises
    ValueError, in Chinese, for a manifest that cannot be read."""
    path = city.manifest_path()
    if path is None:
        return None
    if not path.exists():
        raise ValueError(f"城市清单文件不存在: {path}(GRIDGOV_CITY)")
    return _city(str(path), path.stat().st_mtime)


def county() -> city.County | None:
    """In a city deployment, the county the filter bar has chosen among those the signed-in user may
    see (the first before any choice); every county-level page reads its database. None for a single county."""
    town = the_city()
    if town is None:
        return None
    user = st.session_state.get("user")
    try:
        allowed = access.counties(user, town) if user is not None else list(town.counties)
    except access.Denied:
        # The frame signs such a user out (_session.still_signed_in) before any figure is drawn.
        allowed = list(town.counties)
    code = st.session_state.get("f_county")
    return next((c for c in allowed if c.code == code), allowed[0])


def database_path() -> Path:
    """The database the pages read: the chosen county's in a city, else GRIDGOV_DB's."""
    chosen = county()
    return chosen.path if chosen is not None else db.default_db_path()


def database_problem() -> str | None:
    """What is wrong with the database file, in Chinese with what to do; None when it reads (or is
    still to be built)."""
    try:
        path = database_path()
    except ValueError as exc:
        return f"{exc}。请管理员检查城市清单。"
    if not path.exists():
        return None
    why = _damage(*version())
    return recovery.advice(path, why) if why else None


@st.cache_resource(show_spinner=False, max_entries=16)  # a city's counties
def _connection(path: str, mtime: float) -> duckdb.DuckDBPyConnection:
    # Keyed on the file's modification time: an import replaces the file, and the next run opens the new one.
    return db.attach_read_only(path)


def version() -> tuple[str, float]:
    """The database file and its modification time: every cache below is keyed on it."""
    path = database_path()
    return str(path), path.stat().st_mtime


# Per file, the version the pages read now. The connection of the one before is let go (cursors still
# reading it keep it open until they finish): the next import writes that file again, as its standby,
# and only once nobody has it open (analytics/ingest/standby.py).
_current: dict = {}


def _let_go(cached, name: str, args: tuple) -> None:
    """args, the version of `name` read from now on; the cached value of the version before is dropped."""
    before = _current.get(name)
    _current[name] = args
    if before is not None and before != args:
        cached.clear(*before)


def connection() -> duckdb.DuckDBPyConnection:
    """The connection of this file version, shared by every session: only ever asked for a cursor."""
    key = version()
    _let_go(_connection, key[0], key)
    return _connection(*key)


def cursor() -> duckdb.DuckDBPyConnection:
    return db.cursor(connection())  # never a query on the shared connection itself


@st.cache_data(ttl=TTL, show_spinner=False)
def _span(key) -> tuple[dt.date, dt.date]:
    return profile.data_span(cursor())


def data_span() -> tuple[dt.date, dt.date]:
    """(first day with data, the data's as-of date)."""
    return _span(version())


@st.cache_data(ttl=TTL, show_spinner=False)
def _is_demo(key) -> bool:
    con = cursor()
    return db.get_meta(con, "source") == "demo" and not db.get_meta(con, "last_import")


def is_demo() -> bool:
    """The generated demo county (no import yet): the login page then offers one-click demo accounts."""
    return _is_demo(version())


@st.cache_data(ttl=TTL, show_spinner=False)
def _hierarchy(key) -> pd.DataFrame:
    return profile.hierarchy(cursor())


def county_hierarchy() -> pd.DataFrame:
    """Every subdistrict, community and grid, with names."""
    return _hierarchy(version())


@st.cache_data(ttl=TTL, show_spinner=False)
def _outline(key) -> list:
    return maps.county_outline(cursor())


def county_outline() -> list:
    """The outline of the county the pages read, as map paths (analytics.maps.county_outline)."""
    return _outline(version())


def city_version() -> tuple:
    """Every county's file and modification time: the city's caches are keyed on it."""
    return tuple((c.code, str(c.path), c.path.stat().st_mtime) for c in the_city().counties)


@st.cache_resource(show_spinner=False, max_entries=2)
def _city_connection(key) -> duckdb.DuckDBPyConnection:
    # A county's file of an earlier release is upgraded as a county deployment upgrades its own
    # (ensure_database): the counties are attached side by side only at one schema version.
    town = the_city()
    for county in town.counties:
        load.upgrade(county.path)
    return city.attach(town)


def city_connection() -> duckdb.DuckDBPyConnection:
    """Every county attached read-only, shared by every session: only ever asked for a cursor
    (analytics.city.county_cursor)."""
    key = city_version()
    _let_go(_city_connection, "city", (key,))
    return _city_connection(key)
