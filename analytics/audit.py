"""The audit log: logins (and failed ones), exports, imports, freezes and user changes.

It is a SQLite file beside the database (`audit.sqlite`, or GRIDGOV_AUDIT), not a DuckDB table:
viewers hold the database read-only and an import replaces the file, while any number of
processes may append to SQLite at once.
"""

import contextlib
import datetime as dt
import os
import sqlite3
from pathlib import Path

import pandas as pd

from . import db

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "timeout": "超时退出",
    "export": "导出", "names": "查看完整姓名", "denied": "越权访问被拒", "import": "导入", "undo": "撤销导入", "restore": "恢复备份",
    "freeze": "冻结考评结果",
    "appeal": "登记异议申诉", "appeal_decision": "处理异议申诉", "flag_check": "核实积分异常提示",
    "user_add": "新增用户", "user_disable": "停用用户", "user_enable": "启用用户", "user_password": "修改密码",
}


def default_path(db_path: Path | str | None = None) -> Path:
    """GRIDGOV_AUDIT, else audit.sqlite beside the database (db_path, else the city's manifest in a city
    deployment, else the default database)."""
    beside = db_path or os.environ.get("GRIDGOV_CITY", "").strip() or db.default_db_path()
    return Path(os.environ.get("GRIDGOV_AUDIT") or Path(beside).with_name("audit.sqlite"))


def private_file(path: Path) -> None:
    """Create path readable by its owner only (0600), or take group's and others' access away from one of
    ours made before; SQLite gives its journal the file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    stat = path.stat()
    if stat.st_uid == os.getuid() and stat.st_mode & 0o077:
        path.chmod(0o600)


@contextlib.contextmanager
def _open(path: Path):
    """A connection that commits and is closed on leaving (sqlite3's own `with` only commits)."""
    private_file(path)
    con = sqlite3.connect(path, timeout=30)
    try:
        with con:
            _create(con)
            yield con
    finally:
        con.close()


def _create(con: sqlite3.Connection) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_name TEXT, action TEXT NOT NULL,
        target TEXT, detail TEXT, ok INTEGER NOT NULL)""")


def record(action: str, user: str | None, target: str = "", detail: str = "", ok: bool = True,
           path: Path | None = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with _open(path or default_path()) as con:
        con.execute("INSERT INTO audit (at, user_name, action, target, detail, ok) VALUES (?, ?, ?, ?, ?, ?)",
                    (dt.datetime.now().isoformat(timespec="seconds"), user, action, target, detail, int(ok)))


def read(limit: int = 1000, action: str | None = None, user: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """The newest entries first: id, at, user_name, action, action_label, target, detail, ok."""
    path = path or default_path()
    columns = ["id", "at", "user_name", "action", "target", "detail", "ok"]
    if not path.exists():
        frame = pd.DataFrame(columns=columns)
    else:
        with _open(path) as con:
            frame = pd.read_sql_query(
                "SELECT id, at, user_name, action, target, detail, ok FROM audit"
                " WHERE (:action IS NULL OR action = :action) AND (:user IS NULL OR user_name = :user)"
                " ORDER BY id DESC LIMIT :limit", con, params={"action": action, "user": user, "limit": limit})
    frame["at"] = pd.to_datetime(frame["at"])
    frame["ok"] = frame["ok"].astype(bool)
    frame.insert(4, "action_label", frame["action"].map(ACTIONS))
    return frame
