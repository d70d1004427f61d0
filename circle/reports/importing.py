"""Merchant import (商户批量导入) from CSV or XLSX, as plain functions.

Three steps, each a function of its arguments (no request context):

1. :func:`read_upload` turns the uploaded bytes into :class:`SourceRow` s — the text of each
   row, with its row number as the spreadsheet shows it — or refuses the file as a whole
   (:class:`ImportRefused`: empty, too big, too many rows, unknown encoding, missing columns).
2. :func:`check_rows` validates **every** row against the rules a merchant form applies
   (required fields, phone numbers, the credit code's check digit, lengths) and looks for
   duplicates within the file and against the database.
3. :func:`import_merchants` creates the valid rows' merchants and emergency contacts in one
   transaction, audited.

Between the check and the confirmation the parsed rows travel in a signed, timestamped token
(:func:`dump_token` / :func:`load_token`) rather than in a file on one worker's disk: the app
runs as several stateless workers and the confirmation may reach another one. The rows are
checked again on confirmation, since the database may have changed meanwhile.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from circle.audit.models import AuditAction
from circle.audit.recording import audit_context, record
from circle.config import default as settings_default
from circle.extensions import db
from circle.i18n import gettext as _
from circle.issues.workflow import human_size
from circle.merchants.models import EmergencyContact, Merchant
from circle.reports.models import UsedImportToken
from circle.spreadsheet import safe_cell
from circle.timeutil import utcnow
from circle.uploads import (
    UTF8_BOM,
    UploadRefused,
    cell_text,
    csv_rows,
    decode_text,
    header_key,
    xlsx_rows,
)
from circle.validators import InvalidValue, normalise_credit_code, normalise_phone

#: Limits when no app supplies its settings (the declared defaults, never restated).
DEFAULT_MAX_BYTES = settings_default("CIRCLE_IMPORT_MAX_BYTES")
DEFAULT_MAX_ROWS = settings_default("CIRCLE_IMPORT_MAX_ROWS")
#: A small XLSX can unpack to gigabytes (a "zip bomb"); real merchant lists never come near.
MAX_UNPACKED_BYTES = 24 * 1024 * 1024
#: Query parameters per ``IN (...)`` when looking for duplicates in the database.
LOOKUP_CHUNK = 500
TOKEN_SALT = "circle.merchant-import.rows"
REJECTED_SALT = "circle.merchant-import.rejected"
DEFAULT_TOKEN_MAX_AGE = settings_default("CIRCLE_IMPORT_TOKEN_MAX_AGE")


@dataclass(frozen=True)
class ImportColumn:
    """A column of the import file.

    ``name`` is the Chinese header of the template: part of the file format, the same
    whatever the page's language. ``english`` and ``aliases`` are accepted as well.
    """

    key: str
    name: str
    english: str
    max_length: int
    aliases: tuple[str, ...] = ()
    required: bool = False


def _contact_columns(n: int) -> tuple[ImportColumn, ...]:
    return (
        ImportColumn(f"contact{n}_name", f"紧急联系人{n}姓名", f"Emergency contact {n} name", 50),
        ImportColumn(f"contact{n}_phone", f"紧急联系人{n}电话", f"Emergency contact {n} phone",
                     20),
        ImportColumn(f"contact{n}_relation", f"紧急联系人{n}关系",
                     f"Emergency contact {n} relation", 50),
    )


# The lengths are those of the Merchant and EmergencyContact columns.
COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("shop_name", "商铺名称", "Shop name", 100, ("店铺名称", "商户名称"), True),
    ImportColumn("owner_name", "经营者", "Owner", 50, ("经营者姓名", "负责人", "Owner name"),
                 True),
    ImportColumn("phone", "电话", "Phone", 20, ("联系电话", "手机", "手机号码"), True),
    ImportColumn("address", "地址", "Address", 200, ("经营地址",)),
    ImportColumn("business_category", "经营类别", "Business category", 50, ("经营类型",)),
    ImportColumn("credit_code", "统一社会信用代码", "Unified social credit code", 18,
                 ("信用代码", "Credit code")),
    *_contact_columns(1),
    *_contact_columns(2),
)
KEYS = tuple(column.key for column in COLUMNS)
_INDEX = {key: index for index, key in enumerate(KEYS)}


_HEADERS = {
    header_key(name): column.key
    for column in COLUMNS
    for name in (column.name, column.english, column.key, *column.aliases)
}


#: The merchant import's refusals are the uploads' (one kind, whatever refused the file).
ImportRefused = UploadRefused


@dataclass(frozen=True)
class SourceRow:
    """One data row as read: its row number in the spreadsheet and the text of each
    :data:`COLUMNS` entry ("" where the file has no such column)."""

    number: int
    values: tuple[str, ...]

    def get(self, key: str) -> str:
        return self.values[_INDEX[key]]


@dataclass
class ParsedUpload:
    """A readable upload: the file's own header text per column, and its rows."""

    filename: str
    headers: tuple[str | None, ...]
    rows: list[SourceRow]
    ignored_columns: list[str] = field(default_factory=list)

    def column_label(self, key: str) -> str:
        """The column as the user's file names it (else the template's name)."""
        index = _INDEX[key]
        return self.headers[index] or COLUMNS[index].name


