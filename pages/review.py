import datetime as dt

import streamlit as st

from analytics import charts, clock, db, official, report, review
from analytics.ingest import load
from analytics.period import quarter_of
from pages._format import plain
from pages._database import cursor
from pages._session import allowed, current_user, may_see, record
from pages._figures import compute
from pages._filters import current_filters
from pages._widgets import exported, headline_figures, may_see_people, nothing, page_header, sections, table

CHART = {"displayModeBar": False}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

filters = current_filters()
# The review is by quarter: a month or a date range reviews the quarter it ends in.
quarter = filters.period if filters.period.kind == "quarter" else quarter_of(filters.period.last_day)
rv = compute(review.quarter_review, quarter, filters.scope, user=current_user())
# First, so that ?meeting=true in a shared link is read before the layout is chosen.
meeting = st.toggle("会议模式(全屏大字,逐页放映)", key="meeting", bind="query-params")


def columns(spec: review.Table) -> dict:
    """The table's columns for widgets.table: Chinese headers, and Streamlit formats for the numbers."""
    printf = {".2f": "%.2f", ".1f": "%.1f", "+d": "%+d", ",d": "localized", ",.1f": "%,.1f", ",.0f": "localized",
              ".1%": "percent", "+.1f": "%+.1f", "+.0f": "%+.0f"}
    out = {}
    for column, header in spec.columns.items():
        if column == "red_flag":
            out[column] = st.column_config.CheckboxColumn(header)
        elif column in spec.formats:
            out[column] = st.column_config.NumberColumn(header, format=printf.get(spec.formats[column], "localized"))
        else:
            out[column] = header
    return out


def ranking_chart(rows, height=None):
    return charts.bar(rows, "grid_name", "avg_credit", horizontal=True, y_title="人均积分(分)", highlight=rows["red_flag"],
                      text_format=".2f", height=height or max(320, 44 * len(rows)))


def show_table(key: str, spec: review.Table, limit: int | None = None) -> None:
    frame = rv.tables[key]
    if frame.empty:
        nothing("本期没有。")
        return
    if meeting:
        # Static and large for the projector; the full list is in the meeting pack.
        st.table(review.shown(frame.head(limit), spec).set_index(list(spec.columns.values())[0]))
        if limit and len(frame) > limit:
            st.caption(f"另有 {len(frame) - limit} 行,见会议材料。")
    else:
        table(frame, spec.metric_id, filters, columns=columns(spec), key=f"review_{key}", period=quarter)
    if spec.note:
        st.caption(spec.note)


def community_ranking(community_id: str, name: str) -> None:
    ranking = rv.tables["ranking"]
    rows = ranking[ranking["community_id"] == community_id]
    spec = review.Table("r", "", review.RANKING.metric_id,
                        {k: v for k, v in review.RANKING.columns.items() if k != "community_name"}, review.RANKING.formats)
    left, right = st.columns(2 if meeting else [2, 3], gap="large")
    with left:
        st.plotly_chart(ranking_chart(rows, 560 if meeting else None), width="stretch", config=CHART)
        st.caption("金色为红旗网格。")
    with right:
        if meeting:
            st.table(review.shown(rows, spec).set_index("名次"))
        else:
            table(rows, spec.metric_id, filters, columns=columns(spec), key="review_community", period=quarter,
                  place=name)
        st.caption(f"{review.RANKING.note}{rv.status}。")


def headline() -> None:
    headline_figures(rv.headline)


def show_ranking() -> None:
    communities = dict(rv.communities())
    if not communities:
        nothing("所选范围内没有可排名的网格。")
        return
    chosen = st.selectbox("社区", list(communities), format_func=communities.get, key="review_community")
    community_ranking(chosen, communities[chosen])


def show_awards() -> None:
    st.caption(f"{rv.status}。")
    st.subheader(review.RED_FLAGS.title)
    show_table("red_flags", review.RED_FLAGS)
    st.subheader(review.WORKERS.title)
    if may_see_people(review.WORKERS.metric_id):
        show_table("workers", review.WORKERS)


def show_decisions() -> None:
    for key, spec in (("flags", review.FLAGS), ("fallers", review.FALLERS), ("overdue", review.OVERDUE)):
        st.subheader(spec.title)
        show_table(key, spec)


def show_work() -> None:
    for key, spec in (("tickets", review.TICKETS), ("volunteers", review.VOLUNTEERS), ("redemptions", review.REDEMPTIONS),
                      ("coverage", review.COVERAGE)):
        st.subheader(spec.title)
        show_table(key, spec)


