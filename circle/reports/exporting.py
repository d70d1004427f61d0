"""The satisfaction export (满意度回访导出) as plain functions: which rows, and the files.

One row per issue that has had its callback: the merchant was reached and rated the
handling, or could not be reached (closed as unreachable). The row shows the issue's
*counted* callback (:mod:`circle.issues.callbacks`: the latest reached call, or for an
unreachable merchant the latest attempt) and that call's rating, so an issue re-handled
after a bad rating appears once, with its latest rating — the same call the desk marks as
effective and the dashboard's satisfaction rate counts.

Nothing here builds a list of all rows. :func:`iter_rows` reads the database in batches by
keyset pagination on ``Issue.id`` (``WHERE id > last ORDER BY id LIMIT n``), each batch on a
short-lived connection of its own, the next batch read while the current one is written;
:func:`csv_chunks` turns rows into bytes batch by batch and :func:`xlsx_chunks` streams a
workbook (:func:`circle.spreadsheet.xlsx_stream`) whose bytes leave while later rows are
still being read. Memory therefore stays bounded by the batch size whatever the number of
rows, on SQLite and on PostgreSQL alike, and no connection sits idle in a transaction while a
slow client downloads.

A city has a million issues, so the per-row work is kept small (about 50,000 rows per
CPU-second for CSV, 30,000 for XLSX, the database's share included): the query reads plain
columns, times come from the database as naive UTC (:class:`naive_utc`, skipping the
per-value conversion of :class:`~circle.timeutil.UTCDateTime`) and are moved to local time
by adding an offset looked up once per hour (:class:`LocalClock`), labels are translated
once (:func:`build_labels`), and no object is built per cell.

Whether the response and the resolution were on time is read from the stored deadlines, the
way :func:`circle.issues.sla.response_state` / :func:`~circle.issues.sla.resolution_state`
decide "met" for a finished clock: the clock finished (on-site arrival, or resolution) no
later than its deadline. The deadlines already carry working days and time on hold (they
were computed, and moved out after holds, when the issue changed), so no calendar is needed
per row; see :func:`on_time`.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from circle import spreadsheet
from circle.accounts.models import User
from circle.config import default as settings_default
from circle.extensions import db
from circle.issues.callbacks import counted_callback_clause
from circle.issues.models import Callback, Issue, IssueCategory, Status
from circle.labels import LEVEL_LABELS, RATING_LABELS, SEVERITY_LABELS
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle, Community
from circle.permissions import scope_by_circle
from circle.spreadsheet import FORMULA_TRIGGERS, safe_cell

#: The rating filter's extra value: the merchant could not be reached.
UNREACHABLE = "unreachable"
#: Which date the date range applies to.
BY_CALLBACK = "callback"
BY_REPORTED = "reported"
DATE_BASES = (BY_CALLBACK, BY_REPORTED)
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
    """One column of the export: its header, what kind of value it holds, its XLSX width."""

    key: str
    header: object  # a lazy string, translated when the labels are built
    kind: str  # "int", "text" or "datetime"
    width: int


# The columns, in the order the issue lists them.
COLUMNS = (
    Column("issue_no", _l("Issue no."), "int", 9),
    Column("work_order_no", _l("12345 work-order no."), "text", 18),
    Column("shop_name", _l("Shop name"), "text", 24),
    Column("circle", _l("Business circle"), "text", 14),
    Column("community", _l("Community"), "text", 14),
    Column("category", _l("Category"), "text", 14),
    Column("severity", _l("Severity"), "text", 10),
    Column("highest_level", _l("Highest level"), "int", 9),
    Column("reported_at", _l("Reported at"), "datetime", 17),
    Column("first_on_site_at", _l("First on site"), "datetime", 17),
    Column("resolved_at", _l("Resolved at"), "datetime", 17),
    Column("response_on_time", _l("Response on time"), "text", 10),
    Column("resolution_on_time", _l("Resolution on time"), "text", 10),
    Column("called_at", _l("Called at"), "datetime", 17),
    Column("called_by", _l("Called by"), "text", 12),
    Column("resolved_per_merchant", _l("Resolved (per merchant)"), "text", 12),
    Column("rating", _l("Rating"), "text", 12),
    Column("comments", _l("Comments"), "text", 40),
    Column("rehandle_count", _l("Re-handlings"), "int", 9),
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
    unreachable: str


def build_labels() -> Labels:
    """Headers and value labels translated once, in the current locale."""
    return Labels(
        headers=tuple(str(column.header) for column in COLUMNS),
        yes=_("Yes"),
        no=_("No"),
        severity={key: str(label) for key, label in SEVERITY_LABELS.items()},
        rating={key: str(label) for key, label in RATING_LABELS.items()},
        unreachable=_("Merchant unreachable"),
    )


def rating_choices() -> dict:
    """The rating filter's options: the five levels, then "unreachable"."""
    return {**RATING_LABELS, UNREACHABLE: _l("Merchant unreachable")}