# --- reading the file -----------------------------------------------------------------------

def read_upload(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                max_rows: int = DEFAULT_MAX_ROWS) -> ParsedUpload:
    """Read an uploaded CSV or XLSX file, or raise :class:`ImportRefused`.

    CSV text may be UTF-8 (with or without BOM), UTF-16 with BOM ("Unicode text"), or
    GBK/GB18030 — what Excel on a Chinese Windows saves as "CSV". The first row with any
    content is the header; blank rows are skipped; row numbers are the spreadsheet's.
    """
    if not data:
        raise ImportRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise ImportRefused(_("The file is larger than %(size)s. Split it into smaller files.",
                              size=human_size(max_bytes)))
    lower = (filename or "").lower()
    if lower.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(_("Old Excel files (.xls) cannot be read: save the sheet as "
                              ".xlsx or as CSV."))
    if lower.endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        with _xlsx_rows(data) as rows:
            return _parse_table(rows, filename, max_rows)
    if lower.endswith((".csv", ".txt")):
        return _parse_table(_csv_rows(data), filename, max_rows)
    raise ImportRefused(_("Upload a CSV or XLSX file."))


def _csv_rows(data: bytes):
    """``(row number, cells)`` of an uploaded CSV file."""
    return csv_rows(decode_text(data))


def _xlsx_rows(data: bytes):
    return xlsx_rows(data, max_unpacked=MAX_UNPACKED_BYTES)


#: Consecutive empty rows taken as the end of the data (the rest is not read).
MAX_BLANK_RUN = 1000
#: Cells of a row looked at: the template has 12 columns; a sheet may hold 16,384.
MAX_COLUMNS = 64
#: Reading a file stops with a message after this long, whatever it holds.
MAX_PARSE_SECONDS = 10


def _parse_table(table, filename: str, max_rows: int) -> ParsedUpload:
    rows = iter(table)
    # The loop stops at the header row; ``number`` stays its row number (used below).
    for number, cells in rows:  # noqa: B007
        texts = [cell_text(cell) for cell in cells]
        if any(texts):
            break
    else:
        raise ImportRefused(_("The file is empty."))
    positions: dict[str, int] = {}
    headers: list[str | None] = [None] * len(COLUMNS)
    ignored = []
    for position, text in enumerate(texts):
        key = _HEADERS.get(header_key(text))
        if key is None:
            if text:
                ignored.append(text)
            continue
        if key in positions:
            raise ImportRefused(_("The column %(column)s appears twice.", column=text))
        positions[key] = position
        headers[_INDEX[key]] = text
    missing = [column.name for column in COLUMNS if column.required and column.key not in positions]
    if missing:
        raise ImportRefused(_("The file has no column for: %(columns)s. Download the template "
                              "to see the expected columns.", columns="、".join(missing)))
    source_rows = []
    blank_run, deadline = 0, time.monotonic() + MAX_PARSE_SECONDS
    # The loop stops at the header row; ``number`` stays its row number (used below).
    for number, cells in rows:  # noqa: B007
        texts = [cell_text(cell) for cell in cells[:MAX_COLUMNS]]
        if time.monotonic() > deadline:
            raise ImportRefused(_("The file takes too long to read. Remove empty rows and "
                                  "columns, or split it into smaller files."))
        if not any(texts):
            # Spreadsheets often carry thousands of formatted but empty rows at the end:
            # a long run of them ends the data instead of being read to the last one.
            blank_run += 1
            if blank_run > MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(source_rows) >= max_rows:
            raise ImportRefused(_("The file has more than %(n)d merchant rows. Split it into "
                                  "smaller files.", n=max_rows))
        values = tuple(
            texts[positions[key]] if key in positions and positions[key] < len(texts) else ""
            for key in KEYS
        )
        source_rows.append(SourceRow(number, values))
    if not source_rows:
        raise ImportRefused(_("The file has no merchant rows under its header row."))
    return ParsedUpload(filename or "", tuple(headers), source_rows, ignored)