def show_pack() -> None:
    people = "个人姓名已脱敏" if may_see(review.WORKERS.metric_id) else "不含个人名单"
    st.markdown(f"**{quarter.label_zh}会议材料**(范围:{plain(filters.scope_label)};与本页数字出自同一组函数;{people})")
    stem = f"季度考评_{quarter.label}_{filters.scope_label}"
    with st.container(horizontal=True):
        # Each file is made when its button is clicked (a few seconds: the charts are rendered).
        for fmt, mime, label in (("pptx", PPTX, "演示文稿 PPTX"), ("pdf", "application/pdf", "PDF"), ("xlsx", XLSX, "表格 XLSX")):
            st.download_button(label, exported(lambda fmt=fmt: report.pack_bytes(cursor(), rv, fmt), f"{stem}.{fmt}"),
                               f"{stem}.{fmt}", mime,
                               icon=":material/download:", key=f"pack_{fmt}", on_click="ignore")
    if not may_see(review.PUBLICATION.metric_id):
        return
    st.markdown("**一月一公示与红灰榜**(逐月张贴)")
    for month in quarter.months():
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(month.label_zh)
            for suffix, mime in (("xlsx", XLSX), ("pdf", "application/pdf")):
                name = f"信用积分公示_{month.label}_{filters.scope_label}.{suffix}"
                st.download_button(suffix.upper(), exported(lambda month=month, suffix=suffix, user=current_user():
                    report.publication_bytes(cursor(), month, suffix, filters.scope, user), name),
                    name, mime, icon=":material/download:",
                    key=f"pub_{month.label}_{suffix}", on_click="ignore")


CHANGE_COLUMNS = {
    "community_name": "社区", "grid_name": "网格", "official_rank": "公布名次", "live_rank": "今日名次",
    "official_avg": st.column_config.NumberColumn("公布人均积分", format="%.2f"),
    "live_avg": st.column_config.NumberColumn("今日人均积分", format="%.2f"),
    "avg_change": st.column_config.NumberColumn("变化", format="%+.2f"),
    "official_residents": "公布居民数", "live_residents": "今日居民数"}
LINE_COLUMNS = {
    "event_id": "记录编号", "grid_name": "网格", "change_label": "更正类型",
    "occurred_at": st.column_config.DatetimeColumn("发生时间", format="YYYY-MM-DD HH:mm"),
    "recorded_at": st.column_config.DatetimeColumn("记录时间", format="YYYY-MM-DD HH:mm"),
    "official_points": st.column_config.NumberColumn("公布时积分", format="%+.1f"),
    "live_points": st.column_config.NumberColumn("今日积分", format="%+.1f"), "reverses_event_id": "冲正记录"}


def show_official() -> None:
    """正式公布: the frozen result, today's recomputation beside it (公布后更正), and the freeze action."""
    frozen = rv.official
    if frozen:
        st.success(f"{frozen.label}:{plain(frozen.detail)}", icon=":material/verified:")
    else:
        st.info(f"{quarter.label_zh}的排名尚未冻结,本页为实时计算结果。公布时请冻结,此后各页面、会议材料和公示均显示正式结果。",
                icon=":material/info:")
    if frozen and st.toggle("并列显示今日重算(公布后更正)", key="official_live"):
        grids, lines = compute(official.corrections, quarter, filters.scope)
        if grids.empty and lines.empty:
            st.markdown("今日重算与正式公布结果一致,没有公布后更正。")
        else:
            st.markdown(f"**公布后更正:名次、人均积分或居民数有变化的网格({len(grids)} 个)**")
            st.dataframe(grids, column_order=list(CHANGE_COLUMNS), column_config=CHANGE_COLUMNS, hide_index=True,
                         width="stretch", placeholder="—")
            st.markdown(f"**引起变化的积分记录({len(lines)} 条)**:截止后补录、分值更正、删除或居住登记变更")
            st.dataframe(lines, column_order=list(LINE_COLUMNS), column_config=LINE_COLUMNS, hide_index=True,
                         width="stretch", height=min(420, 38 + 35 * len(lines)), placeholder="—")
    if allowed("freeze"):
        freeze_form(frozen)


