import json
import re
import shutil

import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from analytics import access, audit, credit, db, metrics, overview, review, tickets
from analytics.period import Area, Scope, parse_period
from pages._figures import ARGUMENTS
from pages._format import plain
from pages._widgets import drawn

PAGES = ["pages/overview.py", "pages/grid_map.py", "pages/review.py", "pages/tickets.py", "pages/credit.py",
         "pages/volunteers.py", "pages/service.py", "pages/definitions.py"]


def as_role(role: str, place: str = "") -> access.User:
    """A user of the role; launch() puts it in the users file the app reads and signs it in."""
    return access.User(name=f"test-{role}-{place}".rstrip("-"), role=role, place=place,
                       display_name=f"测试{access.ROLES[role].label}")


LEADER, CLERK, ADMIN = as_role("county_leader"), as_role("clerk"), as_role("admin")


def launch(monkeypatch, path, user: access.User | None = LEADER, query: dict | None = None, timeout: int = 60) -> AppTest:
    monkeypatch.setenv("GRIDGOV_DB", str(path))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=timeout)
    if user is not None:
        store = access.UserStore()
        if store.get(user.name) is None:
            store.add(user.name, user.role, place=user.place, display_name=user.display_name, identity=f"{user.name}@test")
        app.session_state["user"] = user
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.fixture(autouse=True)
def users_file(monkeypatch, tmp_path):
    """A users file of each test's own, not the one beside the database."""
    monkeypatch.setenv("GRIDGOV_USERS", str(tmp_path / "users.json"))


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
    def start(path, timeout=60, user=LEADER):
        return launch(monkeypatch, path, user, timeout=timeout)
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
    app = launch(monkeypatch, demo_path, query={"period": "2026-09", "comm": "201"})
    scoped = tickets.ticket_resolution(demo_con, "2026-09", Scope(communities=("201",)), by="county")
    county = tickets.ticket_resolution(demo_con, "2026-09", by="county")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{int(scoped['tickets'].sum()):,} 单" != f"{int(county['tickets'].sum()):,} 单"
    # A community's own profile, not a hint to choose 全部 in a filter the secretary cannot change.
    assert "组织体系与服务力量 · 东岳国际社区" in [s.value for s in app.subheader]
    grids = demo_con.execute("SELECT count(*) FROM grids WHERE community_id = '201'").fetchone()[0]
    assert figures["网格党支部"] == f"{grids:,} 个" and figures["社区"] == "1 个"
    assert any("2026年9月 · 东岳国际社区" in c.value for c in app.caption)


@pytest.mark.parametrize("page, user", [(p, LEADER) for p in PAGES] + [("pages/data.py", CLERK), ("pages/admin.py", ADMIN)])
def test_every_page_runs_without_error(app_on, demo_path, page, user):
    app = app_on(demo_path, user=user)
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
    app = launch(monkeypatch, demo_path)
    app.switch_page("pages/credit.py").run()
    if view:
        app.session_state["view"] = view  # as a click on the tab, or ?view= in the address, does
        app.run()
    assert not app.exception, app.exception
    keys = {s.key for s in app.selectbox}
    assert present in keys and absent not in keys


def test_numbers_are_drawn_in_the_dictionarys_format_and_still_sort_as_numbers():
    frame = pd.DataFrame({"name": ["甲", "乙", "丙"], "share": [0.0774, 0.04, float("nan")],
                          "residents": [1234, 2, 3], "rank_change": [0, 2, -1], "flag": [True, False, True]})
    rows, config = drawn(frame, "credit-levels", {"residents": "居民(人)"})
    assert rows["share"].tolist()[:2] == pytest.approx([7.74, 4.0])  # numbers, in per cent
    assert frame["share"].tolist()[:2] == [0.0774, 0.04]  # the caller's rows unchanged
    assert {c: (v["label"], v["type_config"]["format"]) for c, v in config.items()} == {
        "share": ("占比", "%.1f%%"), "residents": ("居民(人)", "%,.0f"), "rank_change": ("名次变化", "%+.0f")}

def test_meeting_mode_steps_through_the_slides(app_on, demo_path, demo_con):
    app = app_on(demo_path)
    app.switch_page("pages/review.py").run()
    assert "会议模式" in app.toggle[0].label
    app.toggle(key="meeting").set_value(True).run()
    assert not app.exception, app.exception
    assert app.title[0].value == "2026年第3季度网格治理考评"
    app.button(key="slide_next").click().run()
    first = review.quarter_review(demo_con, "2026Q3").communities()[0][1]
    assert app.title[0].value == f"{first} · 网格排名"
    assert app.query_params["slide"] == "2"
    app.button(key="slide_prev").click().run()
    assert app.title[0].value == "2026年第3季度网格治理考评"
    app.button(key="slide_prev").click().run()  # stays on the first slide
    assert app.title[0].value == "2026年第3季度网格治理考评"
    app.button(key="slide_last").click().run()
    assert app.title[0].value.startswith("服务圈覆盖不足的网格")
    app.button(key="slide_exit").click().run()
    assert not app.session_state["meeting"] and app.title[0].value == "季度考评"


