"""The quarterly review (季度考评): what the committees look at when they rank the grids, name the
红旗网格 and 优秀网格员 and decide the rewards. One definition, used by the 季度考评 page, its
meeting mode and every file of the meeting pack, so that screen and paper agree to the digit.

Every table here is a registered metric (analytics.metrics) computed for the quarter and scope,
with its columns chosen and named in Chinese; nothing is computed twice.
"""

from dataclasses import dataclass

import pandas as pd

from . import access, metrics, overview, settings
from . import columns as dictionary
from .official import Official, latest as latest_official
from .period import COUNTY, Area, Period, Scope, parse_period


@dataclass(frozen=True)
class Table:
    """A metric's rows as the meeting sees them: columns (name -> Chinese header), their numbers
    formatted as the column dictionary says."""
    key: str
    title: str
    metric_id: str
    columns: dict[str, str]
    note: str = ""

    @property
    def formats(self) -> dict[str, str]:
        """name -> Python format spec of each number column, from the column dictionary."""
        specs = {name: dictionary.column(name, self.metric_id).format for name in self.columns}
        return {name: spec for name, spec in specs.items() if spec}


RANKING = Table("ranking", "网格排名", "grid-credit-ranking",
                {"community_name": "社区", "rank": "名次", "grid_name": "网格", "award_label": "评选结果",
                 "avg_credit": "人均积分", "rank_change": "名次变化", "residents": "居民", "red_flag": "红旗网格"},
                note="名次变化:正数为上升。")
RED_FLAGS = Table("red_flags", "红旗网格", "red-flag-grids",
                  {"community_name": "社区", "grid_name": "网格", "avg_credit": "人均积分", "rank": "名次",
                   "residents": "居民", "award_label": "评选结果", "check_reason": "待核实事项"},
                  note=f"每个社区人均积分名列前{settings.RED_FLAGS_PER_COMMUNITY}的网格。" + (
                      "有积分异常、未处理完毕的异议申诉或不符指标目录的记录的,标为待核实,评定后须核实。"
                      if settings.AWARD_PENDING_CHECK == "award" else
                      "有积分异常、未处理完毕的异议申诉或不符指标目录的记录的,暂缓评定(待核实),由下一名递补。"))
WORKERS = Table("workers", "优秀网格员", "excellent-grid-workers",
                {"community_name": "社区", "grid_name": "红旗网格", "worker_name": "网格员", "avg_credit": "人均积分",
                 "tickets": "结果公开工单", "median_days": "办结用时中位数(天)", "mean_score": "评价均分",
                 "award_label": "评选结果"},
                note="姓名已脱敏。所在网格待核实的,网格员同样待核实。")
FALLERS = Table("fallers", "名次下降最多的网格", "grid-credit-ranking",
                {"community_name": "社区", "grid_name": "网格", "prev_rank": "上期名次", "rank": "本期名次",
                 "rank_change": "名次变化", "avg_credit": "人均积分"}, note="名次下降3位及以上的网格,按下降多少排列。")
TICKETS = Table("tickets", "各社区协商议事", "ticket-resolution-community",
                {"community_name": "社区", "tickets": "结果公开工单", "median_days": "办结用时中位数(天)",
                 "p90_days": "90%分位(天)"})
VOLUNTEERS = Table("volunteers", "各社区志愿服务", "volunteers-by-community",
                   {"label": "社区", "active_volunteers": "参与人数", "activities": "服务次数", "hours": "服务时长(小时)",
                    "party_member_share": "党员占比"})
REDEMPTIONS = Table("redemptions", "积分兑换", "redemptions-by-category",
                    {"category_label": "类别", "redemptions": "兑换人次", "redeemers": "兑换人数",
                     "points_spent": "消耗积分", "value_yuan": "折合(元)"})
COVERAGE = Table("coverage", "服务圈覆盖不足的网格", "service-coverage",
                 {"community_name": "社区", "grid_name": "网格", "households": "户数",
                  "households_covered": "覆盖户数", "household_share": "覆盖户数占比"},
                 note="10分钟党群服务圈覆盖户数不足100%的网格,从低到高。")
FLAGS = Table("flags", "评选前须核实的积分异常", "integrity-flags",
              {"community_name": "社区", "grid_name": "网格", "flag_label": "提示", "reason": "说明",
               "check_label": "核实", "check_note": "核实说明"},
              note="红旗网格和优秀网格员确认之前,先核实这些网格的积分记录;已核实的提示不再影响评选。")
