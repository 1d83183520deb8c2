"""Who may see what: users, roles, the scope each role is held to, and what a role may do.

Users live in a JSON file beside the database (`users.json`, or GRIDGOV_USERS) with bcrypt hashes,
never a password. The scope is enforced here, for every query made on a user's behalf:
`effective_scope` narrows what was asked for to what the user may see, and refuses anything outside.
"""

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import bcrypt

from . import db
from .period import COUNTY, Area, Scope

# Permissions: figures (aggregate numbers, rankings of grids), personal_lists (lists that name people,
# masked), names (unmasked names in a detail view), import (imports, undo and templates), appeals (record and
# decide 异议申诉, within the role's places), admin (users, audit), freeze (a quarter's official results,
# announced by the county), verify (mark an integrity flag 已核实 before an award: the roles that decide
# appeals or freeze).
PERMISSIONS = {
    "figures": "查看统计数字与网格排名",
    "personal_lists": "查看涉及个人的名单(姓名脱敏)",
    "names": "在明细中查看完整姓名",
    "import": "导入数据、下载模板、撤销导入",
    "appeals": "登记和处理异议申诉",
    "admin": "管理用户、查看审计日志",
    "freeze": "冻结季度考评结果(正式公布)",
    "verify": "核实积分异常提示(评选前)",
}


@dataclass(frozen=True)
class Role:
    id: str
    label: str
    level: str  # county, subdistrict, community or grid: the part of the county the role is held to
    permissions: frozenset[str]


ROLES = {r.id: r for r in (
    Role("county_leader", "县级领导", "county", frozenset({"figures", "personal_lists", "freeze", "verify"})),
    Role("analyst", "数据分析员", "county", frozenset({"figures", "personal_lists"})),
    Role("subdistrict_leader", "街道领导", "subdistrict", frozenset({"figures", "personal_lists"})),
    Role("community_secretary", "社区书记", "community", frozenset({"figures", "personal_lists", "names", "appeals", "verify"})),
    Role("grid_worker", "网格员", "grid", frozenset({"figures", "personal_lists", "names"})),
    Role("clerk", "数据录入员", "county", frozenset({"figures", "import", "appeals", "verify"})),
    Role("admin", "系统管理员", "county", frozenset({"admin", "freeze", "verify"})),
)}
_LEVEL_LABEL = {"subdistrict": "街道", "community": "社区", "grid": "网格"}
_NAME = re.compile(r"[A-Za-z0-9_.\-@]{2,64}")


@dataclass(frozen=True)
class User:
    name: str  # the login name
    role: str
    place: str = ""  # the subdistrict, community or grid id a scoped role is held to
    # In a city deployment (analytics.city), the code of the county the user is held to; "" for a
    # county-level role means every county of the city. Ids of places are unique within a county only.
    county: str = ""
    display_name: str = ""
    identity: str = ""  # an e-mail or subject from the identity provider, for OIDC sign-in
    password_hash: str = field(default="", repr=False)  # never in a log line
    disabled: bool = False
    created_at: str = ""
    demo: bool = False  # a one-click account of the demo county: never stored
    # The scope resolved once for a request or a session (with_area): narrowing then asks nothing
    # of the database. Never stored.
    area: Area | None = field(default=None, compare=False)

    @property
    def role_info(self) -> Role:
        return ROLES[self.role]

    @property
    def scope(self) -> Scope:
        level = self.role_info.level
        if level == "county":
            return COUNTY
        return Scope(**{{"subdistrict": "subdistricts", "community": "communities", "grid": "grids"}[level]: (self.place,)})

    def can(self, permission: str) -> bool:
        return not self.disabled and permission in self.role_info.permissions

    @property
    def label(self) -> str:
        return f"{self.display_name or self.name}({self.role_info.label})"


def counties(user: User | None, city) -> list:
    """The counties of the city (analytics.city.City) the user may see, in the manifest's order: the
    user's own county, or every county for a county-level role without one (and the operator).
    A role held below the county must name its county: a place id alone is ambiguous in a city."""
    if user is None:
        return list(city.counties)
    require(user, "figures")
    if user.county:
        if user.county not in {c.code for c in city.counties}:
            raise Denied(f"用户 {user.name} 所属县区 {user.county} 不在{city.name}的县区清单中")
        return [city.county(user.county)]
    if user.role_info.level != "county":
        raise Denied(f"用户 {user.name}({user.role_info.label})未指定所属县区(--county),在全市部署中不能查看数据")
    return list(city.counties)


class Denied(PermissionError):
    """A user asked for something their role or scope does not allow (not a file the OS refused)."""


