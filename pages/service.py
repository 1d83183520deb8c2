import streamlit as st

from analytics import charts, overview
from analytics.period import parse_period
from pages._format import definition
from pages._figures import compute, metric
from pages._filters import current_filters
from pages._widgets import figure, nothing, page_header, sections, table

CHART = {"displayModeBar": False}
TOP = 15  # bars per ranking chart, readable on a projector


def rows_height(rows: int, per_row: int = 32) -> int:
    """A horizontal bar chart tall enough for its labels."""
    return max(380, per_row * rows + 90)


def show(fig) -> None:
    st.plotly_chart(fig, width="stretch", config=CHART)


filters = current_filters()
page_header("服务阵地", filters)


def show_coverage() -> None:
    coverage = metric("service-coverage", filters.period, filters.scope)
    headline = compute(overview.headline, filters.period, filters.scope).set_index("key").loc["coverage"]
    left, right = st.columns([1, 2], gap="large")
    with left:
        figure("覆盖户数占比", headline["value"], "%", "service-coverage", delta=headline["change"], digits=1)
    with right:
        gaps = coverage[coverage["household_share"] < 1].sort_values("household_share")
        which = f"最低的{TOP}个" if len(gaps) > TOP else f"共{len(gaps)}个"
        gaps = gaps.head(TOP)
        if gaps.empty:
            nothing("所选范围内各网格的住户全部在服务圈内。")
        else:
            fig = charts.bar(gaps, "grid_name", "household_share", horizontal=True, title=f"覆盖户数占比不足100%的网格({which})",
                             x_title="网格", y_title="覆盖户数占比", text_format=".1%", value_format=".0%",
                             height=rows_height(len(gaps)))
            show(fig)
            st.caption(definition("service-coverage"))

    st.markdown("**服务圈外的楼栋**(按户数从多到少)")
    uncovered = metric("uncovered-buildings", filters.period, filters.scope)
    if uncovered.empty:
        nothing("所选范围内的楼栋都在10分钟党群服务圈内。")
    else:
        table(uncovered, "uncovered-buildings", filters, height=320, key="svc_uncovered", columns={
            "community_name": "社区", "grid_name": "网格", "building_name": "楼栋",
            "households": "户数",
            "nearest_metres": "距最近服务中心或驿站(米)",
        })
    with st.expander("各网格服务圈覆盖明细", icon=":material/table_view:"):
        table(coverage, "service-coverage", filters, height=420, key="svc_coverage", columns={
            "community_name": "社区", "grid_name": "网格",
            "buildings": "楼栋数",
            "buildings_covered": "覆盖楼栋",
            "building_share": "楼栋覆盖占比",
            "households": "户数",
            "households_covered": "覆盖户数",
            "household_share": "户数覆盖占比",
        })


def show_facilities() -> None:
    counts = metric("facility-counts", filters.period, filters.scope)
    if counts.empty:
        nothing()
    else:
        left, right = st.columns([1, 2], gap="large")
        chosen = left.selectbox("设施类型", counts["type_label"].drop_duplicates().tolist(), key="svc_type")
        left.caption(definition("facility-counts"))
        shown = counts[counts["type_label"] == chosen].sort_values("facilities", ascending=False)
        with right:
            if not shown["facilities"].any():
                nothing(f"所选范围内统计期末还没有建成的{chosen}。")
            else:
                show(charts.bar(shown, "community_name", "facilities", horizontal=True, title=f"各社区{chosen}数量",
                                x_title="社区", y_title="数量(处)", height=rows_height(len(shown), 28)))
        with st.expander("各社区各类服务阵地明细", icon=":material/table_view:"):
            table(counts, "facility-counts", filters, height=420, key="svc_counts", columns={
                "community_name": "社区", "type_label": "设施类型",
                "facilities": "数量(处)",
                "capacity": "容量(座/个)",
            })


