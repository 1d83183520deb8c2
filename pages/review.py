from dataclasses import replace
import datetime as dt

import streamlit as st

from analytics import access, awards, charts, clock, db, official, report, review
from analytics.ingest import load
from analytics.period import quarter_of
from pages import _meeting
from pages._format import plain
from pages._database import cursor
from pages._session import allowed, current_user, may_see, record
from pages._figures import compute
from pages._filters import current_filters
from pages._widgets import drawn, exported, headline_figures, may_see_people, nothing, page_header, sections, table

CHART = {"displayModeBar": False}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

filters = current_filters()
# The review is by quarter: a month or a date range reviews the quarter it ends in.
quarter = filters.period if filters.period.kind == "quarter" else quarter_of(filters.period.last_day)
rv = compute(review.quarter_review, quarter, filters.scope, user=current_user())
communities = dict(rv.communities())
# First, so that ?meeting=true in a shared link is read before the layout is chosen.
with st.container(horizontal=True, vertical_alignment="bottom", key="page_top"):
    heading = st.container(width="stretch")
    meeting = st.toggle("会议模式", key="meeting", bind="query-params", width="content",
                        help="全屏大字、逐页放映,适合投影:翻页用 → ← PageDown PageUp 空格 Home End 或翻页笔")


def one_place() -> bool:
    """Whether the figures cover one community or less: a per-community table is then one row of it."""
    return len(communities) == 1


def titled(spec: review.Table) -> str:
    """A table's title for the places shown: "各社区…" names the community (or the grid) when there is one."""
    if one_place() and spec.title.startswith("各社区"):
        return filters.scope_label + spec.title.removeprefix("各社区")
    return spec.title


def placed(spec: review.Table) -> review.Table:
    """A per-community table for one place leaves out the community, which its title names."""
    if not (one_place() and spec.title.startswith("各社区")):
        return spec
    first = next(iter(spec.columns))
    return replace(spec, columns={k: v for k, v in spec.columns.items() if k != first})


def columns(spec: review.Table) -> dict:
    """The table's columns for widgets.table: Chinese headers (numbers formatted by the dictionary)."""
    return {column: st.column_config.CheckboxColumn(header) if column == "red_flag" else header
            for column, header in spec.columns.items()}


def ranking_chart(rows, height=None):
    return charts.bar(rows, "grid_name", "avg_credit", horizontal=True, y_title="人均积分(分)", highlight=rows["red_flag"],
                      text_format=".2f", height=height or max(320, 44 * len(rows)))


def show_table(key: str, spec: review.Table, place: str | None = None) -> None:
    frame, spec = rv.tables[key], placed(spec)
    if frame.empty:
        nothing("本期没有。")
        return
    if "grid_name" in spec.columns and "community_name" in spec.columns:
        frame = review.short_grid_names(frame)
    table(frame, spec.metric_id, filters, columns=columns(spec), key=f"review_{key}", period=quarter, place=place)
    if spec.note:
        st.caption(spec.note)


def folded(key: str, spec: review.Table, unit: str, expanded: bool = False) -> None:
    """A table behind its title and row count: a tab shows what there is, the rows one click away."""
    with st.expander(f"**{plain(titled(spec))}** · {len(rv.tables[key])} {unit}", expanded=expanded):
        show_table(key, spec)


def show_ranking() -> None:
    if not communities:
        nothing("所选范围内没有可排名的网格。")
        return
    if len(communities) > 1:
        chosen = st.selectbox("社区", list(communities), format_func=communities.get, key="review_community")
    else:
        chosen = next(iter(communities))
    ranked = review.short_grid_names(rv.tables["ranked"])
    rows = ranked[ranked["community_id"] == chosen]
    # Every grid of the community without a scroll bar (35 px a row, the header included).
    table(rows, review.RANKED.metric_id, filters, columns=columns(review.RANKED), key="review_ranked", period=quarter,
          place=communities[chosen], height=35 * (len(rows) + 1) + 3)
    st.caption(review.RANKED.note + "红旗网格:" + plain("、".join(rows.loc[rows["red_flag"], "grid_name"])) + "。")
    with st.expander("综合考评各项得分(看一个网格为什么得这个分)"):
        table(rows, review.EVALUATION.metric_id, filters, columns=columns(review.EVALUATION), key="review_evaluation",
              period=quarter, place=communities[chosen])
        st.caption(review.EVALUATION.note)
    with st.expander("人均积分图"):
        st.plotly_chart(ranking_chart(rows), width="stretch", config=CHART)
        st.caption("金色为红旗网格。")