def right_aligned(element) -> tuple[set, set]:
    """The headers of a slide table's columns drawn right-aligned: (in the body, in the header row).
    st.table aligns each cell inline by its type (left for text), so only !important wins."""
    body, head = set(), set()
    for selectors, props in re.findall(r"([^{}]+)\{([^}]*)\}", element.proto.arrow_data.styler.styles):
        if "text-align: right !important" in props:
            body |= {int(c) for c in re.findall(r"_row\d+_col(\d+)", selectors)}
            head |= {int(c) for c in re.findall(r"th\.col(\d+)", selectors)}
    columns = element.value.columns
    return {columns[c] for c in body}, {columns[c] for c in head}


@pytest.mark.parametrize("slide, numbers, text", [
    ("slide_next", {"名次", "名次变化", "综合得分"}, {"网格"}),
    ("slide_last", {"户数", "覆盖户数", "覆盖户数占比"}, {"社区", "网格"}),
])
def test_meeting_slides_right_align_number_columns(app_on, demo_path, slide, numbers, text):
    app = app_on(demo_path)
    app.switch_page("pages/review.py").run()
    app.toggle(key="meeting").set_value(True).run()
    app.button(key=slide).click().run()
    table = app.table[0]
    assert set(table.value.columns) == numbers | text
    assert right_aligned(table) == (numbers, numbers)


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
    app = app_on(writable_demo, user=CLERK)
    app.switch_page("pages/data.py").run()
    data = TICKET_CSV.format(grid="999-99").encode("gbk")
    app.file_uploader(key="upload").set_value(("工单.csv", data, "text/csv")).run()
    assert not app.exception, app.exception
    said = [e.value for e in app.error if "发现 1 个问题" in e.value]
    assert said and "**第 3 行 “所在网格”列**(值 999\\-99):所在网格不存在" in said[0], said
    assert not [b for b in app.button if b.key == "confirm_import"]
    assert ticket_count(writable_demo) == before


def test_a_good_file_is_checked_then_imported_and_logged(app_on, writable_demo):
    before = ticket_count(writable_demo)
    app = app_on(writable_demo, user=CLERK)
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


# -- access: login, roles, scope ------------------------------------------------------------

SECRETARY = as_role("community_secretary", "101")


@pytest.fixture
def audit_log(monkeypatch, tmp_path):
    path = tmp_path / "audit.sqlite"
    monkeypatch.setenv("GRIDGOV_AUDIT", str(path))
    return path


@pytest.fixture
def users(monkeypatch, tmp_path):
    path = tmp_path / "users.json"
    monkeypatch.setenv("GRIDGOV_USERS", str(path))
    return access.UserStore(path)


def test_without_login_only_the_login_page_shows_with_marked_demo_accounts(monkeypatch, demo_path):
    app = launch(monkeypatch, demo_path, user=None)
    assert [t.value for t in app.title] == ["网格治理驾驶舱"]
    assert not app.metric and not app.dataframe
    assert any("演示数据库" in w.value for w in app.warning)
    assert {b.label for b in app.button} >= {r.label for r in access.ROLES.values() if r.id != "admin"}
    assert "系统管理员" not in {b.label for b in app.button}  # no demo account manages the real users file
    app.switch_page("pages/credit.py").run()  # a bookmarked address shows the login screen too
    assert [t.value for t in app.title] == ["网格治理驾驶舱"] and not app.dataframe


def test_a_demo_account_sees_only_its_own_community(monkeypatch, demo_path, demo_con, audit_log):
    app = launch(monkeypatch, demo_path, user=None)
    app.button(key="demo_community_secretary").click().run()
    assert not app.exception, app.exception
    assert app.selectbox(key="f_comm").options == ["兴旺社区"]
    assert app.selectbox(key="f_sub").options == ["索镇街道"]
    own = overview.headline(demo_con, "2026Q3", Scope(communities=("101",))).set_index("key")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{own.loc['tickets', 'value']:,.0f} 单"
    log = audit.read(path=audit_log)
    assert log[["user_name", "action", "detail"]].values.tolist()[0] == ["demo-community_secretary", "login", "演示账号"]


def test_a_shared_link_to_another_community_shows_only_ones_own(monkeypatch, demo_path, demo_con):
    app = launch(monkeypatch, demo_path, user=SECRETARY, query={"comm": "201"})
    own = overview.headline(demo_con, "2026Q3", Scope(communities=("101",))).set_index("key")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{own.loc['tickets', 'value']:,.0f} 单"
    assert any("兴旺社区" in c.value for c in app.caption)
    app.switch_page("pages/credit.py").run()
    ranking = app.dataframe[0].value  # one community's grids, named without it
    assert set(ranking["grid_name"]) == {f"第{i}网格" for i in range(1, 11)}


