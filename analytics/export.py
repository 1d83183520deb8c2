"""The one writer of every spreadsheet handed out: page downloads, problem lists, import templates,
meeting packs, publications and command-line exports.

Text from the data stays text. In an XLSX no cell is ever a formula, a link or a number made from
text (XlsxWriter with strings_to_formulas/urls/numbers off); in a CSV a text cell that a spreadsheet
would read as a formula (leading =, +, -, @, tab or carriage return) gets a leading apostrophe, as
OWASP's CSV-injection guidance says. Numbers in numeric columns, negative ones too, stay numbers.
"""

import io
import re
from typing import Callable

import pandas as pd

_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
# Full-width signs too: a Chinese input method types them, and some spreadsheets read them as the ASCII ones.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FILE_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def neutralised(value):
    """A text cell as a CSV carries it: prefixed with an apostrophe if it would start a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text, text cells neutralised; times to the minute, as every screen shows them."""
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                    and not pd.api.types.is_datetime64_any_dtype(frame[c])]
    safe = frame.assign(**{c: frame[c].map(neutralised) for c in text_columns}) if text_columns else frame
    safe.columns = [neutralised(str(c)) for c in frame.columns]
    # CRLF, as RFC 4180 and Excel write it: a carriage return inside a cell is then quoted, not a new row.
    return safe.to_csv(index=False, date_format="%Y-%m-%d %H:%M", lineterminator="\r\n")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    return csv_text(frame).encode("utf-8-sig")


def sheet_name(name: str, taken: set[str] = frozenset()) -> str:
    """A name Excel accepts: no []:*?/\\, at most 31 characters, unique in the workbook."""
    base = _SHEET_FORBIDDEN.sub("_", str(name)).strip("'") or "Sheet"
    out, k = base[:31], 1
    while out.lower() in {t.lower() for t in taken}:
        k += 1
        out = f"{base[:31 - len(str(k)) - 1]}_{k}"
    return out


def _width(value) -> int:
    """Printed width in Latin characters: a Chinese character counts as two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(value))


def write_xlsx(out, sheets: dict[str, pd.DataFrame], decorate: Callable | None = None) -> None:
    """One sheet per frame, named by its key, the header row frozen and columns as wide as their text.
    decorate(book, sheet, name, frame), if given, adds what a workbook needs beyond the cells (a template's
    required-column fill and drop-down lists); it gets XlsxWriter's objects."""
    with pd.ExcelWriter(out, engine="xlsxwriter", engine_kwargs={"options": _OPTIONS},
                        datetime_format="yyyy-mm-dd hh:mm", date_format="yyyy-mm-dd") as writer:
        taken: set[str] = set()
        for name, frame in sheets.items():
            title = sheet_name(name, taken)
            taken.add(title)
            frame.to_excel(writer, sheet_name=title, index=False)
            sheet = writer.sheets[title]
            sheet.freeze_panes(1, 0)
            for i, column in enumerate(frame.columns):
                width = max([_width(column)] + [_width(v) for v in frame[column].head(200)])
                sheet.set_column(i, i, min(50, 2 + width * 1.1))
            if decorate is not None:
                decorate(writer.book, sheet, name, frame)


def xlsx_bytes(sheets: dict[str, pd.DataFrame], decorate: Callable | None = None) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, sheets, decorate)
    return buffer.getvalue()


def file_name(*parts) -> str:
    """A download's name: its parts joined by _, without characters a file system refuses."""
    return _FILE_FORBIDDEN.sub("_", "_".join(str(p) for p in parts)).strip(" .")[:150]
