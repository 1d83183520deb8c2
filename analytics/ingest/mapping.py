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
"""

from dataclasses import dataclass, field
from pathlib import Path

from . import spec
from .read import FileError, RawSheet

# Sheets of the templates that hold no data.
IGNORED_SHEETS = {spec.normalise(n) for n in ("允许取值", "填写说明", "说明", "allowed values", "readme")}


class MappingError(FileError):
    """A mapping file that cannot be used; the message is for the clerk."""


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


@dataclass
class Plan:
    sheet: RawSheet
    sheet_no: int
    table: spec.Table
    sources: dict = field(default_factory=dict)   # field name -> Source


@dataclass
class Mapping:
    table: str
    fields: dict                  # field -> dict(column=, constant=, values=, other=, format=, prefix=)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    unmapped: str = "ignore"


def load_mapping(path) -> Mapping:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"映射文件不存在: {path}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"映射文件不是有效的 YAML({exc})") from None
    if not isinstance(data, dict):
        raise MappingError("映射文件应是键值结构,至少包含 table 和 fields")
    table = spec.table_for_name(str(data.get("table", "")))
    if table is None:
        raise MappingError(f"映射文件的 table 无效: {data.get('table')!r};可选: {', '.join(spec.TABLES)}")
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError("映射文件缺少 fields(目标字段: 来源列)")
    names = {f.name for f in table.fields}
    out = {}
    for name, rule in fields.items():
        if name not in names:
            raise MappingError(f"映射文件中的字段 {name!r} 不属于表 {table.name}({table.zh});可选: {', '.join(sorted(names))}")
        if isinstance(rule, (str, int)):
            rule = {"column": str(rule)}
        if not isinstance(rule, dict) or not ({"column", "constant"} & set(rule)):
            raise MappingError(f"字段 {name} 的映射应写来源列(column)或常量(constant)")
        unknown = set(rule) - {"column", "constant", "values", "other", "format", "prefix"}
        if unknown:
            raise MappingError(f"字段 {name} 的映射有未知的项: {', '.join(sorted(unknown))}")
        if rule.get("values") is not None and not isinstance(rule["values"], dict):
            raise MappingError(f"字段 {name} 的 values 应是“来源值: 代码”的对照表")
        fmt = rule.get("format")
        if fmt is not None and not (isinstance(fmt, str) or (isinstance(fmt, list) and all(isinstance(x, str) for x in fmt))):
            raise MappingError(f"字段 {name} 的 format 应是日期格式文字,如 \"%m/%d/%Y %I:%M:%S %p\"")
        out[name] = rule
    unmapped = str(data.get("unmapped", "ignore"))
    if unmapped not in ("ignore", "error"):
        raise MappingError("unmapped 只能是 ignore 或 error")
    return Mapping(table.name, out, data.get("encoding"), data.get("delimiter"), data.get("sheet"), unmapped)


def known_headers(mapping: Mapping | None = None) -> set[str]:
    if mapping is not None:
        return {spec.normalise(r["column"]) for r in mapping.fields.values() if r.get("column") is not None}
    return {h for t in spec.TABLES.values() for h in spec.header_index(t)}


def _problem(problems, sheet: RawSheet, row, column, value, message):
    problems.append({"工作表": sheet.name or "", "行": row, "列": column, "值": value, "问题": message})


def _match_table(sheet: RawSheet, table_name: str | None) -> tuple[spec.Table | None, str]:
    by_name = spec.table_for_name(sheet.name) if sheet.name else None
    if by_name is not None:
        return by_name, "name"
    if table_name:
        return spec.TABLES[table_name], "given"
    scores = []
    for t in spec.TABLES.values():
        index = spec.header_index(t)
        matched = {index[spec.normalise(h)] for h in sheet.headers if spec.normalise(h) in index}
        unknown = sum(1 for h in sheet.headers if h and spec.normalise(h) not in index)
        scores.append((len(matched), -unknown, t))
    scores.sort(key=lambda s: (s[0], s[1]), reverse=True)
    if not scores or scores[0][0] == 0:
        return None, "none"
    return scores[0][2], "headers"


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


def _plan_template(sheet: RawSheet, k: int, table_name, problems, several: bool) -> Plan | None:
    table, how = _match_table(sheet, table_name)
    found = "、".join(h for h in sheet.headers if h) or "(无)"
    if table is None:
        if several and sheet.rows == 0:
            return None
        _problem(problems, sheet, sheet.header_row, "", found,
                 "无法确定这张表对应哪类数据:列头与任何模板都不符。请使用导入模板的列头,或用 --table 指定表")
        return None
    index = spec.header_index(table)
    plan = Plan(sheet, k, table)
    matched_any = False
    for j, header in enumerate(sheet.headers):
        if not header:
            continue
        name = index.get(spec.normalise(header))
        if name is None:
            _problem(problems, sheet, sheet.header_row, header, header,
                     f"未知的列:表“{table.zh}”没有这一列。可用的列: " + "、".join(f.zh for f in table.fields))
            continue
        if name in plan.sources:
            _problem(problems, sheet, sheet.header_row, header, header,
                     f"与“{plan.sources[name].header}”是同一字段({table.field(name).zh}),重复的列")
            continue
        matched_any = True
        plan.sources[name] = Source(name, header, column=j)
    if not matched_any:
        problems[:] = [p for p in problems if not (p["工作表"] == (sheet.name or "") and p["行"] == sheet.header_row)]
        _problem(problems, sheet, sheet.header_row, "", found,
                 f"列头与表“{table.zh}”的模板不符。应有的列: " + "、".join(f.zh for f in table.fields))
        return None
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
    used = set()
    for name, rule in mapping.fields.items():
        f = table.field(name)
        values = {str(a).strip().lower(): str(b) for a, b in (rule.get("values") or {}).items()}
        fmt = rule.get("format")
        formats = tuple([fmt] if isinstance(fmt, str) else (fmt or ()))
        common = dict(values=values or None, other=None if rule.get("other") is None else str(rule["other"]),
                      formats=formats, prefix=str(rule.get("prefix") or ""))
        if rule.get("column") is not None:
            col = str(rule["column"]).strip()
            j = columns.get(col, columns.get(spec.normalise(col)))
            if j is None:
                _problem(problems, sheet, sheet.header_row, col, "",
                         f"映射文件要求的来源列“{col}”(对应{f.zh})在文件中找不到")
                continue
            used.add(j)
            plan.sources[name] = Source(name, sheet.headers[j], column=j, **common)
        else:
            plan.sources[name] = Source(name, f"{f.zh}(常量)", constant=str(rule["constant"]), **common)
    if mapping.unmapped == "error":
        for j, header in enumerate(sheet.headers):
            if header and j not in used:
                _problem(problems, sheet, sheet.header_row, header, header, "映射文件没有说明这一列的去向(unmapped: error)")
    _check_required_columns(plan, problems)
    return plan
