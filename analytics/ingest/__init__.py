"""Importing the county's workbooks and other systems' exports, and undoing an import.

    check(path, db_path, table=None, mapping=None) -> Checked      what an import would do; writes nothing
    import_file(path, db_path, ..., dry_run=False, user=None) -> Result
    isolated(check or import_file, path, db_path, ...)             either, in a child process (an upload)
    undo_last(db_path, user=None) -> Result
    import_log(con) -> DataFrame
    write_template(tables, out, county) / template_bytes(tables, county) -> bytes   county: validate.county_of(con)

Every message a clerk reads is Chinese; problems come as a DataFrame with the columns
文件, 工作表, 行, 列, 值, 问题 (row as numbered in the spreadsheet, column as written in the file).
"""

import errno
import getpass
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from .. import clock, db, summary
from . import guard, load, mapping as _mapping, read, spec, standby, undo, validate
from .load import Busy
from .mapping import MappingError
from .read import FileError
from .template import template_bytes, write_template

__all__ = ["check", "import_file", "isolated", "undo_last", "import_log", "write_template", "template_bytes",
           "Checked", "Result", "FileError", "MappingError", "Busy", "PROBLEM_COLUMNS", "problems_bytes"]

PROBLEM_COLUMNS = validate.PROBLEM_COLUMNS
PREVIEW_ROWS = 50


@dataclass
class Checked:
    file_name: str
    sha256: str
    problems: pd.DataFrame                       # 文件, 工作表, 行, 列, 值, 问题; a problem of many rows once
    counts: dict = field(default_factory=dict)   # table -> {added, updated, skipped[, removed]}
    rows: dict = field(default_factory=dict)     # table -> rows read from the file
    skipped: dict = field(default_factory=dict)  # table -> rows the mapping's skip rules left out
    details: pd.DataFrame | None = None          # the problems row by row (the list to work through)

    def __post_init__(self):
        if self.details is None:
            self.details = self.problems

    def refuse(self, problems: pd.DataFrame, details: pd.DataFrame | None = None) -> None:
        self.problems, self.details = problems, problems if details is None else details
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


WHOLE_FILE = "(整个文件)"


def _file_problem(file_name: str, error: FileError | str) -> pd.DataFrame:
    """A problem of the whole file, or of the mapping (each of its items), placed where it is known."""
    if isinstance(error, MappingError):
        rows = [(error.file_name or file_name, "", None, where or WHOLE_FILE, value, message if where else str(error))
                for where, value, message in error.items]
    elif isinstance(error, FileError) and (error.row is not None or error.column or error.sheet):
        rows = [(file_name, error.sheet, error.row, error.column, "", str(error))]
    else:
        rows = [(file_name, WHOLE_FILE, None, "", "", str(error))]
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


class _Session:
    """One in-memory DuckDB for reading and checking a file, the database attached to it."""

    def __init__(self, path: Path, table: str | None, mapping):
        self.path = Path(path)
        self.table = table
        self.mapping = _mapping.load_mapping(mapping) if isinstance(mapping, (str, Path)) else mapping
        self.scanned = read.scan_soon(self.path) if self.path.exists() else None
        self.con = duckdb.connect()
        self.workdir = tempfile.mkdtemp(prefix=load.temp_prefix("import"))
        self.tables: dict[str, list] = {}                   # table -> fields present
        self.staged: dict[str, validate.Staged] = {}
        self.labels: dict = {}
        self.sheet_names: dict = {}
        self.rows: dict = {}
        self.skipped: dict = {}

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
            self.tables, self.staged, self.labels, self.sheet_names, self.rows, self.skipped = {}, {}, {}, {}, {}, {}
            return self._read(direct=False)

    def _read(self, direct: bool) -> pd.DataFrame:
        m = self.mapping
        sheets = read.read_file(self.con, self.path, _mapping.known_headers(m), self.workdir,
                                encoding=m.encoding if m else None, delimiter=m.delimiter if m else None,
                                scanned=self.scanned, direct=direct)
        plans, found = _mapping.plan_sheets(sheets, self.table, m)
        found += [{"工作表": sheet.name or "", "行": row, "列": column, "值": value, "问题": message}
                  for sheet in sheets for row, column, value, message in sheet.problems]
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
                staged = validate.stage(self.con, spec.TABLES[name], by_table[name], params)
                sheet = by_table[name][0].sheet
                try:
                    validate.typed(self.con, spec.TABLES[name], staged)
                except duckdb.Error:
                    if sheet.direct:  # DuckDB's reader refused the file: the careful reader may take it
                        raise read.Indirect from None
                    raise
                if sheet.direct:
                    read.number_rows(self.con, f"memory.main.typ_{name}", sheet.direct)
                self.tables[name], self.staged[name] = staged.present, staged
                self.rows[name] = self.con.execute(f"SELECT count(*) FROM memory.main.typ_{name}").fetchall()[0][0]
                if staged.skipped:
                    self.skipped[name] = staged.skipped
        if not any(self.rows.values()) and frame.empty:
            frame = _file_problem(self.path.name, "文件中没有数据行(只有列头或是空表)")
        return frame

    def check(self, alias: str | None, present_tables: set) -> tuple[pd.DataFrame, pd.DataFrame]:
        return validate.problems(self.con, self.staged, alias, present_tables, self.labels, self.sheet_names,
                                 self.path.name, self.mapping.file_name if self.mapping else "")

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
        result.refuse(_file_problem(path.name, exc))
        result.sha256 = _file_sha256(path)
        return result
    try:
        _run_checks(session, db_path, result)
    except FileError as exc:
        result.refuse(_file_problem(path.name, exc))
    finally:
        result.sha256 = session.sha256()
        session.close()
    return result


