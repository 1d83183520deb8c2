"""A city of counties: the demo builds two differently seeded counties and a manifest; each county's
figures in the city view equal the county's own; rankings across counties follow the county's
definition; a county-scoped user sees only their county."""

import json

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics import access, audit, city, columns, credit, db, metrics, overview, profile, tickets, volunteers
from analytics.period import Scope, parse_period
from analytics.__main__ import main

PERIOD = "2026Q3"


@pytest.fixture(scope="module")
def town(city_manifest):
    return city.load(city_manifest)


@pytest.fixture(scope="module")
def con(town):
    con = city.attach(town)
    yield con
    con.close()


def test_the_demo_city_lists_two_named_counties_each_recording_its_code(town):
    assert [(c.code, c.name, c.path.name) for c in town.counties] == [
        ("370321", "桓台县", "370321.duckdb"), ("370303", "张店区", "370303.duckdb")]
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            assert city.identity(own) == (county.code, county.name)
            subdistricts = {r[0] for r in own.execute("SELECT subdistrict_id FROM subdistricts").fetchall()}
            assert {s[:6] for s in subdistricts} == {county.code}


def test_the_counties_are_differently_seeded_and_side_by_side(town):
    with db.connect(town.counties[0].path, read_only=True) as a, db.connect(town.counties[1].path, read_only=True) as b:
        assert a.execute("SELECT count(*) FROM tickets").fetchone() != b.execute("SELECT count(*) FROM tickets").fetchone()
        names_a = {r[0] for r in a.execute("SELECT name FROM communities").fetchall()}
        names_b = {r[0] for r in b.execute("SELECT name FROM communities").fetchall()}
        assert "东岳国际社区" in names_a and not names_a & names_b
        # Huantai's urban area ends west of 118.14 E; the second county lies wholly east of it.
        assert a.execute("SELECT max(lon) FROM buildings").fetchone()[0] < 118.14
        assert b.execute("SELECT min(lon) FROM buildings").fetchone()[0] > 118.14


def test_the_union_views_hold_every_countys_rows_under_its_code(town, con):
    got = dict(con.execute("SELECT county_code, count(*) FROM grids GROUP BY 1").fetchall())
    expected = {}
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            expected[county.code] = own.execute("SELECT count(*) FROM grids").fetchone()[0]
    assert got == expected


@pytest.mark.parametrize("function, kwargs", [
    (credit.grid_credit_ranking, {}),
    (tickets.ticket_resolution, {"by": "grid"}),
    (tickets.ticket_resolution, {"by": "county"}),
    (volunteers.volunteer_summary, {}),
    (overview.headline, {}),
], ids=["ranking", "resolution-grid", "resolution-county", "volunteers", "headline"])
def test_each_countys_figures_in_the_city_equal_its_own(town, con, function, kwargs):
    together = city.per_county(con, town, function, PERIOD, **kwargs)
    assert set(together["county_code"]) == {"370321", "370303"}
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            alone = function(own, PERIOD, **kwargs)
        rows = together[together["county_code"] == county.code]
        assert set(rows["county_name"]) == {county.name}
        mine = rows.drop(columns=city.COUNTY_COLUMNS)
        assert_frame_equal(mine.reset_index(drop=True), alone.reset_index(drop=True))


def test_every_city_figure_equals_each_countys_own_figures_value_by_value(town, con):
    """What the 县区对比 page shows, against each county's own database read alone: the headlines as its
    总览 computes them, its grids' rows of the city ranking as its own ranking, and each community of the
    city's community ranking as the county's 居民人均信用积分 of that community."""
    headlines = city.county_headlines(con, town, PERIOD).set_index("county_code")
    grids, communities = city.grid_ranking(con, town, PERIOD), city.community_ranking(con, town, PERIOD)
    compared = 0
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            alone = overview.headline(own, PERIOD).set_index("key")["value"]
            for key, value in alone.items():
                shown = headlines.loc[county.code, key]
                assert shown == value or (pd.isna(shown) and pd.isna(value)), (county.name, key)
            ranking = credit.grid_credit_ranking(own, PERIOD).sort_values("grid_id").reset_index(drop=True)
            mine = grids[grids["county_code"] == county.code].drop(columns=[*city.COUNTY_COLUMNS, "city_rank"])
            assert_frame_equal(mine.sort_values("grid_id").reset_index(drop=True), ranking)
            rows = communities[communities["county_code"] == county.code]
            assert len(rows) == own.execute("SELECT count(DISTINCT community_id) FROM grids").fetchone()[0]
            for row in rows.itertuples():
                summary = metrics.get("credit-summary").compute(own, PERIOD, Scope(communities=(row.community_id,)))
                assert (row.residents, row.points, row.avg_credit) == pytest.approx(tuple(summary.iloc[0]), rel=1e-12)
            compared += len(alone) + ranking.size + 3 * len(rows)
    assert compared > 1000


