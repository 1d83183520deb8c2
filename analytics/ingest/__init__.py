"""Importing the county's workbooks and other systems' exports, and undoing an import.

    check(path, db_path, table=None, mapping=None) -> Checked      what an import would do; writes nothing
    import_file(path, db_path, ..., dry_run=False, user=None) -> Result
    undo_last(db_path, user=None) -> Result
    import_log(con) -> DataFrame
    write_template(tables, out) / template_bytes(tables) -> bytes

Every message a clerk reads is Chinese; problems come as a DataFrame with the columns
文件, 工作表, 行, 列, 值, 问题 (row as numbered in the spreadsheet, column as written in the file).
"""

import datetime as dt
import getpass
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .. import db
from . import load, mapping as _mapping, read, spec, validate
from .load import Busy
from .mapping import MappingError
from .read import FileError
from .template import template_bytes, write_template

__all__ = ["check", "import_file", "undo_last", "import_log", "write_template", "template_bytes",
           "Checked", "Result", "FileError", "MappingError", "Busy", "PROBLEM_COLUMNS", "problems_bytes"]

PROBLEM_COLUMNS = validate.PROBLEM_COLUMNS
PREVIEW_ROWS = 50


@dataclass
class Checked:
    file_name: str
    sha256: str
    problems: pd.DataFrame                       # 文件, 工作表, 行, 列, 值, 问题
    counts: dict = field(default_factory=dict)   # table -> {added, updated, skipped[, removed]}
    rows: dict = field(default_factory=dict)     # table -> rows read from the file
    preview: dict = field(default_factory=dict)  # table -> first rows, Chinese headers

    @property
    def ok(self) -> bool:
        return self.problems.empty

    @property
    def changes(self) -> int:
        return sum(c.get("added", 0) + c.get("updated", 0) + c.get("removed", 0) for c in self.counts.values())


@dataclass
class Result(Checked):
    import_id: int | None = None
    status: str = "rejected"           # imported | rejected | unchanged | dry_run | undone
    message: str = ""
    backup_path: str | None = None


def _file_sha256(path: Path) -> str:
    return read.scan(path).sha256 if path.is_file() else ""


def _file_problem(file_name: str, message: str) -> pd.DataFrame:
    return pd.DataFrame([(file_name, "", None, "", "", message)], columns=PROBLEM_COLUMNS)


