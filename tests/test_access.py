"""Roles held to their part of the county, the users file, sessions and the audit log, on the
hand-built county of test_credit (plus a second subdistrict) and the small demo county."""

import datetime as dt
import json
import stat
from dataclasses import replace

import pytest

from analytics import access, audit, db, metrics, review, summary
from analytics.period import COUNTY, Scope
from tests.test_credit import SETUP as CREDIT_SETUP

# test_credit's county: S1 holds C1 (G1-G4) and C2 (G5, G6). Added here: S2 with C3 and G7, whose one
# resident P11 scores 4 in 2026Q3, so that a whole-county ranking has a grid outside S1.
EXTRA = """
    INSERT INTO subdistricts (subdistrict_id, name) VALUES ('S2', '索镇街道');
    INSERT INTO communities (community_id, subdistrict_id, name) VALUES ('C3', 'S2', '兴旺社区');
    INSERT INTO grids (grid_id, community_id, name) VALUES ('G7', 'C3', '七');
    INSERT INTO people (person_id, grid_id, name, is_party_member) VALUES ('P11', 'G7', '冯十一', false);
    INSERT INTO credit_events (event_id, subject_type, subject_id, indicator_code, points, occurred_at, recorded_at, recorded_by)
        VALUES (30, 'person', 'P11', 'VOL', 4, '2026-08-08 10:00', '2026-08-08 11:00', 'P1');
"""


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = db.connect(tmp_path_factory.mktemp("access") / "a.duckdb")
    db.migrate(connection)
    connection.execute(CREDIT_SETUP)
    connection.execute(EXTRA)
    summary.refresh(connection)
    yield connection
    connection.close()


def user(role: str, place: str = "", **kw) -> access.User:
    return access.User(name=f"u-{role}", role=role, place=place, **kw)


S, C, G = (lambda *i: Scope(subdistricts=i)), (lambda *i: Scope(communities=i)), (lambda *i: Scope(grids=i))
DENIED = access.Denied


