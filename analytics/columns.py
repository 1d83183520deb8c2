"""The column dictionary beside the metric registry: each column a metric returns, with its Chinese
header and the format its numbers are shown in (a Python format spec: ".2f", "+d", ",d", ".1%").

`formatted` turns a metric's rows into what a download holds, through the same rules as the screen:
numbers rounded as shown (a share in per cent, its header marked "(%)"), 是/否 for yes/no, Chinese
headers, times to the minute and days without a time.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from . import overview, profile


@dataclass(frozen=True)
class Column:
    header: str
    format: str = ""


_C = Column
COLUMNS: dict[str, Column] = {
    # places and periods
    "period": _C("统计期"), "quarter": _C("季度"), "month": _C("月份"), "county": _C("范围"),
    "county_code": _C("县区代码"), "county_name": _C("县区"), "city_rank": _C("全市名次", "d"),
    "grids": _C("网格数", ",d"), "volunteers": _C("参与志愿服务(人)", ",d"),
    "coverage": _C("10分钟服务圈覆盖户数", ".1%"),
    "subdistrict_id": _C("街道编号"), "community_id": _C("社区编号"), "community_name": _C("社区"),
    "grid_id": _C("网格编号"), "grid_name": _C("网格"), "building_id": _C("楼栋编号"), "building_name": _C("楼栋"),
    "group": _C("分组"), "key": _C("代码"), "label": _C("名称"), "value": _C("数值", ".2f"), "unit": _C("单位"),
    # credit
    "residents": _C("居民", ",d"), "points": _C("积分", "+.1f"), "avg_credit": _C("人均积分", ".2f"),
    "rank": _C("名次", "d"), "prev_rank": _C("上期名次", "d"), "rank_change": _C("名次变化", "+d"),
    "red_flag": _C("红旗网格"), "person_id": _C("人员编号"), "worker_name": _C("网格员"), "meets_rule": _C("符合评价下限"),
    "level": _C("等级代码"), "level_label": _C("信用等级"), "minimum": _C("最低余额", "d"), "people": _C("人数", ",d"),
    "share": _C("占比", ".1%"), "name": _C("姓名"), "events": _C("记录数", ",d"), "balance": _C("累计余额", ".1f"),
    "list": _C("榜单代码"), "list_label": _C("榜单"), "org_id": _C("单位编号"), "org_name": _C("单位"),
    "org_type_label": _C("类型"), "deductions": _C("扣分次数", ",d"), "worst": _C("最大单次扣分", "+.1f"),
    "reason": _C("说明"), "category": _C("类别代码"), "category_label": _C("类别"), "credit_group": _C("群体代码"),
    "group_label": _C("群体"), "subjects": _C("对象数", ",d"), "positive_points": _C("加分", ",.1f"),
    "negative_points": _C("扣分", ",.1f"), "role_label": _C("职务"), "event_id": _C("记录编号"),
    "occurred_at": _C("发生时间"), "recorded_at": _C("登记时间"), "indicator_code": _C("指标代码"),
    "indicator_name": _C("指标"), "recorded_by_name": _C("记录人"), "reverses_event_id": _C("冲正的记录编号"),
    "note": _C("备注"), "pending": _C("待核实"), "check_reason": _C("待核实事项"), "award_label": _C("评选结果"),
    "appeal_id": _C("申诉编号"), "raised_on": _C("提出日期"), "subject": _C("申诉对象"), "raised_by_name": _C("提出人"),
    "publicity_end": _C("公示期截止"), "due_on": _C("应处理日期"), "decided_on": _C("处理日期"), "in_time": _C("按时处理"),
    "overdue": _C("逾期未处理"), "decision_reason": _C("处理理由"), "correcting_event_id": _C("更正记录编号"),
    "raised": _C("提出(件)", ",d"), "in_time_share": _C("按时处理率", ".1%"), "upheld": _C("支持(件)", ",d"),
    "open_appeals": _C("未处理完毕(件)", ",d"), "flag": _C("提示代码"), "flag_label": _C("提示"), "threshold": _C("阈值", ".2f"),
    "checked": _C("已核实"), "check_label": _C("核实"), "checked_by": _C("核实人"), "checked_at": _C("核实时间"),
    "check_note": _C("核实说明"),
    # tickets
    "ticket_id": _C("工单编号"), "title": _C("标题"), "tickets": _C("工单数", ",d"),
    "median_days": _C("办结用时中位数(天)", ".1f"), "p90_days": _C("90%分位(天)", ".1f"),
    "mean_days": _C("平均用时(天)", ".1f"), "mean_score": _C("评价均分", ".2f"), "channel": _C("渠道代码"),
    "channel_label": _C("渠道"), "from_step": _C("起始环节代码"), "to_step": _C("结束环节代码"),
    "median_hours": _C("用时中位数(小时)", ".1f"), "p90_hours": _C("90%分位(小时)", ".1f"), "bottleneck": _C("瓶颈"),
    "step": _C("环节代码"), "reached": _C("单数", ",d"), "rater_kind": _C("评价人代码"),
    "tickets_rated": _C("有评价单数", ",d"), "share_rated": _C("评价率", ".1%"), "ratings": _C("评价条数", ",d"),
    "decided": _C("定单数", ",d"), "published": _C("已公开", ",d"), "share_published": _C("公开率", ".1%"),
    "median_lag_days": _C("定单到公开中位数(天)", ".1f"), "p90_lag_days": _C("定单到公开90%分位(天)", ".1f"),
    "department": _C("部门代码"), "department_label": _C("约请部门"), "escalations": _C("约请单数", ",d"),
    "resolved": _C("已办结", ",d"), "current_step": _C("当前环节代码"), "step_label": _C("当前环节"),
    "current_step_label": _C("当前环节"), "next_step": _C("待办环节代码"), "next_step_label": _C("待办环节"),
    "median_age_days": _C("已历时中位数(天)", ".1f"), "max_age_days": _C("最长已历时(天)", ".1f"),
    "filed_at": _C("提单时间"), "published_at": _C("公开时间"), "days": _C("用时(天)", ".1f"), "status": _C("状态"),
    "since": _C("起算时间"), "allowed_workdays": _C("时限(工作日)", ".1f"), "used_workdays": _C("已用(工作日)", ".1f"),
    "share_used": _C("时限已用", ".1%"), "overdue_multiple": _C("超期倍数", ".2f"), "due_at": _C("应完成时间"),
    "age_days": _C("已历时(天)", ".1f"),
    # 公布后更正: the frozen result beside today's recomputation
    "official_rank": _C("公布名次", "d"), "live_rank": _C("今日名次", "d"), "official_avg": _C("公布人均积分", ".2f"),
    "live_avg": _C("今日人均积分", ".2f"), "avg_change": _C("变化", "+.2f"), "official_residents": _C("公布居民数", ",d"),
    "live_residents": _C("今日居民数", ",d"), "official_points": _C("公布时积分", "+.1f"), "live_points": _C("今日积分", "+.1f"), "steps_completed": _C("完成步骤数", ",d"), "on_time": _C("按时完成", ",d"),
    "on_time_share": _C("按时办结率", ".1%"), "median_used_workdays": _C("用时中位数(工作日)", ".1f"),
    "reworked": _C("返工单数", ",d"), "rework_share": _C("返工率", ".1%"),
    # evaluation
    "credit_rank": _C("人均积分名次", "d"), "credit_score": _C("信用得分", ".1f"), "on_time_score": _C("按时得分", ".1f"),
    "rework_score": _C("返工得分", ".1f"), "satisfaction_score": _C("满意得分", ".1f"), "composite": _C("综合得分", ".1f"),
    "composite_rank": _C("综合名次", "d"),
    "source": _C("来源"), "record_id": _C("记录编号"), "year": _C("年份"), "covered": _C("已导入节假日安排"),
    "days_off": _C("放假日数", ",d"), "makeup_days": _C("调休上班日数", ",d"), "status_label": _C("状态"),
    # redemptions
    "scenario_id": _C("场景编号"), "scenario_name": _C("场景"), "points_cost": _C("每次消耗积分", ",.0f"),
    "redemptions": _C("兑换人次", ",d"), "redeemers": _C("兑换人数", ",d"), "points_spent": _C("消耗积分", ",.0f"),
    "value_yuan": _C("折合(元)", ",.0f"), "scenarios": _C("场景数", ",d"), "uptake_share": _C("参与率", ".1%"),
    "points_earned": _C("累计净得积分", ",.0f"), "outstanding": _C("未兑换积分", ",.0f"),
    "outstanding_per_resident": _C("人均未兑换积分", ".1f"),
    # volunteers
    "active_volunteers": _C("参与人数", ",d"), "activities": _C("服务次数", ",d"), "hours": _C("服务时长(小时)", ",.1f"),
    "party_member_share": _C("党员占比", ".1%"), "team_member_share": _C("服务队队员占比", ".1%"),
    "hours_per_volunteer": _C("人均时长(小时)", ".1f"), "team_id": _C("服务队编号"), "kind": _C("服务类型代码"),
    # service
    "facility_type": _C("设施类型代码"), "type_label": _C("设施类型"), "facilities": _C("数量(处)", ",d"),
    "capacity": _C("容量(座/个)", ",d"), "buildings": _C("楼栋数", ",d"), "households": _C("户数", ",d"),
    "buildings_covered": _C("覆盖楼栋", ",d"), "households_covered": _C("覆盖户数", ",d"),
    "building_share": _C("楼栋覆盖占比", ".1%"), "household_share": _C("户数覆盖占比", ".1%"),
    "nearest_metres": _C("距最近服务中心或驿站(米)", ",.0f"), "charging_piles": _C("充电桩", ",d"),
    "charging_sheds": _C("充电车棚", ",d"), "charging_facilities": _C("充电设施", ",d"),
    "charging_tickets": _C("停车充电工单", ",d"),
    "tickets_per_100_households": _C("每百户工单", ".2f"), "charging_places": _C("充电车位", ",d"),
    "unknown_capacity": _C("车位数不详的设施", ",d"), "places_per_100_households": _C("每百户充电车位", ".2f"),
    "gap_per_100_households": _C("供需差(每百户)", "+.2f"), "short_of_supply": _C("供给不足"), "company_name": _C("物业企业"),
    "has_party_branch": _C("已建党支部"), "residents_score": _C("居民评议", ".1f"), "community_score": _C("社区评议", ".1f"),
    "subdistrict_score": _C("街道评议", ".1f"), "evaluations": _C("评议次数", ",d"), "filed": _C("征集(个)", ",d"),
    "fulfilled": _C("已落实(个)", ",d"), "fulfilled_share": _C("落实率", ".1%"),
    "median_days_to_fulfil": _C("落实用时中位数(天)", ".1f"), "open_now": _C("期末未落实(个)", ",d"),
}

# Where a metric's column means something narrower than the dictionary's, as its page names it.
BY_METRIC: dict[str, dict[str, Column]] = {
    "county-profile": {"label": _C("项目"), "value": _C("数量", ",d")},
    "ticket-step-durations": {"label": _C("环节")},
    "ticket-funnel": {"label": _C("环节")},
    "ticket-ratings": {"label": _C("评价人")},
    "deadline-status": {"status": _C("时限状态代码")},
    "overdue-tickets": {"status": _C("时限状态代码")},
    "near-due-tickets": {"status": _C("时限状态代码")},
    "property-scores": {"mean_score": _C("平均分", ".1f")},
    "red-grey-list": {"points": _C("本月积分", "+.0f"), "reason": _C("依据")},
    "monthly-publication": {"points": _C("本月积分", "+.1f")},
    "appeals": {"reason": _C("申诉理由"), "status": _C("状态代码"), "status_label": _C("处理状态"),
                "quarter": _C("被申诉排名季度"), "event_id": _C("被申诉记录编号")},
    "appeal-summary": {"decided": _C("已处理(件)", ",d"), "in_time": _C("按时处理(件)", ",d"),
                       "overdue": _C("逾期(件)", ",d")},
    "points-by-category-group": {"points": _C("净积分", ",.0f")},
    "volunteers-by-team": {"label": _C("志愿服务队")},
    "volunteers-by-grid": {"label": _C("网格")},
    "volunteers-by-community": {"label": _C("社区")},
    "volunteers-by-month": {"month": _C("月初日期"), "label": _C("月份")},
    "volunteers-by-kind": {"label": _C("服务类型")},
    # The city's counties side by side: a column per county-level figure, headed by its name and unit.
    "county-headlines": {key: _C(label if unit == "%" else f"{label}({unit})", COLUMNS[key].format)
                         for key, label, unit, _, _ in overview.HEADLINES},
    "county-profiles": {key: _C(label, ",d") for key, label in profile.labels().items()},
}


def text(value, spec: str) -> str:
    """One value as every table, slide and page writes it: "—" when missing; rounded half away from
    zero on the value's exact binary form, as the browser's toFixed draws a table's numbers."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    layout = None if isinstance(value, str) else _layout(spec)
    if layout is None:
        return str(value)
    decimals, share = _digits(spec)
    return format(_rounded(value, decimals, share), layout) + "%" * share


