"""The activity log in the admin: whoever holds ``Cap.SEE_AUDIT_LOG`` browses, filters and
exports it — an administrator all of it, a street leader the records of the circles in their
scope — and nobody edits or deletes it."""

import csv
import io
from datetime import datetime

from flask import Response, abort, request, stream_with_context
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup

from circle import spreadsheet
from circle.adminkit import ScopedModelView, choice_filter
from circle.audit import describe as words
from circle.audit.models import AuditRecord
from circle.audit.recording import record
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.permissions import Cap
from circle.timeutil import format_local, to_local

EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_MAX_ROWS = 100_000


def changes_formatter(view, context, model, name):
    """The changes as a small list: field: before → after, in words (all values escaped)."""
    rows = [Markup("<li>{}：<del>{}</del> → {}</li>").format(label, old, new)
            if new is not None else Markup("<li>{}：{}</li>").format(label, old)
            for label, old, new in words.describe(model)]
    if not rows:
        return ""
    return Markup('<ul class="list-unstyled mb-0 small">{}</ul>').format(Markup("").join(rows))


def _object_type_formatter(view, context, model, name):
    return words.object_label(model.object_type)


class _ObjectTypes:
    """The object-type filter's options, read when the page renders (the admin views that
    name them are registered after this one)."""

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(sorted(((k, str(v)) for k, v in words.object_choices().items()),
                           key=lambda pair: pair[1]))


class AuditView(ScopedModelView):
    """Who changed, exported, imported or signed in to what, and when.

    Row scope by the record's circle: a leader reads the records of the circles they
    oversee; records without a circle (sign-ins, accounts, reference data) stay with the
    administrators. Append-only: nothing is created, edited or deleted here.
    """

    capability = Cap.SEE_AUDIT_LOG
    can_create = can_edit = can_delete = False
    can_export = False  # exported by :meth:`download`, in words, through circle.spreadsheet
    list_template = "circle/audit_list.html"
    column_list = ("created_at", "actor_name", "action", "object_type", "object_id",
                   "object_repr", "changes", "remote_addr")
    column_searchable_list = ("object_repr", "actor_name", "object_id")
    column_filters = (
        choice_filter(AuditRecord.action, _l("Kind"), words.ACTION_LABELS),
        "object_type",
        "object_id",
        "actor_name",
        "created_at",
    )
    column_formatters = {"action": lambda v, c, m, n: words.ACTION_LABELS.get(m.action,
                                                                              m.action),
                         "object_type": _object_type_formatter,
                         "changes": changes_formatter}
    column_formatters_detail = column_formatters
    column_labels = {
        "created_at": _l("Time"),
        "actor_name": _l("By"),
        "action": _l("Kind"),
        "object_type": _l("Object type"),
        "object_id": _l("Object id"),
        "object_repr": _l("Object"),
        "changes": _l("Changes"),
        "remote_addr": _l("IP address"),
        "circle_id": _l("Business circle"),
    }

    def get_filters(self):
        filters = super().get_filters()
        for flt in filters or ():
            # The object type is offered in words, not as table names.
            if getattr(flt, "column", None) is AuditRecord.object_type.property.columns[0] \
                    and hasattr(flt, "options") and flt.options is None:
                flt.options = _ObjectTypes()
        return filters

    def _filtered_query(self):
        """The rows the list shows now (its filters, search and sort), unpaged."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, args.sort_desc,
                                      args.search, args.filters, execute=False, page_size=0)
        return query.limit(EXPORT_MAX_ROWS)

    @expose("/download/<file_format>")
    def download(self, file_format: str):
        """The list as it is filtered now, as CSV or XLSX, in words (the export is logged)."""
        if file_format not in EXPORT_FORMATS:
            abort(404)
        query = self._filtered_query()
        header = [str(self.column_labels[c]) for c in self.column_list]
        record("export", "audit_record", actor=current_user._get_current_object(),
               object_repr=str(_("Activity log")),
               changes={"format": file_format, "query": request.query_string.decode()[:200]})
        from circle.extensions import db

        db.session.commit()

        def rows():
            for entry in query.yield_per(1000):
                yield [to_local(entry.created_at).replace(tzinfo=None)
                       if file_format == "xlsx" else format_local(entry.created_at),
                       entry.actor_name, str(words.ACTION_LABELS.get(entry.action,
                                                                     entry.action)),
                       words.object_label(entry.object_type), entry.object_id,
                       entry.object_repr, words.describe_text(entry), entry.remote_addr]

        stamp = datetime.now().strftime("%Y-%m-%d")
        name = f"{_('Activity log')}_{stamp}.{file_format}"
        from circle.reports.exporting import CONTENT_TYPES, content_disposition

        if file_format == "xlsx":
            kinds = [spreadsheet.DATETIME] + [spreadsheet.TEXT] * (len(header) - 1)
            body = spreadsheet.xlsx_stream(rows(), title=_("Activity log"), header=header,
                                           kinds=kinds, widths=[18, 14, 10, 14, 10, 24, 60, 16])
        else:
            body = _csv(header, rows())
        response = Response(stream_with_context(body), content_type=CONTENT_TYPES[file_format])
        response.headers.set("Content-Disposition", "attachment", **content_disposition(
            name, f"activity-log_{stamp}.{file_format}"))
        return response


def _csv(header, rows):
    """UTF-8 CSV with a BOM, every cell guarded against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(spreadsheet.safe_row(header))
    for n, row in enumerate(rows, 1):
        writer.writerow(spreadsheet.safe_row(row))
        if n % 1000 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def register(admin, db):
    admin.add_view(AuditView(AuditRecord, db, name=_l("Activity log"),
                             category=_l("Organisation"), endpoint="audit"))
