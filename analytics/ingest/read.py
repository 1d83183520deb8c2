"""Files into staging tables: every cell as text (blank -> NULL), columns named c0, c1, ... and
`_row`, the row number the clerk sees in the spreadsheet (or the line number in a CSV).

The header row is found among the first rows as the one naming most known columns, so title
rows and a group title above the column names are skipped.
"""

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .spec import normalise

HEADER_SEARCH_ROWS = 10
CHUNK = 1 << 20
BINARY = "文件不是表格文件(含有二进制内容),请上传 Excel(.xlsx)、CSV 或 Parquet 文件"


class FileError(ValueError):
    """A file that cannot be read as a table at all; the message is for the clerk, row and column
    where in the file the reading stopped, when known."""

    def __init__(self, message: str, row: int | None = None, column: str = "", sheet: str = ""):
        super().__init__(message)
        self.row, self.column, self.sheet = row, column, sheet


class Indirect(Exception):
    """A CSV could not be staged straight from the file: read it again with direct=False."""


@dataclass
class Direct:
    """A CSV staged straight from the file, with _row still NULL: see number_rows."""
    first_row: int                  # the file's line of the first data row
    rows: Callable[[], int]         # data rows there are if every row is one line


@dataclass
class RawSheet:
    name: str | None          # sheet name; None for CSV and Parquet
    relation: str             # staging table or view in the work database: _row, c0..cN
    headers: list[str]        # as written in the file
    header_row: int           # 1-based row of the header in the file (0: none, Parquet)
    rows: int | None          # None when direct
    direct: Direct | None = None
    problems: list = field(default_factory=list)  # (row, column, value, message) of rows the reader could not take whole


def sniff_kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"PAR1"):
        return "parquet"
    return "csv"


def detect_encoding(path: Path) -> str:
    """'utf-8', 'utf-8-sig' or 'gb18030' (a superset of GBK): whichever decodes the whole file into
    plausible text. GB18030 decodes almost any bytes, Big5 and Shift-JIS among them, so its text is
    checked too (see implausible)."""
    with open(path, "rb") as f:
        bom = f.read(3) == codecs.BOM_UTF8
    for encoding in (("utf-8-sig",) if bom else ("utf-8", "gb18030")):
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        line = 1
        try:
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(CHUNK)
                    text = decoder.decode(chunk, final=not chunk)
                    if encoding == "gb18030" and (found := implausible(text)):
                        at, why = found
                        where = line + text.count("\n", 0, at)
                        raise FileError(f"第 {where} 行:{why}。文件可能是繁体 Big5、日文 Shift-JIS 等其他编码,"
                                        "请在 Excel 或记事本中另存为“UTF-8”编码后再导入(或在对照表中写明 encoding)",
                                        row=where)
                    line += text.count("\n")
                    if not chunk:
                        return encoding
        except UnicodeDecodeError:
            continue
    raise FileError("无法识别文件编码:既不是 UTF-8 也不是 GBK/GB18030,请另存为 UTF-8 编码的 CSV")


_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_NON_ASCII = re.compile("[^\x00-\x7f]+")


def implausible(text: str) -> tuple[int, str] | None:
    """(offset, reason) when text decoded as GB18030 is not Chinese text: a private-use character,
    or mostly characters outside GB2312 (the common simplified set), as Big5 and Shift-JIS give."""
    if m := _PRIVATE_USE.search(text):
        return m.start(), f"按 GBK/GB18030 解读出现无法显示的字符(私用区 U+{ord(m.group()):04X})"
    wide = "".join(_NON_ASCII.findall(text))
    outside = len(wide) - len(wide.encode("gb2312", errors="ignore")) // 2
    if outside >= 3 and outside > len(wide) / 2:
        first = next(m.start() for m in _NON_ASCII.finditer(text)
                     if len(m.group().encode("gb2312", errors="ignore")) < 2 * len(m.group()))
        return first, f"按 GBK/GB18030 解读,{outside} 个汉字中多数是生僻字"
    return None