ONE_PLACE, SEVERAL = ["服务类型", "各志愿服务队"], ["服务类型与社区", "各社区", "各志愿服务队"]


@pytest.mark.parametrize("user, query, tabs", [
    (LEADER, {}, SEVERAL),
    (LEADER, {"comm": "201"}, ONE_PLACE),  # the filter bar narrowed to one community
    (as_role("subdistrict_leader", "370321002"), {}, SEVERAL),  # 8 communities
    (SECRETARY, {"view": "各社区"}, ONE_PLACE),  # a leader's link to the tab opens the first
    (as_role("grid_worker", "101-01"), {}, ONE_PLACE),
])
def test_volunteers_offer_a_per_community_tab_only_over_several_communities(monkeypatch, demo_path, user, query, tabs):
    app = launch(monkeypatch, demo_path, user=user, query=query)
    app.switch_page("pages/volunteers.py").run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    assert [t.label for t in app.tabs] == tabs

@pytest.mark.parametrize("user, reachable, unreachable", [
    (LEADER, ["pages/credit.py", "pages/review.py"], ["pages/data.py", "pages/admin.py"]),
    (SECRETARY, ["pages/overview.py"], ["pages/data.py", "pages/admin.py"]),
    (CLERK, ["pages/data.py", "pages/credit.py"], ["pages/admin.py"]),
    (ADMIN, ["pages/admin.py", "pages/definitions.py"], ["pages/overview.py", "pages/credit.py", "pages/data.py"]),
])
def test_each_role_is_offered_its_own_pages(monkeypatch, demo_path, user, reachable, unreachable):
    app = launch(monkeypatch, demo_path, user=user)
    for page in reachable:
        app.switch_page(page).run()
        assert not app.exception and not app.error, (page, app.exception, [e.value for e in app.error])
    for page in unreachable:
        with pytest.raises(ValueError):
            app.switch_page(page)


def test_a_clerk_sees_figures_but_no_list_of_people(monkeypatch, demo_path):
    app = launch(monkeypatch, demo_path, user=CLERK, query={"ledger": "101-02"})  # a grid's ledger open
    app.switch_page("pages/credit.py").run()
    for view in ("网格排名", "评选依据", "公示与红灰榜"):
        app.session_state["view"] = view
        app.run()
        assert not app.exception, app.exception
        assert any("不查看涉及个人的名单" in i.value for i in app.info), view
        assert not any({"name", "worker_name", "recorded_by_name"} & set(d.value.columns) for d in app.dataframe), view


def test_full_names_in_the_ledger_only_for_a_role_that_needs_them_and_audited(monkeypatch, demo_path, demo_con,
                                                                              audit_log):
    grid = "101-02"
    app = launch(monkeypatch, demo_path, user=LEADER, query={"ledger": grid})
    app.switch_page("pages/credit.py").run()
    assert app.subheader and "ledger_names" not in {t.key for t in app.toggle}
    app = launch(monkeypatch, demo_path, user=SECRETARY, query={"ledger": grid})
    app.switch_page("pages/credit.py").run()
    ledger = app.dataframe[-1].value
    masked = credit.grid_ledger(demo_con, grid, "2026Q3")
    assert ledger["name"].tolist() == masked["name"].tolist() and ledger["name"].str.contains(r"\*").all()
    app.toggle(key="ledger_names").set_value(True).run()
    full = credit.grid_ledger(demo_con, grid, "2026Q3", names=True)
    assert app.dataframe[-1].value["name"].tolist() == full["name"].tolist() != masked["name"].tolist()
    log = audit.read(path=audit_log)
    assert (log["action"] == "names").sum() == 1 and log["target"].iat[0] == f"网格积分明细 {grid}"


def test_password_login_and_a_failed_one_are_audited(monkeypatch, demo_path, users, audit_log):
    users.add("wang.wu", "grid_worker", "correct horse", place="101-01", display_name="王五")
    app = launch(monkeypatch, demo_path, user=None)
    app.text_input[0].input("wang.wu")
    app.text_input[1].input("wrong password")
    app.button[0].click().run()
    assert any("用户名或密码错误" in e.value for e in app.error)
    assert not app.metric
    app.text_input[1].input("correct horse")
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "总览"
    assert app.selectbox(key="f_grid").options == ["兴旺社区第1网格"]
    log = audit.read(path=audit_log)
    assert log[["user_name", "action", "ok"]].values.tolist() == [["wang.wu", "login", True],
                                                                ["wang.wu", "login_failed", False]]


