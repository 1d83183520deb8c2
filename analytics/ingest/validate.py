"""Checks, as SQL over the staging tables, before anything is written.

`stage` turns the planned sheets of a table into `stg_<table>` (one text column per field, named
by the field); `typed` adds `v_<field>`, the value in the type it is checked in; `problems` runs
every check at once and returns one row per problem with the sheet, row, column, value and a
Chinese explanation.
"""

import re
from dataclasses import dataclass

import pandas as pd

from .. import clock, settings
from . import spec
from .mapping import Plan
from .read import FileError, Indirect, sql_text as _lit

MAX_PROBLEMS = 100_000
GROUP_ROWS_LISTED = 5  # rows named in a problem that concerns many
PROBLEM_COLUMNS = ["文件", "工作表", "行", "列", "值", "问题"]

# Spellings accepted for a yes/no cell.
TRUE_WORDS = ("是", "true", "1", "y", "yes", "t", "√", "有")
FALSE_WORDS = ("否", "false", "0", "n", "no", "f", "×", "无")

TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M", "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日",
]
# Step codes of the flat ticket template's timestamp columns, and their order number (seq).
FLAT_STEP_CODES = {"filed_at": "filed", "accepted_at": "accepted", "discussed_at": "discussed",
                   "decided_at": "decided", "rated_at": "rated", "published_at": "published",
                   "escalated_at": "escalated"}
STEP_SEQ = {"filed": 1, "accepted": 2, "discussed": 3, "escalated": 4, "decided": 5, "rated": 6, "published": 7}


PARSED = ("int", "bigint", "decimal", "double", "bool", "date", "timestamp")


def as_written(f: spec.Field) -> bool:
    """Whether a field's value is its (trimmed) text: typ_ then keeps only v_<field>."""
    return not f.choices and f.kind not in PARSED


def _parsed_untrimmed(table: spec.Table, name: str, plans: list[Plan]) -> bool:
    """Whether a field is staged as written and trimmed only where it does not parse that way:
    trimming every cell costs more than reading the file. Values a mapping rewrites or gives a
    format are trimmed first, as is text."""
    f = table.field(name)
    if as_written(f):
        return False
    sources = [p.sources[name] for p in plans if name in p.sources]
    return not any(src.rewrites or src.formats for src in sources)


@dataclass
class Staged:
    """A table's planned sheets as one query: one text column per field, named by the field."""
    present: list[str]            # fields some sheet gives, in the table's order
    sql: str
    params: dict
    untrimmed: set                # fields staged untrimmed (see _parsed_untrimmed)
    written: set                  # fields a mapping rewrites: their text as written is kept in _w_<field>
    formats: dict                 # field -> the mapping's own date formats, the only ones tried
    constants: dict               # field -> value, where every sheet gives the field as a constant
    skipped: int = 0              # rows the mapping's skip rules left out


