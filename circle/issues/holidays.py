"""A year's official holiday calendar (节假日安排) from a CSV file, as plain functions.

Each November the State Council General Office publishes the next year's public holidays
and 调休 working days; :mod:`circle.reference` ships the years known when the code was
written, and an administrator adds the next one from the panel. The steps, each a function
of its arguments (no request context):

1. :func:`parse_calendar_csv` reads the uploaded bytes and checks **every** row: a valid
   date, a known kind, a name; all days in one year, no date twice, a 调休 working day on a
   Saturday or Sunday. A file that cannot be read at all raises :class:`CalendarRefused`;
   row problems are collected, each by spreadsheet row and column. Warnings (a day off on a
   weekend outside any break) are shown but do not stop the import.
2. :func:`replace_year` makes the year's :class:`~circle.issues.sla_models.CalendarDay` rows
   those of the file, audited, and flushes; the caller commits (one unit of work). A year
   that already has days is replaced only when the caller says how many it agreed to
   replace (:class:`YearNotEmpty` otherwise).

Between the preview and the confirmation the rows travel signed (:func:`dump_token` /
:func:`load_token`), like the merchant import's, and are checked again on confirmation.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from itsdangerous import BadSignature, URLSafeTimedSerializer

from circle.audit.models import AuditAction
from circle.audit.recording import audit_context, record
from circle.extensions import db
from circle.i18n import gettext as _
from circle.issues.sla_models import CalendarDay, DayKind
from circle.issues.workflow import human_size
from circle.spreadsheet import FORMULA_TRIGGERS, safe_cell
from circle.uploads import UTF8_BOM, UploadRefused, csv_rows, decode_text, header_key

#: A year's calendar is a few dozen rows; anything near these limits is the wrong file.
MAX_BYTES = 200 * 1024
MAX_ROWS = 400
#: The length of ``CalendarDay.name``.
MAX_NAME_LENGTH = 50
TOKEN_SALT = "circle.holiday-import.rows"


@dataclass(frozen=True)
class CalendarColumn:
    """A column of the calendar file: its key, the template's (Chinese) header, the other
    headers accepted for it."""

    key: str
    name: str
    aliases: tuple[str, ...]


COLUMNS = (
    CalendarColumn("date", "日期", ("date", "day")),
    CalendarColumn("kind", "类型", ("kind", "type", "类别")),
    CalendarColumn("name", "名称", ("name", "节日", "节日名称", "节假日")),
)
_COLUMN_NAMES = {column.key: column.name for column in COLUMNS}

#: How the kind column may be written (after NFKC and casefold), and the template's words.
KIND_WORDS = {
    "放假": DayKind.HOLIDAY, "休": DayKind.HOLIDAY, "休息": DayKind.HOLIDAY,
    "holiday": DayKind.HOLIDAY,
    "上班": DayKind.WORKDAY, "班": DayKind.WORKDAY, "调休上班": DayKind.WORKDAY,
    "workday": DayKind.WORKDAY,
}
TEMPLATE_KIND_WORDS = {DayKind.HOLIDAY: "放假", DayKind.WORKDAY: "上班"}

# 2027-01-01, 2027/1/1, 2027.1.1, 2027年1月1日; a midnight time (some programs add one) is
# ignored.
_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0?0:00(?::00)?)?")
# What a 调休 day's name adds to its festival's: 春节调休 → 春节.
_WORKDAY_SUFFIX_RE = re.compile(r"[\s(（]*(?:调休上班|调休|补班|上班)[)）]?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


_HEADERS = {
    header_key(name): column.key
    for column in COLUMNS
    for name in (column.name, column.key, *column.aliases)
}


#: The calendar import's refusals are the uploads' (see circle.uploads).
CalendarRefused = UploadRefused


@dataclass(frozen=True)
class Problem:
    """One finding about a row: the column as the file names it, the message, and whether
    it only warns (the import may go ahead) or is an error (it may not)."""

    row: int
    column: str
    message: str
    warning: bool = False


@dataclass
class CalendarRow:
    """A row as read (its spreadsheet row number and cell texts) and, where they parse,
    its day, kind and name."""

    number: int
    texts: dict[str, str]
    day: date | None = None
    kind: str | None = None
    name: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(not problem.warning for problem in self.problems)

    @property
    def festival(self) -> str:
        """The festival the day belongs to: a 调休 day's name without its 调休."""
        if self.kind == DayKind.WORKDAY:
            return _WORKDAY_SUFFIX_RE.sub("", self.name) or self.name
        return self.name


@dataclass(frozen=True)
class Festival:
    """One line of the summary: a festival, its days off and its 调休 working days."""

    name: str
    days_off: tuple[date, ...]
    workdays: tuple[date, ...]

    @property
    def first_day(self) -> date | None:
        return self.days_off[0] if self.days_off else None

    @property
    def last_day(self) -> date | None:
        return self.days_off[-1] if self.days_off else None


