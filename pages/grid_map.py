import streamlit as st

from analytics import charts, maps, settings
from pages._common import (compute, current_filters, definition, figure, may_see_people, metric, nothing, page_header,
                           plain, table)

filters = current_filters()
period, scope = filters.period, filters.scope
page_header("网格地图", filters)

measure = st.columns([1, 2])[0].selectbox("网格着色指标", list(maps.MEASURES), format_func=lambda k: maps.MEASURES[k][0],
                                          key="map_measure")
label, unit, metric_id, higher = maps.MEASURES[measure]
shown = st.pills("图层", list(maps.LAYERS) + ["tickets", "heat"], selection_mode="multi", default=["service"],
                 key="map_layers",
                 format_func=lambda k: {"tickets": "工单位置", "heat": "工单热力"}.get(k, maps.LAYERS.get(k, ("",))[0]))

grids = compute(maps.grid_measures, period, scope)
if grids.empty:
    nothing("所选范围内没有网格。")
    st.stop()

COLORS = {"service": [192, 22, 29, 230], "charging": [46, 125, 50, 230], "deliberation": [212, 160, 23, 230],
          "new_employment": [79, 109, 122, 230], "care": [106, 76, 147, 230]}
layers = []
for key in shown or []:
    if key in maps.LAYERS:
        points = compute(maps.facility_points, period, scope, layer=key)
        if key == "service":
            layers.append(charts.circle_layer(points, "service_circle", settings.SERVICE_CIRCLE_METRES, [192, 22, 29, 12]))
        layers.append(charts.point_layer(points, key, COLORS[key], radius=35))
    elif key == "tickets":
        layers.append(charts.point_layer(compute(maps.ticket_points, period, scope), "tickets", [31, 31, 31, 200], 18,
                                         title="category_label", place="ticket_id", detail=""))
    elif key == "heat":
        layers.append(charts.heat_layer(compute(maps.ticket_points, period, scope), "heat"))

deck = charts.grid_map(grids, measure, label, unit, higher_is_better=higher, layers=layers,
                       percent=measure == "coverage", basemap=settings.MAP_BASEMAP)
event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="grid_map", height=620)
picked = (event.selection.objects.get("grids") or [None])[0] if event and event.selection else None
st.markdown(f"**图例**:按{label}在各网格中的排位着色,颜色越深越好({'越高' if higher else '越低'}越好);灰色为无数据。"
            f"党群服务中心与红色驿站外圈为 {settings.SERVICE_CIRCLE_METRES} 米步行服务圈。")
st.caption(definition(metric_id))

names = dict(zip(grids["grid_id"], grids["grid_name"]))
default = picked["grid_id"] if picked else None
grid_id = st.selectbox("网格详情(在地图上点选网格,或在此选择)", list(names), format_func=names.get,
                       index=list(names).index(default) if default in names else None, placeholder="选择网格",
                       key="map_grid")
if grid_id:
    card = grids[grids["grid_id"] == grid_id].iloc[0]
    st.subheader(f"{plain(card['grid_name'])} · {plain(card['community_name'])}")
    cols = st.columns(4)
    figure("人均信用积分", card["avg_credit"], "分", "grid-credit-ranking", digits=2, container=cols[0])
    figure("社区内名次", card["rank"], "名", "grid-credit-ranking", container=cols[1])
    figure("办结用时中位数", card["median_days"], "天", "ticket-resolution", digits=1, container=cols[2])
    figure("超期工单", card["overdue"], "单", "overdue-tickets", container=cols[3])
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("**近8个季度的名次**(金色为红旗网格)")
        history = compute(maps.rank_history, period, scope, grid_id=grid_id)
        if history.empty:
            nothing("暂无排名记录。")
        else:
            st.plotly_chart(charts.bar(history, "quarter", "rank", y_title="名次(1为最好)", highlight=history["red_flag"],
                                       text_format="d", height=300), width="stretch", config={"displayModeBar": False})
    with right:
        st.markdown("**网格服务团队**(姓名已脱敏)")
        if may_see_people("grid-team"):
            table(metric("grid-team", period, scope, grid_id=grid_id), "grid-team", filters, key="team",
                  place=names[grid_id], columns={"role_label": "职务", "name": "姓名"})