def stage(con, table: spec.Table, plans: list[Plan], params: dict) -> Staged:
    present = []
    for p in plans:
        present += [n for n in p.sources if n not in present]
    present = [f.name for f in table.fields if f.name in present]
    untrimmed = {n for n in present if _parsed_untrimmed(table, n, plans)}
    sources = {n: [p.sources[n] for p in plans if n in p.sources] for n in present}
    written = {n for n in present if any(src.rewrites for src in sources[n])}
    formats = {n: src.formats for n in present for src in sources[n] if src.formats}
    constants = {n: srcs[0].constant for n, srcs in sources.items()
                 if len(srcs) == len(plans) and all(src.constant is not None for src in srcs)}
    parts, skipped = [], 0
    for p in plans:
        width = len(p.sheet.headers)
        raw = [f"nullif(trim(r.c{j}), '')" for j in range(width)]
        joins, cols = [], []
        for name in present:
            src = p.sources.get(name)
            if src is None:
                cols.append(f"NULL::VARCHAR AS {name}")
                cols += [f"NULL::VARCHAR AS _w_{name}"] if name in written else []
                continue
            key = f"p{p.sheet_no}_{name}"
            if src.constant is not None:
                params[key] = src.constant
                expr = f"${key}"
            elif name in untrimmed:
                expr = f"nullif(r.c{src.column}, '')"
            else:
                expr = f"nullif(trim(r.c{src.column}), '')"
            shown = expr
            if src.empty:  # placeholders such as N/A; a list, not IN, which DuckDB may make a join
                params[key + "_e"] = list(src.empty)
                expr = f"CASE WHEN list_contains(${key}_e, lower({expr})) THEN NULL ELSE {expr} END"
            if src.values:
                params[key + "_t"] = key
                joins.append(f"LEFT JOIN memory.main._translate t_{key} ON t_{key}.k = ${key}_t "
                             f"AND t_{key}.input = lower({expr})")
                _register_translations(con, key, src.values)
            if src.values or src.other is not None:
                other = expr
                if src.other is not None:
                    params[key + "_o"] = src.other
                    other = f"CASE WHEN {expr} IS NOT NULL THEN ${key}_o END"
                expr = f"coalesce(t_{key}.output, {other})" if src.values else other
            if src.blank is not None:
                params[key + "_b"] = src.blank
                expr = f"coalesce({expr}, ${key}_b)"
            if src.prefix:
                params[key + "_p"] = src.prefix
                expr = f"(${key}_p || {expr})"
            cols.append(f"{expr} AS {name}")
            if name in written:
                cols.append(f"{shown} AS _w_{name}")
        blank = " AND ".join(f"{c} IS NULL" for c in raw) or "false"
        skip = " OR ".join(f"list_contains(${_skip_param(params, p, k, values)}, lower({raw[j]}))"
                           for k, (j, values) in enumerate(p.skips)) or "false"
        if p.sheet.direct and (joins or p.skips or len(plans) > 1):
            raise Indirect  # a join, a filter, or a union with another sheet may reorder the rows
        if p.sheet.direct:  # rows of empty cells go once the rows are numbered (read.number_rows)
            # Most rows show they are not blank by their first character; only the rest are trimmed.
            # (trim() removes Unicode spaces, U+0020 to U+3000; no IN list, which DuckDB makes a join.)
            early = " ".join(f"WHEN ascii(r.c{j}) BETWEEN 33 AND 159 OR ascii(r.c{j}) > 12288 THEN false"
                             for j in range(width))
            parts.append(f"SELECT {p.sheet_no} AS _sheet, r._row, {', '.join(cols)}, "
                         f"CASE {early} ELSE {blank} END AS _blank FROM memory.main.{p.sheet.relation} r")
            continue
        parts.append(f"SELECT {p.sheet_no} AS _sheet, r._row, {', '.join(cols)} "
                     f"FROM memory.main.{p.sheet.relation} r {' '.join(joins)} WHERE NOT ({blank}) AND NOT ({skip})")
        if p.skips:
            used = {k: v for k, v in params.items() if f"${k}" in skip}
            skipped += con.execute(f"SELECT count(*) FROM memory.main.{p.sheet.relation} r "
                                   f"WHERE NOT ({blank}) AND ({skip})", used).fetchall()[0][0]
    sql = " UNION ALL ".join(parts)
    return Staged(present, sql, {k: v for k, v in params.items() if f"${k}" in sql}, untrimmed, written, formats,
                  constants, skipped)


def _skip_param(params: dict, p: Plan, k: int, values: tuple) -> str:
    key = f"p{p.sheet_no}_skip{k}"
    params[key] = list(values)
    return key


def _register_translations(con, key: str, values: dict) -> None:
    frame = pd.DataFrame({"k": key, "input": list(values), "output": list(values.values())})
    con.execute("CREATE TABLE IF NOT EXISTS memory.main._translate (k VARCHAR, input VARCHAR, output VARCHAR)")
    con.execute("DELETE FROM memory.main._translate WHERE k = ?", [key])  # staged again after read.Indirect
    con.register("_tr_frame", frame)
    con.execute("INSERT INTO memory.main._translate SELECT k, input, output FROM _tr_frame")
    con.unregister("_tr_frame")


def _number(x: str) -> str:
    # Thousands separators are dropped only where the plain cast fails: replace() copies every value.
    return f"coalesce(TRY_CAST({x} AS DOUBLE), TRY_CAST(replace({x}, ',', '') AS DOUBLE))"


# A time written with an offset or Z (ISO 8601, RFC 3339): converted to the county's zone.
OFFSET = r"\d:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|UTC|GMT|[+-]\d{2}(:?\d{2})?)$"
# Day, month and year in an order only the writer knows: 1/2/20 is 2 January or 1 February.
DAY_MONTH = r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b"