def test_an_idle_session_times_out_and_a_disabled_account_is_signed_out(monkeypatch, demo_path, users, audit_log):
    import datetime as dt

    monkeypatch.setenv("GRIDGOV_SESSION_MINUTES", "30")
    monkeypatch.setenv("GRIDGOV_DB", str(demo_path))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=60)
    app.session_state["user"] = LEADER
    app.session_state["last_seen"] = dt.datetime.now() - dt.timedelta(minutes=31)
    app.run()
    assert [t.value for t in app.title] == ["网格治理驾驶舱"]
    assert any("30 分钟未操作" in w.value for w in app.warning)
    stored = users.add("li.si", "analyst", "another secret")
    app.session_state["user"] = stored
    app.session_state["last_seen"] = dt.datetime.now()
    app.run()
    assert app.title[0].value == "总览"
    users.disable("li.si")
    app.run()
    assert [t.value for t in app.title] == ["网格治理驾驶舱"]
    assert any("已被停用" in w.value for w in app.warning)
    assert audit.read(path=audit_log)["action"].tolist() == ["logout", "timeout"]


def test_the_admin_adds_a_user_and_reads_the_audit_log(monkeypatch, demo_path, users, audit_log):
    app = launch(monkeypatch, demo_path, user=ADMIN)
    app.switch_page("pages/admin.py").run()
    form = app.text_input
    form[0].input("zhao.liu")
    form[1].input("赵六")
    app.selectbox[0].set_value("community_secretary")
    app.selectbox[1].set_value("201")
    form[2].input("a good password")
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert users.authenticate("zhao.liu", "a good password").place == "201"
    assert "a good password" not in users.path.read_text(encoding="utf-8")
    app.session_state["admin_view"] = "审计日志"
    app.run()
    log = app.dataframe[0].value
    assert log[["用户", "操作", "对象"]].values.tolist()[0] == ["test-admin", "新增用户", "zhao.liu"]


def everything_shown(app) -> str:
    """Every element of the run as text: tables as CSV, charts and maps as their JSON specs."""
    from google.protobuf.json_format import MessageToJson

    parts = []

    def walk(node):
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)
        if getattr(node, "type", None) == "arrow_data_frame":
            parts.append(node.value.to_csv())
        elif getattr(node, "proto", None) is not None:
            parts.append(MessageToJson(node.proto, ensure_ascii=False))

    walk(app._tree)
    return "\n".join(parts)


SECTIONS = {"pages/overview.py": [None], "pages/grid_map.py": [None], "pages/definitions.py": [None],
            "pages/tickets.py": ["流程与瓶颈", "办结用时", "评单与约请", "办理时限", "数据质量", "工单查询"],
            "pages/credit.py": ["网格排名", "评选依据", "积分构成", "公示与红灰榜", "积分兑换"],
            "pages/service.py": ["10分钟服务圈", "阵地分布", "充电供给与需求", "物业三评两公示", "微心愿"],
            "pages/volunteers.py": ["服务类型与社区", "各社区", "各志愿服务队"],
            "pages/review.py": ["网格排名", "红旗网格与优秀网格员", "待会议决定", "议事、志愿、兑换与覆盖", "总体情况",
                                 "会议材料"]}


def test_a_community_secretary_sees_no_other_place_and_no_full_name_on_any_page(monkeypatch, demo_path, demo_con):
    # 东岳国际社区 of 少海街道: neither comes first in any list, so a leak cannot hide behind a default.
    others = [r[0] for r in demo_con.execute(
        "SELECT name FROM communities WHERE community_id <> '201' UNION ALL "
        "SELECT name FROM subdistricts WHERE subdistrict_id <> '370321002'").fetchall()]
    full_names = {r[0] for r in demo_con.execute("SELECT DISTINCT name FROM people WHERE length(name) = 3").fetchall()}
    app = launch(monkeypatch, demo_path, user=as_role("community_secretary", "201"), query={"comm": "101"})
    seen = 0
    for page, views in SECTIONS.items():
        app.switch_page(page).run()
        for view in views:
            if view:
                app.session_state["view"] = view
                app.run()
            assert not app.exception and not app.error, (page, view, app.exception, [e.value for e in app.error])
            text = everything_shown(app)
            seen += len(text)
            assert [c for c in others if c in text] == [], (page, view)
            assert {text[i:i + 3] for i in range(len(text) - 2)} & full_names == set(), (page, view)
            for frame in (d.value for d in app.dataframe):  # two-character names too: every name shown is masked
                for column in {"name", "worker_name", "recorded_by_name", "actor"} & set(frame.columns):
                    assert frame[column].dropna().str.contains(r"\*").all(), (page, view, column)
    assert seen > 100_000  # the pages did show something


def test_with_an_identity_provider_its_accounts_map_to_local_users(monkeypatch, demo_path, users, audit_log):
    monkeypatch.setenv("GRIDGOV_AUTH", "oidc")
    monkeypatch.setenv("GRIDGOV_DB", str(demo_path))
    users.add("li.si", "community_secretary", place="201", identity="li.si@huantai.example")

    def visit(user_info: dict) -> AppTest:
        app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=60)
        app.user = user_info
        app.run()
        assert not app.exception, app.exception
        return app

    app = visit({"is_logged_in": False})
    assert [b.label for b in app.button if b.label.startswith("使用统一身份认证")] == ["使用统一身份认证登录"]
    assert not app.text_input  # no password form
    app = visit({"is_logged_in": True, "email": "stranger@example.com"})
    assert any("尚未在本系统开通" in e.value for e in app.error) and not app.metric
    app = visit({"is_logged_in": True, "email": "Li.Si@huantai.example"})
    assert app.title[0].value == "总览"
    assert app.selectbox(key="f_comm").options == ["东岳国际社区"]
    log = audit.read(path=audit_log)
    assert log[["user_name", "action", "ok"]].values.tolist() == [["li.si", "login", True],
                                                                ["stranger@example.com", "login_failed", False]]