def decode_text(data: bytes) -> str:
    """A small text file (a mapping) as detect_encoding reads a data file."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    if found := implausible(text):
        raise FileError(found[1])
    return text


def _transcode(path: Path, encoding: str, directory: str) -> tuple[Path, tuple[int, bool]]:
    """A UTF-8 copy without BOM, written in chunks, for DuckDB's reader; with its line count and
    whether it holds a NUL, counted on the text (in UTF-16 a newline byte is not a line)."""
    fd, name = tempfile.mkstemp(suffix=".csv", dir=directory)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines, last, nul = 0, "\n", False
    with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        while True:
            chunk = src.read(CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            out.write(text)
            lines, nul, last = lines + text.count("\n"), nul or "\x00" in text, text[-1:] or last
            if not chunk:
                return Path(name), (lines + (last != "\n"), nul)


def _score(row, known: set[str]) -> int:
    return sum(1 for cell in row if cell not in (None, "") and normalise(cell) in known)


def find_header(rows: list[list], known: set[str]) -> int:
    """0-based index of the header among the first rows: most known headers, else the first
    non-empty row."""
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = _score(row, known)
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    for i, row in enumerate(rows):
        if any(cell not in (None, "") for cell in row):
            return i
    return -1


def _cell(v):
    if v is None or v == "":
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):  # an Excel serial time, rounded to the second as Excel shows it
        return (v + dt.timedelta(microseconds=500_000)).replace(microsecond=0).isoformat(sep=" ") if v.microsecond \
            else v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _register(con, relation: str, header: list, body: list[list], first_row: int, row_numbers=None) -> int:
    """Stage rows (lists of cells) as text columns c0..cN with their row numbers."""
    width = max([len(header)] + [len(r) for r in body]) if body else len(header)
    columns = {"_row": row_numbers if row_numbers is not None else list(range(first_row, first_row + len(body)))}
    for j in range(width):
        columns[f"c{j}"] = pd.array([_cell(r[j]) if j < len(r) else None for r in body], dtype=object)
    frame = pd.DataFrame(columns)
    con.register("_frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT _row::BIGINT AS _row, "
                + ", ".join(f"c{j}::VARCHAR AS c{j}" for j in range(width)) + " FROM _frame")
    con.unregister("_frame")
    return len(frame)


# The reader holds a sheet's whole rectangle in memory (about 32 bytes a cell): one cell at XFD1048576
# makes a 5 KB file a rectangle of 17 billion cells, and the process is aborted, not refused. Excel and
# the usual writers state the rectangle in the sheet's <dimension>; a file that lies about it is read
# in a child process on the dashboard (see ingest.guard).
MAX_SHEET_CELLS = 30_000_000
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*\bref=\"\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?\"")


def sheet_extents(path: Path) -> dict[str, tuple[int, str]]:
    """Sheet name -> (cells of the rectangle its <dimension> states, its far corner), from the first
    bytes of each worksheet's XML, before any reader allocates the rectangle."""
    import zipfile
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    out = {}
    with zipfile.ZipFile(path) as book:
        rels = {r.get("Id"): r.get("Target") for r in ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))}
        for sheet in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{main}sheet"):
            target = rels.get(sheet.get(rel), "")
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if member not in book.namelist():
                continue
            with book.open(member) as xml:
                m = _DIMENSION.search(xml.read(8192))
            if m and m[3]:
                rows = int(m[4]) - int(m[2]) + 1
                cols = _column_number(m[3]) - _column_number(m[1]) + 1
                out[sheet.get("name")] = (abs(rows) * abs(cols), (m[3] + m[4]).decode())
    return out


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