def level_choices() -> dict:
    """The "highest level reached" filter's options, level 1 to 4."""
    return dict(LEVEL_LABELS)


# --- which rows ---------------------------------------------------------------------------

class naive_utc(FunctionElement):
    """A stored UTC time read as a naive datetime, with no Python conversion per value.

    :class:`~circle.timeutil.UTCDateTime` attaches the zone to every value it reads, which
    for a million rows of seven times costs more than the query; the export only needs the
    UTC wall time. SQLite stores exactly that; PostgreSQL converts ``timestamptz`` to it.
    """

    type = sa.DateTime()
    name = "naive_utc"
    inherit_cache = True


@compiles(naive_utc)
def _naive_utc_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(naive_utc, "postgresql")
def _naive_utc_postgresql(element, compiler, **kw):
    return "timezone('UTC', %s)" % compiler.process(element.clauses, **kw)


def _join_counted_callback(stmt, after=None):
    """``stmt`` (from ``Issue``) joined to the issue's counted callback
    (:func:`circle.issues.callbacks.counted_callback_clause`: the latest reached call or, for
    an unreachable merchant, the latest attempt).

    With ``after``, only issues after that id: the bound is repeated on each table's
    ``issue_id``, as PostgreSQL does not carry a range across a join by itself and would
    otherwise read every earlier callback for each batch of :func:`iter_rows`.
    """
    stmt = stmt.join(Callback, Callback.issue_id == Issue.id).where(
        counted_callback_clause(Callback, Issue, after=after))
    if after is not None:
        stmt = stmt.where(Issue.id > after, Callback.issue_id > after)
    return stmt


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _exported(stmt, user: User, filters: ExportFilters, zone: ZoneInfo):
    """``stmt`` (selecting from ``Issue`` joined to its counted ``Callback``) narrowed to
    the called-back issues ``user`` may see that match ``filters``."""
    stmt = stmt.where(sa.or_(Callback.rating.is_not(None), Issue.callback_unreachable))
    stmt = scope_by_circle(stmt, Issue.circle_id, user)
    moment = Callback.called_at if filters.date_basis == BY_CALLBACK else Issue.reported_at
    if filters.date_from:
        stmt = stmt.where(moment >= _day_start(filters.date_from, zone))
    if filters.date_to:
        stmt = stmt.where(moment < _day_start(filters.date_to + timedelta(days=1), zone))
    if filters.community_id is not None:
        stmt = stmt.where(Issue.circle_id.in_(
            sa.select(BusinessCircle.id)
            .where(BusinessCircle.community_id == filters.community_id)
            .scalar_subquery()))
    if filters.circle_id is not None:
        stmt = stmt.where(Issue.circle_id == filters.circle_id)
    if filters.category_id is not None:
        stmt = stmt.where(Issue.category_id == filters.category_id)
    if filters.severity:
        stmt = stmt.where(Issue.severity == filters.severity)
    if filters.level is not None:
        stmt = stmt.where(Issue.highest_level == filters.level)
    if filters.rating == UNREACHABLE:
        stmt = stmt.where(Issue.callback_unreachable)
    elif filters.rating:
        # An unreachable merchant's older rating is history, not the outcome.
        stmt = stmt.where(Callback.rating == filters.rating, ~Issue.callback_unreachable)
    return stmt


