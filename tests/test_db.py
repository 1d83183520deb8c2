import duckdb
import pytest

from analytics import db

# The columns the issue names, which templates and downstream users rely on.
REQUIRED_COLUMNS = {
    "subdistricts": "subdistrict_id name",
    "communities": "community_id subdistrict_id name lat lon",
    "grids": "grid_id community_id name geometry_wkt households",
    "buildings": "building_id grid_id name lat lon households units",
    "people": "person_id grid_id building_id name gender birth_year is_party_member party_member_status",
    "person_roles": "person_id role since until",
    "organizations": "org_id grid_id name org_type lat lon has_party_branch",
    "volunteer_teams": "team_id community_id name",
    "team_members": "team_id person_id joined_on",
    "volunteer_activities": "activity_id person_id team_id grid_id started_at hours kind",
    "credit_indicators": "indicator_code subject_type category name points valid_from valid_to",
    "credit_events": "event_id subject_type subject_id indicator_code points occurred_at recorded_at recorded_by "
    "reverses_event_id note",
    "redemption_scenarios": "scenario_id name category points_cost value_yuan min_level",
    "redemptions": "redemption_id person_id scenario_id points redeemed_at",
    "tickets": "ticket_id grid_id category channel title lat lon department",
    "ticket_events": "ticket_id step occurred_at actor_id note",
    "ticket_ratings": "ticket_id rater_kind score rated_at",
    "facilities": "facility_id facility_type name community_id grid_id lat lon capacity opened_on",
    "property_evaluations": "org_id quarter evaluator score",
    "micro_wishes": "wish_id grid_id category title filed_at fulfilled_at",
}


@pytest.fixture
def con(tmp_path):
    connection = db.connect(tmp_path / "t.duckdb")
    db.migrate(connection)
    yield connection
    connection.close()


@pytest.mark.parametrize("table, columns", REQUIRED_COLUMNS.items())
def test_schema_has_required_columns(con, table, columns):
    found = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    assert set(columns.split()) <= found


@pytest.mark.parametrize("sql", [
    "INSERT INTO person_roles (person_id, role, since) VALUES ('P1', 'mayor', DATE '2024-01-01')",
    "INSERT INTO organizations (org_id, name, org_type) VALUES ('O1', 'x', 'bank')",
    "INSERT INTO ticket_events (ticket_id, seq, step, occurred_at) VALUES ('T1', 1, 'closed', now())",
    "INSERT INTO ticket_ratings (rating_id, ticket_id, rater_kind, score, rated_at) VALUES (1, 'T1', 'resident', 6, now())",
    "INSERT INTO ticket_ratings (rating_id, ticket_id, rater_kind, score, rated_at) VALUES (1, 'T1', 'cadre', 3, now())",
    "INSERT INTO facilities (facility_id, facility_type, name) VALUES ('F1', 'bank', 'x')",
    "INSERT INTO credit_indicators VALUES ('X', 'robot', 'c', 'n', 1, DATE '2024-01-01', NULL)",
    "INSERT INTO people (person_id, name, is_party_member, party_member_status) VALUES ('P1', 'x', false, 'employed')",
    "INSERT INTO property_evaluations VALUES ('O1', '2026-3', 'residents', 80)",
])
def test_schema_rejects_values_outside_the_vocabulary(con, sql):
    with pytest.raises(duckdb.ConstraintException):
        con.execute(sql)


def test_init_is_idempotent_and_records_the_version(tmp_path):
    path = tmp_path / "g.duckdb"
    latest = len(db.load_migrations())
    assert db.init_db(path) == list(range(1, latest + 1))
    assert db.init_db(path) == []
    with db.connect(path) as con:
        assert db.schema_version(con) == latest
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == latest


def test_a_new_migration_upgrades_a_file_without_losing_rows(con):
    con.execute("INSERT INTO subdistricts (subdistrict_id, name) VALUES ('370321002', '少海街道')")
    latest = len(db.load_migrations())
    upgrade = db.load_migrations() + [
        db.Migration(latest + 1, "add_note", "ALTER TABLE subdistricts ADD COLUMN note VARCHAR DEFAULT '试点'")
    ]
    assert db.migrate(con, upgrade) == [latest + 1]
    assert con.execute("SELECT subdistrict_id, name, note FROM subdistricts").fetchall() == [
        ("370321002", "少海街道", "试点")
    ]
    assert db.schema_version(con) == latest + 1


def test_a_failing_migration_leaves_the_file_as_it_was(con):
    con.execute("INSERT INTO subdistricts (subdistrict_id, name) VALUES ('370321002', '少海街道')")
    latest = len(db.load_migrations())
    broken = db.load_migrations() + [
        db.Migration(latest + 1, "broken", "CREATE TABLE extra (x INTEGER); SELECT * FROM no_such_table;")
    ]
    with pytest.raises(duckdb.CatalogException):
        db.migrate(con, broken)
    assert db.schema_version(con) == latest
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'extra'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM subdistricts").fetchone()[0] == 1