def read_excel(con, path: Path, known: set[str], prefix: str) -> list[RawSheet]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        extents = sheet_extents(path)
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, Exception):  # calamine and zipfile raise several unrelated types
        raise FileError("无法打开 Excel 文件:文件可能已损坏,或不是 Excel(.xlsx)格式") from None
    sheets = []
    for k, name in enumerate(book.sheet_names):
        cells, far = extents.get(name, (0, ""))
        if cells > MAX_SHEET_CELLS:
            raise FileError(f"工作表“{name}”的范围延伸到单元格 {far},整张表约 {cells:,} 个单元格,超出可读取的大小。"
                            "请在 Excel 中删除数据区以外的行和列(或把数据复制到一张新工作表)后再导入", column=far, sheet=name)
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # calamine raises several unrelated types for a damaged sheet
            raise FileError(f"无法读取工作表“{name}”:工作表可能已损坏") from None
        h = find_header(rows, known)
        if h < 0:
            continue
        header = [_cell(c) or "" for c in rows[h]]
        body = [r for r in rows[h + 1:]]
        relation = f"{prefix}_{k}"
        n = _register(con, relation, header, body, h + 2)
        sheets.append(RawSheet(name, relation, [str(x).strip() for x in header], h + 1, n))
    return sheets


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def read_csv(con, path: Path, known: set[str], prefix: str, workdir: str, encoding: str | None = None,
             delimiter: str | None = None, scanned: Future | None = None, direct: bool = False) -> list[RawSheet]:
    """scanned: the file's Scan, made while DuckDB reads (see scan_soon).

    direct: stage straight from the file rather than from a copy of its cells. The copy costs
    as much as the reading; without it, nothing is known of the file until it is staged, and
    the stager numbers the rows (number_rows) or asks for the file again (Indirect)."""
    scanned = scanned or scan_soon(path)
    # Most files are UTF-8 and DuckDB checks every byte as it reads: the whole file is decoded
    # in Python only when the first block or DuckDB says it is something else.
    guessed = encoding is None
    encoding = encoding or _head_encoding(path) or detect_encoding(path)

    copy = None  # (lines, binary) of a UTF-8 copy

    def lines() -> int:
        count, binary = copy or (scanned.result().lines, scanned.result().binary)
        if guessed and binary:
            raise FileError(BINARY)
        return count

    while True:
        utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig")
        try:
            source, copy = (path, None) if utf8 else _transcode(path, encoding, workdir)
        except LookupError:
            raise FileError(f"“{encoding}”不是可识别的编码名称(可写 utf-8、gb18030、big5、utf-16 等)") from None
        except UnicodeDecodeError as exc:
            raise FileError(f"按 {encoding} 编码无法读取文件:第 {exc.start + 1:,} 个字节起的内容不符合该编码") from None
        try:
            sheets = _read_utf8(con, source, known, prefix, delimiter, lines, direct)
        except _NotUtf8:
            if not (guessed and utf8):
                raise FileError(f"按 {encoding} 编码无法读取文件:文件中有不符合该编码的内容") from None
            guessed, encoding = False, detect_encoding(path)
            continue
        if not direct:
            lines()  # refuses a binary file that the exact reader took
        return sheets


def number_rows(con, relation: str, direct: Direct) -> None:
    """Give a table staged straight from a CSV (with _blank marking rows of empty cells) its line
    numbers, and drop the empty rows. A table whose rows do not match the file's lines one to one
    (cells spanning lines, blank lines) raises Indirect."""
    if con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0] != direct.rows():
        raise Indirect
    # The table keeps the file's order (no joins while staging), so rowid counts the lines.
    con.execute(f"UPDATE {relation} SET _row = rowid + {int(direct.first_row)}")
    con.execute(f"DELETE FROM {relation} WHERE _blank")
    con.execute(f"ALTER TABLE {relation} DROP COLUMN _blank")


class _NotUtf8(Exception):
    pass


