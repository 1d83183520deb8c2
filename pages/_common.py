"""The one module that touches Streamlit's caches: the database connection and cached queries."""

import fcntl
import threading
import time
from pathlib import Path

import duckdb
import streamlit as st

from analytics import db, demo, profile


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
    """On first start, build the demo county and show its progress; then rerun the page."""
    if path.exists():
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
    return profile.as_of_date(con), profile.county_profile(con), profile.community_summary(con)


def data_as_of_and_profile():
    path = db.default_db_path()
    return county_profile(str(path), path.stat().st_mtime)
