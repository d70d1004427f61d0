"""The satisfaction export (满意度回访导出) as plain functions: which rows, and the files.

One row per issue that has had its callback: the merchant was reached and rated the
handling, or could not be reached (closed as unreachable). The row shows the issue's
*effective* callback — the latest reached call, or for an unreachable merchant the latest
attempt — so an issue re-handled after a bad rating appears once, with its latest rating.

Nothing here builds a list of all rows. :func:`iter_rows` reads the database in batches by
keyset pagination on ``Issue.id`` (``WHERE id > last ORDER BY id LIMIT n``), each batch on a
short-lived connection of its own; :func:`csv_chunks` turns rows into bytes batch by batch and
:func:`xlsx_chunks` feeds them into an openpyxl *write-only* workbook (which writes its sheet
to a temporary file as rows arrive), then streams the finished file back in chunks. Memory
therefore stays bounded by the batch size whatever the number of rows, on SQLite and on
PostgreSQL alike, and no connection sits idle in a transaction while a slow client downloads.

Whether the response and the resolution were on time is read from the stored deadlines, the
way :func:`circle.issues.sla.response_state` / :func:`~circle.issues.sla.resolution_state`
decide "met" for a finished clock: the clock finished (on-site arrival, or resolution) no
later than its deadline. The deadlines already carry working days and time on hold (they
were computed, and moved out after holds, when the issue changed), so no calendar is needed
per row; see :func:`on_time`.

Labels and headers come in as plain strings (:func:`build_labels`, in the user's language)
so that a million rows do not translate the same words a million times.
"""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.models import Callback, Issue, IssueCategory, Status
from circle.labels import LEVEL_LABELS, RATING_LABELS, SEVERITY_LABELS
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle, Community
from circle.permissions import scope_by_circle
from circle.spreadsheet import safe_cell

#: The rating filter's extra value: the merchant could not be reached.
UNREACHABLE = "unreachable"
#: Which date the date range applies to.
BY_CALLBACK = "callback"
BY_REPORTED = "reported"
DATE_BASES = (BY_CALLBACK, BY_REPORTED)
FORMATS = ("csv", "xlsx")

DEFAULT_BATCH_SIZE = 1000
#: An XLSX sheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
#: Excel refuses longer text in a cell.
XLSX_MAX_TEXT = 32_767
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M"
#: The finished workbook stays in memory up to this size, then moves to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
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

def _effective_callback_id():
    """The id of the issue's effective callback (correlated to the outer ``Issue``).

    The latest *reached* call; for an issue closed as unreachable, the latest attempt.
    Served by the index on ``callback.issue_id``.
    """
    inner = aliased(Callback)
    return (
        sa.select(inner.id)
        .where(inner.issue_id == Issue.id,
               sa.or_(Issue.callback_unreachable, inner.reached))
        .order_by(inner.called_at.desc(), inner.id.desc())
        .limit(1)
        .correlate(Issue)
        .scalar_subquery()
    )


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def export_statement(user: User, filters: ExportFilters, zone: ZoneInfo):
    """The SELECT of export rows ``user`` may see, filtered; not yet ordered or limited."""
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
            Issue.reported_at,
            Issue.first_on_site_at,
            Issue.resolved_at,
            Issue.closed_at,
            Issue.response_due_at,
            Issue.resolution_due_at,
            Callback.called_at,
            caller.display_name.label("called_by"),
            Callback.resolved_per_merchant,
            Issue.rating,
            Issue.callback_unreachable,
            Callback.comments,
            Issue.rehandle_count,
        )
        .select_from(Issue)
        .join(Callback, Callback.id == _effective_callback_id())
        .join(Merchant, Merchant.id == Issue.merchant_id)
        .join(BusinessCircle, BusinessCircle.id == Issue.circle_id)
        .join(Community, Community.id == BusinessCircle.community_id)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
        .outerjoin(caller, caller.id == Callback.called_by_id)
        .where(sa.or_(Issue.rating.is_not(None), Issue.callback_unreachable))
    )
    stmt = scope_by_circle(stmt, Issue.circle_id, user)
    moment = Callback.called_at if filters.date_basis == BY_CALLBACK else Issue.reported_at
    if filters.date_from:
        stmt = stmt.where(moment >= _day_start(filters.date_from, zone))
    if filters.date_to:
        stmt = stmt.where(moment < _day_start(filters.date_to + timedelta(days=1), zone))
    if filters.community_id is not None:
        stmt = stmt.where(BusinessCircle.community_id == filters.community_id)
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
        stmt = stmt.where(Issue.rating == filters.rating, ~Issue.callback_unreachable)
    return stmt