def _in_county(parsed: str) -> str:
    return f"timezone({_lit(settings.COUNTY_TIMEZONE)}, {parsed})"


def _timestamp(x: str, formats: tuple = ()) -> str:
    """A mapping's own formats are the only ones tried; otherwise the usual spellings, year first
    (DuckDB's %Y takes a one- or two-digit year, so a year-last date never reaches them)."""
    if formats:
        parsed = [_in_county(f"try_strptime({x}, {_lit(f)})") if re.search("%[zZ]", f)
                  else f"try_strptime({x}, {_lit(f)})" for f in formats]
        return f"coalesce({', '.join(parsed)})"
    listed = "[" + ", ".join(_lit(f) for f in TIMESTAMP_FORMATS) + "]"
    serial = f"TRY_CAST({x} AS DOUBLE)"
    # The usual spelling is tried first: for it, the regular expressions cost more than the parse.
    # An Excel serial is rounded to the second, as Excel shows it.
    return (f"coalesce(try_strptime({x}, {_lit(TIMESTAMP_FORMATS[0])}), "
            f"CASE WHEN regexp_full_match({x}, '\\d{{8}}') THEN try_strptime({x}, '%Y%m%d') "
            f"WHEN regexp_full_match({x}, '\\d{{1,5}}(\\.\\d+)?') AND {serial} >= 1 "
            f"THEN TIMESTAMP '1899-12-30' + to_seconds(round({serial} * 86400)) "
            f"WHEN regexp_matches({x}, {_lit(OFFSET)}) THEN {_in_county(f'TRY_CAST({x} AS TIMESTAMPTZ)')} "
            f"WHEN regexp_matches({x}, '^\\d{{4}}\\D') THEN try_strptime({x}, {listed}) END)")


def typed_expr(f: spec.Field, alias: str = "s", formats: tuple = ()) -> str:
    """The value of <alias>.<field> in its type; NULL where it does not parse. No joins (nor IN
    lists, which DuckDB turns into joins), so that the rows keep the order of the file (read.read_csv)."""
    x = f"{alias}.{f.name}"
    if f.choices:
        cases = " ".join(f"WHEN {_lit(text)} THEN {_lit(code)}" for text, code in spec.choice_inputs(f).items())
        return f"coalesce(CASE {x} {cases} END, CASE lower({x}) {cases} END)"
    if f.kind in ("int", "bigint"):
        d = _number(x)
        return f"CASE WHEN isfinite({d}) AND {d} = trunc({d}) AND abs({d}) < 9e15 THEN {d}::BIGINT END"
    if f.kind in ("decimal", "double"):
        d = _number(x)
        return f"CASE WHEN isfinite({d}) THEN {d} END"
    if f.kind == "bool":
        cases = " ".join([f"WHEN {_lit(w)} THEN true" for w in TRUE_WORDS] + [f"WHEN {_lit(w)} THEN false" for w in FALSE_WORDS])
        return f"CASE lower({x}) {cases} END"
    if f.kind in ("date", "timestamp"):
        return _timestamp(x, formats)
    return x


def typed(con, table: spec.Table, staged: Staged) -> None:
    """typ_<table>: v_<field>, each value in the type it is checked in, and the staged text of the
    fields that are parsed (as_written fields have only v_<field>).

    An untrimmed field is parsed as written, and trimmed and parsed again only where that fails;
    its text is trimmed only there too (a value that parses is shown as written)."""
    present, untrimmed, sql = staged.present, staged.untrimmed, staged.sql
    exprs = []
    for name in present:
        expr = typed_expr(table.field(name), "t", staged.formats.get(name, ()))
        exprs.append(f"coalesce(t._p_{name}, {expr}) AS v_{name}" if name in untrimmed else f"{expr} AS v_{name}")
    lazy = [n for n in present if n in untrimmed]
    if lazy:
        first = ", ".join(f"{typed_expr(table.field(n))} AS _p_{n}" for n in lazy)
        trim = ", ".join(f"CASE WHEN _p_{n} IS NULL THEN nullif(trim({n}), '') ELSE {n} END AS {n}" for n in lazy)
        sql = f"SELECT p.* REPLACE ({trim}) FROM (SELECT s.*, {first} FROM ({sql}) s) p"
    dropped = [f"_p_{n}" for n in lazy] + [n for n in present if as_written(table.field(n))]
    drop = f" EXCLUDE ({', '.join(dropped)})" if dropped else ""
    con.execute(f"CREATE OR REPLACE TABLE memory.main.typ_{table.name} AS "
                f"SELECT t.*{drop}, {', '.join(exprs)} FROM ({sql}) t", staged.params)