def test_the_grid_ranking_across_counties_holds_both_ordered_by_average_credit(town, con):
    ranking = city.grid_ranking(con, town, PERIOD)
    sizes = ranking.groupby("county_code").size().to_dict()
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            assert sizes[county.code] == len(credit.grid_credit_ranking(own, PERIOD))
    assert ranking["avg_credit"].is_monotonic_decreasing
    assert list(ranking["city_rank"]) == list(ranking["avg_credit"].round(9).rank(method="min", ascending=False))
    assert ranking["city_rank"].iat[0] == 1


# Two hand-built counties. A: grid a1 has 2 residents with 10 points (5/人), a2 1 resident with 5 (5/人).
# B: grid b1 1 resident with 8 points (8/人), b2 2 residents with 2 points (1/人). Across the city: b1
# first (8), a1 and a2 tied second (5), b2 fourth (1). Communities: B's (10/3) after A's (15/3 = 5).
HAND = {
    "370321": ("桓台县", {"a1": [5, 5], "a2": [5]}),
    "370303": ("张店区", {"b1": [8], "b2": [2, 0]}),
}
CITY_RANKS = [("370303", "b1", 8.0, 1), ("370321", "a1", 5.0, 2), ("370321", "a2", 5.0, 2), ("370303", "b2", 1.0, 4)]
COMMUNITY_RANKS = [("370321", 3, 15.0, 5.0, 1), ("370303", 3, 10.0, 10 / 3, 2)]


@pytest.fixture
def hand_city(tmp_path):
    counties = []
    for code, (name, grids) in HAND.items():
        path = tmp_path / f"{code}.duckdb"
        db.init_db(path)
        with db.connect(path) as c:
            c.execute("INSERT INTO subdistricts (subdistrict_id, name) VALUES (?, '街道')", [code + "001"])
            c.execute("INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('101', ?, '社区')", [code + "001"])
            event = 0
            for grid, points in grids.items():
                c.execute("INSERT INTO grids (grid_id, community_id, name) VALUES (?, '101', ?)", [grid, grid])
                for k, p in enumerate(points):
                    person = f"{grid}-P{k}"
                    c.execute("INSERT INTO people (person_id, grid_id, name) VALUES (?, ?, '甲')", [person, grid])
                    event += 1
                    c.execute("INSERT INTO credit_events (event_id, subject_type, subject_id, points, occurred_at) "
                              "VALUES (?, 'person', ?, ?, '2026-08-01 09:00')", [event, person, p])
            c.execute("INSERT INTO meta VALUES ('as_of', '2026-09-30'), ('county_code', ?), ('county_name', ?)", [code, name])
        counties.append({"code": code, "name": name, "db": path.name})
    manifest = tmp_path / "city.json"
    manifest.write_text(json.dumps({"code": "370300", "name": "淄博市", "counties": counties}, ensure_ascii=False))
    town = city.load(manifest)
    con = city.attach(town)
    yield town, con
    con.close()


def test_the_city_grid_ranking_by_hand(hand_city):
    town, con = hand_city
    ranking = city.grid_ranking(con, town, PERIOD)
    assert [(r.county_code, r.grid_id, r.avg_credit, r.city_rank) for r in ranking.itertuples()] == CITY_RANKS