OVERDUE = Table("overdue", "超期未办的工单", "overdue-tickets",
                {"ticket_id": "工单编号", "grid_name": "网格", "category_label": "类别",
                 "current_step_label": "当前环节", "next_step_label": "待办环节", "age_days": "已历时(天)"})
EVALUATION = Table("evaluation", "综合考评各项得分", "grid-evaluation",
                   {"grid_name": "网格", "composite": "综合得分", "rank": "综合名次", "credit_score": "信用得分",
                    "on_time_score": "按时得分", "rework_score": "返工得分", "satisfaction_score": "满意得分"},
                   note="各项得分0–100,综合得分为其加权平均(权重见指标说明);某项无数据时按其余各项计算。")
# The credit ranking with the composite evaluation beside it: each component's figure, so a leader
# sees why a grid scored as it did. 红旗网格 stay on credit (settings.EVALUATION_WEIGHTS).
RANKED = Table("ranked", "网格排名与综合考评", "grid-evaluation",
               {"rank": "名次", "grid_name": "网格", "award_label": "评选结果", "avg_credit": "人均积分",
                "rank_change": "名次变化", "red_flag": "红旗网格", "composite": "综合得分", "composite_rank": "综合名次",
                "on_time_share": "按时办结率", "rework_share": "返工率", "mean_score": "评单均分"},
               note="名次按居民人均信用积分(红旗网格据此评定),名次变化正数为上升;综合得分按信用、按时、返工、满意四项加权。")
APPEALS = Table("appeals", "异议申诉处理情况", "appeal-summary",
                {"community_name": "社区", "raised": "提出", "decided": "已处理", "in_time": "按时处理",
                 "in_time_share": "按时处理率", "upheld": "支持", "open_appeals": "未处理完毕", "overdue": "逾期"},
                note=f"本季度提出的异议申诉;按时处理:在所涉公示期(次月第一个工作日起{settings.PUBLICITY_WORKDAYS}个工作日)内支持或驳回。")
PUBLICATION = Table("publication", "一月一公示", "monthly-publication",
                    {"community_name": "社区", "grid_name": "网格", "name": "姓名", "events": "记录数",
                     "points": "本月积分", "balance": "累计余额", "level_label": "信用等级"}, note="姓名已脱敏。")
RED_GREY = Table("red_grey", "法人单位红灰榜", "red-grey-list",
                 {"list_label": "榜单", "org_name": "单位", "org_type_label": "类型", "community_name": "社区",
                  "points": "本月积分", "reason": "依据"})


@dataclass
class Review:
    quarter: Period
    scope: Area
    headline: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    user: access.User | None = None  # on whose behalf: the scope and the lists it may hold
    official: Official | None = None  # the frozen result the ranking and awards show, if any

    @property
    def status(self) -> str:
        """What the ranking and awards are: the official result (frozen) or today's computation."""
        return self.official.label if self.official else "实时计算结果(尚未冻结公布)"

    @property
    def scope_label(self) -> str:
        return self.scope.label

    def communities(self) -> list[tuple[str, str]]:
        ranking = self.tables["ranking"]
        return list(dict.fromkeys(zip(ranking["community_id"], ranking["community_name"])))


def rows(con, table: Table, period, scope: Scope = COUNTY, user: access.User | None = None) -> pd.DataFrame:
    """The metric's rows for the period and scope (every column, so a caller can still filter).
    A list of people that the user may not see comes back with its columns and no rows."""
    metric = metrics.get(table.metric_id)
    if not access.may_see(user, metric.id):
        return metric.compute(con, period, access.effective_scope(user, scope, con)).iloc[0:0]
    return metric.compute(con, period, scope, user=user)


def fallers(ranking: pd.DataFrame, min_drop: int = 3) -> pd.DataFrame:
    """Grids that fell min_drop places or more since the previous period, the biggest fall first."""
    fell = ranking[ranking["rank_change"].fillna(0) <= -min_drop]
    return fell.sort_values(["rank_change", "community_name", "rank"]).reset_index(drop=True)


def beside(ranking: pd.DataFrame, evaluation: pd.DataFrame) -> pd.DataFrame:
    """The ranking's rows in its order with the composite evaluation's figures and scores;
    composite_rank is the evaluation's rank within the community."""
    figures = evaluation.drop(columns=["community_id", "community_name", "grid_name", "avg_credit", "credit_rank"])
    return ranking.merge(figures.rename(columns={"rank": "composite_rank"}), on="grid_id", how="left")