def test_migration_numbers_must_be_contiguous(tmp_path):
    (tmp_path / "001_a.sql").write_text("SELECT 1")
    (tmp_path / "003_c.sql").write_text("SELECT 1")
    with pytest.raises(RuntimeError, match="不连续"):
        db.load_migrations(tmp_path)


def test_data_dictionary_documents_every_table_and_column(con):
    doc = (db.ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    sections = {s.split("\n", 1)[0].strip(): s for s in doc.split("\n## ")[1:]}
    columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = 'main'").fetchall()
    missing = [f"{t}.{c}" for t, c in columns if f"`{c}`" not in sections.get(t, "")]
    assert missing == []


def test_the_ledger_migration_keeps_every_row_and_drops_the_index(tmp_path):
    migrations = db.load_migrations()
    path = tmp_path / "old.duckdb"
    with db.connect(path) as con:
        db.migrate(con, [m for m in migrations if m.version <= 2])
        con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, points, occurred_at, note)
                       VALUES (2, 'person', 'P1', 5, '2026-08-01', 'a'), (1, 'org', 'O1', -1.5, '2026-08-02', NULL)""")
        assert 3 in db.migrate(con)
        assert con.execute("SELECT event_id, subject_type, points, note FROM credit_events").fetchall() == [
            (2, "person", 5, "a"), (1, "org", -1.5, None)]
        kinds = {r[0] for r in con.execute("SELECT constraint_type FROM information_schema.table_constraints "
                                           "WHERE table_name = 'credit_events'").fetchall()}
        assert "PRIMARY KEY" not in kinds
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO credit_events (event_id, subject_type, subject_id, points, occurred_at) "
                        "VALUES (3, 'robot', 'P1', 1, now())")


# Metrics the pages run the most, on the figures a dashboard shows right after an import.
CONCURRENT_METRICS = ("grid-credit-ranking", "ticket-resolution", "overdue-tickets", "volunteers-by-grid",
                      "redemptions-by-scenario", "service-coverage")


def test_many_sessions_read_one_shared_connection_at_once(small_path):
    """Every Streamlit session is a thread; all of them share the one attach_read_only connection."""
    from concurrent.futures import ThreadPoolExecutor

    from analytics import metrics

    shared = db.attach_read_only(small_path)
    expected = {m: metrics.get(m).compute(db.cursor(shared), "2026Q3", grid_id="101-01") for m in CONCURRENT_METRICS}

    def calls(worker: int) -> list[str]:
        wrong = []
        for k in range(60):
            metric_id = CONCURRENT_METRICS[(worker + k) % len(CONCURRENT_METRICS)]
            got = metrics.get(metric_id).compute(db.cursor(shared), "2026Q3", grid_id="101-01")
            if not got.equals(expected[metric_id]):
                wrong.append(metric_id)
        return wrong

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(calls, range(8)))  # an exception in any call is raised here
    assert results == [[]] * 8
    assert len(expected["grid-credit-ranking"]) > 0
    shared.close()


def test_summary_freshness_is_decided_once_per_read_only_file_version(small_path, tmp_path, monkeypatch):
    from analytics import summary

    calls = []
    fingerprint = summary.fingerprint
    monkeypatch.setattr(summary, "fingerprint", lambda con: calls.append(1) or fingerprint(con))
    monkeypatch.setattr(summary, "_FRESH", {})  # as in a new process
    shared = db.attach_read_only(small_path)
    assert [summary.is_fresh(db.cursor(shared)) for _ in range(5)] == [True] * 5
    assert len(calls) == 1  # a file read-only cannot change under its readers
    shared.close()
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(small_path.read_bytes())
    with db.connect(copy) as con:  # a writable file is asked every time: a write is seen at once
        assert summary.is_fresh(con)
        con.execute("INSERT INTO people (person_id, name) VALUES ('PX', '新')")
        assert not summary.is_fresh(con)
    assert len(calls) == 3


@pytest.mark.parametrize("sql, row", [
    ("SELECT $start AS a", (1,)),
    ("SELECT $start AS a, '$end' AS b", (1, "$end")),  # a dollar inside a string is no parameter
    ("SELECT $start AS a -- and $end\n, $end AS b", (1, 2)),  # nor inside a comment
    ("SELECT 3 AS a", (3,)),
])
def test_a_query_binds_the_parameters_it_names_and_no_others(sql, row):
    con = duckdb.connect()
    assert tuple(db.query(con, sql, {"start": 1, "end": 2, "unused": 9}).iloc[0]) == row
