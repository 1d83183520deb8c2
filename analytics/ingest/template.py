"""Import templates: one sheet per table with Chinese headers (required ones marked *) and an
example row, and a sheet 允许取值 explaining every column and its allowed values. Coordinates are
those of the county the import goes into: its outline's range, and the examples moved into it."""

from dataclasses import replace
from pathlib import Path

import pandas as pd

from .. import export
from . import spec, validate
from .read import FileError

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


def _in_county(t: spec.Table, county: validate.County) -> spec.Table:
    """t with its coordinates' range the county's (as the import checks them), their examples moved
    from Huantai as the county lies from it, and a note naming the county; a county whose outline is
    nowhere has no range and no example, and the note says where its outline goes."""
    if not {"lat", "lon"} & {f.name for f in t.fields}:
        return t
    try:
        bounds = county.bounds
    except FileError as exc:
        return replace(t, fields=tuple(replace(f, lo=None, hi=None, example=None, note=str(exc)) if f.name in ("lat", "lon") else f
                                       for f in t.fields))
    home = spec.county_bounds()
    shift = {name: (bounds[k] + bounds[k + 2] - home[k] - home[k + 2]) / 2 for k, name in enumerate(("lon", "lat"))}
    note = f"{county.name}辖区范围(边界四周外扩约 1 公里)"
    return replace(t, fields=tuple(replace(f, example=round(f.example + shift[f.name], 3), note=note)
                                   if f.name in shift else f for f in spec.located(t, bounds).fields))


def sheets(tables, county: validate.County = validate.HOME) -> dict[str, pd.DataFrame]:
    """Each table's header (required columns marked *) above its example row, and the guide sheet;
    coordinates those of the county (validate.county_of the database imported into)."""
    chosen = [_in_county(spec.TABLES[name], county) for name in resolve(tables)]
    out = {t.zh: pd.DataFrame([[f.example for f in t.fields]], columns=[f.zh + ("*" if f.required else "") for f in t.fields])
           for t in chosen}
    out[GUIDE_SHEET] = pd.DataFrame(
        [[t.name, t.zh, f.zh, f.name, KIND_ZH[f.kind], "是" if f.required else "", _allowed(f), f.note]
         for t in chosen for f in t.fields],
        columns=["表", "工作表", "列", "英文列名", "类型", "必填", "允许取值 / 范围", "说明"])
    return out


def _decorate(book, sheet, name: str, frame: pd.DataFrame) -> None:
    """Required headers filled, a drop-down list where a column has few allowed values; the guide wrapped."""
    if name == GUIDE_SHEET:
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        for j, width in enumerate((22, 14, 16, 20, 10, 6, 60, 30)):
            sheet.set_column(j, j, width, wrap if j == 6 else None)
        return
    required = book.add_format({"bold": True, "bg_color": "#FDE9E7", "border": 1})
    for j, f in enumerate(spec.table_for_name(name).fields):
        sheet.set_column(j, j, max(12, 2 * len(f.zh) + 4))
        if f.required:
            sheet.write_string(0, j, frame.columns[j], required)
        if f.choices and len(",".join(f.choices.values())) < 250:
            sheet.data_validation(1, j, 99_999, j, {"validate": "list", "source": list(f.choices.values())})


def write_template(tables, out, county: validate.County = validate.HOME) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    export.write_xlsx(out, sheets(tables, county), _decorate)
    return out


def template_bytes(tables, county: validate.County = validate.HOME) -> bytes:
    return export.xlsx_bytes(sheets(tables, county), _decorate)
