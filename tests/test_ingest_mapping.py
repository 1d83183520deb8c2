"""Mapping files and what the import says of a file: the value as the file has it, a problem of
the mapping said once, many rows of one problem said once."""

import pytest

from analytics import db, ingest
from helpers import write

DATA = db.ROOT / "tests" / "data" / "service_requests_311.csv"
MAPPING_311 = db.ROOT / "docs" / "mappings" / "311.yaml"
TICKETS = "工单编号,所在网格,提单时间\n"


def mapping(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "m.yaml"
    path.write_bytes(text.encode(encoding))
    return path


def variant(tmp_path, old: str, new: str):
    text = MAPPING_311.read_text(encoding="utf-8")
    assert old in text
    return mapping(tmp_path, text.replace(old, new))


def tickets(path) -> dict:
    with db.connect(path, read_only=True) as con:
        return dict(con.execute("SELECT ticket_id, department FROM tickets").fetchall())


@pytest.mark.parametrize("old, new, where, value", [
    ("Rodent: environment", "Rodent: enviroment", "fields.category.values.Rodent", "enviroment"),
    ("    other: hotline", "    other: hotlien", "fields.channel.other", "hotlien"),
])
def test_a_misspelt_target_code_is_one_problem_of_the_mapping(tiny, tmp_path, old, new, where, value):
    result = ingest.import_file(DATA, tiny, mapping=variant(tmp_path, old, new))
    assert result.status == "rejected" and tickets(tiny) == {}
    assert result.problems[["文件", "行", "列", "值"]].values.tolist() == [["m.yaml", None, where, value]]
    assert "不是" in result.problems["问题"].iloc[0] and "允许的取值" in result.problems["问题"].iloc[0]


def test_a_constant_naming_a_grid_that_does_not_exist_is_said_once(tiny, tmp_path):
    result = ingest.import_file(DATA, tiny, mapping=variant(tmp_path, 'constant: "101-01"', 'constant: "999-99"'))
    assert result.status == "rejected"
    assert result.problems[["文件", "行", "列", "值"]].values.tolist() == [["m.yaml", None, "所在网格(常量)", "999-99"]]
    message = result.problems["问题"].iloc[0]
    assert "影响全部 20 行" in message and "请先导入网格" in message
    assert len(result.details) == 1


def test_problems_quote_the_value_as_the_file_has_it(tiny, tmp_path):
    # Without other:, the one unlisted complaint type (Elevator, rows 9 and 17) fails the category check.
    rules = variant(tmp_path, "    other: facilities       # any other complaint type\n", "")
    details = ingest.check(DATA, tiny, mapping=rules).details
    assert details[["行", "列", "值"]].values.tolist() == [[9, "Complaint Type", "Elevator"], [17, "Complaint Type", "Elevator"]]
    # The id is stored with the mapping's prefix 311-; the duplicate is quoted as written.
    lines = DATA.read_text(encoding="utf-8").splitlines()
    doubled = write(tmp_path, "d.csv", "\n".join(lines + lines[1:2]) + "\n")
    duplicate = ingest.check(doubled, tiny, mapping=MAPPING_311).details
    assert duplicate[["行", "列", "值"]].values.tolist() == [[22, "Unique Key", "60000001"]]


def test_placeholders_become_blank_and_blank_takes_a_code(tiny, tmp_path):
    text = DATA.read_text(encoding="utf-8").splitlines()
    head, rows = text[0], text[1:4]
    rows[0] = rows[0].replace("09/01/2026 10:30:00 AM", "01/01/1900 12:00:00 AM")  # an open request, as LA 311 writes it
    rows[1] = rows[1].replace(",NYPD,", ",,")                                       # no agency
    path = write(tmp_path, "r.csv", "\n".join([head] + rows) + "\n")
    plain = ingest.check(path, tiny, mapping=MAPPING_311).details
    early = plain[plain["问题"].str.contains("早于 2000 年")]
    assert early[["行", "列", "值"]].values.tolist() == [[2, "Closed Date", "01/01/1900 12:00:00 AM"]]
    rules = variant(tmp_path, 'published_at: {column: Closed Date, format: "%m/%d/%Y %I:%M:%S %p"}',
                    'published_at: {column: Closed Date, format: "%m/%d/%Y %I:%M:%S %p", empty: ["01/01/1900 12:00:00 AM"]}')
    rules.write_text(rules.read_text(encoding="utf-8").replace("    other: law_enforcement", "    other: law_enforcement\n    blank: ecology"),
                     encoding="utf-8")
    result = ingest.import_file(path, tiny, mapping=rules)
    assert result.status == "imported", result.problems.to_string()
    assert tickets(tiny) == {"311-60000001": "traffic_police", "311-60000002": "ecology", "311-60000003": "housing"}
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT step FROM ticket_events WHERE ticket_id = '311-60000001'").fetchall() == [("filed",)]


def test_a_mapping_skips_rows_on_a_source_column_and_says_how_many(tiny, tmp_path):
    with open(DATA, encoding="utf-8") as f:
        agencies = [line.split(",")[3] for line in f.readlines()[1:]]
    rules = mapping(tmp_path, MAPPING_311.read_text(encoding="utf-8") + "skip:\n  - {column: Agency, values: [nypd, HPD]}\n")
    result = ingest.import_file(DATA, tiny, mapping=rules)
    skipped = sum(a in ("NYPD", "HPD") for a in agencies)
    assert result.status == "imported" and 0 < skipped < 20
    assert result.skipped == {"tickets": skipped} and result.rows == {"tickets": 20 - skipped}
    assert f"按对照表跳过工单 {skipped} 行" in result.message
    assert len(tickets(tiny)) == 20 - skipped and "traffic_police" not in tickets(tiny).values()


def test_a_mapping_file_in_gbk_is_read(tiny, tmp_path):
    text = "# 纽约 311 导出的对照表\n" + MAPPING_311.read_text(encoding="utf-8")
    assert ingest.import_file(DATA, tiny, mapping=mapping(tmp_path, text, "gbk")).status == "imported"


def test_an_export_without_a_mapping_is_told_so_once(tiny):
    for table in (None, "tickets"):
        problems = ingest.check(DATA, tiny, table=table).problems
        assert len(problems) == 1 and problems["行"].tolist() == [1]
        assert "对照表" in problems["问题"].iloc[0]


def test_many_rows_of_one_problem_are_said_once(tiny, tmp_path):
    rows = "".join(f"T{k},999-99,2026-09-01 08:00\n" for k in range(60))
    result = ingest.check(write(tmp_path, "t.csv", TICKETS + rows), tiny)
    assert result.problems[["行", "列", "值"]].values.tolist() == [[None, "所在网格", "999-99"]]
    assert result.problems["问题"].iloc[0].startswith("第 2–61 行:所在网格不存在")
    assert result.problems["问题"].iloc[0].endswith("(共 60 行)")
    assert result.details["行"].tolist() == list(range(2, 62))
    every_other = "".join(f"T{k},{'999-99' if k % 2 else '101-01'},2026-09-01 08:00\n" for k in range(20))
    problems = ingest.check(write(tmp_path, "u.csv", TICKETS + every_other), tiny).problems
    assert problems["问题"].iloc[0].startswith("第 3、5、7、9、11 等行:所在网格不存在")
    assert problems["问题"].iloc[0].endswith("(共 10 行)")


def test_a_ledger_without_its_id_column_says_so(tiny, tmp_path):
    path = write(tmp_path, "l.csv", "主体类型,主体编号,指标代码,积分,发生时间\n个人,P1,I1,5,2026-09-01\n")
    for outcome in (ingest.check(path, tiny), ingest.import_file(path, tiny)):
        assert outcome.problems[["行", "列", "问题"]].values.tolist() == [[1, "记录编号", "缺少必填列“记录编号”"]]


LEDGER = "记录编号,主体类型,主体编号,指标代码,积分,发生时间,冲销记录编号,是否调整,备注\n"


@pytest.mark.parametrize("rows, problems", [
    # I1 gives 5 points; I2 (in the file's own catalogue) 3 points, valid in 2026 only.
    ("10,个人,P1,I1,7,2026-09-01,,,\n", [(2, "积分", "7", "与指标目录中该指标的分值(5)不一致")]),
    ("10,个人,P1,I2,3,2025-12-31,,,\n", [(2, "发生时间", "2025-12-31", "不在该指标的有效期内(2026-01-01 至 2026-12-31)")]),
    ("10,个人,P1,I2,5,2026-09-01,,,\n", [(2, "积分", "5", "与指标目录中该指标的分值(3)不一致")]),
    ("10,个人,P1,I1,7,2026-09-01,,是,经党委批准加分\n", []),               # an approved adjustment
    ("10,个人,P1,I2,3,2025-12-31,,是,补录\n", []),
    ("10,个人,P1,I1,-5,2026-09-01,1,,冲销\n", []),                         # a reversal negates the original
    ("10,个人,P1,,7,2026-09-01,,,\n", []),                                  # no indicator, no catalogue
])
def test_a_ledger_line_departing_from_the_catalogue_is_refused_unless_an_adjustment(tiny, tmp_path, rows, problems):
    catalogue = "指标代码,主体类型,分值,生效日期,失效日期\nI2,个人,3,2026-01-01,2026-12-31\n"
    book = tmp_path / "台账.xlsx"
    import openpyxl

    workbook = openpyxl.Workbook()
    for sheet, text in (("信用指标", catalogue), ("积分台账", LEDGER + rows)):
        ws = workbook.create_sheet(sheet)
        for line in text.strip().split("\n"):
            ws.append(line.split(","))
    del workbook["Sheet"]
    workbook.save(book)
    result = ingest.check(book, tiny)
    found = [(r["行"], r["列"], r["值"], r["问题"].split(";")[0]) for _, r in result.details.iterrows()]
    assert found == problems
    assert all("是否调整" in r for r in result.details["问题"])


def test_lines_written_around_the_importer_that_depart_from_the_catalogue_are_flagged(tiny):
    from analytics import tickets

    with db.connect(tiny) as con:
        con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, adjustment)
                       VALUES (20, 'person', 'P1', 'I1', 9, '2026-08-05', NULL), (21, 'person', 'P1', 'I1', 8, '2026-08-06', true)""")
        flags = tickets.data_quality_flags(con, "2026Q3")
    assert flags.loc[flags["flag"] == "off_catalogue", ["record_id", "reason"]].values.tolist() == [
        ["20", "分值 9 与指标 I1 的 5 不同(未标为调整)"], ["21", "分值 8 与指标 I1 的 5 不同(已标为调整)"]]


def test_a_residence_history_imports_with_its_order_checked(tiny, tmp_path):
    text = "人员编号,居住网格,迁入日期,迁出日期\nP1,101-01,2020-01-01,2026-08-15\nP1,101-02,2026-08-15,\nP2,101-02,2026-09-01,2026-03-01\n"
    problems = ingest.check(write(tmp_path, "moves.csv", text), tiny).details
    assert problems[["行", "列", "值"]].values.tolist() == [[4, "迁出日期", "2026-03-01"]]
    assert ingest.import_file(write(tmp_path, "ok.csv", text.rsplit("\n", 2)[0] + "\n"), tiny).status == "imported"
    with db.connect(tiny, read_only=True) as con:
        assert con.execute("SELECT person_id, grid_id, moved_in::VARCHAR, moved_out::VARCHAR FROM residence_history "
                           "ORDER BY moved_in").fetchall() == [("P1", "101-01", "2020-01-01", "2026-08-15"),
                                                               ("P1", "101-02", "2026-08-15", None)]
