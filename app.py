"""The frame: page config, first-run setup, the global filter bar, navigation."""

import logging

import streamlit as st

from analytics import city, db
from pages._database import database_path, database_problem, ensure_database
from pages._filters import filter_bar
from pages._session import (announce_first_run, keep_cookie, record, remember_requested_page,
                            return_to_requested_page, still_signed_in, user_box)
from pages._login import show as login_screen

CITY = city.manifest_path() is not None  # a city deployment: its counties side by side, then each county's pages
st.set_page_config(page_title="网格治理驾驶舱 · " + ("全市" if CITY else "桓台县"), page_icon=":material/account_tree:", layout="wide")
# Less padding and a smaller title than Streamlit's own: at 1280×720 the figures start in the first 100 px.
st.html("""<style>
[data-testid=stMainBlockContainer] {padding: 3.5rem 2.5rem 2rem;}
[data-testid=stMain] h1 {font-size: 2rem; padding: 0;}
</style>""")

FIGURES, IMPORT, ADMIN = "figures", "import", "admin"
CITY_PAGE = st.Page("pages/city.py", title="县区对比", icon=":material/location_city:", default=True)
PAGES = {
    "驾驶舱": [
        *([(FIGURES, CITY_PAGE)] if CITY else []),
        (FIGURES, st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=not CITY)),
        (FIGURES, st.Page("pages/grid_map.py", title="网格地图", icon=":material/map:")),
        (FIGURES, st.Page("pages/review.py", title="季度考评", icon=":material/emoji_events:")),
    ],
    "专题分析": [
        (FIGURES, st.Page("pages/tickets.py", title="协商议事", icon=":material/forum:")),
        (FIGURES, st.Page("pages/credit.py", title="信用积分", icon=":material/military_tech:")),
        (FIGURES, st.Page("pages/volunteers.py", title="志愿服务", icon=":material/volunteer_activism:")),
        (FIGURES, st.Page("pages/service.py", title="服务阵地", icon=":material/storefront:")),
    ],
    "管理": [
        (IMPORT, st.Page("pages/data.py", title="数据管理", icon=":material/database:")),
        (ADMIN, st.Page("pages/admin.py", title="用户与审计", icon=":material/admin_panel_settings:")),
    ],
    "帮助": [
        (None, st.Page("pages/definitions.py", title="指标说明", icon=":material/menu_book:")),
    ],
}
if problem := database_problem():
    # Nobody can sign in or read a figure; whoever opens the dashboard is told what the administrator must do.
    st.navigation([p for entries in PAGES.values() for _, p in entries], position="hidden")
    st.title("网格治理驾驶舱")
    st.error(problem, icon=":material/report:")
    st.stop()
user = still_signed_in()
keep_cookie()
if user is None:
    announce_first_run()
    # Signed out, every address shows the login page; the page it names (with its filters) opens after login.
    remember_requested_page()
    st.navigation([p for entries in PAGES.values() for _, p in entries], position="hidden")
    ensure_database(database_path())
    login_screen()
    st.stop()

pages = {group: [p for need, p in entries if need is None or user.can(need)] for group, entries in PAGES.items()}
pages = {group: entries for group, entries in pages.items() if entries}
# Navigation comes first so Streamlit never lists the files of pages/ on its own.
page = st.navigation(pages)
ensure_database(database_path())
st.logo(str(db.ROOT / "data" / ("logo-city.svg" if CITY else "logo.svg")), size="large")
# The city page sets counties side by side: it takes the period, not one county's places.
st.session_state["filters"] = filter_bar(places=page is not CITY_PAGE) if user.can(FIGURES) else None
user_box(user)
return_to_requested_page([p for group in pages.values() for p in group])
try:
    page.run()
except PermissionError as exc:
    record("denied", page.title, str(exc), ok=False)
    st.error(f"无权查看:{exc}", icon=":material/lock:")
except Exception:
    # The details go to the server log; the user is told in Chinese what to do.
    logging.getLogger("gridgov").exception("page %s failed", page.title)
    st.error("抱歉,本页出现错误,未能显示完整内容。请更换筛选条件后重试;如仍出错,请联系系统管理员(错误详情已记录在服务器日志中)。",
             icon=":material/error:")