def _parse_message(f: spec.Field, formats: tuple = ()) -> str:
    if f.choices:
        return "不在允许的取值中,可填: " + "、".join(f.choices.values())
    if formats:
        return f"不符合对照表为这一列规定的格式 {' 或 '.join(formats)}"
    return {
        "int": "不是整数", "bigint": "不是整数", "decimal": "不是有效的数字", "double": "不是有效的数字",
        "bool": "应填写“是”或“否”",
        "date": "不是有效的日期,可写作 2026-09-01、2026/9/1 或 2026年9月1日",
        "timestamp": "不是有效的时间,可写作 2026-09-01 08:30 或 2026/9/1 8:30",
    }.get(f.kind, "格式不正确")


def _day_month_hint(x: str) -> str:
    """SQL for the two formats a year-last date could have been written in, for the clerk to choose."""
    sep = f"regexp_extract({x}, '^\\d{{1,2}}([/.\\-])', 1)"
    year = f"CASE WHEN regexp_matches({x}, '^\\d{{1,2}}[/.\\-]\\d{{1,2}}[/.\\-]\\d{{4}}') THEN '%Y' ELSE '%y' END"
    time = (f"CASE WHEN regexp_matches({x}, '(?i)\\d:\\d{{2}}:\\d{{2}}\\s*[AP]M') THEN ' %I:%M:%S %p' "
            f"WHEN regexp_matches({x}, '(?i)\\d:\\d{{2}}\\s*[AP]M') THEN ' %I:%M %p' "
            f"WHEN regexp_matches({x}, '\\d:\\d{{2}}:\\d{{2}}') THEN ' %H:%M:%S' "
            f"WHEN regexp_matches({x}, '\\d:\\d{{2}}') THEN ' %H:%M' ELSE '' END")
    return (f"concat('\"%m', {sep}, '%d', {sep}, {year}, {time}, '\"(月/日/年)或 \"%d', {sep}, '%m', {sep}, "
            f"{year}, {time}, '\"(日/月/年)')")


def _range_message(f: spec.Field, county: str) -> str:
    lo, hi = spec.plain_number(f.lo), spec.plain_number(f.hi)
    if f.name in ("lat", "lon"):
        return f"{'纬度' if f.name == 'lat' else '经度'}不在{county}范围内(应在 {lo}–{hi} 之间)"
    if f.hi is None:
        return f"应大于 {lo}" if f.lo_open else f"不能小于 {lo}"
    if f.lo_open:
        return f"应大于 {lo} 且不超过 {hi}"
    return f"超出范围,应在 {lo}–{hi} 之间"


@dataclass
class _Check:
    """A check of one table: `sql` selects _sheet, _row, field, value, arg of the rows that fail it;
    `probe`, an aggregate over the typed table, is zero when it would select none."""
    sql: str
    message: str
    probe: str | None = None


@dataclass(frozen=True)
class County:
    """The county a database holds, as its meta records it (nothing: Huantai)."""
    name: str
    code: str | None = None
    outline: str | None = None  # WKT, when the database records its own (the demo's generated counties)

    @property
    def bounds(self) -> tuple:
        """The bounds of the county's outline (geo.outline), asked only of a file with coordinates."""
        try:
            return spec.county_bounds(self.code, self.outline)
        except ValueError as exc:
            raise FileError(str(exc)) from None


HOME = County("桓台县")
_COUNTY_META = "SELECT key, value FROM {}meta WHERE key IN ('county_code', 'county_name', 'county_outline')"


def county(con, live: str | None, live_tables: set) -> County:
    """The county of the database attached as live: coordinates are checked against its own outline."""
    return _county(dict(con.execute(_COUNTY_META.format(f"{live}.main.")).fetchall())
                   if live and "meta" in live_tables else {})


def county_of(con) -> County:
    """The county con's own database holds (see county)."""
    return _county(dict(con.execute(_COUNTY_META.format("")).fetchall()))


