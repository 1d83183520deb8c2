"""The dashboard in city mode (GRIDGOV_CITY): the 县区 filter, the 县区对比 page, county-scoped roles."""

import csv
import io
import shutil

from streamlit.testing.v1 import AppTest

from analytics import access, audit, city, db, overview, profile
from analytics.period import parse_period

from test_app import frame_on_every_run, users_file  # noqa: F401  (the same frame and users file)

CITY_LEADER = access.User(name="city-leader", role="county_leader", display_name="市领导")
ZHANGDIAN_LEADER = access.User(name="zd-leader", role="county_leader", county="370303", display_name="张店区领导")


def launch(monkeypatch, manifest, user, page=None, query=None) -> AppTest:
    monkeypatch.setenv("GRIDGOV_CITY", str(manifest))
    monkeypatch.delenv("GRIDGOV_DB", raising=False)
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=90)
    access.UserStore().add(user.name, user.role, county=user.county, identity=f"{user.name}@test")
    app.session_state["user"] = user
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    return app


PLACE_BOXES = ["f_county", "f_sub", "f_comm", "f_grid"]


def place_boxes(app) -> list:
    return [b.key for b in app.selectbox if b.key in PLACE_BOXES]


def test_a_city_leader_sees_every_county_side_by_side_filtered_by_the_period_alone(monkeypatch, city_manifest):
    app = launch(monkeypatch, city_manifest, CITY_LEADER)
    # The counties side by side: no county or place filter that the page would not honour.
    assert place_boxes(app) == []
    assert any("只按统计期筛选" in c.value for c in app.sidebar.caption)
    headline = app.dataframe[0].value
    assert list(headline.data["county_name"] if hasattr(headline, "data") else headline["county_name"]) == ["桓台县", "张店区"]
    app.switch_page("pages/overview.py").run()
    assert place_boxes(app) == PLACE_BOXES
    assert app.selectbox(key="f_county").options == ["桓台县", "张店区"]


def test_the_county_and_place_chosen_outlast_a_visit_to_the_city_page(monkeypatch, city_manifest):
    app = launch(monkeypatch, city_manifest, CITY_LEADER, page="pages/overview.py")
    app.selectbox(key="f_county").select("370303").run()
    sub = app.selectbox(key="f_sub").options[1]
    app.selectbox(key="f_sub").select_index(1).run()
    app.switch_page("pages/city.py").run()
    assert place_boxes(app) == []
    app.switch_page("pages/overview.py").run()
    assert app.selectbox(key="f_county").value == "370303"
    assert app.selectbox(key="f_sub").value is not None and app.selectbox(key="f_sub").format_func(
        app.selectbox(key="f_sub").value) == sub


def test_every_table_of_the_city_page_downloads_as_shown_and_is_audited(monkeypatch, city_manifest, tmp_path):
    import streamlit as st

    monkeypatch.setenv("GRIDGOV_AUDIT", str(tmp_path / "audit.sqlite"))
    made = []

    def button(label, data, file_name=None, *args, **kwargs):
        made.append((file_name, data() if callable(data) else data))
        return False

    monkeypatch.setattr(st, "download_button", button)
    app = launch(monkeypatch, city_manifest, CITY_LEADER)
    for view in ["全市社区排名", "组织体系与服务力量"]:
        app.session_state["city_view"] = app.query_params["city_view"] = view
        app.run()
    files = dict(made)
    assert sorted(files) == sorted(f"{name}_2026Q3_淄博市.{ext}" for name in
                                   ["各县区主要指标", "全市网格人均信用积分排名", "全市社区人均信用积分排名", "各县区治理架构与服务力量"]
                                   for ext in ("csv", "xlsx"))
    rows = list(csv.DictReader(io.StringIO(files["各县区主要指标_2026Q3_淄博市.csv"].decode("utf-8-sig"))))
    town = city.load(city_manifest)
    for county, row in zip(town.counties, rows, strict=True):
        with db.connect(county.path, read_only=True) as own:
            alone = overview.headline(own, "2026Q3").set_index("key")["value"]
        assert (row["县区"], row["办结工单(单)"], row["居民人均信用积分(分)"], row["服务圈覆盖户数(%)"]) == (
            county.name, f"{alone['tickets']:.0f}", f"{alone['avg_credit']:.2f}", f"{alone['coverage'] * 100:.1f}")
    # The organisation figures as the tab shows them: a row per figure, a column per county.
    rows = list(csv.reader(io.StringIO(files["各县区治理架构与服务力量_2026Q3_淄博市.csv"].decode("utf-8-sig"))))
    assert rows[0] == ["指标", "桓台县", "张店区"]
    for k, county in enumerate(town.counties, start=1):
        with db.connect(county.path, read_only=True) as own:
            alone = profile.county_profile(own, as_of=parse_period("2026Q3").last_day)
        assert {row[0]: row[k] for row in rows[1:]} == {
            profile.labels()[key]: str(value) for key, value in zip(alone["key"], alone["value"])}
    exported = audit.read(action="export", path=tmp_path / "audit.sqlite")
    assert set(exported["target"]) == set(files) and set(exported["user_name"]) == {"city-leader"}


