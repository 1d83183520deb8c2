import time as _t; _ta = _t.perf_counter()
"""The frame: page config, first-run setup, the global filter bar, navigation."""

import logging

import streamlit as st

from analytics import db
from pages._common import ensure_database, filter_bar, return_to_requested_page

st.set_page_config(page_title="网格治理驾驶舱 · 桓台县", page_icon=":material/account_tree:", layout="wide")

pages = {
    "驾驶舱": [
        st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("pages/grid_map.py", title="网格地图", icon=":material/map:"),
        st.Page("pages/review.py", title="季度考评", icon=":material/emoji_events:"),
    ],
    "专题分析": [
        st.Page("pages/tickets.py", title="协商议事", icon=":material/forum:"),
        st.Page("pages/credit.py", title="信用积分", icon=":material/military_tech:"),
        st.Page("pages/volunteers.py", title="志愿服务", icon=":material/volunteer_activism:"),
        st.Page("pages/service.py", title="服务阵地", icon=":material/storefront:"),
    ],
    "管理": [
        st.Page("pages/data.py", title="数据管理", icon=":material/database:"),
    ],
    "帮助": [
        st.Page("pages/definitions.py", title="指标说明", icon=":material/menu_book:"),
    ],
}
# Navigation comes first so Streamlit never lists the files of pages/ on its own.
page = st.navigation(pages)
ensure_database(db.default_db_path())
st.logo(str(db.ROOT / "data" / "logo.svg"), size="large")
st.session_state["filters"] = filter_bar()
_tf = None
return_to_requested_page([p for group in pages.values() for p in group])
import time as _t
_t0 = _t.perf_counter()
try:
    page.run()
except Exception:
    # The details go to the server log; the user is told in Chinese what to do.
    logging.getLogger("gridgov").exception("page %s failed", page.title)
    st.error("抱歉,本页出现错误,未能显示完整内容。请更换筛选条件后重试;如仍出错,请联系系统管理员(错误详情已记录在服务器日志中)。",
             icon=":material/error:")

with open('/tmp/w/times.txt', 'a') as _f: _f.write(f'{page.url_path or 0} {(_t.perf_counter() - _t0) * 1000:.1f}\n')

with open('/tmp/w/times.txt', 'a') as _f: _f.write(f'total {(_t.perf_counter() - _ta) * 1000:.1f}\n')