def _county(meta: dict) -> County:
    return County(meta.get("county_name") or HOME.name, meta.get("county_code"), meta.get("county_outline"))


def _checks(table: spec.Table, staged: Staged, files: dict, live: str | None, place: County) -> list[_Check]:
    if {"lat", "lon"} & set(staged.present):
        table = spec.located(table, place.bounds)
    t = f"memory.main.typ_{table.name}"
    present = staged.present
    out = []

    def text(name):  # the value checked, as staged
        return f"v_{name}" if as_written(table.field(name)) else name

    def shown(name):  # the value as the file has it, before a mapping rewrote it
        return f"_w_{name}" if name in staged.written else text(name)

    def add(field, condition, message, arg="NULL"):
        # A number or time that parsed is kept untrimmed (see typed); it is shown trimmed.
        sql = (f"SELECT _sheet, _row, {_lit(field)} AS field, trim({shown(field)}::VARCHAR) AS value, "
               f"{arg}::VARCHAR AS arg FROM {t} WHERE {condition}")
        out.append(_Check(sql, message, f"count_if({condition})"))

    for name in present:
        f = table.field(name)
        formats = staged.formats.get(name, ())
        if f.kind in ("date", "timestamp") and not formats:
            year_last = f"{name} IS NOT NULL AND v_{name} IS NULL AND regexp_matches({name}, {_lit(DAY_MONTH)})"
            add(name, year_last, "日、月的先后无法确定(如 1/2/20 可以是1月2日,也可以是2月1日)。请写成 2020-01-02 这样的"
                                  "年-月-日;导入其他系统的文件时,可在对照表中为这一列写 format: {arg}", _day_month_hint(name))
            add(name, f"{name} IS NOT NULL AND v_{name} IS NULL AND NOT regexp_matches({name}, {_lit(DAY_MONTH)})",
                _parse_message(f))
        elif not as_written(f):
            add(name, f"{name} IS NOT NULL AND v_{name} IS NULL", _parse_message(f, formats))
        if f.kind in ("date", "timestamp"):
            _date_range_checks(f, add)
        if f.required:
            add(name, f"{text(name)} IS NULL", "必填,不能为空")
        if f.pattern:
            add(name, f"{text(name)} IS NOT NULL AND NOT regexp_full_match({text(name)}, {_lit(f.pattern)})",
                f.pattern_zh)
        if f.lo is not None or f.hi is not None:
            cond = []
            if f.lo is not None:
                cond.append(f"v_{name} {'<=' if f.lo_open else '<'} {float(f.lo)!r}")
            if f.hi is not None:
                cond.append(f"v_{name} > {float(f.hi)!r}")
            add(name, f"v_{name} IS NOT NULL AND ({' OR '.join(cond)})", _range_message(f, place.name))
        elif f.kind == "int":
            add(name, f"v_{name} IS NOT NULL AND abs(v_{name}) > 2147483647", "数值过大")
        if f.ref:
            _reference_check(table, f, present, files, live, add)
    for a, b in table.order_checks:
        if a in present and b in present:
            fa, fb = table.field(a), table.field(b)
            add(b, f"v_{a} IS NOT NULL AND v_{b} IS NOT NULL AND v_{b} < v_{a}",
                f"{fb.zh}早于{fa.zh}({{arg}})", arg=a)
    steps = [s for s in table.flat_steps if s in present]
    for k, name in enumerate(steps[1:], start=1):
        before = ", ".join(f"v_{s}" for s in steps[:k])
        add(name, f"v_{name} < greatest({before})",
            f"{table.field(name).zh}早于前面步骤的时间({{arg}}),步骤不能倒退", arg=f"strftime(greatest({before}), '%Y-%m-%d %H:%M:%S')")
    if steps and "filed_at" in present:
        later = " OR ".join(f"{s} IS NOT NULL" for s in steps[1:] + (["escalated_at"] if "escalated_at" in present else []))
        if later:
            add("filed_at", f"filed_at IS NULL AND ({later})", "填写了后续步骤的时间,必须同时填写提单时间")
    if "escalated_at" in present and "filed_at" in present:
        add("escalated_at", "v_escalated_at < v_filed_at", "约请时间早于提单时间")
    if table.name == "people" and "party_member_status" in present:
        member = "coalesce(v_is_party_member, false)" if "is_party_member" in present else "false"
        add("party_member_status", f"v_party_member_status IS NOT NULL AND NOT {member}",
            "填写了党员类别,但“是否党员”不是“是”")
    if table.name == "appeals":
        _appeal_checks(present, add)
    keys = [k for k in table.key if k in present]
    if keys and all(k in present for k in table.key if table.field(k).required):
        part = ", ".join(f"v_{k}" for k in keys)
        required_null = " OR ".join(f"v_{k} IS NULL" for k in keys if table.field(k).required) or "false"
        first = keys[0]
        out.append(_Check(f"""
            SELECT _sheet, _row, {_lit(first)} AS field, trim({shown(first)}::VARCHAR) AS value, first_row::VARCHAR AS arg
            FROM (SELECT *, first_value(_row) OVER w AS first_row, first_value(_sheet) OVER w AS first_sheet,
                         count(*) OVER (PARTITION BY {part}) AS n
                  FROM {t} WHERE NOT ({required_null})
                  WINDOW w AS (PARTITION BY {part} ORDER BY _sheet, _row))
            WHERE n > 1 AND (_sheet, _row) <> (first_sheet, first_row)""",
                          "与第 {arg} 行重复:" + "、".join(table.field(k).zh for k in keys) + "相同",
                          f"count(*) FILTER (WHERE NOT ({required_null})) "
                          f"- count(DISTINCT ({part})) FILTER (WHERE NOT ({required_null}))"))
    if table.name == "credit_events" and "indicator_code" in present:
        out += _catalogue_checks(present, files, live, shown)
    if table.append_only and live and table.key[0] in present:
        stored = [n for n in present if n not in table.key and n not in table.extra]
        if stored:
            diff = " OR ".join(f"CAST(t.v_{n} AS {table.field(n).sql}) IS DISTINCT FROM e.{n}" for n in stored)
            out.append(_Check(f"""
                SELECT t._sheet, t._row, {_lit(table.key[0])} AS field, trim(t.{shown(table.key[0])}::VARCHAR) AS value,
                       NULL::VARCHAR AS arg
                FROM {t} t JOIN {live}.main.{table.name} e ON e.{table.key[0]} = t.v_{table.key[0]}
                WHERE {diff}""", "已入账的积分记录不可修改,请以冲销记录更正(记录编号已存在且内容不同)"))
    return out