def test_the_city_community_ranking_by_hand(hand_city):
    town, con = hand_city
    ranking = city.community_ranking(con, town, PERIOD)
    got = [(r.county_code, r.residents, r.points, r.avg_credit, r.city_rank) for r in ranking.itertuples()]
    assert got == [pytest.approx(row) for row in COMMUNITY_RANKS]


def test_a_county_scoped_user_sees_only_their_county(hand_city):
    town, con = hand_city
    leader = access.User("zd", "county_leader", county="370303")
    assert [c.code for c in access.counties(leader, town)] == ["370303"]
    _, ranking = city.metric(con, town, "city-grid-ranking", PERIOD, user=leader)
    assert set(ranking["county_code"]) == {"370303"}
    _, rows = city.metric(con, town, "grid-credit-ranking", PERIOD, user=leader)
    assert set(rows["county_code"]) == {"370303"} and set(rows["grid_id"]) == {"b1", "b2"}
    with pytest.raises(access.Denied):
        city.metric(con, town, "grid-credit-ranking", PERIOD, user=leader, county="370321")


def test_a_community_secretary_in_a_city_sees_their_community_of_their_county_only(hand_city):
    town, con = hand_city
    secretary = access.User("sq", "community_secretary", place="101", county="370321")
    _, rows = city.metric(con, town, "grid-credit-ranking", PERIOD, user=secretary)
    assert set(zip(rows["county_code"], rows["grid_id"])) == {("370321", "a1"), ("370321", "a2")}
    # The same community id exists in both counties: without a county the role sees nothing.
    with pytest.raises(access.Denied):
        access.counties(access.User("x", "community_secretary", place="101"), town)


def test_a_county_level_role_without_a_county_sees_the_whole_city(hand_city):
    town, con = hand_city
    _, rows = city.metric(con, town, "city-grid-ranking", PERIOD, user=access.User("sz", "county_leader"))
    assert set(rows["county_code"]) == {"370321", "370303"}


