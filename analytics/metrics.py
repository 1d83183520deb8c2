"""The metric dictionary: every figure the dashboard shows, with its one definition.

The UI shows `name` and `definition` beside each number; docs/metrics.md is rendered from
this registry (`python -m analytics metric --docs docs/metrics.md`), and a test keeps the two
equal.
"""

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from . import (access, appeals, city, credit, evaluation, facilities, maps, overview, profile, redemptions, settings, tickets,
               volunteers, workdays)
from .period import COUNTY, Area, Period, Scope, parse_period


@dataclass(frozen=True)
class Metric:
    id: str
    area: str
    name: str
    definition: str
    unit: str
    function: Callable
    kwargs: dict = field(default_factory=dict)
    needs_grid: bool = False
    city: bool = False  # a figure of a city's counties: function(con, city, period, areas), see analytics.city

    @property
    def personal(self) -> bool:
        """Lists people (masked), or text that may describe them: access.METRIC_PERMISSIONS says so."""
        return access.metric_permission(self.id) == "personal_lists"

    @property
    def function_name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    def compute(self, con, period, scope: Scope | Area = COUNTY, grid_id: str | None = None, user=None,
                names: bool = False, **options) -> pd.DataFrame:
        """The metric for the period and scope; on a user's behalf (access.User), within the
        user's scope, only if the user may see it and with only the columns the user may see.
        names: unmasked names, for a detail view (grid-ledger), only for a role that needs them."""
        area = access.effective_scope(user, scope, con)
        if self.needs_grid and grid_id:
            access.effective_scope(user, Scope(grids=(grid_id,)), con)
        access.authorize(user, self.id, area, names=names)
        return access.visible(user, self.call(con, parse_period(period), area, grid_id=grid_id, names=names, **options))

    def call(self, con, period: Period, area: Area, grid_id: str | None = None, names: bool = False,
             **options) -> pd.DataFrame:
        """The metric's function on values already resolved and authorized (see compute)."""
        if self.city:
            raise ValueError(f"{self.name}({self.id})是全市指标,请用 python -m analytics city metric {self.id} 计算")
        kwargs = dict(self.kwargs, **options)
        if names:
            kwargs["names"] = True
        if self.needs_grid:
            if not grid_id:
                raise ValueError(f"指标 {self.id} 需要指定网格编号")
            return self.function(con, grid_id, period, area, **kwargs)
        return self.function(con, period, area, **kwargs)


def _profile(con, period, scope):
    """profile.county_profile of the places in scope as of the period's last day."""
    return profile.county_profile(con, as_of=period.last_day, scope=scope)


def _grid_team(con, grid_id, period, scope):
    """maps.grid_team with the grid first, as the registry calls grid metrics."""
    return maps.grid_team(con, period, scope, grid_id=grid_id)


_M = Metric
_LADDER = "、".join(f"{label}≥{low}" if low is not None else f"{label}<{prev}"
                   for (_, label, low), (_, _, prev) in zip(settings.CREDIT_LEVELS, [(0, 0, None)] + settings.CREDIT_LEVELS))