@dataclass
class CalendarCheck:
    """Every row of an upload, checked; the year its days are in."""

    filename: str
    rows: list[CalendarRow]
    headers: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    year: int | None = None

    @property
    def problems(self) -> list[Problem]:
        return [problem for row in self.rows for problem in row.problems]

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.warning]

    @property
    def all_valid(self) -> bool:
        return not self.errors

    @property
    def days(self) -> list[CalendarRow]:
        """The valid rows, by date."""
        return sorted((row for row in self.rows if row.valid and row.day),
                      key=lambda row: row.day)

    @property
    def days_off(self) -> int:
        return sum(row.kind == DayKind.HOLIDAY for row in self.days)

    @property
    def weekdays_off(self) -> int:
        """Days off on Monday–Friday: the ones that move a working-day deadline."""
        return sum(row.kind == DayKind.HOLIDAY and row.day.weekday() < 5 for row in self.days)

    @property
    def workdays(self) -> int:
        return sum(row.kind == DayKind.WORKDAY for row in self.days)

    @property
    def festivals(self) -> list[Festival]:
        """The summary per festival, in the order of their first day off (a 调休 day often
        comes before its break)."""
        grouped: dict[str, tuple[list[date], list[date]]] = {}
        for row in self.days:
            off, worked = grouped.setdefault(row.festival, ([], []))
            (off if row.kind == DayKind.HOLIDAY else worked).append(row.day)
        festivals = [Festival(name, tuple(off), tuple(worked))
                     for name, (off, worked) in grouped.items()]
        return sorted(festivals, key=lambda festival: (festival.days_off or festival.workdays)[0])

    def column_label(self, key: str) -> str:
        """The column as the user's file names it (else the template's name)."""
        return self.headers.get(key) or _COLUMN_NAMES[key]


# --- reading the file -----------------------------------------------------------------------

def parse_calendar_csv(data: bytes, filename: str = "", *, max_bytes: int = MAX_BYTES,
                       max_rows: int = MAX_ROWS) -> CalendarCheck:
    """Read a calendar CSV and check every row, or raise :class:`CalendarRefused`.

    The text may be UTF-8 (with or without BOM), GBK/GB18030 (what Excel on a Chinese
    Windows saves as "CSV") or UTF-16 with BOM; commas, tabs or semicolons separate the
    cells. The first row with any content is the header (日期, 类型, 名称, or date, kind,
    name); blank rows are skipped; row numbers are the spreadsheet's.
    """
    if not data or not data.strip():
        raise CalendarRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise CalendarRefused(_(
            "The file is larger than %(size)s: a year's calendar is a few dozen rows. Check "
            "that this is the right file.", size=human_size(max_bytes)))
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CalendarRefused(_(
            "This is an Excel workbook: in Excel, save it as \u201cCSV UTF-8\u201d and upload "
            "the CSV file."))
    table = csv_rows(decode_text(data, unreadable=_(
        "The file could not be read as text. Save it as \u201cCSV UTF-8\u201d (or CSV) and "
        "upload it again.")))
    headers, positions, ignored = _read_header(table)
    rows = []
    for number, cells in table:
        texts = [cell.strip() for cell in cells]
        if not any(texts):
            continue
        if len(rows) >= max_rows:
            raise CalendarRefused(_(
                "The file has more than %(n)d rows: a year's calendar has a few dozen. Check "
                "that this is the right file.", n=max_rows))
        rows.append(CalendarRow(number, {
            key: texts[position] if position < len(texts) else ""
            for key, position in positions.items()
        }))
    if not rows:
        raise CalendarRefused(_("The file has no days under its header row."))
    check = CalendarCheck(filename or "", rows, headers, ignored)
    for row in rows:
        _parse_row(row, check)
    check_calendar(check)
    return check


def _read_header(table):
    """The header row: the file's own header per column key, their positions, and the
    headers of the columns not read."""
    for _number, cells in table:
        texts = [cell.strip() for cell in cells]
        if any(texts):
            break
    else:
        raise CalendarRefused(_("The file is empty."))
    headers: dict[str, str] = {}
    positions: dict[str, int] = {}
    ignored = []
    for position, text in enumerate(texts):
        key = _HEADERS.get(header_key(text))
        if key is None:
            if text:
                ignored.append(text)
            continue
        if key in positions:
            raise CalendarRefused(_("The column %(column)s appears twice.", column=text))
        positions[key], headers[key] = position, text
    missing = [column.name for column in COLUMNS if column.key not in positions]
    if missing:
        raise CalendarRefused(_(
            "The file has no column for: %(columns)s. Download the template to see the "
            "expected columns.", columns="、".join(missing)))
    return headers, positions, [text[:50] for text in ignored]


