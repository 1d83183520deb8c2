"""The real app in headless Chromium (Debian's /usr/bin/chromium, no browser download): every page loads
without an error, the map draws, a filter changes a figure, a table downloads. Each run saves a
screenshot of every page at two sizes in screenshots/ (git-ignored) for people to look at."""

import contextlib
import os
import csv
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import streamlit
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from analytics import audit, columns, db

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = db.ROOT / "screenshots"
PAGES = {"/": "总览", "/grid_map": "网格地图", "/review": "季度考评", "/tickets": "协商议事", "/credit": "信用积分",
         "/volunteers": "志愿服务", "/service": "服务阵地", "/data": "数据管理", "/definitions": "指标说明"}
# The demo account that may open each page (others see the overview in its place).
ACCOUNT = {"/data": "数据录入员"}
# The sections (tabs) beyond each page's first, which run only when opened.
SECTIONS = {"/tickets": ["办结用时", "评单与约请", "办理时限", "数据质量", "工单查询"],
            "/credit": ["评选依据", "积分构成", "公示与红灰榜", "积分兑换"],
            "/service": ["阵地分布", "充电供给与需求", "物业三评两公示", "微心愿"],
            "/volunteers": ["各社区", "各志愿服务队"],
            "/review": ["红旗网格与优秀网格员", "待会议决定", "议事、志愿、兑换与覆盖", "总体情况", "会议材料"]}
ENGLISH_ERROR = re.compile(r"Traceback|Exception|Error\b|Connection error|Is Streamlit still running")
MS = 1000


class Server:
    """The running app's address, the file its stderr goes to and its audit log."""

    def __init__(self, url: str, log, audit):
        self.url, self.log, self.audit = url, log, audit

    def log_tail(self, lines: int = 80) -> str:
        return "\n--- streamlit server log ---\n" + "\n".join(self.log.read_text().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(demo_path, log_dir):
    """The dashboard as `streamlit run` starts it, on the demo county; its stderr goes to a log file.
    No file watcher: an edit to the sources during a run would otherwise put a "File change. Rerun"
    prompt in every open page, which never settles."""
    port = free_port()
    log = log_dir / "streamlit.log"
    # Users and audit log of this server's own: the demo accounts are offered while its users file is empty.
    env = {**os.environ, "GRIDGOV_DB": str(demo_path), "GRIDGOV_AUDIT": str(log_dir / "audit.sqlite"),
           "GRIDGOV_USERS": str(log_dir / "users.json")}
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.headless", "true", "--server.fileWatcherType", "none",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=db.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    server = Server(f"http://127.0.0.1:{port}", log, log_dir / "audit.sqlite")
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, "server did not start" + server.log_tail()
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(demo_path, tmp_path_factory):
    with running_server(demo_path, tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = chromium.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(server.url + "/")
        problem = settle(page, limit=120)
        assert not problem, problem + server.log_tail()
        page.close()
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30 * MS)
    yield page
    context.close()


BUSY = ["[data-testid=stApp][data-test-script-state=running]", "[data-testid=stStatusWidget]",
        "[data-testid=stSkeleton]"]


def settle(page, limit: float = 60) -> str:
    """Wait until Streamlit has finished running the script and drawn the result; on timeout, say
    what was still busy (empty when settled)."""
    deadline = time.time() + limit
    # stApp says when the script has run once; the elements it sent may still be loading (skeletons).
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=limit * MS)
    busy = ", ".join(BUSY)
    while time.time() < deadline:
        if not page.locator(busy).count():
            page.wait_for_timeout(500)  # a rerun can start just after the previous one ended
            if not page.locator(busy).count():
                return ""
        page.wait_for_timeout(200)
    still = {s: page.locator(s).count() for s in BUSY}
    status = page.locator("[data-testid=stStatusWidget]").all_inner_texts()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "busy.png")
    return f"{page.url} still busy after {limit} s: {still} {status} (see screenshots/busy.png)"


def open_page(page, server: Server, path: str, account: str = "县级领导") -> None:
    """Open the address as a new visitor does: the login page first, a demo account, then the page asked for."""
    page.goto(server.url + path)
    problem = settle(page)
    assert not problem, problem + server.log_tail()
    sign_in(page, server, account)


