"""What the importer accepts for each table: fields with Chinese headers and English aliases,
types, required values, allowed codes (their Chinese labels accepted too), ranges, references,
the key that makes a re-import idempotent, and the load order.

Every SQL identifier the importer writes comes from here, never from a file's header.
"""

from dataclasses import dataclass, replace
from functools import lru_cache

from .. import settings, vocab

# SQL type of each kind; DECIMAL sizes follow the schema.
KINDS = {"text", "int", "bigint", "decimal", "double", "date", "timestamp", "bool"}


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    kind: str = "text"
    sql: str = "VARCHAR"
    required: bool = False
    choices: dict | None = None   # code -> Chinese label
    lo: float | None = None       # inclusive bounds of a number
    hi: float | None = None
    lo_open: bool = False         # lo itself not allowed (hours > 0)
    ref: str | None = None        # table whose key this value must name
    pattern: str | None = None    # regular expression the whole text must match
    pattern_zh: str | None = None
    aliases: tuple = ()
    example: object = None
    note: str = ""                # shown in the template's explanation row

    @property
    def headers(self) -> tuple:
        return (self.name, self.zh) + self.aliases


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    fields: tuple
    key: tuple                    # columns identifying a row for re-imports
    pk: bool = True               # key is the table's PRIMARY KEY
    append_only: bool = False
    aliases: tuple = ()
    order_checks: tuple = ()      # (earlier field, later field): later must not be before earlier
    flat_steps: tuple = ()        # flat ticket template: step timestamp fields, in order
    extra: tuple = ()             # fields accepted by the importer but not stored in this table

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def stored(self) -> tuple:
        return tuple(f for f in self.fields if f.name not in self.extra)


def _t(name, zh, **kw):
    return Field(name, zh, "text", "VARCHAR", **kw)


def _id(name, zh, ref=None, **kw):
    return Field(name, zh, "text", "VARCHAR", ref=ref, **kw)


def _int(name, zh, sql="INTEGER", **kw):
    return Field(name, zh, "int" if sql == "INTEGER" else "bigint", sql, **kw)


def _dec(name, zh, sql="DECIMAL(8, 2)", **kw):
    return Field(name, zh, "decimal", sql, **kw)


def _date(name, zh, **kw):
    return Field(name, zh, "date", "DATE", **kw)


def _ts(name, zh, **kw):
    return Field(name, zh, "timestamp", "TIMESTAMP", **kw)


def _bool(name, zh, **kw):
    return Field(name, zh, "bool", "BOOLEAN", **kw)


def _choice(name, zh, choices, **kw):
    return Field(name, zh, "text", "VARCHAR", choices=choices, **kw)


@lru_cache(maxsize=16)
def county_bounds(code: str | None = None, outline_wkt: str | None = None) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a county's outline (geo.outline: Huantai's by default),
    widened by about 1 km: an outline traced from a consumer map is a few hundred metres off."""
    from ..geo import outline

    minx, miny, maxx, maxy = outline(code, outline_wkt).bounds
    return round(minx - 0.01, 3), round(miny - 0.01, 3), round(maxx + 0.01, 3), round(maxy + 0.01, 3)


def _lat(zh="纬度", **kw):
    _, lo, _, hi = county_bounds()
    return Field("lat", zh, "double", "DOUBLE", lo=lo, hi=hi, aliases=("latitude",), **kw)


def _lon(zh="经度", **kw):
    lo, _, hi, _ = county_bounds()
    return Field("lon", zh, "double", "DOUBLE", lo=lo, hi=hi, aliases=("longitude", "lng"), **kw)


def located(table: "Table", bounds: tuple[float, float, float, float]) -> "Table":
    """The table with its coordinates checked against another county's bounds (county_bounds)."""
    lon_lo, lat_lo, lon_hi, lat_hi = bounds
    within = {"lat": (lat_lo, lat_hi), "lon": (lon_lo, lon_hi)}
    return replace(table, fields=tuple(replace(f, lo=within[f.name][0], hi=within[f.name][1]) if f.name in within else f
                                       for f in table.fields))


