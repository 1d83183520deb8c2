"""Every download of every page and every command-line export, with hostile names imported into the
county, opened with a spreadsheet reader: no formula in any XLSX, no formula-leading text cell in
any CSV, negative numbers still numbers, and each file named by the scope it holds."""

import csv
import io
import shutil

import openpyxl
import pytest
import streamlit as st

from analytics import audit, export, ingest, metrics
from analytics.__main__ import main
from analytics.privacy import mask_name
from tests.test_app import ADMIN, CLERK, LEADER, SECTIONS, frame_on_every_run, launch, users_file  # noqa: F401

HYPERLINK = '=HYPERLINK("http://x","李四")'
PAYLOADS = [HYPERLINK, "+1", "-1+2", "@SUM(A1)", "=1+1", "-2"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def hostile_files(folder) -> list:
    """东岳国际社区 (201) renamed "@SUM(A1)", its grids 201-01..06 and a resident, a merchant and a ticket
    in each named by a payload; each resident earns 2 points in September (note and recorder hostile too),
    the first also loses 3 (an approved adjustment)."""
    tables = {
        "社区": (["社区编号", "所属街道", "社区名称"], [["201", "370321002", "@SUM(A1)"]]),
        "网格": (["网格编号", "所属社区", "网格名称"], [[f"201-0{k}", "201", p] for k, p in enumerate(PAYLOADS, 1)]),
        "居民": (["人员编号", "居住网格", "姓名"], [[f"PH{k}", f"201-0{k}", p] for k, p in enumerate(PAYLOADS, 1)]),
        "组织": (["组织编号", "所在网格", "名称", "组织类型"],
                 [[f"OH{k}", f"201-0{k}", p, "商户"] for k, p in enumerate(PAYLOADS, 1)]),
        "工单": (["工单编号", "所在网格", "诉求类别", "标题", "提单居民", "提单时间", "接单时间", "结果公开时间"],
                 [[f"TH{k}", f"201-0{k}", "停车充电", p, f"PH{k}", f"2026-09-0{k} 08:00", f"2026-09-0{k} 09:00",
                   f"2026-09-0{k} 18:00"] for k, p in enumerate(PAYLOADS, 1)]),
        "积分台账": (["记录编号", "主体类型", "主体编号", "指标代码", "积分", "发生时间", "登记人", "备注", "是否调整"],
                     [[9_000_000 + k, "个人", f"PH{k}", "P-VOL-01", 2, f"2026-09-0{k} 10:00", p, p, ""]
                      for k, p in enumerate(PAYLOADS, 1)]
                     + [[9_000_100 + k, "组织", f"OH{k}", "", 100, f"2026-09-0{k} 10:00", "", "", ""]
                        for k in range(1, len(PAYLOADS) + 1)]
                     + [[9_000_200, "个人", "PH1", "P-VOL-01", -3, "2026-09-20 10:00", "", "经批准的扣减", "是"]]),
    }
    paths = []
    for name, (header, rows) in tables.items():
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([header, *rows])
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def hostile(small_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "gridgov.duckdb"
    shutil.copyfile(small_path, path)
    for file in hostile_files(folder):
        result = ingest.import_file(file, path)
        assert result.status == "imported", result.problems.to_string()
    return path


def unsafe_cells(name: str, data: bytes) -> list[str]:
    """Cells a spreadsheet would run: formulas in an XLSX, formula-leading text in a CSV (a number,
    negative ones included, is a number)."""
    if name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        return [f"{s.title}!{c.coordinate}" for s in book.worksheets for row in s.iter_rows() for c in row
                if c.data_type == "f"]
    bad = []
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        for cell in row:
            if cell.startswith(TRIGGERS):
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    return bad


def cells(name: str, data: bytes) -> list:
    if name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        return [c.value for s in book.worksheets for row in s.iter_rows() for c in row]
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row]


@pytest.fixture
def downloads(monkeypatch, tmp_path):
    """Every download button drawn: (file name, bytes), the bytes made as a click would make them."""
    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    made = []

    def button(label, data, file_name=None, *args, **kwargs):
        if str(file_name).endswith((".csv", ".xlsx")):
            made.append((file_name, data() if callable(data) else data))
        return False

    monkeypatch.setattr(st, "download_button", button)
    return made


def visit_every_section(app) -> None:
    for page, views in SECTIONS.items():
        app.switch_page(page).run()
        for view in views:
            if view:
                app.session_state["view"] = app.query_params["view"] = view
                app.run()
            assert not app.exception and not app.error, (page, view, app.exception, [e.value for e in app.error])


def test_every_page_download_of_hostile_names_is_safe_and_named_by_its_scope(monkeypatch, hostile, downloads):
    app = launch(monkeypatch, hostile, LEADER, query={"period": "2026Q3"})
    app.session_state["credit_ledger"] = "201-01"  # as a click on its row in the ranking
    visit_every_section(app)
    names = [name for name, _ in downloads]
    assert len(names) >= 60, names
    assert {name: unsafe_cells(name, data) for name, data in downloads if unsafe_cells(name, data)} == {}
    holding = [name for name, data in downloads if HYPERLINK in cells(name, data)]  # kept as text, in full
    assert {"网格信用积分排名_2026Q3_@SUM(A1).xlsx", "工单清单_2026Q3_全县(索镇街道、少海街道).xlsx"} <= set(holding)
    # The ranking of the chosen community and the ledger of the chosen grid name the place they hold.
    ranking = openpyxl.load_workbook(io.BytesIO(dict(downloads)["网格信用积分排名_2026Q3_@SUM(A1).xlsx"]))["网格信用积分排名"]
    values = list(ranking.values)
    assert values[0] == ("名次", "网格", "评选结果", "人均积分", "名次变化", "居民", "待核实事项")
    assert {r[2] for r in values[1:]} >= {"红旗网格", None} and all(r[3] == round(r[3], 2) for r in values[1:])
    ledger_name = export.file_name("网格积分明细", "2026Q3", HYPERLINK)
    assert {"网格信用积分排名_2026Q3_@SUM(A1).csv", f"{ledger_name}.csv",
            "一月一公示名单_2026-09_全县(索镇街道、少海街道).csv"} <= set(names)
    ledger = dict(downloads)[f"{ledger_name}.xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(ledger))["网格积分明细"]
    header = [c.value for c in sheet[1]]
    assert header == ["发生时间", "居民", "指标", "类别", "积分", "记录人", "备注"]
    rows = {r[4].value: r for r in sheet.iter_rows(min_row=2) if r[6].value == HYPERLINK or r[4].value == -3}
    assert rows[-3.0][4].data_type == "n" and rows[2.0][1].value == mask_name(HYPERLINK)
    assert rows[2.0][1].data_type == "s"


def test_the_clerks_problem_list_template_and_the_admins_audit_log_are_safe(monkeypatch, hostile, tmp_path, downloads):
    app = launch(monkeypatch, hostile, CLERK)
    app.switch_page("pages/data.py").run()
    quoted = '"' + HYPERLINK.replace('"', '""') + '"'
    bad = f"网格编号,所属社区,网格名称\n201-90,{quoted},-1+2\n".encode()
    app.file_uploader(key="upload").set_value(("网格.csv", bad, "text/csv"))
    downloads.clear()  # those of the runs before
    app.run()
    assert sorted(name for name, _ in downloads) == ["导入模板.xlsx", "网格_问题清单.csv", "网格_问题清单.xlsx"]
    problems = dict(downloads)["网格_问题清单.csv"].decode("utf-8-sig")
    assert f'2,所属社区,"\'{HYPERLINK.replace(chr(34), chr(34) * 2)}",' in problems
    audit.record("export", "=cmd|' /C calc'!A0", "@SUM(A1).csv", "-1+2")
    downloads.clear()
    app = launch(monkeypatch, hostile, ADMIN)
    app.switch_page("pages/admin.py").run()
    app.session_state["admin_view"] = "审计日志"
    app.run()
    assert [name for name, _ in downloads] == ["审计日志.csv"]
    log = downloads[0][1].decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0,export" not in log and "'=cmd|' /C calc'!A0,导出,'@SUM(A1).csv,'-1+2" in log
    assert {name: unsafe_cells(name, data) for name, data in downloads} == {"审计日志.csv": []}


@pytest.mark.parametrize("config, header", [
    ("网格", "网格"),
    (st.column_config.Column("名次变化", help="正数为上升"), "名次变化"),
    (st.column_config.CheckboxColumn("红旗网格"), "红旗网格"),
    (st.column_config.DatetimeColumn("提单时间", format="YYYY-MM-DD HH:mm"), "提单时间"),
])
def test_a_download_takes_the_header_its_table_shows(config, header):
    from pages._widgets import _headers

    assert _headers({"c": config}) == {"c": header}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_metric_from_the_command_line_is_safe(hostile, tmp_path, capsys, fmt):
    unsafe, holding = {}, []
    for m in metrics.REGISTRY:
        out = tmp_path / f"{m.id}.{fmt}"
        argv = ["metric", m.id, "--period", "2026-09" if m.id in ("monthly-publication", "red-grey-list") else "2026Q3",
                "--format", fmt, "--out", str(out), "--db", str(hostile)] + (["--grid", "201-01"] if m.needs_grid else [])
        assert main(argv) == 0, capsys.readouterr().err
        data = out.read_bytes()
        if unsafe_cells(out.name, data):
            unsafe[m.id] = unsafe_cells(out.name, data)
        holding += [m.id] * bool({HYPERLINK, "'" + HYPERLINK} & set(cells(out.name, data)))
    assert unsafe == {}
    assert {"grid-credit-ranking", "ticket-list", "grid-ledger", "red-grey-list"} <= set(holding)


def test_the_command_line_prints_a_neutralised_csv_with_chinese_headers(hostile, capsys):
    assert main(["metric", "ticket-list", "--period", "2026-09", "--scope", "C:201", "--db", str(hostile)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert list(rows[0])[:3] == ["工单编号", "标题", "类别"]
    assert sorted(r["标题"] for r in rows if r["工单编号"].startswith("TH")) == sorted(
        "'" + p if p.startswith(TRIGGERS) else p for p in PAYLOADS)