def parse_day(text: str) -> date | None:
    """``2027-01-01``, ``2027/1/1``, ``2027.1.1`` or ``2027年1月1日`` as a date, else
    ``None`` (full-width digits are read too)."""
    match = _DATE_RE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:  # 2027-02-30
        return None


def parse_kind(text: str) -> str | None:
    """放假/休/holiday → ``holiday``, 上班/班/workday → ``workday``, else ``None``."""
    return KIND_WORDS.get(re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold())


def _parse_row(row: CalendarRow, check: CalendarCheck) -> None:
    def error(key: str, message: str) -> None:
        row.problems.append(Problem(row.number, check.column_label(key), message))

    day_text, kind_text, name = row.texts["date"], row.texts["kind"], row.texts["name"]
    if not day_text:
        error("date", _("Enter the date."))
    else:
        row.day = parse_day(day_text)
        if row.day is None:
            error("date", _("Not a valid date: write it as 2027-01-01 or 2027/1/1."))
    if not kind_text:
        error("kind", _("Enter the kind: 放假 for a day off, 上班 for a 调休 working day."))
    else:
        row.kind = parse_kind(kind_text)
        if row.kind is None:
            error("kind", _("Unknown kind \u201c%(value)s\u201d: write 放假 for a day off or "
                            "上班 for a 调休 working day.", value=kind_text[:20]))
    if not name:
        error("name", _("Enter the festival's name."))
    elif name.startswith(FORMULA_TRIGGERS):
        error("name", _("A name cannot start with = + - or @ (a spreadsheet would run it "
                        "as a formula)."))
    elif _CONTROL_RE.search(name):
        error("name", _("The name contains control characters."))
    elif len(name) > MAX_NAME_LENGTH:
        error("name", _("At most %(n)d characters.", n=MAX_NAME_LENGTH))
    else:
        row.name = name


def weekday_name(day: date) -> str:
    """The day of the week in the user's language (星期六, Saturday)."""
    return format_date(day, "EEEE")


def check_calendar(check: CalendarCheck) -> CalendarCheck:
    """The checks across rows, added to each row's problems; sets ``check.year``.

    The file's year is the one most of its dates are in; a date in another year, a date
    listed twice, or a 调休 working day on Monday–Friday (a working day anyway: listing it
    would mean nothing) is an error. A day off on a Saturday or Sunday belongs to a break
    (the notices list every day of one, weekends included); one outside any break is
    off anyway, so it is only a warning, worth a second look at the date.
    """
    dated = [row for row in check.rows if row.day is not None]
    years = Counter(row.day.year for row in dated)
    check.year = max(years, key=lambda year: (years[year], -year)) if years else None

    def error(row: CalendarRow, key: str, message: str, *, warning: bool = False) -> None:
        row.problems.append(Problem(row.number, check.column_label(key), message, warning))

    first_row: dict[date, int] = {}
    for row in dated:
        if row.day.year != check.year:
            error(row, "date", _("Every day of the file must be in %(year)d (the year of most "
                                 "of its days); this one is in %(other)d.",
                                 year=check.year, other=row.day.year))
        if row.day in first_row:
            error(row, "date", _("Same date as row %(row)d.", row=first_row[row.day]))
        else:
            first_row[row.day] = row.number
    days_off = {row.day for row in dated if row.kind == DayKind.HOLIDAY}
    for row in dated:
        weekend = row.day.weekday() >= 5
        if row.kind == DayKind.WORKDAY and not weekend:
            error(row, "kind", _(
                "%(date)s is a %(weekday)s: a 调休 working day must be a Saturday or Sunday "
                "(a weekday is a working day anyway).",
                date=row.day.isoformat(), weekday=weekday_name(row.day)))
        elif row.kind == DayKind.HOLIDAY and weekend and not _in_a_break(row.day, days_off):
            error(row, "date", _(
                "%(date)s is a %(weekday)s outside any break, a day off anyway: check the "
                "date.", date=row.day.isoformat(), weekday=weekday_name(row.day)),
                warning=True)
    return check


def _in_a_break(day: date, days_off: set[date]) -> bool:
    """Whether the run of consecutive days off around ``day`` has a weekday in it."""
    for step in (timedelta(days=1), timedelta(days=-1)):
        cursor = day
        while cursor in days_off:
            if cursor.weekday() < 5:
                return True
            cursor += step
    return False


# --- the year in the database ---------------------------------------------------------------

def _of_year(year: int):
    return sa.and_(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))


