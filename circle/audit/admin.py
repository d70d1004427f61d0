"""The audit log in the admin: whoever holds ``Cap.SEE_AUDIT_LOG`` browses and filters it
(all of it: the log is not row-scoped); nobody edits it."""

import json

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from circle.adminkit import ReadOnlyModelView, choice_filter, label_formatter
from circle.audit.models import AuditRecord
from circle.permissions import Cap

ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "export": _l("Exported"),
    "import": _l("Imported"),
    "api": _l("API call"),
}


def changes_formatter(view, context, model, name):
    """Field changes as a small list: field: old → new (all values escaped)."""
    changes = model.changes or {}
    rows = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2 and model.action == "update":
            text = Markup("{} → {}").format(json.dumps(value[0], ensure_ascii=False),
                                            json.dumps(value[1], ensure_ascii=False))
        else:
            text = json.dumps(value, ensure_ascii=False)
        rows.append(Markup("<li><code>{}</code>: {}</li>").format(field, text))
    if not rows:
        return ""
    return Markup('<ul class="list-unstyled mb-0 small">{}</ul>').format(Markup("").join(rows))


class AuditView(ReadOnlyModelView):
    """Who changed, exported or imported what, and when."""

    capability = Cap.SEE_AUDIT_LOG
    can_export = False
    column_list = ("created_at", "actor_name", "action", "object_type", "object_id",
                   "object_repr", "changes", "remote_addr")
    column_searchable_list = ("object_repr", "actor_name", "object_id")
    column_filters = (
        choice_filter(AuditRecord.action, _l("Action"), ACTION_LABELS),
        "object_type",
        "actor_name",
        "created_at",
    )
    column_formatters = {"action": label_formatter(ACTION_LABELS),
                         "changes": changes_formatter}
    column_formatters_detail = column_formatters
    column_labels = {
        "created_at": _l("Time"),
        "actor_name": _l("By"),
        "action": _l("Action"),
        "object_type": _l("Object type"),
        "object_id": _l("Object id"),
        "object_repr": _l("Object"),
        "changes": _l("Changes"),
        "remote_addr": _l("IP address"),
    }


def register(admin, db):
    admin.add_view(AuditView(AuditRecord, db, name=_l("Audit log"),
                             category=_l("Organisation"), endpoint="audit"))
