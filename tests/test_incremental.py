"""Imports that cost what they carry: the summaries an import updates row by row are exactly what a
full refresh gives, undo, from the rows the import kept, gives the database exactly as before, and the
standby file an import writes instead of a whole copy ends exactly as whole copies would, without ever
writing a file someone reads or losing what another program wrote."""

import datetime as dt
import shutil

import duckdb
import pytest

from analytics import appeals, clock, db, ingest, official, summary
from analytics.ingest import standby
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
    # a resident's history of where they lived begins (their registrations now come from it)
    "residence": ("residence.csv", "人员编号,居住网格,迁入日期,迁出日期\n{p3},{other_grid},2025-01-01,2025-06-30\n"
                  "{p3},{grid},2025-06-30,\n"),
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


@pytest.mark.parametrize("names", [["ledger"], ["people"], ["tickets"], ["grids"], ["residence"],
                                   ["ledger", "people", "tickets"], ["people", "ledger"], ["residence", "ledger"]])
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


COPY_OF_NEXT = """INSERT INTO credit_events SELECT * REPLACE ($new AS event_id) FROM credit_events
                  WHERE event_id = $next"""


@pytest.mark.parametrize("statements", [
    ["DELETE FROM credit_events WHERE event_id = $next"],                    # a line fewer
    [COPY_OF_NEXT, "DELETE FROM credit_events WHERE event_id = $next"],      # as many lines, a newer id
    [COPY_OF_NEXT],                                                          # a line more
])
def test_plain_sql_on_the_ledger_after_an_import_makes_pages_read_the_ledger(county, tmp_path, statements):
    """The fingerprint an import writes after its checkpoint sees a later write by plain SQL: the pages
    then fall back to the inline queries instead of summaries that miss it."""
    path, values = county
    import_each(path, tmp_path, values, ["ledger"])
    with db.connect(path, read_only=True) as con:
        assert summary.is_fresh(con)
        assert summary.relation(con, "summary_person_month") == "summary_person_month"
    with db.connect(path) as con:
        for sql in statements:
            con.execute(sql, {k: v for k, v in {"next": values["next"], "new": values["next3"] + 10}.items()
                              if f"${k}" in sql})
    with db.connect(path, read_only=True) as con:
        assert not summary.is_fresh(con)
        assert summary.relation(con, "summary_person_month") != "summary_person_month"


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


@pytest.mark.parametrize("names", [["ledger"], ["people"], ["tickets"], ["grids"], ["residence"],
                                   ["ledger", "people", "tickets"]])
def test_undo_gives_every_table_exactly_as_before(county, tmp_path, names, caplog):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    before = tmp_path / "before.duckdb"
    shutil.copyfile(path, before)
    import_each(path, tmp_path, values, names)
    assert compare(path, before, list(summary.SUMMARIES)) != {}  # the imports changed the figures
    for _ in names:
        assert ingest.undo_last(path).status == "undone"
    with db.connect(before, read_only=True) as con:
        tables = [t for t in db.table_counts(con) if t != "import_log"]
    assert compare(path, before, tables) == {}
    assert whole_copies(caplog) == ["no standby yet"]  # the imports and undos after the first wrote the standby
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


# --- the standby: an import writes a second file one operation behind, not a copy of the database --------

WHOLE_COPY = "copying the database whole"


def whole_copies(caplog) -> list[str]:
    """Why each write since the last call copied the database whole (standby.prepare logs it)."""
    found = [r.getMessage().split("(", 1)[1].rstrip(")") for r in caplog.records if WHOLE_COPY in r.getMessage()]
    caplog.clear()
    return found


def run(path, tmp_path, values, steps):
    for step in steps:
        if step == "undo":
            assert ingest.undo_last(path).status == "undone"
        else:
            import_each(path, tmp_path, values, [step])


