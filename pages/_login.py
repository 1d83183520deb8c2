"""The login screen, shown by the frame in place of any page while nobody is signed in."""

import streamlit as st

from analytics import access, audit
from pages._format import plain
from pages._database import is_demo, the_city
from pages._session import demo_accounts, demo_accounts_open, sign_in


def show() -> None:
    st.html("<style>[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl] {display: none;}</style>")
    demo = demo_accounts_open()
    # On the demo county the one-click accounts sit beside the form, in sight on a 1280×720 projector.
    _, middle, _ = st.columns([1, 5, 1] if demo else [1, 2, 1])
    with middle:
        st.title("网格治理驾驶舱")
        town = the_city()
        st.caption(f"{town.name + '各县区' if town else '桓台县'}城市社区党建引领网格化治理 · 请登录")
        if notice := st.session_state.pop("login_notice", None):
            st.warning(notice, icon=":material/schedule:")
        left, right = st.columns(2, gap="large") if demo else (st.container(), None)
    with left:
        sign_in_form()
    if right is not None:
        with right:
            demo_buttons()


def sign_in_form() -> None:
    store = access.UserStore()
    if access.auth_mode() == "oidc":
        if not st.user.is_logged_in:
            st.button("使用统一身份认证登录", on_click=st.login, type="primary", icon=":material/login:")
            return
        email, sub = st.user.get("email") or "", st.user.get("sub") or ""
        identity = email or sub
        # The provider's subject names a user; an e-mail address only if the provider has verified it.
        user = store.identity_user(sub) or (store.identity_user(email) if st.user.get("email_verified") is not False
                                            else None)
        if user is None:
            audit.record("login_failed", identity[:64], detail="统一身份认证:账号未开通", ok=False)
            st.error(f"统一身份认证账号 {plain(identity)} 尚未在本系统开通,请联系系统管理员。", icon=":material/block:")
            st.button("退出统一身份认证", on_click=st.logout)
        else:
            sign_in(user, "统一身份认证")
        return
    with st.form("login", enter_to_submit=True, border=True):
        st.text_input("用户名", autocomplete="username", key="login_name")
        st.text_input("密码", type="password", autocomplete="current-password", key="login_password")
        st.form_submit_button("登录", type="primary", icon=":material/login:", width="stretch", on_click=_attempt,
                              args=(store,))
    outcome = st.session_state.pop("login_outcome", None)
    if isinstance(outcome, access.User):
        sign_in(outcome, "密码")
    elif outcome:
        st.error(outcome, icon=":material/error:")
    if not store.all() and not is_demo():
        st.info("本系统还没有用户。请系统管理员在服务器上创建第一个管理员账号:", icon=":material/person_add:")
        st.code(f"python -m analytics users add admin --role admin --users {store.path}", language="bash")


def _attempt(store: access.UserStore) -> None:
    """The login form's submit: the password is taken out of the session at once, and a failure is
    logged under the name typed only if that is an existing user's (a password typed into the name
    field, or a mistyped name, is never stored)."""
    name, password = st.session_state["login_name"].strip(), st.session_state["login_password"]
    st.session_state["login_password"] = ""
    who = name if store.get(name) is not None else "(未知用户名)"
    failures = audit.read(limit=access.FAILED_LOGINS, action="login_failed", user=who)["at"].tolist()
    if access.locked_out(failures):
        audit.record("login_failed", who, detail="尝试过于频繁,已拒绝", ok=False)
        st.session_state["login_outcome"] = f"该账号连续登录失败,请 {access.LOCKOUT_MINUTES} 分钟后再试。"
        return
    user = store.authenticate(name, password)
    if user is None:
        audit.record("login_failed", who, detail="密码", ok=False)
        st.session_state["login_outcome"] = "用户名或密码错误,或账号已停用。"
    else:
        st.session_state["login_outcome"] = user


def demo_buttons() -> None:
    st.warning("**演示数据库**:数据为程序生成,人名均为虚构。下列演示账号无需密码,只在演示数据上提供,"
               "导入本县数据后不再出现。", icon=":material/science:")
    accounts = demo_accounts()
    for row in range(0, len(accounts), 2):
        for column, user in zip(st.columns(2), accounts[row:row + 2]):
            label = f"{user.role_info.label}({user.display_name.removeprefix('演示').removesuffix('领导')})" \
                if user.county and user.role_info.level == "county" else user.role_info.label
            if column.button(label, key=f"demo_{user.role}" if user.name == f"demo-{user.role}" else f"demo_{user.name}", width="stretch",
                             help=f"以{user.display_name}身份进入:{access.describe(user)}"):
                sign_in(user, "演示账号")