def _appeal_checks(present: list, add) -> None:
    """An appeal names a ledger line or a quarter's ranking of a grid; a decided one says when."""
    def given(name):
        return f"v_{name} IS NOT NULL" if name in present else "false"

    target = "event_id" if "event_id" in present else "appeal_id"
    add(target, f"NOT ({given('event_id')}) AND NOT ({given('quarter')} AND {given('grid_id')})",
        "请指明申诉对象:填写被申诉记录编号,或同时填写被申诉排名季度和网格")
    add(target, f"{given('event_id')} AND ({given('quarter')} OR {given('grid_id')})",
        "被申诉记录编号与被申诉排名(季度、网格)只能填一种")
    if "status" in present:
        add("status", f"v_status IN ('upheld', 'rejected') AND NOT ({given('decided_on')})",
            "处理状态为支持或驳回时,必须填写处理日期")
        add("status", f"v_status IN ('pending', 'accepted') AND ({given('decided_on')} OR {given('correcting_event_id')})",
            "尚未处理完毕(待处理、已受理)的申诉不能有处理日期或更正记录")
        add("status", f"v_status = 'rejected' AND {given('correcting_event_id')}", "驳回的申诉不能有更正记录")


def _catalogue_checks(present: list, files: dict, live: str | None, shown) -> list[_Check]:
    """A ledger line agrees with its indicator: the catalogue's points (a reversal excepted), and
    a date within the indicator's validity, unless the line is marked as an approved adjustment.
    A catalogue in the same file replaces the stored one for the codes it gives."""
    parts = []
    if "credit_indicators" in files:
        given = files["credit_indicators"].present
        value = {c: f"v_{c}" if c in given else "NULL" for c in ("points", "valid_from", "valid_to")}
        parts.append(f"SELECT v_indicator_code AS code, {value['points']}::DECIMAL(8, 2) AS points, "
                     f"{value['valid_from']}::DATE AS valid_from, {value['valid_to']}::DATE AS valid_to "
                     "FROM memory.main.typ_credit_indicators")
    if live and "credit_indicators" in files["_live_tables"]:
        replaced = ("WHERE indicator_code NOT IN (SELECT v_indicator_code FROM memory.main.typ_credit_indicators "
                    "WHERE v_indicator_code IS NOT NULL)" if "credit_indicators" in files else "")
        parts.append(f"SELECT indicator_code AS code, points, valid_from, valid_to FROM {live}.main.credit_indicators {replaced}")
    if not parts:
        return []
    reversal = "t.v_reverses_event_id IS NOT NULL" if "reverses_event_id" in present else "false"
    adjusted = "coalesce(t.v_adjustment, false)" if "adjustment" in present else "false"
    base = (f"WITH catalogue AS ({' UNION ALL '.join(parts)}) SELECT t._sheet, t._row, {{field}} AS field, "
            f"trim({{value}}::VARCHAR) AS value, {{arg}} AS arg FROM memory.main.typ_credit_events t "
            f"JOIN catalogue i ON i.code = t.v_indicator_code WHERE NOT {adjusted} AND {{condition}}")
    hint = "如确为经批准的调整,请在“是否调整”列填“是”并在备注中说明"
    out = []
    if "points" in present:
        out.append(_Check(base.format(field="'points'", value=f"t.{shown('points')}", arg="rtrim(rtrim(i.points::VARCHAR, '0'), '.')",
                                      condition=f"NOT {reversal} AND i.points IS NOT NULL "
                                                "AND t.v_points <> i.points::DOUBLE"),
                          f"与指标目录中该指标的分值({{arg}})不一致;{hint}"))
    if "occurred_at" in present:
        out.append(_Check(base.format(field="'occurred_at'", value=f"t.{shown('occurred_at')}",
                                      arg="concat(coalesce(i.valid_from::VARCHAR, '不限'), ' 至 ', "
                                          "coalesce(i.valid_to::VARCHAR, '不限'))",
                                      condition="(t.v_occurred_at < i.valid_from "
                                                "OR t.v_occurred_at >= i.valid_to + INTERVAL 1 DAY)"),
                          f"不在该指标的有效期内({{arg}});{hint}"))
    return out


