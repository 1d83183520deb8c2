import streamlit as st

from analytics import metrics
from pages._format import plain

st.title("指标说明")
st.caption("每个指标只有一个定义,页面、导出和命令行都用同一函数计算。")
search = st.text_input("搜索指标", placeholder="输入名称、编号或关键词,如 排名、办结、覆盖率", key="definitions_search")
table = metrics.dictionary(search)
if table.empty:
    st.info(f"没有找到与“{plain(search)}”有关的指标。", icon=":material/search_off:")
for area in dict.fromkeys(table["area"]):
    st.subheader(area)
    for row in table[table["area"] == area].itertuples():
        with st.expander(f"**{row.name}**  ·  单位:{row.unit}"):
            st.markdown(row.definition)
            st.caption(f"指标编号 `{row.id}` · 计算函数 `{row.function}` · "
                       f"命令行:`{row.command}`")