CREDIT_LEVEL_CODES = {code: label for code, label, _ in settings.CREDIT_LEVELS}
FLAT_STEPS = ("filed_at", "accepted_at", "discussed_at", "decided_at", "rated_at", "published_at")


def _tables() -> list[Table]:
    return [
        Table("subdistricts", "街道", (
            _id("subdistrict_id", "街道编号", required=True, example="370321002"),
            _t("name", "街道名称", aliases=("街道",), example="少海街道"),
            _t("geometry_wkt", "辖区边界", note="WKT 多边形,可不填"),
        ), key=("subdistrict_id",)),
        Table("communities", "社区", (
            _id("community_id", "社区编号", required=True, example="201"),
            _id("subdistrict_id", "所属街道", ref="subdistricts", aliases=("街道编号",), example="370321002"),
            _t("name", "社区名称", aliases=("社区",), example="东岳国际社区"),
            _lat(example=36.95), _lon(example=118.09),
            _t("geometry_wkt", "社区边界", note="WKT 多边形,可不填"),
        ), key=("community_id",)),
        Table("grids", "网格", (
            _id("grid_id", "网格编号", required=True, example="201-01"),
            _id("community_id", "所属社区", ref="communities", aliases=("社区编号",), example="201"),
            _t("name", "网格名称", example="东岳国际社区第一网格"),
            _t("geometry_wkt", "网格边界", note="WKT 多边形,可不填"),
            _int("households", "户数", lo=0, example=320),
            _t("party_branch", "网格党支部", aliases=("网格党支部名称",), example="东岳国际社区第一网格党支部"),
        ), key=("grid_id",)),
        Table("buildings", "楼栋", (
            _id("building_id", "楼栋编号", required=True, example="B0001"),
            _id("grid_id", "所在网格", ref="grids", aliases=("网格编号",), example="201-01"),
            _t("name", "楼栋名称", example="1号楼"),
            _lat(example=36.951), _lon(example=118.091),
            _int("households", "户数", lo=0, example=48),
            _int("units", "单元数", lo=1, example=3),
        ), key=("building_id",)),
        Table("people", "居民", (
            _id("person_id", "人员编号", required=True, example="P000001"),
            _id("grid_id", "居住网格", ref="grids", aliases=("网格编号",), example="201-01"),
            _id("building_id", "居住楼栋", ref="buildings", aliases=("楼栋编号",), example="B0001"),
            _t("name", "姓名", example="张某某"),
            _choice("gender", "性别", vocab.GENDERS, example="女"),
            _int("birth_year", "出生年份", lo=1900, hi=2100, example=1968),
            _bool("is_party_member", "是否党员", example="是"),
            _choice("party_member_status", "党员类别", vocab.PARTY_MEMBER_STATUS, example="非在职党员",
                    note="仅党员填写"),
            _int("unit_no", "单元号", lo=1, example=2),
        ), key=("person_id",), aliases=("人员", "居民信息")),
        Table("residence_history", "居住登记变动", (
            _id("person_id", "人员编号", ref="people", required=True, example="P000001"),
            _id("grid_id", "居住网格", ref="grids", required=True, aliases=("网格编号",), example="201-01"),
            _id("building_id", "居住楼栋", ref="buildings", aliases=("楼栋编号",), example="B0001"),
            _date("moved_in", "迁入日期", required=True, aliases=("登记日期",), example="2021-05-01"),
            _date("moved_out", "迁出日期", note="仍在本网格居住不填"),
        ), key=("person_id", "moved_in"), order_checks=(("moved_in", "moved_out"),),
            aliases=("迁入迁出", "居住变动", "户籍变动")),
        Table("person_roles", "人员职务", (
            _id("person_id", "人员编号", ref="people", required=True, aliases=("人员",), example="P000001"),
            _choice("role", "职务", vocab.ROLES, required=True, example="红色楼长"),
            _date("since", "任职起始日期", aliases=("起始日期",), example="2024-01-01"),
            _date("until", "任职截止日期", aliases=("截止日期",), note="空表示现任"),
            _id("community_id", "履职社区", ref="communities"),
            _id("grid_id", "履职网格", ref="grids", example="201-01"),
            _id("building_id", "负责楼栋", ref="buildings", example="B0001"),
            _int("unit_no", "负责单元号", lo=1),
            _id("org_id", "所在组织", ref="organizations"),
        ), key=("person_id", "role", "community_id", "grid_id", "building_id", "unit_no", "org_id", "since"),
            pk=False, order_checks=(("since", "until"),), aliases=("职务",)),
        Table("organizations", "组织", (
            _id("org_id", "组织编号", required=True, example="O0001"),
            _id("grid_id", "所在网格", ref="grids", aliases=("网格编号",), example="201-01"),
            _t("name", "名称", aliases=("组织名称",), example="某某便利店"),
            _choice("org_type", "组织类型", vocab.ORG_TYPES, example="商户"),
            _lat(example=36.952), _lon(example=118.092),
            _bool("has_party_branch", "是否建立党支部", example="否"),
        ), key=("org_id",), aliases=("驻区组织",)),
        Table("volunteer_teams", "志愿服务队", (
            _id("team_id", "队伍编号", required=True, example="VT001"),
            _id("community_id", "所属社区", ref="communities", example="201"),
            _t("name", "队伍名称", example="红色堡垒志愿服务队"),
            _id("grid_id", "所属网格", ref="grids", note="社区级队伍不填"),
            _date("founded_on", "成立日期", example="2023-03-05"),
        ), key=("team_id",), aliases=("志愿队伍",)),
        Table("team_members", "队伍成员", (
            _id("team_id", "队伍编号", ref="volunteer_teams", required=True, example="VT001"),
            _id("person_id", "人员编号", ref="people", required=True, example="P000001"),
            _date("joined_on", "加入日期", example="2023-03-05"),
        ), key=("team_id", "person_id"), aliases=("志愿队员",)),
        Table("volunteer_activities", "志愿服务记录", (
            _int("activity_id", "活动编号", sql="BIGINT", required=True, example=900000001),
            _id("person_id", "人员编号", ref="people", required=True, example="P000001"),
            _id("team_id", "队伍编号", ref="volunteer_teams", example="VT001"),
            _id("grid_id", "服务网格", ref="grids", example="201-01"),
            _ts("started_at", "开始时间", required=True, example="2026-03-08 09:00"),
            _dec("hours", "时长(小时)", sql="DECIMAL(5, 1)", lo=0, lo_open=True, hi=24, aliases=("时长", "小时"),
                 example=2.5),
            _choice("kind", "服务类型", vocab.VOLUNTEER_KINDS, example="环境整治"),
        ), key=("activity_id",), aliases=("志愿服务",)),
        Table("credit_indicators", "信用指标", (
            _id("indicator_code", "指标代码", required=True, aliases=("指标编号",), example="GOV-01"),
            _choice("subject_type", "主体类型", vocab.SUBJECT_TYPES, example="个人"),
            _choice("category", "指标类别", vocab.CREDIT_CATEGORIES, example="综合治理"),
            _t("name", "指标名称", example="参与矛盾纠纷调解"),
            _dec("points", "分值", lo=-999999.99, hi=999999.99, example=5),
            _date("valid_from", "生效日期", example="2024-01-01"),
            _date("valid_to", "失效日期"),
        ), key=("indicator_code",), order_checks=(("valid_from", "valid_to"),), aliases=("信用信息指标目录", "指标目录")),
        Table("credit_events", "信用积分记录", (
            _int("event_id", "记录编号", sql="BIGINT", required=True, aliases=("积分记录编号",), example=900000001),
            _choice("subject_type", "主体类型", vocab.SUBJECT_TYPES, required=True, example="个人"),
            _id("subject_id", "主体编号", required=True, ref="subject", example="P000001",
                note="个人填人员编号,组织填组织编号"),
            _id("indicator_code", "指标代码", ref="credit_indicators", example="GOV-01"),
            _dec("points", "积分", required=True, lo=-999999.99, hi=999999.99, aliases=("分值",), example=5),
            _ts("occurred_at", "发生时间", required=True, example="2026-09-01 10:00"),
            _ts("recorded_at", "登记时间", example="2026-09-02 09:00"),
            _t("recorded_by", "登记人", example="网格员"),
            _int("reverses_event_id", "冲销记录编号", sql="BIGINT", ref="credit_events",
                 note="冲销(更正)时填写被冲销的记录编号"),
            _t("note", "备注"),
            _bool("adjustment", "是否调整", aliases=("调整",),
                  note="分值与指标目录不同、或发生时间不在指标有效期内而经批准的,填“是”并在备注中说明"),
            _id("appeal_id", "异议申诉编号", ref="appeals", note="因异议申诉成立而冲正或更正时填写申诉编号"),
        ), key=("event_id",), append_only=True, aliases=("积分台账", "信用台账", "积分记录")),
        Table("appeals", "异议申诉", (
            _id("appeal_id", "申诉编号", required=True, example="A2026-0001"),
            _int("event_id", "被申诉记录编号", sql="BIGINT", ref="credit_events", aliases=("积分记录编号",),
                 example=900000001, note="对一条积分记录申诉时填写;对季度排名申诉时不填,改填季度和网格"),
            _t("quarter", "被申诉排名季度", pattern=r"\d{4}Q[1-4]", pattern_zh="季度应写作 2026Q3 的格式",
               note="对季度排名申诉时填写"),
            _id("grid_id", "被申诉排名网格", ref="grids", note="对季度排名申诉时填写网格编号"),
            _id("raised_by", "提出人编号", ref="people", note="登记居民填人员编号;其他人填姓名"),
            _t("raised_by_name", "提出人姓名", example="张某某"),
            _date("raised_on", "提出日期", required=True, example="2026-10-09"),
            _t("reason", "申诉理由", required=True, example="本人未有该行为,要求核实"),
            _choice("status", "处理状态", vocab.APPEAL_STATUSES, required=True, example="驳回"),
            _date("decided_on", "处理日期", example="2026-10-13", note="支持或驳回时填写"),
            _t("decision_reason", "处理理由", example="经核实,积分记录与事实相符"),
            _int("correcting_event_id", "更正记录编号", sql="BIGINT", ref="credit_events",
                 note="申诉成立时填写冲正或更正的积分记录编号(可在同一文件的积分记录中一并导入)"),
        ), key=("appeal_id",), order_checks=(("raised_on", "decided_on"),), aliases=("申诉", "异议", "异议申诉表")),
        Table("redemption_scenarios", "兑换场景", (
            _id("scenario_id", "场景编号", required=True, example="R01"),
            _t("name", "场景名称", example="超市购物优惠"),
            _choice("category", "场景类别", vocab.REDEMPTION_CATEGORIES, example="购物"),
            _dec("points_cost", "所需积分", lo=0, hi=999999.99, example=50),
            _dec("value_yuan", "兑换价值(元)", sql="DECIMAL(10, 2)", lo=0, hi=99999999.99, aliases=("兑换价值",),
                 example=20),
            _choice("min_level", "最低信用等级", CREDIT_LEVEL_CODES, note="空表示不限"),
            _t("partner", "提供方", example="某某超市"),
        ), key=("scenario_id",), aliases=("信易+场景",)),
        Table("redemptions", "积分兑换记录", (
            _int("redemption_id", "兑换编号", sql="BIGINT", required=True, example=900000001),
            _id("person_id", "兑换人", ref="people", required=True, aliases=("人员编号",), example="P000001"),
            _id("scenario_id", "兑换场景", ref="redemption_scenarios", aliases=("场景编号",), example="R01"),
            _dec("points", "消耗积分", lo=0, hi=999999.99, example=50),
            _ts("redeemed_at", "兑换时间", required=True, example="2026-09-10 15:30"),
        ), key=("redemption_id",), aliases=("兑换记录",)),
        Table("tickets", "工单", (
            _id("ticket_id", "工单编号", required=True, example="T2026-0001"),
            _id("grid_id", "所在网格", ref="grids", aliases=("网格编号",), example="201-01"),
            _choice("category", "诉求类别", vocab.TICKET_CATEGORIES, example="停车充电"),
            _choice("channel", "提单渠道", vocab.TICKET_CHANNELS, example="网格随手拍"),
            _t("title", "标题", aliases=("诉求内容",), example="楼下电动车充电难"),
            _lat("问题地点纬度", example=36.952), _lon("问题地点经度", example=118.092),
            _choice("department", "约请部门", vocab.DEPARTMENTS, note="未约请不填"),
            _id("filed_by", "提单居民", ref="people"),
            _ts("filed_at", "提单时间", aliases=("居民提单",), example="2026-09-01 08:30"),
            _ts("accepted_at", "接单时间", aliases=("网格员接单",), example="2026-09-01 10:00"),
            _ts("discussed_at", "议单时间", aliases=("支部议单",), example="2026-09-03 19:00"),
            _ts("decided_at", "定单时间", aliases=("党委定单",), example="2026-09-05 09:00"),
            _ts("rated_at", "评单时间", aliases=("群众评单",), example="2026-09-15 16:00"),
            _ts("published_at", "结果公开时间", aliases=("结果公开", "公开时间"), example="2026-09-16 09:00"),
            _ts("escalated_at", "约请时间", aliases=("网格约请",), note="约请部门到网格时填写"),
            _int("score", "评分", lo=1, hi=5, example=5, note="1–5 分"),
            _choice("rater_kind", "评分人类别", vocab.RATER_KINDS, example="群众"),
        ), key=("ticket_id",), aliases=("工单台账", "诉求工单"),
            flat_steps=FLAT_STEPS,
            extra=FLAT_STEPS + ("escalated_at", "score", "rater_kind")),
        Table("ticket_events", "工单步骤", (
            _id("ticket_id", "工单编号", ref="tickets", required=True, example="T2026-0001"),
            _choice("step", "步骤", vocab.TICKET_STEPS, required=True, example="居民提单"),
            _ts("occurred_at", "发生时间", required=True, example="2026-09-01 08:30"),
            _id("actor_id", "办理人", ref="people"),
            _t("note", "备注"),
            _int("seq", "顺序号", lo=0),
        ), key=("ticket_id", "step", "occurred_at"), pk=False, aliases=("工单状态", "状态历史")),
        Table("ticket_ratings", "工单评分", (
            _id("ticket_id", "工单编号", ref="tickets", required=True, example="T2026-0001"),
            _choice("rater_kind", "评分人类别", vocab.RATER_KINDS, example="群众"),
            _int("score", "评分", required=True, lo=1, hi=5, example=5),
            _ts("rated_at", "评分时间", example="2026-09-15 16:00"),
            _int("rating_id", "评分编号", sql="BIGINT"),
        ), key=("ticket_id", "rater_kind", "rated_at"), pk=False, aliases=("评单",)),
        Table("facilities", "服务设施", (
            _id("facility_id", "设施编号", required=True, example="F001"),
            _choice("facility_type", "设施类型", vocab.FACILITY_TYPES, example="红色驿站"),
            _t("name", "名称", aliases=("设施名称",), example="永乐巷红色驿站"),
            _id("community_id", "所在社区", ref="communities", example="201"),
            _id("grid_id", "所在网格", ref="grids", example="201-01"),
            _lat(example=36.953), _lon(example=118.093),
            _int("capacity", "容量", lo=0, example=20),
            _date("opened_on", "启用日期", example="2024-06-01"),
        ), key=("facility_id",), aliases=("服务阵地", "设施")),
        Table("property_evaluations", "物业评议", (
            _id("org_id", "物业企业编号", ref="organizations", required=True, aliases=("组织编号",), example="O0001"),
            _t("quarter", "季度", required=True, pattern=r"\d{4}Q[1-4]", pattern_zh="季度应写作 2026Q3 的格式",
               example="2026Q3"),
            _choice("evaluator", "评议方", vocab.PROPERTY_EVALUATORS, required=True, example="居民评议"),
            _dec("score", "得分", sql="DECIMAL(5, 1)", lo=0, hi=100, example=92.5),
        ), key=("org_id", "quarter", "evaluator"), aliases=("三评两公示",)),
        Table("micro_wishes", "微心愿", (
            _id("wish_id", "心愿编号", required=True, example="W001"),
            _id("grid_id", "所在网格", ref="grids", example="201-01"),
            _choice("category", "心愿类别", vocab.WISH_CATEGORIES, example="帮扶救助"),
            _t("title", "标题", aliases=("心愿内容",), example="为独居老人更换灯泡"),
            _ts("filed_at", "提出时间", example="2026-09-01 09:00"),
            _ts("fulfilled_at", "实现时间", note="尚未实现不填", example="2026-09-03 10:00"),
        ), key=("wish_id",), order_checks=(("filed_at", "fulfilled_at"),)),
        Table("holidays", "节假日安排", (
            _date("day", "日期", required=True, example="2027-02-06"),
            _choice("kind", "类型", vocab.HOLIDAY_KINDS, required=True, example="休", note="休:放假;班:调休上班"),
            _t("name", "名称", example="春节"),
        ), key=("day",), aliases=("节假日", "放假安排", "节假日安排表")),
        Table("emergency_assignments", "应急编组", (
            _id("person_id", "人员编号", ref="people", required=True, example="P000001"),
            _id("community_id", "编入社区", ref="communities", required=True, aliases=("社区编号",), example="201"),
            _choice("group_code", "所在组", vocab.EMERGENCY_GROUPS, required=True, example="巡查值守组"),
        ), key=("person_id", "community_id"), aliases=("一办七组",)),
    ]