def require_import(user: User | None, county_code: str | None, in_city: bool) -> None:
    """Raise Denied unless the user may import into (or undo an import of) the database of county
    county_code (as its meta or the city's manifest names it): a user held to a county writes into
    that county's database only, and in a city deployment a user held to none writes into none."""
    require(user, "import")
    if user is None:
        return
    if user.county and user.county != county_code:
        raise Denied(f"用户 {user.name} 属于县区 {user.county},不能向{f'县区 {county_code} ' if county_code else '未登记县区'}"
                     "的数据库导入或撤销导入")
    if not user.county and in_city:
        raise Denied(f"用户 {user.name}({user.role_info.label})未指定所属县区,在全市部署中不能导入或撤销导入:"
                     f"请系统管理员为其指定县区(python -m analytics users add … --county 县区代码)")


def require(user: User | None, permission: str) -> None:
    """Raise Denied unless the user holds the permission (None: a command run by the operator)."""
    if user is not None and not user.can(permission):
        raise Denied(f"用户 {user.name}({user.role_info.label})无权{PERMISSIONS[permission]}")


# The one table of what each metric's rows need, asked by the pages, the command line, the meeting pack
# and every export. A metric not listed needs "figures"; a list that names people needs "personal_lists",
# and so does the ticket search, which searches titles. Elsewhere a column whose text may describe a
# resident (a ticket's title) is left out for a role without personal_lists.
METRIC_PERMISSIONS = {
    "excellent-grid-workers": "personal_lists",
    "monthly-publication": "personal_lists",
    "grid-team": "personal_lists",
    "grid-ledger": "personal_lists",
    "ticket-list": "personal_lists",
    "worker-service": "personal_lists",
    "appeals": "personal_lists",
}
PERSONAL_COLUMNS = ("title",)


def metric_permission(metric_id: str) -> str:
    return METRIC_PERMISSIONS.get(metric_id, "figures")


def require_metric(user: User | None, metric_id: str) -> None:
    """Raise Denied unless the user may receive the metric's rows (None: the operator on the server)."""
    require(user, "figures")
    require(user, metric_permission(metric_id))


def may_see(user: User | None, metric_id: str) -> bool:
    return user is None or (user.can("figures") and user.can(metric_permission(metric_id)))


def visible(user: User | None, frame):
    """A metric's rows as the user may receive them: without PERSONAL_COLUMNS unless the role sees people."""
    if user is None or user.can("personal_lists"):
        return frame
    return frame.drop(columns=[c for c in PERSONAL_COLUMNS if c in frame.columns])


def with_area(user: User | None, con) -> User | None:
    """The user with their scope resolved (the grids it covers), for narrowing without queries."""
    return user if user is None or user.area is not None else replace(user, area=user.scope.resolve(con))


def effective_scope(user: User | None, requested: Scope | Area, con) -> Area:
    """What `requested` becomes for this user, resolved: the user's own scope when the whole county
    was asked for, the request itself when it lies inside the user's scope; anything else is refused.
    With the user's area and an Area requested (a page, a command once resolved), nothing is queried."""
    if user is None:
        return requested.resolve(con)
    require(user, "figures")
    own = with_area(user, con).area
    if own.is_county:
        return requested.resolve(con)
    if requested.is_county or requested == user.scope or requested == own:
        return own
    wanted = requested.resolve(con)
    if set(wanted.grids) <= set(own.grids):
        return wanted
    raise Denied(f"用户 {user.name} 只能查看{_LEVEL_LABEL[user.role_info.level]} {user.place} 范围内的数据")


def authorize(user: User | None, metric_id: str, area: Area, grid_id: str | None = None, names: bool = False) -> None:
    """Raise Denied unless the user may receive the metric (and full names, and the grid) within an
    area already narrowed to the user by effective_scope. Asks nothing of the database."""
    require_metric(user, metric_id)
    if names:
        require(user, "names")
    if grid_id is not None and area.grids is not None and grid_id not in area.grids:
        raise Denied(f"网格 {grid_id} 不在可查看的范围({area.label})内")


def describe(user: User) -> str:
    """What a user sees, in words: the place and the permissions."""
    level = user.role_info.level
    where = "全县" if level == "county" else f"{_LEVEL_LABEL[level]} {user.place}"
    if user.county:
        where = f"县区 {user.county}" + ("" if level == "county" else f" {where}")
    return f"{where};" + "、".join(text for p, text in PERMISSIONS.items() if p in user.role_info.permissions)


