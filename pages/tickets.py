import streamlit as st

from analytics import charts, overview
from pages._format import plain
from pages._session import allowed, record
from pages._figures import compute, metric, ticket_history
from pages._filters import current_filters
from pages._widgets import calendar_notice, downloads, drawn, figure, may_see_people, nothing, page_header, sections, table

filters = current_filters()
period, scope = filters.period, filters.scope
page_header("协商议事 · 五单一公开", filters)
CHART = {"displayModeBar": False}

county = metric("ticket-resolution-county", period, scope)
ratings = metric("ticket-ratings", period, scope).set_index("rater_kind")
alerts = compute(overview.alerts, period, scope).set_index("kind")
cols = st.columns(4)
figure("结果公开工单", county["tickets"].iat[0] if len(county) else 0, "单", "ticket-resolution-county", container=cols[0])
figure("办结用时中位数", county["median_days"].iat[0] if len(county) else None, "天", "ticket-resolution-county",
       digits=1, container=cols[1])
figure("党员群众评价均分", ratings.loc["all", "mean_score"], "分", "ticket-ratings", digits=2, container=cols[2])
figure("超期工单", alerts.loc["overdue", "count"], "单", "overdue-tickets", container=cols[3])


def show_flow() -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("五单一公开漏斗")
        funnel = metric("ticket-funnel", period, scope)
        if funnel["reached"].iat[0] == 0:
            nothing("本期没有新提交的工单。")
        else:
            st.plotly_chart(charts.funnel(funnel, "label", "reached"), width="stretch", config=CHART)
            st.caption("统计期内提单的工单到目前为止走到每一步的单数。")
    with right:
        st.subheader("各环节用时与瓶颈")
        steps = metric("ticket-step-durations", period, scope)
        if not steps["tickets"].any():
            nothing()
        else:
            st.plotly_chart(charts.bar(steps, "label", "median_hours", horizontal=True, y_title="用时中位数(小时)",
                                       highlight=steps["bottleneck"], text_format=".1f"), width="stretch", config=CHART)
            st.caption("金色为瓶颈环节(用时中位数最长)。")


def show_resolution() -> None:
    by = st.segmented_control("分组", ["问题类别", "提单渠道", "社区"], default="问题类别", key="tickets_by") or "问题类别"
    metric_id, key, label = {"问题类别": ("ticket-resolution-category", "category_label", "类别"),
                             "提单渠道": ("ticket-resolution-channel", "channel_label", "渠道"),
                             "社区": ("ticket-resolution-community", "community_name", "社区")}[by]
    resolution = metric(metric_id, period, scope)
    if resolution.empty:
        nothing()
    else:
        chart, data = st.columns(2, gap="large")
        chart.plotly_chart(charts.bar(resolution.sort_values("median_days", ascending=False), key, "median_days",
                                      horizontal=True, y_title="办结用时中位数(天)", text_format=".1f"),
                           width="stretch", config=CHART)
        with data:
            table(resolution, metric_id, filters, key="resolution", columns={
                key: label, "tickets": "单数",
                "median_days": "中位数(天)",
                "p90_days": "90%分位(天)"})

    with st.expander("各网格办结用时", expanded=False):
        table(metric("ticket-resolution", period, scope), "ticket-resolution", filters, key="by_grid", columns={
            "community_name": "社区", "grid_name": "网格", "tickets": "单数",
            "median_days": "中位数(天)",
            "p90_days": "90%分位(天)"})


def show_ratings() -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("党员群众评单")
        table(ratings.reset_index(), "ticket-ratings", filters, key="ratings", columns={
            "label": "评价人", "tickets_rated": "有评价单数",
            "share_rated": "评价率",
            "ratings": "评价条数", "mean_score": "平均分"})
        publication = metric("decision-publication", period, scope)
        table(publication, "decision-publication", filters, key="publication", columns={
            "decided": "定单数", "published": "已公开", "share_published": "公开率",
            "median_lag_days": "定单到公开(天,中位数)"})
    with right:
        st.subheader("网格约请职能部门")
        table(metric("ticket-escalations", period, scope), "ticket-escalations", filters, key="escalations", columns={
            "department_label": "部门", "escalations": "约请单数", "resolved": "已办结",
            "median_days": "办结用时中位数(天)"})


