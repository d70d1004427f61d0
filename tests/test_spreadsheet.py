"""Formula injection is neutralised in every exported text cell; the streaming XLSX writer."""

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from circle import spreadsheet
from circle.spreadsheet import safe_cell, safe_row


@pytest.mark.parametrize("raw", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)",
                                 "\t=1", "\r=1", "=cmd|' /C calc'!A0"])
def test_formula_triggers_are_made_text(raw):
    assert safe_cell(raw) == "'" + raw


@pytest.mark.parametrize("value", ["连濛冷冻食品", "13812345678", "a=b", "", None, 42, -3.5,
                                   datetime(2024, 6, 21)])
def test_other_values_are_untouched(value):
    assert safe_cell(value) == value


def test_safe_row():
    assert safe_row(["=1", 2, "ok"]) == ["'=1", 2, "ok"]


# --- the streaming XLSX writer ------------------------------------------------------------

KINDS = [spreadsheet.NUMBER, spreadsheet.TEXT, spreadsheet.DATETIME, spreadsheet.TEXT]
HEADER = ["No.", "Text", "When", "=Header"]


def workbook_of(chunks):
    data = b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every member's CRC and size are right
    return openpyxl.load_workbook(io.BytesIO(data))


def test_xlsx_stream_writes_typed_cells():
    when = datetime(2024, 6, 21, 9, 30, 15)
    rows = [
        [1, "连濛冷冻食品 & <b>", when, None],
        [2, '=HYPERLINK("http://x","y")', None, "  spaces kept  "],
        [3, "响铃\x07两次\x0b后挂断\ufffe", datetime(1999, 12, 31, 23, 59), 42],
        [4.5, "x" * 40_000, None, "line\nbreak"],
    ]
    book = workbook_of(spreadsheet.xlsx_stream(rows, title="Calls: 6/2024?", header=HEADER,
                                               kinds=KINDS, widths=[9, 24, 17]))
    assert book.sheetnames == ["Calls_ 6_2024_"]
    sheet = book.active
    assert [cell.value for cell in sheet[1]] == ["No.", "Text", "When", "=Header"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 24
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert values[0] == (1, "连濛冷冻食品 & <b>", when, None)
    # An inline string is never a formula: the text is kept as it is, no apostrophe.
    assert values[1] == (2, '=HYPERLINK("http://x","y")', None, "  spaces kept  ")
    assert sheet["B3"].data_type == "s"
    assert values[2] == (3, "响铃两次后挂断", datetime(1999, 12, 31, 23, 59), "42")
    assert values[3][0] == 4.5 and len(values[3][1]) == spreadsheet.XLSX_MAX_TEXT
    assert values[3][3] == "line\nbreak"
    assert sheet["B3"].data_type == "s" and sheet["D4"].data_type == "s"
    assert sheet["C2"].is_date and sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    book.close()


@pytest.mark.parametrize(("text", "width"), [("abc", 3), ("商圈", 4), ("红色商业圈 A", 12),
                                             ("ＡＢ", 4), ("", 0)])
def test_display_width_counts_chinese_double(text, width):
    assert spreadsheet.display_width(text) == width


def test_fitted_widths_follow_the_widest_cell_within_bounds():
    rows = [[1, "东大街商圈", datetime(2024, 6, 1), None],
            [123456, "x", None, "短"],
            [2, "长" * 100, None, "第一行\n第二行比较长"]]
    widths = spreadsheet.fitted_widths(["No.", "商圈", "When", "说明"], KINDS, rows[:2])
    assert widths == [8, 12, 18, 6]
    widths = spreadsheet.fitted_widths(["No.", "商圈", "When", "说明"], KINDS, rows)
    # Capped at 60; a multi-line cell is as wide as its longest line.
    assert widths[1] == 60 and widths[3] == 14


def test_xlsx_stream_fits_widths_to_the_first_rows_only():
    rows = [[number, "文" * (5 if number <= 2 else 50), None, None] for number in range(1, 6)]
    book = workbook_of(spreadsheet.xlsx_stream(rows, title="Fit", header=HEADER, kinds=KINDS,
                                               widths=None, fit_rows=2))
    sheet = book.active
    assert sheet.column_dimensions["B"].width == 12
    # The rows read ahead are all written, in order.
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [1, 2, 3, 4, 5]
    book.close()


def test_xlsx_stream_without_rows_is_a_sheet_with_its_header():
    book = workbook_of(spreadsheet.xlsx_stream([], title="Empty", header=HEADER, kinds=KINDS))
    assert book.sheetnames == ["Empty"]
    assert [cell.value for cell in book.active[1]][:3] == HEADER[:3]
    assert book.active.max_row == 1
    book.close()


@pytest.mark.parametrize("limits", [{"max_rows": 3}, {"max_sheet_bytes": 4096}])
def test_xlsx_stream_continues_on_new_sheets(limits):
    rows = [[number, "文" * 200, None, None] for number in range(1, 12)]
    book = workbook_of(spreadsheet.xlsx_stream(rows, title="回访", header=HEADER, kinds=KINDS,
                                               **limits))
    assert len(book.sheetnames) > 2
    assert book.sheetnames[:3] == ["回访", "回访 (2)", "回访 (3)"]
    numbers = []
    for sheet in book.worksheets:
        assert sheet["A1"].value == "No." and sheet["A1"].font.bold
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row <= limits.get("max_rows", 100)
        numbers += [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == list(range(1, 12))
    book.close()


def test_xlsx_stream_streams_while_reading():
    read = []

    def rows():
        for number in range(20_000):
            read.append(number)
            yield [number, f"第{number}条 {number * 7919 % 10007}", None, None]

    chunks = spreadsheet.xlsx_stream(rows(), title="T", header=HEADER, kinds=KINDS,
                                     chunk_bytes=16 * 1024)
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04") and len(read) < 20_000
    rest = list(chunks)
    assert len(read) == 20_000
    book = workbook_of([first, *rest])
    assert book.active.max_row == 20_001
    book.close()


def test_an_abandoned_stream_closes_quietly():
    chunks = spreadsheet.xlsx_stream(([n, "x" * 100, None, None] for n in range(50_000)),
                                     title="T", header=HEADER, kinds=KINDS,
                                     chunk_bytes=8 * 1024)
    next(chunks)
    chunks.close()  # the client went away: no error, nothing left open


def test_sheet_names_are_valid_and_distinct():
    names = spreadsheet.sheet_names("'满意度回访/Satisfaction callbacks [all]'")
    first, second = next(names), next(names)
    assert first == "满意度回访_Satisfaction callbacks _a"
    assert second == "满意度回访_Satisfaction callback (2)"
    assert len(first) == len(second) == 31
    assert next(spreadsheet.sheet_names("")) == "Sheet"
    assert next(spreadsheet.sheet_names("x" * 30 + "'s")) == "x" * 30
