import streamlit as st

from analytics import access, audit, export
from pages._database import cursor
from pages._session import current_user, record
from pages._filters import current_filters, hierarchy
from pages._widgets import exported, sections

current_filters()  # through the frame, even when this is a new server's first request
access.require(current_user(), "admin")
st.title("用户与审计")
store = access.UserStore()
st.caption(f"用户文件 {store.path} · 审计日志 {audit.default_path()} · 会话 {access.session_minutes()} 分钟无操作自动退出")
ROLE_LABELS = {r.id: r.label for r in access.ROLES.values()}
LEVEL_COLUMNS = {"subdistrict": ("subdistrict_id", "subdistrict"), "community": ("community_id", "community"),
                 "grid": ("grid_id", "grid")}


def places(level: str) -> dict[str, str]:
    if level == "county":
        return {}
    key, name = LEVEL_COLUMNS[level]
    tree = hierarchy()
    return dict(zip(tree[key], tree[name]))


def show_users() -> None:
    users = store.all()
    if not users:
        st.info("尚未创建任何用户。可在下方新增,或在服务器上用命令行创建(命令会提示输入密码,只保存其 bcrypt 摘要):",
                icon=":material/person_add:")
        st.code(f"python -m analytics users add admin --role admin --users {store.path}", language="bash")
    else:
        st.dataframe([{"用户名": u.name, "姓名或称呼": u.display_name, "角色": ROLE_LABELS[u.role],
                       "范围": places(u.role_info.level).get(u.place, u.place) or "全县", "统一身份账号": u.identity,
                       "状态": "停用" if u.disabled else "启用", "创建时间": u.created_at} for u in users],
                     hide_index=True, width="stretch")
    left, right = st.columns(2, gap="large")
    with left, st.form("add_user", clear_on_submit=True):
        st.markdown("**新增用户**")
        name = st.text_input("用户名(字母、数字、_ . - @)")
        display = st.text_input("姓名或称呼")
        role = st.selectbox("角色", list(ROLE_LABELS), format_func=ROLE_LABELS.get)
        options = {"": "(全县角色无需选择)"} | {k: f"{v}({k})" for level in ("subdistrict", "community", "grid")
                                              for k, v in places(level).items()}
        place = st.selectbox("所属街道、社区或网格", list(options), format_func=options.get)
        password = st.text_input("初始密码(至少 8 个字符)", type="password")
        if st.form_submit_button("新增", type="primary", icon=":material/person_add:"):
            try:
                user = store.add(name.strip(), role, password, place=place, display_name=display.strip(), con=cursor())
                record("user_add", user.name, f"{ROLE_LABELS[role]} {place}".strip())
                st.success(f"已新增用户 {user.name}", icon=":material/check_circle:")
            except ValueError as exc:
                st.error(str(exc), icon=":material/error:")
    with right:
        st.markdown("**停用、启用或重设密码**")
        names = [u.name for u in users if u.name != current_user().name]
        if not names:
            st.caption("没有其他用户。")
            return
        target = st.selectbox("用户", names, key="admin_target")
        with st.container(horizontal=True):
            if st.button("停用", icon=":material/block:", key="admin_disable"):
                store.disable(target)
                record("user_disable", target)
                st.rerun()
            if st.button("启用", icon=":material/check:", key="admin_enable"):
                store.enable(target)
                record("user_enable", target)
                st.rerun()
        with st.form("reset_password", clear_on_submit=True):
            password = st.text_input("新密码", type="password")
            if st.form_submit_button("重设密码", icon=":material/key:"):
                try:
                    store.set_password(target, password)
                    record("user_password", target)
                    st.success(f"已重设 {target} 的密码", icon=":material/check_circle:")
                except ValueError as exc:
                    st.error(str(exc), icon=":material/error:")


def show_audit() -> None:
    actions = {"": "全部"} | audit.ACTIONS
    with st.container(horizontal=True):
        action = st.selectbox("操作", list(actions), format_func=actions.get, key="audit_action", width=240)
        who = st.text_input("用户名", key="audit_user", width=240)
    log = audit.read(limit=5000, action=action or None, user=who.strip() or None)
    if log.empty:
        st.info("没有符合条件的审计记录。", icon=":material/info:")
        return
    shown = log.assign(ok=log["ok"].map({True: "成功", False: "失败"}))[
        ["at", "user_name", "action_label", "target", "detail", "ok"]].rename(columns={
            "at": "时间", "user_name": "用户", "action_label": "操作", "target": "对象", "detail": "说明", "ok": "结果"})
    st.dataframe(shown, hide_index=True, width="stretch", height=520,
                 column_config={"时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
    st.download_button("CSV", exported(lambda: export.csv_bytes(shown.assign(时间=shown["时间"].dt.strftime("%Y-%m-%d %H:%M:%S"))),
                                       "审计日志.csv", len(shown)),
                       "审计日志.csv", "text/csv", icon=":material/download:", on_click="ignore", key="audit_csv")


sections({"用户": show_users, "审计日志": show_audit}, key="admin_view")
