import streamlit as st

from analytics import charts, volunteers
from analytics.period import Period
from pages._format import definition
from pages._figures import compute, metric
from pages._filters import current_filters
from pages._widgets import figure, nothing, page_header, sections, table

CHART = {"displayModeBar": False}
# The measures a breakdown chart can show: column -> (label, unit, number format).
MEASURES = {
    "active_volunteers": ("参与人数", "人", ",.0f"),
    "activities": ("服务次数", "次", ",.0f"),
    "hours": ("服务时长", "小时", ",.0f"),
}
COUNTS = {
    "active_volunteers": "参与人数(人)",
    "activities": "服务次数(次)",
    "hours": "服务时长(小时)",
    "party_member_share": "党员占比",
}

filters = current_filters()
page_header("志愿服务", filters)

summary = metric("volunteer-summary", filters.period, filters.scope).iloc[0]
# Units sit in the labels: four values with units do not fit side by side on a 1280-wide screen.
for column, (label, value, unit, digits) in zip(st.columns(4), [
    ("参与志愿服务(人)", summary["active_volunteers"], "", 0),
    ("服务次数(次)", summary["activities"], "", 0),
    ("服务时长(小时)", summary["hours"], "", 0),
    ("党员占比", summary["party_member_share"], "%", 1),
]):
    figure(label, value, unit, "volunteer-summary", digits=digits, container=column)

# The twelve months ending with the period's last month, so the March campaign (学雷锋月) shows.
last = filters.period.months()[-1]
first = last
for _ in range(11):
    first = first.previous()
trend = compute(volunteers.volunteer_breakdown, Period("range", first.start, last.end), filters.scope, by="month")

st.subheader("近12个月走势")
if not trend["activities"].any():
    nothing("近12个月所选范围内没有志愿服务记录。")
else:
    left, right = st.columns(2, gap="large")
    # Whole numbers with separators on the axes: plotly's default "35k" is not Chinese.
    # 280 px: the tabs below still start on the first screen at 1280×720.
    people = charts.line(trend, "month", {"active_volunteers": "参与人数"}, title="每月参与志愿服务人数", y_title="人",
                         y_format=",.0f", height=280)
    hours = charts.line(trend, "month", {"hours": "服务时长"}, title="每月服务时长", y_title="小时", y_format=",.0f",
                        height=280)
    left.plotly_chart(people, width="stretch", config=CHART)
    right.plotly_chart(hours, width="stretch", config=CHART)
    st.caption("每年3月学雷锋月为集中服务期。" + definition("volunteers-by-month"))

if not summary["activities"]:
    nothing("所选统计期和范围内没有志愿服务记录。")
    st.stop()


communities = metric("volunteers-by-community", filters.period, filters.scope)
# One community (or grid) in scope: a per-community bar or table would repeat the figures above.
several = len(communities) > 1


def show_breakdown() -> None:
    measure = st.segmented_control("图中显示", list(MEASURES), format_func=lambda c: MEASURES[c][0], default="hours",
                                   key="vol_measure") or "hours"
    label, unit, number = MEASURES[measure]
    kinds = metric("volunteers-by-kind", filters.period, filters.scope)
    left, right = st.columns(2, gap="large") if several else (st.container(), None)
    with left:
        fig = charts.bar(kinds.sort_values(measure, ascending=False), "label", measure, horizontal=True,
                         title=f"按服务类型:{label}", x_title="服务类型", y_title=f"{label}({unit})",
                         text_format=number, value_format=",.0f", height=max(420, 32 * len(communities) + 80))
        st.plotly_chart(fig, width="stretch", config=CHART)
        st.caption(definition("volunteers-by-kind"))
    if right is None:
        return
    with right:
        fig = charts.bar(communities.sort_values(measure, ascending=False), "label", measure, horizontal=True,
                         title=f"按社区:{label}", x_title="社区", y_title=f"{label}({unit})",
                         text_format=number, value_format=",.0f", height=max(420, 32 * len(communities) + 80))
        st.plotly_chart(fig, width="stretch", config=CHART)
        st.caption(definition("volunteers-by-community"))


def show_communities() -> None:
    table(communities, "volunteers-by-community", filters, columns={"label": "社区", **COUNTS}, key="vol_community")


def show_teams() -> None:
    teams = metric("volunteers-by-team", filters.period, filters.scope).sort_values("hours", ascending=False)
    # No blank rows under a community's dozen teams (35 px a row, the header included).
    table(teams, "volunteers-by-team", filters, columns={"label": "志愿服务队", **COUNTS}, key="vol_team",
          height=min(460, 35 * (len(teams) + 1) + 3))


sections({"服务类型与社区": show_breakdown, "各社区": show_communities, "各志愿服务队": show_teams} if several else
         {"服务类型": show_breakdown, "各志愿服务队": show_teams})