_RED_FLAGS = settings.RED_FLAGS_PER_COMMUNITY
_WEIGHTS = "、".join(f"{evaluation.COMPONENTS[k]}{v:.0%}" for k, v in settings.EVALUATION_WEIGHTS.items())
REGISTRY: list[Metric] = [
    _M("county-profile", "总览", "治理架构与服务力量",
       "所选范围内的社区、网格党支部、红色楼长、红色单元长、志愿服务队及队员、红色议事厅、庭院议事会、物业企业党支部、"
       "新就业群体服务站点的数量(统计期末日在任、已建成;只登记到社区的阵地和服务队计入该社区每个网格),"
       "全县的信用应用场景数(全县居民均可使用);今年以来协商议事单数与积分兑换人次从当年1月1日起算至统计期末日。",
       "个/名/支/人/单/处/人次", _profile),
    # Credit
    _M("grid-credit-ranking", "信用积分", "网格信用积分排名",
       "居民数=统计期末日登记在该网格的居民人数(按居住登记变动,迁入迁出以登记日期为准);积分=这些居民在统计期内发生的个人积分净和,冲正记录以负分计入;"
       "人均积分=积分÷居民数;名次=在所属社区内按人均积分从高到低排名(并列同名次,下一名次跳过);无居民的网格不参与排名;"
       f"上期名次为上一统计期的名次,名次变化=上期名次−本期名次(正数为上升);名次不超过每社区红旗网格数(当前设置为{_RED_FLAGS}个)者为红旗网格。"
       "季度结果冻结(正式公布)后,该季度显示冻结时的正式结果:按截止时间之前记录的积分和季度最后一天的居住登记计算。",
       "分/人", credit.grid_credit_ranking),
    _M("credit-summary", "信用积分", "居民人均信用积分",
       "范围内各网格登记居民在统计期内发生的个人积分净和(冲正以负分计入)÷登记居民总数;与网格排名同一口径。",
       "分/人", overview.credit_summary),
    _M("red-flag-grids", "信用积分", "红旗网格",
       f"网格信用积分排名中名次不超过每社区红旗网格数(当前设置为{_RED_FLAGS}个,并列均入选)的网格。"
       "评选前核实:有积分异常提示、尚未处理完毕的异议申诉或与指标目录不符(未标为调整)的积分记录的,标为待核实;"
       + ("按设置仍予评定并标明待核实。" if settings.AWARD_PENDING_CHECK == "award" else
          "按设置暂缓评定,列为待核实,由本社区没有待核实事项的下一名网格递补。"), "分/人", credit.red_flag_grids),
    _M("excellent-grid-workers", "信用积分", "优秀网格员",
       "统计期末在任的红旗网格专职网格员,并列出该网格统计期内结果公开的工单数、办结用时中位数和评价均分;"
       "如设定了评价下限,未达到者标为不符合。姓名脱敏。季度结果冻结后显示冻结时的正式名单。", "人", credit.excellent_grid_workers),
    _M("credit-levels", "信用积分", "居民信用等级分布",
       f"按统计期末的信用余额(截至期末全部积分净和)把居民分入等级阶梯:{_LADDER}(阈值在设置中统一设定);"
       "给出各级人数与占比。", "人", credit.credit_level_distribution),
    _M("monthly-publication", "信用积分", "一月一公示名单",
       "统计期(通常为一个月)内积分有变动的居民:本期记录数、本期净得分、截至期末余额与等级;姓名脱敏(张*明),不含证件号和电话。",
       "分", credit.monthly_publication),
    _M("red-grey-list", "信用积分", "法人单位信用积分红灰榜",
       f"统计期(通常为一个月)内:净得分≥{settings.RED_LIST_MIN_POINTS}且无扣分的单位入红榜;单次扣分达{-settings.GREY_LIST_DEDUCTION}分及以上"
       "或净得分为负的单位入灰榜(规则在设置中统一设定)。",
       "分", credit.red_grey_list),
    _M("points-by-category-group", "信用积分", "积分按指标类别和考核群体",
       "统计期内积分记录按指标类别(疫情防控、安全生产、综合治理、志愿服务等)与8个考核群体(社区工作者、网格员、党员、居民、"
       "市场主体、共建单位、物业企业、社会组织)汇总的对象数、记录数、加分、扣分和净分;个人按社区工作者、网格员、党员、居民的先后归入一个群体。",
       "分", credit.points_by_category_group),
    _M("grid-team", "网格地图", "网格服务团队",
       "统计期末日在任的网格长、专职网格员和下沉干部,以及该网格的志愿服务队和队员人数;姓名脱敏。", "人", _grid_team,
       needs_grid=True),
    _M("grid-ledger", "信用积分", "网格积分明细",
       "某网格居民在统计期内的全部积分记录(含冲正),合计等于排名中的积分;姓名脱敏。", "分", credit.grid_ledger, needs_grid=True),
    _M("integrity-flags", "信用积分", "积分异常提示",
       f"对统计期内加分不少于{settings.INTEGRITY_MIN_POINTS}分的网格检查:期末{settings.QUARTER_END_DAYS}天加分占比超过"
       f"{settings.QUARTER_END_SHARE:.0%}(期末突击赋分);一名记录人赋分占比超过{settings.RECORDER_SHARE:.0%}(单人集中赋分);"
       f"人均积分超过前四期平均的{settings.HISTORY_RATIO:g}倍(远超历史水平)。阈值在设置中统一设定,提示供评选前核实;"
       "有权的角色核实后标为已核实(记下核实人、时间和说明),该提示不再使红旗网格待核实。", "项", credit.integrity_flags),
    _M("appeals", "信用积分", "异议申诉",
       f"统计期内提出的异议申诉(对一条积分记录,或对某季度某网格的排名),按网格列出:申诉对象、提出人(脱敏)、理由、处理状态"
       f"(待处理、已受理、支持、驳回)和处理结果。公示期:每月公示于次月第一个工作日张贴,为期{settings.PUBLICITY_WORKDAYS}个工作日"
       "(按节假日安排计算);申诉所涉公示为积分记录发生当月的公示,排名为该季度最后一个月的公示。应处理日期为公示期最后一天,"
       f"公示期过后提出的为提出之日起第{settings.PUBLICITY_WORKDAYS}个工作日;在此之前支持或驳回为按时处理,尚未处理而已过应处理日期为逾期。"
       "申诉成立时以一条冲正或更正的积分记录(记有申诉编号)更正台账。", "件", appeals.appeal_list),
    _M("appeal-summary", "信用积分", "异议申诉处理情况",
       "统计期内提出的异议申诉按社区汇总:提出件数、已处理(支持或驳回)件数、按时处理件数及占已处理的比例、支持件数、"
       "尚未处理完毕(待处理、已受理)件数和其中逾期件数。口径同“异议申诉”。", "件", appeals.appeal_summary),
    # Tickets
    _M("ticket-resolution", "协商议事", "工单办结用时(按网格)",
       "统计期内结果公开的工单,从居民提单到结果公开的天数:单数、中位数、第90百分位(线性插值)和平均值,按网格。"
       "重新办理的工单以最后一次公开为准。", "天", tickets.ticket_resolution, {"by": "grid"}),
    _M("ticket-resolution-community", "协商议事", "工单办结用时(按社区)",
       "同“工单办结用时”,按社区汇总。", "天", tickets.ticket_resolution, {"by": "community"}),
    _M("ticket-resolution-category", "协商议事", "工单办结用时(按类别)",
       "同“工单办结用时”,按问题类别汇总。", "天", tickets.ticket_resolution, {"by": "category"}),
    _M("ticket-resolution-channel", "协商议事", "工单办结用时(按渠道)",
       "同“工单办结用时”,按提单渠道汇总。", "天", tickets.ticket_resolution, {"by": "channel"}),
    _M("ticket-resolution-county", "协商议事", "工单办结用时(全县)",
       "同“工单办结用时”,全部范围合计。", "天", tickets.ticket_resolution, {"by": "county"}),
    _M("ticket-step-durations", "协商议事", "各环节用时与瓶颈",
       "统计期内结果公开的工单,相邻两步(提单→接单、接单→议单、议单→定单、定单→评单、评单→公开)之间的小时数中位数和第90百分位;"
       "中位数最长的环节为瓶颈。跳过某一步的工单不计入其前后两个环节。", "小时", tickets.step_durations),
    _M("ticket-funnel", "协商议事", "五单一公开漏斗",
       "统计期内提单的工单中,到目前为止走到每一步的单数及占提单数的比例。", "单", tickets.ticket_funnel),
    _M("ticket-ratings", "协商议事", "党员群众评单",
       "统计期内结果公开的工单:有评价的单数与占比、评价条数和平均分(1-5分),分全部、党员、群众。", "分", tickets.ticket_ratings),
    _M("decision-publication", "协商议事", "定单结果公开率",
       "统计期内社区党委定单的工单中已结果公开的比例,及从定单到公开的天数中位数和第90百分位。", "%、天", tickets.decision_publication),
    _M("ticket-escalations", "协商议事", "网格约请职能部门",
       "统计期内发生网格约请的工单,按约请部门统计单数、已办结单数和办结用时中位数。", "单、天", tickets.escalations),
    _M("ticket-backlog", "协商议事", "在办工单(按环节)",
       "统计期末仍未结果公开的工单,按当前所处环节统计单数与已历时天数(中位数、最长)。", "单、天", tickets.ticket_backlog),
    _M("ticket-list", "协商议事", "工单清单",
       "统计期内提单的工单(最新的在前,最多500单),可按编号、标题或网格名称检索:类别、渠道、所属网格、状态、提单与公开时间、"
       "办结用时(天)和约请部门。", "单", tickets.ticket_list),
    _M("open-tickets", "协商议事", "在办工单清单",
       "统计期末仍未结果公开的工单明细,按提单时间从早到晚。", "单", tickets.open_tickets),
    _M("deadline-status", "协商议事", "办理时限状态",
       "截至数据截至日(而非统计期末:列出的是现在要办的)仍在办的工单下一步骤的时限(按工作日计,扣除法定节假日、计入调休上班日;"
       "各步骤及类别时限在设置中统一设定):"
       f"已用时占时限的比例,超过100%为超期,达到{settings.NEAR_DUE_SHARE:.0%}为临期;超期倍数=已用时÷时限。", "工作日", workdays.deadline_status),
    _M("overdue-tickets", "协商议事", "超期工单", "办理时限状态为超期的工单,按超期倍数从高到低。", "单", workdays.overdue_tickets),
    _M("near-due-tickets", "协商议事", "临期工单", f"办理时限状态为临期(已用时达到时限的{settings.NEAR_DUE_SHARE:.0%})的工单。", "单", workdays.near_due_tickets),
    _M("deadline-compliance", "协商议事", "按时办结率",
       "统计期内完成的各步骤中在时限内完成的比例及用时中位数(工作日)。", "%、工作日", workdays.deadline_compliance),
    _M("on-time-by-grid", "协商议事", "按时办结率(按网格)",
       "统计期内各网格完成的步骤中在时限内完成的比例(工作日,时限同“办理时限状态”)。", "%", workdays.on_time_by_grid),
    _M("rework-by-grid", "协商议事", "返工率(按网格)",
       "统计期内结果公开的工单中,公开之后又被重新打开(返工)的比例。", "%", tickets.rework_by_grid),
    _M("grid-evaluation", "信用积分", "网格综合考评",
       "各网格四项得分(0–100):信用=本网格居民人均积分÷本社区最高的人均积分;按时=按时办结率;返工=1−返工率;"
       f"满意=党员群众评单均分÷5。综合得分=各项得分按设置中的权重({_WEIGHTS})加权平均(某项无数据时按其余各项的权重计算);"
       "名次=在所属社区内按综合得分从高到低排名。红旗网格仍按居民人均信用积分评定。",
       "分", evaluation.grid_evaluation),
    _M("worker-service", "协商议事", "网格员办理质量",
       "统计期末在任的各网格专职网格员,及其网格在统计期内的按时办结率和返工率(姓名已脱敏)。", "%",
       evaluation.worker_service),
    _M("data-quality-flags", "协商议事", "数据质量提示",
       f"统计期内有问题的记录,每个问题一行并说明原因:办结过快(提单到公开不足{settings.TOO_FAST_MINUTES}分钟)、步骤顺序错乱、缺少或不存在的网格、"
       "缺少提单记录、人员不在登记册、积分对象或指标不存在、冲正对象不存在、积分记录编号重复(其他程序或直接写库造成)、积分与指标目录的分值或有效期不符(含已批准的调整)。", "条",
       tickets.data_quality_flags),
    _M("calendar-coverage", "协商议事", "节假日安排录入情况",
       "从有工单数据的第一年到统计期的下一年,逐年列出数据库中国务院节假日安排的录入情况(放假日数、调休上班日数);"
       "未录入的年份按周一至周五计算工作日,凡办理时限涉及该年的页面都会提示。", "天", workdays.calendar_coverage),
    # Redemptions
    _M("redemptions-by-scenario", "积分兑换", "积分兑换(按场景)",
       "统计期内各应用场景的兑换人次、兑换人数、消耗积分和折合金额。", "人次、分、元", redemptions.redemptions_by_scenario),
    _M("redemptions-by-category", "积分兑换", "积分兑换(按类别)",
       "统计期内各类应用场景(生活物品、出行、就医、旅游、购物、信贷、水电气暖、优惠补贴)的兑换人次、人数、消耗积分和折合金额。",
       "人次、分、元", redemptions.redemptions_by_category),
    _M("redemption-uptake", "积分兑换", "各社区兑换参与率",
       "统计期内各社区有兑换的居民人数占登记居民人数的比例,及兑换人次和消耗积分。", "%", redemptions.redemption_uptake),
    _M("outstanding-points", "积分兑换", "未兑换积分",
       "截至统计期末各社区居民累计净得积分减去已兑换消耗的积分,及人均未兑换积分。", "分", redemptions.outstanding_points),
    # Volunteers
    _M("volunteer-summary", "志愿服务", "志愿服务概况",
       "统计期内参加过志愿服务的人数、服务次数、服务时长、人均时长,以及其中党员和志愿服务队队员的占比。", "人、次、小时",
       volunteers.volunteer_summary),
    *[
        _M(f"volunteers-by-{by}", "志愿服务", f"志愿服务(按{label})",
           f"统计期内按{label}统计的志愿者人数、服务次数、服务时长和党员占比。", "人、次、小时",
           volunteers.volunteer_breakdown, {"by": by})
        for by, label in (("team", "服务队"), ("grid", "网格"), ("community", "社区"), ("month", "月份"), ("kind", "服务类型"))
    ],
    # Service
    _M("facility-counts", "服务阵地", "服务阵地数量",
       "统计期末日已建成的各类服务阵地(党群服务中心、红色驿站、议事厅、庭院议事会、充电车棚、充电桩、新就业群体服务站、网格之家、"
       "长者食堂)按社区的数量与容量。", "处", facilities.facility_counts),
    _M("service-coverage", "服务阵地", "10分钟党群服务圈覆盖率",
       f"楼栋到最近的党群服务中心或红色驿站(统计期末日已建成)的距离不超过{settings.SERVICE_CIRCLE_METRES}米(设置)即为覆盖:"
       "未导入路网时为直线距离;导入道路与步行路网后为沿路网的步行距离(楼栋与服务点各以直线接入最近的道路,"
       "路网到不了的楼栋不算覆盖)。按网格给出覆盖的楼栋数、户数及占比。",
       "%", facilities.service_coverage),
    _M("uncovered-buildings", "服务阵地", "服务圈外的楼栋",
       "不在10分钟党群服务圈内的楼栋及其到最近服务点的距离(直线或沿路网步行,同覆盖率),按户数从多到少。", "米", facilities.uncovered_buildings),
    _M("charging-supply", "服务阵地", "充电供给与需求",
       "各网格统计期末已建成的充电桩和充电车棚按充电车位计:车棚按登记的车位数(未登记车位数的车棚不计,单列),"
       "充电桩按登记的端口数、未登记的计1个;每百户充电车位=车位数÷户数×100;与统计期内停车充电类工单数及每百户工单数并列。"
       "供需差=每百户充电车位−每百户停车充电工单,小于0(统计期内的停车充电工单多于充电车位)的网格为充电供给不足。",
       "个/百户、单/百户", facilities.charging_supply),
    _M("property-scores", "服务阵地", "物业服务三评两公示",
       "统计期内各季度物业企业的居民评议、社区评议、街道评议得分及平均分(百分制)。", "分", facilities.property_scores),
    _M("micro-wishes", "服务阵地", "微心愿",
       "统计期内各社区征集的微心愿数、已落实数与落实率、落实用时中位数(天),及期末仍未落实的数量。", "个、天",
       facilities.micro_wish_summary),
]

