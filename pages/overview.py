import streamlit as st

from pages._common import data_as_of_and_profile

# Groups of headline figures, row by row.
LAYOUT = [["组织体系"], ["协商议事", "志愿服务"], ["信用积分", "服务阵地"]]

as_of, figures, communities = data_as_of_and_profile()

st.title("桓台县城市社区 · 党建引领网格治理驾驶舱")
st.caption(f"数据截至 {as_of:%Y年%m月%d日} · 索镇街道、少海街道 · “三联四进”工作机制")

for row in LAYOUT:
    sizes = [int((figures["group"] == group).sum()) for group in row]
    for column, group in zip(st.columns(sizes, gap="medium"), row):
        with column.container(border=True):
            st.markdown(f"**{group}**")
            members = figures[figures["group"] == group]
            for cell, figure in zip(st.columns(len(members)), members.itertuples()):
                cell.metric(figure.label, f"{figure.value:,} {figure.unit}")

st.subheader("各社区概况")
st.dataframe(
    communities,
    hide_index=True,
    width="stretch",
    column_config={
        "subdistrict": "街道",
        "community": "社区",
        "grids": st.column_config.NumberColumn("网格数", format="localized"),
        "buildings": st.column_config.NumberColumn("楼栋数", format="localized"),
        "households": st.column_config.NumberColumn("户数", format="localized"),
        "residents": st.column_config.NumberColumn("登记居民(人)", format="localized"),
        "party_members": st.column_config.NumberColumn("党员(人)", format="localized"),
    },
)
