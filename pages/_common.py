"""The one module that touches Streamlit's caches and session state: the database connection,
cached metric results, the global filter bar, and the few widgets every page shares."""

import datetime as dt
import fcntl
import importlib
import os
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pandas as pd
import streamlit as st

from analytics import access, audit, db, demo, export, metrics, profile, recovery, tickets, workdays
from analytics import columns as table_columns
from analytics.ingest import load
from analytics.period import Period, Scope, month, parse_period, quarter_of

TTL = 600


class _DemoBuild:
    """Builds the demo county in a thread of its own, so a closed browser tab cannot abort it."""

    def __init__(self, path: Path):
        self.path = path
        self.fraction, self.label, self.error = 0.0, "准备中", None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            # Another process (a second server, the command line) may be building the same file.
            with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not self.path.exists():
                    demo.build_demo_file(self.path, progress=self._report)
        except Exception as exc:  # shown to every waiting session
            self.error = exc

    def _report(self, fraction: float, label: str) -> None:
        self.fraction, self.label = fraction, label


@st.cache_resource(show_spinner=False)
def _demo_build(path: str) -> _DemoBuild:
    return _DemoBuild(Path(path))


def ensure_database(path: Path) -> None:
    """On first start, build the demo county and show its progress; then rerun the page."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    build = _demo_build(str(path))
    with st.status("首次启动:正在生成桓台县演示数据,约需半分钟……", expanded=True):
        bar = st.progress(0.0)
        while build.thread.is_alive():
            bar.progress(build.fraction, text=build.label)
            time.sleep(0.3)
    if build.error is not None:
        _demo_build.clear()
        st.error(f"演示数据生成失败:{build.error}")
        st.stop()
    st.rerun()


@st.cache_data(ttl=TTL, show_spinner=False)
def _damage(path: str, mtime: float) -> str | None:
    load.sweep(Path(path))  # what killed imports left, once per file version
    return recovery.problem(path)


def database_problem() -> str | None:
    """What is wrong with the database file, in Chinese with what to do; None when it reads (or is
    still to be built)."""
    path = db.default_db_path()
    if not path.exists():
        return None
    why = _damage(*_db_key())
    return recovery.advice(path, why) if why else None


@st.cache_resource(show_spinner=False, max_entries=2)
def _connection(path: str, mtime: float) -> duckdb.DuckDBPyConnection:
    # Keyed on the file's modification time: an import replaces the file, and the next run opens the new one.
    return db.attach_read_only(path)


def _db_key() -> tuple[str, float]:
    path = db.default_db_path()
    return str(path), path.stat().st_mtime


def cursor() -> duckdb.DuckDBPyConnection:
    return db.cursor(_connection(*_db_key()))  # never a query on the shared connection itself


@st.cache_data(ttl=TTL, show_spinner=False)
def _span(key) -> tuple[dt.date, dt.date]:
    return profile.data_span(cursor())


def data_span() -> tuple[dt.date, dt.date]:
    """(first day with data, the data's as-of date)."""
    return _span(_db_key())


# -- who is looking ------------------------------------------------------------------------

def current_user() -> access.User | None:
    return st.session_state.get("user")


def signed_in() -> access.User:
    """The signed-in user; no figure is computed for nobody (fail closed, whatever a page does)."""
    user = current_user()
    if user is None:
        raise PermissionError("请先登录")
    return user


def allowed(permission: str) -> bool:
    user = current_user()
    return user is not None and user.can(permission)


def may_see(metric_id: str) -> bool:
    """Whether the signed-in user may receive the metric's rows (access.METRIC_PERMISSIONS)."""
    user = current_user()
    return user is not None and access.may_see(user, metric_id)


def may_see_people(metric_id: str) -> bool:
    """Whether this user may see the metric's list of people; if not, says so where the list would be."""
    if may_see(metric_id):
        return True
    st.info("您的角色不查看涉及个人的名单(如需查看,请联系系统管理员调整角色)。", icon=":material/lock:")
    return False


@st.cache_data(ttl=TTL, show_spinner=False)
def _effective(key, user: access.User | None, scope: Scope) -> Scope:
    return access.effective_scope(user, scope, cursor())


def scoped(scope: Scope) -> Scope:
    """The scope narrowed to what the signed-in user may see (access.effective_scope, cached)."""
    return _effective(_db_key(), signed_in(), scope)


@st.cache_data(ttl=TTL, show_spinner=False)
def _is_demo(key) -> bool:
    con = cursor()
    return db.get_meta(con, "source") == "demo" and not db.get_meta(con, "last_import")


def is_demo() -> bool:
    """The generated demo county (no import yet): the login page then offers one-click demo accounts."""
    return _is_demo(_db_key())


def demo_accounts_open() -> bool:
    """One-click demo accounts: on the demo county, before any real user exists, unless switched off."""
    return (db.default_db_path().exists() and is_demo() and not access.UserStore().all()
            and os.environ.get("GRIDGOV_DEMO_ACCOUNTS", "1").strip() not in ("0", "false", "no"))


def demo_accounts() -> list[access.User]:
    return access.demo_users(cursor())


@st.cache_resource(show_spinner=False)
def _announce_first_run(users_path: str) -> None:
    print(access.first_run_hint(Path(users_path)), flush=True)


def announce_first_run() -> None:
    """While there is no user, say on the console of whoever started the server how to create one (once)."""
    store = access.UserStore()
    if not store.all():
        _announce_first_run(str(store.path))


def sign_in(user: access.User, how: str) -> None:
    st.session_state["user"] = replace(user, password_hash="")  # a session holds no hash
    st.session_state["last_seen"] = dt.datetime.now()
    audit.record("login", user.name, detail=how)
    st.rerun()


def sign_out(action: str = "logout", notice: str | None = None) -> None:
    user = st.session_state.pop("user", None)
    if user is not None:
        audit.record(action, user.name)
    if notice:
        st.session_state["login_notice"] = notice
    if access.auth_mode() == "oidc" and st.user.is_logged_in:
        st.logout()  # else the provider's cookie would sign the person straight back in


def record(action: str, target: str = "", detail: str = "", ok: bool = True) -> None:
    user = current_user()
    audit.record(action, user.name if user else None, target, detail, ok)


# -- analytics, cached ----------------------------------------------------------------------

@st.cache_data(ttl=TTL, show_spinner=False)
def _compute(key, function_name: str, period_label: str, scope: Scope, kwargs: tuple) -> pd.DataFrame:
    module, _, name = function_name.rpartition(".")
    function = getattr(importlib.import_module(module), name)
    return function(cursor(), parse_period(period_label), scope, **dict(kwargs))


def compute(function, period: Period, scope: Scope, **kwargs) -> pd.DataFrame:
    """Call an analytics function (con, period, scope, **kwargs) within the user's scope, cached for TTL seconds."""
    return _compute(_db_key(), f"{function.__module__}.{function.__qualname__}", period.label, scoped(scope),
                    tuple(sorted(kwargs.items())))


def metric(metric_id: str, period: Period, scope: Scope, grid_id: str | None = None, names: bool = False,
           **options) -> pd.DataFrame:
    """A registered metric on the user's behalf, cached; the same function the command line and exports run.
    options go to the metric's function (the ticket list's search)."""
    m = metrics.get(metric_id)
    access.require_metric(signed_in(), metric_id)
    if m.personal or m.needs_grid:
        return _user_metric(_db_key(), metric_id, period.label, scope, grid_id, signed_in(), names,
                            tuple(sorted(options.items())))
    return access.visible(signed_in(), compute(m.function, period, scope, **m.kwargs, **options))


@st.cache_data(ttl=TTL, show_spinner=False)
def _user_metric(key, metric_id: str, period_label: str, scope: Scope, grid_id: str | None,
                 user: access.User | None, names: bool, options: tuple) -> pd.DataFrame:
    return metrics.get(metric_id).compute(cursor(), parse_period(period_label), scope, grid_id=grid_id, user=user,
                                          names=names, **dict(options))


@st.cache_data(ttl=TTL, show_spinner=False)
def _ticket_history(key, ticket_id: str, scope: Scope, names: bool) -> pd.DataFrame:
    return tickets.ticket_history(cursor(), ticket_id, scope, names=names)


def ticket_history(ticket_id: str, scope: Scope, names: bool = False) -> pd.DataFrame:
    access.require_metric(signed_in(), "ticket-list")  # the drill-down of a ticket in the list
    if names:
        access.require(signed_in(), "names")
    return _ticket_history(_db_key(), ticket_id, scoped(scope), names)


def plain(text) -> str:
    """Text from the data or a user, shown literally inside Markdown (no links, no emphasis, no HTML)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$])", r"\\\1", str(text))


def definition(metric_id: str) -> str:
    m = metrics.get(metric_id)
    return f"**{m.name}**:{m.definition}(单位:{m.unit})"


# -- the global filter bar ----------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    period: Period
    scope: Scope
    scope_label: str


@st.cache_data(ttl=TTL, show_spinner=False)
def _hierarchy(key) -> pd.DataFrame:
    return profile.hierarchy(cursor())


@st.cache_data(ttl=TTL, show_spinner=False)
def _grid_ids(key, scope: Scope) -> list[str] | None:
    return scope.grid_ids(cursor())


def hierarchy() -> pd.DataFrame:
    """Subdistricts, communities and grids the user may see (the filter bar offers no other)."""
    tree = _hierarchy(_db_key())
    user = current_user()
    if user is None or user.scope.is_county:
        return tree
    return tree[tree["grid_id"].isin(_grid_ids(_db_key(), user.scope))].reset_index(drop=True)


_ALL = "全部"
_KIND_LABELS = {"quarter": "季度", "month": "月份", "range": "日期范围"}


def _quarters(first: dt.date, last: dt.date) -> list[Period]:
    out, q = [], quarter_of(last)
    while q.end > first:
        out.append(q)
        q = q.previous()
    return out


def _months(first: dt.date, last: dt.date) -> list[Period]:
    out, m = [], month(last.year, last.month)
    while m.end > first:
        out.append(m)
        m = m.previous()
    return out


def _from_url() -> None:
    """On a session's first run, take the filters from the address (a shared bookmark)."""
    if st.session_state.get("_filters_loaded"):
        return
    st.session_state["_filters_loaded"] = True
    params = st.query_params
    try:
        period = parse_period(params["period"]) if "period" in params else None
    except ValueError:
        period = None
    if period is not None:
        st.session_state["f_kind"] = _KIND_LABELS[period.kind]
        if period.kind == "quarter":
            st.session_state["f_quarter"] = period.label
        elif period.kind == "month":
            st.session_state["f_month"] = period.label
        else:
            st.session_state["f_range"] = (period.start, period.last_day)
    tree = hierarchy()
    for key, column in (("sub", "subdistrict_id"), ("comm", "community_id"), ("grid", "grid_id")):
        if key in params and params[key] in set(tree[column]):
            st.session_state[f"f_{key}"] = params[key]


def filter_bar() -> Filters:
    """The period and place filters, in the sidebar of every page; kept in the address."""
    _from_url()
    first, as_of = data_span()
    quarters, months = _quarters(first, as_of), _months(first, as_of)
    # The quarter under way is incomplete: the last complete one is the default for a review.
    default_quarter = quarters[1].label if len(quarters) > 1 and as_of < quarters[0].last_day else quarters[0].label
    with st.sidebar:
        st.markdown("#### 筛选")
        kind = st.segmented_control("统计期", list(_KIND_LABELS.values()), key="f_kind", default="季度") or "季度"
        if kind == "季度":
            labels = [q.label for q in quarters]
            st.session_state.setdefault("f_quarter", default_quarter)
            chosen = st.selectbox("季度", labels, key="f_quarter",
                                  format_func=lambda v: parse_period(v).label_zh
                                  + ("(进行中)" if parse_period(v).in_progress(as_of) else ""))
            period = parse_period(chosen)
        elif kind == "月份":
            labels = [m.label for m in months]
            st.session_state.setdefault("f_month", labels[1] if len(labels) > 1 else labels[0])
            period = parse_period(st.selectbox("月份", labels, key="f_month",
                                               format_func=lambda v: parse_period(v).label_zh
                                               + ("(进行中)" if parse_period(v).in_progress(as_of) else "")))
        else:
            default = quarter_of(as_of)
            st.session_state.setdefault("f_range", (default.start, as_of))
            picked = st.date_input("日期范围", key="f_range", min_value=first, max_value=as_of, format="YYYY-MM-DD")
            start, end = (picked if isinstance(picked, tuple) and len(picked) == 2 else (picked[0], picked[0])
                          if isinstance(picked, tuple) and picked else (default.start, as_of))
            period = Period("range", start, end + dt.timedelta(days=1))
        tree = hierarchy()
        # A role held to a subdistrict, community or grid has that level fixed, with no "全部" above it.
        level = current_user().role_info.level if current_user() else "county"
        held = {"county": 0, "subdistrict": 1, "community": 2, "grid": 3}[level]
        subs = dict(zip(tree["subdistrict_id"], tree["subdistrict"]))
        sub = _place_box("街道", "f_sub", subs, held >= 1)
        in_sub = tree if sub == _ALL else tree[tree["subdistrict_id"] == sub]
        comms = dict(zip(in_sub["community_id"], in_sub["community"]))
        comm = _place_box("社区", "f_comm", comms, held >= 2)
        in_comm = in_sub if comm == _ALL else in_sub[in_sub["community_id"] == comm]
        grids = dict(zip(in_comm["grid_id"], in_comm["grid"]))
        grid = _place_box("网格", "f_grid", grids, held >= 3, disabled=comm == _ALL)
    if grid != _ALL and comm != _ALL:
        scope, label = Scope(grids=(grid,)), grids[grid]
    elif comm != _ALL:
        scope, label = Scope(communities=(comm,)), comms[comm]
    elif sub != _ALL:
        scope, label = Scope(subdistricts=(sub,)), subs[sub]
    else:
        scope, label = Scope(), "全县(" + "、".join(subs.values()) + ")"
    # Only the filters' own keys: a page keeps its open section in the address too.
    for key, value in (("period", period.label), ("sub", sub), ("comm", comm),
                       ("grid", grid if comm != _ALL else _ALL)):
        if value == _ALL:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
    return Filters(period, scoped(scope), label)


def _place_box(label: str, key: str, options: dict, held: bool, disabled: bool = False) -> str:
    """One level of the place filter; a level the user's role is held to offers only its own place."""
    values = list(options) if held else [_ALL, *options]
    if st.session_state.get(key) not in (None, *values):
        st.session_state[key] = values[0]
    return st.selectbox(label, values, key=key, format_func=lambda v: options.get(v, v),
                        disabled=disabled or (held and len(values) == 1))


def current_filters() -> Filters | None:
    """The filters the frame set for this run (None for a role without figures). A page opened
    before the frame has ever run in this server (Streamlit then treats pages/ as a plain
    multipage folder and runs the page on its own) goes through the frame and comes back, with
    the same address."""
    if "filters" not in st.session_state or current_user() is None:
        remember_requested_page()
        st.switch_page("app.py", query_params=st.query_params.to_dict())
    return st.session_state["filters"]


def remember_requested_page() -> None:
    """The page in the address, to open once the frame has run and the user has signed in."""
    st.session_state.setdefault("_return_to", urlparse(st.context.url or "").path.rstrip("/").rpartition("/")[2])


def still_signed_in() -> access.User | None:
    """The signed-in user, unless the session has timed out or the account was disabled or removed
    since; then the user is signed out and the login page says why."""
    user = current_user()
    if user is None:
        return None
    if access.session_expired(st.session_state.get("last_seen")):
        sign_out("timeout", f"超过 {access.session_minutes()} 分钟未操作,已自动退出,请重新登录。")
        return None
    if user.demo and not demo_accounts_open():
        sign_out("logout", "演示账号已停用(已导入本县数据或已创建正式用户),请用正式账号登录。")
        return None
    if not user.demo:
        stored = access.UserStore().get(user.name)
        if stored is None or stored.disabled:
            sign_out("logout", "账号已被停用或删除,请联系系统管理员。")
            return None
        # A changed role or place applies at once.
        st.session_state["user"] = user = replace(stored, password_hash="")
    st.session_state["last_seen"] = dt.datetime.now()
    return user


def user_box(user: access.User) -> None:
    with st.sidebar:
        if user.can("figures"):
            st.divider()  # below the filter bar
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f":material/person: {plain(user.label)}" + (" · 演示账号" if user.demo else ""), width="stretch")
            if st.button("退出", icon=":material/logout:", key="sign_out"):
                sign_out()
                st.rerun()


