import pytest
from streamlit.testing.v1 import AppTest

from analytics import db


@pytest.fixture
def app_on(monkeypatch):
    def start(path, timeout=30):
        monkeypatch.setenv("GRIDGOV_DB", str(path))
        app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=timeout)
        app.run()
        assert not app.exception, app.exception
        return app
    return start


def test_overview_shows_the_county_figures(app_on, demo_path):
    app = app_on(demo_path)
    figures = {m.label: m.value for m in app.metric}
    assert figures["网格党支部"] == "140 个"
    assert figures["红色楼长"] == "1,967 名"
    assert figures["红色单元长"] == "3,925 名"
    assert figures["志愿服务队"] == "206 支"
    assert figures["信用积分应用场景"] == "36 个"
    assert any("数据截至 2026年11月28日" in c.value for c in app.caption)


def test_first_start_builds_the_demo_database(app_on, tmp_path):
    path = tmp_path / "fresh" / "gridgov.duckdb"
    app = app_on(path, timeout=180)
    assert path.exists()
    assert {m.label for m in app.metric} >= {"社区", "网格党支部"}
    with db.connect(path, read_only=True) as con:
        assert db.get_meta(con, "source") == "demo"