def _run_checks(session: _Session, db_path: Path, result: Checked, attached: str | None = None) -> None:
    """Read and check the file into result: its problems, rows, what it would change and a preview."""
    problems = session.read()
    result.rows, result.skipped = dict(session.rows), dict(session.skipped)
    if not session.tables:
        result.refuse(problems)
        return
    alias, tables = attached, set()
    try:
        if alias is None and db_path.exists():
            tables = _attach(session.con, db_path, "live", read_only=True)
            alias = "live"
        elif alias is not None:
            tables = load.live_tables(session.con, alias)
    except duckdb.Error:
        raise FileError(f"无法读取数据库 {db_path.name}:文件可能已损坏或正被其他程序改写,请联系系统管理员") from None
    grouped, details = session.check(alias if tables else None, tables)
    result.refuse(*(pd.concat([problems, found], ignore_index=True) if not problems.empty else found
                    for found in (grouped, details)))
    if result.ok:
        result.counts = session.classify(alias if "tickets" in tables or tables else None)
    result.preview = session.preview()


def import_file(path, db_path=None, table: str | None = None, mapping=None, dry_run: bool = False,
                user: str | None = None) -> Result:
    """Import a file in one transaction: all its rows or none. Returns what happened; problems are
    listed in the result, never raised. Raises Busy when another import holds the database."""
    path, db_path = Path(path), Path(db_path or db.default_db_path())
    started = clock.now()
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
        result.refuse(_file_problem(path.name, exc))
        result.sha256 = _file_sha256(path)
        result.message = "文件无法导入"
        return result
    try:
        with load.exclusive(db_path):
            target = standby.prepare(session.con, db_path)
            failed = True
            try:
                session.con.execute("USE new")
                target.migrated = bool(db.migrate(session.con))
                session.con.execute("USE memory")
                _run_checks(session, db_path, result, attached="new")
                if not result.ok or not session.tables:
                    failed = False
                    result.status = "rejected"
                    result.message = _summary(result, "未导入")
                    return result
                if result.changes == 0 and db_path.exists():
                    failed = False
                    result.status = "unchanged"
                    result.message = "文件中的数据与数据库完全一致,未作任何改动"
                    return result
                con = session.con
                con.execute("USE new")
                fresh, result.import_id = summary.is_fresh(con), load.next_import_id(con)
                con.execute("USE memory")
                con.execute("BEGIN TRANSACTION")
                try:
                    keys: dict = {}
                    for name in spec.ORDER:
                        if name in session.tables:
                            for table, sql in load.written_keys(con, spec.TABLES[name], session.tables[name]).items():
                                keys.setdefault(table, []).append(sql)
                    undo.record(con, result.import_id, "new", {t: " UNION ALL ".join(v) for t, v in keys.items()})
                    for name in spec.ORDER:
                        if name in session.tables:
                            load.apply(con, spec.TABLES[name], session.tables[name], "new")
                    con.execute("COMMIT")
                except Exception:
                    con.execute("ROLLBACK")
                    raise
                newest = load.newest_timestamp(con, session.tables)
                con.execute("USE new")
                structural = undo.changed(con, result.import_id, "new")
                incremental = fresh and not structural
                undo.refresh_summaries(con, incremental=incremental)
                load.update_meta(con, newest)
                result.status = "imported"
                result.message = _summary(result, "导入完成")
                totals = _totals(result.counts)
                result.backup_path = load.due_backup_path(db_path, f"import{result.import_id}")
                load.log_entry(
                    con, import_id=result.import_id, started_at=started, finished_at=clock.now(), user_name=user or _user(),
                    file_name=path.name, file_sha256=session.sha256(), tables=result.counts,
                    rows_added=totals["added"], rows_updated=totals["updated"], rows_skipped=totals["skipped"],
                    rows_rejected=0, status="imported", backup_path=result.backup_path, message=result.message)
                standby.install(con, target, db_path, result.backup_path,
                                {"op": "import", "id": result.import_id, "incremental": incremental})
                failed = False
                return result
            except FileError:
                failed = False  # the file's fault, found before anything was written
                raise
            finally:
                standby.release(session.con, target, db_path, failed)
    except FileError as exc:
        result.refuse(_file_problem(path.name, exc))
        result.status, result.message = "rejected", "文件无法导入"
        return result
    except (OSError, duckdb.IOException) as exc:  # the disk, not the file: the database is untouched
        result.refuse(_file_problem(path.name, f"导入失败,已全部撤回,数据库未改动:{_disk_trouble(exc)}"))
        result.status, result.message = "rejected", "未导入"
        return result
    finally:
        result.sha256 = session.sha256()
        session.close()


