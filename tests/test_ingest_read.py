"""Reading a CSV: every record of the file arrives whole, or the line that cannot is named."""

import csv
import io

import pytest

from analytics import db, ingest
from helpers import write

HEADER = "记录编号,主体类型,主体编号,指标代码,积分,发生时间,备注\n"


def ledger(n: int, notes=None) -> str:
    notes = notes or {}
    return "".join(f"{10 + k},个人,P1,I1,5,2026-09-{1 + k:02d} 08:00,{notes.get(k, '')}\n" for k in range(n))


def stored_notes(path) -> dict:
    with db.connect(path, read_only=True) as con:
        return dict(con.execute("SELECT event_id, note FROM credit_events WHERE event_id >= 10").fetchall())


def records(text: str) -> int:
    """Data records of a CSV counted apart from the importer: non-blank rows after the header."""
    return sum(1 for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)) - 1


@pytest.mark.parametrize("name, body", [
    ("plain", ledger(10)),
    ("a note on two lines and a blank line", ledger(4, {1: '"第一行\n第二行"'}) + "\n" + ledger(10)[ledger(4).__len__():]),
    ("a quoted comma and quotes", ledger(10, {3: '"张三,李四说""好"""'})),
    ("a trailing delimiter", ledger(10).replace("08:00,\n", "08:00,,\n")),
])
def test_rows_read_equal_the_files_records(tiny, tmp_path, name, body):
    text = HEADER + body
    result = ingest.import_file(write(tmp_path, "l.csv", text), tiny)
    assert result.status == "imported", result.problems.to_string()
    assert result.rows == {"credit_events": records(text)} == {"credit_events": 10}
    assert len(stored_notes(tiny)) == 10


def test_a_quote_left_open_names_its_line_and_imports_nothing(tiny, tmp_path):
    text = HEADER + ledger(10, {0: '"开始记录'})
    before = stored_notes(tiny)
    for outcome in (ingest.check(write(tmp_path, "l.csv", text), tiny), ingest.import_file(tmp_path / "l.csv", tiny)):
        assert not outcome.ok
        assert outcome.problems[["行", "值"]].values.tolist() == [[2, ""]]
        assert "引号没有闭合" in outcome.problems["问题"].iloc[0]
    assert stored_notes(tiny) == before == {}


def test_a_quote_that_swallows_rows_until_a_later_quote_is_named(tiny, tmp_path):
    text = HEADER + ledger(6, {1: '"他说', 4: '好"'})
    result = ingest.import_file(write(tmp_path, "l.csv", text), tiny)
    assert result.status == "rejected"
    assert list(result.problems["行"]) == [3] and "引号可能没有闭合" in result.problems["问题"].iloc[0]


@pytest.mark.parametrize("row, value, fragment", [
    ("10,个人,P1,I1,5,2026-09-01 08:00,张三,李四\n", "李四", "比列头的 7 列多"),
    ("10,个人,P1,I1,5,2026-09-01 08:00,备注,x,y\n", "x,y", "有 9 个单元格"),
    ("10,个人,P1,I1,5\n", "10,个人,P1,I1,5", "只有 5 个单元格"),
])
def test_a_row_that_does_not_fit_the_header_is_a_row_error(tiny, tmp_path, row, value, fragment):
    text = HEADER + ledger(3) + row.replace("10,", "20,", 1) + ledger(2).replace("10,", "30,").replace("11,", "31,")
    result = ingest.import_file(write(tmp_path, "l.csv", text), tiny)
    assert result.status == "rejected" and stored_notes(tiny) == {}
    assert result.problems[["行", "值"]].values.tolist() == [[5, value.replace("10,", "20,", 1)]]
    assert fragment in result.problems["问题"].iloc[0]


@pytest.mark.parametrize("encoding, text", [
    ("big5", "記錄編號,主體類型,主體編號,指標代碼,積分,發生時間,備註\n10,個人,P1,I1,5,2026-09-01,張三豐參加志願服務\n"),
    ("shift_jis", "記録番号,主体,番号,指標,点数,日時,備考\n10,個人,P1,I1,5,2026-09-01,山田太郎ボランティア活動に参加\n"),
])
def test_big5_and_shift_jis_are_not_read_as_gbk(tiny, tmp_path, encoding, text):
    result = ingest.import_file(write(tmp_path, "l.csv", text, encoding), tiny)
    assert result.status == "rejected" and stored_notes(tiny) == {}
    assert result.problems["行"].tolist() == [1]
    assert "Big5" in result.problems["问题"].iloc[0] and "UTF-8" in result.problems["问题"].iloc[0]