def _date_range_checks(f: spec.Field, add) -> None:
    """A date the county cannot have: before EARLIEST_YEAR (a two-digit year read as 0020, a
    placeholder such as 1900-01-01), or later than the import day allows (an event cannot have
    happened tomorrow; a planned date may lie LATEST_YEARS_AHEAD ahead)."""
    first = clock.earliest()
    add(f.name, f"v_{f.name} < TIMESTAMP '{first:%Y-%m-%d}'",
        f"年份不合理:早于 {first.year} 年(年份只写了两位时请写全四位;表示“无”的占位日期请留空)")
    if f.kind == "timestamp":
        after = clock.latest_event()
        add(f.name, f"v_{f.name} >= TIMESTAMP '{after:%Y-%m-%d %H:%M:%S}'",
            f"晚于导入当天({clock.today():%Y-%m-%d}),不能是将来的时间;请检查年份是否写错")
    else:
        last = clock.latest()
        add(f.name, f"v_{f.name} >= TIMESTAMP '{last:%Y-%m-%d}' + INTERVAL 1 DAY",
            f"日期晚于 {last:%Y-%m-%d},超出合理范围(长期有效请留空)")


def _reference_check(table, f, present, files, live, add):
    """The value must name a row in the same file or in the database."""
    targets = []
    if f.ref == "subject":
        if "subject_type" not in present:
            return
        for code, ref in (("person", "people"), ("org", "organizations")):
            targets.append((ref, f"v_subject_type = {_lit(code)}"))
    else:
        targets.append((f.ref, "true"))
    for ref, when in targets:
        key = spec.REF_KEYS[ref]
        key_type = spec.TABLES[ref].field(key).sql
        exists = []
        if ref in files:
            exists.append(f"v_{f.name} IN (SELECT CAST(v_{key} AS {key_type}) FROM memory.main.typ_{ref})")
        if live and ref in files.get("_live_tables", ()):
            exists.append(f"v_{f.name} IN (SELECT {key} FROM {live}.main.{ref})")
        found = " OR ".join(exists) or "false"
        label = spec.TABLES[ref].zh
        add(f.name, f"v_{f.name} IS NOT NULL AND {when} AND NOT ({found})",
            f"{f.zh}不存在:文件和数据库中都没有这个{label}。请先导入{label}(导入模板的“{label}”工作表),"
            f"或把{label}放在同一个文件里一起导入")


