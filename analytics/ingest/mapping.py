"""Which sheet feeds which table and which column feeds which field: from the template headers
(Chinese or English), or from a mapping file (YAML) for another system's export.

A mapping file:

    table: tickets                # the table the export feeds
    encoding: utf-8               # optional; detected otherwise
    unmapped: ignore              # source columns not named below: ignore (default) or error
    fields:
      ticket_id: {column: Unique Key, prefix: "NYC-"}
      title: Descriptor           # shorthand for {column: Descriptor}
      filed_at: {column: Created Date, format: "%m/%d/%Y %I:%M:%S %p"}
      category: {column: Complaint Type, values: {Noise - Residential: noise}, other: facilities}
      grid_id: {constant: G10101}
      closed_at: {column: Closed Date, empty: ["01/01/1900 12:00:00 AM"]}   # a placeholder read as blank
      department: {column: Agency, values: {NYPD: traffic_police}, other: law_enforcement, blank: law_enforcement}
    empty: ["N/A", "-"]           # placeholders read as blank in every column
    skip:                         # rows left out, counted in the result
      - {column: Status, values: [Cancelled, Duplicate]}
"""

from dataclasses import dataclass, field
from pathlib import Path

from . import spec
from .read import FileError, RawSheet

# Sheets of the templates that hold no data.
IGNORED_SHEETS = {spec.normalise(n) for n in ("允许取值", "填写说明", "说明", "allowed values", "readme")}


class MappingError(FileError):
    """A mapping file that cannot be used; the message is for the clerk. items: (where in the
    mapping, value, message) of each problem, when there are several."""

    def __init__(self, message: str, items: list | None = None, file_name: str = ""):
        super().__init__(message)
        self.items = items or [("", "", message)]
        self.file_name = file_name


@dataclass
class Source:
    field: str
    header: str                   # as the clerk reads it: the file's column, or a note for constants
    column: int | None = None     # c<column> of the raw sheet
    constant: str | None = None
    values: dict | None = None    # source text (lower case) -> code
    other: str | None = None      # code for source values not listed
    formats: tuple = ()
    prefix: str = ""
    empty: tuple = ()             # source texts (lower case) that mean a blank cell
    blank: str | None = None      # value of a blank cell

    @property
    def rewrites(self) -> bool:
        """Whether the staged value may differ from the text in the file."""
        return bool(self.values or self.other is not None or self.prefix or self.empty or self.blank is not None)


@dataclass
class Plan:
    sheet: RawSheet
    sheet_no: int
    table: spec.Table
    sources: dict = field(default_factory=dict)   # field name -> Source
    skips: list = field(default_factory=list)     # (column, source texts in lower case): rows left out


@dataclass
class Mapping:
    table: str
    fields: dict                  # field -> dict(column=, constant=, values=, other=, format=, prefix=)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    unmapped: str = "ignore"
    skip: list = field(default_factory=list)      # [{column:, values: [...]}]
    empty: tuple = ()                             # placeholders read as blank in every column
    file_name: str = ""


RULE_KEYS = {"column", "constant", "values", "other", "format", "prefix", "empty", "blank"}