def _head_encoding(path: Path) -> str | None:
    """'utf-16' after its BOM (Excel's "Unicode text"), 'utf-16-le' or 'utf-16-be' without one,
    'utf-8' when the first block decodes as UTF-8 (with or without BOM), else None; FileError when
    it is binary."""
    with open(path, "rb") as f:
        head = f.read(CHUNK)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        return _utf16_without_bom(head)
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 text without a BOM puts a NUL beside every ASCII character, in the odd bytes (LE) or
    the even ones (BE); anything else holding NULs is binary."""
    sample = head[:4096] if len(head) % 2 == 0 else head[:4095]
    for encoding, zeros, others in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if zeros.count(0) > 0.3 * len(zeros) and others.count(0) < 0.05 * len(others):
            try:
                codecs.getincrementaldecoder(encoding)("strict").decode(head[:len(head) - len(head) % 2], final=False)
            except UnicodeDecodeError:
                break
            return encoding
    raise FileError(BINARY)


def _read_utf8(con, source: Path, known: set[str], prefix: str, delimiter: str | None, lines,
               direct: bool) -> list[RawSheet]:
    """lines: a callable giving the file's line count, asked for once DuckDB has read it."""
    try:
        with open(source, encoding="utf-8-sig", newline="") as f:
            head = [f.readline() for _ in range(HEADER_SEARCH_ROWS + 2)]
    except UnicodeDecodeError as exc:
        raise _NotUtf8(exc) from None
    head_text = "".join(head)
    if not head_text.strip():
        raise FileError("文件是空的,没有任何数据行")
    delim, head_rows, h = None, [], -1
    for d in ([delimiter] if delimiter else [",", "\t", ";", "|"]):
        try:
            rows = list(csv.reader(io.StringIO(head_text), delimiter=d))
        except csv.Error:
            continue
        k = find_header(rows, known)
        score = _score(rows[k], known) if k >= 0 else -1
        if delim is None or score > best:
            delim, head_rows, h, best = d, rows, k, score
    if delim is None or h < 0:
        raise FileError("无法解析 CSV 文件的开头几行")
    if best == 0 and not delimiter:  # no known header: the delimiter most used on the first line
        first = next(line for line in head if line.strip())
        delim = _delimiter(first)
        head_rows = list(csv.reader(io.StringIO(head_text), delimiter=delim))
        h = find_header(head_rows, known)
    header = [c.strip() for c in head_rows[h]]
    header_line = h  # title rows above the header are taken to be one line each
    relation = f"{prefix}_0"
    width = len(header)
    columns = "{" + ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width)) + "}"
    # Strict: a row of another length or a quote left open is refused (the exact reader then names
    # its line); otherwise DuckDB drops cells past the header and swallows lines into an open quote.
    options = (f"header = false, all_varchar = true, quote = '\"', escape = '\"', columns = {columns}, "
               f"auto_detect = false, strict_mode = true, null_padding = false")
    if direct:
        # Read once, while staging: a view takes no parameters, so the values are literals.
        con.execute(f"CREATE OR REPLACE VIEW {relation} AS SELECT NULL::BIGINT AS _row, * FROM read_csv("
                    f"{sql_text(str(source))}, skip = {int(header_line) + 1}, delim = {sql_text(delim)}, {options})")
        rows = lambda: lines() - header_line - 1  # noqa: E731
        return [RawSheet(None, relation, header, header_line + 1, None, Direct(header_line + 2, rows))]
    con.execute(f"DROP VIEW IF EXISTS {relation}")  # left by a direct attempt
    n = None
    # The parallel reader is faster; DuckDB refuses it for cells spanning lines with padding.
    for parallel in (True, False):
        try:
            con.execute(f"""
                CREATE OR REPLACE TABLE {relation}_cells AS SELECT * FROM read_csv($path, skip = $skip,
                    delim = $delim, parallel = $parallel, {options})
            """, {"path": str(source), "skip": header_line + 1, "delim": delim, "parallel": parallel})
            n = con.execute(f"SELECT count(*) FROM {relation}_cells").fetchall()[0][0]
            break
        except duckdb.Error as exc:  # DuckDB refuses some irregular files; the exact reader below takes them
            if "Invalid unicode" in str(exc):
                raise _NotUtf8(str(exc).splitlines()[-1]) from None
            n = None
    if n is not None and n + header_line + 1 == lines():
        # A view, not a copy: the rows keep the order of the file, so rowid gives the line.
        con.execute(f"CREATE OR REPLACE VIEW {relation} AS SELECT rowid + {int(header_line) + 2} AS _row, * "
                    f"FROM {relation}_cells")
    else:
        con.execute(f"DROP TABLE IF EXISTS {relation}_cells")
        try:
            n, problems = _read_csv_exact(con, source, relation, delim, header_line + 1, width)
        except UnicodeDecodeError as exc:
            raise _NotUtf8(exc) from None
        return [RawSheet(None, relation, header, header_line + 1, n, problems=problems)]
    return [RawSheet(None, relation, header, header_line + 1, n)]


@dataclass
class Scan:
    sha256: str
    lines: int      # lines ending in a newline, plus a last one without
    binary: bool    # holds a NUL byte