def problems(con, staged: dict, live: str | None, live_tables: set, labels: dict, sheet_names: dict,
             file_name: str, mapping_name: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every problem of every staged table (name -> Staged): (one row per problem and column over
    all the rows it concerns, its rows named in the message and 行 empty when there are several;
    one row per problem and row). labels: (sheet_no, field) -> column
    header as written; sheet_names: sheet_no -> name. A problem of a mapping's constant is the
    mapping's, said once in both."""
    files = dict(staged)
    files["_live_tables"] = live_tables
    parts, messages = [], []
    place = county(con, live, live_tables)
    for name, st in staged.items():
        checks = _checks(spec.TABLES[name], st, files, live, place)
        probed = [c for c in checks if c.probe]
        # One scan finds which checks fail at all (usually none); only those list their rows.
        counts = con.execute(f"SELECT {', '.join(c.probe for c in probed)} FROM memory.main.typ_{name}"
                             ).fetchall()[0] if probed else ()
        failing = {id(c) for c, n in zip(probed, counts) if n}
        for c in checks:
            if c.probe is None or id(c) in failing:
                parts.append(f"SELECT {len(messages)} AS check_no, * FROM ({c.sql})")
                messages.append((name, c.message))
    if not parts:
        return empty_problems(), empty_problems()
    con.execute("CREATE OR REPLACE TABLE memory.main._problems AS " + " UNION ALL ".join(parts))

    def said(check_no, arg) -> tuple[str, str]:
        table, message = messages[check_no]
        return table, message.replace("{arg}", "" if arg is None else str(arg))

    constants = {(t, f) for t, st in staged.items() for f in st.constants}
    grouped, constant = [], {}
    for check_no, sheet, field, arg, n, first, last, listed, value, distinct, some in con.execute(f"""
            SELECT check_no, _sheet, field, arg, count(*) AS n, min(_row) AS first, max(_row) AS last,
                   list(_row ORDER BY _row)[1:{GROUP_ROWS_LISTED}] AS listed, first(value ORDER BY _row) AS value,
                   count(DISTINCT value) AS distinct_values, list(DISTINCT value ORDER BY value)[1:3] AS some_values
            FROM memory.main._problems GROUP BY ALL ORDER BY _sheet, first, check_no LIMIT {MAX_PROBLEMS}""").fetchall():
        table, message = said(check_no, arg)
        column = labels.get((sheet, field), field)
        if (table, field) in constants:
            key = (field, message)
            constant[key] = (column, staged[table].constants[field], constant.get(key, (0, 0, 0))[2] + n)
            continue
        if distinct > 1:
            value = "、".join(str(v) for v in some) + f" 等 {distinct:,} 个不同的值"
        if n > 1:
            if last - first + 1 == n:
                where = f"第 {first}–{last} 行"
            else:
                where = f"第 {'、'.join(str(r) for r in listed)}{' 等' if n > len(listed) else ' '}行"
            message = f"{where}:{message}(共 {n:,} 行)"
        grouped.append((file_name, sheet_names.get(sheet, ""), first if n == 1 else None, column, value, message))
    mapped = [(mapping_name or file_name, "", None, column, value, f"对照表中的常量“{value}”:{message}(影响全部 {n:,} 行)")
              for (_, message), (column, value, n) in constant.items()]
    details = []
    for check_no, sheet, row, field, value, arg in con.execute(f"""
            SELECT check_no, _sheet, _row, field, value, arg FROM memory.main._problems
            ORDER BY _sheet, _row, check_no LIMIT {MAX_PROBLEMS}""").fetchall():
        table, message = said(check_no, arg)
        if (table, field) not in constants:
            details.append((file_name, sheet_names.get(sheet, ""), row, labels.get((sheet, field), field), value, message))
    return (pd.DataFrame(mapped + grouped, columns=PROBLEM_COLUMNS),
            pd.DataFrame(mapped + details, columns=PROBLEM_COLUMNS))


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame(columns=PROBLEM_COLUMNS)