# A city's figures (analytics.city): each county's own figures side by side, and rankings across its
# counties by the county's definitions; the 县区对比 page and `python -m analytics city metric` run them.
_CITY = "县区对比"
CITY_REGISTRY: list[Metric] = [
    _M("county-headlines", _CITY, "各县区主要指标",
       "每个县区一行:该县区“总览”的主要指标(办结工单、办结用时中位数、居民人均信用积分、参与志愿服务、积分兑换、10分钟服务圈覆盖户数),"
       "由该县区自己的数据库以“总览”的同一函数、同一统计期计算,与单独查看该县区时完全相同;各县区不相加、不平均。",
       "单、天、分/人、人、人次、%", city.county_headlines, city=True),
    _M("county-profiles", _CITY, "各县区治理架构与服务力量",
       "各县区并列,列出该县区的“治理架构与服务力量”(社区、网格党支部、红色楼长、红色单元长、志愿服务队等的数量,"
       "统计期末日在任、已建成),定义同“总览”的治理架构与服务力量(指标编号 county-profile),由该县区自己的数据库计算。", "个/名/支/人/单/处/人次", city.county_profiles, city=True),
    _M("city-grid-ranking", _CITY, "全市网格人均信用积分排名",
       "各县区的全部网格放在一起,按居民人均信用积分从高到低排出全市名次(人均积分先取 9 位小数,并列同名次,下一名次跳过)。"
       "每个网格的居民数、积分、人均积分、社区内名次和红旗网格与该县区的“网格信用积分排名”(指标编号 grid-credit-ranking)完全相同:"
       "社区内名次和红旗网格仍在本社区内评定。", "分/人", city.grid_ranking, city=True),
    _M("city-community-ranking", _CITY, "全市社区人均信用积分排名",
       "社区人均积分=社区各网格居民在统计期内的个人积分净和之和÷这些网格的登记居民数之和,与“居民人均信用积分”"
       "(指标编号 credit-summary)同一口径;各县区的全部社区放在一起,按社区人均积分从高到低排出全市名次(并列同名次,下一名次跳过)。", "分/人",
       city.community_ranking, city=True),
]