def short_grid_names(frame: pd.DataFrame) -> pd.DataFrame:
    """grid_name without its community's name in front ("东岳国际社区第3网格" -> "第3网格"), for a
    table that names the community in a column or in its title."""
    out = frame.copy()
    out["grid_name"] = [g[len(c):] if isinstance(g, str) and isinstance(c, str) and g.startswith(c) and g != c else g
                        for g, c in zip(out["grid_name"], out["community_name"])]
    return out


def withheld(red_flags: pd.DataFrame) -> list[str]:
    """The grids withheld pending the check (awards: mode withhold), each as "网格(what to check)"."""
    rows = red_flags[red_flags["pending"] & ~red_flags["red_flag"]]
    return [f"{g}({why.replace(';', '、')})" for g, why in zip(rows["grid_name"], rows["check_reason"])]


def coverage_gaps(coverage: pd.DataFrame) -> pd.DataFrame:
    return coverage[coverage["household_share"] < 1].sort_values("household_share").reset_index(drop=True)


def quarter_review(con, quarter, scope: Scope | Area = COUNTY, user: access.User | None = None) -> Review:
    """Everything the quarterly meeting reviews, for a quarter ('2026Q3') and a scope, on a user's
    behalf when one is given (the scope narrowed to the user's, lists of people only if allowed).
    A frozen quarter shows its official ranking, red-flag grids and excellent workers (review.official)."""
    quarter = parse_period(quarter)
    if quarter.kind != "quarter":
        raise ValueError(f"季度考评按季度进行,请给出季度(如 2026Q3),收到: {quarter.label}")
    scope = access.effective_scope(user, scope, con)
    tables = {t.key: rows(con, t, quarter, scope, user) for t in (RANKING, RED_FLAGS, WORKERS, TICKETS, VOLUNTEERS,
                                                             REDEMPTIONS, COVERAGE, FLAGS, OVERDUE,
                                                             EVALUATION, APPEALS)}
    tables["ranking"] = tables["ranking"].sort_values(["community_name", "rank", "grid_name"]).reset_index(drop=True)
    tables["fallers"] = fallers(tables["ranking"])
    tables["coverage"] = coverage_gaps(tables["coverage"])
    tables["ranked"] = beside(tables["ranking"], tables["evaluation"])
    return Review(quarter, scope, overview.headline(con, quarter, scope), tables, user, latest_official(con, quarter))


def monthly_lists(con, month, scope: Scope = COUNTY, user: access.User | None = None) -> dict[str, pd.DataFrame]:
    """一月一公示 and 红灰榜 for one month, as posted (names masked by the metrics themselves)."""
    month = parse_period(month)
    if month.kind != "month":
        raise ValueError(f"公示按月进行,请给出月份(如 2026-09),收到: {month.label}")
    scope = access.effective_scope(user, scope, con)
    return {"publication": rows(con, PUBLICATION, month, scope, user), "red_grey": rows(con, RED_GREY, month, scope, user)}


def headline_numbers(row) -> tuple:
    """A headline figure's value and previous value as numbers in the unit shown (a share in per cent),
    rounded as shown."""
    scale = 100 if row.unit == "%" else 1
    digits = dictionary._digits(dictionary.headline_spec(row.key, row.unit))[0]
    return tuple(None if v is None or pd.isna(v) else round(v * scale, digits) for v in (row.value, row.previous))


def headline_text(headline: pd.DataFrame) -> pd.DataFrame:
    """The six headline figures as printed: label, value ("479 单", "97.8%") and change ("较上期 +42 单",
    "较上期 ±0 单", a share's change in percentage points), as the page shows them."""
    out = []
    for row in headline.itertuples():
        spec = dictionary.headline_spec(row.key, row.unit)
        share = row.unit == "%"
        value = dictionary.text(None if row.value is None or not share else row.value * 100, spec) if share \
            else dictionary.text(row.value, spec)
        value = value if value == "—" else (f"{value}%" if share else f"{value} {row.unit}")
        change = ""
        if row.change is not None and not pd.isna(row.change):
            change = f"较{row.compared_with} {dictionary.change_text(row.change, row.unit, spec)}"
        out.append({"key": row.key, "label": row.label, "value": value, "change": change})
    return pd.DataFrame(out)


def shown(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table's columns, renamed to their Chinese headers, values formatted as text as printed."""
    out = frame[list(table.columns)].copy()
    for column in out.columns:
        spec = table.formats.get(column)
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "是", False: ""})
        elif spec:
            out[column] = [dictionary.text(v, spec) for v in out[column]]
        else:
            out[column] = out[column].map(lambda v: "—" if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
    return out.rename(columns=table.columns)
