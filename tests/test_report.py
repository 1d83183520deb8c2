"""The meeting pack and the monthly publication, opened as their readers open them and checked
against the analytics functions: the red-flag grids named, the ranking rows, and no unmasked name
of the people table anywhere."""

import re

import openpyxl
import pytest
from pptx import Presentation
from pypdf import PdfReader

from analytics import credit, report, review
from analytics.__main__ import main
from analytics.period import Scope

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
    for row in rows.itertuples():
        assert f"{row.grid_name}\n{row.avg_credit:.2f}" in slide
    pictures = [sh for sh in deck.slides[2].shapes if sh.shape_type == 13]
    assert len(pictures) == 1
    assert not unmasked("\n".join(slides), full_names)


def test_pdf_is_searchable_with_page_numbers_and_the_quarter_on_every_page(demo_con, rv, images, tmp_path, full_names):
    path = tmp_path / "pack.pdf"
    report.write_pdf(demo_con, rv, path, images)
    pages = [p.extract_text() for p in PdfReader(path).pages]
    assert len(pages) >= 1 + len(rv.communities()) + 9  # a long table runs on to another page
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页" in text and "2026年第3季度" in text and "生成于" in text
    everything = "\n".join(pages)
    for name in rv.tables["red_flags"]["grid_name"]:
        assert name in everything
    assert "479 单" in pages[0]  # the overview's 办结工单 for the quarter
    assert not unmasked(everything, full_names)


def test_xlsx_holds_the_ranking_and_each_month_of_publication_masked(demo_con, rv, tmp_path, full_names):
    path = tmp_path / "pack.xlsx"
    report.write_xlsx(demo_con, rv, path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert {"网格排名", "红旗网格", "优秀网格员", "2026年7月公示", "2026年8月公示", "2026年9月公示", "2026年9月红灰榜"} \
        <= set(book.sheetnames)
    ranking = list(book["网格排名"].values)
    assert ranking[0][:4] == ("社区", "名次", "网格", "人均积分")
    expected = rv.tables["ranking"]
    assert len(ranking) - 1 == len(expected)
    assert [r[2] for r in ranking[1:]] == expected["grid_name"].tolist()
    assert [r[3] for r in ranking[1:]] == [round(v, 2) for v in expected["avg_credit"]]  # as the page shows it
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
