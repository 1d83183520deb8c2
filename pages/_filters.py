"""The filter bar in the sidebar of every page (the period; subdistrict, community, grid) and its
copy in the address. A run resolves them once: the period into a Period, the places into an Area
narrowed to the signed-in user; every page and figure below takes those values as they are."""

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from analytics import access
from analytics.period import Area, Period, Scope, month, parse_period, quarter_of
from pages._database import TTL, county, county_hierarchy, cursor, data_span, the_city, version
from pages._session import current_user, places, remember_requested_page, signed_in


@dataclass(frozen=True)
class Filters:
    period: Period
    scope: Area  # narrowed to the user, with the name the filter bar shows

    @property
    def scope_label(self) -> str:
        return self.scope.label


def hierarchy() -> pd.DataFrame:
    """Subdistricts, communities and grids the user may see (the filter bar offers no other)."""
    tree = county_hierarchy()
    user = current_user()
    area = places(user) if user is not None else None
    if area is None or area.is_county:
        return tree
    return tree[tree["grid_id"].isin(area.grids)].reset_index(drop=True)


@st.cache_data(ttl=TTL, show_spinner=False)
def _narrowed(key, user: access.User, selected: Scope, label: str) -> Area:
    return replace(access.effective_scope(user, selected, cursor()), label=label)


_ALL = "全部"
PLACE_KEYS = ("f_county", "f_sub", "f_comm", "f_grid")

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
    town = the_city()
    if town is not None and params.get("county") in {c.code for c in access.counties(current_user(), town)}:
        st.session_state["f_county"] = params["county"]
    tree = hierarchy()
    for key, column in (("sub", "subdistrict_id"), ("comm", "community_id"), ("grid", "grid_id")):
        if key in params and params[key] in set(tree[column]):
            st.session_state[f"f_{key}"] = params[key]

def filter_bar(places: bool = True) -> Filters:
    """The period and place filters, in the sidebar of every page; kept in the address. places=False
    for a page of the whole city (县区对比), which reads the period alone: the county and places chosen
    stay, undrawn, for the county pages."""
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
        town = the_city()
        if not places:
            for key in PLACE_KEYS:  # Streamlit forgets the value of a widget a run does not draw
                if key in st.session_state:
                    st.session_state[key] = st.session_state[key]
            st.caption("本页并列全市各县区,只按统计期筛选;县区、街道、社区、网格在各县区的页面中选择。")
    if not places:
        if st.query_params.get("period") != period.label:
            st.query_params["period"] = period.label
        return Filters(period, _narrowed(version(), signed_in(), Scope(), town.name))
    with st.sidebar:
        if town is not None:
            # 市 → 县区: the county chosen here is the database every county-level page reads (pages._database).
            allowed = {c.code: c.name for c in access.counties(current_user(), town)}
            st.session_state.setdefault("f_county", county().code)
            code = _place_box("县区", "f_county", allowed, True)
            if st.session_state.get("_f_county_seen", code) != code:
                for key in ("f_sub", "f_comm", "f_grid"):  # another county's places: start from its whole
                    st.session_state.pop(key, None)
            st.session_state["_f_county_seen"] = code
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
        whole = county().name if town is not None else "全县"
        scope, label = Scope(), whole + "(" + "、".join(subs.values()) + ")"
    # Only the filters' own keys: a page keeps its open section in the address too.
    chosen = (("county", county().code),) if town is not None else ()
    for key, value in (*chosen, ("period", period.label), ("sub", sub), ("comm", comm),
                       ("grid", grid if comm != _ALL else _ALL)):
        if value == _ALL:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
    return Filters(period, _narrowed(version(), signed_in(), scope, label))

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
