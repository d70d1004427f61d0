"""The satisfaction export (满意度回访导出) as plain functions: its columns, one row's values,
and the files. Which rows, and how they are read, is :mod:`circle.reports.export_rows`.

One row per issue (withdrawn ones left out, as in every figure) that has had its callback:
the merchant was reached and rated the handling, or could not be reached (closed as
unreachable). Every rating that counts has its own columns, by the rules of
:mod:`circle.issues.callbacks`, so each figure of the dashboard can be recounted from the
file: the **first rating** (its time and rating: the first-callback satisfaction rate and,
with "Re-handlings", the re-handling rate), the **final rating** (its time, rating, the
merchant's "solved?" answer, caller and comments: the final satisfaction and
merchant-confirmed rates), the time of the **unreachable call** (the unreachable merchants),
and the number of calls made and of calls that reached the merchant. An issue re-handled
after a bad rating appears once, with both its first and its final rating.

Nothing here builds a list of all rows. :func:`~circle.reports.export_rows.iter_rows` reads
the database in batches by keyset pagination on ``Issue.id`` (``WHERE id > last ORDER BY id
LIMIT n``), each batch on a short-lived connection of its own, the next batch read while the
current one is written; :func:`csv_chunks` turns rows into bytes batch by batch and
:func:`xlsx_chunks` streams a workbook (:func:`circle.spreadsheet.xlsx_stream`) whose bytes
leave while later rows are still being read. Memory therefore stays bounded by the batch size
whatever the number of rows, on SQLite and on PostgreSQL alike, and no connection sits idle in
a transaction while a slow client downloads.

A city has a million issues, so the per-row work is kept small (about 50,000 rows per
CPU-second for CSV, 30,000 for XLSX, the database's share included): the query reads plain
columns, times come from the database as naive UTC
(:class:`~circle.reports.export_rows.naive_utc`, skipping the per-value conversion of
:class:`~circle.timeutil.UTCDateTime`) and are moved to local time by adding an offset looked
up once per hour (:class:`LocalClock`), labels are translated once (:func:`build_labels`), and
no object is built per cell.

Whether the response and the resolution were on time is read from the stored moments and
deadlines by :mod:`circle.issues.response` — the response is ``Issue.responded_at``, kept once
and never reset by re-handling, the same moment the dashboard counts — and for the
resolution the way :func:`~circle.issues.sla.resolution_state` decides "met": resolved no
later than the deadline. The deadlines already carry working days and time on hold (they
were computed, and moved out after holds, when the issue changed), so no calendar is needed
per row; see :func:`on_time`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from circle import spreadsheet
from circle.config import default as settings_default
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.issues.models import Status
from circle.issues.response import on_time, response_on_time  # noqa: F401  (re-exported)
from circle.labels import LEVEL_LABELS, RATING_LABELS, SEVERITY_LABELS
from circle.spreadsheet import FORMULA_TRIGGERS, safe_cell

#: The rating filter's extra value: the merchant could not be reached.
UNREACHABLE = "unreachable"
#: Which date the date range applies to: any of the calls that count (the first rating, the
#: final rating, the unreachable call), the first rating alone (the rows behind the
#: first-callback satisfaction and re-handling rates), the final rating alone (behind the
#: final satisfaction rate), or the registration.
BY_CALLBACK = "callback"
BY_FIRST_RATING = "first_rating"
BY_FINAL_RATING = "final_rating"
BY_REPORTED = "reported"
DATE_BASES = (BY_CALLBACK, BY_FIRST_RATING, BY_FINAL_RATING, BY_REPORTED)
FORMATS = ("csv", "xlsx")

#: Rows per query (and per CSV chunk) outside an app; see CIRCLE_EXPORT_BATCH_SIZE.
DEFAULT_BATCH_SIZE = settings_default("CIRCLE_EXPORT_BATCH_SIZE")
#: Data rows in one XLSX sheet (1,048,576 with the header); more continue on a new sheet.
XLSX_MAX_ROWS = spreadsheet.XLSX_SHEET_ROWS - 1
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M"
CHUNK_BYTES = 256 * 1024
UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    """One column of the export: its header and what kind of value it holds (the XLSX
    widths are fitted to the content, :func:`circle.spreadsheet.fitted_widths`)."""

    key: str
    header: object  # a lazy string, translated when the labels are built
    kind: str  # "int", "text" or "datetime"


# The columns, in the order the issue lists them.
COLUMNS = (
    Column("issue_no", _l("Issue no."), "int"),
    Column("work_order_no", _l("12345 work-order no."), "text"),
    Column("shop_name", _l("Shop name"), "text"),
    Column("circle", _l("Business circle"), "text"),
    Column("community", _l("Community"), "text"),
    Column("category", _l("Category"), "text"),
    Column("severity", _l("Severity"), "text"),
    Column("highest_level", _l("Highest level"), "text"),
    Column("reported_at", _l("Reported at"), "datetime"),
    Column("first_on_site_at", _l("First on site"), "datetime"),
    Column("responded_at", _l("Responded at"), "datetime"),
    Column("resolved_at", _l("Resolved at"), "datetime"),
    Column("response_on_time", _l("Response on time"), "text"),
    Column("resolution_on_time", _l("Resolution on time"), "text"),
    Column("first_called_at", _l("First rating at"), "datetime"),
    Column("first_rating", _l("First rating"), "text"),
    Column("called_at", _l("Final rating at"), "datetime"),
    Column("rating", _l("Final rating"), "text"),
    Column("resolved_per_merchant", _l("Resolved (per merchant)"), "text"),
    Column("called_by", _l("Called by"), "text"),
    Column("comments", _l("Comments"), "text"),
    Column("unreachable_at", _l("Unreachable at"), "datetime"),
    Column("calls", _l("Calls"), "int"),
    Column("reached_calls", _l("Calls reached"), "int"),
    Column("rehandle_count", _l("Re-handlings"), "int"),
)


@dataclass(frozen=True)
class ExportFilters:
    """What to export. ``None`` means "any"; dates are local calendar days, both inclusive."""

    date_basis: str = BY_CALLBACK
    date_from: date | None = None
    date_to: date | None = None
    community_id: int | None = None
    circle_id: int | None = None
    category_id: int | None = None
    severity: str | None = None
    level: int | None = None
    rating: str | None = None

    def for_audit(self) -> dict:
        """The filters as JSON-friendly values, for the audit record."""
        return {key: value.isoformat() if isinstance(value, date) else value
                for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Labels:
    """Every word the file contains that is not data, already in the user's language."""

    headers: tuple[str, ...]
    yes: str
    no: str
    severity: dict
    rating: dict
    level: dict


