import streamlit as st

from analytics import access, appeals, charts, clock, db, official, review
from analytics.ingest import Busy
from analytics.period import Area, quarter_of
from pages._format import plain
from pages._session import allowed, may_see, record, signed_in
from pages._figures import compute, metric
from pages._filters import current_filters
from pages._widgets import figure, may_see_people, nothing, page_header, sections, table

filters = current_filters()
period, scope = filters.period, filters.scope
page_header("信用积分", filters)
CHART = {"displayModeBar": False}

summary = metric("credit-summary", period, scope)
ranking = metric("grid-credit-ranking", period, scope)
flags = metric("integrity-flags", period, scope)
cols = st.columns(4)
figure("居民人均信用积分", summary["avg_credit"].iat[0], "分", "credit-summary", digits=2, container=cols[0])
figure("参与排名的网格", len(ranking), "个", "grid-credit-ranking", container=cols[1])
figure("红旗网格", int(ranking["red_flag"].sum()), "个", "red-flag-grids", container=cols[2])
figure("积分异常提示", len(flags), "项", "integrity-flags", container=cols[3])


def ledger_grid() -> str | None:
    """The grid whose ledger is open: clicked in a ranking (here or on 季度考评), or named by the
    address (?ledger=) on the page's first run in the session; None once the filters leave it out."""
    if "credit_ledger" not in st.session_state:
        st.session_state["credit_ledger"] = st.query_params.get("ledger")
    if st.session_state["credit_ledger"] not in set(ranking["grid_id"]):
        st.session_state["credit_ledger"] = None
    return st.session_state["credit_ledger"]


def show_ranking() -> None:
    if ranking.empty:
        nothing("所选范围内没有可排名的网格(没有登记居民)。")
        return
    communities = dict(zip(ranking["community_id"], ranking["community_name"]))
    if grid_id := ledger_grid():  # its community first: the ranking shows the grid
        st.session_state["credit_community"] = ranking.loc[ranking["grid_id"] == grid_id, "community_id"].iat[0]
    # One community (a secretary's): no box offering it alone, as on 季度考评.
    chosen = st.selectbox("社区", list(communities), format_func=communities.get, key="credit_community",
                          on_change=lambda: st.session_state.update(credit_ledger=None)) \
        if len(communities) > 1 else next(iter(communities))
    rows = review.short_grid_names(ranking[ranking["community_id"] == chosen].reset_index(drop=True))
    left, right = st.columns([2, 3], gap="medium")
    # A bar clicked opens its grid as a row clicked does: chart and table are drawn afresh under new
    # keys, the table on that grid (a chart's own selection would grey the other bars).
    rounds = st.session_state.setdefault("credit_round", 0)
    bars = left.plotly_chart(charts.bar(rows, "grid_name", "avg_credit", horizontal=True, y_title="人均积分(分)",
                                        highlight=rows["red_flag"], text_format=".2f", height=max(300, 42 * len(rows))),
                             width="stretch", config=CHART, key=f"credit_bars_{rounds}", on_select="rerun",
                             selection_mode="points")
    if points := bars["selection"]["points"]:
        st.session_state.update(credit_ledger=rows["grid_id"].iat[points[0]["point_index"]], credit_round=rounds + 1)
        st.rerun()
    status = compute(official.status, period, scope)
    left.caption("金色为红旗网格。" + (f"{status};今日重算与公布后更正见“季度考评”。" if status else ""))
    at = rows.index[rows["grid_id"] == grid_id]
    with right:
        # Keyed by the rows: another community or period gets a table of its own, opened on the grid.
        picked = table(rows, "grid-credit-ranking", filters, key="ranking", place=communities[chosen],
                       select=f"credit_pick_{hash(tuple(rows['grid_id']))}_{rounds}", selected=int(at[0]) if len(at) else None,
                       columns={"rank": st.column_config.NumberColumn("名次", width=40), "grid_name": "网格",
                                "award_label": st.column_config.TextColumn("评选结果", width=140),
                                "avg_credit": "人均积分",
                                "rank_change": st.column_config.Column("名次变化", help="正数为上升"),
                                "residents": "居民", "check_reason": None})  # 待核实事项: below, on selection
    grid_id = None if picked is None else rows["grid_id"].iat[picked]
    st.session_state["credit_ledger"] = grid_id
    if grid_id:
        st.query_params["ledger"] = grid_id
    else:
        st.query_params.pop("ledger", None)
        st.caption("点选排名表中的一行或图中的一个网格,查看其" + ("积分明细和" if may_see("grid-ledger") else "") + "待核实事项。")
        return
    row, place = rows.iloc[picked], ranking.loc[ranking["grid_id"] == grid_id, "grid_name"].iat[0]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.subheader(f"{plain(place)}的积分明细", width="stretch")
        names = allowed("names") and may_see("grid-ledger") and st.toggle(
            "显示完整姓名", key="ledger_names", on_change=lambda: st.session_state["ledger_names"] and record(
                "names", f"网格积分明细 {grid_id}", period.label),
            help="仅在本明细中显示完整姓名,打开即记入审计日志;导出的文件同样含完整姓名,请妥善保管。")
    if isinstance(row["check_reason"], str):
        st.warning(f"{row['award_label']}。待核实事项:{plain(row['check_reason'])}", icon=":material/fact_check:")
    if not may_see_people("grid-ledger"):
        return
    table(metric("grid-ledger", period, scope, grid_id=grid_id, names=names), "grid-ledger", filters, key="ledger",
          height=320, note="含完整姓名" if names else "", place=place,
          columns={"occurred_at": st.column_config.DatetimeColumn("发生时间", format="YYYY-MM-DD HH:mm"),
                   "name": "居民", "indicator_name": "指标", "category_label": "类别",
                   "points": "积分",
                   "recorded_by_name": "记录人", "note": "备注"})