def check_password(password: str) -> None:
    if len(password) < 8:
        raise ValueError("密码至少 8 个字符")
    if len(password.encode()) > 72:
        raise ValueError("密码不能超过 72 字节(bcrypt 的上限)")


def hash_password(password: str) -> str:
    check_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


# A hash to compare against when the user is unknown, so that a wrong name takes as long as a wrong password
# (written out: hashing at import would add a quarter of a second to every start).
_DUMMY_HASH = "$2b$12$rLVOiCj2KoUupPMbWoqBH.IEnwmJmVY.CNuI57ylU16LO9qrur2Fy"


def default_users_path(db_path: Path | str | None = None) -> Path:
    """GRIDGOV_USERS, else users.json beside the database (db_path, else the city's manifest in a city
    deployment, else the default database)."""
    beside = db_path or os.environ.get("GRIDGOV_CITY", "").strip() or db.default_db_path()
    return Path(os.environ.get("GRIDGOV_USERS") or Path(beside).with_name("users.json"))


class UserStore:
    """The users file. Every change rewrites it whole, atomically, readable by its owner only, under a lock
    so that changes made at once by several processes all land."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_users_path()

    def all(self) -> list[User]:
        if not self.path.exists():
            return []
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))["users"]
            return [User(**row) for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"用户文件 {self.path} 已损坏,无法读取({exc})") from None

    def get(self, name: str) -> User | None:
        return next((u for u in self.all() if u.name == name), None)

    @contextlib.contextmanager
    def _locked(self):
        """One change at a time across processes; each reads the file as the change before left it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and with it the lock

    def _save(self, users: list[User]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"users": [{k: v for k, v in asdict(u).items() if k != "area"} for u in users]}, out,
                          ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def add(self, name: str, role: str, password: str | None = None, place: str = "", display_name: str = "",
            identity: str = "", con=None, county: str = "") -> User:
        place = self.check_new(name, role, place, con)
        if county and not re.fullmatch(r"\d{6}", county):
            raise ValueError(f"县区代码应为 6 位行政区划代码,收到 {county!r}")
        if not password and not identity:
            raise ValueError("请设置密码,或指定统一身份认证的账号(--identity)")
        user = User(name=name, role=role, place=place, county=county, display_name=display_name, identity=identity,
                    password_hash=hash_password(password) if password else "",
                    created_at=dt.datetime.now().isoformat(timespec="seconds"))
        with self._locked():
            self.check_new(name, role, place)  # the name may have been taken while the password was hashed
            self._save([*self.all(), user])
        return user

    def check_new(self, name: str, role: str, place: str = "", con=None) -> str:
        """The place a new user would keep ('' for a county role); raises ValueError for a bad or taken
        name, an unknown role, or a missing or (with con) unknown place. Lets the command line refuse
        before it asks for a password."""
        if not _NAME.fullmatch(name or ""):
            raise ValueError(f"用户名 {name!r} 无效:只能用 2–64 个英文字母、数字和 _ . - @")
        if role not in ROLES:
            raise ValueError(f"未知的角色 {role!r};可选: " + "、".join(f"{r.id}({r.label})" for r in ROLES.values()))
        if self.get(name):
            raise ValueError(f"用户 {name} 已存在")
        level = ROLES[role].level
        if level == "county":
            place = ""
        elif not place:
            raise ValueError(f"角色 {ROLES[role].label} 需要用 --place 指定所属{_LEVEL_LABEL[level]}编号")
        elif con is not None:
            place_exists(con, level, place)
        return place

    def _change(self, name: str, **changes) -> User:
        with self._locked():
            users = self.all()
            for i, u in enumerate(users):
                if u.name == name:
                    users[i] = replace(u, **changes)
                    self._save(users)
                    return users[i]
        raise ValueError(f"没有用户 {name}")

    def disable(self, name: str) -> User:
        return self._change(name, disabled=True)

    def enable(self, name: str) -> User:
        return self._change(name, disabled=False)

    def set_password(self, name: str, password: str) -> User:
        return self._change(name, password_hash=hash_password(password))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the name and password match an enabled account, else None."""
        user = self.get(name)
        hashed = user.password_hash if user and user.password_hash else _DUMMY_HASH
        ok = bcrypt.checkpw(password.encode()[:72], hashed.encode())
        return user if ok and user and user.password_hash and not user.disabled else None

    def identity_user(self, identity: str) -> User | None:
        """The enabled account tied to an identity provider's e-mail or subject."""
        return next((u for u in self.all() if u.identity and u.identity.lower() == (identity or "").lower()
                     and not u.disabled), None)

    def lookup(self, name: str) -> User:
        """The enabled user for a command run with --user NAME."""
        user = self.get(name)
        if user is None:
            raise ValueError(f"没有用户 {name}(用户文件 {self.path})")
        if user.disabled:
            raise Denied(f"用户 {name} 已停用")
        return user


