"""What every page draws the same way: the header, headline figures, sections as tabs, tables
with their definitions and downloads (audited, on the user's behalf), and the notices."""

import datetime as dt

import pandas as pd
import streamlit as st

from analytics import access, audit, export, metrics, workdays
from analytics import columns as table_columns
from analytics.period import Area, Period
from pages._database import data_span
from pages._figures import compute
from pages._filters import Filters
from pages._format import definition, plain
from pages._session import may_see, signed_in, still_enabled


def page_header(title: str, filters: Filters) -> None:
    """The page's title with what it covers beside it, on one line: a 720 px screen keeps its height for figures."""
    first, as_of = data_span()
    progress = "(进行中)" if filters.period.in_progress(as_of) else ""
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
        st.title(title, width="content")
        st.caption(f"{filters.period.label_zh}{progress} · {plain(filters.scope_label)} · 数据截至 {as_of:%Y年%m月%d日}",
                   width="stretch")

def figure(label: str, value, unit: str, metric_id: str, *, delta=None, better_high: bool = True,
           digits: int = 0, container=None, compared_with: str = "上期") -> None:
    """A headline number with its definition as help text; a dash where there is no value. A share
    (unit %) and its change come as fractions; the change is then in percentage points."""
    target, spec, share = container or st, f",.{digits}f", unit == "%"
    shown = table_columns.text(None if value is None or not share else value * 100, spec) if share \
        else table_columns.text(value, spec)
    shown = shown if shown == "—" else (f"{shown}%" if share else f"{shown} {unit}".strip())
    delta_text, tone = None, "same"
    if delta is not None and not pd.isna(delta):
        delta_text = f"{table_columns.change_text(delta, unit, spec)} 较{compared_with}"
        tone = table_columns.change_tone(delta, f",.{digits + 2 if share else digits}f", better_high)
    target.metric(label, shown, delta_text, help=definition(metric_id), border=True,
                  delta_color={"better": "green", "worse": "red", "same": "gray"}[tone],
                  delta_arrow="off" if tone == "same" else "auto")

def headline_figures(figures: pd.DataFrame) -> None:
    """overview.headline's six figures in two rows of three, as the overview and the review show them."""
    for column, row in zip(st.columns(3) + st.columns(3), figures.itertuples()):
        digits = table_columns._digits(table_columns.headline_spec(row.key, row.unit))[0]
        figure(row.label, row.value, row.unit, row.metric_id, delta=row.change, better_high=row.higher_is_better,
               compared_with=row.compared_with, digits=digits, container=column)
    if len(figures) and figures["compared_with"].iat[0] == "上期同期":
        st.caption(f"统计期尚未结束:变化与上期的同一时段({figures['compared_span'].iat[0]})比较。")

def sections(parts: dict, key: str = "view") -> None:
    """A page's sections as tabs kept in the address; only the open one runs, so a rerun pays
    for one section's tables and charts, not all of them. parts maps a tab label to a function."""
    tabs = st.tabs(list(parts), key=key, on_change="rerun", bind="query-params")
    for tab, show in zip(tabs, parts.values()):
        if tab.open:
            with tab:
                show()

def nothing(message: str = "所选范围和统计期内没有数据。") -> None:
    st.info(message, icon=":material/info:")

def may_see_people(metric_id: str) -> bool:
    """Whether this user may see the metric's list of people; if not, says so where the list would be."""
    if may_see(metric_id):
        return True
    st.info("您的角色不查看涉及个人的名单(如需查看,请联系系统管理员调整角色)。", icon=":material/lock:")
    return False

def drawn(frame: pd.DataFrame, metric_id: str | None, config: dict) -> tuple[pd.DataFrame, dict]:
    """The rows as a table draws them: each number column in the dictionary's format, as Streamlit's
    own number format (the same text as the pack and the downloads, no cost per cell, and a column
    still sorts by its numbers), a share in per cent."""
    out = {c: st.column_config.Column(v) if isinstance(v, str) else v for c, v in config.items()}
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]) \
                or (c in out and out[c] is None):  # hidden: in the download only
            continue
        spec = table_columns.column(c, metric_id).format
        pattern = table_columns.printf(spec)
        if pattern is None:
            continue
        if spec.endswith("%"):
            frame = frame.assign(**{c: frame[c] * 100})
        given = out.get(c) or {}
        out[c] = st.column_config.NumberColumn(given.get("label") or table_columns.column(c, metric_id).header,
                                               format=pattern, width=given.get("width"), help=given.get("help"))
    return frame, out