def show_awards() -> None:
    st.subheader("优秀网格员")
    if may_see_people("excellent-grid-workers"):
        table(metric("excellent-grid-workers", period, scope), "excellent-grid-workers", filters, key="workers", columns={
            "community_name": "社区", "grid_name": "红旗网格", "worker_name": "网格员",
            "avg_credit": "人均积分",
            "tickets": "结果公开工单", "median_days": "办结用时中位数(天)",
            "mean_score": "评价均分", "award_label": "评选结果", "check_reason": "待核实事项"})

    st.subheader("积分异常提示(评选前核实)")
    table(flags, "integrity-flags", filters, key="flags", columns={
        "community_name": "社区", "grid_name": "网格", "flag_label": "提示", "reason": "说明"})


def show_composition() -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("积分按类别和群体")
        groups = metric("points-by-category-group", period, scope)
        if groups.empty:
            nothing()
        else:
            st.plotly_chart(charts.stacked_bar(groups, "category_label", "group_label", "points", y_title="净积分(分)"),
                            width="stretch", config=CHART)
            table(groups, "points-by-category-group", filters, key="groups", height=240, columns={
                "category_label": "类别", "group_label": "群体", "subjects": "对象数", "events": "记录数",
                "points": "净积分"})
    with right:
        st.subheader("信用等级分布")
        levels = metric("credit-levels", period, scope)
        st.plotly_chart(charts.bar(levels, "level_label", "people", y_title="人数"), width="stretch", config=CHART)
        table(levels, "credit-levels", filters, key="levels", columns={
            "level_label": "等级", "minimum": "最低余额", "people": "人数",
            "share": "占比"})