def show_awards() -> None:
    st.caption(f"{rv.status}。")
    folded("red_flags", review.RED_FLAGS, "个", expanded=True)
    if may_see(review.WORKERS.metric_id):
        folded("workers", review.WORKERS, "名")
    else:
        may_see_people(review.WORKERS.metric_id)


def show_decisions() -> None:
    for key, spec, unit in (("flags", review.FLAGS, "条"), ("fallers", review.FALLERS, "个"),
                            ("overdue", review.OVERDUE, "单")):
        folded(key, spec, unit, expanded=key == "flags")
        if key == "flags" and allowed("verify"):
            verify_form()


def verify_form() -> None:
    """已核实: a flag looked at and found in order no longer holds the award (audited)."""
    if done := st.session_state.pop("flag_checked", None):
        st.success(done, icon=":material/check_circle:")
    flags = rv.tables["flags"]
    choices = {(g, f): f"{plain(n)} · {label}" for g, f, n, label, checked in
               zip(flags["grid_id"], flags["flag"], flags["grid_name"], flags["flag_label"], flags["checked"]) if not checked}
    if not choices:
        return
    with st.popover("标为已核实", icon=":material/fact_check:"):
        with st.form("flag_check", border=False):
            chosen = st.selectbox("积分异常提示", list(choices), format_func=choices.get, key="flag_choice")
            reason = st.text_area("核实说明(必填):为什么这条提示不影响评选", key="flag_reason")
            if st.form_submit_button("确认已核实", type="primary", key="confirm_flag_check"):
                try:
                    awards.verify(db.default_db_path(), current_user(), quarter, *chosen, reason)
                except (ValueError, access.Denied, load.Busy) as exc:
                    st.error(plain(exc))
                    return
                st.session_state["flag_checked"] = f"已核实:{choices[chosen]}。该提示不再影响评选。"
                st.rerun()
        st.caption("核实人、时间和说明记入数据库和审计日志;其他类型或以后出现的提示仍须核实。")


def show_work() -> None:
    for key, spec, unit in (("tickets", review.TICKETS, "行"), ("volunteers", review.VOLUNTEERS, "行"),
                            ("redemptions", review.REDEMPTIONS, "类"), ("coverage", review.COVERAGE, "个网格")):
        folded(key, spec, unit, expanded=key == "tickets")


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


def decisions() -> None:
    """What the meeting decides, counted: the first thing the page says."""
    red_flags, flags = rv.tables["red_flags"], rv.tables["flags"]
    counts = [("红旗网格", int(red_flags["red_flag"].sum()), "个", "每个社区人均积分第一的网格,待会议确认"),
              ("须核实的积分异常", int((~flags["checked"]).sum()), "条", review.FLAGS.note),
              ("名次下降3位及以上", len(rv.tables["fallers"]), "个网格", review.FALLERS.note),
              ("超期未办工单", len(rv.tables["overdue"]), "单", "办理时限已过仍未办结的工单")]
    for cell, (label, count, unit, help) in zip(st.columns(len(counts)), counts):
        cell.metric(label, f"{count} {unit}", help=help, border=True)
    if withheld := review.withheld(red_flags):
        st.warning(f"暂缓评定(待核实)的网格 {len(withheld)} 个,由下一名递补:" + plain(";".join(withheld)),
                   icon=":material/pending:")


# -- meeting mode -----------------------------------------------------------------------------

def slide_table(key: str, spec: review.Table, part: slice | None = None, limit: int | None = None) -> None:
    frame, spec = rv.tables[key], placed(spec)
    if frame.empty:
        nothing(f"{plain(filters.scope_label)}本期没有。")
        return
    if "grid_name" in spec.columns and "community_name" in spec.columns:
        frame = review.short_grid_names(frame)
    shown = frame.iloc[part] if part is not None else frame.head(limit)
    _meeting.table(review.shown(shown, spec))
    notes = [spec.note] if spec.note else []
    if limit and len(frame) > limit:
        notes.append(f"另有 {len(frame) - limit} 行,见会议材料。")
    if notes:
        st.caption(" ".join(notes))


