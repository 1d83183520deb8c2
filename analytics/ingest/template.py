"""Import templates: one sheet per table with Chinese headers (required ones marked *) and an
example row, and a sheet 允许取值 explaining every column and its allowed values."""

import io
from pathlib import Path

from . import spec

KIND_ZH = {"text": "文本", "int": "整数", "bigint": "整数", "decimal": "数字", "double": "数字",
           "date": "日期", "timestamp": "日期时间", "bool": "是/否"}
GUIDE_SHEET = "允许取值"


def resolve(tables) -> list[str]:
    """Table names from 'all', a name (English or Chinese) or a list of them, in load order."""
    if tables in (None, "all") or tables == ["all"]:
        return list(spec.ORDER)
    names = [tables] if isinstance(tables, str) else list(tables)
    out = []
    for name in names:
        t = spec.table_for_name(name)
        if t is None:
            raise ValueError(f"未知的表: {name};可选: all, {', '.join(spec.TABLES)}")
        out.append(t.name)
    return [n for n in spec.ORDER if n in out]


def _allowed(f: spec.Field) -> str:
    if f.choices:
        return "、".join(f.choices.values())
    if f.pattern_zh:
        return f.pattern_zh
    if f.lo is not None or f.hi is not None:
        lo = "" if f.lo is None else spec.plain_number(f.lo)
        hi = "" if f.hi is None else spec.plain_number(f.hi)
        return f"{lo}–{hi}" if hi else (f"> {lo}" if f.lo_open else f"≥ {lo}")
    if f.ref:
        ref = "人员或组织" if f.ref == "subject" else spec.TABLES[f.ref].zh
        return f"须为已有的{ref}编号(本文件或数据库中)"
    return ""


def build(tables) -> "openpyxl.Workbook":
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.remove(book.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FDE9E7")
    for name in resolve(tables):
        t = spec.TABLES[name]
        ws = book.create_sheet(t.zh)
        ws.append([f.zh + ("*" if f.required else "") for f in t.fields])
        ws.append([f.example for f in t.fields])
        for j, f in enumerate(t.fields, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font = bold
            if f.required:
                cell.fill = fill
            ws.column_dimensions[cell.column_letter].width = max(12, 2 * len(f.zh) + 4)
            if f.choices and len(",".join(f.choices.values())) < 250:
                dv = DataValidation(type="list", formula1='"' + ",".join(f.choices.values()) + '"', allow_blank=True)
                dv.add(f"{cell.column_letter}2:{cell.column_letter}100000")
                ws.add_data_validation(dv)
        ws.freeze_panes = "A2"
    guide = book.create_sheet(GUIDE_SHEET)
    guide.append(["表", "工作表", "列", "英文列名", "类型", "必填", "允许取值 / 范围", "说明"])
    for cell in guide[1]:
        cell.font = bold
    for name in resolve(tables):
        t = spec.TABLES[name]
        for f in t.fields:
            guide.append([t.name, t.zh, f.zh, f.name, KIND_ZH[f.kind], "是" if f.required else "",
                          _allowed(f), f.note])
    for letter, width in zip("ABCDEFGH", (22, 14, 16, 20, 10, 6, 60, 30)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        row[6].alignment = Alignment(wrap_text=True)
    return book


def write_template(tables, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    build(tables).save(out)
    return out


def template_bytes(tables) -> bytes:
    buffer = io.BytesIO()
    build(tables).save(buffer)
    return buffer.getvalue()