def build_labels() -> Labels:
    """Headers and value labels translated once, in the current locale."""
    return Labels(
        headers=tuple(str(column.header) for column in COLUMNS),
        yes=_("Yes"),
        no=_("No"),
        severity={key: str(label) for key, label in SEVERITY_LABELS.items()},
        rating={key: str(label) for key, label in RATING_LABELS.items()},
        level={key: str(label) for key, label in LEVEL_LABELS.items()},
    )


def rating_choices() -> dict:
    """The rating filter's options: the five levels, then "unreachable"."""
    return {**RATING_LABELS, UNREACHABLE: _l("Merchant unreachable")}


def level_choices() -> dict:
    """The "highest level reached" filter's options, level 1 to 4."""
    return dict(LEVEL_LABELS)


# --- one row's values -----------------------------------------------------------------------

def resolution_on_time(row) -> bool | None:
    """Resolution clock of the current round (a re-handling restarted it)."""
    if row.status in Status.LEFT:
        return None
    return on_time(row.resolved_at, row.resolution_due_at)


_HOUR = timedelta(hours=1)
_LAST_MICROSECOND = timedelta(microseconds=1)
_UNKNOWN = object()


class LocalClock:
    """Naive UTC times to naive local times in ``zone`` (spreadsheets have no time zones).

    ``astimezone`` costs more than everything else a row needs, four times a row. The
    zone's offset is looked up once per UTC hour and then added; an hour in which the
    offset changes (a daylight-saving switch, or a historical change at any minute) is
    converted value by value. That is exact for every zone, as none changes its offset
    twice within one hour.
    """

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._offsets: dict[int, timedelta | None] = {}

    def __call__(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        hour = value.toordinal() * 24 + value.hour
        offset = self._offsets.get(hour, _UNKNOWN)
        if offset is _UNKNOWN:
            offset = self._offsets[hour] = self._offset_for_hour(value)
        if offset is None:
            return self.exact(value)
        return value + offset

    def _offset_for_hour(self, value: datetime) -> timedelta | None:
        start = value.replace(minute=0, second=0, microsecond=0, tzinfo=timezone.utc)
        first = start.astimezone(self.zone).utcoffset()
        last = (start + _HOUR - _LAST_MICROSECOND).astimezone(self.zone).utcoffset()
        return first if first == last else None

    def exact(self, value: datetime) -> datetime:
        """The conversion itself, without the cache."""
        return value.replace(tzinfo=timezone.utc).astimezone(self.zone).replace(tzinfo=None)


class RowFormatter:
    """Export rows as the file's values, in :data:`COLUMNS` order: labels in the user's
    language, times local. Built once per export; :meth:`values` for typed cells (naive
    datetimes, ``None`` for blank), :meth:`csv` for CSV text."""

    def __init__(self, labels: Labels, zone: ZoneInfo):
        self.severity = labels.severity
        self.rating = labels.rating
        self.level = labels.level
        self.yes_no = {None: None, True: labels.yes, False: labels.no}
        self.local = LocalClock(zone)

    def values(self, row) -> list:
        """The row as typed values; text cells still to be made safe by the writer."""
        (issue_id, work_order_no, shop_name, circle_name, community_name, category_name,
         severity, highest_level, status, reported_at, first_on_site_at, responded_at,
         resolved_at, response_due_at, resolution_due_at, first_called_at, first_rating,
         called_at, rating, resolved_per_merchant, called_by, comments, unreachable_at,
         calls, reached_calls, rehandle_count) = row
        local, yes_no, ratings = self.local, self.yes_no, self.rating
        # Withdrawn issues are not exported (they count in no figure); the clocks are read
        # as circle.issues.response and resolution_on_time read them.
        response = yes_no[on_time(responded_at, response_due_at)]
        resolution = yes_no[on_time(resolved_at, resolution_due_at)]
        return [
            issue_id,
            work_order_no,
            shop_name,
            circle_name,
            community_name,
            category_name,
            self.severity.get(severity, severity),
            self.level.get(highest_level, highest_level),
            local(reported_at),
            local(first_on_site_at),
            local(responded_at),
            local(resolved_at),
            response,
            resolution,
            local(first_called_at),
            ratings.get(first_rating, first_rating),
            local(called_at),
            ratings.get(rating, rating),
            yes_no[resolved_per_merchant] if called_at is not None else None,
            called_by,
            comments or None,
            local(unreachable_at),
            calls,
            reached_calls,
            rehandle_count,
        ]

    def csv(self, row) -> list:
        """The row as CSV fields: times as :data:`CSV_DATETIME_FORMAT` (by ``isoformat``,
        the same text several times faster than ``strftime``), text made safe as
        :func:`safe_cell` does, the 12345 work-order number as :func:`csv_code`, blanks as
        ``None``."""
        values = self.values(row)
        for index in _TIME_INDEXES:
            value = values[index]
            if value is not None:
                values[index] = value.isoformat(" ", "minutes")
        for index in _TEXT_INDEXES:
            value = values[index]
            if value and value.startswith(FORMULA_TRIGGERS):
                values[index] = "'" + value
        values[_WORK_ORDER_INDEX] = csv_code(values[_WORK_ORDER_INDEX])
        return values


#: A code a spreadsheet would mangle as a number or a date, and that is safe to quote in a
#: formula: digits, letters, dashes, slashes, dots, underscores (no quote, no space).
_CODE = re.compile(r"[0-9A-Za-z_./-]+")


def csv_code(value: str | None) -> str | None:
    """A code (the 12345 work-order number) as a CSV field that Excel, WPS and LibreOffice
    all open as the same text: ``="202411180000123456"``.

    Opened plainly, an 18-digit number becomes ``2.02411E+17`` (15 significant digits),
    ``00123`` becomes ``123`` and ``2024-11`` a date. A formula whose result is the text
    is read as text by every one of them (LibreOffice evaluates formulas when it opens a
    CSV, as Excel does; tests/test_export.py checks it with LibreOffice headless). A
    leading tab, the other common trick, keeps the tab in LibreOffice's cell. Only codes
    of :data:`_CODE`'s characters are wrapped (nothing in them can break out of the
    quotes); any other text is made safe as :func:`safe_cell` does.
    """
    if value is None or not _CODE.fullmatch(value):
        return value
    return f'="{value}"'


_TIME_INDEXES = [index for index, column in enumerate(COLUMNS) if column.kind == "datetime"]
_TEXT_INDEXES = [index for index, column in enumerate(COLUMNS) if column.kind == "text"]
_WORK_ORDER_INDEX = next(index for index, column in enumerate(COLUMNS)
                         if column.key == "work_order_no")


# --- the files ----------------------------------------------------------------------------

def csv_chunks(rows: Iterable, labels: Labels, zone: ZoneInfo, *,
               rows_per_chunk: int = DEFAULT_BATCH_SIZE) -> Iterator[bytes]:
    """The CSV file in pieces: UTF-8 with a BOM (Excel on Windows then reads Chinese right),
    the header first, then ``rows_per_chunk`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(UTF8_BOM)
    writer.writerow([safe_cell(header) for header in labels.headers])
    csv_fields = RowFormatter(labels, zone).csv
    writerow = writer.writerow
    pending = 0
    for row in rows:
        writerow(csv_fields(row))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


_XLSX_KINDS = {"int": spreadsheet.NUMBER, "text": spreadsheet.TEXT,
               "datetime": spreadsheet.DATETIME}


def xlsx_chunks(rows: Iterable, labels: Labels, zone: ZoneInfo, *,
                chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The XLSX workbook in pieces, written while the rows are read.

    Dates are real date-time cells (local time, no zone), numbers are numbers, text is
    the user's own (:func:`circle.spreadsheet.xlsx_text`: an inline string never runs as a
    formula); the header row is frozen and bold, columns are as wide as the header and the
    first rows need (Chinese counted double). Past :data:`XLSX_MAX_ROWS` rows the
    rows continue on a second sheet ("满意度回访 (2)"), and so on.
    """
    return spreadsheet.xlsx_stream(
        map(RowFormatter(labels, zone).values, rows),
        title=_("Satisfaction callbacks"),
        header=labels.headers,
        kinds=[_XLSX_KINDS[column.kind] for column in COLUMNS],
        widths=None,
        max_rows=XLSX_MAX_ROWS + 1,
        chunk_bytes=chunk_bytes,
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_filename(filters: ExportFilters, today: date, extension: str) -> tuple[str, str]:
    """The file name in the user's language and an ASCII fallback, carrying the date range.

    ``满意度回访_2024-06-01_2024-06-30.csv``; without a start date only the end date (today
    when none was given) is named.
    """
    end = filters.date_to or today
    dates = ([filters.date_from.isoformat()] if filters.date_from else []) + [end.isoformat()]
    name = "_".join([_("Satisfaction callbacks"), *dates]) + "." + extension
    ascii_name = "_".join(["satisfaction-callbacks", *dates]) + "." + extension
    return name, ascii_name


def content_disposition(name: str, ascii_name: str) -> dict:
    """``Content-Disposition`` parameters: RFC 5987 ``filename*`` for the real name, and a
    plain ``filename`` for clients that know only that."""
    params = {"filename": ascii_name}
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        params["filename*"] = "UTF-8''" + quote(unicodedata.normalize("NFC", name),
                                                safe="!#$&+^`|~-._")
    else:
        params["filename"] = name
    return params