def slide_headline() -> None:
    st.markdown(f"**{plain(filters.scope_label)}**")
    headline_figures(rv.headline)


def slide_ranking(community_id: str) -> None:
    ranked = review.short_grid_names(rv.tables["ranked"])
    rows = ranked[ranked["community_id"] == community_id]
    spec = review.Table("r", "", review.RANKED.metric_id,
                        {k: review.RANKED.columns[k] for k in ("rank", "grid_name", "rank_change", "composite")})
    left, right = st.columns([11, 9], gap="medium")
    with left:
        st.html(charts.bars_html(rows["grid_name"], rows["avg_credit"], highlight=rows["red_flag"], size=_meeting.TYPE,
                                 title="人均积分(分)"))
    with right:
        _meeting.table(review.shown(rows, spec), rows["red_flag"])
        st.caption("金色为红旗网格;名次按人均积分。")


CHANGE_COLUMNS = {
    "community_name": "社区", "grid_name": "网格", "official_rank": "公布名次", "live_rank": "今日名次",
    "official_avg": "公布人均积分", "live_avg": "今日人均积分", "avg_change": "变化",
    "official_residents": "公布居民数", "live_residents": "今日居民数"}
LINE_COLUMNS = {
    "event_id": "记录编号", "grid_name": "网格", "change_label": "更正类型",
    "occurred_at": st.column_config.DatetimeColumn("发生时间", format="YYYY-MM-DD HH:mm"),
    "recorded_at": st.column_config.DatetimeColumn("记录时间", format="YYYY-MM-DD HH:mm"),
    "official_points": "公布时积分", "live_points": "今日积分", "reverses_event_id": "冲正记录"}


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
            changed, config = drawn(grids[list(CHANGE_COLUMNS)], None, CHANGE_COLUMNS)
            st.dataframe(changed, column_config=config, hide_index=True, width="stretch", placeholder="—")
            st.markdown(f"**引起变化的积分记录({len(lines)} 条)**:截止后补录、分值更正、删除或居住登记变更")
            behind, config = drawn(lines[list(LINE_COLUMNS)], None, LINE_COLUMNS)
            st.dataframe(behind, column_config=config, hide_index=True, width="stretch",
                         height=min(420, 38 + 35 * len(lines)), placeholder="—")
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
    """The meeting's slides in order: title -> function that draws it. A long table runs over
    several slides; the overdue tickets and coverage gaps show the worst rows."""
    out = {f"{quarter.label_zh}网格治理考评": slide_headline}
    for community_id, name in communities.items():
        ranked = (rv.tables["ranking"]["community_id"] == community_id).sum() > 1
        out[f"{name} · 网格排名" if ranked else f"{filters.scope_label} · 社区内名次"] = lambda c=community_id: slide_ranking(c)
    tables = [("red_flags", review.RED_FLAGS, True)]
    if may_see(review.WORKERS.metric_id):
        tables.append(("workers", review.WORKERS, True))
    tables += [("flags", review.FLAGS, True), ("fallers", review.FALLERS, True), ("overdue", review.OVERDUE, False),
               ("tickets", review.TICKETS, True), ("volunteers", review.VOLUNTEERS, True),
               ("redemptions", review.REDEMPTIONS, True), ("coverage", review.COVERAGE, False)]
    for key, spec, split in tables:
        parts = _meeting.parts(len(rv.tables[key])) if split else [None]
        for i, part in enumerate(parts):
            title = titled(spec) + (f"({i + 1}/{len(parts)})" if len(parts) > 1 else "")
            out[title] = (lambda k=key, s=spec, p=part: slide_table(k, s, p)) if split else \
                (lambda k=key, s=spec: slide_table(k, s, limit=_meeting.ROWS))
    return out


if meeting:
    _meeting.show(slides())
else:
    with heading:
        page_header("季度考评", filters)
    if quarter != filters.period:
        st.info(f"季度考评按季度进行:所选统计期落在{quarter.label_zh},下面按{quarter.label_zh}显示。", icon=":material/info:")
    decisions()
    sections({"网格排名": show_ranking, "红旗网格与优秀网格员": show_awards, "待会议决定": show_decisions,
              "议事、志愿、兑换与覆盖": show_work, "总体情况": lambda: headline_figures(rv.headline),
              "正式公布": show_official, "会议材料": show_pack})