#: The keyset bound of :func:`export_statement`: rows of issues after this id (0: all).
AFTER_ID = "after_id"


def export_statement(user: User, filters: ExportFilters, zone: ZoneInfo):
    """The SELECT of export rows ``user`` may see, filtered; not yet ordered or limited.

    Only issues after the bound parameter :data:`AFTER_ID` (0 unless given), for
    :func:`iter_rows`. Times are naive UTC (:class:`naive_utc`). :class:`RowFormatter`
    unpacks the columns by position, in this order.
    """
    caller = aliased(User)
    stmt = (
        sa.select(
            Issue.id.label("issue_id"),
            Issue.work_order_no,
            Merchant.shop_name,
            BusinessCircle.name.label("circle_name"),
            Community.name.label("community_name"),
            IssueCategory.name.label("category_name"),
            Issue.severity,
            Issue.highest_level,
            Issue.status,
            naive_utc(Issue.reported_at).label("reported_at"),
            naive_utc(Issue.first_on_site_at).label("first_on_site_at"),
            naive_utc(Issue.resolved_at).label("resolved_at"),
            naive_utc(Issue.closed_at).label("closed_at"),
            naive_utc(Issue.response_due_at).label("response_due_at"),
            naive_utc(Issue.resolution_due_at).label("resolution_due_at"),
            naive_utc(Callback.called_at).label("called_at"),
            caller.display_name.label("called_by"),
            Callback.resolved_per_merchant,
            Callback.rating,
            Issue.callback_unreachable,
            Callback.comments,
            Issue.rehandle_count,
        )
        .select_from(Issue)
        .join(Merchant, Merchant.id == Issue.merchant_id)
        .join(BusinessCircle, BusinessCircle.id == Issue.circle_id)
        .join(Community, Community.id == BusinessCircle.community_id)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
    )
    after = sa.bindparam(AFTER_ID, 0, type_=sa.Integer)
    stmt = (_join_counted_callback(stmt, after)
            .outerjoin(caller, caller.id == Callback.called_by_id))
    return _exported(stmt, user, filters, zone)


def count_rows(user: User, filters: ExportFilters, zone: ZoneInfo) -> int:
    """How many rows the export has right now.

    The same rows as :func:`export_statement` without its name lookups: merchant, circle,
    community and category are required foreign keys, and the caller an outer join, so
    they never add or remove a row.
    """
    stmt = _join_counted_callback(sa.select(sa.func.count()).select_from(Issue))
    return db.session.scalar(_exported(stmt, user, filters, zone)) or 0