def same_as(path, reference) -> dict:
    """Every table of two databases compared, but for the log's times and paths and the time of the last
    import in meta (and kept for undo)."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH $p AS l (READ_ONLY)", {"p": str(path)})
        con.execute("ATTACH $p AS r (READ_ONLY)", {"p": str(reference)})
        tables = {a: {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                                [a]).fetchall()} for a in ("l", "r")}
        assert tables["l"] == tables["r"]
        for a in ("l", "r"):
            con.execute(f"CREATE TEMP TABLE log_{a} AS SELECT * EXCLUDE (started_at, finished_at, backup_path) "
                        f"FROM {a}.import_log")
            for t in ("meta", "undo_meta"):
                con.execute(f"CREATE TEMP TABLE {t}_{a} AS SELECT * FROM {a}.{t} WHERE key <> 'last_import'")
        found = differences(con, "l", "r", sorted(tables["l"] - {"import_log", "meta", "undo_meta"}))
        for t in ("log", "meta", "undo_meta"):
            found.update({t: d for d in differences_of(con, f"temp.main.{t}_l", f"temp.main.{t}_r")})
        return found
    finally:
        con.close()


def differences_of(con, left: str, right: str) -> list[tuple[int, int]]:
    a = con.execute(f"SELECT count(*) FROM (FROM {left} EXCEPT ALL FROM {right})").fetchone()[0]
    b = con.execute(f"SELECT count(*) FROM (FROM {right} EXCEPT ALL FROM {left})").fetchone()[0]
    return [(a, b)] if a or b else []


@pytest.fixture
def reference(county, tmp_path, monkeypatch):
    """run(), into a copy of the county that every write copies whole (the standby never trusted)."""
    path, values = county
    ref = tmp_path / "ref" / "g.duckdb"
    ref.parent.mkdir()
    shutil.copyfile(path, ref)

    def build(steps, outside=None):
        with monkeypatch.context() as m:
            m.setattr(standby, "_state", lambda db_path: (_ for _ in ()).throw(standby.Untrusted("off")))
            run(ref, tmp_path, values, steps[:1])
            if outside:
                outside(ref, values)
            run(ref, tmp_path, values, steps[1:])
        return ref
    return build


@pytest.mark.parametrize("steps", [
    ["ledger", "tickets", "people"],
    ["tickets", "undo", "people", "ledger"],
    ["people", "grids", "tickets"],  # the grids import rebuilds the summaries: so does its replay
    ["ledger", "tickets", "undo", "undo", "people"],
])
def test_after_imports_and_undos_the_live_file_is_what_whole_copies_give(county, tmp_path, reference, caplog, steps):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    run(path, tmp_path, values, steps)
    assert whole_copies(caplog) == ["no standby yet"]  # the first write sets up the pair, no other copies
    assert same_as(path, reference(steps)) == {}
    with db.connect(standby.standby_path(path), read_only=True) as con:  # one operation behind
        assert con.execute("SELECT count(*) FROM import_log").fetchone()[0] == len(steps) - 1


def _sql_on_live(path, values):
    with db.connect(path) as con:
        con.execute("UPDATE people SET name = '外改' WHERE person_id = ?", [values["p4"]])


def _refresh_on_live(path, values):
    with db.connect(path) as con:
        con.execute("DELETE FROM summary_ticket_facts WHERE ticket_id = ?", [values["ticket"]])
        summary.refresh(con)


def _sql_on_standby(path, values):
    with db.connect(standby.standby_path(path)) as con:
        con.execute("UPDATE people SET name = '备改' WHERE person_id = ?", [values["p4"]])


def _state_removed(path, values):
    standby.state_path(path).unlink()


@pytest.mark.parametrize("outside, on_live, why", [
    (_sql_on_live, True, "the live file was written since the last import"),
    (_refresh_on_live, True, "the live file was written since the last import"),
    (_sql_on_standby, False, "the standby was written since the last import"),
    (_state_removed, False, "no standby yet"),
])
def test_a_file_written_outside_the_importer_is_copied_whole_and_nothing_is_lost(
        county, tmp_path, reference, caplog, outside, on_live, why):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    steps = ["ledger", "tickets", "people"]
    run(path, tmp_path, values, steps[:1])
    outside(path, values)
    run(path, tmp_path, values, steps[1:])
    assert whole_copies(caplog) == ["no standby yet", why]  # then the pair is set up again
    assert same_as(path, reference(steps, outside if on_live else None)) == {}


def _at_a_fixed_moment(write):
    """The write, with the same time recorded in the live file and the reference."""
    def at(path, values):
        with pytest.MonkeyPatch.context() as m:
            m.setattr(clock, "now", lambda: dt.datetime(2026, 11, 30, 9))
            write(path, values)
    return at


@_at_a_fixed_moment
def _appeal_upheld(path, values):
    """The resident's imported March 2024 line reversed: a ledger row the summaries take."""
    appeal_id = appeals.submit(path, None, by="操作员", raised_on=dt.date(2026, 11, 20), reason="未参加",
                               event_id=values["next"], raised_by=values["p1"])
    appeals.decide(path, None, appeal_id, "upheld", by="操作员", decided_on=dt.date(2026, 11, 21), decision_reason="属实")