@pytest.mark.parametrize("manifest, message", [
    ({"counties": []}, "须列出 counties"),
    ({"counties": [{"code": "3703", "name": "x", "db": "370321.duckdb"}]}, "6 位行政区划代码"),
    ({"counties": [{"code": "370321", "name": "桓台县", "db": "missing.duckdb"}]}, "数据库文件不存在"),
    ({"counties": [{"code": "370321", "name": "桓台县", "db": "370321.duckdb"},
                   {"code": "370321", "name": "桓台县", "db": "370321.duckdb"}]}, "出现了不止一次"),
])
def test_a_bad_manifest_is_refused_in_chinese(hand_city, tmp_path, manifest, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        city.load(path)


def test_a_database_recording_another_county_is_refused(hand_city, tmp_path):
    path = tmp_path / "swapped.json"
    path.write_text(json.dumps({"counties": [{"code": "370321", "name": "桓台县", "db": "370303.duckdb"}]}))
    with pytest.raises(ValueError, match="370303.*不符"):
        city.attach(city.load(path))


def test_the_city_command_writes_a_ranking_on_a_county_leaders_behalf(hand_city, tmp_path, capsys):
    town, _ = hand_city
    manifest = tmp_path / "city.json"
    access.UserStore(tmp_path / "users.json").add("zd", "county_leader", "secret-123", county="370303")
    assert main(["city", "metric", "city-grid-ranking", "--city", str(manifest), "--period", PERIOD,
                 "--user", "zd", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["county_code"], r["grid_id"], r["city_rank"]) for r in rows] == [("370303", "b1", 1), ("370303", "b2", 2)]
    assert main(["city", "metric", "city-grid-ranking", "--city", str(manifest), "--period", PERIOD,
                 "--user", "zd", "--county", "370321"]) == 3


def test_init_records_which_county_a_file_holds(tmp_path):
    path = tmp_path / "g.duckdb"
    assert main(["init", "--db", str(path), "--county-code", "370303", "--county-name", "张店区"]) == 0
    with db.connect(path, read_only=True) as con:
        assert city.identity(con) == ("370303", "张店区")
    assert main(["init", "--db", str(path), "--county-code", "3703", "--county-name", "张店区"]) == 2
    assert main(["init", "--db", str(path), "--county-code", "370303"]) == 2


def test_profiles_side_by_side_are_each_countys_own(town, con):
    wide = city.county_profiles(con, town, PERIOD).set_index("county_code")
    for county in town.counties:
        with db.connect(county.path, read_only=True) as own:
            alone = profile.county_profile(own, as_of=parse_period(PERIOD).last_day)
        assert {k: wide.loc[county.code, k] for k in alone["key"]} == dict(zip(alone["key"], alone["value"]))


def test_a_side_by_side_table_turns_to_a_row_per_figure_and_a_column_per_county():
    wide = pd.DataFrame({"county_code": ["370321", "370303"], "county_name": ["桓台县", "张店区"],
                         "communities": [15, 12], "grid_branches": [140, 98]})
    turned = city.by_figure(wide, {"grid_branches": "网格党支部(个)", "communities": "社区(个)"})
    assert turned.to_dict("list") == {"figure": ["网格党支部(个)", "社区(个)"], "370321": [140, 15], "370303": [98, 12]}


# Coordinates are checked against the outline of the county the database records (meta county_code, or
# the outline the demo recorded for a generated county): Huantai's spans 117.822–118.192 E (widened by
# 0.01°), the generated 张店区's is Huantai's moved 0.1° east, 117.922–118.292 E. 118.25 E lies in 张店区's
# urban area only; 117.85 E in Huantai's west only.
@pytest.mark.parametrize("code, lon, refused", [
    ("370303", 118.25, None),
    ("370303", 117.85, "经度不在张店区范围内(应在 117.922–118.292 之间)"),
    ("370321", 117.85, None),
    ("370321", 118.25, "经度不在桓台县范围内(应在 117.822–118.192 之间)"),
], ids=["generated-inside", "generated-outside", "huantai-inside", "huantai-outside"])
def test_an_import_into_a_county_checks_coordinates_against_its_own_outline(town, tmp_path, code, lon, refused):
    from analytics import ingest

    path = tmp_path / f"{code}.duckdb"
    path.write_bytes(town.county(code).path.read_bytes())
    with db.connect(path, read_only=True) as own:
        grid = own.execute("SELECT min(grid_id) FROM grids").fetchone()[0]
    file = tmp_path / "buildings.csv"
    file.write_text(f"楼栋编号,所在网格,楼栋名称,纬度,经度,户数,单元数\nNEW-B1,{grid},新楼1号楼,36.96,{lon},10,2\n",
                    encoding="utf-8")
    result = ingest.import_file(file, path, table="buildings")
    with db.connect(path, read_only=True) as own:
        stored = own.execute("SELECT lon FROM buildings WHERE building_id = 'NEW-B1'").fetchall()
    if refused is None:
        assert (result.status, stored) == ("imported", [(lon,)])
    else:
        assert (result.status, stored, list(result.problems["问题"])) == ("rejected", [], [refused])


# The template states the range the import will check (above): 张店区's longitudes 117.922–118.292, its
# latitudes Huantai's 36.851–37.115; its examples are Huantai's (社区 36.95 N 118.09 E, 工单 36.952 N
# 118.092 E) moved 0.1° east as the county is. A county whose outline is nowhere has no range, no example
# coordinates, and the note says where the outline goes.
ZIBO = "张店区辖区范围(边界四周外扩约 1 公里)"
HUANTAI = "桓台县辖区范围(边界四周外扩约 1 公里)"
NOWHERE = ("没有县区 370305 的边界,无法核对经纬度:请把该县区的边界(GeoJSON)放在 {} 下,文件名以 "
           "_370305.geojson 结尾")


@pytest.mark.parametrize("code, guide, examples", [
    ("370303", [("社区", "纬度", "36.851–37.115", ZIBO), ("社区", "经度", "117.922–118.292", ZIBO),
                ("工单", "问题地点纬度", "36.851–37.115", ZIBO), ("工单", "问题地点经度", "117.922–118.292", ZIBO)],
     [(36.95, 118.19), (36.952, 118.192)]),
    ("370321", [("社区", "纬度", "36.851–37.115", HUANTAI), ("社区", "经度", "117.822–118.192", HUANTAI),
                ("工单", "问题地点纬度", "36.851–37.115", HUANTAI), ("工单", "问题地点经度", "117.822–118.192", HUANTAI)],
     [(36.95, 118.09), (36.952, 118.092)]),
    ("370305", [("社区", "纬度", None, NOWHERE), ("社区", "经度", None, NOWHERE),
                ("工单", "问题地点纬度", None, NOWHERE), ("工单", "问题地点经度", None, NOWHERE)],
     [(None, None), (None, None)]),
], ids=["generated", "huantai", "no-outline"])
def test_the_import_template_states_the_coordinates_of_the_county_imported_into(town, tiny, tmp_path, capsys, code,
                                                                                guide, examples):
    import openpyxl

    from analytics.geo import GEO_DIR

    if code == "370305":
        path = tiny
        with db.connect(path) as own:
            own.execute("INSERT INTO meta VALUES ('county_code', '370305'), ('county_name', '临淄区')")
        guide = [(*row[:3], row[3].format(GEO_DIR)) for row in guide]
    else:
        path = town.county(code).path
    assert main(["template", "社区", "工单", "--db", str(path), "--out", str(tmp_path / "t.xlsx")]) == 0
    assert capsys.readouterr().out.startswith(f"{ {'370303': '张店区', '370321': '桓台县'}.get(code, '临淄区')}的导入模板")
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert [(r[1], r[2], r[6], r[7]) for r in book["允许取值"].iter_rows(min_row=2, values_only=True)
            if r[3] in ("lat", "lon")] == guide
    got = []
    for sheet in ("社区", "工单"):
        header, example = book[sheet].iter_rows(max_row=2, values_only=True)
        got.append(tuple(example[header.index(column)] for column in header if "纬度" in column or "经度" in column))
    assert got == examples


# The map draws the county's own outline: Huantai's (WGS-84) spans 117.832–118.182 E, the generated
# 张店区's the same moved 0.1° east; a county whose outline is nowhere gets none.
@pytest.mark.parametrize("code, west, east", [("370321", 117.832, 118.182), ("370303", 117.932, 118.282)])
def test_the_map_draws_each_countys_own_outline(town, code, west, east):
    from analytics import maps

    with db.connect(town.county(code).path, read_only=True) as own:
        points = [xy for ring in maps.county_outline(own) for xy in ring]
    assert (round(min(x for x, _ in points), 3), round(max(x for x, _ in points), 3)) == (west, east)


def test_a_county_without_a_known_outline_has_none_on_the_map(tiny):
    from analytics import maps

    with db.connect(tiny) as own:
        own.execute("INSERT INTO meta VALUES ('county_code', '370305')")
        assert maps.county_outline(own) == []


def test_an_import_into_a_county_without_a_known_outline_is_refused_in_chinese(tiny, tmp_path):
    from analytics import ingest

    with db.connect(tiny) as own:
        own.execute("INSERT INTO meta VALUES ('county_code', '370305'), ('county_name', '临淄区')")
    file = tmp_path / "buildings.csv"
    file.write_text("楼栋编号,所在网格,楼栋名称,纬度,经度\nNEW-B1,101-01,新楼1号楼,36.96,118.3\n", encoding="utf-8")
    result = ingest.import_file(file, tiny, table="buildings")
    assert result.status == "rejected"
    assert "没有县区 370305 的边界" in result.problems["问题"].iat[0]


# Who may import into which county's database: (user's role, user's county, the database's county, a city?)
# -> None when allowed, else the start of the refusal.
@pytest.mark.parametrize("role, held, code, in_city, refused", [
    ("clerk", "", "370321", False, None),                  # one county: a clerk of the county
    ("clerk", "", None, False, None),                      # a file that records no county yet
    ("clerk", "", "370321", True, "用户 u(数据录入员)未指定所属县区"),
    ("clerk", "370303", "370303", True, None),
    ("clerk", "370303", "370321", True, "用户 u 属于县区 370303,不能向县区 370321 的数据库导入"),
    ("clerk", "370303", None, False, "用户 u 属于县区 370303,不能向未登记县区的数据库导入"),
    ("county_leader", "370303", "370303", True, "用户 u(县级领导)无权"),
])
def test_an_import_goes_to_the_users_own_county_only(role, held, code, in_city, refused):
    user = access.User("u", role, county=held)
    if refused is None:
        access.require_import(user, code, in_city)
    else:
        with pytest.raises(access.Denied, match=refused.replace("(", r"\(").replace(")", r"\)")):
            access.require_import(user, code, in_city)
    access.require_import(None, code, in_city)  # the operator on the server imports anywhere


def _add_user(tmp_path, monkeypatch, *args) -> int:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("secret-123\n"))
    return main(["users", "add", *args, "--password-stdin", "--users", str(tmp_path / "users.json")])