# --- checking the rows ----------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet row, the column as the file names it, the message."""

    row: int
    column: str
    message: str


@dataclass
class CheckedRow:
    """A source row, its problems, and (when it has none) what to create."""

    source: SourceRow
    errors: list[RowError] = field(default_factory=list)
    merchant: dict = field(default_factory=dict)
    contacts: list[dict] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class ImportCheck:
    """The result of checking every row of an upload for one business circle."""

    upload: ParsedUpload
    circle_id: int
    rows: list[CheckedRow]

    @property
    def valid_rows(self) -> list[CheckedRow]:
        return [row for row in self.rows if row.valid]

    @property
    def rejected_rows(self) -> list[CheckedRow]:
        return [row for row in self.rows if not row.valid]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def all_valid(self) -> bool:
        return all(row.valid for row in self.rows)


def _same(text: str) -> str:
    """How two shop names compare: case, width and spaces ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _check_one(row: CheckedRow, upload: ParsedUpload) -> None:
    source = row.source

    def error(key: str, message) -> None:
        row.errors.append(RowError(source.number, upload.column_label(key), str(message)))

    values = {}
    for column in COLUMNS:
        text = source.get(column.key)
        if len(text) > column.max_length:
            error(column.key, _("At most %(n)d characters.", n=column.max_length))
        values[column.key] = text
    required = {
        "shop_name": _("Enter the shop name."),
        "owner_name": _("Enter the owner's name."),
        "phone": _("Enter the phone number."),
    }
    for key, message in required.items():
        if not values[key]:
            error(key, message)

    def normalised(key: str, normalise):
        # Full-width digits and letters come from Chinese input methods.
        text = unicodedata.normalize("NFKC", values[key])
        if not text:
            return None
        try:
            return normalise(text)
        except InvalidValue as exc:
            error(key, exc.args[0])
            return None

    phone = normalised("phone", normalise_phone)
    credit_code = normalised("credit_code", normalise_credit_code)
    contacts = []
    for n in (1, 2):
        name, relation = values[f"contact{n}_name"], values[f"contact{n}_relation"]
        contact_phone = normalised(f"contact{n}_phone", normalise_phone)
        if not (name or values[f"contact{n}_phone"] or relation):
            continue
        if not name:
            error(f"contact{n}_name", _("Enter the emergency contact's name."))
        if not values[f"contact{n}_phone"]:
            error(f"contact{n}_phone", _("Enter the emergency contact's phone number."))
        contacts.append({"priority": n, "name": name, "phone": contact_phone or "",
                         "relation": relation})
    row.merchant = {
        "shop_name": values["shop_name"],
        "owner_name": values["owner_name"],
        "phone": phone or "",
        "address": values["address"],
        "business_category": values["business_category"],
        "credit_code": credit_code,
    }
    row.contacts = contacts


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def check_rows(upload: ParsedUpload, circle_id: int) -> ImportCheck:
    """Validate every row of ``upload`` for import into business circle ``circle_id``.

    Duplicates: within the file, the same credit code or the same shop name and phone as
    an earlier row; against the database, a credit code already registered (anywhere: one
    code names one business) or a merchant of this circle with the same shop name and phone.
    The database is asked a fixed number of times per 500 rows, not once per row.
    """
    check = ImportCheck(upload, circle_id, [CheckedRow(source) for source in upload.rows])
    for row in check.rows:
        _check_one(row, upload)

    seen_codes: dict[str, int] = {}
    seen_pairs: dict[tuple[str, str], int] = {}
    for row in check.rows:
        number, merchant = row.source.number, row.merchant
        code = merchant["credit_code"]
        if code:
            if code in seen_codes:
                row.errors.append(RowError(number, upload.column_label("credit_code"), _(
                    "Same unified social credit code as row %(row)d.", row=seen_codes[code])))
            else:
                seen_codes[code] = number
        if merchant["shop_name"] and merchant["phone"]:
            pair = (_same(merchant["shop_name"]), merchant["phone"])
            if pair in seen_pairs:
                row.errors.append(RowError(number, upload.column_label("shop_name"), _(
                    "Same shop name and phone as row %(row)d.", row=seen_pairs[pair])))
            else:
                seen_pairs[pair] = number

    registered_codes: set[str] = set()
    for chunk in _chunks(list(seen_codes)):
        registered_codes.update(db.session.scalars(
            sa.select(Merchant.credit_code).where(Merchant.credit_code.in_(chunk))
        ))
    registered_pairs: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted({phone for _name, phone in seen_pairs})):
        registered_pairs.update(
            (_same(name), phone) for name, phone in db.session.execute(
                sa.select(Merchant.shop_name, Merchant.phone)
                .where(Merchant.circle_id == circle_id, Merchant.phone.in_(chunk))
            )
        )
    for row in check.rows:
        merchant, number = row.merchant, row.source.number
        if merchant["credit_code"] in registered_codes:
            # Not named: the merchant may be in a community the user may not see.
            row.errors.append(RowError(number, upload.column_label("credit_code"), _(
                "A merchant with this unified social credit code is already registered.")))
        if (_same(merchant["shop_name"]), merchant["phone"]) in registered_pairs:
            row.errors.append(RowError(number, upload.column_label("shop_name"), _(
                "This business circle already has a merchant with this shop name and phone.")))
    return check


# --- importing ------------------------------------------------------------------------------

class ImportConflict(Exception):
    """Someone added one of these merchants between the check and the import."""


class ImportAlreadyDone(Exception):
    """This confirmation has imported its rows already (another request, perhaps at the
    same moment, used it)."""


def confirmation_used(token: str) -> bool:
    """Whether this confirmation has imported its rows already."""
    return db.session.get(UsedImportToken, UsedImportToken.digest_of(token)) is not None


def import_merchants(check: ImportCheck, circle, actor, *, remote_addr: str = "",
                     only_valid: bool = False, token: str | None = None,
                     token_max_age: int = DEFAULT_TOKEN_MAX_AGE) -> list[Merchant]:
    """Create the merchants of the check's valid rows in ``circle``, all in one transaction.

    Without ``only_valid`` a check with any invalid row imports nothing (the caller shows
    the report instead). Each merchant and contact is audited as created by ``actor``, and
    one ``import`` record sums the import up. Raises :class:`ImportConflict` (and writes
    nothing) if the database refuses a row that was unique when checked.

    With the confirmation's ``token``, the import also records it as used, in the same
    transaction: a token imports once (:class:`ImportAlreadyDone` for any other use, even
    one committed a moment later by another worker), and a failed import leaves it usable.
    """
    if not check.all_valid and not only_valid:
        raise ValueError("rows with errors: import only the valid rows, or none")
    merchants = []
    if token is not None:
        # Before any merchant is pending: the DELETE would flush them outside the try below.
        db.session.execute(sa.delete(UsedImportToken).where(
            UsedImportToken.used_at < utcnow() - timedelta(seconds=token_max_age)))
        db.session.add(UsedImportToken(digest=UsedImportToken.digest_of(token)))
    with audit_context(actor, remote_addr):
        for row in check.valid_rows:
            merchant = Merchant(circle_id=circle.id, **row.merchant)
            merchant.emergency_contacts = [EmergencyContact(**contact)
                                           for contact in row.contacts]
            db.session.add(merchant)
            merchants.append(merchant)
        record(AuditAction.IMPORT, "merchant_import", actor=actor, remote_addr=remote_addr,
               object_id=str(circle.id), object_repr=circle.name, changes={
                   "file": check.upload.filename,
                   "circle_id": circle.id,
                   "rows": len(check.rows),
                   "imported": len(merchants),
                   "rejected": len(check.rejected_rows),
                   "only_valid_rows": bool(only_valid),
               })
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            if token is not None and confirmation_used(token):
                raise ImportAlreadyDone() from None
            raise ImportConflict() from None
    return merchants


# --- carrying rows between requests, and files for the user ---------------------------------

def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def dump_token(secret_key: str, upload: ParsedUpload, *, user_id: int, circle_id: int) -> str:
    """The parsed rows, signed and timestamped, bound to the user and the circle."""
    return _serializer(secret_key, TOKEN_SALT).dumps({
        "u": user_id,
        "c": circle_id,
        "f": upload.filename,
        "h": list(upload.headers),
        "i": upload.ignored_columns,
        "r": [[row.number, list(row.values)] for row in upload.rows],
    })


def load_token(secret_key: str, token: str, *, user_id: int,
               max_age: int = DEFAULT_TOKEN_MAX_AGE) -> tuple[ParsedUpload, int]:
    """The upload and circle id a :func:`dump_token` token carries, if it is this user's,
    unchanged and not older than ``max_age`` seconds; else :class:`ImportRefused`."""
    payload = _load(secret_key, TOKEN_SALT, token, user_id, max_age)
    try:
        rows = [SourceRow(int(number), tuple(str(value) for value in values))
                for number, values in payload["r"]]
        if any(len(row.values) != len(COLUMNS) for row in rows):
            raise ValueError("wrong width")
        headers = tuple(payload["h"])
        upload = ParsedUpload(str(payload["f"]), headers, rows, list(payload["i"]))
        return upload, int(payload["c"])
    except (KeyError, TypeError, ValueError):
        raise _expired() from None


def _expired() -> ImportRefused:
    return ImportRefused(_("This check has expired or is not valid. Upload the file again."))


def _load(secret_key: str, salt: str, token: str, user_id: int, max_age: int) -> dict:
    try:
        payload = _serializer(secret_key, salt).loads(token or "", max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        raise _expired() from None
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        raise _expired()
    return payload


def dump_rejected_token(secret_key: str, check: ImportCheck, *, user_id: int) -> str:
    """The rejected rows with their messages (as shown now), for :func:`rejected_csv`."""
    upload = check.upload
    return _serializer(secret_key, REJECTED_SALT).dumps({
        "u": user_id,
        "f": upload.filename,
        "h": [upload.column_label(key) for key in KEYS],
        "r": [[row.source.number, list(row.source.values),
               [[error.column, error.message] for error in row.errors]]
              for row in check.rejected_rows],
    })


def rejected_csv(secret_key: str, token: str, *, user_id: int,
                 max_age: int = DEFAULT_TOKEN_MAX_AGE) -> tuple[bytes, str]:
    """The rejected rows as a CSV file (UTF-8 with BOM) and the uploaded file's name.

    The merchant columns carry the file's own headers, so the corrected file imports again;
    the original row number and the errors come last, in columns the import ignores.
    """
    payload = _load(secret_key, REJECTED_SALT, token, user_id, max_age)
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    try:
        writer.writerow([safe_cell(str(header)) for header in payload["h"]]
                        + [_("Row in the uploaded file"), _("Errors")])
        for number, values, errors in payload["r"]:
            problems = "；".join(f"{column}: {message}" for column, message in errors)
            writer.writerow([safe_cell(str(value)) for value in values]
                            + [int(number), safe_cell(problems)])
    except (KeyError, TypeError, ValueError):
        raise _expired() from None
    return buffer.getvalue().encode("utf-8"), str(payload.get("f", ""))


def template_csv() -> bytes:
    """The import template as CSV: the header row, UTF-8 with BOM (Excel opens it right)."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    csv.writer(buffer).writerow([column.name for column in COLUMNS])
    return buffer.getvalue().encode("utf-8")


# Phone numbers and credit codes typed into a General cell lose digits (1.38E+10) or
# leading zeros; the template formats those columns as text.
_TEXT_COLUMNS = {"phone", "credit_code", "contact1_phone", "contact2_phone"}


def template_xlsx() -> bytes:
    """The import template as XLSX: bold frozen header, widths, text-formatted number
    columns."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "商户"
    sheet.append([column.name for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(12, min(column.max_length, 30))
        if column.key in _TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