def test_a_big5_file_reads_with_the_encoding_named_in_a_mapping(tiny, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("table: credit_events\nencoding: big5\nfields:\n  event_id: 記錄編號\n  subject_type: {constant: 个人}\n"
                       "  subject_id: 主體編號\n  points: 積分\n  occurred_at: 發生時間\n  note: 備註\n", encoding="utf-8")
    path = write(tmp_path, "l.csv", "記錄編號,主體編號,積分,發生時間,備註\n10,P1,5,2026-09-01,張三豐參加志願服務\n", "big5")
    assert ingest.import_file(path, tiny, mapping=mapping).status == "imported"
    assert stored_notes(tiny) == {10: "張三豐參加志願服務"}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_detected(tiny, tmp_path, encoding):
    text = HEADER.replace(",", "\t") + ledger(3, {2: "张三参加志愿服务"}).replace(",", "\t")
    result = ingest.import_file(write(tmp_path, "l.txt", text, encoding), tiny)
    assert result.status == "imported", result.problems.to_string()
    assert stored_notes(tiny)[12] == "张三参加志愿服务"


def test_gbk_with_rare_characters_is_still_gbk(tiny, tmp_path):
    text = HEADER + ledger(3, {0: "王堃参加志愿服务", 1: "李喆", 2: "张犇"})
    assert ingest.import_file(write(tmp_path, "l.csv", text, "gbk"), tiny).status == "imported"
    assert stored_notes(tiny)[10] == "王堃参加志愿服务"


def far_cell_workbook(path, honest: bool = True):
    """A 5 KB ledger workbook whose one extra cell sits at XFD1048576; a dishonest one hides it
    from the sheet's <dimension>."""
    import re
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "积分台账"
    sheet.append(HEADER.strip().split(","))
    sheet.append([10, "个人", "P1", "I1", 5, "2026-09-01 08:00", ""])
    sheet["XFD1048576"] = "x"
    book.save(path)
    if not honest:
        with zipfile.ZipFile(path) as z:
            members = {name: z.read(name) for name in z.namelist()}
        members["xl/worksheets/sheet1.xml"] = re.sub(rb"<dimension[^>]*/>", b"", members["xl/worksheets/sheet1.xml"])
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
    return path


def leftovers(db_path, before: set) -> set:
    import tempfile
    from pathlib import Path

    beside = {p.name for p in db_path.parent.iterdir() if ".import-" in p.name}
    temporary = {p.name for p in Path(tempfile.gettempdir()).glob("gridgov-guard-*")} - before
    return beside | temporary


def test_a_far_cell_is_refused_before_the_reader_allocates_it(tiny, tmp_path):
    path = far_cell_workbook(tmp_path / "far.xlsx")
    result = ingest.import_file(path, tiny)
    assert result.status == "rejected" and stored_notes(tiny) == {}
    assert result.problems[["工作表", "列"]].values.tolist() == [["积分台账", "XFD1048576"]]
    assert "17,179,869,184 个单元格" in result.problems["问题"].iloc[0]


def test_a_workbook_that_aborts_the_reader_ends_a_child_not_the_server(tiny, tmp_path):
    import tempfile
    from pathlib import Path

    before = {p.name for p in Path(tempfile.gettempdir()).glob("gridgov-guard-*")}
    path = far_cell_workbook(tmp_path / "far.xlsx", honest=False)
    for function in (ingest.check, ingest.import_file):
        result = ingest.isolated(function, path, tiny)
        assert not result.ok and "意外退出" in result.problems["问题"].iloc[0]
    assert stored_notes(tiny) == {} and leftovers(tiny, before) == set()
    good = write(tmp_path, "l.csv", HEADER + ledger(2))
    assert ingest.isolated(ingest.import_file, good, tiny).status == "imported"  # and the next upload goes in
    assert len(stored_notes(tiny)) == 2 and leftovers(tiny, before) == set()