def sign_in(page, server: Server, account: str) -> None:
    expect(page.locator("[data-testid=stMain] h1").first).to_have_text("网格治理驾驶舱", timeout=10 * MS)
    page.get_by_role("button", name=account, exact=True).click()
    expect(page.get_by_role("button", name=account, exact=True)).to_have_count(0, timeout=30 * MS)
    problem = settle(page)
    assert not problem, problem + server.log_tail()


def screenshot(page, name: str) -> None:
    """Full-page screenshots at 1920 and 1280 wide: Streamlit scrolls inside its own container, so the
    viewport is made as tall as the content."""
    SHOTS.mkdir(exist_ok=True)
    for width, height in ((1920, 1080), (1280, 720)):
        if page.viewport_size != {"width": width, "height": height}:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(300)
        tall = page.evaluate("Math.max(...[...document.querySelectorAll('[data-testid=stMain], body')]"
                             ".map(e => e.scrollHeight))")
        page.set_viewport_size({"width": width, "height": max(height, min(tall, 16000))})
        page.wait_for_timeout(400)  # charts redraw at the new size
        page.screenshot(path=SHOTS / f"{name}_{width}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})


def metric_value(page, label: str):
    return page.locator("[data-testid=stMetric]").filter(has_text=label).first.locator("[data-testid=stMetricValue]")


@pytest.mark.parametrize("path", list(PAGES) + [f"{p}?view={v}" for p, views in SECTIONS.items() for v in views])
def test_every_page_loads_without_an_error(server, page, path):
    base, _, view = path.partition("?view=")
    open_page(page, server, path, ACCOUNT.get(base, "县级领导"))
    expect(page.locator("[data-testid=stMain] h1").first).to_contain_text(PAGES[base], timeout=10 * MS)
    if view:
        expect(page.get_by_role("tab", name=view)).to_have_attribute("aria-selected", "true", timeout=10 * MS)
    assert page.locator("[data-testid=stException]").count() == 0, server.log_tail()
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "抱歉,本页出现错误" not in text, server.log_tail()
    assert not ENGLISH_ERROR.search(text), ENGLISH_ERROR.search(text)
    screenshot(page, (base.strip("/") or "overview") + (f"_{view}" if view else ""))


def test_the_map_canvas_draws(server, page, tmp_path):
    open_page(page, server, "/grid_map")
    canvas = page.locator("[data-testid=stDeckGlJsonChart] canvas").first
    expect(canvas).to_be_visible(timeout=20 * MS)
    box = canvas.bounding_box()
    assert box["width"] > 300 and box["height"] > 300, box
    # deck.gl draws asynchronously after the element appears: wait until the grids are coloured in.
    deadline = time.time() + 20
    while True:
        canvas.screenshot(path=tmp_path / "map.png")
        colours = Image.open(tmp_path / "map.png").convert("RGB").getcolors(maxcolors=1 << 16)
        if colours is None or len(colours) > 20:  # None: more colours than that
            break
        assert time.time() < deadline, f"the map canvas stays blank ({len(colours)} colours)"
        page.wait_for_timeout(300)


def map_drawn(page, tmp_path):
    """The map's canvas once deck.gl has coloured the grids in."""
    canvas = page.locator("[data-testid=stDeckGlJsonChart] canvas").first
    expect(canvas).to_be_visible(timeout=20 * MS)
    deadline = time.time() + 20
    while True:
        canvas.screenshot(path=tmp_path / "map.png")
        colours = Image.open(tmp_path / "map.png").convert("RGB").getcolors(maxcolors=1 << 16)
        if colours is None or len(colours) > 20:
            return canvas
        assert time.time() < deadline, "the map canvas stays blank"
        page.wait_for_timeout(300)


def test_clicking_a_grid_opens_its_card_kept_in_the_address_and_nothing_is_fetched(server, page, tmp_path):
    outside = []
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else outside.append(r.url))
    open_page(page, server, "/grid_map")
    box = map_drawn(page, tmp_path).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # the middle of the county seat
    page.mouse.move(x - 8, y - 8)
    page.mouse.move(x, y)
    page.wait_for_timeout(500)
    page.mouse.down()
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"grid_card=\d{3}-\d{2}"), timeout=20 * MS)
    assert not settle(page), server.log_tail()
    grid = re.search(r"grid_card=(\d{3}-\d{2})", page.url)[1]
    name = page.locator("[data-testid=stMain] h3").first.inner_text()
    assert re.fullmatch(r".+社区第\d+网格", name), name
    screenshot(page, "grid_map_card")
    # Opened afresh, the address brings the same card back.
    address = page.url.replace(server.url, "")
    page.context.clear_cookies()
    open_page(page, server, address)
    expect(page.locator("[data-testid=stMain] h3").first).to_have_text(name, timeout=20 * MS)
    assert f"grid_card={grid}" in page.url
    # Only Streamlit's own icon font comes from outside; no basemap, style or tile.
    assert [u for u in outside if "fonts.gstatic.com" not in u] == []


