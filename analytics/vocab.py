"""The shared vocabulary: every code stored in the database with its Chinese label.

Codes are what the tables hold; labels are what users read. Import templates,
the UI and the data dictionary all take their wording from here.
"""

ROLES = {
    "grid_leader": "网格长",
    "grid_worker": "专职网格员",
    "building_leader": "红色楼长",
    "unit_leader": "红色单元长",
    "volunteer": "志愿者",
    "community_worker": "社区工作者",
    "first_secretary": "第一书记",
    "cadre": "机关干部",
    "property_staff": "物业人员",
}

PARTY_MEMBER_STATUS = {"employed": "在职党员", "not_employed": "非在职党员"}

GENDERS = {"M": "男", "F": "女"}

ORG_TYPES = {
    "merchant": "商户",
    "property_company": "物业企业",
    "co_building_unit": "共建单位",
    "social_org": "社会组织",
    "enterprise": "驻区企业",
}

FACILITY_TYPES = {
    "party_service_center": "党群服务中心",
    "red_station": "红色驿站",
    "deliberation_hall": "红色议事厅",
    "courtyard_council": "红色庭院议事会",
    "charging_shed": "充电车棚",
    "charging_pile": "充电桩",
    "new_employment_station": "新就业群体服务站",
    "grid_home": "网格之家",
    "elderly_canteen": "长者食堂",
}

# The six steps of 五单一公开, in order, then the two side events.
TICKET_STEPS = {
    "filed": "居民提单",
    "accepted": "网格员接单",
    "discussed": "支部议单",
    "decided": "党委定单",
    "rated": "群众评单",
    "published": "结果公开",
    "escalated": "网格约请",
    "reopened": "重新办理",
}
WORKFLOW_STEPS = ["filed", "accepted", "discussed", "decided", "rated", "published"]

TICKET_CATEGORIES = {
    "parking_charging": "停车充电",
    "environment": "环境卫生",
    "property": "物业服务",
    "noise": "噪音扰民",
    "facilities": "公共设施",
    "dispute": "邻里纠纷",
    "safety": "安全隐患",
    "renovation": "老旧小区改造",
    "business": "商户经营",
    "greenery": "绿化养护",
}

TICKET_CHANNELS = {
    "in_person": "居民上门",
    "photo_report": "网格随手拍",
    "stool_chat": "小板凳拉呱日",
    "deliberation_hall": "红色议事厅",
    "appointment": "与你有约",
    "hotline": "12345热线",
}

DEPARTMENTS = {
    "housing": "住建部门",
    "law_enforcement": "综合行政执法",
    "market_regulation": "市场监管",
    "property_company": "物业公司",
    "power_supply": "供电公司",
    "traffic_police": "交警部门",
    "ecology": "生态环境",
}

RATER_KINDS = {"party_member": "党员", "resident": "群众"}

SUBJECT_TYPES = {"person": "个人", "org": "组织"}

CREDIT_CATEGORIES = {
    "epidemic": "疫情防控",
    "safety": "安全生产",
    "governance": "综合治理",
    "volunteer": "志愿服务",
    "civility": "文明风尚",
    "business": "诚信经营",
}

VOLUNTEER_KINDS = {
    "epidemic_prevention": "疫情防控",
    "environment": "环境整治",
    "elderly_care": "助老帮扶",
    "safety_patrol": "安全巡查",
    "civilization": "文明创建",
    "publicity": "政策宣传",
    "mediation": "矛盾调解",
}

REDEMPTION_CATEGORIES = {
    "goods": "生活物品",
    "travel": "出行",
    "medical": "就医",
    "tourism": "旅游",
    "shopping": "购物",
    "credit_loan": "信贷",
    "utilities": "水电气暖",
    "subsidy": "优惠补贴",
}

# The 8 groups assessed separately (分类考核): four of people, four of organisations.
CREDIT_GROUPS = {
    "community_worker": "社区工作者",
    "grid_worker": "网格员",
    "party_member": "党员",
    "resident": "居民",
    "market_entity": "市场主体",
    "co_building_unit": "共建单位",
    "property_company": "物业企业",
    "social_org": "社会组织",
}

PROPERTY_EVALUATORS = {"residents": "居民评议", "community": "社区评议", "subdistrict": "街道评议"}

WISH_CATEGORIES = {
    "environment": "环境整治",
    "mediation": "纠纷调解",
    "hazard": "隐患排查",
    "assistance": "帮扶救助",
    "facilities": "设施完善",
}

EMERGENCY_GROUPS = {
    "office": "综合办公室",
    "screening": "排查管控组",
    "supplies": "物资保障组",
    "medical": "医疗服务组",
    "publicity": "宣传引导组",
    "patrol": "巡查值守组",
    "volunteer": "志愿服务组",
    "response": "应急处置组",
}

# The holiday calendar (节假日安排): a day off, or a make-up working day (调休上班).
HOLIDAY_KINDS = {"off": "休", "work": "班"}

APPEAL_STATUSES = {"pending": "待处理", "accepted": "已受理", "upheld": "支持", "rejected": "驳回"}