class _Session:
    """One in-memory DuckDB for reading and checking a file, the database attached to it."""

    def __init__(self, path: Path, table: str | None, mapping):
        self.path = Path(path)
        self.table = table
        self.mapping = _mapping.load_mapping(mapping) if isinstance(mapping, (str, Path)) else mapping
        self.scanned = read.scan_soon(self.path) if self.path.exists() else None
        self.con = duckdb.connect()
        self.workdir = tempfile.mkdtemp(prefix=load.temp_prefix("import"))
        self.tables: dict[str, list] = {}
        self.labels: dict = {}
        self.sheet_names: dict = {}
        self.rows: dict = {}

    def sha256(self) -> str:
        try:
            return self.scanned.result().sha256 if self.scanned else ""
        except OSError:
            return ""

    def close(self):
        self.con.close()
        for p in Path(self.workdir).glob("*"):
            p.unlink(missing_ok=True)
        os.rmdir(self.workdir)

    def read(self) -> pd.DataFrame:
        try:
            return self._read(direct=True)
        except read.Indirect:
            self.tables, self.labels, self.sheet_names, self.rows = {}, {}, {}, {}
            return self._read(direct=False)

    def _read(self, direct: bool) -> pd.DataFrame:
        m = self.mapping
        sheets = read.read_file(self.con, self.path, _mapping.known_headers(m), self.workdir,
                                encoding=m.encoding if m else None, delimiter=m.delimiter if m else None,
                                scanned=self.scanned, direct=direct)
        plans, found = _mapping.plan_sheets(sheets, self.table, m)
        frame = pd.DataFrame(found, columns=["工作表", "行", "列", "值", "问题"])
        frame.insert(0, "文件", self.path.name)
        if not plans:
            return frame
        by_table: dict = {}
        for p in plans:
            by_table.setdefault(p.table.name, []).append(p)
            self.sheet_names[p.sheet_no] = p.sheet.name or ""
            for name, src in p.sources.items():
                self.labels[(p.sheet_no, name)] = src.header
        params: dict = {}
        for name in spec.ORDER:
            if name in by_table:
                present, staged, used, untrimmed = validate.stage(self.con, spec.TABLES[name], by_table[name], params)
                sheet = by_table[name][0].sheet
                try:
                    validate.typed(self.con, spec.TABLES[name], present, staged, used, untrimmed)
                except duckdb.Error:
                    if sheet.direct:  # DuckDB's reader refused the file: the careful reader may take it
                        raise read.Indirect from None
                    raise
                if sheet.direct:
                    read.number_rows(self.con, f"memory.main.typ_{name}", sheet.direct)
                self.tables[name] = present
                self.rows[name] = self.con.execute(f"SELECT count(*) FROM memory.main.typ_{name}").fetchall()[0][0]
        if not any(self.rows.values()) and frame.empty:
            frame = _file_problem(self.path.name, "文件中没有数据行(只有列头或是空表)")
        return frame

    def check(self, alias: str | None, present_tables: set) -> pd.DataFrame:
        return validate.problems(self.con, self.tables, alias, present_tables, self.labels, self.sheet_names,
                                 self.path.name)

    def classify(self, alias: str | None) -> dict:
        counts: dict = {}
        for name in spec.ORDER:
            if name in self.tables:
                if name == "ticket_events" and "tickets" in self.tables:
                    load.skip_flat_duplicates(self.con)
                if name == "ticket_ratings" and "tickets" in self.tables:
                    load.skip_flat_rating_duplicates(self.con, self.tables[name])
                for table, c in load.classify(self.con, spec.TABLES[name], self.tables[name], alias).items():
                    mine = counts.setdefault(table, {})
                    for k, v in c.items():
                        mine[k] = mine.get(k, 0) + v
        return counts

    def preview(self) -> dict:
        out = {}
        for name, present in self.tables.items():
            t = spec.TABLES[name]
            cols = ", ".join(f"v_{n} AS {n}" for n in present)
            frame = self.con.execute(f"SELECT _row, {cols} FROM memory.main.typ_{name} ORDER BY _sheet, _row "
                                     f"LIMIT {PREVIEW_ROWS}").df()
            out[name] = frame.rename(columns={"_row": "行", **{n: t.field(n).zh for n in present}})
        return out


def _attach(con, path: Path, alias: str, read_only: bool) -> set:
    con.execute(f"ATTACH $p AS {alias}" + (" (READ_ONLY)" if read_only else ""), {"p": str(path)})
    return load.live_tables(con, alias)


def check(path, db_path=None, table: str | None = None, mapping=None) -> Checked:
    """Read and validate a file against the database, and count what an import would add, update
    and skip. Writes nothing. Problems of an unusable file are returned, not raised."""
    path, db_path = Path(path), Path(db_path or db.default_db_path())
    result = Checked(path.name, "", validate.empty_problems())
    try:
        session = _Session(path, table, mapping)
    except FileError as exc:
        result.problems, result.sha256 = _file_problem(path.name, str(exc)), _file_sha256(path)
        return result
    try:
        result.problems = _run_checks(session, db_path, result)
    except FileError as exc:
        result.problems = _file_problem(path.name, str(exc))
    except Exception as exc:  # whatever the file, the clerk gets a message, not a traceback
        result.problems = _file_problem(path.name, f"无法读取或检查该文件({type(exc).__name__}: {exc})")
    finally:
        result.sha256 = session.sha256()
        session.close()
    return result


def _run_checks(session: _Session, db_path: Path, result: Checked, attached: str | None = None) -> pd.DataFrame:
    problems = session.read()
    result.rows = dict(session.rows)
    if not session.tables:
        return problems
    alias, tables = attached, set()
    try:
        if alias is None and db_path.exists():
            tables = _attach(session.con, db_path, "live", read_only=True)
            alias = "live"
        elif alias is not None:
            tables = load.live_tables(session.con, alias)
    except duckdb.Error as exc:
        raise FileError(f"无法读取数据库 {db_path.name}({exc})") from None
    found = session.check(alias if tables else None, tables)
    problems = pd.concat([problems, found], ignore_index=True) if not problems.empty else found
    if problems.empty:
        result.counts = session.classify(alias if "tickets" in tables or tables else None)
    result.preview = session.preview()
    return problems