def test_a_demo_session_ends_once_a_real_user_exists(monkeypatch, demo_path, users, audit_log):
    app = launch(monkeypatch, demo_path, user=None)
    app.button(key="demo_county_leader").click().run()
    assert app.title[0].value == "总览"
    users.add("admin", "admin", "first admin password")
    app.run()
    assert [t.value for t in app.title] == ["网格治理驾驶舱"]
    assert any("演示账号已停用" in w.value for w in app.warning)
    assert not [b for b in app.button if b.key == "demo_county_leader"]  # none offered any more


def test_five_failed_logins_lock_the_name_for_a_while(monkeypatch, demo_path, users, audit_log):
    users.add("wang.wu", "analyst", "correct horse")
    app = launch(monkeypatch, demo_path, user=None)
    app.text_input[0].input("wang.wu")
    for _ in range(access.FAILED_LOGINS):
        app.text_input[1].input("wrong password")
        app.button[0].click().run()
    app.text_input[1].input("correct horse")
    app.button[0].click().run()
    assert any("连续登录失败" in e.value for e in app.error) and not app.metric
    for typed in ("correct horse", "Secret-an1"):  # a password typed into the name field, looking like one or not
        app.text_input[0].input(typed)
        app.button[0].click().run()
    names = set(audit.read(path=audit_log)["user_name"])
    assert names == {"wang.wu", "(未知用户名)"}
    stored = audit_log.read_bytes() + users.path.read_bytes()
    assert [p for p in ("correct horse", "Secret-an1", "wrong password") if p.encode() in stored] == []
    assert app.session_state["login_password"] == ""  # not kept in the session either


def test_a_download_after_the_session_ended_gives_no_data(monkeypatch, audit_log, users):
    from pages._widgets import exported

    users.add("li.si", "analyst", "another secret")
    monkeypatch.setitem(st.session_state, "user", users.get("li.si"))
    make = exported(lambda: b"ranking", "rank.csv", 1)
    assert make() == b"ranking"
    users.disable("li.si")
    assert "未导出数据" in make().decode("utf-8-sig")
    log = audit.read(path=audit_log)
    assert log[["action", "target", "ok"]].values.tolist() == [["denied", "rank.csv", False], ["export", "rank.csv", True]]


def test_hostile_names_from_an_import_are_shown_as_text(monkeypatch, writable_demo):
    from analytics import ingest

    hostile = "![t](https://x.example/t.png)<b>粗</b>[点我](javascript:alert(1))"
    grids = f"网格编号,所属社区,网格名称\n201-01,201,{hostile}\n".encode()
    path = writable_demo.with_name("grids.csv")
    path.write_bytes(grids)
    assert ingest.import_file(path, writable_demo).status == "imported"
    app = launch(monkeypatch, writable_demo, user=as_role("community_secretary", "201"))
    for page in ("pages/overview.py", "pages/credit.py", "pages/grid_map.py", "pages/review.py"):
        app.switch_page(page).run()
        assert not app.exception and not app.error, (page, app.exception)
        for element in [*app.markdown, *app.caption, *app.title, *app.subheader, *app.info]:
            assert "](" not in element.value.replace(r"\]\(", ""), (page, element.value)
    app.switch_page("pages/grid_map.py").run()
    app.selectbox(key="map_grid").set_value("201-01").run()
    assert any(r"\!\[t\]\(https://x" in s.value for s in app.subheader)


def test_the_grid_card_beside_the_map_is_kept_in_the_address(monkeypatch, demo_path, demo_con):
    names = dict(demo_con.execute("SELECT grid_id, name FROM grids WHERE grid_id IN ('201-02', '201-03')").fetchall())
    app = launch(monkeypatch, demo_path, query={"grid_card": "201-02"})
    app.switch_page("pages/grid_map.py").run()
    assert not app.exception
    assert app.selectbox(key="map_grid").value == "201-02"
    assert [s.value for s in app.subheader] == [names["201-02"]]
    app.selectbox(key="map_grid").set_value("201-03").run()
    assert app.query_params["grid_card"] == "201-03"
    assert [s.value for s in app.subheader] == [names["201-03"]]


def test_a_grid_card_outside_ones_scope_is_not_opened(monkeypatch, demo_path):
    app = launch(monkeypatch, demo_path, user=as_role("community_secretary", "201"), query={"grid_card": "101-01"})
    app.switch_page("pages/grid_map.py").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="map_grid").value is None and not app.subheader


