"""The command line per role, on the small demo county: users made with --password-stdin, what each
may export with --user, the refusals (exit code 3, in Chinese, audited) and masking in every export."""

import csv
import getpass
import io
import subprocess
import sys
from types import SimpleNamespace

import openpyxl
import pytest
from pypdf import PdfReader

from analytics import access, audit, db
from analytics.__main__ import main
from tests.test_ingest import LEDGER_HEADER
from tests.test_report import pptx_text, unmasked

PASSWORD = "grid gov 2026"
# (name, role, place): the small demo's 少海街道 (370321002), its 东岳国际社区 (201) and that community's first grid.
USERS = [("leader", "county_leader", ""), ("ana", "analyst", ""), ("sub", "subdistrict_leader", "370321002"),
         ("sec", "community_secretary", "201"), ("gw", "grid_worker", "201-01"), ("clerk", "clerk", ""),
         ("adm", "admin", "")]
EAST = {f"201-{k:02d}" for k in range(1, 13)}  # 东岳国际社区 has 12 grids in the demo county


@pytest.fixture(scope="module")
def cli(small_path, tmp_path_factory):
    """The users of every role, created through the command line into a users file of this module;
    the audit log kept beside it."""
    home = tmp_path_factory.mktemp("access_cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDGOV_AUDIT", str(home / "audit.sqlite"))
        for name, role, place in USERS:
            mp.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
            argv = ["users", "add", name, "--role", role, "--password-stdin", "--users", str(home / "users.json"),
                    "--db", str(small_path)] + (["--place", place] if place else [])
            assert main(argv) == 0
        mp.setattr(sys, "stdin", io.StringIO(""))
        yield SimpleNamespace(home=home, users=home / "users.json", db=small_path, audit=home / "audit.sqlite")


def run(cli, *argv):
    return main([*map(str, argv), "--db", str(cli.db), "--users", str(cli.users)])


@pytest.fixture(scope="module")
def small(small_path):
    """Read-only facts of the small county: full names, and the grids and communities outside 201."""
    with db.connect(small_path, read_only=True) as con:
        names = {n for (n,) in con.execute("SELECT DISTINCT name FROM people WHERE length(name) >= 2").fetchall()}
        grids = con.execute("SELECT grid_id, g.name, c.name FROM grids g JOIN communities c USING (community_id) "
                            "WHERE community_id <> '201'").fetchall()
    return SimpleNamespace(full_names=names, other_grids={g for g, _, _ in grids},
                           other_grid_names={n for _, n, _ in grids}, other_communities={c for _, _, c in grids})


