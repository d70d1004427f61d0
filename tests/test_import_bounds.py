"""Imports bound the work, not only the bytes: empty rows, wide rows, time."""

from __future__ import annotations

import io
import time

import openpyxl

from tests.test_import import GOOD_ROWS, HEADER, text, upload


def _workbook(rows) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_sheet_of_empty_rows_answers_in_seconds(admin_browser, db, data):
    blank = [" "]
    content = _workbook([HEADER, *GOOD_ROWS[:2], *([blank] * 20_000)])
    start = time.monotonic()
    response = upload(admin_browser, data.east, content, filename="merchants.xlsx")
    assert time.monotonic() - start < 10
    assert response.status_code == 200
    assert 'id="import-confirm"' in response.get_data(as_text=True)


def test_reading_stops_at_the_time_budget(admin_browser, db, data, monkeypatch):
    from circle.reports import importing

    monkeypatch.setattr(importing, "MAX_PARSE_SECONDS", -1)
    content = _workbook([HEADER, *GOOD_ROWS])
    response = upload(admin_browser, data.east, content, filename="merchants.xlsx")
    assert response.status_code == 200
    assert text("The file takes too long to read. Remove empty rows and columns, or split it "
                "into smaller files.") in response.get_data(as_text=True)
