import streamlit as st

from analytics import charts, maps, settings
from analytics.period import Scope
from pages._database import county_outline, version
from pages._format import definition, plain
from pages._figures import compute, map_deck, metric
from pages._filters import current_filters
from pages._widgets import drawn, may_see_people, nothing, page_header, table

filters = current_filters()
period, scope = filters.period, filters.scope
page_header("网格地图", filters)

MEASURES = maps.measures()
COLORS = {"service": (192, 22, 29), "charging": (46, 125, 50), "deliberation": (212, 160, 23),
          "new_employment": (79, 109, 122), "care": (106, 76, 147)}
CIRCLE = (40, 40, 40)
MAP_HEIGHT = 390  # with its legend, inside the first screen at 1280×720
LAYERS = {"circle": "服务圈", **{k: v[0] for k, v in maps.LAYERS.items()}, "tickets": "工单位置", "heat": "工单热力"}


def tianditu_key() -> str | None:
    try:
        return st.secrets.get("map", {}).get("tianditu_key")
    except Exception:  # no secrets file: no key
        return None


def clicked(state) -> str | None:
    objects = (state or {}).get("selection", {}).get("objects", {}).get("grids") or []
    return objects[0].get("grid_id") if objects else None


shapes = compute(maps.grid_shapes, period, scope)
if shapes.empty:
    nothing("所选范围内没有网格。")
    st.stop()
names = dict(zip(shapes["grid_id"], shapes["grid_name"]))

# A grid is chosen on the map, in the box or by the address (?grid_card=). A click is taken and the map
# drawn afresh under a new key: Streamlit's own highlight of a selection greys every other grid.
picked = clicked(st.session_state.get(f"grid_map_{st.session_state.setdefault('map_round', 0)}"))
if picked in names:
    st.session_state["map_grid"] = picked
    st.session_state["map_round"] += 1
elif "map_grid" not in st.session_state:  # the page's first run in this session: the address
    wanted = st.query_params.get("grid_card")
    st.session_state["map_grid"] = wanted if wanted in names else (next(iter(names)) if len(names) == 1 else None)
elif st.session_state["map_grid"] not in (None, *names):  # the filters left it out
    st.session_state["map_grid"] = None

left, right = st.columns([3, 2], gap="medium")
with right:
    measure = st.selectbox("地图着色", list(MEASURES), format_func=lambda k: MEASURES[k].label, key="map_measure",
                           index=list(MEASURES).index(maps.DEFAULT_MEASURE))
    grid_id = st.selectbox("网格详情(点选地图上的网格,或在此选择)", list(names), format_func=names.get,
                           placeholder="选择网格", key="map_grid")
# The layers' box sits below the map and its legend, but is read first: the map shows what it holds.
shown = st.session_state.get("map_layers", ["service"])
if grid_id:
    st.query_params["grid_card"] = grid_id
else:
    st.query_params.pop("grid_card", None)

m = MEASURES[measure]
grids = compute(maps.map_grids, period, scope, measure=measure)
classes, colors = charts.map_classes(grids["value"], m.info)
overlays = []
for key in shown:
    if key in maps.LAYERS:
        overlays.append(charts.Overlay(key, compute(maps.facility_points, period, scope, layer=key), color=COLORS[key],
                                       radius=35))
    elif key == "tickets":
        overlays.append(charts.Overlay("tickets", compute(maps.ticket_points, period, scope), radius=18,
                                       title="category_label", place="ticket_id", detail=""))
    elif key == "heat":
        overlays.append(charts.Overlay("heat", compute(maps.ticket_points, period, scope), kind="heat"))
distance = compute(maps.service_distance, period, scope)
if "circle" in shown:
    reach = compute(maps.service_reach, period, scope)
    # Not red: on the map red means the grids that need attention.
    overlays.insert(0, charts.Overlay("reach", reach, kind="paths", color=CIRCLE) if len(reach) else
                    charts.Overlay("circle", compute(maps.facility_points, period, scope, layer="service"),
                                   kind="circles", color=CIRCLE, radius=settings.SERVICE_CIRCLE_METRES))
basemap = maps.basemap(settings.MAP_BASEMAP, tianditu_key=tianditu_key())
# The map and its JSON, the rerun's largest cost (every polygon), made once per file version and view.
drawn_as = (version(), period, scope, measure, tuple(shown), grid_id, settings.MAP_BASEMAP)
deck = map_deck(drawn_as, lambda: charts.grid_map(
    grids, colors, m.info, m.info.label if m.column != "count" else m.label.split(" · ")[0],
    boundaries=compute(maps.boundaries, period, scope), outline=county_outline(), overlays=overlays, basemap=basemap,
    selected=grid_id, height=MAP_HEIGHT))
with left:
    st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key=f"grid_map_{st.session_state['map_round']}",
                    height=MAP_HEIGHT)
    st.html(charts.legend_html(classes, m.info, m.label, int(grids["value"].isna().sum())))
    st.multiselect("叠加图层", list(LAYERS), default=["service"], format_func=LAYERS.get, key="map_layers")
    circle = (f"黑色细线为沿路网步行 {settings.SERVICE_CIRCLE_METRES} 米可达的道路" if "circle" in shown and len(reach)
              else f"黑色圆圈为直线距离 {settings.SERVICE_CIRCLE_METRES} 米的范围" if "circle" in shown else "")
    st.caption(f"底图:{basemap.label}。服务圈按{distance}计算" + (f";{circle}" if circle else "") + "。"
               + definition(m.metric_id))

with right:
    if not grid_id:
        nothing("在地图上点选一个网格,查看其服务团队、各项数字、名次走势和在办工单。")
    else:
        place = shapes.loc[shapes["grid_id"] == grid_id, "community_name"].iat[0]
        st.subheader(plain(names[grid_id]))
        st.caption(f"{plain(place)} · {filters.period.label_zh}")
        card = compute(maps.grid_card, period, scope, grid_id=grid_id)
        st.html(charts.figures_html(card, [definition(m).replace("**", "") for m in card["metric_id"]]))
        history = compute(maps.rank_history, period, scope, grid_id=grid_id)
        st.markdown("**近8个季度的社区内名次**(越高越好,金星为红旗网格)")
        if history.empty:
            nothing("暂无排名记录。")
        else:
            st.plotly_chart(charts.rank_line(history), width="stretch", config={"displayModeBar": False})
        backlog = metric("open-tickets", period, Scope(grids=(grid_id,)))
        st.markdown(f"**在办工单**({len(backlog)} 单,统计期末尚未结果公开)")
        if len(backlog):
            columns = {"ticket_id": "编号", "category_label": "类别", "step_label": "当前环节", "age_days": "已历时(天)"}
            rows, config = drawn(backlog.head(5)[list(columns)], "open-tickets", columns)
            st.dataframe(rows, column_config=config, hide_index=True, width="stretch")
        with st.expander("网格服务团队(姓名已脱敏)", expanded=False):
            if may_see_people("grid-team"):
                table(metric("grid-team", period, scope, grid_id=grid_id), "grid-team", filters, key="team",
                      place=names[grid_id], columns={"role_label": "职务", "name": "姓名"})
