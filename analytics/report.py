"""The meeting pack (PPTX, PDF, XLSX) and the monthly publication (XLSX, PDF), written from
analytics.review so that every figure is the one the pages show.

Charts are plotly figures from analytics.charts rendered by kaleido with the system's Chromium
(or Chrome); where no browser is found the pack says so on the slide and keeps the tables.
PDFs embed a Chinese TrueType font when the machine has one (WenQuanYi Micro Hei on Debian:
fonts-wqy-microhei; SimHei or Microsoft YaHei on Windows), so the text is searchable and copyable
and looks the same everywhere; without one they fall back to the Adobe font STSong-Light, which
PDF readers supply themselves (the text is still searchable).
"""

import io
import logging
import warnings
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from . import access, charts, clock, columns, db, export, review
from .review import Review, Table

log = logging.getLogger(__name__)
FORMATS = ("pptx", "pdf", "xlsx")
FONT = "gridgov-cjk"
# TrueType (not CFF) Chinese fonts a PDF can embed, with the index of the face inside a .ttc.
TRUETYPE_FONTS = [("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
                  ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
                  ("C:/Windows/Fonts/msyh.ttc", 0), ("C:/Windows/Fonts/simhei.ttf", 0)]
MAX_SLIDE_ROWS = 15
HEADLINE = Table("headline", "总体情况", "", {"label": "指标", "value": "本期", "change": "变化"})


def _width(value) -> float:
    """Printed width in Latin characters: a Chinese character counts as two."""
    text = str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def county_name(con) -> str:
    return db.get_meta(con, "county", "桓台县")


def title(rv: Review, county: str) -> str:
    return f"{county}{rv.quarter.label_zh}网格治理考评"


# -- charts --------------------------------------------------------------------------------

def _png(fig, width: int = 1100, height: int = 520) -> bytes | None:
    """The figure as PNG bytes, or None when no browser can render it (logged)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fig.to_image(format="png", width=width, height=height, scale=2)
    except Exception:  # no Chromium/Chrome on this machine, or it failed to start
        log.exception("chart rendering failed")
        return None


def _ranking_chart(ranking: pd.DataFrame):
    return charts.bar(ranking, "grid_name", "avg_credit", horizontal=True, y_title="人均积分(分)",
                      highlight=ranking["red_flag"], text_format=".2f", height=max(380, 44 * len(ranking)))


def review_charts(rv: Review) -> dict[str, bytes | None]:
    """The pack's chart images, keyed 'community:<id>', 'tickets', 'redemptions'. One browser draws
    them all and is closed afterwards (starting one per chart costs two seconds each)."""
    import kaleido

    try:
        kaleido.start_sync_server(silence_warnings=True)
    except Exception:
        log.exception("no browser for charts")
    try:
        return _draw(rv)
    finally:
        try:
            kaleido.stop_sync_server(silence_warnings=True)
        except Exception:
            log.exception("stopping the chart browser failed")


def _draw(rv: Review) -> dict[str, bytes | None]:
    out = {}
    ranking = rv.tables["ranking"]
    for community_id, _ in rv.communities():
        rows = ranking[ranking["community_id"] == community_id]
        out[f"community:{community_id}"] = _png(_ranking_chart(rows), 640, max(400, 40 * len(rows) + 80))
    tickets = rv.tables["tickets"].sort_values("median_days", ascending=False)
    if len(tickets):
        out["tickets"] = _png(charts.bar(tickets, "community_name", "median_days", horizontal=True,
                                         y_title="办结用时中位数(天)", text_format=".1f",
                                         height=max(380, 34 * len(tickets) + 80)), 900, max(400, 34 * len(tickets) + 80))
    spent = rv.tables["redemptions"].sort_values("redemptions", ascending=False)
    if spent["redemptions"].any():
        out["redemptions"] = _png(charts.bar(spent, "category_label", "redemptions", y_title="兑换人次"), 900, 420)
    return out


# -- XLSX ------------------------------------------------------------------------------------

def _sheet(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table's columns under its headers, numbers rounded as the pages show them."""
    return columns.formatted(frame[list(table.columns)], table.columns, table.formats, table.metric_id)


def write_xlsx(con, rv: Review, out) -> None:
    """The ranking tables, ticket and credit figures, and each month's publication lists."""
    headline = pd.DataFrame([(row.label, *review.headline_numbers(row), row.unit) for row in rv.headline.itertuples()],
                            columns=["指标", "本期", "上期", "单位"])
    sheets = {"概况": headline}
    for table in (review.RANKING, review.RED_FLAGS, review.WORKERS, review.FALLERS, review.TICKETS, review.VOLUNTEERS,
                  review.REDEMPTIONS, review.COVERAGE, review.FLAGS, review.OVERDUE, review.APPEALS):
        sheets[table.title] = _sheet(rv.tables[table.key], table)
    for month in rv.quarter.months():
        lists = review.monthly_lists(con, month, rv.scope, rv.user)
        sheets[f"{month.label_zh}公示"] = _sheet(lists["publication"], review.PUBLICATION)
        sheets[f"{month.label_zh}红灰榜"] = _sheet(lists["red_grey"], review.RED_GREY)
    export.write_xlsx(out, sheets)


# -- PPTX ------------------------------------------------------------------------------------

def write_pptx(con, rv: Review, out, images: dict[str, bytes | None] | None = None) -> None:
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Inches, Pt

    red, grey = RGBColor(0xC0, 0x16, 0x1D), RGBColor(0x59, 0x59, 0x59)
    county = county_name(con)
    images = review_charts(rv) if images is None else images
    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)  # 16:9, 13.33 x 7.5 in
    blank = deck.slide_layouts[6]

    def text(slide, left, top, width, height, value, size=18, bold=False, color=None):
        frame = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height)).text_frame
        frame.word_wrap = True
        run = frame.paragraphs[0].add_run()
        run.text, run.font.size, run.font.bold = value, Pt(size), bold
        run.font.name = "Microsoft YaHei"
        if color is not None:
            run.font.color.rgb = color
        return frame

    def slide(heading: str, note: str = ""):
        s = deck.slides.add_slide(blank)
        bar = s.shapes.add_shape(1, 0, 0, deck.slide_width, Inches(0.18))
        bar.fill.solid()
        bar.fill.fore_color.rgb = red
        bar.line.fill.background()
        text(s, 0.5, 0.35, 12.3, 0.8, heading, 30, True, red)
        footer = f"{rv.quarter.label_zh} · {rv.scope_label} · {county}"
        text(s, 0.5, 7.0, 9, 0.4, footer + (f" · {note}" if note else ""), 11, color=grey)
        return s

    def table(s, frame: pd.DataFrame, spec: Table, left, top, width, size=13):
        if frame.empty:
            text(s, left, top, width, 0.6, "本期没有。", 18, color=grey)
            return
        shown = review.shown(frame.head(MAX_SLIDE_ROWS), spec)
        # Columns as wide as their longest text, so that names do not wrap.
        need = [max([_width(c)] + [_width(v) for v in shown[c]]) + 1.5 for c in shown.columns]
        widths = [width * n / sum(need) for n in need]
        row_height = 0.33
        grid = s.shapes.add_table(len(shown) + 1, len(shown.columns), Inches(left), Inches(top), Inches(width),
                                  Inches(row_height * (len(shown) + 1))).table
        for j, column in enumerate(shown.columns):
            grid.columns[j].width = Inches(widths[j])
            grid.cell(0, j).text = str(column)
            for i, value in enumerate(shown[column], start=1):
                grid.cell(i, j).text = str(value)
        for row in grid.rows:
            row.height = Inches(row_height)
            for cell in row.cells:
                cell.margin_top = cell.margin_bottom = Inches(0.03)
                for paragraph in cell.text_frame.paragraphs:
                    for run in paragraph.runs:
                        run.font.size = Pt(size)
                        run.font.name = "Microsoft YaHei"
        if len(frame) > MAX_SLIDE_ROWS:
            text(s, left, top + row_height * (MAX_SLIDE_ROWS + 1) + 0.05, width, 0.4,
                 f"另有 {len(frame) - MAX_SLIDE_ROWS} 行,见会议材料 XLSX。", 12, color=grey)

    def picture(s, key: str, left, top, width, height):
        png = images.get(key)
        if png is None:
            text(s, left, top, width, 0.6, "(本机没有可用于绘图的浏览器,图表从略,数字见表格。)", 14, color=grey)
            return
        from PIL import Image

        pixels = Image.open(io.BytesIO(png)).size
        scale = min(width / pixels[0], height / pixels[1])
        s.shapes.add_picture(io.BytesIO(png), Inches(left), Inches(top), Inches(pixels[0] * scale),
                             Inches(pixels[1] * scale))

    # Title
    s = deck.slides.add_slide(blank)
    text(s, 0.8, 2.3, 11.7, 1.2, title(rv, county), 44, True, red)
    text(s, 0.8, 3.7, 11.7, 0.6, f"范围:{rv.scope_label}", 24)
    text(s, 0.8, 4.4, 11.7, 0.6, f"生成日期:{clock.today():%Y年%m月%d日} · 网格治理驾驶舱", 18, color=grey)

    # County summary: the overview page's six headline figures.
    s = slide("总体情况")
    for k, row in enumerate(review.headline_text(rv.headline).itertuples()):
        left, top = 0.6 + (k % 3) * 4.1, 1.5 + (k // 3) * 2.6
        text(s, left, top, 3.8, 0.5, row.label, 18, color=grey)
        text(s, left, top + 0.5, 3.8, 1.0, row.value, 40, True)
        text(s, left, top + 1.5, 3.8, 0.5, row.change, 16, color=grey)

    # One slide per community: its ranking.
    ranking = rv.tables["ranking"]
    for community_id, name in rv.communities():
        rows = ranking[ranking["community_id"] == community_id]
        s = slide(f"{name} · 网格排名", review.RANKING.note + "金色为红旗网格。")
        spec = Table("r", "", "", {k: v for k, v in review.RANKING.columns.items()
                                   if k not in ("community_name", "residents")}, review.RANKING.formats)
        table(s, rows, spec, 0.5, 1.3, 6.4, 13)
        picture(s, f"community:{community_id}", 7.2, 1.3, 5.7, 5.5)

    s = slide("红旗网格", review.RED_FLAGS.note)
    table(s, rv.tables["red_flags"], review.RED_FLAGS, 0.5, 1.3, 12.3, 13)
    s = slide("优秀网格员", review.WORKERS.note)
    table(s, rv.tables["workers"], review.WORKERS, 0.5, 1.3, 12.3, 13)

    s = slide("协商议事", "办结用时:从居民提单到结果公开。")
    table(s, rv.tables["tickets"], review.TICKETS, 0.5, 1.3, 6.4, 12)
    picture(s, "tickets", 7.2, 1.3, 5.6, 5.4)

    s = slide("信用积分兑换与志愿服务")
    table(s, rv.tables["redemptions"], review.REDEMPTIONS, 0.5, 1.3, 6.4, 12)
    picture(s, "redemptions", 7.2, 1.3, 5.6, 3.0)
    s = slide("各社区志愿服务")
    table(s, rv.tables["volunteers"], review.VOLUNTEERS, 0.5, 1.3, 12.3, 12)

    s = slide("服务阵地覆盖", review.COVERAGE.note)
    table(s, rv.tables["coverage"], review.COVERAGE, 0.5, 1.3, 12.3, 13)

    s = slide("待会议决定的事项", review.FLAGS.note)
    text(s, 0.5, 1.2, 12.3, 0.5, review.FLAGS.title, 20, True)
    table(s, rv.tables["flags"], review.FLAGS, 0.5, 1.8, 12.3, 12)
    s = slide("待会议决定的事项(续)")
    text(s, 0.5, 1.2, 6.0, 0.5, review.FALLERS.title, 20, True)
    table(s, rv.tables["fallers"], Table("f", "", "", {k: v for k, v in review.FALLERS.columns.items()
                                                       if k in ("grid_name", "prev_rank", "rank", "rank_change")},
                                         review.FALLERS.formats), 0.5, 1.8, 6.0, 12)
    text(s, 6.9, 1.2, 6.0, 0.5, review.OVERDUE.title, 20, True)
    table(s, rv.tables["overdue"], Table("o", "", "", {k: v for k, v in review.OVERDUE.columns.items()
                                                       if k in ("ticket_id", "grid_name", "next_step_label", "age_days")},
                                         review.OVERDUE.formats), 6.9, 1.8, 6.0, 12)
    deck.save(out)


# -- PDF -------------------------------------------------------------------------------------

def _register_pdf_font(pdfmetrics, UnicodeCIDFont) -> str:
    """The name of the Chinese font to write with: an embedded TrueType font if one is installed."""
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path, index in TRUETYPE_FONTS:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=index))
                return FONT
            except Exception:  # a damaged or CFF-flavoured file: try the next
                log.warning("cannot embed font %s", path)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _pdf(out, heading: str, stamp: str, build) -> None:
    """A PDF whose every page carries stamp (the period) and the generation date and a page number."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as PdfTable
    from reportlab.platypus import TableStyle

    font = _register_pdf_font(pdfmetrics, UnicodeCIDFont)
    styles = {
        "h1": ParagraphStyle("h1", fontName=font, fontSize=20, leading=26, textColor=colors.HexColor(charts.RED),
                             spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=15, leading=20, spaceBefore=8, spaceAfter=6),
        "body": ParagraphStyle("body", fontName=font, fontSize=10.5, leading=15),
        "note": ParagraphStyle("note", fontName=font, fontSize=9, leading=13, textColor=colors.HexColor("#595959")),
    }
    generated = f"生成于 {clock.today():%Y年%m月%d日}"

    def decorate(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.setFillColor(colors.HexColor("#595959"))
        width, _ = doc.pagesize
        canvas.drawString(doc.leftMargin, 8 * mm, f"{heading} · {stamp} · {generated}")
        canvas.drawRightString(width - doc.rightMargin, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    def table(frame: pd.DataFrame, spec: Table) -> list:
        if frame.empty:
            return [Paragraph("本期没有。", styles["note"])]
        shown = review.shown(frame, spec)
        data = [list(shown.columns)] + shown.astype(str).values.tolist()
        grid = PdfTable(data, repeatRows=1)
        grid.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), font, 9.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#F6E3E3")),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#BBBBBB")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]))
        return [grid]

    def image(png: bytes | None, width_mm: float = 160):
        if png is None:
            return Paragraph("(本机没有可用于绘图的浏览器,图表从略,数字见表格。)", styles["note"])
        picture = Image(io.BytesIO(png))
        scale = width_mm * mm / picture.imageWidth
        picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
        return picture

    doc = SimpleDocTemplate(str(out) if isinstance(out, (str, Path)) else out, pagesize=landscape(A4),
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=16 * mm,
                            title=heading, author="网格治理驾驶舱")
    story = build(styles, table, image, Paragraph, Spacer, PageBreak)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)


def write_pdf(con, rv: Review, out, images: dict[str, bytes | None] | None = None) -> None:
    """The same content as the PPTX, as pages to print and post."""
    county = county_name(con)
    images = review_charts(rv) if images is None else images
    heading = title(rv, county)

    def build(styles, table, image, Paragraph, Spacer, PageBreak):
        # Paragraph reads markup: names from the data are escaped so they print as written.
        story = [Paragraph(escape(heading), styles["h1"]), Paragraph(f"范围:{escape(rv.scope_label)}", styles["body"]),
                 Paragraph("总体情况", styles["h2"])]
        story += table(review.headline_text(rv.headline), HEADLINE)
        ranking = rv.tables["ranking"]
        spec = Table("r", "", "", {k: v for k, v in review.RANKING.columns.items() if k != "community_name"},
                     review.RANKING.formats)
        for community_id, name in rv.communities():
            rows = ranking[ranking["community_id"] == community_id]
            story += [PageBreak(), Paragraph(f"{escape(name)} · 网格排名", styles["h2"]), *table(rows, spec),
                      Spacer(1, 6), Paragraph(review.RANKING.note + "图中金色为红旗网格。", styles["note"]),
                      image(images.get(f"community:{community_id}"), 120)]
        for key, spec, chart in (("red_flags", review.RED_FLAGS, None), ("workers", review.WORKERS, None),
                                 ("tickets", review.TICKETS, "tickets"), ("volunteers", review.VOLUNTEERS, None),
                                 ("redemptions", review.REDEMPTIONS, "redemptions"), ("coverage", review.COVERAGE, None),
                                 ("flags", review.FLAGS, None), ("fallers", review.FALLERS, None),
                                 ("overdue", review.OVERDUE, None), ("appeals", review.APPEALS, None)):
            story += [PageBreak(), Paragraph(spec.title, styles["h2"]), *table(rv.tables[key], spec)]
            if spec.note:
                story += [Spacer(1, 6), Paragraph(spec.note, styles["note"])]
            if chart and chart in images:
                story += [Spacer(1, 8), image(images[chart], 150)]
        return story

    _pdf(out, heading, f"{rv.quarter.label_zh} · {rv.scope_label}", build)


def pack_bytes(con, rv: Review, fmt: str) -> bytes:
    """The meeting pack as bytes, for a download button."""
    buffer = io.BytesIO()
    {"pptx": write_pptx, "pdf": write_pdf, "xlsx": write_xlsx}[fmt](con, rv, buffer)
    return buffer.getvalue()


def publication_bytes(con, month, suffix: str, scope=None, user=None) -> bytes:
    buffer = io.BytesIO()
    write_publication(con, month, buffer, scope, suffix=suffix, user=user)
    return buffer.getvalue()


def write_pack(con, quarter, fmt: str, out, scope=None, user=None) -> Review:
    """The meeting pack for a quarter in one format, on a user's behalf when one is given (their
    scope, and lists of people only if the role may see them); returns the review it was written from."""
    from .period import COUNTY

    if fmt not in FORMATS:
        raise ValueError(f"不支持的格式 {fmt!r},可选: {', '.join(FORMATS)}")
    rv = review.quarter_review(con, quarter, scope or COUNTY, user)
    {"pptx": write_pptx, "pdf": write_pdf, "xlsx": write_xlsx}[fmt](con, rv, out)
    return rv


# -- monthly publication -------------------------------------------------------------------

def write_publication(con, month, out, scope=None, suffix: str | None = None, user=None) -> None:
    """一月一公示 and 红灰榜 for a month, masked, as XLSX or PDF (by suffix, else the file's suffix);
    on a user's behalf only if the role may see lists of people, and within the user's scope."""
    from .period import COUNTY, parse_period

    access.require_metric(user, review.PUBLICATION.metric_id)
    month = parse_period(month)
    area = access.effective_scope(user, scope or COUNTY, con)
    lists = review.monthly_lists(con, month, area, user)
    scope_label = area.label
    suffix = "." + suffix if suffix else Path(out).suffix.lower()
    if suffix == ".xlsx":
        export.write_xlsx(out, {"一月一公示": _sheet(lists["publication"], review.PUBLICATION),
                                "法人单位红灰榜": _sheet(lists["red_grey"], review.RED_GREY)})
        return
    if suffix != ".pdf":
        raise ValueError(f"公示文件须为 .xlsx 或 .pdf,收到: {suffix}")
    heading = f"{county_name(con)}{month.label_zh}信用积分公示"

    def build(styles, table, image, Paragraph, Spacer, PageBreak):
        story = [Paragraph(escape(heading), styles["h1"]),
                 Paragraph(f"范围:{escape(scope_label)}。一月一公示:本月积分有变动的居民,姓名已脱敏;如有异议,请向所在网格反映。",
                           styles["body"])]
        publication = lists["publication"]
        for community, rows in publication.groupby("community_name", sort=True):
            story += [Paragraph(escape(str(community)), styles["h2"]), *table(rows, review.PUBLICATION), PageBreak()]
        if publication.empty:
            story += [Paragraph("本月没有积分变动。", styles["body"]), PageBreak()]
        story += [Paragraph("法人单位红灰榜", styles["h2"]), *table(lists["red_grey"], review.RED_GREY)]
        return story

    _pdf(out, heading, f"{month.label_zh} · {scope_label}", build)
