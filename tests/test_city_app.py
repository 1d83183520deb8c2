"""The dashboard in city mode (GRIDGOV_CITY): the 县区 filter, the 县区对比 page, county-scoped roles."""

from streamlit.testing.v1 import AppTest

from analytics import access, city, db, overview

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


def test_a_city_leader_sees_every_county_side_by_side(monkeypatch, city_manifest):
    app = launch(monkeypatch, city_manifest, CITY_LEADER)
    assert app.selectbox(key="f_county").options == ["桓台县", "张店区"]
    headline = app.dataframe[0].value
    assert list(headline.data["county_name"] if hasattr(headline, "data") else headline["county_name"]) == ["桓台县", "张店区"]


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
    box = app.selectbox(key="f_county")
    assert box.options == ["张店区"] and box.value == "370303"
    headline = app.dataframe[0].value
    assert list(headline.data["county_name"] if hasattr(headline, "data") else headline["county_name"]) == ["张店区"]
    ranking = app.dataframe[1].value
    assert set(ranking["county_name"]) == {"张店区"}


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