def table_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def cells(path) -> set[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {str(v) for sheet in book.worksheets for row in sheet.values for v in row if v is not None}


# --- users ---------------------------------------------------------------------------------------

def test_users_list_shows_each_role_and_place_but_never_a_hash(cli, capsys):
    assert run(cli, "users", "list") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["用户名", "显示名", "角色", "所属范围", "统一身份", "状态", "创建时间"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert set(by_name) == {name for name, _, _ in USERS}
    for name, role, place in USERS:
        assert access.ROLES[role].label in by_name[name] and "启用" in by_name[name]
    assert "201 东岳国际社区" in by_name["sec"] and "全县" in by_name["leader"]
    assert "$2b$" not in out and PASSWORD not in out
    stored = cli.users.read_text(encoding="utf-8")
    assert PASSWORD not in stored and stored.count("$2b$") == len(USERS)
    assert access.UserStore(cli.users).authenticate("sec", PASSWORD).role == "community_secretary"


def test_an_empty_users_file_prints_how_to_create_the_first_administrator(tmp_path, capsys):
    assert main(["users", "list", "--users", str(tmp_path / "users.json")]) == 0
    out = capsys.readouterr().out
    assert "尚未创建任何用户" in out and "--role admin" in out and str(tmp_path / "users.json") in out


def fake_getpass(monkeypatch, answers: list[str]) -> list[str]:
    prompts = []

    def answer(prompt=""):
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(getpass, "getpass", answer)
    return prompts


def test_a_typed_password_is_asked_twice_and_a_mismatch_refused(tmp_path, monkeypatch, capsys):
    users = tmp_path / "users.json"
    prompts = fake_getpass(monkeypatch, ["first try 123", "first try 124"])
    assert main(["users", "add", "ana", "--role", "analyst", "--users", str(users)]) == 2
    assert "两次输入的密码不一致" in capsys.readouterr().err and not users.exists()
    assert prompts == ["请输入密码:", "请再次输入密码:"]
    fake_getpass(monkeypatch, ["first try 123", "first try 123"])
    assert main(["users", "add", "ana", "--role", "analyst", "--users", str(users)]) == 0
    out = capsys.readouterr().out
    assert "已创建用户 ana" in out and "first try" not in out
    assert access.UserStore(users).authenticate("ana", "first try 123").name == "ana"


@pytest.mark.parametrize("argv, message", [
    (["--role", "community_secretary", "--place", "999"], "数据库中没有社区编号 999"),
    (["--role", "grid_worker", "--place", "201"], "数据库中没有网格编号 201"),
    (["--role", "grid_worker"], "需要用 --place 指定所属网格编号"),
    (["--role", "mayor"], "未知的角色"),
])
def test_a_bad_role_or_place_is_refused_before_the_password_is_asked(small_path, tmp_path, monkeypatch, capsys,
                                                                      argv, message):
    prompts = fake_getpass(monkeypatch, [])
    users = tmp_path / "users.json"
    assert main(["users", "add", "x1", *argv, "--users", str(users), "--db", str(small_path)]) == 2
    assert message in capsys.readouterr().err
    assert prompts == [] and not users.exists()


def test_a_duplicate_or_short_password_from_stdin_is_refused(cli, monkeypatch, capsys):
    before = cli.users.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert run(cli, "users", "add", "sec", "--role", "analyst", "--password-stdin") == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert run(cli, "users", "add", "new", "--role", "analyst", "--password-stdin") == 2
    assert "已存在" in capsys.readouterr().err
    assert cli.users.read_bytes() == before


def test_disable_enable_and_passwd_are_audited_with_the_operator(cli, monkeypatch, capsys):
    operator = f"命令行:{getpass.getuser()}"
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert run(cli, "users", "add", "temp", "--role", "analyst", "--password-stdin") == 0
    assert run(cli, "users", "disable", "temp") == 0
    assert run(cli, "metric", "ticket-resolution", "--period", "2026Q3", "--user", "temp") == 3
    assert "用户 temp 已停用" in capsys.readouterr().err
    assert run(cli, "users", "enable", "temp") == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new secret 42\n"))
    assert run(cli, "users", "passwd", "temp", "--password-stdin") == 0
    assert run(cli, "users", "disable", "nobody") == 2
    store = access.UserStore(cli.users)
    assert store.authenticate("temp", PASSWORD) is None and store.authenticate("temp", "a new secret 42").name == "temp"
    log = audit.read(limit=5, path=cli.audit)
    assert list(zip(log["action"], log["user_name"], log["target"], log["ok"])) == [
        ("user_password", operator, "temp", True), ("user_enable", operator, "temp", True),
        ("denied", "temp", "ticket-resolution", False), ("user_disable", operator, "temp", True),
        ("user_add", operator, "temp", True)]
    assert "a new secret" not in " ".join(log["detail"]) and PASSWORD not in " ".join(log["detail"])


# --- what each role exports -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("leader", 140), ("ana", 140), ("clerk", 140),
    ("sub", 76),    # 少海街道: the 8 communities 201-208 with 12+10+9+11+9+9+8+8 grids
    ("sec", EAST), ("gw", {"201-01"}),
])
def test_the_ranking_csv_holds_only_the_users_grids(cli, capsys, name, expected):
    assert run(cli, "metric", "grid-credit-ranking", "--period", "2026Q3", "--user", name) == 0
    grids = {r["网格编号"] for r in table_rows(capsys.readouterr().out)}
    if isinstance(expected, int):
        assert len(grids) == expected
        assert name != "sub" or {g[0] for g in grids} == {"2"}
    else:
        assert grids == expected