# The hand-built city: grids a1, a2 in 桓台县 (370321), b1, b2 in 张店区 (370303). A place is checked in the
# database of the county given, found through the city's manifest (GRIDGOV_CITY) or --db.
@pytest.mark.parametrize("args, city_set, code, message", [
    (["--role", "grid_worker", "--place", "b1", "--county", "370303"], True, 0, "已创建用户"),
    (["--role", "grid_worker", "--place", "b1", "--county", "370321"], True, 2, "数据库中没有网格编号 b1"),
    (["--role", "grid_worker", "--place", "a1", "--county", "370399"], True, 2, "淄博市没有县区代码 370399"),
    (["--role", "county_leader", "--county", "370303"], True, 0, "已创建用户"),
    (["--role", "grid_worker", "--place", "b1", "--county", "370303", "--db", "370303.duckdb"], False, 0, "已创建用户"),
    (["--role", "grid_worker", "--place", "b1", "--county", "370303", "--db", "370321.duckdb"], False, 2,
     "记录的是县区 370321(桓台县),不是 --county 370303"),
    (["--role", "grid_worker", "--place", "b1", "--county", "370303", "--db", "missing.duckdb"], False, 2,
     "县区 370303 的数据库"),
], ids=["in-county", "other-county", "not-in-city", "county-role", "db-in-county", "db-of-other-county", "no-db"])
def test_users_add_checks_the_place_in_the_county_given(hand_city, tmp_path, monkeypatch, capsys, args, city_set,
                                                       code, message):
    args = [str(tmp_path / a) if a.endswith(".duckdb") else a for a in args]
    if city_set:
        monkeypatch.setenv("GRIDGOV_CITY", str(tmp_path / "city.json"))
    else:
        monkeypatch.delenv("GRIDGOV_CITY", raising=False)
    assert _add_user(tmp_path, monkeypatch, "u1", *args) == code
    out = capsys.readouterr()
    assert message in (out.out if code == 0 else out.err)
    assert [u.name for u in access.UserStore(tmp_path / "users.json").all()] == (["u1"] if code == 0 else [])