def iter_rows(stmt, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[sa.Row]:
    """Every row of ``stmt`` (an :func:`export_statement`) in issue order, ``batch_size`` at
    a time.

    Keyset pagination (on :data:`AFTER_ID`) rather than OFFSET (which rescans what it
    skips) or a server-side cursor (which would hold one transaction open for the whole
    download). Each batch runs on its own connection, returned to the pool before the rows
    are handed on, so the generator needs no session and nothing accumulates in an identity
    map. The next batch is read on a helper thread while the caller formats this one: the
    database (or SQLite's C code, which releases the GIL) works on the second core meanwhile.
    """
    engine = db.engine
    stmt = stmt.order_by(Issue.id).limit(batch_size)

    def fetch(last_id: int) -> list[sa.Row]:
        with engine.connect() as connection:
            return connection.execute(stmt, {AFTER_ID: last_id}).all()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-prefetch") as reader:
        batch = fetch(0)
        while batch:
            # Read ahead only after a full batch: a short one was the last.
            ahead = (reader.submit(fetch, batch[-1].issue_id)
                     if len(batch) == batch_size else None)
            yield from batch
            batch = ahead.result() if ahead is not None else []


# --- one row's values -----------------------------------------------------------------------

def on_time(done_at: datetime | None, due_at: datetime | None) -> bool | None:
    """Whether a clock finished in time: ``None`` without a deadline.

    The same rule as ``sla._state(...) == SlaState.MET``: a clock that has not finished is
    not (yet) on time.
    """
    if due_at is None:
        return None
    return done_at is not None and done_at <= due_at


def response_on_time(row) -> bool | None:
    """Response clock: stops at the first on-site arrival, or at the resolution or closing
    of a matter settled without a visit (as :func:`circle.issues.sla.response_state`)."""
    if row.status == Status.WITHDRAWN:
        return None
    done = row.first_on_site_at or row.resolved_at or row.closed_at
    return on_time(done, row.response_due_at)


def resolution_on_time(row) -> bool | None:
    """Resolution clock of the current round (a re-handling restarted it)."""
    if row.status == Status.WITHDRAWN:
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
        self.unreachable = labels.unreachable
        self.yes_no = {None: None, True: labels.yes, False: labels.no}
        self.local = LocalClock(zone)

    def values(self, row) -> list:
        """The row as typed values; text cells still to be made safe by the writer."""
        (issue_id, work_order_no, shop_name, circle_name, community_name, category_name,
         severity, highest_level, status, reported_at, first_on_site_at, resolved_at,
         closed_at, response_due_at, resolution_due_at, called_at, called_by,
         resolved_per_merchant, rating, unreachable, comments, rehandle_count) = row
        local, yes_no = self.local, self.yes_no
        if status == Status.WITHDRAWN:
            response = resolution = None
        else:
            response = yes_no[on_time(first_on_site_at or resolved_at or closed_at,
                                      response_due_at)]
            resolution = yes_no[on_time(resolved_at, resolution_due_at)]
        if unreachable:
            rating, resolved = self.unreachable, None
        else:
            rating, resolved = self.rating.get(rating, rating), yes_no[resolved_per_merchant]
        return [
            issue_id,
            work_order_no,
            shop_name,
            circle_name,
            community_name,
            category_name,
            self.severity.get(severity, severity),
            highest_level,
            local(reported_at),
            local(first_on_site_at),
            local(resolved_at),
            response,
            resolution,
            local(called_at),
            called_by,
            resolved,
            rating,
            comments or None,
            rehandle_count,
        ]

    def csv(self, row) -> list:
        """The row as CSV fields: times as :data:`CSV_DATETIME_FORMAT` (by ``isoformat``,
        the same text several times faster than ``strftime``), text made safe as
        :func:`safe_cell` does, blanks as ``None``."""
        values = self.values(row)
        for index in _TIME_INDEXES:
            value = values[index]
            if value is not None:
                values[index] = value.isoformat(" ", "minutes")
        for index in _TEXT_INDEXES:
            value = values[index]
            if value and value.startswith(FORMULA_TRIGGERS):
                values[index] = "'" + value
        return values


_TIME_INDEXES = [index for index, column in enumerate(COLUMNS) if column.kind == "datetime"]
_TEXT_INDEXES = [index for index, column in enumerate(COLUMNS) if column.kind == "text"]


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
    made safe (:func:`circle.spreadsheet.xlsx_text`); the header row is frozen and bold,
    columns have widths that fit their usual content. Past :data:`XLSX_MAX_ROWS` rows the
    rows continue on a second sheet ("满意度回访 (2)"), and so on.
    """
    return spreadsheet.xlsx_stream(
        map(RowFormatter(labels, zone).values, rows),
        title=_("Satisfaction callbacks"),
        header=labels.headers,
        kinds=[_XLSX_KINDS[column.kind] for column in COLUMNS],
        widths=[column.width for column in COLUMNS],
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
