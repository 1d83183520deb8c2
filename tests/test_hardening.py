"""Hostile text through the importer and back out, readers during an import in another process, and
a second writer while the import lock is held."""

import csv
import hashlib
import subprocess
import sys
import threading

import duckdb
import openpyxl
import pytest
from pypdf import PdfReader

from analytics import credit, db, ingest, report, tickets
from analytics.__main__ import main
from analytics.period import Scope
from analytics.privacy import mask_name
from tests.helpers import import_lock_held
from tests.test_ingest import LEDGER_HEADER, contents

PAYLOADS = [
    "'; DROP TABLE tickets; --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}}",
    "Robert'); --",
    '" OR "1"="1',
    '=HYPERLINK("http://example.com","点我")',
    "a & b <b>粗体</b>",
]


def hostile_tables() -> dict[str, tuple[list[str], list[list]]]:
    """Per payload k: community 3k and its grid 3k-01 named by it, a resident named by it who filed a
    ticket titled by it (step notes and credit note too), and a merchant named by it on the red list."""
    t = {name: [] for name in ("社区", "网格", "居民", "组织", "工单", "工单步骤", "积分台账")}
    for k, text in enumerate(PAYLOADS, start=1):
        comm, grid, person, ticket = f"3{k}", f"3{k}-01", f"X{k}", f"T{k}-{text}"
        day = f"2026-09-{k + 1:02d}"
        t["社区"].append([comm, "370321001", text])
        t["网格"].append([grid, comm, text])
        t["居民"].append([person, grid, text])
        t["组织"].append([f"OX{k}", grid, text, "商户"])
        t["工单"].append([ticket, grid, "停车充电", text, person, f"{day} 08:00", f"{day} 09:00", f"{day} 18:00"])
        t["工单步骤"].append([ticket, "支部议单", f"{day} 12:00", person, text])
        t["积分台账"] += [[900 + k, "个人", person, "I1", 5, f"{day} 10:00", text, text],
                       [950 + k, "组织", f"OX{k}", "", 100, f"{day} 10:00", "", ""]]
    headers = {
        "社区": ["社区编号", "所属街道", "社区名称"],
        "网格": ["网格编号", "所属社区", "网格名称"],
        "居民": ["人员编号", "居住网格", "姓名"],
        "组织": ["组织编号", "所在网格", "名称", "组织类型"],
        "工单": ["工单编号", "所在网格", "诉求类别", "标题", "提单居民", "提单时间", "接单时间", "结果公开时间"],
        "工单步骤": ["工单编号", "步骤", "发生时间", "办理人", "备注"],
        "积分台账": LEDGER_HEADER.strip().split(",") + ["登记人", "备注"],
    }
    return {name: (headers[name], rows) for name, rows in t.items()}


