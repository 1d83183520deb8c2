import shutil

import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from analytics import db, overview, review, tickets
from analytics.period import Scope
from pages._common import _percent

PAGES = ["pages/overview.py", "pages/grid_map.py", "pages/review.py", "pages/data.py", "pages/tickets.py", "pages/credit.py", "pages/volunteers.py",
         "pages/service.py", "pages/definitions.py"]


@pytest.fixture(autouse=True)
def frame_on_every_run(monkeypatch):
    """Rerun through app.py as the server does once st.navigation has run. AppTest resets the
    flag each run, and with a pages/ folder beside app.py it would run a page file on its own."""
    init = PagesManager.__init__

    def without_pages_folder(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", without_pages_folder)


@pytest.fixture
def app_on(monkeypatch):
    def start(path, timeout=60):
        monkeypatch.setenv("GRIDGOV_DB", str(path))
        app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=timeout)
        app.run()
        assert not app.exception, app.exception
        return app
    return start


def test_overview_shows_the_analytics_answers(app_on, demo_path, demo_con):
    app = app_on(demo_path)
    figures = {m.label: m.value for m in app.metric}
    assert figures["网格党支部"] == "140 个"
    assert figures["红色楼长"] == "1,967 名"
    assert figures["红色单元长"] == "3,925 名"
    assert figures["信用积分应用场景"] == "36 个"
    # The default period is the last complete quarter before the data's end (2026-11-28).
    expected = overview.headline(demo_con, "2026Q3").set_index("key")
    assert figures["办结工单"] == f"{expected.loc['tickets', 'value']:,.0f} 单"
    assert figures["参与志愿服务"] == f"{expected.loc['volunteers', 'value']:,.0f} 人"
    assert any("数据截至 2026年11月28日" in c.value for c in app.caption)


def test_filters_from_the_address_change_the_figures(monkeypatch, demo_path, demo_con):
    """A shared link with a community and a month."""
    monkeypatch.setenv("GRIDGOV_DB", str(demo_path))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=60)
    app.query_params["period"] = "2026-09"
    app.query_params["comm"] = "201"
    app.run()
    assert not app.exception, app.exception
    scoped = tickets.ticket_resolution(demo_con, "2026-09", Scope(communities=("201",)), by="county")
    county = tickets.ticket_resolution(demo_con, "2026-09", by="county")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{int(scoped['tickets'].sum()):,} 单" != f"{int(county['tickets'].sum()):,} 单"
    assert "组织体系与服务力量按全县统计" in " ".join(i.value for i in app.info)
    assert any("2026年9月 · 东岳国际社区" in c.value for c in app.caption)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_error(app_on, demo_path, page):
    app = app_on(demo_path)
    app.switch_page(page).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]


def test_first_start_builds_the_demo_database(app_on, tmp_path):
    path = tmp_path / "fresh" / "gridgov.duckdb"
    app = app_on(path, timeout=240)
    assert path.exists()
    assert {m.label for m in app.metric} >= {"办结工单", "网格党支部"}
    with db.connect(path, read_only=True) as con:
        assert db.get_meta(con, "source") == "demo"


def test_choosing_a_community_in_the_sidebar_changes_the_figures_and_the_address(app_on, demo_path, demo_con):
    app = app_on(demo_path)
    app.selectbox(key="f_comm").set_value("201").run()
    assert not app.exception, app.exception
    scoped = overview.headline(demo_con, "2026Q3", Scope(communities=("201",))).set_index("key")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{scoped.loc['tickets', 'value']:,.0f} 单"
    assert app.query_params["comm"] == "201"
    assert app.query_params["period"] == "2026Q3"


@pytest.mark.parametrize("view, present, absent", [
    (None, "credit_community", "credit_month"),
    ("网格排名", "credit_community", "credit_month"),
    ("公示与红灰榜", "credit_month", "credit_community"),
])
def test_only_the_open_section_runs(monkeypatch, demo_path, view, present, absent):
    monkeypatch.setenv("GRIDGOV_DB", str(demo_path))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/credit.py").run()
    if view:
        app.session_state["view"] = view  # as a click on the tab, or ?view= in the address, does
        app.run()
    assert not app.exception, app.exception
    keys = {s.key for s in app.selectbox}
    assert present in keys and absent not in keys