def return_to_requested_page(pages) -> None:
    """The second half of current_filters(): once the frame has run, open the page first asked for."""
    wanted = st.session_state.pop("_return_to", None)
    for page in pages:
        if wanted and page.url_path == wanted:
            st.switch_page(page, query_params=st.query_params.to_dict())


def page_header(title: str, filters: Filters) -> None:
    first, as_of = data_span()
    st.title(title)
    progress = "(进行中)" if filters.period.in_progress(as_of) else ""
    st.caption(f"{filters.period.label_zh}{progress} · {plain(filters.scope_label)} · 数据截至 {as_of:%Y年%m月%d日}")


# -- shared widgets -----------------------------------------------------------------------

def figure(label: str, value, unit: str, metric_id: str, *, delta=None, better_high: bool = True,
           digits: int = 0, container=None, compared_with: str = "上期") -> None:
    """A headline number with its definition as help text; a dash where there is no value."""
    target = container or st
    gap = "" if unit == "%" else " "
    shown = "—" if value is None or pd.isna(value) else f"{value:,.{digits}f}{gap}{unit}".strip()
    delta_text = None
    if delta is not None and not pd.isna(delta):
        # A change of a share is in percentage points, not per cent of itself.
        delta_text = f"{delta:+,.{digits}f}{' 个百分点' if unit == '%' else gap + unit}".strip() + f" 较{compared_with}"
    target.metric(label, shown, delta_text, delta_color="normal" if better_high else "inverse",
                  help=definition(metric_id), border=True)