def table(frame: pd.DataFrame, metric_id: str, filters: Filters, *, columns: dict | None = None,
          height: int | str | None = None, key: str | None = None, note: str = "", period: Period | None = None,
          place: str | None = None, select: str | None = None, selected: int | None = None) -> int | None:
    """A table exactly as filtered, with its definition and CSV/XLSX downloads of the same rows.
    columns maps column names to Chinese headers (or column configs; None: in the download only); others
    are hidden. period and place: what the rows cover when the page narrows the filters (a month, one
    community). select: the key of a table whose rows can be clicked, one at a time, first with the
    row at position selected; returns the position of the row chosen, None for none."""
    if frame.empty:
        nothing()
        return None
    shown = frame[list(columns)] if columns else frame
    rows, config = drawn(shown, metric_id, columns or {})
    choice = {} if select is None else {
        "key": select, "on_select": "rerun", "selection_mode": "single-row",
        "selection_default": None if selected is None else {"selection": {"rows": [selected]}}}
    # A dash for a missing value: Streamlit's own placeholder is the English "None".
    state = st.dataframe(rows, hide_index=True, width="stretch", column_config=config, height=height or "auto",
                         placeholder="—", **choice)
    downloads(shown, metric_id, filters, columns=columns, key=key, note=note, period=period, place=place)
    picked = state.selection.rows if select is not None else []
    return picked[0] if picked else None

def _headers(columns: dict | None) -> dict:
    """The headers a table's columns show, for its download (numbers as the dictionary formats them)."""
    return {name: c if isinstance(c, str) else (c or {}).get("label") or "" for name, c in (columns or {}).items()}

def downloads(frame: pd.DataFrame, metric_id: str, filters: Filters, *, columns: dict | None = None,
              key: str | None = None, note: str = "", period: Period | None = None, place: str | None = None) -> None:
    """CSV and XLSX of exactly these rows as the table shows them (headers, rounding, 是/否), with the
    metric's definition beside them; the file named by the metric, the period and the place the rows cover."""
    m = metrics.get(metric_id)
    name = export.file_name(m.name, (period or filters.period).label, place or filters.scope_label)

    def rows() -> pd.DataFrame:
        return table_columns.formatted(frame, _headers(columns), metric_id=metric_id)

    with st.container(horizontal=True, vertical_alignment="center"):
        # Files are made only when a button is clicked: a page of long lists reruns fast.
        st.download_button("CSV", exported(lambda: export.csv_bytes(rows()), f"{name}.csv", len(frame), note),
                           f"{name}.csv", "text/csv",
                           icon=":material/download:", key=f"csv_{key or metric_id}", on_click="ignore",
                           help="下载表中数据(CSV,Excel 可直接打开)")
        st.download_button("Excel", exported(lambda: export.xlsx_bytes({m.name: rows()}), f"{name}.xlsx", len(frame), note),
                           f"{name}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:", key=f"xlsx_{key or metric_id}", on_click="ignore",
                           help="下载表中数据(XLSX)")
        st.caption(definition(metric_id), width="stretch")

def exported(make, file_name: str, rows: int | None = None, note: str = ""):
    """A download's bytes, made on click and recorded in the audit log as the signed-in user's export.
    The click is served outside this session's script run, so the user and the time are taken now, and
    a page left open past the session's end, or by an account disabled since, gets no data."""
    user, drawn = signed_in(), dt.datetime.now()

    def run() -> bytes:
        if access.session_expired(drawn) or not (user.demo or still_enabled(user.name)):
            audit.record("denied", user.name, file_name, "会话已结束或账号已停用", ok=False)
            return "登录已超时或账号已停用,未导出数据。请刷新页面重新登录。".encode("utf-8-sig")
        data = make()
        size = f"{rows:,} 行" if rows is not None else f"{len(data):,} 字节"
        audit.record("export", user.name, file_name, size + (f",{note}" if note else ""))
        return data
    return run

def calendar_notice(period: Period, scope: Area) -> None:
    """Says when a working-day figure reaches a year whose holidays are not in the database."""
    missing = compute(workdays.missing_years, period, scope)
    if missing:
        st.warning(f"{'、'.join(str(y) for y in missing)} 年的节假日安排尚未录入:这些年份的工作日暂按周一至周五计算,"
                   "办理时限可能不准。请在“数据管理”导入国务院公布的当年节假日安排(导入模板“节假日安排”)。",
                   icon=":material/event_busy:")
