"""Property-based: whatever is done to a valid file, the import either succeeds with every row
or changes nothing and lists problems; it never raises."""

import hashlib
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db, ingest

HEADER = "记录编号,主体类型,主体编号,指标代码,积分,发生时间"
ROWS = [f"{10 + k},个人,P{1 + k % 2},I1,{k % 5 + 1},2026-09-{1 + k:02d} 08:00" for k in range(8)]
GARBAGE = ["", "abc", "—", "2026-02-30", "-", "1e999", "个人", "P9", "9" * 30, "\"", "是", "  ", "NaN"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("prop") / "base.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("INSERT INTO people (person_id, name) VALUES ('P1', '甲'), ('P2', '乙')")
        con.execute("INSERT INTO credit_indicators (indicator_code, subject_type, points) VALUES ('I1', 'person', 5)")
        con.execute("INSERT INTO credit_events VALUES (1, 'person', 'P1', 'I1', 5, '2026-08-01', NULL, NULL, NULL, NULL)")
    return path


edit = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, 7), st.integers(0, 5), st.sampled_from(GARBAGE)),
    st.tuples(st.just("dup"), st.integers(0, 7)),
    st.tuples(st.just("cut"), st.integers(1, 400)),
    st.tuples(st.just("bytes"), st.integers(0, 300), st.binary(min_size=1, max_size=4)),
)


def mutate(edits, encoding: str) -> bytes:
    rows = [r.split(",") for r in ROWS]
    cut, patches = None, []
    for e in edits:
        if e[0] == "cell":
            rows[e[1]][e[2]] = e[3]
        elif e[0] == "dup":
            rows.append(list(rows[e[1]]))
        elif e[0] == "cut":
            cut = e[1]
        else:
            patches.append(e[1:])
    data = (HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode(encoding)
    for at, blob in patches:
        data = data[:at] + blob + data[at + len(blob):]
    return data[:cut] if cut else data


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, max_size=4), encoding=st.sampled_from(["utf-8", "gbk"]))
def test_import_is_all_or_nothing_and_never_raises(base, tmp_path, edits, encoding):
    target = tmp_path / "g.duckdb"
    shutil.copyfile(base, target)
    (tmp_path / "backups").mkdir(exist_ok=True)
    before = digest(target)
    source = tmp_path / "ledger.csv"
    source.write_bytes(mutate(edits, encoding))
    result = ingest.import_file(source, target)
    if result.status == "imported":
        assert result.problems.empty
        with db.connect(target, read_only=True) as con:
            stored = con.execute("SELECT count(*) FROM credit_events").fetchall()[0][0]
        assert stored == 1 + result.counts["credit_events"]["added"]
        assert result.counts["credit_events"]["added"] == result.rows["credit_events"]
    else:
        assert result.status in ("rejected", "unchanged")
        assert digest(target) == before
        if result.status == "rejected":
            assert not result.problems.empty and result.problems["问题"].str.len().min() > 0
    shutil.rmtree(tmp_path / "backups", ignore_errors=True)


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "x.csv"
    path.write_bytes(data)
    result = ingest.check(path, folder / "none.duckdb")
    assert result.ok or list(result.problems.columns) == ["文件", "工作表", "行", "列", "值", "问题"]