def freeze_form(frozen) -> None:
    with st.popover("重新冻结" if frozen else "冻结并正式公布", icon=":material/lock:"):
        st.markdown(f"按截止时间之前记录的积分和{quarter.last_day:%Y年%m月%d日}的居住登记,冻结{quarter.label_zh}的网格排名、"
                    "红旗网格和优秀网格员。" + ("原版本保留,须说明重新冻结的理由。" if frozen else ""))
        now = clock.now()
        day = st.date_input("积分记录截止日期", value=now.date(), key="freeze_day")
        time = st.time_input("截止时间", value=now.time().replace(second=0, microsecond=0), key="freeze_time")
        reason = st.text_input("重新冻结理由(必填)", key="freeze_reason") if frozen else None
        if st.button("确认冻结", type="primary", key="confirm_freeze"):
            target = f"季度考评 {quarter.label}"
            try:
                done = official.freeze(db.default_db_path(), quarter, cutoff=dt.datetime.combine(day, time),
                                       reason=reason, user=current_user().name)
            except (ValueError, load.Busy) as exc:
                record("freeze", target, str(exc), ok=False)
                st.error(plain(exc))
                return
            record("freeze", target, done.detail)
            st.success(f"已冻结:{done.label}", icon=":material/check_circle:")
            st.rerun()


def slides() -> dict:
    """The meeting's slides in order: title -> function that draws it."""
    out = {"总体情况": headline}
    for community_id, name in rv.communities():
        out[f"{name} · 网格排名"] = lambda c=community_id, n=name: community_ranking(c, n)
    out[review.RED_FLAGS.title] = lambda: show_table("red_flags", review.RED_FLAGS, 12)
    if may_see(review.WORKERS.metric_id):
        out[review.WORKERS.title] = lambda: show_table("workers", review.WORKERS, 12)
    out[review.TICKETS.title] = lambda: show_table("tickets", review.TICKETS, 15)
    out[review.VOLUNTEERS.title] = lambda: show_table("volunteers", review.VOLUNTEERS, 15)
    out[review.REDEMPTIONS.title] = lambda: show_table("redemptions", review.REDEMPTIONS, 12)
    out[review.COVERAGE.title] = lambda: show_table("coverage", review.COVERAGE, 12)
    out[review.FLAGS.title] = lambda: show_table("flags", review.FLAGS, 10)
    out[review.FALLERS.title] = lambda: show_table("fallers", review.FALLERS, 10)
    out[review.OVERDUE.title] = lambda: show_table("overdue", review.OVERDUE, 10)
    return out


def step(titles: list[str], by: int) -> None:
    here = titles.index(st.session_state.get("slide", titles[0])) if st.session_state.get("slide") in titles else 0
    st.session_state["slide"] = titles[max(0, min(len(titles) - 1, here + by))]


if meeting:
    # Large type, no sidebar: the page is shown on a projector.
    st.html("""<style>
        [data-testid=stSidebar], [data-testid=stSidebarCollapsedControl] {display: none;}
        [data-testid=stMain] p, [data-testid=stMain] li {font-size: 1.5rem;}
        [data-testid=stTable] th, [data-testid=stTable] td {font-size: 1.45rem; padding: 0.45rem 0.8rem;}
        [data-testid=stMetricValue], [data-testid=stMetricValue] * {font-size: 3.6rem !important; line-height: 1.2;}
        [data-testid=stMetricLabel] p {font-size: 1.5rem;}
    </style>""")
    deck = slides()
    titles = list(deck)
    top = st.columns([6, 1, 1], vertical_alignment="center")
    top[0].markdown(f"### {quarter.label_zh}网格治理考评 · {plain(filters.scope_label)}")
    top[1].button("上一页", icon=":material/chevron_left:", on_click=step, args=(titles, -1), width="stretch")
    top[2].button("下一页", icon=":material/chevron_right:", on_click=step, args=(titles, 1), width="stretch")
    current = st.selectbox("页", titles, key="slide", label_visibility="collapsed",
                           format_func=lambda t: f"{titles.index(t) + 1}/{len(titles)} · {t}")
    st.title(plain(current))
    deck[current]()
else:
    page_header("季度考评", filters)
    if quarter != filters.period:
        st.info(f"季度考评按季度进行:所选统计期落在{quarter.label_zh},下面按{quarter.label_zh}显示。", icon=":material/info:")
    headline()
    sections({"网格排名": show_ranking, "红旗网格与优秀网格员": show_awards, "待会议决定": show_decisions,
              "议事、志愿、兑换与覆盖": show_work, "正式公布": show_official, "会议材料": show_pack})