def load_mapping(path) -> Mapping:
    import yaml

    from .read import decode_text

    path = Path(path)
    try:
        data = yaml.safe_load(decode_text(path.read_bytes()))
    except FileNotFoundError:
        raise MappingError(f"映射文件不存在: {path}", file_name=path.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "文件中"
        raise MappingError(f"映射文件{where}不是有效的 YAML(请检查缩进、冒号和引号)", file_name=path.name) from None
    except (UnicodeDecodeError, FileError):
        raise MappingError("映射文件的编码无法识别,请另存为 UTF-8", file_name=path.name) from None
    try:
        return _mapping(data, path.name)
    except MappingError as exc:
        exc.file_name = path.name
        raise


def _texts(value, where: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (str, int, float)):
        value = [value]
    if not isinstance(value, list):
        raise MappingError(f"{where} 应是一个值或值的列表")
    return tuple(str(v).strip().lower() for v in value)


def _mapping(data, file_name: str) -> Mapping:
    if not isinstance(data, dict):
        raise MappingError("映射文件应是键值结构,至少包含 table 和 fields")
    table = spec.table_for_name(str(data.get("table", "")))
    if table is None:
        raise MappingError(f"映射文件的 table 无效: {data.get('table')!r};可选: {', '.join(spec.TABLES)}")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError("映射文件缺少 fields(目标字段: 来源列)")
    names = {f.name for f in table.fields}
    out, wrong = {}, []
    for name, rule in fields.items():
        if name not in names:
            raise MappingError(f"映射文件中的字段 {name!r} 不属于表 {table.name}({table.zh});可选: {', '.join(sorted(names))}")
        if isinstance(rule, (str, int)):
            rule = {"column": str(rule)}
        if not isinstance(rule, dict) or not ({"column", "constant"} & set(rule)):
            raise MappingError(f"字段 {name} 的映射应写来源列(column)或常量(constant)")
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise MappingError(f"字段 {name} 的映射有未知的项: {', '.join(sorted(unknown))};可用: {', '.join(sorted(RULE_KEYS))}")
        if rule.get("values") is not None and not isinstance(rule["values"], dict):
            raise MappingError(f"字段 {name} 的 values 应是“来源值: 代码”的对照表")
        fmt = rule.get("format")
        if fmt is not None and not (isinstance(fmt, str) or (isinstance(fmt, list) and all(isinstance(x, str) for x in fmt))):
            raise MappingError(f"字段 {name} 的 format 应是日期格式文字,如 \"%m/%d/%Y %I:%M:%S %p\"")
        _texts(rule.get("empty"), f"字段 {name} 的 empty")
        wrong += _wrong_codes(table.field(name), rule)
        out[name] = rule
    if wrong:
        raise MappingError("映射文件中有不在允许取值中的代码", wrong)
    unmapped = str(data.get("unmapped", "ignore"))
    if unmapped not in ("ignore", "error"):
        raise MappingError("unmapped 只能是 ignore 或 error")
    skip = data.get("skip") or []
    if isinstance(skip, dict):
        skip = [skip]
    if not isinstance(skip, list) or not all(isinstance(s, dict) and s.get("column") is not None and "values" in s
                                             for s in skip):
        raise MappingError("skip 应是“column: 来源列, values: [要跳过的值]”的列表")
    for s in skip:
        _texts(s["values"], "skip 的 values")
    return Mapping(table.name, out, data.get("encoding"), data.get("delimiter"), data.get("sheet"), unmapped,
                   skip, _texts(data.get("empty"), "empty"), file_name)


def _wrong_codes(f: spec.Field, rule: dict) -> list:
    """(where, value, message) of every target value the field does not allow: said once here,
    not once for every row it would reach."""
    if not f.choices:
        return []
    allowed = spec.choice_inputs(f)
    targets = [(f"fields.{f.name}.values.{source}", target) for source, target in (rule.get("values") or {}).items()]
    targets += [(f"fields.{f.name}.{key}", rule[key]) for key in ("other", "blank", "constant") if rule.get(key) is not None]
    choices = "、".join(f"{code}({label})" for code, label in f.choices.items())
    return [(where, str(value), f"“{value}”不是{f.zh}允许的取值,可填: {choices}")
            for where, value in targets if str(value).strip().lower() not in allowed]


def known_headers(mapping: Mapping | None = None) -> set[str]:
    if mapping is not None:
        return {spec.normalise(r["column"]) for r in list(mapping.fields.values()) + mapping.skip
                if r.get("column") is not None}
    return {h for t in spec.TABLES.values() for h in spec.header_index(t)}


def _problem(problems, sheet: RawSheet, row, column, value, message):
    problems.append({"工作表": sheet.name or "", "行": row, "列": column, "值": value, "问题": message})


def _match_table(sheet: RawSheet, table_name: str | None) -> tuple[spec.Table | None, str]:
    """The table a sheet feeds: by its name, as asked, or by the headers it shares with a template,
    if they are the table's key or at least half the sheet's headers (an export whose Latitude and
    Longitude happen to be template headers is not a table of places)."""
    by_name = spec.table_for_name(sheet.name) if sheet.name else None
    if by_name is not None:
        return by_name, "name"
    if table_name:
        return spec.TABLES[table_name], "given"
    headers = [spec.normalise(h) for h in sheet.headers if h]
    scores = []
    for t in spec.TABLES.values():
        index = spec.header_index(t)
        matched = {index[h] for h in headers if h in index}
        if matched and (t.key[0] in matched or 2 * len(matched) >= len(headers)):
            scores.append((len(matched), -(len(headers) - len(matched)), t))
    if not scores:
        return None, "none"
    return max(scores, key=lambda s: s[:2])[2], "headers"


def plan_sheets(sheets: list[RawSheet], table_name: str | None = None, mapping: Mapping | None = None):
    """(plans, problems): every data sheet matched to a table and its columns to fields."""
    plans, problems = [], []
    if table_name is not None and spec.table_for_name(table_name) is None:
        raise FileError(f"未知的表: {table_name};可选: {', '.join(spec.TABLES)}")
    table_name = spec.table_for_name(table_name).name if table_name else None
    if mapping is not None:
        table_name = mapping.table
        if mapping.sheet:
            sheets = [s for s in sheets if s.name is None or s.name == mapping.sheet] or sheets
    for k, sheet in enumerate(sheets):
        if sheet.name is not None and spec.normalise(sheet.name) in IGNORED_SHEETS:
            continue
        if mapping is not None:
            plan = _plan_mapped(sheet, k, mapping, problems)
        else:
            plan = _plan_template(sheet, k, table_name, problems, several=len(sheets) > 1)
        if plan is not None:
            plans.append(plan)
    if not plans and not problems:
        raise FileError("文件中没有可导入的工作表")
    return plans, problems


MAPPING_HINT = "如是其他系统导出的文件,请配一个对照表(映射文件)导入,写法见 docs/mappings/311.yaml"


def _plan_template(sheet: RawSheet, k: int, table_name, problems, several: bool) -> Plan | None:
    table, how = _match_table(sheet, table_name)
    found = "、".join(h for h in sheet.headers if h) or "(无)"
    if table is None:
        if several and sheet.rows == 0:
            return None
        _problem(problems, sheet, sheet.header_row, "", found,
                 f"无法确定这张表对应哪类数据:列头与任何导入模板都不符。请使用导入模板的列头,或指定导入到哪张表;{MAPPING_HINT}")
        return None
    index = spec.header_index(table)
    plan = Plan(sheet, k, table)
    unknown = []
    for j, header in enumerate(sheet.headers):
        if not header:
            continue
        name = index.get(spec.normalise(header))
        if name is None:
            unknown.append(header)
            continue
        if name in plan.sources:
            _problem(problems, sheet, sheet.header_row, header, header,
                     f"与“{plan.sources[name].header}”是同一字段({table.field(name).zh}),重复的列")
            continue
        plan.sources[name] = Source(name, header, column=j)
    columns = "、".join(f.zh for f in table.fields)
    if len(unknown) > len(plan.sources):  # not this table's sheet: its rows would only repeat it
        _problem(problems, sheet, sheet.header_row, "", found,
                 f"列头与表“{table.zh}”的模板不符(认出 {len(plan.sources)} 列,另有 {len(unknown)} 列不认识)。"
                 f"应有的列: {columns};{MAPPING_HINT}")
        return None
    if unknown:
        _problem(problems, sheet, sheet.header_row, "、".join(unknown), "、".join(unknown),
                 f"未知的列:表“{table.zh}”没有{'这一列' if len(unknown) == 1 else f'这 {len(unknown)} 列'}。可用的列: {columns}")
    _check_required_columns(plan, problems)
    return plan


def _check_required_columns(plan: Plan, problems) -> None:
    for f in plan.table.fields:
        if f.required and f.name not in plan.sources:
            _problem(problems, plan.sheet, plan.sheet.header_row, f.zh, "", f"缺少必填列“{f.zh}”")


def _plan_mapped(sheet: RawSheet, k: int, mapping: Mapping, problems) -> Plan | None:
    table = spec.TABLES[mapping.table]
    plan = Plan(sheet, k, table)
    columns = {}
    for j, header in enumerate(sheet.headers):
        columns.setdefault(header.strip(), j)
        columns.setdefault(spec.normalise(header), j)

    def column(name: str) -> int | None:
        return columns.get(name, columns.get(spec.normalise(name)))

    used = set()
    for name, rule in mapping.fields.items():
        f = table.field(name)
        values = {str(a).strip().lower(): str(b) for a, b in (rule.get("values") or {}).items()}
        fmt = rule.get("format")
        formats = tuple([fmt] if isinstance(fmt, str) else (fmt or ()))
        common = dict(values=values or None, other=None if rule.get("other") is None else str(rule["other"]),
                      formats=formats, prefix=str(rule.get("prefix") or ""),
                      empty=_texts(rule.get("empty"), "") + mapping.empty,
                      blank=None if rule.get("blank") is None else str(rule["blank"]))
        if rule.get("column") is not None:
            col = str(rule["column"]).strip()
            j = column(col)
            if j is None:
                _problem(problems, sheet, sheet.header_row, col, "",
                         f"映射文件要求的来源列“{col}”(对应{f.zh})在文件中找不到")
                continue
            used.add(j)
            plan.sources[name] = Source(name, sheet.headers[j], column=j, **common)
        else:
            plan.sources[name] = Source(name, f"{f.zh}(常量)", constant=str(rule["constant"]), **common)
    for rule in mapping.skip:
        col = str(rule["column"]).strip()
        j = column(col)
        if j is None:
            _problem(problems, sheet, sheet.header_row, col, "", f"映射文件 skip 要求的来源列“{col}”在文件中找不到")
            continue
        used.add(j)
        plan.skips.append((j, _texts(rule["values"], "")))
    if mapping.unmapped == "error":
        for j, header in enumerate(sheet.headers):
            if header and j not in used:
                _problem(problems, sheet, sheet.header_row, header, header, "映射文件没有说明这一列的去向(unmapped: error)")
    _check_required_columns(plan, problems)
    return plan