def test_a_community_filter_changes_the_figures_and_the_address(server, page):
    open_page(page, server, "/")
    value = metric_value(page, "办结工单")
    before = value.inner_text()
    assert re.fullmatch(r"[\d,]+ 单", before), before
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has_text="社区").click()
    page.get_by_role("option", name="东岳国际社区").click()
    page.wait_for_url(re.compile(r"comm="), timeout=20 * MS)
    problem = settle(page)
    assert not problem, problem + server.log_tail()
    expect(value).not_to_have_text(before, timeout=20 * MS)
    assert re.fullmatch(r"[\d,]+ 单", value.inner_text()), value.inner_text()
    expect(page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first).to_contain_text("东岳国际社区", timeout=10 * MS)


def test_opening_a_section_writes_it_into_the_address(server, page):
    open_page(page, server, "/credit")
    expect(page.locator("[data-testid=stMain]")).not_to_contain_text("公示月份")
    page.get_by_role("tab", name="公示与红灰榜").click()
    page.wait_for_url(re.compile(r"view="), timeout=20 * MS)
    problem = settle(page)
    assert not problem, problem + server.log_tail()
    expect(page.locator("[data-testid=stMain]")).to_contain_text("公示月份", timeout=10 * MS)
    assert "period=" in page.url


def test_a_tables_numbers_read_as_the_pack_and_the_download_write_them(server, page):
    """A table is drawn on a canvas, so Streamlit's own number formatter, as the server sends it to
    the browser, is asked to write each value of the dictionary's table with the page's format."""
    from tests.test_export import WRITTEN

    script = next((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("formatNumber.*.js"))
    cases = [[value * 100 if spec.endswith("%") else value, columns.printf(spec)] for value, spec, _ in WRITTEN]
    page.goto(server.url + "/")
    written = page.evaluate("""async ([path, cases]) => {
        const formatNumber = (await import(path)).n;
        return cases.map(([value, format]) => formatNumber(value, format));
    }""", [f"/static/js/{script.name}", cases])
    assert written == [expected for _, _, expected in WRITTEN]


def test_a_table_downloads_as_chinese_csv(server, page, tmp_path):
    open_page(page, server, "/tickets?view=办结用时")
    button = page.locator("[data-testid=stDownloadButton]").filter(has_text="CSV").first
    with page.expect_download(timeout=20 * MS) as download:
        button.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    header, *rows = data.decode("utf-8-sig").splitlines()
    assert rows and ("单数" in header or "类别" in header), header
    exports = audit.read(action="export", path=server.audit)
    assert [path.name, "demo-county_leader"] in exports[["target", "user_name"]].values.tolist()


def test_a_shared_link_is_the_first_request_to_a_new_server(demo_path, tmp_path, browser):
    """Before any session has run app.py, Streamlit runs a page file of pages/ on its own; the page
    goes through the frame and comes back with the whole address."""
    with running_server(demo_path, tmp_path) as fresh:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(fresh.url + "/credit?period=2026Q2&comm=201&view=积分构成")
        problem = settle(page, limit=120)
        assert not problem, problem + fresh.log_tail()
        sign_in(page, fresh, "县级领导")
        expect(page.locator("[data-testid=stMain] h1").first).to_contain_text("信用积分", timeout=20 * MS)
        expect(page.get_by_role("tab", name="积分构成")).to_have_attribute("aria-selected", "true")
        expect(page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first).to_contain_text("2026年第2季度 · 东岳国际社区")
        assert "/credit" in page.url and "comm=201" in page.url, page.url
        page.close()


# The slide's content against the window: what Streamlit scrolls (stMain) and the document.
SLIDE_SIZE = """() => {
  const main = document.querySelector("[data-testid=stMain]");
  const texts = [...document.querySelectorAll("[data-testid=stMainBlockContainer] *")].filter(e =>
    [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && e.getClientRects().length
    && !e.closest("[data-testid=stIconMaterial], [data-testid=stTooltipIcon]"));
  return {main: main.scrollHeight, mainWindow: main.clientHeight, document: document.documentElement.scrollHeight,
          window: innerHeight, smallest: Math.min(...texts.map(e => parseFloat(getComputedStyle(e).fontSize))),
          sidebar: !!document.querySelector("[data-testid=stSidebar]")?.getClientRects().length};
}"""


def slide_title(page):
    return page.locator("[data-testid=stMain] h1").first


def test_every_meeting_slide_fits_the_projector_and_the_clicker_turns_them(server, page):
    open_page(page, server, "/review?meeting=true")
    count = int(re.search(r"1 / (\d+)", page.locator(".st-key-slide_bar").inner_text())[1])
    assert count > 20
    titles, keys = [], ["ArrowRight", "PageDown", "Space"]
    for number in range(1, count + 1):
        if number > 1:
            page.keyboard.press(keys[number % 3])
            expect(page).to_have_url(re.compile(rf"slide={number}(&|$)"), timeout=20 * MS)
            problem = settle(page)
            assert not problem, problem + server.log_tail()
        titles.append(slide_title(page).inner_text())
        for width, height in ((1920, 1080), (1280, 720)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(150)
            size = page.evaluate(SLIDE_SIZE)
            where = f"slide {number} {titles[-1]} at {width}x{height}: {size}"
            assert size["main"] <= size["mainWindow"] and size["document"] <= size["window"], where
            assert not size["sidebar"], where
            if width == 1280:
                assert size["smallest"] >= 24, where
        if number in (1, 2, count):
            screenshot(page, f"review_meeting_{number}")
    assert len(set(titles)) == count and "网格排名" in titles[1], titles
    for key, number in (("Home", 1), ("End", count), ("PageUp", count - 1), ("ArrowLeft", count - 2)):
        page.keyboard.press(key)
        expect(slide_title(page)).to_have_text(titles[number - 1], timeout=20 * MS)
        assert re.search(rf"slide={number}(&|$)", page.url) or number == 1 and "slide=" not in page.url, page.url
    page.get_by_role("button", name="退出放映").click()
    expect(slide_title(page)).to_have_text("季度考评", timeout=20 * MS)
    expect(page).not_to_have_url(re.compile(r"meeting=|slide="), timeout=10 * MS)  # sent at the end of the run
    expect(page.locator("[data-testid=stSidebar]")).to_be_visible()


def test_the_meeting_pack_downloads_from_the_page(server, page, tmp_path):
    from pptx import Presentation

    open_page(page, server, "/review?view=会议材料")
    with page.expect_download(timeout=120 * MS) as download:
        page.get_by_role("button", name="演示文稿 PPTX").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".pptx"
    titles = [next((sh.text_frame.text for sh in slide.shapes if sh.has_text_frame and sh.text_frame.text), "")
              for slide in Presentation(path).slides]
    assert titles[0].startswith("桓台县2026年第3季度网格治理考评") and "红旗网格" in titles


def test_a_community_secretary_downloads_only_masked_names_of_their_community(server, page, tmp_path, demo_con):
    open_page(page, server, "/credit?view=公示与红灰榜&comm=101", "社区书记")
    expect(page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first).to_contain_text("兴旺社区")
    with page.expect_download(timeout=20 * MS) as download:
        page.locator("[data-testid=stDownloadButton]").filter(has_text="CSV").first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows and {r["社区"] for r in rows} == {"兴旺社区"}
    full = {r[0] for r in demo_con.execute("SELECT name FROM people").fetchall()}
    assert all("*" in r["姓名"] and r["姓名"] not in full for r in rows)
    exports = audit.read(action="export", path=server.audit)
    assert [path.name, "demo-community_secretary"] in exports[["target", "user_name"]].values.tolist()


def test_an_administrator_signs_in_with_a_password_and_reads_the_audit_log(demo_path, tmp_path, browser):
    """A real account (no demo accounts once one exists): the password form, then 用户与审计."""
    from analytics import access

    access.UserStore(tmp_path / "users.json").add("root", "admin", "first admin password", display_name="管理员")
    with running_server(demo_path, tmp_path) as own:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(own.url + "/admin?admin_view=审计日志")
        problem = settle(page)
        assert not problem, problem + own.log_tail()
        expect(page.get_by_role("button", name="县级领导", exact=True)).to_have_count(0)
        page.get_by_label("用户名").fill("root")
        page.get_by_label("密码").fill("first admin password")
        page.get_by_role("button", name="登录").click()
        expect(page.locator("[data-testid=stMain] h1").first).to_have_text("用户与审计", timeout=30 * MS)
        problem = settle(page)
        assert not problem, problem + own.log_tail()
        expect(page.get_by_role("tab", name="审计日志")).to_have_attribute("aria-selected", "true")
        screenshot(page, "admin")
        assert audit.read(action="login", path=own.audit)["user_name"].tolist() == ["root"]
        page.close()


def test_a_workbook_that_aborts_the_reader_does_not_stop_the_dashboard(server, page, browser, tmp_path):
    """A clerk uploads a 5 KB workbook whose far cell makes the reader abort; the check dies in its
    child process, the clerk reads why, and a leader keeps using the dashboard."""
    from tests.test_ingest_read import far_cell_workbook

    open_page(page, server, "/data", "数据录入员")
    page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(
        far_cell_workbook(tmp_path / "积分台账.xlsx", honest=False))
    expect(page.locator("[data-testid=stMain]")).to_contain_text("意外退出", timeout=60 * MS)
    problem = settle(page)
    assert not problem, problem + server.log_tail()
    screenshot(page, "data_far_cell")
    leader = browser.new_page(viewport={"width": 1280, "height": 720})
    open_page(leader, server, "/", "县级领导")
    expect(leader.locator("[data-testid=stMain] h1").first).to_have_text("总览")
    leader.close()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(
        far_cell_workbook(tmp_path / "范围过大.xlsx"))
    expect(page.locator("[data-testid=stMain]")).to_contain_text("XFD1048576", timeout=60 * MS)


def test_a_reload_or_a_second_tab_keeps_the_session_and_a_copied_link_does_not(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    open_page(page, server, "/credit?view=积分构成")
    heading = page.locator("[data-testid=stMain] h1").first
    expect(heading).to_have_text("信用积分", timeout=20 * MS)
    page.reload()
    assert not settle(page)
    expect(heading).to_have_text("信用积分", timeout=20 * MS)
    assert "session" not in page.url and "token" not in page.url, page.url
    second = context.new_page()
    second.goto(page.url)
    assert not settle(second)
    expect(second.locator("[data-testid=stMain] h1").first).to_have_text("信用积分", timeout=20 * MS)
    with browser.new_context() as elsewhere:  # the link pasted into another browser
        copied = elsewhere.new_page()
        copied.goto(page.url)
        assert not settle(copied)
        expect(copied.get_by_role("button", name="县级领导", exact=True)).to_be_visible()
    # Signing out in one tab ends the other at its next step, and a reload stays signed out.
    page.get_by_role("button", name="退出").click()
    assert not settle(page)
    second.get_by_role("tab", name="评选依据").click()
    assert not settle(second)
    expect(second.get_by_text("已在其他窗口退出登录")).to_be_visible()
    page.reload()
    assert not settle(page)
    expect(page.get_by_role("button", name="县级领导", exact=True)).to_be_visible()
    context.close()
