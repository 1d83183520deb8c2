"""Imports that cost what they carry: the summaries an import updates row by row are exactly what a
full refresh gives, and undo, from the rows the import kept, gives the database exactly as before."""

import shutil

import duckdb
import pytest

from analytics import db, ingest, summary
from helpers import write

# Each import touches another part of the summaries; rows picked from the small demo county (seed 7).
IMPORTS = {
    # an old month of one resident, the data's last month of another, and a month the county has not
    # had yet (every grid gains it in the credit levels); an organisation's points count nowhere
    "ledger": ("ledger.csv", "记录编号,主体类型,主体编号,积分,发生时间\n"
               "{next},个人,{p1},7,2024-03-05 09:00\n{next1},个人,{p2},-3,2026-11-20 10:00\n"
               "{next2},个人,{p2},12,2026-12-01 08:00\n{next3},个人,{p3},2.5,2024-03-06 09:00\n"),
    # a resident moves to another grid, a new resident arrives
    "people": ("people.csv", "人员编号,居住网格,姓名\n{p1},{other_grid},张三\nPNEW1,{grid},李四\n"),
    # a new ticket, and a published ticket published again later (its history replaced)
    "tickets": ("tickets.csv", "工单编号,所在网格,诉求类别,提单时间,接单时间,结果公开时间\n"
                "TNEW-1,{grid},停车充电,2026-11-02 08:00,2026-11-02 10:00,2026-11-05 09:00\n"
                "{ticket},{ticket_grid},停车充电,{filed},,2026-11-27 09:00\n"),
    # a grid moves to another community: every summary is rebuilt
    "grids": ("grids.csv", "网格编号,所属社区,网格名称\n{grid},{other_community},新网格\n"),
}


@pytest.fixture
def county(small_path, tmp_path):
    path = tmp_path / "data" / "g.duckdb"
    path.parent.mkdir()
    shutil.copyfile(small_path, path)
    with db.connect(path, read_only=True) as con:
        p1, p2, p3, p4 = [r[0] for r in con.execute(
            "SELECT person_id FROM people WHERE grid_id IS NOT NULL ORDER BY person_id LIMIT 4").fetchall()]
        grid, other_grid = [r[0] for r in con.execute(
            "SELECT grid_id FROM grids WHERE grid_id <> (SELECT grid_id FROM people WHERE person_id = ?) "
            "ORDER BY grid_id LIMIT 2", [p1]).fetchall()]
        other_community = con.execute("SELECT min(community_id) FROM communities WHERE community_id <> "
                                      "(SELECT community_id FROM grids WHERE grid_id = ?)", [grid]).fetchone()[0]
        ticket, ticket_grid, filed = con.execute(
            "SELECT t.ticket_id, t.grid_id, strftime(min(e.occurred_at), '%Y-%m-%d %H:%M') FROM tickets t "
            "JOIN ticket_events e USING (ticket_id) WHERE e.step = 'filed' AND t.ticket_id IN "
            "(SELECT ticket_id FROM ticket_events WHERE step = 'published') GROUP BY ALL ORDER BY 1 LIMIT 1").fetchone()
        top = con.execute("SELECT max(event_id) FROM credit_events").fetchone()[0]
        assert summary.is_fresh(con)
    values = dict(p1=p1, p2=p2, p3=p3, p4=p4, grid=grid, other_grid=other_grid, other_community=other_community,
                  ticket=ticket, ticket_grid=ticket_grid, filed=filed,
                  next=top + 1, next1=top + 2, next2=top + 3, next3=top + 4)
    return path, values


def differences(con, left: str, right: str, tables) -> dict[str, tuple[int, int]]:
    """Per table, rows only in left and rows only in right (as multisets); tables that agree left out."""
    out = {}
    for t in tables:  # names from the catalogue, never input
        a = con.execute(f'SELECT count(*) FROM (FROM {left}."{t}" EXCEPT ALL FROM {right}."{t}")').fetchone()[0]
        b = con.execute(f'SELECT count(*) FROM (FROM {right}."{t}" EXCEPT ALL FROM {left}."{t}")').fetchone()[0]
        if a or b:
            out[t] = (a, b)
    return out


