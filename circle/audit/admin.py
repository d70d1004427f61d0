"""The audit log in the admin: whoever holds ``Cap.SEE_AUDIT_LOG`` browses and filters it
(all of it: the log is not row-scoped); nobody edits it."""

import json

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from circle.adminkit import ReadOnlyModelView, choice_filter, label_formatter, yes_no
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


#: What was exported or imported, for the records that are not about one row of a table.
OBJECT_TYPE_LABELS = {
    "satisfaction_export": _l("Satisfaction export"),
    "merchant_import": _l("Import merchants"),
    "calendar_import": _l("Import a holiday year"),
}


def _labels_of(view, object_type: str):
    """The name of the table ``object_type`` and its column labels, as the admin shows
    them: from the view that lists it, or the inline form that edits it (a merchant's
    emergency contacts). ``(None, {})`` for a table the admin does not show."""
    for other in view.admin._views:
        if getattr(getattr(other, "model", None), "__tablename__", None) == object_type:
            return other.name, _ViewLabels(other)
        for inline in getattr(other, "inline_models", None) or ():
            if getattr(getattr(inline, "model", None), "__tablename__", None) == object_type:
                return (getattr(inline, "form_label", None) or object_type,
                        getattr(inline, "column_labels", None) or {})
    return None, {}


class _ViewLabels:
    """A model view's column labels as a mapping (its own, then the shared ones)."""

    def __init__(self, view):
        self.view = view

    def get(self, field, default=None):
        return self.view.get_column_name(field)


def object_type_formatter(view, context, model, name):
    """The kind of thing changed, in words: the name of the list it is in."""
    label = OBJECT_TYPE_LABELS.get(model.object_type)
    if label is None:
        label = _labels_of(view, model.object_type)[0] or model.object_type
    return label


def _value_words(value) -> str:
    """A recorded value as people read it: yes/no, a dash for nothing, text as it is."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def changes_formatter(view, context, model, name):
    """Field changes as a small list: the field's label: old → new (all values escaped)."""
    changes = model.changes or {}
    labels = _labels_of(view, model.object_type)[1]
    rows = []
    for field, value in changes.items():
        label = labels.get(field, field)
        if isinstance(value, list) and len(value) == 2 and model.action == "update":
            text = Markup("{} → {}").format(_value_words(value[0]), _value_words(value[1]))
        else:
            text = _value_words(value)
        rows.append(Markup("<li>{}: {}</li>").format(label, text))
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
                         "object_type": object_type_formatter,
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
