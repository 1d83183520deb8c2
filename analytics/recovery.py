"""A damaged database file: told at start (command line and dashboard) in Chinese with what to do,
and brought back from the newest backup that opens (python -m analytics restore)."""

import logging
import os
import shutil
from pathlib import Path

import duckdb

from .ingest import load

log = logging.getLogger(__name__)
# DuckDB's file header and its two database headers come before the first block.
HEADERS = 3 * 4096


class Damaged(ValueError):
    """The database file cannot be read; the message says what to do."""


def problem(path) -> str | None:
    """Why the database file cannot be used, in Chinese; None when it opens read-only, its catalogue
    reads and it holds whole blocks, as many as its header says are used (a truncated file does not, and
    fails only when a query reaches the missing blocks)."""
    con = duckdb.connect()
    try:
        # Attached to an instance of its own, as the dashboard reads it: never an instance already open on the path.
        con.execute("ATTACH $path AS checked (READ_ONLY)", {"path": str(path)})
        blocks, free, block_size = con.execute("SELECT total_blocks, free_blocks, block_size FROM pragma_database_size() "
                                               "WHERE database_name = 'checked'").fetchone()
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'checked'").fetchone()
    except duckdb.Error as exc:
        text = str(exc)
        if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
            return None  # another process is writing it: busy, not damaged
        log.info("database %s cannot be read: %s", path, text)  # DuckDB's own words, for a debugging administrator
        if "not a valid DuckDB database file" in text:
            return "不是有效的数据库文件"
        if "Could not read enough bytes" in text:
            return "文件不完整(被截断),读不到应有的数据"
        return "无法读取其中的数据"
    finally:
        con.close()
    # A file written in place (the standby, ingest/standby.py) drops free blocks at its end, which the
    # header still counts: it holds whole blocks, at least the used ones.
    length, expected = Path(path).stat().st_size, HEADERS + (blocks - free) * block_size
    if length < expected or (length - HEADERS) % block_size:
        return f"文件只有 {length:,} 字节,按其文件头应有 {expected:,} 字节(文件被截断)"
    return None


def advice(path, why: str) -> str:
    path = Path(path)
    return (f"数据库文件 {path} 已损坏:{why}。请系统管理员在服务器上运行 python -m analytics restore --db {path},"
            f"从 {path.parent / 'backups'} 中最近一次完好的备份恢复(也可用 --from 指定备份文件)。")


def check(path) -> None:
    """Raise Damaged, saying what to do, unless the file reads."""
    why = problem(path)
    if why is not None:
        raise Damaged(advice(path, why))


def backups(db_path: Path) -> list[Path]:
    """The backups of this database in backups/ beside it, newest first (their names start with the time)."""
    folder = Path(db_path).parent / "backups"
    return sorted(folder.glob(f"{Path(db_path).stem}-*.duckdb"), reverse=True)


def restore(db_path, source=None) -> Path:
    """Put source (else the newest backup that opens) in place of the database; the file it replaces is
    kept in backups/ too. Returns the backup restored. Raises ValueError in Chinese when there is nothing
    good to restore, or when no source is named and the database is not damaged."""
    db_path = Path(db_path)
    with load.exclusive(db_path):
        damaged = db_path.exists() and problem(db_path) is not None
        if source is None:
            if db_path.exists() and not damaged:
                raise ValueError(f"数据库文件 {db_path} 完好,无需恢复;如确要换回某个备份,请用 --from 指定备份文件")
            source = next((b for b in backups(db_path) if problem(b) is None), None)
            if source is None:
                raise ValueError(f"{db_path.parent / 'backups'} 中没有完好的备份,无法恢复")
        source = Path(source)
        if not source.is_file():
            raise ValueError(f"备份文件不存在: {source}")
        if (why := problem(source)) is not None:
            raise ValueError(f"备份文件 {source} 也无法使用:{why}")
        tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
        try:
            shutil.copyfile(source, tmp)
            load.install(tmp, db_path, load.backup_path(db_path, "damaged" if damaged else "before-restore"))
        finally:
            load.discard(tmp)
    return source