def test_a_secretary_asking_for_the_county_gets_the_community_named_in_the_audit(cli, capsys):
    assert run(cli, "metric", "credit-summary", "--period", "2026Q3", "--user", "sec") == 0
    entry = audit.read(limit=1, path=cli.audit).iloc[0]
    assert (entry["user_name"], entry["action"], entry["target"]) == ("sec", "export", "credit-summary")
    assert entry["detail"].startswith("2026年第3季度 · 东岳国际社区")


@pytest.mark.parametrize("name, argv, message", [
    ("clerk", ["metric", "monthly-publication", "--period", "2026-09"], "无权查看涉及个人的名单"),
    ("clerk", ["metric", "excellent-grid-workers", "--period", "2026Q3"], "无权查看涉及个人的名单"),
    ("adm", ["metric", "ticket-resolution", "--period", "2026Q3"], "无权查看统计数字与网格排名"),
    ("adm", ["report", "--quarter", "2026Q3", "--format", "xlsx"], "无权查看统计数字与网格排名"),
    ("gw", ["metric", "grid-ledger", "--grid", "202-01", "--period", "2026Q3"], "只能查看网格 201-01"),
    ("sec", ["metric", "grid-credit-ranking", "--period", "2026Q3", "--scope", "C:202"], "只能查看社区 201"),
    ("sec", ["report", "--quarter", "2026Q3", "--scope", "S:370321002", "--format", "xlsx"], "只能查看社区 201"),
    ("sub", ["publish", "--month", "2026-09", "--scope", "C:101"], "只能查看街道 370321002"),
])
def test_refusals_exit_3_in_chinese_write_nothing_and_are_audited(cli, tmp_path, capsys, name, argv, message):
    out = tmp_path / ("r.xlsx" if argv[0] == "report" else "公示")
    extra = ["--out", out] if argv[0] in ("report", "publish") else []
    assert run(cli, *argv, *extra, "--user", name) == 3
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.startswith("错误: 无权访问。")
    assert "Traceback" not in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []
    entry = audit.read(limit=1, path=cli.audit).iloc[0]
    assert (entry["user_name"], entry["action"], bool(entry["ok"])) == (name, "denied", False)
    assert message in entry["detail"]