def click_row(app, prefix: str, grid_name: str | None) -> None:
    """A click on the row of the grid in the table whose key starts with prefix; None: a click on the
    selected row, which clears the selection."""
    table = next(d for d in app.dataframe if d.key and d.key.startswith(prefix))
    rows = [] if grid_name is None else [table.value["grid_name"].tolist().index(grid_name)]
    app.session_state[table.key] = {"selection": {"rows": rows, "columns": []}}
    app.run()


def click_bar(app, grid_name: str) -> None:
    """A click on the grid's bar in the credit ranking's chart (its bars in the table's order)."""
    table = next(d for d in app.dataframe if d.key and d.key.startswith("credit_pick_"))
    at = table.value["grid_name"].tolist().index(grid_name)
    app.session_state[f"credit_bars_{app.session_state['credit_round']}"] = {
        "selection": {"points": [{"point_index": at}], "point_indices": [at], "box": [], "lasso": []}}
    app.run()


@pytest.mark.parametrize("user, query, steps, grid", [
    (LEADER, {"ledger": "201-03"}, [], "201-03"),  # a shared link or a reload: the grid, its community chosen
    (LEADER, {}, [("comm", "201"), ("row", "第5网格")], "201-05"),
    (LEADER, {"ledger": "201-03"}, [("row", "第5网格")], "201-05"),
    (LEADER, {"ledger": "201-03"}, [("row", None)], None),  # clicked again: closed
    (LEADER, {"ledger": "201-03"}, [("comm", "101")], None),  # another community: its grids, none open
    (LEADER, {"ledger": "201-03", "comm": "101"}, [], None),  # the filters leave the grid out
    (LEADER, {"ledger": "999-99"}, [], None),
    (SECRETARY, {"ledger": "201-03"}, [], None),  # not the secretary's community
    (SECRETARY, {}, [("row", "第2网格")], "101-02"),
    (LEADER, {}, [("comm", "201"), ("bar", "第4网格")], "201-04"),  # a bar of the chart clicked
    (LEADER, {"ledger": "201-03"}, [("bar", "第5网格"), ("row", "第2网格")], "201-02"),  # then a row
])
def test_a_click_on_a_ranking_row_opens_its_grids_ledger_kept_in_the_address(monkeypatch, demo_path, demo_con,
                                                                             user, query, steps, grid):
    app = launch(monkeypatch, demo_path, user=user, query=query)
    app.switch_page("pages/credit.py").run()
    for kind, value in steps:
        if kind == "comm":
            app.selectbox(key="credit_community").set_value(value).run()
        elif kind == "bar":
            click_bar(app, value)
        else:
            click_row(app, "credit_pick_", value)
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    headings = [s.value for s in app.subheader]
    if grid is None:
        assert "ledger" not in app.query_params and not headings
        assert any(c.value.startswith("点选排名表中的一行或图中的一个网格") for c in app.caption)
        return
    name = demo_con.execute("SELECT name FROM grids WHERE grid_id = ?", [grid]).fetchone()[0]
    boxes = {b.key: b.value for b in app.selectbox}
    assert app.query_params["ledger"] == grid and boxes.get("credit_community", grid[:3]) == grid[:3]
    assert ("credit_community" in boxes) == (user is LEADER)  # a secretary's one community is not offered alone
    assert headings == [f"{name}的积分明细"]
    assert len(app.dataframe[-1].value) == len(credit.grid_ledger(demo_con, grid, "2026Q3")) > 0


def test_a_grid_to_be_checked_shows_what_under_its_ranking_row(monkeypatch, demo_path, demo_con):
    ranking = credit.grid_credit_ranking(demo_con, "2026Q3")
    pending = ranking[ranking["check_reason"].notna()].iloc[0]
    app = launch(monkeypatch, demo_path, query={"ledger": pending["grid_id"]})
    app.switch_page("pages/credit.py").run()
    shown = [w.value.replace("\\", "") for w in app.warning]
    assert shown == [f"{pending['award_label']}。待核实事项:{pending['check_reason']}"]
    # The ranking's columns fit 1,280 px: 待核实事项 is in the download only.
    table = next(d for d in app.dataframe if d.key.startswith("credit_pick_"))
    assert json.loads(table.proto.columns)["check_reason"] == {"hidden": True}


@pytest.mark.parametrize("grid_name, grid", [("第1网格", "201-01"), ("第5网格", "201-05")])
def test_a_click_on_the_reviews_ranking_opens_the_grids_ledger(monkeypatch, demo_path, demo_con, grid_name, grid):
    app = launch(monkeypatch, demo_path)
    app.switch_page("pages/review.py").run()
    app.selectbox(key="review_community").set_value("201").run()
    click_row(app, "review_pick", grid_name)
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    name = demo_con.execute("SELECT name FROM grids WHERE grid_id = ?", [grid]).fetchone()[0]
    assert app.query_params["ledger"] == grid
    assert [s.value for s in app.subheader] == [f"{name}的积分明细"]


# -- official results --------------------------------------------------------------------------

