"""The meeting pack and the monthly publication, opened as their readers open them and checked
against the analytics functions: the red-flag grids named, the ranking rows, and no unmasked name
of the people table anywhere."""

import io
import re

import openpyxl
import pandas as pd
import pytest
from PIL import Image
from pptx import Presentation
from pptx.oxml.ns import qn
from pypdf import PdfReader

from analytics import access, credit, report, review
from analytics.__main__ import main
from analytics.period import Area, Scope, parse_period

QUARTER = "2026Q3"


@pytest.fixture(scope="module")
def rv(demo_con):
    return review.quarter_review(demo_con, QUARTER, Scope())


@pytest.fixture(scope="module")
def images(rv):
    return report.review_charts(rv)


@pytest.fixture(scope="module")
def full_names(demo_con):
    return {n for (n,) in demo_con.execute("SELECT DISTINCT name FROM people WHERE length(name) >= 2").fetchall()}


def pptx_text(path) -> list[str]:
    """Every slide's text, shapes and table cells alike."""
    slides = []
    for slide in Presentation(path).slides:
        parts = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts += [cell.text for row in shape.table.rows for cell in row.cells]
        slides.append("\n".join(p for p in parts if p))
    return slides


def unmasked(text: str, full_names: set[str]) -> set[str]:
    """Full names of the people table that appear in text as a word of their own."""
    words = set(re.split(r"[\s·,:;()()、,:]+", text))
    return {n for n in full_names if n in words}


def test_the_review_is_the_pages_functions(demo_con, rv):
    assert rv.tables["red_flags"]["grid_id"].tolist() == credit.red_flag_grids(demo_con, QUARTER)["grid_id"].tolist()
    ranking = credit.grid_credit_ranking(demo_con, QUARTER)
    assert len(rv.tables["ranking"]) == len(ranking) == 140
    fell = ranking[ranking["rank_change"] <= -3]
    assert sorted(rv.tables["fallers"]["grid_id"]) == sorted(fell["grid_id"])
    assert (rv.tables["coverage"]["household_share"] < 1).all()


@pytest.mark.parametrize("quarter, error", [("2026-09", "季度考评按季度进行"), ("2026Q5", "无法识别的统计期")])
def test_a_review_needs_a_quarter(demo_con, quarter, error):
    with pytest.raises(ValueError, match=error):
        review.quarter_review(demo_con, quarter)


def test_every_chart_is_rendered(rv, images):
    assert set(images) == {f"community:{c}" for c, _ in rv.communities()} | {"tickets", "redemptions"}
    assert all(png and png.startswith(b"\x89PNG") for png in images.values())


def test_pptx_names_the_red_flag_grids_and_shows_each_community_ranking(demo_con, rv, images, tmp_path, full_names):
    path = tmp_path / "pack.pptx"
    report.write_pptx(demo_con, rv, path, images)
    deck = Presentation(path)
    assert (deck.slide_width, deck.slide_height) == (12192000, 6858000)  # 16:9
    slides = pptx_text(path)
    communities = rv.communities()
    # Title, summary, a slide per community, then eight topic slides.
    assert len(slides) == 2 + len(communities) + 8
    assert "桓台县2026年第3季度网格治理考评" in slides[0]
    red = next(s for s in slides if s.startswith("红旗网格\n"))
    for name in rv.tables["red_flags"]["grid_name"]:
        assert name in red
    # A community's slide lists its grids in rank order with the page's average credit.
    community_id, name = communities[0]
    rows = rv.tables["ranking"][rv.tables["ranking"]["community_id"] == community_id]
    slide = next(s for s in slides if s.startswith(f"{name} · 网格排名"))
    for row in review.short_grid_names(rows).itertuples():
        assert f"\n{row.grid_name}\n{row.avg_credit:.2f}" in slide
    pictures = [sh for sh in deck.slides[2].shapes if sh.shape_type == 13]
    assert len(pictures) == 1
    assert not unmasked("\n".join(slides), full_names)


def test_every_pptx_run_with_chinese_names_an_east_asian_font(demo_con, rv, images, tmp_path):
    """PowerPoint and WPS draw Chinese with the run's a:ea font; with a:latin alone they fall back to the theme's."""
    path = tmp_path / "pack.pptx"
    report.write_pptx(demo_con, rv, path, images)
    chinese = re.compile(r"[\u4e00-\u9fff]")
    runs = [r for slide in Presentation(path).slides for r in slide.shapes._spTree.iter(qn("a:r"))
            if chinese.search(r.findtext(qn("a:t")) or "")]
    assert len(runs) > 500
    eas = [r.find(qn("a:rPr")).find(qn("a:ea")) if r.find(qn("a:rPr")) is not None else None for r in runs]
    assert all(ea is not None and ea.get("typeface") == "微软雅黑" for ea in eas)