def count_rows(user: User, filters: ExportFilters, zone: ZoneInfo) -> int:
    """How many rows the export has right now."""
    inner = export_statement(user, filters, zone).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def iter_rows(stmt, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[sa.Row]:
    """Every row of ``stmt`` (an :func:`export_statement`) in issue order, ``batch_size`` at
    a time.

    Keyset pagination rather than OFFSET (which rescans what it skips) or a server-side
    cursor (which would hold one transaction open for the whole download). Each batch runs
    on its own connection, returned to the pool before the rows are handed on, so the
    generator needs no session and nothing accumulates in an identity map.
    """
    stmt = stmt.order_by(Issue.id).limit(batch_size)
    last_id = 0
    while True:
        with db.engine.connect() as connection:
            batch = connection.execute(stmt.where(Issue.id > last_id)).all()
        yield from batch
        if len(batch) < batch_size:
            return
        last_id = batch[-1].issue_id


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


def _local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored UTC time as a naive local time: spreadsheets have no time zones."""
    return value.astimezone(zone).replace(tzinfo=None) if value is not None else None


def row_values(row, labels: Labels, zone: ZoneInfo) -> list:
    """The export row as typed values in :data:`COLUMNS` order (``None`` for blank)."""

    def yes_no(value: bool | None) -> str | None:
        return None if value is None else (labels.yes if value else labels.no)

    if row.callback_unreachable:
        rating = labels.unreachable
    else:
        rating = labels.rating.get(row.rating, row.rating)
    return [
        row.issue_id,
        row.work_order_no,
        row.shop_name,
        row.circle_name,
        row.community_name,
        row.category_name,
        labels.severity.get(row.severity, row.severity),
        row.highest_level,
        _local(row.reported_at, zone),
        _local(row.first_on_site_at, zone),
        _local(row.resolved_at, zone),
        yes_no(response_on_time(row)),
        yes_no(resolution_on_time(row)),
        _local(row.called_at, zone),
        row.called_by,
        None if row.callback_unreachable else yes_no(row.resolved_per_merchant),
        rating,
        row.comments or None,
        row.rehandle_count,
    ]


# --- the files ----------------------------------------------------------------------------

def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(CSV_DATETIME_FORMAT)
    return str(safe_cell(value)) if isinstance(value, str) else str(value)


def csv_chunks(rows: Iterable, labels: Labels, zone: ZoneInfo, *,
               rows_per_chunk: int = DEFAULT_BATCH_SIZE) -> Iterator[bytes]:
    """The CSV file in pieces: UTF-8 with a BOM (Excel on Windows then reads Chinese right),
    the header first, then ``rows_per_chunk`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(UTF8_BOM)
    writer.writerow([safe_cell(header) for header in labels.headers])
    pending = 0
    for row in rows:
        writer.writerow([_csv_text(value) for value in row_values(row, labels, zone)])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def _xlsx_text(value: str) -> str:
    """Text Excel accepts: no control characters, not too long, never a formula."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)[:XLSX_MAX_TEXT]
    return safe_cell(value)


def write_xlsx(rows: Iterable, labels: Labels, zone: ZoneInfo, out) -> int:
    """Write the XLSX workbook to the binary file ``out``; return the number of rows.

    A write-only workbook: rows go to a temporary file as they are appended, never all in
    memory. Dates are real date-time cells (local time, no zone), numbers are numbers, the
    header row is frozen and bold, columns have widths that fit their usual content.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Satisfaction callbacks")[:31])
    try:
        for index, column in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for text in labels.headers:
            cell = WriteOnlyCell(sheet, value=_xlsx_text(text))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        kinds = [column.kind for column in COLUMNS]
        count = 0
        for row in rows:
            cells = []
            for kind, value in zip(kinds, row_values(row, labels, zone)):
                if value is None:
                    cells.append(None)
                elif kind == "datetime":
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = XLSX_DATETIME_FORMAT
                    cells.append(cell)
                elif kind == "text":
                    cells.append(_xlsx_text(str(value)))
                else:
                    cells.append(value)
            sheet.append(cells)
            count += 1
        workbook.save(out)
    except BaseException:
        _discard(workbook)
        raise
    return count


def _discard(workbook: Workbook) -> None:
    """Remove the temporary sheet files of a workbook that will never be saved.

    openpyxl deletes them on save, or only when the process exits otherwise; a worker that
    runs for weeks must not collect the remains of interrupted exports.
    """
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        try:
            writer.close()
            writer.cleanup()
        except (OSError, ValueError):
            pass


def xlsx_chunks(rows: Iterable, labels: Labels, zone: ZoneInfo, *,
                chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The XLSX file in pieces: assembled in a spooled temporary file, then read back."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        write_xlsx(rows, labels, zone, out)
        out.seek(0)
        while chunk := out.read(chunk_bytes):
            yield chunk


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