def show_publication() -> None:
    months = {m.label: m for m in period.months()}
    month = months[st.selectbox("公示月份", list(months), index=len(months) - 1, format_func=lambda v: months[v].label_zh,
                                key="credit_month")]
    marks = compute(appeals.publication_marks, month, scope)
    st.caption(f"{marks['publicity']}。{marks['official']}。")
    tab_pub, tab_list = st.tabs(["一月一公示(姓名已脱敏)", "法人单位红灰榜"])
    with tab_pub:
        if may_see_people("monthly-publication"):
            table(metric("monthly-publication", month, scope), "monthly-publication", filters, key="publication", height=360,
                  period=month, columns={"community_name": "社区", "grid_name": "网格", "name": "姓名", "events": "记录数",
                           "points": "本月积分",
                           "balance": "累计余额", "level_label": "等级"})
    with tab_list:
        table(metric("red-grey-list", month, scope), "red-grey-list", filters, key="redgrey", height=360, period=month,
              columns={
            "list_label": "榜单", "org_name": "单位", "org_type_label": "类型", "community_name": "社区",
            "points": "本月积分", "reason": "依据"})


def show_appeals() -> None:
    months = {m.label: m for m in period.months()}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        month = months[st.selectbox("提出月份", list(months), index=len(months) - 1,
                                    format_func=lambda v: months[v].label_zh, key="appeal_month")]
        grids = dict(zip(ranking["grid_id"], ranking["grid_name"]))
        grid_id = st.selectbox("网格", [None, *grids], format_func=lambda g: "全部网格" if g is None else grids[g],
                               key="appeal_grid")
    where = scope if grid_id is None else Area((grid_id,), grids[grid_id])
    dates = compute(appeals.publicity_dates, month.previous(), scope).iloc[0]
    st.caption(f"{dates['month']}公示的公示期:{zh_date(dates['first'])}至{zh_date(dates['last'])}"
               f"({dates['workdays']}个工作日,按节假日安排计算)。申诉应在所涉公示期内处理完毕。"
               + (f" 注意:{'、'.join(map(str, dates['missing_years']))}年的节假日安排尚未录入,按周一至周五计算。"
                  if dates["missing_years"] else ""))
    counts = metric("appeal-summary", month, where)
    cols = st.columns(4)
    figure("提出", int(counts["raised"].sum()), "件", "appeal-summary", container=cols[0])
    figure("按时处理", int(counts["in_time"].sum()), "件", "appeal-summary", container=cols[1])
    figure("支持", int(counts["upheld"].sum()), "件", "appeal-summary", container=cols[2])
    figure("未处理完毕", int(counts["open_appeals"].sum()), "件", "appeal-summary", container=cols[3])
    if may_see_people("appeals"):
        table(metric("appeals", month, where), "appeals", filters, key="appeals", period=month,
              place=grids.get(grid_id), columns={
                  "appeal_id": "编号", "raised_on": st.column_config.DateColumn("提出日期", format="YYYY-MM-DD"),
                  "grid_name": "网格", "subject": "申诉对象", "raised_by_name": "提出人", "reason": "理由",
                  "status_label": "状态", "due_on": st.column_config.DateColumn("应处理日期", format="YYYY-MM-DD"),
                  "decided_on": st.column_config.DateColumn("处理日期", format="YYYY-MM-DD"),
                  "in_time": st.column_config.CheckboxColumn("按时"), "decision_reason": "处理理由",
                  "correcting_event_id": st.column_config.NumberColumn("更正记录", format="%d")})
    if allowed("appeals"):
        appeal_forms(grids)


def zh_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _written(action, success) -> None:
    """Run a write on the database file; say what happened, or why not, in Chinese."""
    try:
        result = action()
    except (ValueError, access.Denied) as exc:
        st.error(str(exc))
        return
    except Busy as exc:
        st.warning(str(exc))
        return
    st.session_state["appeal_done"] = success(result)
    st.rerun()