def test_pdf_is_searchable_with_page_numbers_and_the_quarter_on_every_page(demo_con, rv, images, tmp_path, full_names):
    path = tmp_path / "pack.pdf"
    report.write_pdf(demo_con, rv, path, images)
    reader = PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    # The Chinese text is set in WenQuanYi Micro Hei, embedded (installed by .ci/run).
    fonts = [f.get_object() for f in reader.pages[1]["/Resources"]["/Font"].values()]
    chinese = [f for f in fonts if str(f["/BaseFont"]).endswith("WenQuanYiMicroHei-0")]
    assert chinese and all("/FontFile2" in f["/FontDescriptor"] for f in chinese)
    # Cover, findings, 15 communities two to a page (the last one shares its page with 红旗网格 and
    # 优秀网格员), 协商议事 with 积分兑换, 志愿服务 with 服务圈, the page of items for decision and
    # the appeals of the quarter after them.
    assert len(pages) == 1 + 1 + 8 + 1 + 1 + 1 + 1
    assert "异议申诉处理情况" in pages[-1]
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页" in text and "2026年第3季度" in text and "生成于" in text
    everything = "\n".join(pages)
    for name in rv.tables["red_flags"]["grid_name"]:
        assert name in everything
    assert not unmasked(everything, full_names)


def test_pdf_opens_with_a_cover_and_a_page_of_findings(demo_con, rv, images, tmp_path):
    path = tmp_path / "pack.pdf"
    report.write_pdf(demo_con, rv, path, images)
    pages = [p.extract_text() for p in PdfReader(path).pages]
    cover, findings = pages[:2]
    for line in ("桓台县2026年第3季度网格治理考评", "县(区):桓台县", "考评季度:2026年第3季度(2026年7月1日至2026年9月30日)",
                 "范围:全县(15 个社区、140 个网格)", "生成日期:"):
        assert line in cover
    assert "总体情况" not in cover and "人均积分" not in cover
    # The contents give each part's page: the first community's ranking, the topics, the items for decision.
    contents = cover.splitlines()
    first = rv.communities()[0][1] + " · 网格排名"
    for label, heading in (("各社区网格排名", first), ("积分兑换", "积分兑换"), ("待会议决定的事项", "待会议决定的事项")):
        page = next(n for n, text in enumerate(pages[2:], start=3) if heading in text.splitlines()
                    or any(line.startswith(heading + " ") for line in text.splitlines()))
        assert contents[contents.index(label) + 1] == f"第 {page} 页"
    lines = findings.splitlines()
    assert "本季度要点 · 2026年第3季度" in lines
    assert "479 单" in lines and "较上期 +42 单" in lines  # the overview's 办结工单 for the quarter and its change
    # What moved: the biggest riser first (紫悦城社区第4网格, 8th to 1st), the biggest fallers after the risers.
    risers = lines.index("紫悦城社区第4网格")
    assert lines[risers + 1:risers + 4] == ["8", "1", "+7"]
    assert lines.index("中心街社区第9网格") > lines.index("橡树玫瑰城社区第3网格")  # -4 after the last riser (+4)
    for name in rv.tables["red_flags"]["grid_name"]:
        assert name in findings
    # 紫悦城社区第4网格 is a 红旗网格 with integrity flags: marked 待核实 beside it, and counted in the decisions.
    assert lines[lines.index("紫悦城社区第4网格", risers + 1) + 2].startswith("待核实:期末突击赋分")
    assert findings.count("待核实:") == 1
    assert "1. 确认红旗网格 15 个(其中 1 个待核实,核实后再确认)。" in findings
    overdue = next(n for n, text in enumerate(pages, start=1) if "\n超期未办的工单\n" in text)
    assert f"5. 超期未办的工单 4 张:明确督办(见「超期未办的工单」,第 {overdue} 页)。" in findings


def test_a_pack_for_a_role_without_lists_of_people_says_the_list_is_left_out(demo_con, images, tmp_path):
    clerk = review.quarter_review(demo_con, QUARTER, Scope(), access.User("lu", "clerk"))
    report.write_pdf(demo_con, clerk, tmp_path / "pack.pdf", images)
    pages = [p.extract_text() for p in PdfReader(tmp_path / "pack.pdf").pages]
    assert "不含个人名单" in pages[0] and "确认优秀网格员" not in pages[1]
    workers = next(p for p in pages[2:] if "\n优秀网格员" in p)
    assert "按导出人的角色,本材料不含涉及个人的名单。" in workers and "本期没有" not in workers
    report.write_pptx(demo_con, clerk, tmp_path / "pack.pptx", images)
    slide = next(s for s in pptx_text(tmp_path / "pack.pptx") if s.startswith("优秀网格员\n"))
    assert "按导出人的角色,本材料不含涉及个人的名单。" in slide