TABLES: dict[str, Table] = {t.name: t for t in _tables()}
ORDER = list(TABLES)  # dependency order: referenced tables come first

# Key column of each table a reference may name.
REF_KEYS = {name: t.key[0] for name, t in TABLES.items() if t.pk and len(t.key) == 1}


def normalise(text) -> str:
    """A header or sheet name as compared: no spaces, marks or unit brackets, lower case."""
    import re

    s = str(text or "").strip().lower().replace("\u3000", "").replace(" ", "").replace("_", "")
    s = s.replace("*", "").replace("＊", "")
    s = re.sub(r"[（(][^）)]*[）)]$", "", s)
    return s


def header_index(table: Table) -> dict[str, str]:
    """Normalised header -> field name, for every accepted spelling."""
    out = {}
    for f in table.fields:
        for h in f.headers:
            out.setdefault(normalise(h), f.name)
        for lbl in (f.zh,):
            out.setdefault(normalise(lbl), f.name)
    return out


def table_for_name(name: str) -> Table | None:
    key = normalise(name)
    for t in TABLES.values():
        if key in {normalise(n) for n in (t.name, t.zh) + t.aliases}:
            return t
    return None


def plain_number(v) -> str:
    """A bound as a clerk writes it: "{:g}" wrote the ledger's 999999.99 as 1e+06."""
    return f"{v:f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def choice_inputs(f: Field) -> dict[str, str]:
    """Every accepted spelling of an allowed value (lower-cased) -> its code."""
    out = {}
    for code, label in (f.choices or {}).items():
        out[code.lower()] = code
        out[str(label).strip().lower()] = code
    if f.name == "gender":
        out.update({"male": "M", "female": "F", "男性": "M", "女性": "F"})
    return out