def place_exists(con, level: str, place: str) -> None:
    table, key = {"subdistrict": ("subdistricts", "subdistrict_id"), "community": ("communities", "community_id"),
                  "grid": ("grids", "grid_id")}[level]
    if not con.execute(f"SELECT 1 FROM {table} WHERE {key} = $id", {"id": place}).fetchone():
        raise ValueError(f"数据库中没有{_LEVEL_LABEL[level]}编号 {place}")


def first_run_hint(path: Path | None = None) -> str:
    path = path or default_users_path()
    return ("尚未创建任何用户。请在服务器上创建第一个管理员:\n"
            f"  python -m analytics users add admin --role admin --users {path}\n"
            "(命令会提示输入密码,密码只以 bcrypt 摘要保存)")


FAILED_LOGINS, LOCKOUT_MINUTES = 5, 15


def locked_out(failures: list[dt.datetime], now: dt.datetime | None = None) -> bool:
    """Whether a name with these failed logins must wait: FAILED_LOGINS within LOCKOUT_MINUTES."""
    since = (now or dt.datetime.now()) - dt.timedelta(minutes=LOCKOUT_MINUTES)
    return sum(at >= since for at in failures) >= FAILED_LOGINS


def session_minutes() -> int:
    return int(os.environ.get("GRIDGOV_SESSION_MINUTES", "30"))


def session_expired(last_seen: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    if last_seen is None:
        return False
    return (now or dt.datetime.now()) - last_seen > dt.timedelta(minutes=session_minutes())


class Sessions:
    """Signed-in sessions a browser may resume within the idle timeout (a reload, a second tab). The
    browser holds a signed token naming a session kept here, in the server's memory, never in the
    address: signing out ends it in every tab, and a restart of the server ends them all."""

    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)
        self._live: dict[str, tuple[User, dt.datetime]] = {}
        self._lock = threading.Lock()

    def _sign(self, sid: str) -> str:
        return hmac.new(self._key, sid.encode(), hashlib.sha256).hexdigest()

    def open(self, user: User, now: dt.datetime | None = None) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._live[sid] = (replace(user, password_hash="", area=None), now or dt.datetime.now())
        return f"{sid}.{self._sign(sid)}"

    def resume(self, token: str | None, now: dt.datetime | None = None) -> User | None:
        """The token's user, its idle clock restarted; None for a forged, ended or expired token."""
        if not isinstance(token, str):  # no cookie (AppTest's client hands a stand-in object)
            return None
        sid, _, signature = token.partition(".")
        if not sid or not hmac.compare_digest(signature, self._sign(sid)):
            return None
        now = now or dt.datetime.now()
        with self._lock:
            user, seen = self._live.get(sid, (None, None))
            if user is None or session_expired(seen, now):
                self._live.pop(sid, None)
                return None
            self._live[sid] = (user, now)
            return user

    def close(self, token: str | None) -> None:
        with self._lock:
            self._live.pop((token or "").partition(".")[0], None)

    def close_user(self, name: str) -> None:
        """Every session of a user: the account was disabled, removed or signed out."""
        with self._lock:
            for sid in [sid for sid, (user, _) in self._live.items() if user.name == name]:
                del self._live[sid]


def auth_mode() -> str:
    """local (the users file) or oidc (Streamlit's st.login against the provider in secrets.toml)."""
    mode = os.environ.get("GRIDGOV_AUTH", "local").strip().lower()
    if mode not in ("local", "oidc"):
        raise ValueError(f"GRIDGOV_AUTH 只能是 local 或 oidc,收到 {mode!r}")
    return mode


def demo_users(con) -> list[User]:
    """One account of each role but the administrator's, on the demo county only: its places are the
    demo's first ones. No demo account manages users: the users file is the real one."""
    first = con.execute(
        """SELECT c.subdistrict_id, g.community_id, min(g.grid_id) FROM grids g JOIN communities c USING (community_id)
           WHERE g.community_id = (SELECT min(community_id) FROM communities) GROUP BY ALL""").fetchone()
    if first is None:
        return []
    sub, comm, grid = first
    places = {"subdistrict": sub, "community": comm, "grid": grid}
    return [User(name=f"demo-{r.id}", role=r.id, place=places.get(r.level, ""), display_name=f"演示{r.label}", demo=True)
            for r in ROLES.values() if "admin" not in r.permissions]
