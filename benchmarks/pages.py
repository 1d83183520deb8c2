"""Server time of each page and section, printed (a benchmark, not a test).

    python -m benchmarks pages [--db data/gridgov.duckdb] [--repeat 5]

Runs app.py through Streamlit's AppTest, so each figure includes AppTest's own polling and is
an upper bound of what a server spends. Per page and tab: the first render in a new process
(imports, connection, cold caches), the first render of a new session on a server that has
already run (figures for the default quarter not yet cached), and the median and fastest of
later reruns with cached data. The issue asks for under 1 s and under 50 ms at scale 1.

    python -m benchmarks pages --queries [--db ...]

instead counts the DuckDB queries each page's first render runs, for a county leader and for a
community secretary of 东岳国际社区 (DuckDB's own query log on the pages' connection).

    python -m benchmarks pages --city data/city/city.json

times a city deployment instead: the 县区对比 page and its tabs (every county's figures), and the
总览 of the first county.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import local_script_runner
from streamlit.testing.v1 import AppTest

from analytics import access

ROOT = Path(__file__).resolve().parent.parent

PAGES = {
    "overview": [None], "grid_map": [None], "definitions": [None],
    "volunteers": [None, "各社区", "各志愿服务队"],
    "tickets": [None, "办结用时", "评单与约请", "办理时限", "数据质量", "工单查询"],
    "credit": [None, "评选依据", "积分构成", "公示与红灰榜", "异议申诉", "积分兑换"],
    "service": [None, "阵地分布", "充电供给与需求", "物业三评两公示", "微心愿"],
    "review": [None, "红旗网格与优秀网格员", "待会议决定", "议事、志愿、兑换与覆盖", "总体情况", "正式公布", "会议材料"],
}
CITY_PAGES = {"city": [None, "全市社区排名", "组织体系与服务力量"], "overview": [None]}


def _through_app_py() -> None:
    """Rerun through app.py, as the server does once st.navigation has run (see tests/test_app.py),
    with the scripts compiled once: AppTest compiles them again on every run (about 35 ms with
    Streamlit's magic), which a server, holding one script cache, does not."""
    init = PagesManager.__init__
    shared = ScriptCache()

    def patched(self, main_script_path, script_cache=None, **kwargs):
        init(self, main_script_path, shared, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = patched
    local_script_runner.ScriptCache = lambda: shared


def timed(app: AppTest) -> float:
    started = time.perf_counter()
    app.run()
    if app.exception:
        raise SystemExit(f"页面出错: {app.exception}")
    return (time.perf_counter() - started) * 1000


ROLES = {"county_leader": access.User("bench", "county_leader", demo=True),
         "community_secretary": access.User("bench", "community_secretary", place="201", demo=True)}


def session(page: str, view: str | None, period: str | None = None, user: access.User = ROLES["county_leader"]) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["user"] = user  # signed in
    if period:
        app.query_params["period"] = period
    if page != "overview" or os.environ.get("GRIDGOV_CITY"):
        app.switch_page(f"pages/{page}.py")
    if view:
        app.session_state["city_view" if page == "city" else "view"] = view
    return app


def one(page: str, view: str | None, repeat: int) -> tuple[float, float, list[float]]:
    """In this fresh process: the page's first render; its first render for a new session once the
    server has shown it for another quarter (modules imported, this quarter's figures not yet
    cached); then that session's reruns."""
    _through_app_py()
    first = timed(session(page, view, period="2026Q2"))
    app = session(page, view)
    warm = timed(app)
    timed(app)
    return first, warm, [timed(app) for _ in range(repeat)]


def queries(page: str, view: str | None, role: str) -> int:
    """The queries of the page's first render in this fresh process, the connection made first so
    that DuckDB logs every query on it."""
    import importlib

    _through_app_py()
    con = importlib.import_module("pages._database").connection()
    con.execute("CALL enable_logging('QueryLog')")
    timed(session(page, view, user=ROLES[role]))
    return con.execute("SELECT count(*) FROM duckdb_logs WHERE type = 'QueryLog'").fetchall()[0][0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pages", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "data" / "gridgov.duckdb"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--queries", action="store_true", help="各页面首次显示执行的查询数(县级领导、社区书记)")
    parser.add_argument("--city", help="城市清单(city.json):测全市部署的县区对比页及第一个县区的总览")
    parser.add_argument("--one", nargs=2, metavar=("PAGE", "VIEW"), help=argparse.SUPPRESS)
    parser.add_argument("--role", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["GRIDGOV_DB"] = args.db
    pages, city = PAGES, []
    if args.city:
        os.environ["GRIDGOV_CITY"] = args.city
        pages, city = CITY_PAGES, ["--city", args.city]
    if args.one and args.role:
        print(queries(args.one[0], args.one[1] or None, args.role), flush=True)
        return
    if args.queries:
        print(f"{'页面':<14}{'分栏':<12}{'县级领导(次)':>12}{'社区书记(次)':>12}", flush=True)
        for page, views in PAGES.items():
            for view in views:
                counts = [subprocess.run([sys.executable, "-m", "benchmarks", "pages", "--db", args.db, "--one", page,
                                          view or "", "--role", role], check=True, cwd=ROOT, capture_output=True,
                                         text=True).stdout.strip() for role in ROLES]
                print(f"{page:<14}{view or '(默认)':<12}{counts[0]:>12}{counts[1]:>12}", flush=True)
        return
    if args.one:
        page, view = args.one
        first, warm, reruns = one(page, view or None, args.repeat)
        print(f"{page:<14}{view or '(默认)':<12}{first:>10.0f}{warm:>12.0f}{statistics.median(reruns):>16.0f}"
              f"{min(reruns):>10.0f}", flush=True)
        return
    print(f"{'页面':<14}{'分栏':<12}{'新进程首次(ms)':>10}{'新会话首次(ms)':>12}{'重跑中位数(ms)':>16}{'最快(ms)':>10}",
          flush=True)
    for page, views in pages.items():
        for view in views:
            # A process of its own: cold caches and a new connection, as after a server start.
            subprocess.run([sys.executable, "-m", "benchmarks", "pages", "--db", args.db, "--repeat", str(args.repeat),
                            "--one", page, view or "", *city], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