@pytest.mark.parametrize("role, place, requested, expected", [
    ("county_leader", "", COUNTY, COUNTY),
    ("county_leader", "", C("C2"), C("C2")),
    ("analyst", "", S("S2"), S("S2")),
    ("clerk", "", G("G5"), G("G5")),
    ("admin", "", COUNTY, DENIED),                       # users and the audit log, no figures
    ("subdistrict_leader", "S1", COUNTY, S("S1")),       # the whole county narrows to the own subdistrict
    ("subdistrict_leader", "S1", S("S1"), S("S1")),
    ("subdistrict_leader", "S1", C("C2"), C("C2")),      # a part of it stays as asked
    ("subdistrict_leader", "S1", G("G1", "G5"), G("G1", "G5")),
    ("subdistrict_leader", "S1", S("S2"), DENIED),
    ("subdistrict_leader", "S1", C("C3"), DENIED),
    ("subdistrict_leader", "S1", G("G1", "G7"), DENIED),  # one grid outside is enough to refuse
    ("community_secretary", "C1", COUNTY, C("C1")),
    ("community_secretary", "C1", C("C1"), C("C1")),
    ("community_secretary", "C1", G("G3"), G("G3")),
    ("community_secretary", "C1", G("G1", "G4"), G("G1", "G4")),
    ("community_secretary", "C1", S("S1"), DENIED),       # S1 also holds C2
    ("community_secretary", "C1", C("C2"), DENIED),
    ("community_secretary", "C1", G("G5"), DENIED),
    ("community_secretary", "C1", C("C9"), ValueError),   # an unknown id is an error, not a narrowing
    ("grid_worker", "G2", COUNTY, G("G2")),
    ("grid_worker", "G2", G("G2"), G("G2")),
    ("grid_worker", "G2", C("C1"), DENIED),
    ("grid_worker", "G2", G("G1"), DENIED),
])
def test_effective_scope_by_role(con, role, place, requested, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            access.effective_scope(user(role, place), requested, con)
    else:  # resolved once: the grids the scope covers, with its name
        assert access.effective_scope(user(role, place), requested, con) == expected.resolve(con)


def test_no_user_is_the_operator_and_a_disabled_user_sees_nothing(con):
    assert access.effective_scope(None, C("C2"), con) == C("C2").resolve(con)
    with pytest.raises(DENIED):
        access.effective_scope(user("county_leader", disabled=True), COUNTY, con)


@pytest.mark.parametrize("role, expected", [
    # 2026Q3 ranking of the county: G1, G2, G3 in C1; G5, G6 in C2; G7 in C3 (G4 has no residents).
    ("county_leader", {"G1", "G2", "G3", "G5", "G6", "G7"}),
    ("subdistrict_leader", {"G1", "G2", "G3", "G5", "G6"}),
    ("community_secretary", {"G1", "G2", "G3"}),
    ("grid_worker", {"G2"}),
    ("clerk", {"G1", "G2", "G3", "G5", "G6", "G7"}),
])
def test_ranking_holds_only_the_users_grids(con, role, expected):
    place = {"subdistrict_leader": "S1", "community_secretary": "C1", "grid_worker": "G2"}.get(role, "")
    ranking = metrics.get("grid-credit-ranking").compute(con, "2026Q3", COUNTY, user=user(role, place))
    assert set(ranking["grid_id"]) == expected


def test_a_secretary_keeps_the_county_ranks_of_their_grids(con):
    ranking = metrics.get("grid-credit-ranking").compute(con, "2026Q3", user=user("community_secretary", "C1"))
    # test_credit's EXPECTED_Q3: G1 and G2 tie at 2.5 for rank 1, G3 is third with 2.0.
    assert sorted(zip(ranking["grid_id"], ranking["avg_credit"], ranking["rank"])) == [
        ("G1", 2.5, 1), ("G2", 2.5, 1), ("G3", 2.0, 3)]


@pytest.mark.parametrize("role, place, metric_id, grid, error", [
    ("clerk", "", "monthly-publication", None, DENIED),
    ("clerk", "", "excellent-grid-workers", None, DENIED),
    ("clerk", "", "grid-ledger", "G2", DENIED),
    ("admin", "", "grid-credit-ranking", None, DENIED),
    ("grid_worker", "G2", "grid-ledger", "G5", DENIED),
    ("grid_worker", "G2", "grid-ledger", "G1", DENIED),
    ("community_secretary", "C1", "grid-ledger", "G6", DENIED),
    ("community_secretary", "C1", "grid-ledger", "G9", ValueError),
])
def test_what_a_role_may_not_compute(con, role, place, metric_id, grid, error):
    period = "2026-09" if metric_id == "monthly-publication" else "2026Q3"
    with pytest.raises(error):
        metrics.get(metric_id).compute(con, period, COUNTY, grid_id=grid, user=user(role, place))


def test_a_grid_worker_reads_the_own_grids_ledger_masked(con):
    ledger = metrics.get("grid-ledger").compute(con, "2026Q3", grid_id="G2", user=user("grid_worker", "G2"))
    # G2's residents P3-P6 in 2026Q3: events 12, 13, 14 and the reversal 15.
    assert sorted(ledger["event_id"]) == [12, 13, 14, 15]
    assert set(ledger["name"]) == {"王*", "赵*", "孙*"}


@pytest.fixture(scope="module")
def small_con(small_path):
    connection = db.connect(small_path, read_only=True)
    yield connection
    connection.close()


def test_the_review_of_a_clerk_has_figures_but_no_workers(small_con):
    leader = review.quarter_review(small_con, "2026Q3", user=user("county_leader"))
    clerk = review.quarter_review(small_con, "2026Q3", user=user("clerk"))
    assert len(leader.tables["workers"]) > 0
    assert clerk.tables["workers"].empty
    assert list(clerk.tables["workers"].columns) == list(leader.tables["workers"].columns)
    assert clerk.tables["ranking"]["grid_id"].tolist() == leader.tables["ranking"]["grid_id"].tolist()
    with pytest.raises(DENIED):
        review.quarter_review(small_con, "2026Q3", user=user("admin"))


def test_the_review_of_a_secretary_is_their_community(small_con):
    rv = review.quarter_review(small_con, "2026Q3", user=user("community_secretary", "201"))
    assert rv.scope == C("201").resolve(small_con)
    assert set(rv.tables["ranking"]["community_id"]) == {"201"}
    assert set(rv.tables["workers"]["community_name"]) == {"东岳国际社区"}
    lists = review.monthly_lists(small_con, "2026-09", user=user("community_secretary", "201"))
    assert set(lists["publication"]["community_name"]) == {"东岳国际社区"}


# --- the users file ------------------------------------------------------------------------------

PASSWORD = "correct horse 9"


@pytest.fixture
def store(tmp_path):
    users = access.UserStore(tmp_path / "conf" / "users.json")
    users.add("leader", "county_leader", PASSWORD, display_name="李县长")
    users.add("sec", "community_secretary", "another pass 8", place="C1")
    users.add("gone", "analyst", PASSWORD)
    users.disable("gone")
    return users


def test_the_file_holds_bcrypt_hashes_never_a_password(store):
    text = store.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "another pass 8" not in text
    rows = json.loads(text)["users"]
    assert [r["name"] for r in rows] == ["leader", "sec", "gone"]
    assert all(r["password_hash"].startswith("$2b$") for r in rows)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert "$2b$" not in repr(store.get("leader"))


@pytest.mark.parametrize("name, password, expected", [
    ("leader", PASSWORD, "leader"),
    ("leader", PASSWORD + " ", None),
    ("leader", "", None),
    ("sec", PASSWORD, None),          # another user's password
    ("sec", "another pass 8", "sec"),
    ("gone", PASSWORD, None),         # disabled
    ("nobody", PASSWORD, None),
    ("LEADER", PASSWORD, None),       # names are exact
])
def test_authenticate(store, name, password, expected):
    found = store.authenticate(name, password)
    assert (found.name if found else None) == expected


@pytest.mark.parametrize("name, role, password, place, message", [
    ("leader", "analyst", PASSWORD, "", "已存在"),
    ("new", "mayor", PASSWORD, "", "未知的角色"),
    ("new", "community_secretary", PASSWORD, "", "需要用 --place 指定所属社区编号"),
    ("new", "grid_worker", PASSWORD, "", "需要用 --place 指定所属网格编号"),
    ("new", "analyst", "short", "", "至少 8 个字符"),
    ("new", "analyst", "长" * 25, "", "72 字节"),
    ("new", "analyst", "", "", "请设置密码"),
    ("x", "analyst", PASSWORD, "", "用户名"),
    ("王书记", "analyst", PASSWORD, "", "用户名"),
    ("a b", "analyst", PASSWORD, "", "用户名"),
])
def test_bad_users_are_refused_and_the_file_is_unchanged(store, name, role, password, place, message):
    before = store.path.read_bytes()
    with pytest.raises(ValueError, match=message):
        store.add(name, role, password, place=place)
    assert store.path.read_bytes() == before


def test_a_place_is_checked_against_the_database(tmp_path, con):
    users = access.UserStore(tmp_path / "users.json")
    with pytest.raises(ValueError, match="数据库中没有社区编号 C9"):
        users.add("sec", "community_secretary", PASSWORD, place="C9", con=con)
    users.add("sec", "community_secretary", PASSWORD, place="C1", con=con)
    # A county role keeps no place even if one was given.
    assert users.add("ana", "analyst", PASSWORD, place="C1", con=con).place == ""


def test_password_change_disable_enable_lookup_and_identity(store):
    store.set_password("leader", "a new one 77")
    assert store.authenticate("leader", PASSWORD) is None
    assert store.authenticate("leader", "a new one 77").name == "leader"
    assert store.lookup("sec").place == "C1"
    with pytest.raises(DENIED, match="已停用"):
        store.lookup("gone")
    with pytest.raises(ValueError, match="没有用户 nobody"):
        store.lookup("nobody")
    store.enable("gone")
    assert store.authenticate("gone", PASSWORD).name == "gone"
    oidc = store.add("oidc", "analyst", identity="Wang@Example.cn")
    assert oidc.password_hash == "" and store.authenticate("oidc", "") is None
    assert store.identity_user("wang@example.cn").name == "oidc"
    store.disable("oidc")
    assert store.identity_user("wang@example.cn") is None


def test_a_damaged_users_file_is_an_error_in_chinese(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="已损坏"):
        access.UserStore(path).all()


# --- sessions --------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 9, 1, 12, 0, 0)


@pytest.mark.parametrize("minutes, last_seen, expected", [
    ("30", None, False),
    ("30", NOW, False),
    ("30", NOW - dt.timedelta(minutes=29, seconds=59), False),
    ("30", NOW - dt.timedelta(minutes=30), False),           # exactly the limit: still signed in
    ("30", NOW - dt.timedelta(minutes=30, seconds=1), True),
    ("5", NOW - dt.timedelta(minutes=5, seconds=1), True),
    ("5", NOW - dt.timedelta(minutes=4), False),
    ("120", NOW - dt.timedelta(minutes=119), False),
])
def test_session_expiry_boundaries(monkeypatch, minutes, last_seen, expected):
    monkeypatch.setenv("GRIDGOV_SESSION_MINUTES", minutes)
    assert access.session_expired(last_seen, NOW) is expected


# --- the audit log ---------------------------------------------------------------------------------

def test_audit_round_trip_newest_first_with_filters(tmp_path):
    path = tmp_path / "audit.sqlite"
    entries = [("login", "sec", "", "", True), ("login_failed", "sec", "", "密码错误", False),
               ("export", "sec", "grid-credit-ranking", "2026年第3季度 · 宝发社区", True),
               ("denied", "clerk", "monthly-publication", "无权查看", False), ("user_add", "命令行:root", "clerk", "", True)]
    for action, name, target, detail, ok in entries:
        audit.record(action, name, target, detail, ok, path=path)
    log = audit.read(path=path)
    assert list(log.columns) == ["id", "at", "user_name", "action", "action_label", "target", "detail", "ok"]
    assert list(zip(log["action"], log["user_name"], log["target"], log["detail"], log["ok"])) == [
        (a, n, t, d, o) for a, n, t, d, o in reversed(entries)]
    assert log["action_label"].tolist()[:2] == ["新增用户", "越权访问被拒"]
    assert audit.read(action="login", path=path)["user_name"].tolist() == ["sec"]
    assert audit.read(user="sec", path=path)["action"].tolist() == ["export", "login_failed", "login"]
    assert audit.read(user="sec", action="export", path=path)["target"].tolist() == ["grid-credit-ranking"]
    assert audit.read(limit=2, path=path)["action"].tolist() == ["user_add", "denied"]
    assert audit.read(user="nobody", path=path).empty


def test_audit_of_a_new_place_is_empty_and_unknown_actions_are_refused(tmp_path):
    path = tmp_path / "none" / "audit.sqlite"
    log = audit.read(path=path)
    assert log.empty and "action_label" in log.columns
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("peek", "sec", path=path)


def test_a_session_token_resumes_within_the_idle_timeout_and_not_after(monkeypatch):
    monkeypatch.setenv("GRIDGOV_SESSION_MINUTES", "30")
    sessions, t0 = access.Sessions(b"k" * 32), dt.datetime(2026, 12, 1, 9, 0)
    token = sessions.open(user("community_secretary", "101"), t0)
    assert sessions.resume(token, t0 + dt.timedelta(minutes=29)).name == "u-community_secretary"
    # each resumption restarts the idle clock
    assert sessions.resume(token, t0 + dt.timedelta(minutes=58)) is not None
    assert sessions.resume(token, t0 + dt.timedelta(minutes=89)) is None
    assert sessions.resume(token, t0 + dt.timedelta(minutes=90)) is None  # ended, not just late


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-1] + ("0" if token[-1] != "0" else "1"),  # signature changed
    lambda token: "x" + token,  # session id changed
    lambda token: token.partition(".")[0],  # unsigned
    lambda token: "",
])
def test_a_forged_token_resumes_nothing(tamper):
    sessions, t0 = access.Sessions(b"k" * 32), dt.datetime(2026, 12, 1, 9, 0)
    token = sessions.open(user("county_leader"), t0)
    assert sessions.resume(tamper(token), t0) is None
    assert sessions.resume(token, t0) is not None


def test_a_token_signed_by_another_server_resumes_nothing():
    t0 = dt.datetime(2026, 12, 1, 9, 0)
    token = access.Sessions(b"a" * 32).open(user("county_leader"), t0)
    assert access.Sessions(b"b" * 32).resume(token, t0) is None


def test_signing_out_ends_every_session_of_the_user_and_no_other():
    sessions, t0 = access.Sessions(b"k" * 32), dt.datetime(2026, 12, 1, 9, 0)
    first, second = sessions.open(user("county_leader"), t0), sessions.open(user("county_leader"), t0)
    other = sessions.open(replace(user("county_leader"), name="v"), t0)
    sessions.close_user("u-county_leader")
    assert [sessions.resume(t, t0) for t in (first, second)] == [None, None]
    assert sessions.resume(other, t0).name == "v"
    sessions.close(other)
    assert sessions.resume(other, t0) is None
