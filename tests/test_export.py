"""The one spreadsheet writer: hostile text stays text in every XLSX and is neutralised in every CSV,
numbers stay numbers, and downloads read as the screen does (rounding, 是/否, Chinese headers)."""

import csv
import io

import openpyxl
import pandas as pd
from openpyxl.utils.escape import unescape
import pytest

from analytics import columns, export, metrics

# (cell as stored, cell as a CSV must carry it)
HOSTILE = [
    ('=HYPERLINK("http://x","李四")', '\'=HYPERLINK("http://x","李四")'),
    ("+1", "'+1"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("＝1+1", "'＝1+1"),
    ("=****)", "'=****)"),  # a hostile name, masked
    ("张*明", "张*明"),
    ("a=1", "a=1"),
    ("http://example.com", "http://example.com"),
]


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame({"名称": [text for text, _ in HOSTILE], "积分": [-3.5] + [1.0] * (len(HOSTILE) - 1),
                         "名次变化": pd.array([-2] + [1] * (len(HOSTILE) - 1), dtype="Int64")})


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the byte-order mark to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def formula_cells(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [f"{s.title}!{c.coordinate}" for s in book.worksheets for row in s.iter_rows() for c in row
            if c.data_type == "f"]


@pytest.mark.parametrize("text, carried", HOSTILE)
def test_a_csv_carries_formula_leading_text_behind_an_apostrophe(text, carried):
    rows = read_csv(export.csv_bytes(pd.DataFrame({"名称": [text]})))
    assert rows == [["名称"], [carried]]


def test_negative_numbers_in_numeric_columns_stay_numbers_in_a_csv():
    rows = read_csv(export.csv_bytes(hostile_frame()))
    assert rows[1][1:] == ["-3.5", "-2"]


def test_an_xlsx_holds_hostile_text_as_text_and_numbers_as_numbers():
    data = export.xlsx_bytes({"清单": hostile_frame()})
    assert formula_cells(data) == []
    sheet = openpyxl.load_workbook(io.BytesIO(data))["清单"]
    assert [unescape(c.value) for c in sheet["A"][1:]] == [text for text, _ in HOSTILE]  # _x000D_ is a CR
    assert {c.data_type for c in sheet["A"][1:]} == {"s"}
    assert (sheet["B2"].value, sheet["B2"].data_type, sheet["C2"].value, sheet["C2"].data_type) == (-3.5, "n", -2, "n")
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize("name, taken, expected", [
    ("网格信用积分排名", set(), "网格信用积分排名"),
    ("a/b:c*d?e[f]g\\h", set(), "a_b_c_d_e_f_g_h"),
    ("x" * 40, set(), "x" * 31),
    ("公示", {"公示"}, "公示_2"),
])
def test_sheet_names_are_ones_excel_accepts(name, taken, expected):
    assert export.sheet_name(name, taken) == expected


@pytest.mark.parametrize("parts, expected", [
    (("网格信用积分排名", "2026Q3", "兴旺社区"), "网格信用积分排名_2026Q3_兴旺社区"),
    (("清单", "2026-09", "a/b\\c:d"), "清单_2026-09_a_b_c_d"),
])
def test_file_names_hold_no_path_characters(parts, expected):
    assert export.file_name(*parts) == expected


@pytest.mark.parametrize("values, spec, expected", [
    ([1.784774436090226, 2.5], ".2f", [1.78, 2.5]),
    ([3.14159, None], ".1f", [3.1, None]),
    ([-2.6, 4.4], "+d", [-3, 4]),
    ([0.0774, 0.04], ".1%", [7.7, 4.0]),
    ([1234.4, 99.5], ",.0f", [1234, 100]),
    ([-0.25, 12.0], "+.1f", [-0.3, 12.0]),  # a tie of the binary value: half away from zero, as the screen rounds
])
def test_numbers_are_rounded_as_shown(values, spec, expected):
    out = columns.formatted(pd.DataFrame({"v": values}), {"v": "值"}, {"v": spec})
    assert [None if pd.isna(v) else v for v in out.iloc[:, 0]] == expected


def test_headers_yes_no_shares_and_times_are_written_as_the_screen_shows_them():
    frame = pd.DataFrame({
        "grid_name": ["一网格"], "avg_credit": [1.784774436090226], "red_flag": [True], "share": [0.0774],
        "filed_at": pd.to_datetime(["2026-09-01 08:30:59"]), "month": pd.to_datetime(["2026-09-01"]),
        "bottleneck": [False]})
    out = columns.formatted(frame)
    assert out.to_dict("records") == [{"网格": "一网格", "人均积分": 1.78, "红旗网格": "是", "占比(%)": 7.7,
                                       "提单时间": pd.Timestamp("2026-09-01 08:30"), "月份": pd.Timestamp("2026-09-01").date(),
                                       "瓶颈": "否"}]
    text = export.csv_bytes(out).decode("utf-8-sig")
    assert text.splitlines()[1] == "一网格,1.78,是,7.7,2026-09-01 08:30,2026-09-01,否"


def test_a_page_header_and_format_win_over_the_dictionary():
    frame = pd.DataFrame({"label": ["东岳国际社区"], "mean_score": [87.6543]})
    assert list(columns.formatted(frame, metric_id="volunteers-by-community").columns) == ["社区", "评价均分"]
    out = columns.formatted(frame, {"label": "物业企业"}, {"mean_score": ".1f"})
    assert out.to_dict("records") == [{"物业企业": "东岳国际社区", "评价均分": 87.7}]
    assert columns.formatted(frame, metric_id="property-scores")["平均分"].tolist() == [87.7]


def test_every_metric_column_has_a_chinese_header_unique_within_its_metric(small_path):
    from analytics import db

    with db.connect(small_path, read_only=True) as con:
        missing, repeated = [], []
        for m in metrics.REGISTRY:
            frame = m.compute(con, "2026Q3", grid_id="201-01")
            missing += [f"{m.id}.{c}" for c in frame.columns if columns.column(c, m.id).header == c]
            headers = list(columns.formatted(frame, metric_id=m.id).columns)
            repeated += [f"{m.id}.{h}" for h in headers if headers.count(h) > 1]
    assert missing == [] and repeated == []


def test_two_columns_under_one_header_are_a_programming_error():
    with pytest.raises(RuntimeError, match="same header"):
        columns.formatted(pd.DataFrame({"a": [1], "b": [2]}), {"a": "列", "b": "列"})


# Each value as every surface writes it; test_browser.py checks the page's own formatter against it.
WRITTEN = [
    (1234.567, ",.1f", "1,234.6"),
    (10.644, ".1f", "10.6"),
    (3.0, "+d", "+3"),
    (-2, "+d", "-2"),
    (0, "+d", "+0"),
    (0.04, "+.1f", "+0.0"),
    (-0.04, "+.1f", "-0.0"),
    (0.125, ".2f", "0.13"),  # a tie of the binary value: half away from zero, as the browser rounds
    (-2.5, ",d", "-3"),
    (0.8823, ".1%", "88.2%"),
    (0.0006, ".1%", "0.1%"),
    (12345, ",d", "12,345"),
    (1234567.891, "+,.1f", "+1,234,567.9"),
]


@pytest.mark.parametrize(("value", "spec", "expected"), WRITTEN + [
    (None, ".1f", "—"),
    (float("nan"), ",d", "—"),
    ("兴旺社区", ",d", "兴旺社区"),
])
def test_a_value_is_written_one_way_everywhere(value, spec, expected):
    assert columns.text(value, spec) == expected


@pytest.mark.parametrize(("change", "unit", "spec", "higher_is_better", "text", "tone"), [
    (42, "单", ",d", True, "+42 单", "better"),
    (-88, "单", ",d", True, "-88 单", "worse"),
    (0, "单", ",d", True, "±0 单", "same"),
    (0.3, "天", ".1f", False, "+0.3 天", "worse"),
    (0.0004, "%", ".1f", True, "±0.0 个百分点", "same"),
    (-0.012, "%", ".1f", True, "-1.2 个百分点", "worse"),
])
def test_a_headline_change_reads_with_its_sign_and_tone(change, unit, spec, higher_is_better, text, tone):
    assert columns.change_text(change, unit, spec) == text
    shown_spec = f".{int(spec[-2]) + 2}f" if unit == "%" else spec
    assert columns.change_tone(change, shown_spec, higher_is_better) == tone


def test_a_headline_figure_has_its_columns_digits():
    # the same median on 总览 (a headline) and 协商议事 (a table column)
    assert columns.headline_spec("median_days", "天") == columns.column("median_days").format == ".1f"
    assert columns.headline_spec("avg_credit", "分") == ".2f"
    assert columns.headline_spec("coverage", "%") == ",.1f"


def test_the_same_figure_reads_the_same_on_the_page_in_the_pack_and_in_the_download(small_path):
    # The page draws a column with printf(spec), which the browser writes as text() does
    # (test_browser.py checks Streamlit's own formatter against text()).
    from analytics import db, review
    from pages._widgets import drawn

    with db.connect(small_path, read_only=True) as con:
        ranking = metrics.get("grid-credit-ranking").compute(con, "2026Q2")
    table = review.RANKING
    printed = review.shown(ranking, table)  # the pack
    rows, config = drawn(ranking[list(table.columns)], table.metric_id, dict(table.columns))
    download = columns.formatted(ranking[list(table.columns)], table.columns, metric_id=table.metric_id)
    for name in ("avg_credit", "rank_change", "residents"):
        header, spec = table.columns[name], columns.column(name).format
        assert config[name]["type_config"]["format"] == columns.printf(spec)
        assert rows[name].equals(ranking[name])
        for shown, number in zip(printed[header], download[header]):
            assert shown == "—" if pd.isna(number) else columns.text(number, spec) == shown
