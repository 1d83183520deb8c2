import streamlit as st

from analytics import city, columns as table_columns, overview
from pages._database import the_city
from pages._figures import city_figure
from pages._filters import current_filters
from pages._format import definition
from pages._widgets import sections, table

filters = current_filters()
town = the_city()
headlines = city_figure("county-headlines", filters.period)
st.title(f"{town.name} · 县区对比")
st.caption(f"{filters.period.label_zh} · {len(headlines)} 个县区并列 · 每个数字与该县区本县“总览”同一口径、同一计算")

number = st.column_config.NumberColumn
columns = {"county_name": "县区"}
for key, label, unit, metric_id, _ in overview.HEADLINES:
    header = table_columns.column(key, "county-headlines").header
    header = "服务圈覆盖户数" if key == "coverage" else header  # the last column, kept in sight at 1280 px
    columns[key] = number(header, help=definition(metric_id))
table(headlines, "county-headlines", filters, columns=columns, key="city_headlines", place=town.name)

# A user held to one county sees its rankings alone: "全市" would promise more than is shown.
where = "全市" if len(headlines) > 1 else ""


def grids() -> None:
    table(city_figure("city-grid-ranking", filters.period), "city-grid-ranking", filters, key="city_grids",
          place=town.name, height=320,
          columns={"city_rank": number("全市名次"), "county_name": "县区", "community_name": "社区", "grid_name": "网格",
                   "residents": number("居民"), "avg_credit": number("人均积分"), "rank": number("社区内名次"),
                   "red_flag": st.column_config.CheckboxColumn("红旗网格")})


def communities() -> None:
    table(city_figure("city-community-ranking", filters.period), "city-community-ranking", filters,
          key="city_communities", place=town.name, height=320,
          columns={"city_rank": number("全市名次"), "county_name": "县区", "community_name": "社区",
                   "grids": number("网格数"), "residents": number("居民"), "avg_credit": number("人均积分")})


def profiles() -> None:
    # Thirteen figures of a few counties: a row per figure and a column per county, to be read without scrolling.
    header = {k: c.header for k, c in table_columns.BY_METRIC["county-profiles"].items()}
    turned = city.by_figure(city_figure("county-profiles", filters.period), header)
    counts = table_columns.printf(",d")
    table(turned, "county-profiles", filters, key="city_profiles", place=town.name, height="content",
          columns={"figure": "指标", **{c.code: number(c.name, format=counts) for c in town.counties if c.code in turned}})


sections({f"{where}网格排名": grids, f"{where}社区排名": communities, "组织体系与服务力量": profiles}, key="city_view")