def compare(left, right, tables=None) -> dict:
    con = duckdb.connect()
    try:
        con.execute("ATTACH $p AS l (READ_ONLY)", {"p": str(left)})
        con.execute("ATTACH $p AS r (READ_ONLY)", {"p": str(right)})
        if tables is None:
            tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'l'")
                      .fetchall()]
        return differences(con, "l", "r", tables)
    finally:
        con.close()


def import_each(path, tmp_path, values, names):
    for name in names:
        file_name, text = IMPORTS[name]
        result = ingest.import_file(write(tmp_path, file_name, text.format(**values)), path)
        assert result.status == "imported", result.problems.to_string()


@pytest.mark.parametrize("names", [["ledger"], ["people"], ["tickets"], ["grids"],
                                   ["ledger", "people", "tickets"], ["people", "ledger"]])
def test_summaries_updated_by_imports_equal_a_full_refresh(county, tmp_path, names):
    path, values = county
    import_each(path, tmp_path, values, names)
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copyfile(path, refreshed)
    with db.connect(refreshed) as con:
        summary.refresh(con)
    with db.connect(path, read_only=True) as con:
        assert summary.is_fresh(con)
    assert compare(path, refreshed, list(summary.SUMMARIES)) == {}


def test_the_ledger_import_changes_the_figures_it_should(county, tmp_path):
    """The update did something: the resident's March 2024 gains 7 points and one event."""
    path, values = county
    with db.connect(path, read_only=True) as con:
        before = con.execute("SELECT coalesce(sum(points), 0), coalesce(sum(events), 0) FROM summary_person_month "
                             "WHERE person_id = ? AND month = DATE '2024-03-01'", [values["p1"]]).fetchone()
    import_each(path, tmp_path, values, ["ledger"])
    with db.connect(path, read_only=True) as con:
        after = con.execute("SELECT sum(points), sum(events) FROM summary_person_month "
                            "WHERE person_id = ? AND month = DATE '2024-03-01'", [values["p1"]]).fetchone()
        months = con.execute("SELECT max(month) FROM summary_grid_month_levels").fetchone()[0]
    assert after == (before[0] + 7, before[1] + 1)
    assert str(months) == "2026-12-01"


@pytest.mark.parametrize("names", [["ledger"], ["people"], ["tickets"], ["grids"], ["ledger", "people", "tickets"]])
def test_undo_gives_every_table_exactly_as_before(county, tmp_path, names):
    path, values = county
    before = tmp_path / "before.duckdb"
    shutil.copyfile(path, before)
    import_each(path, tmp_path, values, names)
    assert compare(path, before, list(summary.SUMMARIES)) != {}  # the imports changed the figures
    for _ in names:
        assert ingest.undo_last(path).status == "undone"
    with db.connect(before, read_only=True) as con:
        tables = [t for t in db.table_counts(con) if t != "import_log"]
    assert compare(path, before, tables) == {}
    with db.connect(path, read_only=True) as con:
        kept = {t: n for t, n in db.table_counts(con).items() if t.startswith("undo_") and n}
        assert kept == {}  # an undone import's rows for undo go with it
        assert summary.is_fresh(con)
        assert list(ingest.import_log(con)["status"]) == ["undone"] * len(names) + ["imported"] * len(names)


def test_an_import_keeps_no_whole_copy_when_a_backup_is_recent(county, tmp_path):
    path, values = county
    import_each(path, tmp_path, values, ["ledger"])
    assert len(list((path.parent / "backups").iterdir())) == 1  # the first: a whole copy to restore from
    import_each(path, tmp_path, values, ["tickets"])
    assert len(list((path.parent / "backups").iterdir())) == 1
    with db.connect(path, read_only=True) as con:
        log = ingest.import_log(con)
    assert log["backup_path"].isna().tolist() == [True, False]


def test_an_import_without_undo_rows_is_not_undone_and_the_way_to_restore_is_named(county):
    """An import logged by an earlier release kept a backup, not rows for undo."""
    path, _ = county
    with db.connect(path) as con:
        con.execute("INSERT INTO import_log (import_id, started_at, file_name, status) "
                    "VALUES (1, '2026-11-01 08:00', 'old.csv', 'imported')")
    with pytest.raises(ValueError, match="第 1 次导入早于本版本.*restore --from"):
        ingest.undo_last(path)
    with db.connect(path, read_only=True) as con:
        assert list(ingest.import_log(con)["status"]) == ["imported"]