def marked_images(images: dict) -> dict:
    """Stand-ins for the charts, each as large as the real one and told apart by its width."""
    out = {}
    for k, (key, png) in enumerate(sorted(images.items())):
        width, height = Image.open(io.BytesIO(png)).size
        buffer = io.BytesIO()
        Image.new("RGB", (width + k, height), "white").save(buffer, "PNG")
        out[key] = buffer.getvalue()
    return out


def test_every_chart_is_on_a_page_with_its_title_and_communities_are_two_to_a_page(demo_con, rv, images, tmp_path):
    marked = marked_images(images)
    by_width = {Image.open(io.BytesIO(png)).size[0]: key for key, png in marked.items()}
    names = dict(rv.communities())
    titles = {"tickets": "各社区协商议事", "redemptions": "积分兑换"} | {
        f"community:{c}": f"{name} · 网格排名" for c, name in names.items()}
    path = tmp_path / "pack.pdf"
    report.write_pdf(demo_con, rv, path, marked)
    placed = []
    for page in PdfReader(path).pages:
        text = page.extract_text()
        for picture in page.images:
            key = by_width[picture.image.size[0]]
            assert any(line == titles[key] or line.startswith(titles[key] + " ") for line in text.splitlines())
            placed.append(key)
    assert sorted(placed) == sorted(marked)
    pages = [p.extract_text() for p in PdfReader(path).pages]
    per_page = [re.findall(r"^(\S+) · 网格排名", text, re.M) for text in pages]
    per_page = [found for found in per_page if found]
    assert [len(found) for found in per_page] == [2] * 7 + [1]
    assert [n for found in per_page for n in found] == list(names.values())


def test_a_table_too_long_to_sit_beside_its_chart_runs_on_and_its_chart_follows_under_its_title(tmp_path):
    frame = pd.DataFrame({"grid_name": [f"第{i}网格" for i in range(1, 61)], "avg_credit": [1.0] * 60})
    spec = review.Table("t", "", "", {"grid_name": "网格", "avg_credit": "人均积分"}, {"avg_credit": ".2f"})
    buffer = io.BytesIO()
    Image.new("RGB", (640, 460), "white").save(buffer, "PNG")
    report._pdf(tmp_path / "long.pdf", "标题", "2026年第3季度", lambda p: p.charted(
        "大社区 · 网格排名", "", p.table(frame, spec), p.image(buffer.getvalue(), p.width / 2, 200)))
    pages = [(p.extract_text(), len(p.images)) for p in PdfReader(tmp_path / "long.pdf").pages]
    assert [n for _, n in pages] == [0, 0, 1]  # 60 rows run over two pages; the chart then has a page with its title
    assert all("人均积分" in text for text, _ in pages[:2])  # the header repeated
    assert "第60网格" in pages[1][0] and "大社区 · 网格排名(图)" in pages[2][0]


@pytest.mark.parametrize("n, expected", [
    # grid: rank_change; risers by rise, then fallers by fall; ties by community, then rank; no change and
    # no previous rank left out.
    (1, ["b1", "a2"]),
    (2, ["b1", "a1", "a2", "a3"]),
    (5, ["b1", "a1", "b2", "a2", "a3"]),
])
def test_movers_are_the_biggest_risers_then_the_biggest_fallers(n, expected):
    ranking = pd.DataFrame({"grid_name": ["a1", "a2", "a3", "b1", "b2", "b3", "b4"],
                            "community_name": ["A", "A", "A", "B", "B", "B", "B"],
                            "rank": [1, 2, 3, 1, 2, 3, 4],
                            "rank_change": [2, -4, -1, 3, 1, 0, None]})
    assert report.movers(ranking, n)["grid_name"].tolist() == expected


# 甲 named; 乙 with two open flags (named pending the check, or withheld with 丙 named in its place);
# a third flag, of 丁, already 已核实.
FLAGGED = "期末突击赋分;单人集中赋分"