def appeal_forms(grids: dict) -> None:
    if done := st.session_state.pop("appeal_done", None):
        st.success(done)
    user, path = signed_in(), db.default_db_path()
    left, right = st.columns(2, gap="large")
    with left.expander("登记异议申诉", icon=":material/edit_note:"):
        with st.form("appeal_new", clear_on_submit=True, border=False):
            on_line = st.radio("申诉对象", ["一条积分记录", "季度网格排名"], horizontal=True) == "一条积分记录"
            event_id = st.number_input("积分记录编号(对积分记录申诉时)", min_value=1, step=1, value=None)
            quarters = [q.label for q in {quarter_of(m.last_day): None for m in period.months()}]
            quarter = st.selectbox("季度(对排名申诉时)", quarters)
            grid = st.selectbox("网格(对排名申诉时)", list(grids), format_func=grids.get)
            raised_by = st.text_input("提出人编号(登记居民)")
            raised_by_name = st.text_input("提出人姓名(非登记居民)")
            raised_on = st.date_input("提出日期", value=clock.today())
            reason = st.text_area("申诉理由")
            if st.form_submit_button("登记", type="primary"):
                target = {"event_id": int(event_id) if event_id else None} if on_line else {"quarter": quarter, "grid_id": grid}
                _written(lambda: appeals.submit(path, user, raised_on=raised_on, reason=reason, raised_by=raised_by,
                                                raised_by_name=raised_by_name, **target),
                         lambda new: f"已登记异议申诉 {new},状态为待处理。")
    open_ = compute(appeals.open_appeal_choices, period, scope)
    with right.expander("处理异议申诉", icon=":material/gavel:"):
        if open_.empty:
            st.caption("所选范围和统计期内没有待处理的异议申诉。")
            return
        with st.form("appeal_decide", border=False):
            choices = dict(zip(open_["appeal_id"], open_["label"]))
            appeal_id = st.selectbox("申诉", list(choices), format_func=choices.get)
            status = st.radio("处理结果", ["rejected", "upheld", "accepted"], horizontal=True,
                              format_func=appeals.STATUSES.get)
            decided_on = st.date_input("处理日期", value=clock.today())
            why = st.text_area("处理理由")
            corrected = st.number_input("更正后的分值(支持时;不填则整条冲正)", value=None, step=1.0)
            line = st.number_input("更正的积分记录编号(对排名的申诉支持时;不填则不改台账)", min_value=1, step=1, value=None)
            if st.form_submit_button("保存处理结果", type="primary"):
                _written(lambda: appeals.decide(path, user, appeal_id, status, decided_on=decided_on,
                                                decision_reason=why, corrected_points=corrected,
                                                event_id=int(line) if line else None),
                         lambda event: f"异议申诉 {appeal_id} 已{appeals.STATUSES[status]}。"
                         + (f"已在台账中写入更正记录 {event}。" if event else ""))
        st.caption("支持时,台账中追加一条冲正(或更正)记录并记下申诉编号,与处理结果一并写入;原记录不改动。操作记入审计日志。")


def show_redemptions() -> None:
    st.caption("信易+:居民以信用积分兑换的服务和优惠。")
    left, right = st.columns(2, gap="large")
    by_category = metric("redemptions-by-category", period, scope)
    with left:
        if not by_category["redemptions"].any():
            nothing("本期没有积分兑换。")
        else:
            st.plotly_chart(charts.bar(by_category.sort_values("redemptions", ascending=False), "category_label",
                                       "redemptions", y_title="兑换人次"), width="stretch", config=CHART)
    with right:
        table(metric("redemptions-by-scenario", period, scope).sort_values("redemptions", ascending=False),
              "redemptions-by-scenario", filters, key="scenarios", height=360, columns={
                  "scenario_name": "场景", "category_label": "类别", "redemptions": "人次", "redeemers": "人数",
                  "points_spent": "消耗积分",
                  "value_yuan": "折合(元)"})


sections({"网格排名": show_ranking, "评选依据": show_awards, "积分构成": show_composition, "公示与红灰榜": show_publication,
          "异议申诉": show_appeals, "积分兑换": show_redemptions})