def scan_soon(path: Path) -> Future:
    """scan(path) in a thread of its own: hashing releases the GIL, and DuckDB reads meanwhile."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(scan, path)
    pool.shutdown(wait=False)
    return future


def scan(path: Path) -> Scan:
    """One pass over the file for its hash, its line count and whether it is binary."""
    digest, count, last, nul = hashlib.sha256(), 0, b"\n", False
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK * 8):
            digest.update(chunk)
            count += chunk.count(b"\n")
            nul = nul or b"\x00" in chunk
            last = chunk[-1:]
    return Scan(digest.hexdigest(), count + (last != b"\n"), nul)


def _read_csv_exact(con, path: Path, relation: str, delim: str, skip: int, width: int) -> tuple[int, list]:
    """Row by row through Python's csv module, for files with blank lines, cells spanning lines or
    rows of the wrong length: slower, but each row keeps the line number it starts on, and a row
    that does not fit the header is a problem of that row, never a silent loss. (rows, problems)"""
    body, numbers, problems = [], [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delim, strict=True)
        line = 0
        try:
            for row in reader:
                start = line + 1
                line = reader.line_num
                if start <= skip or not any(c.strip() for c in row):
                    continue
                if problem := _row_shape(row, width, delim, line - start):
                    problems.append((start, *problem))  # its cells cannot be told apart: nothing else is checked
                    continue
                body.append(row)
                numbers.append(start)
        except csv.Error as exc:
            where = line + 1
            if "end of data" in str(exc):
                raise FileError(f"第 {where} 行的引号没有闭合:从这里到文件末尾都被读成了一个单元格。"
                                "请检查这一行的引号(单元格内的引号应写成两个 \"\")", row=where) from None
            raise FileError(f"第 {where} 行的引号用法不对:单元格内的引号应写成两个 \"\",整个单元格再用引号括起来",
                            row=where) from None
    return _register(con, relation, [""] * width, body, 0, numbers), problems


def _row_shape(row: list, width: int, delim: str, spans: int) -> tuple | None:
    """(column, value, message) when a row does not fit a header of width cells. Empty cells past the
    header (a trailing delimiter) lose nothing and pass."""
    extra = [c for c in row[width:] if c.strip()]
    if extra:
        return ("", delim.join(row[width:]).strip(delim),
                f"这一行有 {len(row)} 个单元格,比列头的 {width} 列多,多出的内容无处存放;"
                f"可能是单元格里有“{delim}”却没有用引号括起来")
    if len(row) < width:
        return ("", delim.join(row), f"这一行只有 {len(row)} 个单元格,列头有 {width} 列;缺少的单元格无法对应到列")
    if spans:
        swallowed = [part for cell in row for part in cell.split("\n")[1:] if part.count(delim) >= max(1, width - 1)]
        if swallowed:
            return ("", swallowed[0][:80], f"引号内的内容跨了 {spans + 1} 行,且含有像数据行的内容:"
                                           "这一行的引号可能没有闭合,后面的行被并进了一个单元格")
    return None


def read_parquet(con, path: Path, prefix: str) -> list[RawSheet]:
    relation = f"{prefix}_0"
    try:
        headers = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()]
        n = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchall()[0][0]
    except duckdb.Error:
        raise FileError("无法读取 Parquet 文件:文件可能已损坏,或不是 Parquet 格式") from None
    # A view: DuckDB reads the file in parallel while staging it, and file_row_number keeps each
    # row's place for the problem list. The column names come from the file, so they are quoted
    # as identifiers, and the path is a literal because a view takes no parameters.
    con.execute(f"CREATE OR REPLACE VIEW {relation} AS SELECT file_row_number + 2 AS _row, "
                + ", ".join(f'CAST("{h.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{j}' for j, h in enumerate(headers))
                + f" FROM read_parquet({sql_text(str(path))}, file_row_number = true)")
    return [RawSheet(None, relation, headers, 1, n)]


def sql_text(text: str) -> str:
    """A SQL string literal, for where DuckDB takes no parameter (a view, a list of formats)."""
    return "'" + text.replace("'", "''") + "'"


def read_file(con, path: Path, known: set[str], workdir: str, prefix: str = "raw", encoding: str | None = None,
              delimiter: str | None = None, scanned: Future | None = None, direct: bool = False) -> list[RawSheet]:
    path = Path(path)
    if not path.exists():
        raise FileError(f"文件不存在: {path}")
    if path.stat().st_size == 0:
        raise FileError("文件是空的,没有任何数据行")
    kind = sniff_kind(path)
    if kind in ("xlsx", "xls"):
        return read_excel(con, path, known, prefix)
    if kind == "parquet":
        return read_parquet(con, path, prefix)
    if path.suffix.lower() in (".xlsx", ".xls", ".parquet"):
        raise FileError(f"文件扩展名是 {path.suffix},但内容不是该格式,文件可能已损坏")
    return read_csv(con, path, known, prefix, workdir, encoding, delimiter, scanned, direct)