BY_ID = {m.id: m for m in REGISTRY + CITY_REGISTRY}


def get(metric_id: str) -> Metric:
    try:
        return BY_ID[metric_id]
    except KeyError:
        raise ValueError(f"未知的指标 {metric_id!r}。用 python -m analytics metric --list 查看全部指标") from None


def render_markdown() -> str:
    lines = [
        "# 指标说明 Metric dictionary",
        "",
        "每个指标只有一个定义,写在 `analytics/metrics.py` 的登记表中,页面、导出和命令行都由同一函数计算。",
        "本文件由 `python -m analytics metric --docs docs/metrics.md` 生成,请勿手工修改。",
        "Each metric has one definition, in the registry of `analytics/metrics.py`; this file is generated from it.",
        "",
        "统计期 period: 季度 `2026Q3`、月份 `2026-09` 或日期范围 `2026-07-01..2026-09-30`(含首尾两日)。",
        "时间落在 [期初, 期末) 内即属于该统计期。",
        "",
    ]
    listed = REGISTRY + CITY_REGISTRY
    for area in dict.fromkeys(m.area for m in listed):
        lines += [f"## {area}", ""]
        for m in (m for m in listed if m.area == area):
            lines += [
                f"### {m.name} `{m.id}`",
                "",
                m.definition,
                "",
                f"- 单位 unit: {m.unit}",
                f"- 函数 function: `{m.function_name}`" + (f" ({', '.join(f'{k}={v!r}' for k, v in m.kwargs.items())})"
                                                          if m.kwargs else ""),
                "",
            ]
    return "\n".join(lines)


def dictionary(search: str = "") -> pd.DataFrame:
    """The registry as a table (area, name, id, definition, unit, function, command: the command line
    that computes it), filtered to the metrics whose name, id, area or definition contains `search`."""
    rows = [(m.area, m.name, m.id, m.definition, m.unit, m.function_name,
             f"python -m analytics {'city ' if m.city else ''}metric {m.id} --period 2026Q3") for m in REGISTRY + CITY_REGISTRY]
    frame = pd.DataFrame(rows, columns=["area", "name", "id", "definition", "unit", "function", "command"])
    text = search.strip().lower()
    if text:
        hit = frame[["area", "name", "id", "definition"]].apply(lambda c: c.str.lower().str.contains(text, regex=False))
        frame = frame[hit.any(axis=1)]
    return frame.reset_index(drop=True)
