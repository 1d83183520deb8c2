"""Who is looking: the signed-in user of this session, signing in and out, the session's end,
the demo accounts, the audit of what the user does, and the page to return to after signing in."""

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

from analytics import access, audit
from analytics.period import Area, Scope
from pages._database import TTL, county_hierarchy, cursor, database_path, is_demo, the_city, version
from pages._format import plain


def current_user() -> access.User | None:
    return st.session_state.get("user")

def signed_in() -> access.User:
    """The signed-in user; no figure is computed for nobody (fail closed, whatever a page does)."""
    user = current_user()
    if user is None:
        raise PermissionError("请先登录")
    return user

def allowed(permission: str) -> bool:
    user = current_user()
    return user is not None and user.can(permission)

def may_see(metric_id: str) -> bool:
    """Whether the signed-in user may receive the metric's rows (access.METRIC_PERMISSIONS)."""
    user = current_user()
    return user is not None and access.may_see(user, metric_id)

def demo_accounts_open() -> bool:
    """One-click demo accounts: on the demo county, before any real user exists, unless switched off."""
    return (database_path().exists() and is_demo() and not access.UserStore().all()
            and os.environ.get("GRIDGOV_DEMO_ACCOUNTS", "1").strip() not in ("0", "false", "no"))

def demo_accounts() -> list[access.User]:
    """The demo accounts; in a city, each held to the first county but the county-level ones, which see
    the whole city (the clerk too is held: an import goes to one county), and a county leader of the
    last county besides."""
    accounts = access.demo_users(cursor())
    town = the_city()
    if town is None:
        return accounts
    first, last = town.counties[0], town.counties[-1]
    held = [u if u.role_info.level == "county" and not u.can("import") else replace(u, county=first.code)
            for u in accounts]
    if len(town.counties) > 1:
        held.append(access.User(name=f"demo-county_leader-{last.code}", role="county_leader", county=last.code,
                                display_name=f"演示{last.name}领导", demo=True))
    return held

@st.cache_resource(show_spinner=False)
def _announce_first_run(users_path: str) -> None:
    print(access.first_run_hint(Path(users_path)), flush=True)

def announce_first_run() -> None:
    """While there is no user, say on the console of whoever started the server how to create one (once)."""
    store = access.UserStore()
    if not store.all():
        _announce_first_run(str(store.path))

COOKIE = "gridgov_session"

@st.cache_resource(show_spinner=False)
def _sessions() -> access.Sessions:
    return access.Sessions()

def sign_in(user: access.User, how: str) -> None:
    st.session_state["user"] = replace(user, password_hash="")  # a session holds no hash
    st.session_state["last_seen"] = dt.datetime.now()
    st.session_state["session_token"] = st.session_state["_cookie"] = _sessions().open(user)
    audit.record("login", user.name, detail=how)
    st.rerun()

def sign_out(action: str = "logout", notice: str | None = None) -> None:
    user = st.session_state.pop("user", None)
    if st.session_state.pop("session_token", None) is not None:
        st.session_state["_cookie"] = ""
    if user is not None:
        _sessions().close_user(user.name)  # every tab and browser of the user
        audit.record(action, user.name)
    if notice:
        st.session_state["login_notice"] = notice
    if access.auth_mode() == "oidc" and st.user.is_logged_in:
        st.logout()  # else the provider's cookie would sign the person straight back in

def record(action: str, target: str = "", detail: str = "", ok: bool = True) -> None:
    user = current_user()
    audit.record(action, user.name if user else None, target, detail, ok)

def remember_requested_page() -> None:
    """The page in the address, to open once the frame has run and the user has signed in."""
    st.session_state.setdefault("_return_to", urlparse(st.context.url or "").path.rstrip("/").rpartition("/")[2])


@st.cache_data(ttl=TTL, show_spinner=False)
def _area(key, scope: Scope) -> Area:
    return scope.within(county_hierarchy().itertuples(index=False))


def places(user: access.User) -> Area:
    """The places the user is held to, resolved once per file version."""
    return user.area or _area(version(), user.scope)


def still_signed_in() -> access.User | None:
    """The signed-in user, unless the session has timed out or the account was disabled or removed
    since; then the user is signed out and the login page says why."""
    user = current_user() or _resumed()
    if user is None:
        return None
    if access.session_expired(st.session_state.get("last_seen")):
        sign_out("timeout", f"超过 {access.session_minutes()} 分钟未操作,已自动退出,请重新登录。")
        return None
    token = st.session_state.get("session_token")
    if token is not None and _sessions().resume(token) is None:
        sign_out("logout", "已在其他窗口退出登录,或会话已结束,请重新登录。")
        return None
    if user.demo and not demo_accounts_open():
        sign_out("logout", "演示账号已停用(已导入本县数据或已创建正式用户),请用正式账号登录。")
        return None
    if not user.demo:
        stored = access.UserStore().get(user.name)
        if stored is None or stored.disabled:
            sign_out("logout", "账号已被停用或删除,请联系系统管理员。")
            return None
        # A changed role or place applies at once.
        user = replace(stored, password_hash="")
    town = the_city()
    if town is not None:
        try:
            access.counties(user, town)  # a role held below the county must name its county
        except access.Denied as exc:
            sign_out("logout", f"{exc}。请联系系统管理员。")
            return None
    # The user's places, resolved once per file version: narrowing a figure to them then asks nothing.
    # (Before the demo county is first built there is nothing to resolve yet.)
    area = places(replace(user, area=None)) if database_path().exists() else None
    st.session_state["user"] = user = replace(user, area=area)
    st.session_state["last_seen"] = dt.datetime.now()
    return user

def _resumed() -> access.User | None:
    """The user of the browser's session token (a reload, a second tab), if it is still live."""
    token = st.context.cookies.get(COOKIE)
    user = _sessions().resume(token)
    if user is not None:
        st.session_state.update(user=user, session_token=token, last_seen=dt.datetime.now())
    return user

def keep_cookie() -> None:
    """Hand the browser its session token after signing in, or take it back after signing out. The token
    lives in a cookie, never in the address, so a copied link carries no session."""
    token = st.session_state.pop("_cookie", None)
    if token is None:
        return
    secure = "; Secure" if (st.context.url or "").startswith("https:") else ""
    age = 0 if not token else 12 * 3600  # the server's idle timeout ends it sooner
    st.html(f'<script>document.cookie = "{COOKIE}={token}; path=/; max-age={age}; SameSite=Strict{secure}";</script>',
            unsafe_allow_javascript=True, width="content")

def return_to_requested_page(pages) -> None:
    """The second half of current_filters(): once the frame has run, open the page first asked for."""
    wanted = st.session_state.pop("_return_to", None)
    for page in pages:
        if wanted and page.url_path == wanted:
            st.switch_page(page, query_params=st.query_params.to_dict())

def user_box(user: access.User) -> None:
    with st.sidebar:
        if user.can("figures"):
            st.divider()  # below the filter bar
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f":material/person: {plain(user.label)}" + (" · 演示账号" if user.demo else ""), width="stretch")
            if st.button("退出", icon=":material/logout:", key="sign_out"):
                sign_out()
                st.rerun()


def still_enabled(name: str) -> bool:
    stored = access.UserStore().get(name)
    return stored is not None and not stored.disabled
