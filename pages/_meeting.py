"""Meeting mode (会议模式): a page's slides full screen on a projector. Each slide is laid out for a
1280×720 stage and zoomed to the window, so it fits 1280×720 and 1920×1080 alike without scrolling;
a presenter's clicker or keyboard (→ ← PageDown PageUp Space Home End) turns the slides, and the
slide's number is in the address (?meeting=true&slide=3)."""

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics import review
from pages._format import plain

STAGE = (1280, 720)
TYPE = 24  # px on the stage: the smallest type a slide has, readable from the back of a meeting room
ROWS = 10  # table rows a slide holds below its title

_STYLE = f"""<style>
[data-testid=stHeader], [data-testid=stSidebar], [data-testid=stSidebarCollapsedControl],
[data-testid=stExpandSidebarButton], [data-testid=stDecoration], [data-testid=stToolbar],
.st-key-page_top, .st-key-slide_keys {{display: none !important;}}
[data-testid=stMainBlockContainer] {{zoom: var(--slide-zoom, 1); max-width: {STAGE[0]}px; padding: 14px 28px !important;}}
[data-testid=stMain] p, [data-testid=stMain] li, [data-testid=stMain] [data-testid=stCaptionContainer] {{font-size: {TYPE}px;}}
[data-testid=stMain] h1 {{font-size: 40px; padding: 0; line-height: 1.25;}}
.st-key-slide_bar {{gap: 16px; min-height: 56px;}}
.st-key-slide_bar button, .st-key-slide_bar [data-testid=stPagination] * {{font-size: {TYPE}px;}}
[data-testid=stTable] table {{width: 100%;}}
[data-testid=stTable] th, [data-testid=stTable] td {{font-size: {TYPE}px; line-height: 1.3; padding: 3px 12px;}}
[data-testid=stMetricValue], [data-testid=stMetricValue] * {{font-size: 64px !important; line-height: 1.25;}}
[data-testid=stMetricLabel] p, [data-testid=stMetricDelta] div {{font-size: {TYPE + 4}px !important;}}
[data-testid=stMetric] {{padding: 18px 24px;}}
</style>"""

# Keys a presenter's clicker or keyboard sends -> the hidden button they press. The stage's zoom
# follows the window (min of width and height ratios), so a slide is the same at any size.
_KEYS = f"""<script>
(() => {{
  const fit = () => document.documentElement.style.setProperty(
    "--slide-zoom", Math.min(innerWidth / {STAGE[0]}, innerHeight / {STAGE[1]}));
  fit();
  if (window.gridgovSlideKeys) return;
  window.gridgovSlideKeys = true;
  addEventListener("resize", fit);
  const action = {{ArrowRight: "next", ArrowDown: "next", PageDown: "next", " ": "next",
                  ArrowLeft: "prev", ArrowUp: "prev", PageUp: "prev", Home: "first", End: "last"}};
  document.addEventListener("keydown", (event) => {{
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || target.isContentEditable
        || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    const name = event.key === " " && event.shiftKey ? "prev" : action[event.key];
    const button = name && document.querySelector(`.st-key-slide_${{name}} button`);
    if (!button) return;  // not in meeting mode
    event.preventDefault();
    if (document.activeElement) document.activeElement.blur();
    button.click();
  }});
}})();
</script>"""


def _go(count: int, to: str) -> None:
    here = st.session_state.get("slide") or 1
    st.session_state["slide"] = {"first": 1, "last": count, "prev": max(1, here - 1),
                                 "next": min(count, here + 1)}[to]


def _leave() -> None:
    st.session_state["meeting"] = False


def show(deck: dict[str, Callable[[], None]]) -> None:
    """Draws the slide the address names (title -> function drawing its content), with the
    navigation: the slide's number, previous/next, leaving the meeting mode."""
    titles = list(deck)
    st.html(_STYLE)
    with st.container(key="slide_keys"):
        for to in ("first", "prev", "next", "last"):
            st.button(to, key=f"slide_{to}", on_click=_go, args=(len(titles), to))
        st.html(_KEYS, unsafe_allow_javascript=True)
    with st.container(horizontal=True, vertical_alignment="center", key="slide_bar"):
        title = st.empty()
        number = st.pagination(len(titles), key="slide", bind="query-params", max_visible_pages=0)
        st.markdown(f"{number} / {len(titles)}", width="content")
        st.button("退出放映", icon=":material/close_fullscreen:", key="slide_exit", on_click=_leave,
                  help="回到季度考评页面")
    with title:
        st.title(plain(titles[number - 1]), width="stretch")
    deck[titles[number - 1]]()


def parts(rows: int, per: int = ROWS) -> list[slice]:
    """Rows split into slides of at most `per`, as even as they go (15 -> 8 + 7)."""
    count = max(1, math.ceil(rows / per))
    size = math.ceil(rows / count) if rows else 0
    return [slice(i * size, (i + 1) * size) for i in range(count)]


def table(frame: pd.DataFrame, spec: review.Table, highlight: pd.Series | None = None) -> None:
    """The spec's columns as printed (review.shown), numbers right-aligned so a column's figures read
    down it, its rows in gold where highlight is true."""
    shown = review.shown(frame, spec)
    styles = pd.DataFrame("", index=shown.index, columns=shown.columns)
    if highlight is not None:
        styles[list(highlight)] = "background-color: #FBEFC5; font-weight: 600;"
    # !important: st.table aligns every cell inline by its type, and a formatted number is text.
    numbers, right = [spec.columns[c] for c in spec.formats], "text-align: right !important;"
    styles[numbers] += right
    styler = shown.style.apply(lambda _: styles, axis=None).set_table_styles(
        {h: [{"selector": "th", "props": right}] for h in numbers}, overwrite=False)
    st.table(styler, hide_index=True, border="horizontal")