def isolated(function, path, db_path, *args, **kwargs) -> Checked:
    """check or import_file of an uploaded file in a child process (guard.run), so that no file can
    end the dashboard's process; a child that dies or runs out of time is a problem of the file."""
    try:
        return guard.run(function, path, db_path, *args, db_path=db_path, **kwargs)
    except guard.Failed as exc:
        result = Result(Path(path).name, "", validate.empty_problems(), message="文件无法导入")
        result.refuse(_file_problem(Path(path).name, exc))
        return result


def _disk_trouble(exc: Exception) -> str:
    reason = {errno.ENOSPC: "磁盘空间不足", errno.EACCES: "没有写入数据库所在文件夹的权限", errno.EPERM: "没有写入权限",
              errno.EROFS: "磁盘是只读的"}.get(getattr(exc, "errno", None))
    return reason or "读写数据库文件时出错,请检查磁盘后重试"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _totals(counts: dict) -> dict:
    return {k: sum(c.get(k, 0) for c in counts.values()) for k in ("added", "updated", "skipped", "removed")}


def _summary(result: Checked, head: str) -> str:
    if not result.ok:
        rows = ("" if len(result.details) <= len(result.problems) else f"(共 {len(result.details):,} 处)"
                if len(result.details) < validate.MAX_PROBLEMS else f"(逐行清单只列出前 {validate.MAX_PROBLEMS:,} 处)")
        return f"{head}:发现 {len(result.problems):,} 个问题{rows},数据库未改动"
    parts = []
    for name, c in result.counts.items():
        text = f"{spec.TABLES[name].zh} 新增 {c.get('added', 0):,} 行、更新 {c.get('updated', 0):,} 行、未变 {c.get('skipped', 0):,} 行"
        if c.get("removed"):
            text += f"、删除 {c['removed']:,} 行"
        parts.append(text)
    parts += [f"按对照表跳过{spec.TABLES[name].zh} {n:,} 行" for name, n in result.skipped.items()]
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
    """Put the database back as it was before the last import not yet undone, from the rows that
    import kept for undo (copy-on-write, as an import). Raises ValueError with a Chinese message when
    there is nothing to undo, or when the database is damaged (recovery.Damaged: restore it instead)."""
    from .. import recovery

    db_path = Path(db_path or db.default_db_path())
    if not db_path.exists():
        raise ValueError(f"数据库文件不存在: {db_path}")
    started = clock.now()
    with load.exclusive(db_path):
        recovery.check(db_path)
        with db.connect(db_path, read_only=True) as con:
            log = import_log(con)
        undone = set(log["undoes"].dropna().astype(int)) if not log.empty else set()
        candidates = log[(log["status"] == "imported") & ~log["import_id"].isin(undone)]
        if candidates.empty:
            raise ValueError("没有可撤销的导入")
        last = candidates.iloc[0]
        undoing = int(last["import_id"])
        con = duckdb.connect()
        try:
            target = standby.prepare(con, db_path)
            failed = True
            try:
                con.execute("USE new")
                target.migrated = bool(db.migrate(con))
                if not undo.tables(con, undoing, "new"):
                    failed = False
                    raise ValueError(f"第 {undoing} 次导入早于本版本,没有保存撤销所需的数据;"
                                     f"如确需撤销,请用 python -m analytics restore --from 指定该次导入之前的备份")
                fresh = summary.is_fresh(con)
                incremental = fresh and not undo.undo(con, undoing, "new")
                undo.refresh_summaries(con, incremental=incremental)
                message = f"已撤销第 {undoing} 次导入({last['file_name']}),数据恢复到该次导入之前"
                import_id = load.next_import_id(con)
                backup_now = load.due_backup_path(db_path, f"undo{import_id}")
                load.log_entry(con, import_id=import_id, started_at=started, finished_at=clock.now(),
                               user_name=user or _user(), file_name=last["file_name"],
                               file_sha256=last["file_sha256"], tables=None, status="undone",
                               backup_path=backup_now, message=message, undoes=undoing)
                standby.install(con, target, db_path, backup_now,
                                {"op": "undo", "id": undoing, "incremental": incremental})
                failed = False
            finally:
                standby.release(con, target, db_path, failed)
        finally:
            con.close()
    result = Result(str(last["file_name"]), str(last["file_sha256"]), validate.empty_problems())
    result.import_id, result.status, result.message, result.backup_path = import_id, "undone", message, backup_now
    return result


def problems_bytes(problems: pd.DataFrame, fmt: str = "xlsx") -> bytes:
    """The problems as a downloadable file: xlsx, or csv (UTF-8 with BOM, opens in Excel); a value
    from the file is text in either, never a formula."""
    from .. import export

    rows = problems.assign(行=problems["行"].astype("Int64")) if pd.api.types.is_numeric_dtype(problems["行"]) else problems
    return export.csv_bytes(rows) if fmt == "csv" else export.xlsx_bytes({"问题清单": rows})