def headline_figures(figures: pd.DataFrame) -> None:
    """overview.headline's six figures in two rows of three, as the overview and the review show them."""
    for column, row in zip(st.columns(3) + st.columns(3), figures.itertuples()):
        share = row.unit == "%"
        figure(row.label, row.value * 100 if share and row.value is not None else row.value, row.unit, row.metric_id,
               delta=row.change * 100 if share and row.change is not None else row.change,
               better_high=row.higher_is_better, compared_with=row.compared_with,
               digits=2 if row.key in ("avg_credit", "median_days") else (1 if share else 0), container=column)
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


def _percent(frame: pd.DataFrame, config: dict):
    """Every share drawn with one decimal (Streamlit's "percent" drops trailing zeros: 7.74%, 4%).
    A Styler changes only what is drawn: the column still sorts by its numbers."""
    shares = [c for c, v in config.items() if isinstance(v, dict) and v.get("type_config", {}).get("format") == "percent"
              and c in frame.columns and frame[c].notna().any()]
    return frame.style.format("{:.1%}", subset=shares, na_rep="—") if shares else frame


def table(frame: pd.DataFrame, metric_id: str, filters: Filters, *, columns: dict | None = None,
          height: int | None = None, key: str | None = None, note: str = "", period: Period | None = None,
          place: str | None = None) -> None:
    """A table exactly as filtered, with its definition and CSV/XLSX downloads of the same rows.
    columns maps column names to Chinese headers (or column configs); others are hidden.
    period and place: what the rows cover when the page narrows the filters (a month, one community)."""
    if frame.empty:
        nothing()
        return
    shown = frame[list(columns)] if columns else frame
    config = {c: (v if not isinstance(v, str) else st.column_config.Column(v)) for c, v in (columns or {}).items()}
    # A dash for a missing value: Streamlit's own placeholder is the English "None".
    st.dataframe(_percent(shown, config), hide_index=True, width="stretch", column_config=config,
                 height=height or "auto", placeholder="—")
    downloads(shown, metric_id, filters, columns=columns, key=key, note=note, period=period, place=place)