def test_a_county_leader_freezes_the_quarter_on_the_review_page(monkeypatch, writable_demo, audit_log):
    app = launch(monkeypatch, writable_demo, query={"period": "2026Q3", "view": "正式公布"})
    app.switch_page("pages/review.py").run()
    assert not app.exception, app.exception
    assert any("尚未冻结" in i.value for i in app.info)
    app.button(key="confirm_freeze").click().run()
    assert not app.exception, app.exception
    said = " ".join(s.value for s in app.success)
    assert "正式公布结果(" in said and "第 1 版,test\\-county\\_leader 于" in said
    app.toggle(key="official_live").set_value(True).run()
    assert "今日重算与正式公布结果一致" in " ".join(m.value for m in app.markdown)
    app.button(key="confirm_freeze").click().run()   # again, without a reason
    assert any("重新冻结须说明理由" in e.value for e in app.error)
    log = audit.read(action="freeze", path=audit_log)
    assert list(log["ok"]) == [False, True] and set(log["user_name"]) == {LEADER.name}
    with db.connect(writable_demo, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM official_results").fetchone()[0] == 1
    app.switch_page("pages/credit.py").run()
    assert any("正式公布结果(" in c.value for c in app.caption), [c.value for c in app.caption]


def test_an_analyst_sees_the_official_result_but_cannot_freeze(monkeypatch, writable_demo):
    app = launch(monkeypatch, writable_demo, user=as_role("analyst"), query={"period": "2026Q3", "view": "正式公布"})
    app.switch_page("pages/review.py").run()
    assert not app.exception, app.exception
    assert not [b for b in app.button if b.key == "confirm_freeze"]


def test_a_county_leader_marks_a_flag_checked_beside_the_list_to_check(monkeypatch, writable_demo, audit_log):
    with db.connect(writable_demo, read_only=True) as con:
        flags = credit.integrity_flags(con, "2026Q3")
        ranking = credit.grid_credit_ranking(con, "2026Q3")
        before = ranking[ranking["pending"]].iloc[0]  # a red-flag grid held by its flags
        first = flags[flags["grid_id"] == before.grid_id].iloc[0]
    app = launch(monkeypatch, writable_demo, query={"period": "2026Q3", "view": "待会议决定"})
    app.switch_page("pages/review.py").run()
    assert not app.exception, app.exception
    app.selectbox(key="flag_choice").set_value((first.grid_id, first.flag))
    app.button(key="confirm_flag_check").click().run()   # no reason given
    assert any("请填写核实说明" in e.value for e in app.error)
    app.selectbox(key="flag_choice").set_value((first.grid_id, first.flag))
    app.text_area(key="flag_reason").set_value("经入户核实,系集中志愿服务")
    app.button(key="confirm_flag_check").click().run()
    assert not app.exception, app.exception
    assert any("已核实:" in s.value for s in app.success)
    with db.connect(writable_demo, read_only=True) as con:
        checked = credit.integrity_flags(con, "2026Q3").set_index(["grid_id", "flag"]).loc[(first.grid_id, first.flag)]
        after = credit.grid_credit_ranking(con, "2026Q3", credit.Scope(grids=(first.grid_id,))).iloc[0]
    assert (checked["check_label"], checked["checked_by"], checked["check_note"]) == (
        "已核实", LEADER.name, "经入户核实,系集中志愿服务")
    assert first.flag_label in before.check_reason and first.flag_label not in str(after.check_reason)
    assert audit.read(action="flag_check", path=audit_log)["user_name"].tolist() == [LEADER.name]


def test_an_analyst_cannot_mark_a_flag_checked(monkeypatch, writable_demo):
    app = launch(monkeypatch, writable_demo, user=as_role("analyst"), query={"period": "2026Q3", "view": "待会议决定"})
    app.switch_page("pages/review.py").run()
    assert not app.exception, app.exception
    assert not [t for t in app.text_area if t.key == "flag_reason"]


def test_the_ticket_list_fits_the_screen_and_a_selected_ticket_shows_the_rest(monkeypatch, demo_path):
    app = launch(monkeypatch, demo_path, query={"period": "2026Q3", "view": "工单查询"})
    app.switch_page("pages/tickets.py").run()
    listed = app.dataframe[0].value
    assert list(listed.columns) == ["ticket_id", "title", "category_label", "grid_name", "status", "filed_at", "days"]
    app.session_state["tickets_found"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    assert not app.exception, app.exception
    detail = [c.value for c in app.caption if "渠道:" in c.value]
    assert len(detail) == 1 and "约请部门:" in detail[0] and ("结果公开" in detail[0] or "尚未公开" in detail[0])
    assert any(f"{plain(listed['ticket_id'].iat[0])} 的办理过程" in m.value for m in app.markdown)


def test_corrections_after_the_announcement_are_listed_in_the_dictionarys_formats(monkeypatch, writable_demo):
    from analytics import official

    official.freeze(writable_demo, "2026Q3", user=LEADER.name)
    with db.connect(writable_demo) as con:  # a line of 2026Q3 recorded after the freeze
        person, grid = con.execute("SELECT person_id, grid_id FROM people WHERE grid_id IS NOT NULL "
                                   "ORDER BY person_id LIMIT 1").fetchone()
        indicator = con.execute("SELECT indicator_code FROM credit_indicators WHERE points > 0 AND subject_type = 'person' "
                                "ORDER BY indicator_code LIMIT 1").fetchone()[0]
        con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at,
                           recorded_at, recorded_by) SELECT max(event_id) + 1, 'person', ?, ?, 50, '2026-09-20 10:00',
                           now()::TIMESTAMP, ? FROM credit_events""", [person, indicator, person])
    app = launch(monkeypatch, writable_demo, query={"period": "2026Q3", "view": "正式公布"})
    app.switch_page("pages/review.py").run()
    app.toggle(key="official_live").set_value(True).run()
    assert not app.exception, app.exception
    grids, lines = (t.value for t in app.dataframe[:2])
    assert len(grids) >= 1
    assert lines["live_points"].tolist() == [50] and pd.isna(lines["official_points"].iat[0])
    drawn_as = {name: (c.get("label"), c.get("type_config", {}).get("format"))
                for name, c in json.loads(app.dataframe[0].proto.columns).items()}
    assert {k: drawn_as.get(k) for k in ("official_avg", "avg_change", "official_residents")} == {
        "official_avg": ("公布人均积分", "%.2f"), "avg_change": ("变化", "%+.2f"), "official_residents": ("公布居民数", "%,.0f")}, drawn_as


def test_a_grids_card_lists_its_open_tickets_in_the_dictionarys_format(monkeypatch, demo_path, demo_con):
    grid = metrics.get("open-tickets").compute(demo_con, "2026Q3")["grid_id"].min()
    app = launch(monkeypatch, demo_path, query={"period": "2026Q3"})
    app.query_params["grid_card"] = grid  # as a shared link to the card
    app.switch_page("pages/grid_map.py").run()
    assert not app.exception, app.exception
    backlog = [d for d in app.dataframe if "age_days" in d.value.columns]
    assert len(backlog) == 1 and 1 <= len(backlog[0].value) <= 5
    assert json.loads(backlog[0].proto.columns)["age_days"]["type_config"]["format"] == "%.1f"


def test_a_database_of_an_earlier_release_is_upgraded_on_first_open_and_kept_in_backups(monkeypatch, writable_demo):
    latest = db.load_migrations()[-1].version
    with db.connect(writable_demo) as con:  # as release 008 left it
        con.execute("DROP TABLE flag_checks")
        con.execute("DELETE FROM schema_version WHERE version = ?", [latest])
    app = launch(monkeypatch, writable_demo, query={"period": "2026Q3"})
    app.switch_page("pages/credit.py").run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    assert len(app.dataframe) >= 1  # the ranking, whose check before the award reads flag_checks
    with db.connect(writable_demo, read_only=True) as con:
        assert db.schema_version(con) == latest
    kept = list((writable_demo.parent / "backups").glob(f"gridgov-*-schema-{latest:03d}.duckdb"))
    assert len(kept) == 1
    with db.connect(kept[0], read_only=True) as con:
        assert db.schema_version(con) == latest - 1


def test_the_map_is_drawn_afresh_for_another_grid_or_measure_and_alike_on_a_rerun(monkeypatch, demo_path):
    def layers(app) -> dict:  # each layer's JSON text (a missing value, NaN, equals itself only as text)
        spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
        return {layer["id"]: json.dumps(layer, sort_keys=True) for layer in spec["layers"]}

    app = launch(monkeypatch, demo_path)
    app.query_params["grid_card"] = "201-02"
    app.switch_page("pages/grid_map.py").run()
    first = layers(app)
    app.run()
    assert layers(app) == first  # a rerun: the same map
    app.selectbox(key="map_grid").set_value("201-03").run()
    moved = layers(app)
    assert moved["selected"] != first["selected"]
    box = app.selectbox(key="map_measure")
    box.select_index(1 if box.index == 0 else 0).run()
    assert layers(app)["grids"] != moved["grids"]


@pytest.mark.parametrize(("first", "second", "same"), [
    (parse_period("2026Q3"), parse_period("2026Q3"), True),
    (parse_period("2026Q3"), parse_period("2026-07-01..2026-09-30"), False),  # the same days, another kind
    (parse_period("2026-07"), parse_period("2026-08"), False),
    (Area(("101-01",), "甲社区"), Area(("101-01",), "甲社区"), True),
    (Area(("101-01",), "甲社区"), Area(("101-01", "101-02"), "甲社区"), False),  # a name says not which grids
    (Area(None), Area(None, "淄博市桓台县"), False),
])
def test_a_cached_figure_is_keyed_by_everything_that_tells_two_arguments_apart(first, second, same):
    key = ARGUMENTS[type(first)]
    assert (key(first) == key(second)) is same