def _rounded(value, decimals: int, share: bool) -> Decimal:
    """The value (times 100 when a share) rounded half away from zero on its exact binary form."""
    return Decimal(float(value) * 100 if share else float(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def printf(spec: str) -> str | None:
    """The same format as a printf pattern (Streamlit's number columns), for a value times 100 when it
    is a share: ",d" -> "%,.0f", "+.1f" -> "%+.1f", ".1%" -> "%.1f%%"."""
    layout = _layout(spec)
    return None if layout is None else "%" + layout + "%%" * _digits(spec)[1]


def _layout(spec: str) -> str | None:
    """A spec as the fixed-point layout both writers use: ",d" -> ",.0f", ".1%" -> ".1f"."""
    digits = _digits(spec)
    if digits is None:
        return None
    return f"{'+' if spec.startswith('+') else ''}{',' if ',' in spec else ''}.{digits[0]}f"


def _signed(change, spec: str) -> str:
    """A change as shown, signed: "±0" when it rounds to nothing."""
    shown = text(change, "+" + spec.lstrip("+"))
    return "±" + shown[1:] if shown != "—" and float(shown.replace(",", "")) == 0 else shown


def change_text(change, unit: str, spec: str) -> str:
    """A headline's change in the unit shown: "+42 单", "±0 单", a share's in percentage points."""
    if unit == "%":
        return _signed(None if change is None else change * 100, spec) + " 个百分点"
    return f"{_signed(change, spec)} {unit}".strip()


def change_tone(change, spec: str, higher_is_better: bool) -> str:
    """better, worse or same: whether a change, as rounded for display, is good news."""
    if change is None or pd.isna(change) or _signed(change, spec).startswith("±"):
        return "same"
    return "better" if (change > 0) == higher_is_better else "worse"


def headline_spec(key: str, unit: str) -> str:
    """The format of a headline figure: as its column in the dictionary (so 总览 and 协商议事 show the same
    median to the same digit); a share in per cent to one decimal."""
    return ",.1f" if unit == "%" else column(key).format or ",d"


def column(name: str, metric_id: str | None = None) -> Column:
    """The column's entry; a column missing from the dictionary keeps its name (a test keeps none missing)."""
    return BY_METRIC.get(metric_id or "", {}).get(name) or COLUMNS.get(name) or Column(name)


_SPEC = re.compile(r"[+ ]?,?(?:\.(\d+))?([df%])")


def _digits(spec: str) -> tuple[int, bool] | None:
    """(decimals, is a share) of a format spec, or None when it formats no number."""
    match = _SPEC.fullmatch(spec or "")
    if match is None:
        return None
    return int(match[1] or 0), match[2] == "%"


def formatted(frame: pd.DataFrame, headers: dict[str, str] | None = None, formats: dict[str, str] | None = None,
              metric_id: str | None = None) -> pd.DataFrame:
    """The rows as a download holds them. headers and formats (column -> header / format spec) are what
    the screen shows; a column without them takes the dictionary's (for metric_id)."""
    headers, formats = headers or {}, formats or {}
    out = {}
    for name in frame.columns:
        entry = column(name, metric_id)
        header, values = headers.get(name) or entry.header, frame[name]
        spec = _digits(formats.get(name) or entry.format)
        if pd.api.types.is_bool_dtype(values):
            values = values.map({True: "是", False: "否"})
        elif pd.api.types.is_datetime64_any_dtype(values):
            # A day without a time (a month's first day) is written as a date, as the screen writes it.
            values = values.dt.date if (values.dropna() == values.dropna().dt.normalize()).all() else values.dt.floor("min")
        elif spec is not None and pd.api.types.is_numeric_dtype(values):
            decimals, share = spec
            values = pd.array([None if pd.isna(v) else float(_rounded(v, decimals, share)) for v in values], dtype="Float64")
            values = values.astype("Int64") if decimals == 0 else values
            if share and "%" not in header:
                header += "(%)"
        out[header] = values
    result = pd.DataFrame(out, index=frame.index)
    if len(result.columns) != len(frame.columns):
        raise RuntimeError(f"two columns under the same header: {list(frame.columns)} -> {list(out)}")
    return result.reset_index(drop=True)
