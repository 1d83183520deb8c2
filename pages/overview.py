import streamlit as st

from pages._common import data_as_of_and_profile

as_of, figures = data_as_of_and_profile()

st.title("桓台县城市社区 · 党建引领网格治理驾驶舱")
st.caption(f"数据截至 {as_of:%Y年%m月%d日} · 索镇街道、少海街道")

st.subheader("治理架构与服务力量")
columns_per_row = 4
for start in range(0, len(figures), columns_per_row):
    row = figures.iloc[start:start + columns_per_row]
    for column, figure in zip(st.columns(columns_per_row, border=True), row.itertuples()):
        column.metric(figure.label, f"{figure.value:,} {figure.unit}")
