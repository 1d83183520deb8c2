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

from . import access, appeals, charts, clock, columns, db, export, review
from .review import Review, Table

log = logging.getLogger(__name__)
FORMATS = ("pptx", "pdf", "xlsx")
FONT = "gridgov-cjk"
# TrueType (not CFF) Chinese fonts a PDF can embed, with the index of the face inside a .ttc.
TRUETYPE_FONTS = [("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
                  ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
                  ("C:/Windows/Fonts/msyh.ttc", 0), ("C:/Windows/Fonts/simhei.ttf", 0)]
MAX_SLIDE_ROWS = 15
WITHHELD = "按导出人的角色,本材料不含涉及个人的名单。"
HEADLINE = Table("headline", "总体情况", "", {"label": "指标", "value": "本期", "change": "变化"})
# A community's ranking under its name: the award as the meeting decides it, 待核实 included.
COMMUNITY_RANKING = Table("community_ranking", "", review.RANKING.metric_id,
                          {k: review.RANKING.columns[k] for k in ("rank", "grid_name", "avg_credit", "rank_change",
                                                                  "residents", "award_label")})


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
    """Each chart 640 px wide, the width of half a printed page, so that its labels print at the size
    of the table beside it; every community's chart the same size."""
    out = {}
    ranking = rv.tables["ranking"]
    for community_id, _ in rv.communities():
        rows = ranking[ranking["community_id"] == community_id]
        out[f"community:{community_id}"] = _png(_ranking_chart(rows), 640, 460)
    tickets = rv.tables["tickets"].sort_values("median_days", ascending=False)
    if len(tickets):
        height = max(300, 30 * len(tickets) + 90)
        out["tickets"] = _png(charts.bar(tickets, "community_name", "median_days", horizontal=True,
                                         y_title="办结用时中位数(天)", text_format=".1f", height=height), 640, height)
    spent = rv.tables["redemptions"].sort_values("redemptions", ascending=False)
    if spent["redemptions"].any():
        height = max(260, 30 * len(spent) + 90)
        out["redemptions"] = _png(charts.bar(spent, "category_label", "redemptions", horizontal=True,
                                             y_title="兑换人次", height=height), 640, height)
    return out


# -- XLSX ------------------------------------------------------------------------------------

def _sheet(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table's columns under its headers, numbers rounded as the pages show them."""
    return columns.formatted(frame[list(table.columns)], table.columns, table.formats, table.metric_id)


def write_xlsx(con, rv: Review, out) -> None:
    """The ranking tables, ticket and credit figures, and each month's publication lists."""
    headline = pd.DataFrame([(row.label, *review.headline_numbers(row), row.unit) for row in rv.headline.itertuples()],
                            columns=["指标", "本期", "上期", "单位"])
    sheets = {"概况": headline, "结果口径": pd.DataFrame({"口径": [rv.status] + ([rv.official.detail] if rv.official else [])})}
    for table in (review.RANKING, review.RED_FLAGS, review.WORKERS, review.FALLERS, review.TICKETS, review.VOLUNTEERS,
                  review.REDEMPTIONS, review.COVERAGE, review.FLAGS, review.OVERDUE, review.APPEALS):
        sheets[table.title] = _sheet(rv.tables[table.key], table)
    for month in rv.quarter.months():
        lists = review.monthly_lists(con, month, rv.scope, rv.user)
        sheets[f"{month.label_zh}公示"] = _sheet(lists["publication"], review.PUBLICATION)
        sheets[f"{month.label_zh}红灰榜"] = _sheet(lists["red_grey"], review.RED_GREY)
    export.write_xlsx(out, sheets)


# -- PPTX ------------------------------------------------------------------------------------

SLIDE_FONT, SLIDE_FONT_EA = "Microsoft YaHei", "微软雅黑"


def _slide_font(run) -> None:
    """The run's Latin and East Asian fonts. PowerPoint and WPS take Chinese glyphs from the East
    Asian font (a:ea), not the Latin one; charset -122 (GB2312, as PowerPoint writes it) lets a
    machine without 微软雅黑 substitute a Chinese font rather than the theme's."""
    from pptx.oxml.ns import qn
    from pptx.oxml.xmlchemy import OxmlElement

    run.font.name = SLIDE_FONT
    properties = run._r.get_or_add_rPr()
    ea = properties.find(qn("a:ea"))
    if ea is None:
        ea = OxmlElement("a:ea")
        properties.find(qn("a:latin")).addnext(ea)
    ea.set("typeface", SLIDE_FONT_EA)
    ea.set("charset", "-122")
    properties.set("lang", "zh-CN")  # so that a substitute font is chosen in its Simplified Chinese forms
    properties.set("altLang", "en-US")


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
        _slide_font(run)
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
                        _slide_font(run)
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
    text(s, 0.8, 3.7, 11.7, 0.6, f"范围:{rv.scope_label} · {rv.status}", 24)
    text(s, 0.8, 4.4, 11.7, 0.6, f"生成日期:{clock.today():%Y年%m月%d日} · 网格治理驾驶舱", 18, color=grey)

    # County summary: the overview page's six headline figures.
    s = slide("总体情况")
    for k, row in enumerate(review.headline_text(rv.headline).itertuples()):
        left, top = 0.6 + (k % 3) * 4.1, 1.5 + (k // 3) * 2.6
        text(s, left, top, 3.8, 0.5, row.label, 18, color=grey)
        text(s, left, top + 0.5, 3.8, 1.0, row.value, 40, True)
        text(s, left, top + 1.5, 3.8, 0.5, row.change, 16, color=grey)

    # One slide per community: its ranking.
    ranking = review.short_grid_names(rv.tables["ranking"])
    spec = Table("r", "", COMMUNITY_RANKING.metric_id,
                 {k: v for k, v in COMMUNITY_RANKING.columns.items() if k != "residents"})
    for community_id, name in rv.communities():
        rows = ranking[ranking["community_id"] == community_id]
        s = slide(f"{name} · 网格排名", review.RANKING.note + "金色为红旗网格。")
        table(s, rows, spec, 0.5, 1.3, 6.4, 13)
        picture(s, f"community:{community_id}", 7.2, 1.3, 5.7, 5.5)

    s = slide("红旗网格", review.RED_FLAGS.note)
    table(s, rv.tables["red_flags"], review.RED_FLAGS, 0.5, 1.3, 12.3, 13)
    s = slide("优秀网格员", review.WORKERS.note)
    if access.may_see(rv.user, review.WORKERS.metric_id):
        table(s, rv.tables["workers"], review.WORKERS, 0.5, 1.3, 12.3, 13)
    else:
        text(s, 0.5, 1.3, 12.3, 0.6, WITHHELD, 18, color=grey)

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
    table(s, rv.tables["fallers"], Table("f", "", review.FALLERS.metric_id,
                                         {k: v for k, v in review.FALLERS.columns.items()
                                          if k in ("grid_name", "prev_rank", "rank", "rank_change")}), 0.5, 1.8, 6.0, 12)
    text(s, 6.9, 1.2, 6.0, 0.5, review.OVERDUE.title, 20, True)
    table(s, rv.tables["overdue"], Table("o", "", review.OVERDUE.metric_id,
                                         {k: v for k, v in review.OVERDUE.columns.items()
                                          if k in ("ticket_id", "grid_name", "next_step_label", "age_days")}),
          6.9, 1.8, 6.0, 12)
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


GAP = 18  # points between two blocks side by side


class _Pages:
    """What a PDF is written with: the page frame, the styles, and blocks (lists of flowables)
    for headings, tables, charts and side-by-side pairs, each sized to fit the page."""

    def __init__(self, out, heading: str, stamp: str, draft: bool = False):
        from reportlab import rl_config
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4, landscape
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.platypus import SimpleDocTemplate

        self.mm, self.colors, self.draft = mm, colors, draft
        # Binary streams: ASCII85 makes the file a quarter larger and, in pure Python, takes most of the time.
        rl_config.useA85 = 0
        self.font = font = _register_pdf_font(pdfmetrics, UnicodeCIDFont)
        grey, red = colors.HexColor("#595959"), colors.HexColor(charts.RED)

        def style(name, size, leading, **options):
            return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **options)

        self.styles = {
            "cover": style("cover", 30, 40, textColor=red, spaceAfter=18),
            "cover_line": style("cover_line", 16, 26),
            "h1": style("h1", 18, 24, textColor=red, spaceAfter=6),
            "h2": style("h2", 13, 18, spaceBefore=4, spaceAfter=4),
            "body": style("body", 10.5, 15),
            "item": style("item", 10.5, 15, leftIndent=14, firstLineIndent=-14, spaceAfter=3),
            "note": style("note", 9, 13, textColor=grey),
            "cell": style("cell", 9, 11.5),
            "head": style("head", 9, 11.5),
            "head_right": style("head_right", 9, 11.5, alignment=2),
        }
        generated = f"生成于 {clock.today():%Y年%m月%d日}"

        def decorate(canvas, doc):
            canvas.saveState()
            canvas.setFont(font, 9)
            canvas.setFillColor(grey)
            width, _ = doc.pagesize
            canvas.drawString(doc.leftMargin, 8 * mm, f"{heading} · {stamp} · {generated}")
            canvas.drawRightString(width - doc.rightMargin, 8 * mm, f"第 {doc.page} 页")
            canvas.restoreState()

        self.decorate = decorate
        self.doc = SimpleDocTemplate(str(out) if isinstance(out, (str, Path)) else out, pagesize=landscape(A4),
                                     leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=16 * mm,
                                     title=heading, author="网格治理驾驶舱")
        self.found: dict[str, int] = {}  # heading -> the page it was drawn on (the last, if repeated)
        # The frame's own padding (6 pt each side) comes off what a flowable may use.
        self.width, self.height = self.doc.width - 12, self.doc.height - 12

    def build(self, story: list) -> None:
        self.doc.build(story, onFirstPage=self.decorate, onLaterPages=self.decorate)

    def text(self, value: str, style: str = "body"):
        """A paragraph of plain text (escaped: names from the data print as written)."""
        from reportlab.platypus import Paragraph

        return Paragraph(escape(value), self.styles[style])

    def heading(self, title: str, note: str = "", style: str = "h2"):
        """The title (with a note beside it in small grey type); the page it lands on is noted in
        self.found, for a contents list and references written in a second pass."""
        from reportlab.platypus import Paragraph

        found = self.found

        class Heading(Paragraph):
            def draw(self):
                found[title] = self.canv.getPageNumber()
                super().draw()

        markup = escape(title)
        if note:
            markup += f'<font size="9" color="#595959">  {escape(note)}</font>'
        return Heading(markup, self.styles[style])

    def table(self, frame: pd.DataFrame, spec: Table, highlight=None, wrap_at: int = 22, fit=None) -> list:
        """The table's rows as printed; highlight (booleans aligned with frame) shades rows in gold.
        Columns are as wide as their text; a text longer than wrap_at Chinese characters wraps within
        its column. A long header breaks before its unit ("服务时长 / (小时)"), and in halves as well
        when the table would be wider than fit (default: the page)."""
        from reportlab.pdfbase.pdfmetrics import stringWidth
        from reportlab.platypus import Paragraph
        from reportlab.platypus import Table as PdfTable
        from reportlab.platypus import TableStyle

        if frame.empty:
            return [self.text("本期没有。", "note")]
        shown = review.shown(frame, spec).astype(str)
        numeric = [c in spec.formats for c in spec.columns]
        pad, cap = 4, wrap_at * 9

        def measure(text: str) -> float:
            return stringWidth(text, self.font, 9)

        for compact in (False, True):
            widths, wraps, headers = [], [], []
            for column in shown.columns:
                lines = column.replace("(", "\n(").split("\n") if _width(column) > 10 else [column]
                if compact:
                    lines = [part for line in lines
                             for part in ([line[:len(line) // 2], line[len(line) // 2:]] if _width(line) > 10 else [line])]
                data = max(map(measure, shown[column]))
                widths.append(min(max(data, *map(measure, lines)), cap) + 2 * pad + 1)
                wraps.append(data > cap)
                headers.append(lines)
            if sum(widths) <= (fit or self.width):
                break
        header = [Paragraph("<br/>".join(map(escape, lines)), self.styles["head_right" if numeric[j] else "head"])
                  for j, lines in enumerate(headers)]
        body = [[Paragraph(escape(v), self.styles["cell"]) if wraps[j] else v for j, v in enumerate(row)]
                for row in shown.values.tolist()]
        grid = PdfTable([header] + body, colWidths=widths, repeatRows=1, hAlign="LEFT")
        commands = [
            ("FONT", (0, 0), (-1, -1), self.font, 9),
            ("BACKGROUND", (0, 0), (-1, 0), self.colors.HexColor("#F6E3E3")),
            ("GRID", (0, 0), (-1, -1), 0.3, self.colors.HexColor("#BBBBBB")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), pad), ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ]
        commands += [("ALIGN", (j, 1), (j, -1), "RIGHT") for j, n in enumerate(numeric) if n]
        if highlight is not None:
            commands += [("BACKGROUND", (0, i), (-1, i), self.colors.HexColor("#FBEFC5"))
                         for i, h in enumerate(highlight, start=1) if h]
        grid.setStyle(TableStyle(commands))
        return [grid]

    def image(self, png: bytes | None, width: float, height: float):
        """The chart scaled to fit width x height (points), or a note where no browser drew it; in a
        draft, a blank of its size."""
        from reportlab.platypus import Image, Spacer

        if png is None:
            return self.text("(本机没有可用于绘图的浏览器,图表从略,数字见表格。)", "note")
        picture = Image(io.BytesIO(png))
        scale = min(width / picture.imageWidth, height / picture.imageHeight)
        picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
        return Spacer(picture.drawWidth, picture.drawHeight) if self.draft else picture

    @staticmethod
    def _flat(flowables: list) -> list:
        """The flowables with any KeepTogether opened up (one cannot be measured outside a page)."""
        from reportlab.platypus import KeepTogether

        return [g for f in flowables for g in (f._content if isinstance(f, KeepTogether) else [f])]

    def fits(self, flowables: list, width=None, height=None) -> bool:
        sizes = [f.wrap(width or self.width, self.height) for f in self._flat(flowables)]
        return all(w <= (width or self.width) + 0.5 for w, _ in sizes) and sum(h for _, h in sizes) <= (height or self.height)

    def sides(self, share: float = 0.5) -> tuple[float, float]:
        """The widths of the two blocks beside each other, the left taking share of the width."""
        return (self.width - GAP) * share, (self.width - GAP) * (1 - share)

    def beside(self, left, right, share: float | None = 0.5) -> list:
        """Two blocks side by side (left taking share of the width; None: each its tables' width
        if both fit so), or one after the other when either is too wide for its side or taller than
        a page (a long table then runs on with its header repeated). A block is a list of
        flowables, or a function of the width it gets."""
        from reportlab.platypus import Paragraph
        from reportlab.platypus import Table as PdfTable

        if share is None:
            # Headings and notes take any width; the tables say what they need (a block of text alone, half).
            need = [max([f.wrap(self.width, self.height)[0] for f in self._flat(b(self.width) if callable(b) else b)
                         if not isinstance(f, Paragraph)] or [self.width / 2]) for b in (left, right)]
            share = need[0] / sum(need) if sum(need) + GAP <= self.width else 0.5
        widths = self.sides(share)
        left, right = (block(w) if callable(block) else block for block, w in zip((left, right), widths))
        if not (self.fits(left, widths[0]) and self.fits(right, widths[1])):
            return left + right
        pair = PdfTable([[self._flat(left), self._flat(right)]], colWidths=[widths[0] + GAP, widths[1]], hAlign="LEFT")
        pair.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                       ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (0, 0), GAP),
                       ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
        return [pair]

    def charted(self, title: str, note: str, table: list, chart, share: float = 0.5) -> list:
        """A table with its chart beside it under one heading; a table too long for that runs on by
        itself, and its chart follows under the same heading, so that no chart lands on a page
        without its title."""
        pair = self.beside(table, [chart], share)
        if len(pair) == 1:
            return self.section(title, note, pair)
        return self.section(title, note, table) + self.section(f"{title}(图)", "", [chart])

    def section(self, title: str, note: str, content: list) -> list:
        """A heading with its content, kept on one page when they fit on one."""
        from reportlab.platypus import KeepTogether

        return [KeepTogether([self.heading(title, note), *content])]


def _pdf(out, heading: str, stamp: str, build, draft: bool = False) -> dict[str, int]:
    """A PDF whose every page carries stamp (the period), the generation date and a page number;
    build(pages) returns the story. Returns the page of each heading."""
    pages = _Pages(out, heading, stamp, draft)
    pages.build(build(pages))
    return pages.found


MOVERS = Table("movers", "名次变化最大的网格", "grid-credit-ranking",
               {"community_name": "社区", "grid_name": "网格", "prev_rank": "上期名次", "rank": "本期名次",
                "rank_change": "名次变化"})
RED_FLAG_CHECKS = Table("red_flag_checks", "红旗网格", "red-flag-grids",
                        {"community_name": "社区", "grid_name": "网格", "avg_credit": "人均积分", "check": "核实"})
FINDINGS_ROWS = 15


def movers(ranking: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The n grids that rose most and the n that fell most in their community's ranking since the
    previous quarter, risers first."""
    moved = ranking.dropna(subset=["rank_change"])
    up = moved[moved["rank_change"] > 0].sort_values(["rank_change", "community_name", "rank"],
                                                     ascending=[False, True, True]).head(n)
    down = moved[moved["rank_change"] < 0].sort_values(["rank_change", "community_name", "rank"]).head(n)
    return pd.concat([up, down]).reset_index(drop=True)


def red_flag_checks(rv: Review) -> pd.DataFrame:
    """The 红旗网格, and the grids withheld pending the check, with for those still to be checked
    "待核实" (or "暂缓评定,待核实") and what: the check before the award (analytics.awards)."""
    out = rv.tables["red_flags"].copy()
    out["check"] = [("待核实:" if named else "暂缓评定,待核实:") + str(why).replace(";", "、") if pending else ""
                    for named, pending, why in zip(out["red_flag"], out["pending"], out["check_reason"])]
    return out


def decisions(rv: Review, found: dict[str, int] | None = None) -> list[str]:
    """The items for the meeting to decide, each with how many rows it rests on and where its table
    is (with its page when found gives the headings' pages)."""
    t = rv.tables

    def see(spec: Table) -> str:
        page = (found or {}).get(spec.title)
        return f"(见「{spec.title}」" + (f",第 {page} 页)" if page else ")")

    checks = red_flag_checks(rv)
    named = checks[checks["red_flag"]]
    items = [f"确认红旗网格 {len(named)} 个" + (f"(其中 {named['pending'].sum()} 个待核实,核实后再确认)。"
                                              if named["pending"].any() else "。")]
    if withheld := review.withheld(checks):
        items.append(f"暂缓评定 {len(withheld)} 个,核实后再议:" + ";".join(withheld) + "。")
    if len(t["workers"]):
        items.append(f"确认优秀网格员 {len(t['workers'])} 名。")
    open_flags = t["flags"][~t["flags"]["checked"]]
    if len(open_flags):
        done = len(t["flags"]) - len(open_flags)
        items.append(f"核实积分异常:{open_flags['grid_id'].nunique()} 个网格,{len(open_flags)} 条提示"
                     + (f"(另有 {done} 条已核实)" if done else "") + f"{see(review.FLAGS)}。")
    if len(t["fallers"]):
        items.append(f"名次下降 3 位及以上的网格 {len(t['fallers'])} 个:研究原因{see(review.FALLERS)}。")
    if len(t["overdue"]):
        items.append(f"超期未办的工单 {len(t['overdue'])} 张:明确督办{see(review.OVERDUE)}。")
    if len(t["coverage"]):
        items.append(f"服务圈覆盖不足的网格 {len(t['coverage'])} 个:研究补点{see(review.COVERAGE)}。")
    return items


def write_pdf(con, rv: Review, out, images: dict[str, bytes | None] | None = None) -> None:
    """The same content as the PPTX, as pages to print and post: a cover, a page of findings, the
    communities' rankings two to a page (each table beside its chart), then the topic tables."""
    county = county_name(con)
    images = review_charts(rv) if images is None else images
    heading = title(rv, county)
    ranking = rv.tables["ranking"]

    communities = rv.communities()
    findings = f"本季度要点 · {rv.quarter.label_zh}"
    contents = [(findings, findings)] + ([("各社区网格排名", f"{communities[0][1]} · 网格排名")] if communities else []) + [
        (spec.title, spec.title) for spec in (review.RED_FLAGS, review.WORKERS, review.TICKETS, review.REDEMPTIONS,
                                              review.VOLUNTEERS, review.COVERAGE)] + [("待会议决定的事项", "待会议决定的事项")]

    def cover(p: _Pages, found: dict[str, int]) -> list:
        from reportlab.platypus import PageBreak, Spacer
        from reportlab.platypus import Table as PdfTable

        q = rv.quarter
        scope = f"{rv.scope_label}({len(communities)} 个社区、{len(ranking)} 个网格)"
        people = "个人姓名已脱敏" if access.may_see(rv.user, review.WORKERS.metric_id) else "不含个人名单"
        about = [p.text(f"县(区):{county}", "cover_line"),
                 p.text(f"考评季度:{q.label_zh}({q.start:%Y年%-m月%-d日}至{q.last_day:%Y年%-m月%-d日})", "cover_line"),
                 p.text(f"范围:{scope}", "cover_line"), p.text(f"结果口径:{rv.status}", "cover_line"),
                 p.text(f"生成日期:{clock.today():%Y年%-m月%-d日}", "cover_line"),
                 Spacer(1, 12 * p.mm), p.text(f"网格治理驾驶舱 · 数字与驾驶舱「季度考评」页一致;{people}。", "note")]
        rows = [[p.text(label), p.text(f"第 {found[key]} 页" if key in found else "")] for label, key in contents]
        index = PdfTable(rows, colWidths=[150, 60], hAlign="LEFT")
        index.setStyle([("LINEBELOW", (0, 0), (-1, -1), 0.3, p.colors.HexColor("#BBBBBB")),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 2)])
        return [Spacer(1, 30 * p.mm), p.text(heading, "cover"),
                *p.beside(about, [p.heading("目录"), index], 0.62), PageBreak()]

    def summary(p: _Pages, found: dict[str, int]) -> list:
        from reportlab.platypus import PageBreak

        checks = red_flag_checks(rv)
        shown = checks.head(FINDINGS_ROWS)
        red = [p.heading("红旗网格", review.RED_FLAGS.note),
               *p.table(shown, RED_FLAG_CHECKS, highlight=shown["check"].ne(""), wrap_at=15)]
        if len(checks) > FINDINGS_ROWS:
            red.append(p.text(f"另有 {len(checks) - FINDINGS_ROWS} 个,见「{review.RED_FLAGS.title}」表。", "note"))
        red += [p.heading("待会议决定的事项")]
        red += [p.text(f"{k}. {item}", "item") for k, item in enumerate(decisions(rv, found), 1)]
        moved = [p.heading("总体情况", f"较{rv.headline['compared_span'].iloc[0]}"),
                 *p.table(review.headline_text(rv.headline), HEADLINE),
                 p.heading(MOVERS.title, "社区内名次,较上期;正数为上升"), *p.table(movers(ranking), MOVERS)]
        return [p.heading(findings, style="h1"), *p.beside(moved, red, 0.45), PageBreak()]

    def community(p: _Pages, community_id: str, name: str) -> list:
        rows = review.short_grid_names(ranking[ranking["community_id"] == community_id])
        half = p.height / 2 - 45  # two communities and their headings to a page, or one and a topic
        chart = p.image(images.get(f"community:{community_id}"), p.sides(0.48)[1], half)
        return p.charted(f"{name} · 网格排名", review.RANKING.note + "金色为红旗网格。",
                         p.table(rows, COMMUNITY_RANKING, highlight=rows["red_flag"]), chart, 0.48)

    def charted(p: _Pages, key: str, spec: Table, chart: str, note: str = "") -> list:
        table = p.table(rv.tables[key], spec)
        if chart not in images:
            return p.section(spec.title, note or spec.note, table)
        height = min(p.height - 40, max(140, table[0].wrap(p.width, p.height)[1]))
        return p.charted(spec.title, note or spec.note, table, p.image(images[chart], p.sides()[1], height))

    def plain(p: _Pages, key: str, spec: Table):
        """The table under its heading, as a block for p.beside: a function of the width it gets."""
        def block(width: float) -> list:
            if not access.may_see(rv.user, spec.metric_id):
                return p.section(spec.title, "", [p.text(WITHHELD, "note")])
            return p.section(spec.title, spec.note, p.table(rv.tables[key], spec, fit=width))
        return block

    def build(p: _Pages, found: dict[str, int]) -> list:
        from reportlab.platypus import PageBreak, Spacer

        story = cover(p, found) + summary(p, found)
        for k, (community_id, name) in enumerate(communities):
            story += community(p, community_id, name)
            # The topics follow the last community on its page when it is alone there.
            story += [PageBreak()] if k % 2 and k < len(communities) - 1 else [Spacer(1, 10)]
        gap = [Spacer(1, 10)]
        story += p.beside(plain(p, "red_flags", review.RED_FLAGS), plain(p, "workers", review.WORKERS), None) + gap
        story += charted(p, "tickets", review.TICKETS, "tickets", "办结用时:从居民提单到结果公开。") + gap
        story += charted(p, "redemptions", review.REDEMPTIONS, "redemptions") + gap
        story += p.beside(plain(p, "volunteers", review.VOLUNTEERS), plain(p, "coverage", review.COVERAGE)) + gap
        story += [PageBreak(), p.heading("待会议决定的事项", style="h1"), *plain(p, "flags", review.FLAGS)(p.width), *gap]
        story += p.beside(plain(p, "fallers", review.FALLERS), plain(p, "overdue", review.OVERDUE))
        story += gap + plain(p, "appeals", review.APPEALS)(p.width)
        return story

    # Written twice: the first time finds the page of each heading for the contents and references
    # (they change no page's length, so the pages stay where they were found).
    stamp = f"{rv.quarter.label_zh} · {rv.scope_label}"
    found = _pdf(io.BytesIO(), heading, stamp, lambda p: build(p, {}), draft=True)
    _pdf(out, heading, stamp, lambda p: build(p, found))


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
    marks = appeals.publication_marks(con, month)
    scope_label = area.label
    suffix = "." + suffix if suffix else Path(out).suffix.lower()
    if suffix == ".xlsx":
        about = pd.DataFrame({"项目": ["月份", "范围", "公示期", "考评结果"],
                              "内容": [month.label_zh, scope_label, marks["publicity"], marks["official"]]})
        export.write_xlsx(out, {"一月一公示": _sheet(lists["publication"], review.PUBLICATION),
                                "法人单位红灰榜": _sheet(lists["red_grey"], review.RED_GREY), "公示说明": about})
        return
    if suffix != ".pdf":
        raise ValueError(f"公示文件须为 .xlsx 或 .pdf,收到: {suffix}")
    heading = f"{county_name(con)}{month.label_zh}信用积分公示"

    def build(p: _Pages) -> list:
        from reportlab.platypus import PageBreak

        story = [p.text(heading, "h1"),
                 p.text(f"范围:{scope_label}。一月一公示:本月积分有变动的居民,姓名已脱敏;如有异议,请向所在网格反映。"),
                 p.text(f"{marks['publicity']}。{marks['official']}。")]
        publication = lists["publication"]
        for community, rows in publication.groupby("community_name", sort=True):
            story += [p.heading(str(community)), *p.table(rows, review.PUBLICATION), PageBreak()]
        if publication.empty:
            story += [p.text("本月没有积分变动。"), PageBreak()]
        story += [p.heading("法人单位红灰榜"), *p.table(lists["red_grey"], review.RED_GREY)]
        return story

    _pdf(out, heading, f"{month.label_zh} · {scope_label}", build)
