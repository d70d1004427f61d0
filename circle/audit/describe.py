"""The activity log in people's words: kinds, objects, fields and values as labels.

A record stores codes (``accept``, ``on_site``, ``True``, ISO times); the log page and its
export show them through :func:`describe`: the field's label (taken from the admin view
that edits the model, or a common label), the choice words of coded values, 是/否 for
booleans and local times for timestamps. Nothing here changes a record.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import current_app

from circle import labels as L
from circle.audit.models import AuditAction
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l

ACTION_LABELS = {
    AuditAction.CREATE: _l("Created"),
    AuditAction.UPDATE: _l("Changed"),
    AuditAction.DELETE: _l("Deleted"),
    AuditAction.EXPORT: _l("Exported"),
    AuditAction.IMPORT: _l("Imported"),
    AuditAction.API: _l("API call"),
    AuditAction.STEP: _l("Workflow step"),
    AuditAction.LOGIN: _l("Signed in"),
    AuditAction.LOGOUT: _l("Signed out"),
    AuditAction.LOGIN_FAILED: _l("Failed sign-in"),
}

#: Objects that have no admin view of their own (the others take the view's name).
OBJECT_LABELS = {
    "issue": _l("Issue"),
    "user": _l("User account"),
    "api_call": _l("API call"),
    "api_token": _l("API token"),
    "satisfaction_export": _l("Satisfaction export"),
    "merchant_import": _l("Merchant import"),
    "calendar_import": _l("Holiday calendar import"),
    "merchant_link": _l("Merchant's report link"),
}

#: Labels of fields that many records carry (a view's own column labels come first).
FIELD_LABELS = {
    "step": _l("Step"),
    "status": _l("Status"),
    "level": _l("Level"),
    "note": _l("Note"),
    "username": _l("Username"),
    "name": _l("Name"),
    "active": _l("Active"),
    "severity": _l("Severity"),
    "role": _l("Role"),
    "rating": _l("Satisfaction"),
    "method": _l("Method"),
    "path": _l("Address"),
    "query": _l("Query"),
    "token": _l("API token"),
    "rows": _l("Rows"),
    "created": _l("Created"),
    "updated": _l("Changed"),
    "filename": _l("File"),
    "password_hash": _l("Password"),
    "description": _l("Description"),
    "phone": _l("Phone"),
    "display_name": _l("Display name"),
    "shop_name": _l("Shop name"),
    "owner_name": _l("Owner"),
    "address": _l("Address"),
    "circle": _l("Business circle"),
    "community": _l("Community"),
    "merchant": _l("Merchant"),
    "category": _l("Category"),
    "source": _l("Source"),
    "work_order_no": _l("12345 work-order no."),
    "assignee": _l("Assigned to"),
    "relation": _l("Relation"),
    "priority": _l("Priority"),
    "sort_order": _l("Sort order"),
    "kind": _l("Kind"),
    "format": _l("Format"),
}


def _choice_words() -> dict:
    """Coded fields and the words of their values."""
    from circle.issues.steps import EVENT_LABELS

    return {
        "step": EVENT_LABELS,
        "status": L.STATUS_LABELS,
        "level": L.LEVEL_LABELS,
        "highest_level": L.LEVEL_LABELS,
        "severity": L.SEVERITY_LABELS,
        "role": L.ROLE_LABELS,
        "rating": L.RATING_LABELS,
        "contact_channel": L.CONTACT_CHANNEL_LABELS,
        "channel": L.CONTACT_CHANNEL_LABELS,
    }


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _registry() -> dict:
    """{table: (object label, {field: label})} from the app's admin views, built once."""
    cached = current_app.extensions.get("circle_audit_labels")
    if cached is not None:
        return cached
    found: dict = {}
    for admin in current_app.extensions.get("admin", []):
        for view in getattr(admin, "_views", []):
            model = getattr(view, "model", None)
            table = getattr(model, "__tablename__", None)
            if table is not None and table not in found:
                found[table] = (view.name, dict(getattr(view, "column_labels", None) or {}))
    # Rows edited inside another's form (a merchant's emergency contacts), by that form.
    for admin in current_app.extensions.get("admin", []):
        for view in getattr(admin, "_views", []):
            for inline in getattr(view, "inline_models", None) or ():
                table = getattr(getattr(inline, "model", None), "__tablename__", None)
                if table is not None and table not in found:
                    found[table] = (getattr(inline, "form_label", None) or table,
                                    dict(getattr(inline, "column_labels", None) or {}))
    current_app.extensions["circle_audit_labels"] = found
    return found


def object_label(object_type: str) -> str:
    """The kind of object a record is about, in words."""
    if object_type in OBJECT_LABELS:
        return str(OBJECT_LABELS[object_type])
    entry = _registry().get(object_type)
    return str(entry[0]) if entry else object_type


def object_choices() -> dict:
    """Every object type a record may name, with its words (for the filter)."""
    choices = {table: name for table, (name, _fields) in _registry().items()}
    choices.update(OBJECT_LABELS)
    return choices


def field_label(object_type: str, field: str) -> str:
    """A field's label: the editing view's own, else a common one (``circle_id`` is labelled
    as its relation ``circle``)."""
    entry = _registry().get(object_type)
    labels = entry[1] if entry else {}
    for name in (field, field.removesuffix("_id")):
        if name in labels:
            return str(labels[name])
        if name in FIELD_LABELS:
            return str(FIELD_LABELS[name])
    # A column nobody labels: its name made readable.
    return field.removesuffix("_id").replace("_", " ")


def _labelled(object_type: str, field: str) -> bool:
    entry = _registry().get(object_type)
    labels = entry[1] if entry else {}
    return any(name in labels or name in FIELD_LABELS
               for name in (field, field.removesuffix("_id")))


def value_text(field: str, value) -> str:
    """One stored value as people read it."""
    from circle.timeutil import format_local

    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    words = _choice_words().get(field)
    if words is not None and value in words:
        return str(words[value])
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        if set(value) <= {"added", "removed"}:
            parts = []
            if value.get("added"):
                parts.append(_("added: %(items)s", items="、".join(map(str, value["added"]))))
            if value.get("removed"):
                parts.append(_("removed: %(items)s",
                               items="、".join(map(str, value["removed"]))))
            return "；".join(parts) or "—"
        return "；".join(f"{k}={v}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return "、".join(value_text(field, item) for item in value)
    return str(value)


def describe(record) -> list[tuple[str, str, str | None]]:
    """The record's changes as ``(field label, before, after)``; ``after`` is ``None`` when
    the record states a value rather than a change (a creation, a deletion, a call)."""
    rows = []
    for field, value in (record.changes or {}).items():
        if record.action in (AuditAction.CREATE, AuditAction.DELETE) and \
                not _labelled(record.object_type, field):
            continue  # bookkeeping columns of a whole row (tokens, stamps): not for people
        label = field_label(record.object_type, field)
        is_change = (isinstance(value, list) and len(value) == 2
                     and record.action in (AuditAction.UPDATE, AuditAction.STEP)
                     and field not in ("step", "note"))
        if is_change:
            rows.append((label, value_text(field, value[0]), value_text(field, value[1])))
        else:
            rows.append((label, value_text(field, value), None))
    return rows


def describe_text(record) -> str:
    """:func:`describe` as one line of text (for exports)."""
    return "；".join(f"{label}：{old} → {new}" if new is not None else f"{label}：{old}"
                    for label, old, new in describe(record))