def _as_shown(columns: dict | None) -> tuple[dict, dict]:
    """The headers and number formats (Python format specs) a table's column configs show, for its download."""
    headers, formats = {}, {}
    for name, config in (columns or {}).items():
        if isinstance(config, str):
            headers[name] = config
            continue
        headers[name] = config.get("label") or ""
        shown = (config.get("type_config") or {}).get("format") or ""
        if shown == "percent":
            formats[name] = ".1%"  # as _percent draws it
        elif shown.startswith("%"):
            formats[name] = shown[1:]
    return headers, formats


def downloads(frame: pd.DataFrame, metric_id: str, filters: Filters, *, columns: dict | None = None,
              key: str | None = None, note: str = "", period: Period | None = None, place: str | None = None) -> None:
    """CSV and XLSX of exactly these rows as the table shows them (headers, rounding, 是/否), with the
    metric's definition beside them; the file named by the metric, the period and the place the rows cover."""
    m = metrics.get(metric_id)
    name = export.file_name(m.name, (period or filters.period).label, place or filters.scope_label)

    def rows() -> pd.DataFrame:
        return table_columns.formatted(frame, *_as_shown(columns), metric_id=metric_id)

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
        if access.session_expired(drawn) or not (user.demo or _still_enabled(user.name)):
            audit.record("denied", user.name, file_name, "会话已结束或账号已停用", ok=False)
            return "登录已超时或账号已停用,未导出数据。请刷新页面重新登录。".encode("utf-8-sig")
        data = make()
        size = f"{rows:,} 行" if rows is not None else f"{len(data):,} 字节"
        audit.record("export", user.name, file_name, size + (f",{note}" if note else ""))
        return data
    return run


def _still_enabled(name: str) -> bool:
    stored = access.UserStore().get(name)
    return stored is not None and not stored.disabled


def calendar_notice(period: Period, scope: Scope) -> None:
    """Says when a working-day figure reaches a year whose holidays are not in the database."""
    missing = compute(workdays.missing_years, period, scope)
    if missing:
        st.warning(f"{'、'.join(str(y) for y in missing)} 年的节假日安排尚未录入:这些年份的工作日暂按周一至周五计算,"
                   "办理时限可能不准。请在“数据管理”导入国务院公布的当年节假日安排(导入模板“节假日安排”)。",
                   icon=":material/event_busy:")
