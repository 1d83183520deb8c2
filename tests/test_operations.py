"""Safe to operate: file modes, concurrent user changes, leftovers of killed imports swept at the next
start, imports attributed only to users allowed to import, and recovery from a damaged database file."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from analytics import access, audit, db, ingest, recovery
from analytics.__main__ import main
from analytics.ingest import load
from tests.helpers import import_lock_held
from tests.test_hardening import big_ledger
from tests.test_ingest import LEDGER_HEADER, contents

PASSWORD = "grid gov 2026"


def python(*argv, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "analytics", *map(str, argv)], cwd=db.ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual one: files 0644 and folders 0755 unless made otherwise
    yield
    os.umask(old)


@pytest.fixture
def beside(tiny, monkeypatch):
    """The users file and audit log beside the tiny database, as on a server."""
    monkeypatch.delenv("GRIDGOV_USERS", raising=False)
    monkeypatch.delenv("GRIDGOV_AUDIT", raising=False)
    return tiny


def add_user(path, name: str, role: str = "clerk", monkeypatch=None) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", name, "--role", role, "--password-stdin", "--db", str(path)]) == 0


# --- file modes -----------------------------------------------------------------------------------

def test_users_audit_log_and_backups_are_their_owners_only(beside, tmp_path, monkeypatch, umask_022):
    (beside.parent / "audit.sqlite").touch(mode=0o644)  # made by an older version: taken back to 0600
    add_user(beside, "clerk1", monkeypatch=monkeypatch)
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    assert main(["import", str(path), "--db", str(beside), "--user", "clerk1"]) == 0
    backups = list((beside.parent / "backups").iterdir())
    modes = {p.name: mode(p) for p in [beside.parent / "users.json", beside.parent / "users.json.lock",
                                       beside.parent / "audit.sqlite", beside.parent / "backups", *backups]}
    assert len(backups) == 1 and set(modes.values()) == {"0o600", "0o700"}
    assert modes["backups"] == "0o700" and modes[backups[0].name] == "0o600"
    assert mode(beside) == "0o644"  # the database itself is read by the dashboard's own account


def test_import_working_folders_are_their_owners_only(umask_022):
    folder = Path(tempfile.mkdtemp(prefix=load.temp_prefix("import")))
    try:
        assert mode(folder) == "0o700" and folder.name.startswith(f"gridgov-import-{os.getpid()}-")
    finally:
        folder.rmdir()


# --- users.json under a lock ----------------------------------------------------------------------

def test_parallel_adds_and_disables_all_land(tmp_path):
    users = access.UserStore(tmp_path / "users.json")
    for k in range(6):
        users.add(f"old{k}", "analyst", PASSWORD)
    common = ["--users", tmp_path / "users.json", "--db", tmp_path / "none.duckdb"]
    runs = [python("users", "add", f"new{k}", "--role", "analyst", "--password-stdin", *common) for k in range(12)]
    runs += [python("users", "disable", f"old{k}", *common) for k in range(6)]
    for run in runs:
        out, err = run.communicate(PASSWORD + "\n", timeout=120)
        assert run.returncode == 0, err
    stored = {u.name: u.disabled for u in users.all()}
    assert stored == {**{f"new{k}": False for k in range(12)}, **{f"old{k}": True for k in range(6)}}


# --- leftovers of killed processes ----------------------------------------------------------------

def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid  # a process that has ended


def test_a_killed_import_leaves_copies_that_the_next_start_sweeps(tiny, tmp_path):
    before = contents(tiny)
    path = big_ledger(tmp_path, 300_000)
    leftovers = lambda: sorted(tiny.parent.glob(f".{tiny.name}.import-*"))  # noqa: E731
    killed, pids = 0, []
    for _ in range(3):
        run = python("import", path, "--db", tiny)
        deadline = time.monotonic() + 60
        while not leftovers() and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)
        run.wait()
        pids.append(run.pid)
        killed += bool(leftovers())
    assert killed >= 1 and contents(tiny) == before  # the database as it was
    mine = Path(tempfile.mkdtemp(prefix=load.temp_prefix("upload")))  # this process is alive: kept
    gone = Path(tempfile.mkdtemp(prefix=f"gridgov-import-{dead_pid()}-"))
    try:
        assert main(["imports", "--db", str(tiny)]) == 0
        assert leftovers() == [] and not gone.exists() and mine.exists()
        assert [p for pid in pids for p in Path(tempfile.gettempdir()).glob(f"gridgov-import-{pid}-*")] == []
    finally:
        shutil.rmtree(mine)
    assert ingest.import_file(path, tiny).status == "imported"


def test_copies_are_kept_while_an_import_holds_the_lock(tiny):
    copy = tiny.with_name(f".{tiny.name}.import-1-2")
    copy.write_bytes(b"in use")
    with import_lock_held(tiny):
        assert load.sweep(tiny) == [] and copy.exists()
    assert load.sweep(tiny) == [copy] and not copy.exists()


# --- import --user --------------------------------------------------------------------------------

@pytest.mark.parametrize("user, code, message", [
    ("nosuchuser", 2, "没有用户 nosuchuser"),
    ("ana", 3, "无权导入数据"),
    ("gone", 3, "用户 gone 已停用"),
])
def test_an_import_names_an_enabled_user_allowed_to_import(beside, tmp_path, monkeypatch, capsys, user, code, message):
    add_user(beside, "ana", "analyst", monkeypatch)
    add_user(beside, "gone", "clerk", monkeypatch)
    access.UserStore(beside.parent / "users.json").disable("gone")
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    before = contents(beside)
    for command in (["import", str(path)], ["undo"]):
        assert main([*command, "--db", str(beside), "--user", user]) == code
        assert message in capsys.readouterr().err
    assert contents(beside) == before
    refused = audit.read(path=beside.parent / "audit.sqlite", action="denied")
    assert len(refused) == (2 if code == 3 else 0)


def test_the_import_log_names_the_user_and_the_operator_beside_it(beside, tmp_path, monkeypatch, capsys):
    add_user(beside, "clerk1", monkeypatch=monkeypatch)
    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    assert main(["import", str(path), "--db", str(beside), "--user", "clerk1"]) == 0
    with db.connect(beside, read_only=True) as con:
        assert ingest.import_log(con)["user_name"].tolist() == ["clerk1(命令行:ops)"]
    entry = audit.read(path=beside.parent / "audit.sqlite", action="import").iloc[0]
    assert entry["user_name"] == "clerk1" and entry["detail"].endswith("(命令行:ops)")


# --- a damaged database ---------------------------------------------------------------------------

@pytest.fixture
def imported(tiny, tmp_path):
    """The tiny county with one import done (so backups/ holds the file as it was before it)."""
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    assert ingest.import_file(path, tiny).status == "imported"
    return tiny


def truncate(path: Path, fraction: float) -> None:
    with open(path, "r+b") as out:
        out.truncate(int(path.stat().st_size * fraction))


@pytest.mark.parametrize("fraction, why", [
    (0.0, "不是有效的数据库文件"),
    (0.02, "文件不完整(被截断)"),
    (0.5, "字节(文件被截断)"),
    (0.999, "字节(文件被截断)"),
])
def test_a_damaged_file_is_named_in_chinese(imported, fraction, why):
    assert recovery.problem(imported) is None
    truncate(imported, fraction)
    assert why in recovery.problem(imported)


def test_every_command_refuses_a_truncated_file_and_restore_brings_back_the_backup(imported, tmp_path, capsys):
    backup = recovery.backups(imported)[0]
    good = contents(backup)
    truncate(imported, 0.5)
    for command in (["init"], ["imports"], ["undo"], ["refresh"],
                    ["metric", "grid-credit-ranking", "--period", "2026Q3"], ["import", str(tmp_path / "x.csv")]):
        assert main([*command, "--db", str(imported)]) == 2, command
        err = capsys.readouterr().err
        assert "已损坏" in err and f"python -m analytics restore --db {imported}" in err and "Error" not in err
    with pytest.raises(recovery.Damaged, match="已损坏"):
        ingest.undo_last(imported)
    assert main(["restore", "--db", str(imported)]) == 0
    out = capsys.readouterr().out
    assert f"已从备份 {backup} 恢复" in out
    assert contents(imported) == good and recovery.problem(imported) is None
    kept = [p for p in recovery.backups(imported) if p.name.endswith("-damaged.duckdb")]
    assert len(kept) == 1 and recovery.problem(kept[0])  # the damaged file is kept, not lost
    assert audit.read(path=imported.parent / "audit.sqlite", action="restore")["detail"].tolist() == [
        f"从备份 {backup.name} 恢复"]
    assert main(["restore", "--db", str(imported)]) == 2
    assert "完好,无需恢复" in capsys.readouterr().err
    assert main(["restore", "--db", str(imported), "--from", str(kept[0])]) == 2
    assert "也无法使用" in capsys.readouterr().err


def test_restore_skips_damaged_backups_for_the_newest_good_one(imported, tmp_path, monkeypatch):
    monkeypatch.setattr(load, "BACKUP_EVERY_HOURS", 0)  # a whole backup at every import
    older = recovery.backups(imported)[0]
    path = tmp_path / "ledger2.csv"
    path.write_text(LEDGER_HEADER + "11,个人,P1,I1,5,2026-09-02\n", encoding="utf-8")
    assert ingest.import_file(path, imported).status == "imported"
    newest = recovery.backups(imported)[0]
    assert newest != older
    truncate(newest, 0.5)
    truncate(imported, 0.5)
    assert recovery.restore(imported) == older
    assert contents(imported) == contents(older)


def test_the_dashboard_names_a_damaged_file_in_chinese_on_the_login_page(monkeypatch, imported, tmp_path):
    from streamlit.testing.v1 import AppTest

    truncate(imported, 0.5)
    monkeypatch.setenv("GRIDGOV_DB", str(imported))
    monkeypatch.setenv("GRIDGOV_USERS", str(tmp_path / "users.json"))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    assert [e.value for e in app.error] == [recovery.advice(imported, recovery.problem(imported))]
    assert "python -m analytics restore" in app.error[0].value and not app.text_input  # no login form on a broken file