def test_shares_are_drawn_with_one_decimal_and_still_sort_as_numbers():
    frame = pd.DataFrame({"name": ["甲", "乙", "丙"], "share": [0.0774, 0.04, float("nan")], "count": [1, 2, 3]})
    config = {"share": st.column_config.NumberColumn("占比", format="percent"), "count": "数量"}
    shown = _percent(frame, config)
    assert shown.data["share"].tolist()[:2] == [0.0774, 0.04]
    text = shown.to_string()
    assert "7.7%" in text and "4.0%" in text and "—" in text and "0.0774" not in text
    assert _percent(frame, {"count": "数量"}) is frame


def test_meeting_mode_steps_through_the_slides(app_on, demo_path, demo_con):
    app = app_on(demo_path)
    app.switch_page("pages/review.py").run()
    assert "会议模式" in app.toggle[0].label
    app.toggle(key="meeting").set_value(True).run()
    assert not app.exception, app.exception
    assert app.title[0].value == "总体情况"
    app.button[1].click().run()  # 下一页
    first = review.quarter_review(demo_con, "2026Q3").communities()[0][1]
    assert app.title[0].value == f"{first} · 网格排名"
    app.button[0].click().run()  # 上一页
    assert app.title[0].value == "总体情况"
    app.button[0].click().run()  # stays on the first slide
    assert app.title[0].value == "总体情况"


TICKET_CSV = ("工单编号,所在网格,诉求类别,提单渠道,标题,提单时间,接单时间,议单时间,定单时间,评单时间,结果公开时间\n"
              "T2026-90001,201-01,停车充电,网格随手拍,楼下电动车充电难,2026-09-01 08:30,2026-09-01 10:00,"
              "2026-09-03 19:00,2026-09-05 09:00,2026-09-15 16:00,2026-09-16 09:00\n"
              "T2026-90002,{grid},环境卫生,网格随手拍,垃圾桶满溢,2026-09-02 08:30,2026-09-02 10:00,"
              "2026-09-03 19:00,2026-09-05 09:00,2026-09-15 16:00,2026-09-16 09:00\n")


@pytest.fixture
def writable_demo(demo_path, tmp_path):
    path = tmp_path / "gridgov.duckdb"
    shutil.copyfile(demo_path, path)
    return path


def ticket_count(path) -> int:
    with db.connect(path, read_only=True) as con:
        return con.execute("SELECT count(*) FROM tickets").fetchone()[0]


def test_a_bad_gbk_file_is_listed_row_by_row_and_changes_nothing(app_on, writable_demo):
    before = ticket_count(writable_demo)
    app = app_on(writable_demo)
    app.switch_page("pages/data.py").run()
    data = TICKET_CSV.format(grid="999-99").encode("gbk")
    app.file_uploader(key="upload").set_value(("工单.csv", data, "text/csv")).run()
    assert not app.exception, app.exception
    assert any("发现 1 个问题" in e.value for e in app.error)
    problems = app.dataframe[0].value
    assert problems[["行", "列", "值"]].values.tolist() == [[3, "所在网格", "999-99"]]
    assert not [b for b in app.button if b.key == "confirm_import"]
    assert ticket_count(writable_demo) == before


def test_a_good_file_is_checked_then_imported_and_logged(app_on, writable_demo):
    before = ticket_count(writable_demo)
    app = app_on(writable_demo)
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="upload").set_value(("工单.csv", TICKET_CSV.format(grid="201-02").encode(), "text/csv")).run()
    assert any("检查通过" in s.value for s in app.success)
    assert ticket_count(writable_demo) == before  # checking writes nothing
    app.button(key="confirm_import").click().run()
    assert not app.exception, app.exception
    assert any("导入完成" in s.value for s in app.success), [s.value for s in app.success]
    assert ticket_count(writable_demo) == before + 2
    log = app.dataframe[-1].value
    assert log["file_name"].iloc[0] == "工单.csv" and log["rows_added"].iloc[0] == 2 + 12