def show_deadlines() -> None:
    calendar_notice(period, scope)
    status = st.segmented_control("清单", ["超期", "临期", "在办(按环节)"], default="超期", key="tickets_deadline") or "超期"
    if status == "在办(按环节)":
        table(metric("ticket-backlog", period, scope), "ticket-backlog", filters, key="backlog", columns={
            "step_label": "当前环节", "tickets": "单数",
            "median_age_days": "已历时中位数(天)",
            "max_age_days": "最长(天)"})
    else:
        metric_id = "overdue-tickets" if status == "超期" else "near-due-tickets"
        table(metric(metric_id, period, scope), metric_id, filters, key="deadline", columns={
            "ticket_id": "工单编号", "grid_name": "网格", "category_label": "类别", "current_step_label": "当前环节",
            "next_step_label": "待办环节",
            "share_used": "时限已用",
            "due_at": st.column_config.DatetimeColumn("应完成时间", format="YYYY-MM-DD HH:mm"),
            "age_days": "已历时(天)"})


def show_quality() -> None:
    table(metric("data-quality-flags", period, scope), "data-quality-flags", filters, key="quality", columns={
        "record_id": "记录编号", "flag_label": "问题", "reason": "说明", "grid_name": "网格"})
    st.subheader("节假日安排")
    calendar_notice(period, scope)
    table(metric("calendar-coverage", period, scope), "calendar-coverage", filters, key="calendar", columns={
        "year": "年份", "status_label": "录入情况",
        "days_off": "放假日数", "makeup_days": "调休上班日数"})


def show_search() -> None:
    if not may_see_people("ticket-list"):
        return
    search = st.text_input("按编号、标题或网格搜索", placeholder="例如 充电、T2026-0012、第3网格", key="tickets_search")
    found = metric("ticket-list", period, scope, search=search)
    if found.empty:
        nothing("没有符合条件的工单。")
    else:
        columns = {"ticket_id": "编号", "title": st.column_config.TextColumn("标题"), "category_label": "类别",
                   "channel_label": "渠道", "community_name": "社区", "grid_name": "网格", "status": "状态",
                   "filed_at": st.column_config.DatetimeColumn("提单时间", format="YYYY-MM-DD HH:mm"),
                   "published_at": st.column_config.DatetimeColumn("公开时间", format="YYYY-MM-DD HH:mm"),
                   "days": "用时(天)", "department_label": "约请部门"}
        # The list fits a 1,280 px screen; channel, community, publication and department are in the
        # selected ticket's detail and in the downloads.
        listed = {c: columns[c] for c in ("ticket_id", "title", "category_label", "grid_name", "status", "filed_at", "days")}
        shown, config = drawn(found[list(listed)], "ticket-list", listed)
        picked = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                              placeholder="—", key="tickets_found", column_config=config)
        downloads(found, "ticket-list", filters, columns=columns, key="ticket_list")
        rows = picked.selection.rows
        if rows:
            ticket = found.iloc[rows[0]]
            ticket_id = ticket["ticket_id"]
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(f"**{plain(ticket_id)} 的办理过程**", width="stretch")
                names = allowed("names") and st.toggle(
                    "显示办理人完整姓名", key="history_names", help="仅在本明细中显示完整姓名,打开即记入审计日志。",
                    on_change=lambda t=ticket_id: st.session_state["history_names"] and record("names", f"工单办理过程 {t}"))
            missing = ticket.isna()
            published = "尚未公开" if missing["published_at"] else f"{ticket['published_at']:%Y-%m-%d %H:%M} 结果公开"
            department = "无" if missing["department_label"] else ticket["department_label"]
            st.caption(plain(f"{ticket['community_name']} · 渠道:{ticket['channel_label']} · 约请部门:{department} · {published}"))
            history = ticket_history(ticket_id, scope, names=names)
            st.dataframe(history, hide_index=True, width="stretch", placeholder="—", column_config={
                "step": None, "step_label": "环节", "occurred_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
                "actor": "办理人", "note": "说明"})
        else:
            st.caption("点选一行查看该工单的办理过程。")


sections({"流程与瓶颈": show_flow, "办结用时": show_resolution, "评单与约请": show_ratings, "办理时限": show_deadlines,
          "数据质量": show_quality, "工单查询": show_search})