def write_workbook(path):
    """Every cell a string as typed, so that "=HYPERLINK(...)" stays text in the file too."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, (header, rows) in hostile_tables().items():
        sheet = book.create_sheet(name)
        for r, row in enumerate([header, *rows], start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(r, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"
    book.save(path)


def import_hostile(tiny, tmp_path, fmt: str) -> list:
    """Imports the tables one file each (CSV) or as one workbook; returns the results."""
    if fmt == "xlsx":
        write_workbook(tmp_path / "hostile.xlsx")
        return [ingest.import_file(tmp_path / "hostile.xlsx", tiny)]
    results = []
    for name, (header, rows) in hostile_tables().items():
        path = tmp_path / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([header, *rows])
        results.append(ingest.import_file(path, tiny))
    return results


def table_names(path) -> set[str]:
    with db.connect(path, read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_injection_strings_are_stored_and_read_back_verbatim(tiny, tmp_path, fmt):  # noqa: F811
    tables_before = table_names(tiny)
    with db.connect(tiny, read_only=True) as con:
        before = db.table_counts(con)
    for result in import_hostile(tiny, tmp_path, fmt):
        assert result.status == "imported", result.problems.to_string()
    assert tables_before <= table_names(tiny)  # every table still there (an import adds the summaries)
    n = len(PAYLOADS)
    with db.connect(tiny, read_only=True) as con:
        after = db.table_counts(con)
        for table, added in (("communities", n), ("grids", n), ("people", n), ("organizations", n), ("tickets", n),
                             ("credit_events", 2 * n), ("ticket_events", 4 * n)):  # filed, accepted, published + notes
            assert after[table] == before[table] + added, table
        for k, text in enumerate(PAYLOADS, start=1):
            grid, ticket = f"3{k}-01", f"T{k}-{text}"
            assert con.execute("""SELECT c.name, g.name, p.name, o.name, t.title, e.note, e.recorded_by
                                  FROM communities c JOIN grids g USING (community_id) JOIN people p USING (grid_id)
                                  JOIN organizations o ON o.grid_id = g.grid_id JOIN tickets t ON t.grid_id = g.grid_id
                                  JOIN credit_events e ON e.subject_id = p.person_id WHERE g.grid_id = ?""",
                               [grid]).fetchall() == [(text,) * 7]
            history = tickets.ticket_history(con, ticket, names=True)
            assert history["step"].tolist() == ["filed", "accepted", "discussed", "published"]
            assert history.loc[history["step"] == "discussed", ["actor", "note"]].values.tolist() == [[text, text]]
            assert tickets.ticket_history(con, ticket)["actor"].iloc[2] == mask_name(text)
            ledger = credit.grid_ledger(con, grid, "2026-09", names=True)
            assert ledger[["event_id", "name", "note"]].values.tolist() == [[900 + k, text, text]]
            assert credit.grid_ledger(con, grid, "2026-09")["name"].tolist() == [mask_name(text)]
            found = tickets.ticket_list(con, "2026-09", search=text)
            assert found[["ticket_id", "title", "community_name", "grid_name"]].values.tolist() == [[ticket, text, text, text]]
        listed = tickets.ticket_list(con, "2026-09")
        assert sorted(listed["title"]) == sorted(PAYLOADS)
        ranking = credit.grid_credit_ranking(con, "2026-09", Scope(communities=tuple(f"3{k}" for k in range(1, n + 1))))
        assert sorted(ranking["grid_name"]) == sorted(PAYLOADS)


def test_exports_print_hostile_names_as_text(tiny, tmp_path):  # noqa: F811
    import_hostile(tiny, tmp_path, "csv")
    communities = Scope(communities=tuple(f"3{k}" for k in range(1, len(PAYLOADS) + 1)))
    with db.connect(tiny, read_only=True) as con:
        # The scope's label is the communities' names: hostile text printed in the PDF's heading too.
        report.write_publication(con, "2026-09", tmp_path / "p.xlsx", communities)
        report.write_publication(con, "2026-09", tmp_path / "p.pdf", communities)
    book = openpyxl.load_workbook(tmp_path / "p.xlsx")
    red_grey = book["法人单位红灰榜"]
    header = [c.value for c in red_grey[1]]
    orgs = [row[header.index("单位")] for row in red_grey.iter_rows(min_row=2)]
    assert sorted(c.value for c in orgs) == sorted(PAYLOADS)
    assert {c.data_type for c in orgs} == {"s"}  # "=HYPERLINK(...)" is not a formula
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "p.pdf").pages)
    for payload in PAYLOADS:
        assert payload in text  # community headings are written as given, markup and all
    out = tmp_path / "t.xlsx"
    assert main(["metric", "ticket-list", "--period", "2026-09", "--format", "xlsx", "--out", str(out),
                 "--db", str(tiny)]) == 0
    sheet = openpyxl.load_workbook(out).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert sorted(c.value for c in titles) == sorted(PAYLOADS) and {c.data_type for c in titles} == {"s"}


# --- readers during an import in another process ------------------------------------------------

def big_ledger(tmp_path, rows: int):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write(LEDGER_HEADER)
        for k in range(rows):
            out.write(f"{1000 + k},个人,P{1 + k % 2},I1,5,2026-09-{1 + k % 28:02d} {k % 24:02d}:00\n")
    return path


def test_readers_see_the_old_or_the_new_file_never_an_error(tiny, tmp_path):  # noqa: F811
    rows, old = 200_000, 3
    path = big_ledger(tmp_path, rows)
    seen, errors, done = [], [], threading.Event()

    def attached():  # as pages/_database.py opens it: an in-memory instance with the file attached read-only
        con = duckdb.connect()
        try:
            con.execute("ATTACH $p AS gridgov (READ_ONLY)", {"p": str(tiny)})
            return con.execute("SELECT count(*) FROM gridgov.credit_events").fetchone()[0]
        finally:
            con.close()

    def direct():
        with db.connect(tiny, read_only=True) as con:
            return con.execute("SELECT count(*) FROM credit_events").fetchone()[0]

    def read(count):
        while True:
            last = done.is_set()
            try:
                seen.append(count())
            except Exception as exc:  # any error at all is the failure this test looks for
                errors.append(repr(exc))
            if last:
                return

    readers = [threading.Thread(target=read, args=(f,)) for f in (attached, attached, attached, direct)]
    for r in readers:
        r.start()
    result = subprocess.run([sys.executable, "-m", "analytics", "import", str(path), "--db", str(tiny)],
                            cwd=db.ROOT, capture_output=True, text=True, timeout=600)
    done.set()
    for r in readers:
        r.join()
    assert result.returncode == 0, result.stderr
    assert errors == []
    assert set(seen) <= {old, old + rows}
    assert len(seen) >= 8 and seen[-1] == old + rows  # each reader's last read came after the import


# --- a second writer ----------------------------------------------------------------------------

def test_a_second_import_while_the_lock_is_held_changes_nothing(tiny, tmp_path, monkeypatch, capsys):  # noqa: F811
    from analytics.ingest import load

    monkeypatch.setattr(load, "LOCK_TIMEOUT_SECONDS", 0.5)
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER_HEADER + "10,个人,P1,I1,5,2026-09-01\n", encoding="utf-8")
    before, digest = contents(tiny), hashlib.sha256(tiny.read_bytes()).hexdigest()
    with import_lock_held(tiny):
        with pytest.raises(ingest.Busy, match="另一个导入正在进行"):
            ingest.import_file(path, tiny)
        assert main(["import", str(path), "--db", str(tiny)]) == 2
        assert main(["undo", "--db", str(tiny)]) == 2
        err = capsys.readouterr().err
        assert err.count("错误: 另一个导入正在进行,请稍后再试") == 2 and "Traceback" not in err
    assert contents(tiny) == before and hashlib.sha256(tiny.read_bytes()).hexdigest() == digest
    assert ingest.import_file(path, tiny).status == "imported"  # the lock released, the same file goes in