def days_in_year(year: int) -> int:
    """How many calendar days the database has in ``year``."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)
                             .where(_of_year(year)))


def calendar_years() -> list[tuple[int, int, int]]:
    """``(year, days off, 调休 working days)`` of every year the calendar has, newest
    first."""
    counts: dict[int, list[int]] = {}
    for day, kind in db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind)):
        off_worked = counts.setdefault(day.year, [0, 0])
        off_worked[kind != DayKind.HOLIDAY] += 1
    return [(year, off, worked) for year, (off, worked) in sorted(counts.items(), reverse=True)]


class YearNotEmpty(Exception):
    """The year has ``existing`` days and the caller did not agree to replace that many."""

    def __init__(self, year: int, existing: int):
        super().__init__(f"{year} has {existing} calendar days")
        self.year, self.existing = year, existing


@dataclass(frozen=True)
class Replaced:
    """What :func:`replace_year` changed."""

    year: int
    added: int
    updated: int
    removed: int
    kept: int


def replace_year(check: CalendarCheck, actor, *, remote_addr: str = "",
                 replace_existing: int = 0) -> Replaced:
    """Make ``check.year``'s calendar days those of the check, audited as ``actor``; flush.

    The caller commits (:func:`circle.transaction.unit_of_work`). A year that has days is
    replaced only if ``replace_existing`` is their number, as shown to the person who
    agreed: otherwise :class:`YearNotEmpty`, and nothing changes. Days the file keeps are
    updated in place (so the audit log shows what changed), the others added or deleted;
    one ``import`` record sums it up.
    """
    if not check.all_valid or check.year is None:
        raise ValueError("only a check without errors can be imported")
    year = check.year
    existing = {row.day: row for row in db.session.scalars(
        sa.select(CalendarDay).where(_of_year(year)))}
    if existing and len(existing) != replace_existing:
        raise YearNotEmpty(year, len(existing))
    added = updated = kept = 0
    with audit_context(actor, remote_addr):
        wanted = {row.day: row for row in check.days}
        for day, row in wanted.items():
            current = existing.get(day)
            if current is None:
                db.session.add(CalendarDay(day=day, kind=row.kind, name=row.name))
                added += 1
            elif (current.kind, current.name) != (row.kind, row.name):
                current.kind, current.name = row.kind, row.name
                updated += 1
            else:
                kept += 1
        removed = [current for day, current in existing.items() if day not in wanted]
        for current in removed:
            db.session.delete(current)
        result = Replaced(year, added, updated, len(removed), kept)
        record(AuditAction.IMPORT, "calendar_import", actor=actor, remote_addr=remote_addr,
               object_id=str(year), object_repr=str(year), changes={
                   "file": check.filename,
                   "year": year,
                   "days_off": check.days_off,
                   "workdays": check.workdays,
                   "replaced": len(existing),
                   "added": added,
                   "updated": updated,
                   "removed": len(removed),
               })
        db.session.flush()
    return result


# --- carrying rows between requests, and the template ---------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def dump_token(secret_key: str, check: CalendarCheck, *, user_id: int) -> str:
    """The checked days, signed and timestamped, bound to the user."""
    return _serializer(secret_key).dumps({
        "u": user_id,
        "f": check.filename,
        "h": check.headers,
        "r": [[row.number, row.day.isoformat(), row.kind, row.name] for row in check.days],
    })


def load_token(secret_key: str, token: str, *, user_id: int, max_age: int) -> CalendarCheck:
    """The days a :func:`dump_token` token carries, checked again, if the token is this
    user's, unchanged and not older than ``max_age`` seconds; else
    :class:`CalendarRefused`."""
    expired = CalendarRefused(_("This check has expired or is not valid. Upload the file "
                                "again."))
    try:
        payload = _serializer(secret_key).loads(token or "", max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        raise expired from None
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        raise expired
    try:
        rows = []
        for number, day, kind, name in payload["r"]:
            if kind not in DayKind.ALL:
                raise ValueError(kind)
            rows.append(CalendarRow(int(number), {}, date.fromisoformat(day), kind, str(name)))
        headers = {str(key): str(value) for key, value in dict(payload["h"]).items()}
        check = CalendarCheck(str(payload["f"]), rows, headers)
    except (KeyError, TypeError, ValueError):
        raise expired from None
    if not rows:
        raise expired
    return check_calendar(check)


def template_csv(days: dict[date, tuple[str, str]]) -> bytes:
    """The calendar file format, with ``days`` (``{day: (kind, name)}``) as its rows:
    UTF-8 with BOM, so that Excel opens it right."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow([column.name for column in COLUMNS])
    for day, (kind, name) in sorted(days.items()):
        writer.writerow([day.isoformat(), TEMPLATE_KIND_WORDS[kind], safe_cell(name)])
    return buffer.getvalue().encode("utf-8")
