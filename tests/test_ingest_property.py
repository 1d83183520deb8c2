"""Property-based: whatever is done to a valid file, the import either stores every record or
changes nothing; its problems are the ones an independent reading of the edits predicts, each
placed in the file, and none is a programming error dressed as a message."""

import csv
import hashlib
import io
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db, ingest

HEADERS = ["记录编号", "主体类型", "主体编号", "指标代码", "积分", "发生时间"]
# I1 gives 5 points: a line of I1 with other points departs from the catalogue.
ROWS = [f"{10 + k},个人,P{1 + k % 2},I1,5,2026-09-{1 + k:02d} 08:00" for k in range(8)]
GARBAGE = ["", "abc", "—", "2026-02-30", "-", "1e999", "个人", "P9", "9" * 30, "\"", "是", "  ", "NaN", "P2", "I1"]
# What a programming error looks like when it leaks into a message: an exception's name, a traceback.
LEAK = re.compile(r"[A-Za-z]+ ?(Error|Exception)\b|Traceback|v_[a-z_]+")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("prop") / "base.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("INSERT INTO people (person_id, name) VALUES ('P1', '甲'), ('P2', '乙')")
        con.execute("INSERT INTO credit_indicators (indicator_code, subject_type, points) VALUES ('I1', 'person', 5)")
        con.execute("INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at) "
                    "VALUES (1, 'person', 'P1', 'I1', 5, '2026-08-01')")
    return path


edit = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 7), st.integers(0, 5), st.sampled_from(GARBAGE)),
    st.tuples(st.just("dup"), st.integers(0, 7)),
    st.tuples(st.just("drop"), st.integers(0, 5)),
    st.tuples(st.just("cut"), st.integers(1, 400)),
    st.tuples(st.just("bytes"), st.integers(0, 300), st.binary(min_size=1, max_size=4)),
)


def mutate(edits, encoding: str) -> tuple[bytes, list | None, list]:
    """The file's bytes; its rows when the edits leave a well-formed CSV whose problems can be
    predicted (None otherwise); and its header."""
    header, rows = list(HEADERS), [r.split(",") for r in ROWS]
    cut, patches, predictable = None, [], True
    for e in edits:
        if e[0] == "cell" and e[2] < len(header):
            rows[e[1]][e[2]] = e[3]
            predictable = predictable and e[3] != "\""
        elif e[0] == "dup":
            rows.append(list(rows[e[1]]))
        elif e[0] == "drop" and len(header) > 1:
            k = min(e[1], len(header) - 1)
            header.pop(k)
            for row in rows:
                row.pop(k)
        elif e[0] == "cut":
            cut, predictable = e[1], False
        elif e[0] == "bytes":
            patches.append(e[1:])
            predictable = False
    data = (",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode(encoding)
    for at, blob in patches:
        data = data[:at] + blob + data[at + len(blob):]
    return (data[:cut] if cut else data), (rows if predictable else None), header


def expected_problems(header: list, rows: list) -> set:
    """(line, column) of every problem, worked out from the rules of the ledger template alone."""
    missing = {h for h in ("记录编号", "主体类型", "主体编号", "积分", "发生时间") if h not in header}
    found = {(1, h) for h in missing}
    seen = set()
    for k, cells in enumerate(rows):
        line, row = k + 2, dict(zip(header, (c.strip() for c in cells)))
        person = row.get("主体类型") == "个人"
        good = {
            "记录编号": re.fullmatch(r"\d{1,15}", row.get("记录编号", "")) is not None,
            "主体类型": person,
            "主体编号": row.get("主体编号") in ("P1", "P2") or (row.get("主体编号", "") != "" and not person),
            "指标代码": row.get("指标代码") in ("", "I1"),
            "积分": row.get("积分") == "5",
            "发生时间": re.fullmatch(r"2026-09-\d\d 08:00", row.get("发生时间", "")) is not None,
        }
        found |= {(line, h) for h in header if not good[h]}
        if good.get("记录编号"):
            if row["记录编号"] in seen:
                found.add((line, "记录编号"))
            seen.add(row["记录编号"])
    return found


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def placed(problems) -> bool:
    """Every problem says where: a row, a column, or the sheet or file it concerns."""
    return all(r["行"] == r["行"] and r["行"] is not None or r["列"] or r["工作表"] for _, r in problems.iterrows())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, max_size=4), encoding=st.sampled_from(["utf-8", "gbk"]))
def test_an_edited_ledger_gives_the_problems_its_edits_predict(base, tmp_path, edits, encoding):
    target = tmp_path / "g.duckdb"
    shutil.copyfile(base, target)
    before = digest(target)
    source = tmp_path / "ledger.csv"
    data, rows, header = mutate(edits, encoding)
    source.write_bytes(data)
    result = ingest.import_file(source, target)
    assert not any(LEAK.search(str(text)) for text in result.details["问题"]), result.details["问题"].tolist()
    assert placed(result.details)
    if rows is not None:
        predicted = expected_problems(header, rows)
        assert set(zip(result.details["行"], result.details["列"])) == predicted, result.details.to_string()
    if result.status == "imported":
        assert result.problems.empty
        records = sum(1 for r in csv.reader(io.StringIO(data.decode(encoding))) if any(c.strip() for c in r)) - 1
        with db.connect(target, read_only=True) as con:
            stored = con.execute("SELECT count(*) FROM credit_events").fetchall()[0][0]
        assert result.rows["credit_events"] == result.counts["credit_events"]["added"] == records == stored - 1
    else:
        assert result.status in ("rejected", "unchanged")
        assert digest(target) == before
        assert result.status == "unchanged" or not result.problems.empty
    shutil.rmtree(tmp_path / "backups", ignore_errors=True)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_are_told_in_chinese_and_placed(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "x.csv"
    path.write_bytes(data)
    result = ingest.check(path, folder / "none.duckdb")
    assert list(result.problems.columns) == ["文件", "工作表", "行", "列", "值", "问题"]
    assert not any(LEAK.search(str(text)) for text in result.problems["问题"]), result.problems["问题"].tolist()
    assert placed(result.problems)
