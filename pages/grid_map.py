import streamlit as st

from pages._common import page_header

page_header("建设中", st.session_state["filters"])
st.info("本页正在建设中。")
