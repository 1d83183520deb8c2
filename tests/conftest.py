import datetime as dt

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
