"""Reading files people upload (merchant lists, a year's holiday calendar): one way to do it.

Spreadsheets saved on Chinese Windows arrive as UTF-8 (with or without BOM), GBK/GB18030 or
UTF-16, separated by commas, tabs or semicolons, or as XLSX workbooks; headers come in
full-width forms and with stars for required fields. These plain functions turn the bytes
into ``(row number, cells)`` and refuse what cannot be read with :class:`UploadRefused`,
whose message is ready to show. Each import keeps its own columns and checks.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from datetime import date, datetime

from openpyxl import load_workbook

from circle.i18n import gettext as _

UTF8_BOM = "\ufeff"
#: A workbook may unpack to this much XML at most (a zip bomb is refused unread).
MAX_UNPACKED_BYTES = 24 * 1024 * 1024  # 5,000 full rows of the template take ~3 MB


class UploadRefused(Exception):
    """The file as a whole cannot be read; ``message`` says why, ready to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def header_key(text: str) -> str:
    """A header cell reduced to what identifies it: full-width forms folded (so ``：`` is
    ``:``), no spaces, underscores, dashes, colons or required-field stars, case ignored."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[\s_\-*:]+", "", text).casefold()


def decode_text(data: bytes, *, unreadable: str | None = None) -> str:
    """The bytes as text (UTF-16 by its BOM, else UTF-8, else GB18030), BOM stripped;
    text with NUL characters is binary, not a CSV."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        # UTF-8 first: GB18030 would "decode" UTF-8 bytes into the wrong characters.
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text.lstrip(UTF8_BOM)
    raise UploadRefused(unreadable or _(
        "The file's text encoding is not recognised. In Excel, save it as \u201cCSV UTF-8\u201d, "
        "or upload the .xlsx file."))


def csv_rows(text: str):
    """``(row number, cells)`` of CSV text, read as the rows are asked for."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Excel writes commas, but "Unicode text" has tabs and some locales use semicolons.
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # The record number is the row number in the spreadsheet the CSV was saved from,
        # even where a quoted cell spans lines.
        yield from enumerate(reader, start=1)
    except csv.Error:
        raise UploadRefused(_("The file could not be read as CSV.")) from None


def _unreadable_xlsx() -> UploadRefused:
    return UploadRefused(_("This file is not a readable XLSX workbook."))


@contextlib.contextmanager
def xlsx_rows(data: bytes, *, max_unpacked: int = MAX_UNPACKED_BYTES):
    """``(row number, values)`` of the workbook's first sheet, read as they are asked for
    (so a file with too many rows is refused without reading them all); the workbook is
    closed when the block ends."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _unreadable_xlsx() from None
    if unpacked > max_unpacked:
        raise UploadRefused(_("The workbook is too large once unpacked. Split it into "
                              "smaller files."))
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it does not read (data validation, styles of
            # other programs); they change nothing in the cell values read here.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file; all mean the same
        raise _unreadable_xlsx() from None
    try:
        if not workbook.worksheets:
            raise _unreadable_xlsx()
        sheet = workbook.worksheets[0]
        # The stored sheet size is often wrong in files other programs wrote.
        sheet.reset_dimensions()
        # Cells past the 64th column are never read (a row may declare 16,384).
        yield _guarded(enumerate(sheet.iter_rows(min_row=1, max_col=64, values_only=True),
                                 start=1))
    finally:
        workbook.close()


def _guarded(rows):
    """The rows, with a damaged sheet (found while reading it) reported as unreadable."""
    try:
        yield from rows
    except Exception:  # as above: any openpyxl error on a damaged sheet
        raise _unreadable_xlsx() from None


def cell_text(value) -> str:
    """A cell as text: 13812345678.0 (a number cell) is 13812345678, dates read as dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
