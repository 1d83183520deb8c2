import streamlit as st

from analytics import city, overview
from pages._database import the_city
from pages._figures import city_figure
from pages._filters import current_filters
from pages._format import definition
from pages._widgets import nothing, table

filters = current_filters()
town = the_city()
headlines = city_figure("county-headlines", filters.period)
st.title(f"{town.name} · 县区对比")
st.caption(f"{filters.period.label_zh} · {len(headlines)} 个县区并列(不受左侧县区、街道筛选影响) · "
           "每个数字与该县区本县“总览”同一口径、同一计算")

number = st.column_config.NumberColumn
columns = {"county_name": "县区"}
for key, label, unit, metric_id, _ in overview.HEADLINES:
    digits = {"avg_credit": "%.2f", "median_days": "%.1f"}.get(key, "%d")
    label = "服务圈覆盖户数" if key == "coverage" else label  # the last column, kept in sight at 1280 px
    columns[key] = number(f"{label}({unit})", format=digits if unit != "%" else None, help=definition(metric_id))
if headlines.empty:
    nothing()
else:
    # A share drawn with one decimal, as every page draws it; the column still sorts by its numbers.
    shown = headlines[list(columns)].style.format("{:.1%}", subset=["coverage"], na_rep="—")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=columns, placeholder="—")

# A user held to one county sees its rankings alone: "全市" would promise more than is shown.
where = "全市" if len(headlines) > 1 else ""
grids_tab, communities_tab, profile_tab = st.tabs([f"{where}网格排名", f"{where}社区排名", "组织体系与服务力量"])
with grids_tab:
    st.caption("各县区的网格放在一起,按居民人均信用积分从高到低排出全市名次(并列同名次);“社区内名次”与红旗网格仍按本社区评定。")
    table(city_figure("city-grid-ranking", filters.period), "grid-credit-ranking", filters, key="city_grids",
          place=town.name, height=320,
          columns={"city_rank": number("全市名次", format="%d"), "county_name": "县区", "community_name": "社区",
                   "grid_name": "网格", "residents": number("居民", format="%d"),
                   "avg_credit": number("人均积分", format="%.2f"), "rank": number("社区内名次", format="%d"),
                   "red_flag": st.column_config.CheckboxColumn("红旗网格")})
with communities_tab:
    st.caption("社区人均积分=社区各网格居民积分之和÷居民数,与“居民人均信用积分”同一口径;全市名次并列同名次。")
    table(city_figure("city-community-ranking", filters.period), "credit-summary", filters, key="city_communities",
          place=town.name, height=320,
          columns={"city_rank": number("全市名次", format="%d"), "county_name": "县区", "community_name": "社区",
                   "grids": number("网格数", format="%d"), "residents": number("居民", format="%d"),
                   "avg_credit": number("人均积分", format="%.2f")})
with profile_tab:
    profiles = city_figure("county-profiles", filters.period)
    labels = city.profile_labels()
    st.dataframe(profiles, hide_index=True, width="stretch", placeholder="—",
                 column_config={"county_code": None, "county_name": "县区",
                                **{k: number(labels[k], format="%d") for k in labels}})
    st.caption(definition("county-profile"))