def test_choosing_a_county_makes_every_page_read_its_database(monkeypatch, city_manifest):
    app = launch(monkeypatch, city_manifest, CITY_LEADER, page="pages/overview.py", query={"county": "370303"})
    town = city.load(city_manifest)
    with db.connect(town.county("370303").path, read_only=True) as own:
        expected = overview.headline(own, "2026Q3").set_index("key")
    figures = {m.label: m.value for m in app.metric}
    assert figures["办结工单"] == f"{expected.loc['tickets', 'value']:,.0f} 单"
    assert any("张店区" in c.value and "车站街道" in c.value for c in app.caption)
    assert app.query_params["county"] == "370303"


def test_a_county_leader_in_a_city_sees_only_their_county(monkeypatch, city_manifest):
    app = launch(monkeypatch, city_manifest, ZHANGDIAN_LEADER, query={"county": "370321"})
    headline = app.dataframe[0].value
    assert list(headline.data["county_name"] if hasattr(headline, "data") else headline["county_name"]) == ["张店区"]
    ranking = app.dataframe[1].value
    assert set(ranking.data["county_name"] if hasattr(ranking, "data") else ranking["county_name"]) == {"张店区"}
    app.switch_page("pages/overview.py").run()
    box = app.selectbox(key="f_county")
    assert box.options == ["张店区"] and box.value == "370303"


def test_a_community_role_without_a_county_is_signed_out_in_a_city(monkeypatch, city_manifest):
    monkeypatch.setenv("GRIDGOV_CITY", str(city_manifest))
    app = AppTest.from_file(str(db.ROOT / "app.py"), default_timeout=90)
    user = access.User(name="sq", role="community_secretary", place="101")
    access.UserStore().add(user.name, user.role, place="101", identity="sq@test")
    app.session_state["user"] = user
    app.run()
    assert not app.exception, app.exception
    assert "user" not in app.session_state
    assert any("未指定所属县区" in w.value for w in [*app.warning, *app.info, *app.error])


def test_a_clerk_without_a_county_cannot_open_the_import_page_of_a_city(monkeypatch, city_manifest):
    clerk = access.User(name="clerk", role="clerk", display_name="录入员")
    app = launch(monkeypatch, city_manifest, clerk)
    app.switch_page("pages/data.py").run()
    assert [e.value for e in app.error] == ["无权查看:用户 clerk(数据录入员)未指定所属县区,在全市部署中不能导入或撤销导入:"
                                            "请系统管理员为其指定县区(python -m analytics users add … --county 县区代码)"]


def test_a_clerk_of_a_county_imports_into_that_county(monkeypatch, city_manifest):
    clerk = access.User(name="zd-clerk", role="clerk", county="370303", display_name="张店区录入员")
    app = launch(monkeypatch, city_manifest, clerk, page="pages/data.py")
    assert [t.label for t in app.tabs][:1] == ["导入数据"]
    assert app.selectbox(key="f_county").options == ["张店区"]
    # Its templates give 张店区's coordinates (tests/test_city.py checks the workbook itself).
    assert any("经纬度须在张店区辖区范围内" in m.value for m in app.markdown)


def test_a_county_file_of_an_earlier_release_is_upgraded_before_the_counties_are_set_side_by_side(
        monkeypatch, city_manifest, tmp_path):
    shutil.copytree(city_manifest.parent, tmp_path / "city")
    manifest = tmp_path / "city" / city_manifest.name
    zhangdian = next(c for c in city.load(manifest).counties if c.code == "370303").path
    latest = db.load_migrations()[-1].version
    with db.connect(zhangdian) as con:  # as release 008 left it
        con.execute("DROP TABLE flag_checks")
        con.execute("DELETE FROM schema_version WHERE version = ?", [latest])
    app = launch(monkeypatch, manifest, CITY_LEADER)
    assert list(app.dataframe[0].value["county_name"]) == ["桓台县", "张店区"]
    with db.connect(zhangdian, read_only=True) as con:
        assert db.schema_version(con) == latest
    assert len(list((zhangdian.parent / "backups").glob(f"*-schema-{latest:03d}.duckdb"))) == 1