@_at_a_fixed_moment
def _frozen(path, values):
    official.freeze(path, "2026Q3", cutoff=dt.datetime(2026, 10, 8, 18), user="lead")


@pytest.mark.parametrize("outside", [_appeal_upheld, _frozen])
def test_a_freeze_or_an_appeal_between_imports_is_written_through_the_standby(
        county, tmp_path, reference, caplog, outside):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    steps = ["ledger", "tickets"]  # no one moves: the appeal's line stays in the summaries as the update put it
    run(path, tmp_path, values, steps[:1])
    outside(path, values)
    run(path, tmp_path, values, steps[1:])
    assert whole_copies(caplog) == ["no standby yet"]  # neither the write nor the imports after it copied whole
    assert same_as(path, reference(steps, outside)) == {}
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copyfile(path, refreshed)
    with db.connect(refreshed) as con:
        summary.refresh(con)
    assert compare(path, refreshed, list(summary.SUMMARIES)) == {}


def test_a_reader_keeps_reading_the_file_it_opened_and_that_file_is_not_written(county, tmp_path, caplog):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    run(path, tmp_path, values, ["ledger"])
    reader = db.attach_read_only(path)
    tickets = "SELECT count(*), count(*) FILTER (WHERE ticket_id = 'TNEW-1') FROM tickets"
    before = reader.execute(tickets).fetchone()
    run(path, tmp_path, values, ["tickets"])  # the reader's file becomes the standby
    assert reader.execute(tickets).fetchone() == before
    later = db.attach_read_only(path)
    assert later.execute(tickets).fetchone() == (before[0] + 1, 1)
    run(path, tmp_path, values, ["people"])  # the standby is the reader's file: left alone
    assert reader.execute(tickets).fetchone() == before
    assert reader.execute("SELECT count(*) FROM people WHERE person_id = 'PNEW1'").fetchone() == (0,)
    assert whole_copies(caplog) == ["no standby yet", "a reader still has the standby (the previous live file) open"]
    reader.close()
    later.close()
    run(path, tmp_path, values, ["grids"])
    assert whole_copies(caplog) == []


def test_a_refused_file_keeps_the_standby_usable(county, tmp_path, caplog):
    path, values = county
    caplog.set_level("INFO", logger=standby.__name__)
    run(path, tmp_path, values, ["ledger"])
    refused = ingest.import_file(write(tmp_path, "bad.csv", "工单编号,所在网格,诉求类别,提单时间\nT9,不存在,停车充电,2026-11-02\n"),
                                 path)
    assert refused.status == "rejected"
    run(path, tmp_path, values, ["tickets", "undo"])
    assert whole_copies(caplog) == ["no standby yet"]


def test_the_dashboard_lets_go_of_the_file_an_import_replaced(county, tmp_path, monkeypatch):
    import gc

    from pages import _database

    path, values = county
    monkeypatch.setenv("GRIDGOV_DB", str(path))
    monkeypatch.delenv("GRIDGOV_CITY", raising=False)
    run(path, tmp_path, values, ["ledger"])
    count = "SELECT count(*) FROM tickets"
    before = _database.cursor().execute(count).fetchone()[0]
    run(path, tmp_path, values, ["tickets"])
    assert _database.cursor().execute(count).fetchone()[0] == before + 1  # the next run reads the new file
    gc.collect()
    assert not standby.in_use(standby.standby_path(path))  # and no longer holds the one it replaced
    _database._connection.clear()
