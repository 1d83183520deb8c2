import streamlit as st

from analytics import charts, credit, overview
from pages._format import definition, plain
from pages._figures import compute, metric
from pages._filters import current_filters
from pages._widgets import calendar_notice, headline_figures, nothing, page_header, table

filters = current_filters()
page_header("总览", filters)

headline_figures(compute(overview.headline, filters.period, filters.scope))

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("近12个月走势")
    trend = compute(overview.monthly_trend, filters.period, filters.scope)
    if trend["tickets"].sum() == 0 and trend["volunteers"].fillna(0).sum() == 0:
        nothing()
    else:
        # Only the open tab's chart is drawn: a rerun builds one figure, not four.
        tabs = st.tabs(["办结工单", "办结用时", "人均积分", "志愿服务人数"], key="trend", on_change="rerun")
        for tab, (column, label, unit) in zip(tabs, [("tickets", "办结工单", "单"), ("median_days", "办结用时中位数", "天"),
                                                     ("avg_credit", "人均积分", "分"), ("volunteers", "志愿服务人数", "人")]):
            if tab.open:
                tab.plotly_chart(charts.line(trend, "month", {column: label}, y_title=unit), width="stretch",
                                 config={"displayModeBar": False})
with right:
    st.subheader("需要关注")
    calendar_notice(filters.period, filters.scope)
    for alert in compute(overview.alerts, filters.period, filters.scope).itertuples():
        icon = ":material/check_circle:" if alert.count == 0 else ":material/warning:"
        box = st.container(border=True)
        box.markdown(f"{icon} **{alert.label}:{alert.count}**")
        box.caption(plain(alert.detail))
    st.subheader("本期红旗网格")
    table(compute(credit.red_flag_grids, filters.period, filters.scope), "red-flag-grids", filters, key="red_flags",
          columns={"grid_name": "网格", "avg_credit": "人均积分", "award_label": "评选结果"})

st.subheader("组织体系与服务力量" + ("" if filters.scope.is_county else f" · {plain(filters.scope_label)}"))
profile = metric("county-profile", filters.period, filters.scope)
if profile.empty:
    nothing()
else:
    for group in dict.fromkeys(profile["group"]):
        members = profile[profile["group"] == group]
        with st.container(border=True):
            st.markdown(f"**{group}**")
            for cell, row in zip(st.columns(4), members.itertuples()):
                cell.metric(row.label, f"{row.value:,} {row.unit}", help=definition("county-profile"))