def import_file(path, db_path=None, table: str | None = None, mapping=None, dry_run: bool = False,
                user: str | None = None) -> Result:
    """Import a file in one transaction: all its rows or none. Returns what happened; problems are
    listed in the result, never raised. Raises Busy when another import holds the database."""
    path, db_path = Path(path), Path(db_path or db.default_db_path())
    started = dt.datetime.now()
    result = Result(path.name, "", validate.empty_problems())
    if dry_run:
        checked = check(path, db_path, table, mapping)
        result.__dict__.update(checked.__dict__)
        result.status = "dry_run" if checked.ok else "rejected"
        result.message = _summary(result, "检查通过(未写入数据库)" if checked.ok else "检查未通过")
        return result
    try:
        session = _Session(path, table, mapping)
    except FileError as exc:
        result.problems, result.sha256 = _file_problem(path.name, str(exc)), _file_sha256(path)
        result.message = "文件无法导入"
        return result
    try:
        with load.exclusive(db_path):
            tmp = load.working_copy(db_path)
            try:
                _attach(session.con, tmp, "new", read_only=False)
                session.con.execute("USE new")
                db.migrate(session.con)
                session.con.execute("USE memory")
                result.problems = _run_checks(session, db_path, result, attached="new")
                if not result.ok or not session.tables:
                    result.status = "rejected"
                    result.message = _summary(result, "未导入")
                    return result
                if result.changes == 0 and db_path.exists():
                    result.status = "unchanged"
                    result.message = "文件中的数据与数据库完全一致,未作任何改动"
                    return result
                con = session.con
                con.execute("BEGIN TRANSACTION")
                try:
                    for name in spec.ORDER:
                        if name in session.tables:
                            load.apply(con, spec.TABLES[name], session.tables[name], "new")
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
                newest = load.newest_timestamp(con, session.tables)
                con.execute("USE new")
                load.refresh_summaries(con)
                load.update_meta(con, newest)
                result.status = "imported"
                result.message = _summary(result, "导入完成")
                totals = _totals(result.counts)
                result.import_id = load.next_import_id(con)
                result.backup_path = load.backup_path(db_path, f"import{result.import_id}")
                load.log_entry(
                    con, import_id=result.import_id, started_at=started, finished_at=dt.datetime.now(), user_name=user or _user(),
                    file_name=path.name, file_sha256=session.sha256(), tables=result.counts,
                    rows_added=totals["added"], rows_updated=totals["updated"], rows_skipped=totals["skipped"],
                    rows_rejected=0, status="imported", backup_path=result.backup_path, message=result.message)
                con.execute("USE memory")
                con.execute("DETACH new")
                load.install(tmp, db_path, result.backup_path)
                return result
            finally:
                try:
                    session.con.execute("USE memory")
                    session.con.execute("DETACH DATABASE IF EXISTS new")
                except duckdb.Error:
                    pass
                load.discard(tmp)
    except FileError as exc:
        result.problems = _file_problem(path.name, str(exc))
        result.status, result.message = "rejected", "文件无法导入"
        return result
    except Busy:
        raise
    except Exception as exc:  # whatever the file, the database is untouched and the clerk told why
        result.problems = _file_problem(path.name, f"导入失败,已全部撤回,数据库未改动({type(exc).__name__}: {exc})")
        result.status, result.message = "rejected", "未导入"
        return result
    finally:
        result.sha256 = session.sha256()
        session.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _totals(counts: dict) -> dict:
    return {k: sum(c.get(k, 0) for c in counts.values()) for k in ("added", "updated", "skipped", "removed")}


def _summary(result: Checked, head: str) -> str:
    if not result.ok:
        return f"{head}:发现 {len(result.problems):,} 个问题,数据库未改动"
    parts = []
    for name, c in result.counts.items():
        text = f"{spec.TABLES[name].zh} 新增 {c.get('added', 0):,} 行、更新 {c.get('updated', 0):,} 行、未变 {c.get('skipped', 0):,} 行"
        if c.get("removed"):
            text += f"、删除 {c['removed']:,} 行"
        parts.append(text)
    return f"{head}:" + ";".join(parts)