def show_charging() -> None:
    charging = metric("charging-supply", filters.period, filters.scope)
    short = charging[charging["short_of_supply"]].sort_values("gap_per_100_households")
    left, right = st.columns([1, 2], gap="large")
    with left:
        figure("充电供给不足的网格", len(short), "个", "charging-supply")
        figure("充电车位", charging["charging_places"].sum(), "个", "charging-supply")
        if unknown := charging["unknown_capacity"].sum():
            st.caption(f"另有 {unknown} 处充电车棚未登记车位数,未计入车位。")
    with right:
        if short.empty:
            nothing("所选统计期和范围内没有停车充电工单多于充电车位的网格。")
        else:
            which = f"缺口最大的{TOP}个" if len(short) > TOP else f"共{len(short)}个"
            shown = short.head(TOP)
            # Room left of the longest bar for its value, which is negative.
            show(charts.bar(shown, "grid_name", "gap_per_100_households", horizontal=True,
                            title=f"充电供给不足的网格({which})", x_title="网格",
                            y_title="供需差:每百户充电车位 − 每百户停车充电工单", text_format="+,.2f",
                            value_range=[shown["gap_per_100_households"].min() * 1.4, 0],
                            height=rows_height(len(shown))))
    table(charging.sort_values(["gap_per_100_households", "grid_id"]), "charging-supply", filters, height=360,
          key="svc_charging", columns={
              "community_name": "社区", "grid_name": "网格",
              "short_of_supply": st.column_config.CheckboxColumn("供给不足"),
              "gap_per_100_households": "供需差(每百户)",
              "places_per_100_households": "每百户充电车位",
              "tickets_per_100_households": "每百户停车充电工单",
              "charging_places": "充电车位",
              "charging_tickets": "停车充电工单",
              "households": "户数",
              "charging_sheds": "充电车棚",
              "charging_piles": "充电桩",
          })


def show_property() -> None:
    scores = metric("property-scores", filters.period, filters.scope)
    if scores.empty:
        nothing("所选范围内没有登记的物业企业。")
    else:
        scores = scores.assign(quarter_label=scores["quarter"].map(lambda q: parse_period(q).label_zh))
        # The chart shows the period's last quarter with scores; the table every quarter the period overlaps.
        scored = scores.dropna(subset=["mean_score"]).sort_values("quarter")
        if scored.empty:
            nothing("所选统计期内还没有物业服务评议得分。")
        else:
            last_quarter = parse_period(scored["quarter"].iat[-1])
            latest = scored[scored["quarter"] == last_quarter.label]
            fig = charts.bar(latest.sort_values("mean_score", ascending=False), "company_name", "mean_score",
                             horizontal=True, title=f"{last_quarter.label_zh}物业企业平均分", x_title="物业企业",
                             y_title="平均分(分)", text_format=".1f", value_range=[0, 100],
                             height=rows_height(len(latest), 26))
            show(fig)
        table(scores.sort_values(["quarter", "mean_score"], ascending=[False, False]), "property-scores", filters,
              height=360, key="svc_property", columns={
                  "company_name": "物业企业", "community_name": "社区", "quarter_label": "季度",
                  "has_party_branch": st.column_config.CheckboxColumn("已建党支部"),
                  "residents_score": "居民评议",
                  "community_score": "社区评议",
                  "subdistrict_score": "街道评议",
                  "mean_score": "平均分",
              })


def show_wishes() -> None:
    wishes = metric("micro-wishes", filters.period, filters.scope)
    if not (wishes["filed"].any() or wishes["open_now"].any()):
        nothing("所选统计期和范围内没有微心愿记录。")
    else:
        height = rows_height(len(wishes), 28)
        left, right = st.columns(2, gap="large")
        with left:
            show(charts.bar(wishes.sort_values("filed", ascending=False), "community_name", "filed", horizontal=True,
                            title="本期征集的微心愿", x_title="社区", y_title="征集(个)", height=height))
        with right:
            show(charts.bar(wishes.sort_values("open_now", ascending=False), "community_name", "open_now", horizontal=True,
                            title="期末未落实的微心愿", x_title="社区", y_title="未落实(个)", color=charts.GOLD,
                            height=height))
        table(wishes, "micro-wishes", filters, key="svc_wishes", columns={
            "community_name": "社区",
            "filed": "征集(个)",
            "fulfilled": "已落实(个)",
            "fulfilled_share": "落实率",
            "median_days_to_fulfil": "落实用时中位数(天)",
            "open_now": "期末未落实(个)",
        })


sections({"10分钟服务圈": show_coverage, "阵地分布": show_facilities, "充电供给与需求": show_charging,
          "物业三评两公示": show_property, "微心愿": show_wishes})