def test_a_clerk_imports_by_command_only_into_their_own_county(hand_city, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRIDGOV_CITY", str(tmp_path / "city.json"))
    store = access.UserStore(tmp_path / "users.json")
    store.add("zd-clerk", "clerk", "secret-123", county="370303")
    store.add("any-clerk", "clerk", "secret-123")
    file = tmp_path / "grids.csv"
    file.write_text("网格编号,所属社区,网格名称\nnew1,101,新网格\n", encoding="utf-8")

    def imported(user, code):
        status = main(["import", str(file), "--db", str(tmp_path / f"{code}.duckdb"), "--user", user,
                       "--users", str(store.path)])
        with db.connect(tmp_path / f"{code}.duckdb", read_only=True) as own:
            return status, own.execute("SELECT count(*) FROM grids WHERE grid_id = 'new1'").fetchone()[0]

    assert imported("zd-clerk", "370321") == (3, 0)
    assert imported("any-clerk", "370303") == (3, 0)
    assert "未指定所属县区" in capsys.readouterr().err
    assert imported("zd-clerk", "370303") == (0, 1)


CITY_FIGURES = {"county-headlines": city.county_headlines, "county-profiles": city.county_profiles,
                "city-grid-ranking": city.grid_ranking, "city-community-ranking": city.community_ranking}


def test_the_city_figures_are_in_the_metric_dictionary_and_the_command_lines_list(capsys):
    assert {m.id: m.function for m in metrics.CITY_REGISTRY} == CITY_FIGURES
    listed = metrics.dictionary("县区对比")
    assert list(listed["id"]) == list(CITY_FIGURES)
    assert main(["metric", "--list"]) == 0
    out = capsys.readouterr().out
    for m in metrics.CITY_REGISTRY:
        assert m.city and len(m.definition) > 30 and m.unit
        assert f"{m.id}" in out and m.name in out
        assert list(listed.loc[listed["id"] == m.id, "definition"]) == [m.definition]
        assert list(listed.loc[listed["id"] == m.id, "command"]) == [f"python -m analytics city metric {m.id} --period 2026Q3"]


def test_a_city_figure_asked_of_one_county_is_refused_in_chinese(town, capsys):
    assert main(["metric", "city-grid-ranking", "--period", PERIOD, "--db", str(town.counties[0].path)]) == 2
    assert "是全市指标,请用 python -m analytics city metric city-grid-ranking" in capsys.readouterr().err


@pytest.mark.parametrize("metric_id", list(CITY_FIGURES))
def test_every_city_figure_runs_its_registered_function_with_chinese_headers(town, con, metric_id):
    wanted, frame = city.metric(con, town, metric_id, PERIOD)
    assert_frame_equal(frame, CITY_FIGURES[metric_id](con, town, PERIOD))
    assert len(frame) > 0
    assert [c for c in frame.columns if columns.column(c, metric_id).header == c] == []


def test_in_a_city_the_command_line_keeps_users_and_audit_beside_the_manifest(hand_city, tmp_path, monkeypatch):
    """As the dashboard of the city does: whichever county's file --db names, the city's users file and
    audit log are those beside its manifest (here in a folder of its own, apart from the counties' files)."""
    import io
    import sys

    home = tmp_path / "city"
    home.mkdir()
    (home / "city.json").write_text(json.dumps({"code": "370300", "name": "淄博市", "counties": [
        {"code": c.code, "name": c.name, "db": f"../{c.path.name}"} for c in hand_city[0].counties]}), encoding="utf-8")
    for name in ("GRIDGOV_USERS", "GRIDGOV_AUDIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRIDGOV_CITY", str(home / "city.json"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("secret-123\n"))
    county_db = str(tmp_path / "370303.duckdb")
    assert main(["users", "add", "zd-clerk", "--role", "clerk", "--county", "370303", "--password-stdin",
                 "--db", county_db]) == 0
    assert [u.county for u in access.UserStore(home / "users.json").all()] == ["370303"]
    assert not (tmp_path / "users.json").exists()
    file = tmp_path / "grids.csv"
    file.write_text("网格编号,所属社区,网格名称\nnew1,101,新网格\n", encoding="utf-8")
    assert main(["import", str(file), "--db", county_db, "--user", "zd-clerk"]) == 0
    logged = audit.read(path=home / "audit.sqlite")
    assert list(logged["action"]) == ["import", "user_add"] and not (tmp_path / "audit.sqlite").exists()


# A road network at 118.26–118.27 E lies inside 张店区's outline (to 118.282 E, with 0.05° to spare) and
# beyond Huantai's (to 118.182 E + 0.05°).
@pytest.mark.parametrize("code, refused", [("370303", None), ("370321", "超出本县区边界(经度 117.832–118.182")])
def test_a_road_network_is_checked_against_the_countys_own_outline(town, tmp_path, code, refused):
    from analytics import roads

    path = tmp_path / f"{code}.duckdb"
    path.write_bytes(town.county(code).path.read_bytes())
    source = tmp_path / "roads.geojson"
    source.write_text(json.dumps({"type": "LineString", "coordinates": [[118.26, 36.95], [118.27, 36.95]]}),
                      encoding="utf-8")
    if refused is None:
        assert roads.import_roads(source, path).graph.number_of_edges() == 1
        assert roads.path_for(path).exists()
    else:
        with pytest.raises(ValueError, match=refused.replace("(", r"\(")):
            roads.import_roads(source, path)
        assert not roads.path_for(path).exists()