def import_log(con) -> pd.DataFrame:
    """The import log, newest first; empty when the file predates it."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'import_log'").fetchall()[0][0]
    if not exists:
        return pd.DataFrame(columns=["import_id", "started_at", "finished_at", "user_name", "file_name", "file_sha256",
                                     "tables", "rows_added", "rows_updated", "rows_skipped", "rows_rejected", "status",
                                     "backup_path", "message", "undoes"])
    return con.execute("SELECT * FROM import_log ORDER BY import_id DESC").df()


def undo_last(db_path=None, user: str | None = None) -> Result:
    """Restore the database as it was before the last import not yet undone (copy-on-write).
    Raises ValueError with a Chinese message when there is nothing to undo, or when the database or
    the backup is damaged (recovery.Damaged: restore it instead)."""
    from .. import recovery

    db_path = Path(db_path or db.default_db_path())
    if not db_path.exists():
        raise ValueError(f"数据库文件不存在: {db_path}")
    started = dt.datetime.now()
    with load.exclusive(db_path):
        recovery.check(db_path)
        with db.connect(db_path, read_only=True) as con:
            log = import_log(con)
        undone = set(log["undoes"].dropna().astype(int)) if not log.empty else set()
        candidates = log[(log["status"] == "imported") & ~log["import_id"].isin(undone)]
        if candidates.empty:
            raise ValueError("没有可撤销的导入")
        last = candidates.iloc[0]
        backup = last["backup_path"] if last["backup_path"] and Path(last["backup_path"]).exists() else None
        if backup is None:
            raise ValueError(f"找不到第 {int(last['import_id'])} 次导入之前的备份,无法撤销")
        if (why := recovery.problem(backup)) is not None:
            raise ValueError(f"第 {int(last['import_id'])} 次导入之前的备份 {backup} 已损坏({why}),无法撤销")
        tmp = db_path.with_name(f".{db_path.name}.undo-{os.getpid()}")
        shutil.copyfile(backup, tmp)
        try:
            con = duckdb.connect()
            try:
                _attach(con, tmp, "new", read_only=False)
                _attach(con, db_path, "live", read_only=True)
                con.execute("USE new")
                db.migrate(con)
                known = con.execute("SELECT coalesce(max(import_id), 0) FROM new.main.import_log").fetchall()[0][0]
                con.execute("INSERT INTO new.main.import_log SELECT * FROM live.main.import_log WHERE import_id > ?",
                            [known])
                con.execute("DETACH live")
                load.refresh_summaries(con)
                message = f"已撤销第 {int(last['import_id'])} 次导入({last['file_name']}),数据恢复到该次导入之前"
                import_id = load.next_import_id(con)
                backup_now = load.backup_path(db_path, f"undo{import_id}")
                load.log_entry(con, import_id=import_id, started_at=started, finished_at=dt.datetime.now(),
                                           user_name=user or _user(), file_name=last["file_name"],
                                           file_sha256=last["file_sha256"], tables=None, status="undone",
                                           backup_path=backup_now, message=message, undoes=int(last["import_id"]))
                con.execute("USE memory")
                con.execute("DETACH new")
            finally:
                con.close()
            load.install(tmp, db_path, backup_now)
        finally:
            load.discard(tmp)
    result = Result(str(last["file_name"]), str(last["file_sha256"]), validate.empty_problems())
    result.import_id, result.status, result.message, result.backup_path = import_id, "undone", message, backup_now
    return result


def problems_bytes(problems: pd.DataFrame, fmt: str = "xlsx") -> bytes:
    """The problems as a downloadable file: xlsx, or csv (UTF-8 with BOM, opens in Excel); a value
    from the file is text in either, never a formula."""
    from .. import export

    rows = problems.assign(行=pd.to_numeric(problems["行"], errors="coerce").astype("Int64"))
    return export.csv_bytes(rows) if fmt == "csv" else export.xlsx_bytes({"问题清单": rows})