@pytest.mark.parametrize("mode, red_flags, checks, first_items", [
    ("award", [("甲网格", True, False, None), ("乙网格", True, True, FLAGGED)],
     ["", "待核实:期末突击赋分、单人集中赋分"],
     ["确认红旗网格 2 个(其中 1 个待核实,核实后再确认)。"]),
    ("withhold", [("甲网格", True, False, None), ("乙网格", False, True, FLAGGED), ("丙网格", True, False, None)],
     ["", "暂缓评定,待核实:期末突击赋分、单人集中赋分", ""],
     ["确认红旗网格 2 个。", "暂缓评定 1 个,核实后再议:乙网格(期末突击赋分、单人集中赋分)。"]),
])
def test_red_flags_to_check_and_the_items_for_decision(mode, red_flags, checks, first_items):
    names, named, pending, why = zip(*red_flags)
    tables = {
        "red_flags": pd.DataFrame({"grid_id": [f"10{k}-01" for k in range(len(names))], "grid_name": names,
                                   "red_flag": named, "pending": pending, "check_reason": why}),
        "flags": pd.DataFrame({"grid_id": ["101-01", "101-01", "103-01"], "checked": [False, False, True],
                               "flag_label": ["期末突击赋分", "单人集中赋分", "期末突击赋分"]}),
        "workers": pd.DataFrame({"grid_id": ["100-01"]}),
        "fallers": pd.DataFrame({"grid_id": []}),
        "overdue": pd.DataFrame({"ticket_id": ["T1", "T2"]}),
        "coverage": pd.DataFrame({"grid_id": []}),
    }
    rv = review.Review(parse_period("2026Q3"), Area(None), pd.DataFrame(), tables)
    assert report.red_flag_checks(rv)["check"].tolist() == checks
    assert report.decisions(rv) == [
        *first_items,
        "确认优秀网格员 1 名。",
        "核实积分异常:1 个网格,2 条提示(另有 1 条已核实)(见「评选前须核实的积分异常」)。",
        "超期未办的工单 2 张:明确督办(见「超期未办的工单」)。",
    ]


def test_xlsx_holds_the_ranking_and_each_month_of_publication_masked(demo_con, rv, tmp_path, full_names):
    path = tmp_path / "pack.xlsx"
    report.write_xlsx(demo_con, rv, path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert {"网格排名", "红旗网格", "优秀网格员", "2026年7月公示", "2026年8月公示", "2026年9月公示", "2026年9月红灰榜"} \
        <= set(book.sheetnames)
    ranking = list(book["网格排名"].values)
    assert ranking[0][:5] == ("社区", "名次", "网格", "评选结果", "人均积分")
    expected = rv.tables["ranking"]
    assert len(ranking) - 1 == len(expected)
    assert [r[2] for r in ranking[1:]] == expected["grid_name"].tolist()
    assert [r[4] for r in ranking[1:]] == [round(v, 2) for v in expected["avg_credit"]]  # as the page shows it
    september = list(book["2026年9月公示"].values)
    assert len(september) - 1 == len(review.monthly_lists(demo_con, "2026-09")["publication"])
    cells = {str(v) for sheet in book.worksheets for row in sheet.values for v in row if v is not None}
    assert not cells & full_names
    names = [r[2] for r in september[1:]]
    assert all("*" in n for n in names if len(n) >= 2)


def test_publish_writes_masked_xlsx_and_pdf_from_the_command_line(demo_path, demo_con, tmp_path, full_names, capsys):
    assert main(["publish", "--month", "2026-09", "--scope", "C:201", "--out", str(tmp_path / "公示"),
                 "--db", str(demo_path)]) == 0
    assert "已写入" in capsys.readouterr().out
    lists = review.monthly_lists(demo_con, "2026-09", Scope(communities=("201",)))
    book = openpyxl.load_workbook(tmp_path / "公示.xlsx", read_only=True)
    rows = list(book["一月一公示"].values)
    assert len(rows) - 1 == len(lists["publication"]) > 0
    assert {r[0] for r in rows[1:]} == {"东岳国际社区"}
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "公示.pdf").pages)
    assert "东岳国际社区" in text and "法人单位红灰榜" in text
    assert lists["publication"]["name"].iloc[0] in text
    assert not unmasked(text, full_names)


def test_report_command_writes_the_pack(demo_path, tmp_path, capsys):
    out = tmp_path / "pack.xlsx"
    assert main(["report", "--quarter", QUARTER, "--scope", "C:201", "--format", "xlsx", "--out", str(out),
                 "--db", str(demo_path)]) == 0
    assert "东岳国际社区" in capsys.readouterr().out
    ranking = list(openpyxl.load_workbook(out, read_only=True)["网格排名"].values)
    assert {r[0] for r in ranking[1:]} == {"东岳国际社区"}


@pytest.mark.parametrize("argv, message", [
    (["report", "--quarter", "2026-09", "--format", "pdf"], "季度考评按季度进行"),
    (["publish", "--month", "2026Q3", "--out", "x.xlsx"], "公示按月进行"),
    (["publish", "--month", "2026-09", "--out", "x.docx"], "公示文件须为"),
])
def test_bad_arguments_get_a_chinese_error(demo_path, tmp_path, capsys, argv, message):
    assert main(argv + ["--db", str(demo_path)]) == 2
    assert message in capsys.readouterr().err
