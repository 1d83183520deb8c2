"""The frame: page config, first-run setup, navigation."""

import streamlit as st

from analytics import db
from pages._common import ensure_database

st.set_page_config(page_title="网格治理驾驶舱 · 桓台县", page_icon=":material/account_tree:", layout="wide")

pages = {
    "驾驶舱": [
        st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
    ],
}
# Navigation comes first so Streamlit never lists the files of pages/ on its own.
page = st.navigation(pages)
ensure_database(db.default_db_path())
page.run()
