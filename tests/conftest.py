import datetime as dt
from pathlib import Path

import pytest

from analytics import db, demo

END = dt.date(2026, 11, 28)


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory):
    """The county at scale 1 with the default seed: the figures of the article."""
    path = tmp_path_factory.mktemp("demo") / "gridgov.duckdb"
    demo.build_demo_file(path, end=END)
    return path


@pytest.fixture(scope="session")
def demo_con(demo_path):
    con = db.connect(demo_path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def small_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "gridgov.duckdb"
    demo.build_demo_file(path, scale=0.05, seed=7, end=END)
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A hand-built county: one subdistrict, community, two grids, two people, one organisation,
    one indicator, one scenario and three ledger events."""
    path = tmp_path / "data" / "g.duckdb"
    db.init_db(path)
    with db.connect(path) as con:
        con.execute("INSERT INTO subdistricts (subdistrict_id, name) VALUES ('370321001', '少海街道')")
        con.execute("INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('101', '370321001', '宝发社区')")
        con.execute("INSERT INTO grids (grid_id, community_id, name) VALUES ('101-01', '101', '一网格'), ('101-02', '101', '二网格')")
        con.execute("INSERT INTO people (person_id, grid_id, name) VALUES ('P1', '101-01', '甲'), ('P2', '101-02', '乙')")
        con.execute("INSERT INTO organizations (org_id, grid_id, name, org_type) VALUES ('O1', '101-01', '某物业', 'property_company')")
        con.execute("INSERT INTO credit_indicators (indicator_code, subject_type, name, points) VALUES ('I1', 'person', '志愿服务', 5)")
        con.execute("INSERT INTO redemption_scenarios (scenario_id, name, points_cost) VALUES ('R1', '超市', 50)")
        con.execute("""INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at)
                       VALUES (1, 'person', 'P1', 'I1', 5, '2026-08-01 09:00'), (2, 'person', 'P2', 'I1', 5, '2026-08-02 09:00'),
                              (3, 'org', 'O1', NULL, 10, '2026-08-03 09:00')""")
        con.execute("INSERT INTO meta VALUES ('as_of', '2026-08-31'), ('source', 'import')")
    return path


@pytest.fixture(scope="module", autouse=True)
def page_caches_closed():
    """The connections the pages of a module's app tests cached, closed after the module: left open
    until the worker exits, DuckDB's bindings report them as leaks."""
    yield
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="session")
def city_manifest(tmp_path_factory):
    """A two-county demo city (桓台县 seed 7, 张店区 seed 8) at a small scale, built by the command line."""
    from analytics.__main__ import main

    out = tmp_path_factory.mktemp("city")
    assert main(["demo", "--counties", "2", "--scale", "0.05", "--seed", "7", "--end", END.isoformat(),
                 "--out", str(out)]) == 0
    return out / "city.json"
