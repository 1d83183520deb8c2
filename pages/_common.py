"""The one module that touches Streamlit's caches: the database connection and cached queries."""

import fcntl
from pathlib import Path

import duckdb
import streamlit as st

from analytics import db, demo, profile


def ensure_database(path: Path) -> None:
    """Build the demo county on first start, showing progress; other sessions wait for it."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return
        with st.status("首次启动:正在生成桓台县演示数据,约需半分钟……", expanded=True) as status:
            bar = st.progress(0.0)
            demo.build_demo_file(path, progress=lambda f, label: bar.progress(f, text=label))
            status.update(label="演示数据已生成", state="complete", expanded=False)


@st.cache_resource(show_spinner=False)
def _connection(path: str, mtime: float) -> duckdb.DuckDBPyConnection:
    # Keyed on the file's modification time: a rebuilt or imported file gets a new connection.
    return db.connect(path, read_only=True)


def cursor() -> duckdb.DuckDBPyConnection:
    path = db.default_db_path()
    return _connection(str(path), path.stat().st_mtime).cursor()


@st.cache_data(ttl=600, show_spinner=False)
def county_profile(path: str, mtime: float):
    con = cursor()
    return profile.as_of_date(con), profile.county_profile(con)


def data_as_of_and_profile():
    path = db.default_db_path()
    return county_profile(str(path), path.stat().st_mtime)