def test_publish_as_a_clerk_exits_3_from_a_real_process(cli, tmp_path):
    result = subprocess.run([sys.executable, "-m", "analytics", "publish", "--month", "2026-09", "--out",
                             str(tmp_path / "公示"), "--user", "clerk", "--db", str(cli.db), "--users", str(cli.users)],
                            cwd=db.ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, result.stderr
    assert "错误: 无权访问。用户 clerk(数据录入员)无权查看涉及个人的名单" in result.stderr
    assert list(tmp_path.iterdir()) == []
    entry = audit.read(limit=1, path=cli.audit).iloc[0]
    assert (entry["user_name"], entry["action"], entry["target"]) == ("clerk", "denied", "公示.xlsx、公示.pdf")


def test_the_secretarys_workbook_holds_no_other_community(cli, small, tmp_path, capsys):
    out = tmp_path / "pack.xlsx"
    assert run(cli, "report", "--quarter", "2026Q3", "--format", "xlsx", "--out", out, "--user", "sec") == 0
    assert "东岳国际社区" in capsys.readouterr().out
    found = cells(out)
    assert not {c for c in found if any(other in c for other in small.other_communities)}
    assert not found & small.other_grid_names and not found & small.other_grids
    book = openpyxl.load_workbook(out, read_only=True)
    for sheet in ("网格排名", "优秀网格员", "2026年9月公示", "2026年9月红灰榜"):
        rows = list(book[sheet].values)
        column = rows[0].index("社区")
        assert {r[column] for r in rows[1:]} <= {"东岳国际社区"}
    assert len(list(book["2026年9月公示"].values)) > 1  # the lists are there, for this community only
    assert not found & small.full_names
    entry = audit.read(limit=1, path=cli.audit).iloc[0]
    assert (entry["user_name"], entry["action"], entry["target"]) == ("sec", "export", "pack.xlsx")


def test_a_clerks_workbook_has_figures_but_no_lists_of_people(cli, tmp_path):
    out = tmp_path / "pack.xlsx"
    assert run(cli, "report", "--quarter", "2026Q3", "--format", "xlsx", "--out", out, "--user", "clerk") == 0
    book = openpyxl.load_workbook(out, read_only=True)
    assert len(list(book["网格排名"].values)) == 141
    for sheet in ("优秀网格员", "2026年7月公示", "2026年8月公示", "2026年9月公示"):
        assert len(list(book[sheet].values)) == 1, sheet  # the header row only


# --- masking in every export ------------------------------------------------------------------------

PERSONAL = [("excellent-grid-workers", "2026Q3", None, "网格员"), ("monthly-publication", "2026-09", None, "姓名"),
            ("grid-team", "2026Q3", "201-01", "姓名"), ("grid-ledger", "2026Q3", "201-01", "姓名")]


@pytest.mark.parametrize("name", ["leader", "sec", "gw", None])
@pytest.mark.parametrize("metric_id, period, grid, column", PERSONAL)
def test_personal_metric_csvs_are_masked_for_every_role(cli, small, capsys, name, metric_id, period, grid, column):
    argv = ["metric", metric_id, "--period", period] + (["--grid", grid] if grid else [])
    assert run(cli, *argv, *(["--user", name] if name else [])) == 0
    rows = table_rows(capsys.readouterr().out)
    if metric_id == "excellent-grid-workers" and name == "gw":  # 201-01 is not a red-flag grid
        assert rows == []
        return
    values = {v for r in rows for v in r.values()}
    assert not values & small.full_names
    people = [r[column] for r in rows if r.get("职务") != "志愿服务队"]  # grid-team names its team too
    assert people and all("*" in n for n in people if len(n) >= 2)


@pytest.mark.parametrize("name, fmt", [("sec", "xlsx"), ("sec", "pdf"), ("sec", "pptx"), ("leader", "xlsx"),
                                       ("gw", "pdf")])
def test_the_meeting_pack_is_masked(cli, small, tmp_path, name, fmt):
    out = tmp_path / f"pack.{fmt}"
    assert run(cli, "report", "--quarter", "2026Q3", "--format", fmt, "--out", out, "--user", name) == 0
    if fmt == "xlsx":
        found = cells(out)
        assert any("*" in c for c in found)  # masked names are there to be checked
        assert not found & small.full_names
    else:
        text = "\n".join(p.extract_text() for p in PdfReader(out).pages) if fmt == "pdf" else "\n".join(pptx_text(out))
        assert "2026年第3季度" in text
        assert not unmasked(text, small.full_names)
        if name != "leader":
            assert not any(other in text for other in small.other_communities)


@pytest.mark.parametrize("name, scope", [("sec", ""), ("leader", ""), ("sub", "C:203")])
def test_the_publication_is_masked(cli, small, tmp_path, capsys, name, scope):
    out = tmp_path / "公示"
    assert run(cli, "publish", "--month", "2026-09", "--out", out, "--user", name,
               *(["--scope", scope] if scope else [])) == 0
    assert "已写入" in capsys.readouterr().out
    found = cells(out.with_suffix(".xlsx"))
    text = "\n".join(p.extract_text() for p in PdfReader(out.with_suffix(".pdf")).pages)
    assert any("*" in c for c in found) and "*" in text
    assert not found & small.full_names and not unmasked(text, small.full_names)
    if name == "sec":
        assert "东岳国际社区" in text and not any(other in text for other in small.other_communities)
    entry = audit.read(limit=1, path=cli.audit).iloc[0]
    assert (entry["user_name"], entry["action"], entry["target"]) == (name, "export", "公示.xlsx、公示.pdf")


# --- the audit command ------------------------------------------------------------------------------

def test_audit_shows_exports_and_refusals_newest_first(cli, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    assert run(cli, "metric", "grid-credit-ranking", "--period", "2026Q3", "--user", "sec") == 0
    assert run(cli, "publish", "--month", "2026-09", "--out", tmp_path / "p.xlsx", "--user", "clerk") == 3
    capsys.readouterr()
    assert main(["audit", "--format", "csv"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert [(r["用户"], r["操作"], r["对象"], r["结果"]) for r in rows] == [
        ("clerk", "越权访问被拒", "p.xlsx", "失败"), ("sec", "导出", "grid-credit-ranking", "成功")]
    assert rows[1]["说明"].startswith("2026年第3季度 · 东岳国际社区")
    assert main(["audit", "--action", "export", "--user", "sec"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["时间", "用户", "操作", "对象", "说明", "结果"]
    assert len(table) == 2 and "grid-credit-ranking" in table[1]
    assert main(["audit", "--user", "nobody"]) == 0
    assert "没有符合条件的记录" in capsys.readouterr().out
    assert main(["audit", "--action", "peek"]) == 2
    assert "未知的操作" in capsys.readouterr().err


def test_an_export_without_user_is_audited_as_the_operator(cli, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    monkeypatch.setattr("getpass.getuser", lambda: "clerk7")
    assert run(cli, "metric", "monthly-publication", "--period", "2026-09", "--scope", "C:201") == 0
    capsys.readouterr()
    log = audit.read(path=tmp_path / "audit.sqlite")
    assert log[["user_name", "action", "target"]].values.tolist() == [["命令行:clerk7", "export", "monthly-publication"]]


def test_imports_and_undo_from_the_command_line_are_audited(tiny, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    good = tmp_path / "good.csv"
    good.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(LEDGER_HEADER + "11,个人,P9,I1,5,2026-09-01\n", encoding="utf-8")
    assert main(["import", str(good), "--db", str(tiny), "--dry-run"]) == 0
    access.UserStore(tmp_path / "users.json").add("zhao.liu", "clerk", PASSWORD)
    assert main(["import", str(bad), "--db", str(tiny), "--user", "zhao.liu", "--users", str(tmp_path / "users.json")]) == 1
    assert main(["import", str(good), "--db", str(tiny)]) == 0
    assert main(["undo", "--db", str(tiny)]) == 0
    log = audit.read(path=tmp_path / "audit.sqlite")
    operator = f"命令行:{getpass.getuser()}"
    assert list(zip(log["action"], log["user_name"], log["target"], log["ok"])) == [
        ("undo", operator, "good.csv", True), ("import", operator, "good.csv", True), ("import", "zhao.liu", "bad.csv", False)]
    assert log["detail"].iloc[1].startswith("导入完成") and "已撤销" in log["detail"].iloc[0]


def test_a_packs_default_name_states_the_scope_it_holds(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(cli, "report", "--quarter", "2026Q3", "--format", "xlsx", "--user", "sec") == 0  # held to 201
    assert run(cli, "report", "--quarter", "2026Q3", "--format", "xlsx", "--scope", "G:201-01") == 0
    assert sorted(p.name for p in tmp_path.glob("季度考评_*")) == ["季度考评_2026Q3_东岳国际社区.xlsx",
                                                                 "季度考评_2026Q3_东岳国际社区第1网格.xlsx"]
