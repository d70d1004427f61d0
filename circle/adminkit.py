"""Shared building blocks for the admin views: access control, formatting, form checks.

Access is asked of the permission table (:func:`circle.permissions.can`): every view names
the capability it needs, never a role.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.model import typefmt
from flask_admin.model.filters import convert
from flask_admin.tools import rec_getattr
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from circle.adminfields import CreditCode, Normalised, PhoneField, PhoneNumber  # noqa: F401
from circle.adminfilters import (  # noqa: F401  (the admin views import them from here)
    LOOKUP_PREFIX,
    LOOKUP_TYPE,
    ClauseFilter,
    CommunityFilter,
    FilterLookup,
    IdEqualFilter,
    RowsAsOptions,
    StreetFilter,
    as_local,
    choice_filter,
    moment_filters,
    related_filter,
    restrict_to_user,
    row_options,
)
from circle.adminrows import fast_row_actions
from circle.audit.recording import audit_context
from circle.biglists import BigListMixin
from circle.filterdata import LookupFiltersMixin
from circle.i18n import current_translations
from circle.i18n import lazy_gettext as _l
from circle.inputs import clean_value, parse_id, parse_int
from circle.permissions import (
    Cap,
    can,
    circle_ids_subquery,
    circle_in_scope,
    may_see_full_phone,
)
from circle.timeutil import format_local
from circle.validators import (
    mask_phone,
)

EDIT_CONFLICT = _l("Someone else changed this record while you were editing it; your "
                   "changes were not saved. Reload the page to see the latest values, "
                   "then make your changes again.")


def _datetime_formatter(view, value, name):
    return format_local(value)


def yes_no(value) -> str:
    """A boolean in words (是 / 否), never ``True``/``False``."""
    return str(_l("Yes") if value else _l("No"))


def _bool_icon_formatter(view, value, name):
    # Flask-Admin's own writes the column's code and true/false into the tooltip. The two
    # icons are rendered once per request (a list shows one per row).
    return Markup(translated(_BOOL_ICONS)[bool(value)])


class _BoolIcon:
    """A yes/no icon whose words are translated when it is made into text."""

    def __init__(self, value: bool):
        self.value = value

    def __str__(self):
        icon = "fa-check-circle" if self.value else "fa-minus-circle"
        return Markup('<span class="fa %s" title="%s" aria-label="%s"></span>') % (
            icon, yes_no(self.value), yes_no(self.value))


_BOOL_ICONS = {True: _BoolIcon(True), False: _BoolIcon(False)}


def _bool_text_formatter(view, value, name):
    return yes_no(value)


LIST_FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime_formatter,
                   bool: _bool_icon_formatter}
DETAIL_FORMATTERS = {**typefmt.DETAIL_FORMATTERS, datetime: _datetime_formatter,
                     bool: _bool_text_formatter}
EXPORT_FORMATTERS = {**typefmt.EXPORT_FORMATTERS, datetime: _datetime_formatter,
                     bool: _bool_text_formatter}


def phone_html(phone: str | None):
    """A phone number as a ``tel:`` link (one tap dials it), or masked (138****5678) for a
    user without :attr:`~circle.permissions.Cap.SEE_FULL_PHONE`."""
    if not phone:
        return ""
    if not _sees_full_phones():
        return mask_phone(phone)
    phone = escape(phone)
    return Markup(f'<a href="tel:{phone}">{phone}</a>')


def _sees_full_phones() -> bool:
    """:func:`~circle.permissions.may_see_full_phone` for the signed-in user, asked once per
    request (a merchant list shows a hundred numbers)."""
    if not has_request_context():
        return may_see_full_phone(current_user)
    user = current_user._get_current_object()
    cache = g.setdefault("circle_full_phones", {})
    key = getattr(user, "id", None)
    if key not in cache:
        cache[key] = may_see_full_phone(user)
    return cache[key]


def phone_link(view, context, model, name):
    """Column formatter: the phone number in column ``name``, see :func:`phone_html`."""
    return phone_html(getattr(model, name))


def translated(labels: dict) -> dict:
    """``labels`` (values to lazy strings) translated once per request: a list shows a
    label in every row, and each lazy string would look the translation up again."""
    cache = g.setdefault("circle_translated_labels", {})
    # The catalogue in use stands for the locale (get_locale() and str() of it cost more).
    key = (id(labels), id(current_translations()))
    found = cache.get(key)
    if found is None or found[0] is not labels:
        found = cache[key] = (labels, {value: str(text) for value, text in labels.items()})
    return found[1]


def label_formatter(labels: dict):
    """A column formatter showing the translated label of a coded value."""

    def formatter(view, context, model, name):
        value = getattr(model, name)
        return translated(labels).get(value, value if value is not None else "")

    return formatter


#: An id no row has, put in a URL built once and replaced by each row's id (:func:`row_url`).
_ROW_ID_PLACEHOLDER = 918273645


def row_url(endpoint: str, arg: str, row_id: int) -> str:
    """``url_for(endpoint, **{arg: row_id})``, built once per request for a whole list:
    ``url_for`` per row was a tenth of a list page."""
    cache = g.setdefault("circle_row_urls", {})
    pattern = cache.get((endpoint, arg))
    if pattern is None:
        pattern = cache[(endpoint, arg)] = url_for(endpoint, **{arg: _ROW_ID_PLACEHOLDER})
    return pattern.replace(str(_ROW_ID_PLACEHOLDER), str(int(row_id)), 1)


class CircleFilterConverter(FilterConverter):
    """Filters for :class:`~circle.timeutil.UTCDateTime` columns.

    People type local times into date filters; the column stores UTC, so the typed value is
    read in the configured zone before it is compared.
    """

    @convert("utcdatetime")
    def conv_utc_datetime(self, column, name, **kwargs):
        filters = self.conv_datetime(column, name, **kwargs)
        for flt in filters:
            flt.clean = (lambda clean: lambda value: as_local(clean(value)))(flt.clean)
        return filters


class AccessMixin:
    """Login required for every admin page, and the view's ``capability``.

    Anonymous visitors go to the login page; signed-in users without the capability (see
    :data:`circle.permissions.PERMISSIONS`) get 403. Which rows they then see is row scope,
    a separate question (:class:`ScopedModelView`).
    """

    #: The capability needed to open the view (and to see it in the menu).
    capability: Cap = Cap.SEE_DASHBOARD

    def is_accessible(self) -> bool:
        # The user itself, not the proxy: the menu asks this of every view on every page,
        # and each attribute read through ``current_user`` resolves the proxy again.
        return can(current_user._get_current_object(), self.capability)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class CircleModelView(AccessMixin, LookupFiltersMixin, BigListMixin, ModelView):
    """Base model view: newest first, local times, details page, fluid pages of 50.

    Lists scale with :class:`~circle.biglists.BigListMixin` (capped counts, lean pages).
    """

    page_size = 50
    can_view_details = True
    can_set_page_size = True
    # Stock's list with lean rows (one call per row for its cells, see the template).
    list_template = "admin/model/circle_list.html"
    column_default_sort = ("id", True)
    column_type_formatters = LIST_FORMATTERS
    column_type_formatters_detail = DETAIL_FORMATTERS
    column_type_formatters_export = EXPORT_FORMATTERS
    # Edit and create on their own pages: modals are cramped on a phone.
    create_modal = False
    edit_modal = False
    filter_converter = CircleFilterConverter()
    # The built-in export copies every row unmasked and unescaped for spreadsheets; exports
    # are dedicated, audited views instead.
    can_export = False
    # The capabilities needed to change rows; ``None`` is the view's own ``capability``.
    # A view that never allows a change sets ``can_create = False`` (etc.) instead.
    create_capability: Cap | None = None
    edit_capability: Cap | None = None
    delete_capability: Cap | None = None

    def get_filters(self):
        """The view's filters, each refusing a value it cannot compare to its column.

        Flask-Admin's own filters accept what ``int()``, ``float()`` or a date parser
        accept; the database then refuses what its column cannot hold (a number past
        32 bits, NUL). Such a value is now an invalid filter value, flashed and ignored.
        """
        filters = super().get_filters()
        for flt in filters or ():
            _guard_filter(flt)
        return filters

    def _get_list_extra_args(self):
        """Page, page size, sort and direction read as ASCII integers within range.

        Flask-Admin reads them with ``int()``: a negative page, ``１２`` or 2⁶⁴ reached
        the database as an OFFSET. An unreadable value counts as absent.
        """
        args = super()._get_list_extra_args()
        args.page = parse_int(request.args.get("page"), minimum=0) or 0
        size = parse_int(request.args.get("page_size"), minimum=0) or 0
        args.page_size = size if size in self.page_size_options else 0
        args.sort = parse_int(request.args.get("sort"), minimum=0)
        args.sort_desc = request.args.get("desc") == "1"
        return args

    def get_sortable_columns(self):
        """The sortable columns, without those no database can order by (JSON, binary):
        a column not here gets no sort link in the list's header."""
        columns = super().get_sortable_columns()
        return {name: column for name, column in columns.items()
                if not isinstance(getattr(column, "type", None), _UNORDERABLE_TYPES)}

    #: Labels of columns many models share, for views that do not name them.
    common_column_labels = {"created_at": _l("Created at"), "updated_at": _l("Updated at"),
                            "active": _l("Active")}

    def get_column_name(self, field: str) -> str:
        """The column's label: the view's own, else a shared one, else Flask-Admin's
        prettified field name (English: every shown column should have a label)."""
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        if field in self.common_column_labels:
            return self.common_column_labels[field]
        return super().get_column_name(field)

    def _get_column_by_idx(self, idx):
        # A column index past the list, or of a column that is not sortable, is read as no
        # sort asked: the list keeps its default order (Flask-Admin dropped every ORDER BY
        # for an unsortable column, so rows came in whatever order the database chose).
        if idx is None or not 0 <= idx < len(self._list_columns):
            return None
        column = super()._get_column_by_idx(idx)
        if column is None or column[0] not in self._sortable_columns:
            return None
        return column

    def init_actions(self) -> None:
        """Every bulk action receives the selected rows' ids as integers, the rest dropped.

        The ids arrive as strings: PostgreSQL refuses ``integer IN (varchar)``, and a value
        ``int()`` or the column cannot hold would answer 500.
        """
        super().init_actions()
        for name, (handler, text, desc) in list(self._actions_data.items()):
            self._actions_data[name] = (
                (lambda handler: lambda ids: handler(valid_ids(ids)))(handler), text, desc)

    @pass_context
    def list_row_values(self, context, model) -> list[tuple[str, object]]:
        """Each list column's name and the value shown for ``model``, as stock's
        ``_get_list_value`` gives them (the column's formatter, else its value; a choice's
        label; else the type formatter of the value), in one call per row.

        Stock looks each cell's formatter up again and tries every type formatter in turn;
        here each column's way to its value is decided once (:meth:`_list_cells`) and the
        type formatter once per type of value.
        """
        cells, by_type, _opens = self._list_cells()
        values = []
        for name, formatter, choices_map in cells:
            if formatter is not None:
                value = formatter(self, context, model, name)
            else:
                value = rec_getattr(model, name)
            if choices_map:
                values.append((name, choices_map.get(value) or value))
                continue
            kind = type(value)
            type_formatter = by_type.get(kind, _UNKNOWN)
            if type_formatter is _UNKNOWN:
                type_formatter = by_type[kind] = next(
                    (fmt for typeobj, fmt in self.column_type_formatters.items()
                     if isinstance(value, typeobj)), None)
            values.append((name, value if type_formatter is None
                           else type_formatter(self, value, name)))
        return values

    @pass_context
    def list_row_html(self, context, row, pk, checkbox: bool, row_actions) -> Markup:
        """A list row's cells as the template wrote them (checkbox, icons, one ``<td>`` per
        column), built in Python: the template loop cost more than the values.

        Each value is escaped once and the row joined as plain text, made :class:`Markup`
        once: ``Markup % …`` and ``Markup.join`` wrap and re-check every piece, which
        cost a fifth of a merchant page.
        """
        parts = []
        if checkbox:
            parts.append('<td>\n    <input type="checkbox" name="rowid" class="action-checkbox"'
                         f' value="{escape(pk)}" title="{escape(translated(_ROW_TEXTS)["select"])}"'
                         ' />\n</td>')
        if self.column_display_actions:
            icons = "".join([action.render(context, pk, row) for action in row_actions])
            parts.append(f'<td class="list-buttons-column">{icons}</td>')
        opens = self._list_cells()[2]
        values = self.list_row_values(context, row)
        parts.extend([f"{opened}{escape(value)}</td>"
                      for opened, (_name, value) in zip(opens, values, strict=True)])
        return Markup("\n".join(parts))

    def _list_cells(self) -> tuple[list, dict, list[str]]:
        """``(name, column formatter or None, choices map or None)`` per list column, the
        type formatters found so far by type, and each column's opening ``<td>`` (escaped
        once), kept while the view's columns stay."""
        key = (self._list_columns, self.column_formatters, self.column_type_formatters)
        cached = getattr(self, "_circle_list_cells", None)
        if cached is None or cached[0] is not key[0] or cached[1] is not key[1] \
                or cached[2] is not key[2]:
            formatters = self.column_formatters or {}
            cells = [(name, formatters.get(name), self._column_choices_map.get(name))
                     for name, _label in self._list_columns]
            opens = [f'<td class="col-{escape(name)}">' for name, _label in self._list_columns]
            cached = self._circle_list_cells = (*key, cells, {}, opens)
        return cached[3], cached[4], cached[5]

    def get_list_row_actions(self):
        """The row icons, rendered without a template macro per row
        (:func:`fast_row_actions`)."""
        return fast_row_actions(super().get_list_row_actions())

    def get_one(self, id):
        """The row with this id, or ``None`` (404) for anything that is not an id."""
        number = parse_id(id)
        return None if number is None else super().get_one(str(number))

    def _may(self, capability: Cap | None) -> bool:
        return has_request_context() and can(current_user, capability or self.capability)

    @property
    def can_create(self) -> bool:
        return self._may(self.create_capability)

    @property
    def can_edit(self) -> bool:
        return self._may(self.edit_capability)

    @property
    def can_delete(self) -> bool:
        return self._may(self.delete_capability)

    # Every change made through a model view is written to the audit log, as the signed-in
    # user, including inline rows (emergency contacts) and many-to-many links.
    def _audited(self):
        return audit_context(current_user._get_current_object(), request.remote_addr or "")

    def create_model(self, form):
        with self._audited():
            return super().create_model(form)

    # --- optimistic locking: the edit form carries the row version the person saw --------

    def _versioned(self) -> bool:
        return "version" in sa.inspect(self.model).columns

    def scaffold_form(self):
        form_class = super().scaffold_form()
        if self._versioned():
            # The version is compared, never typed: a hidden field, not a form column.
            if hasattr(form_class, "version"):
                delattr(form_class, "version")
            form_class.row_version = HiddenField()
        return form_class

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if "row_version" in form and obj is not None and request.method == "GET":
            form.row_version.data = obj.version  # the row as this page shows it
        return form

    def update_model(self, form, model):
        """Save, unless someone else saved the row since this form was shown."""
        if "row_version" in form and self._versioned():
            seen = parse_int(form.row_version.data, minimum=1)
            if seen != model.version:
                flash(EDIT_CONFLICT, "error")
                return False
        with self._audited():
            return super().update_model(form, model)

    def handle_view_exception(self, exc) -> bool:
        # The row changed between loading and saving (its UPDATE matched no row).
        if isinstance(exc, StaleDataError):
            flash(EDIT_CONFLICT, "error")
            return True
        return super().handle_view_exception(exc)

    def get_list_columns(self):
        return [c for c in super().get_list_columns() if c[0] != "version"]

    def get_details_columns(self):
        return [c for c in super().get_details_columns() if c[0] != "version"]

    def delete_model(self, model):
        with self._audited():
            return super().delete_model(model)

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        """Bulk delete, written to the audit log (the ids are integers: ``init_actions``)."""
        with self._audited():
            return super().action_delete(ids)


#: Words of every list row, translated once per page.
_ROW_TEXTS = {"select": admin_lazy_gettext("Select record")}

#: A type formatter not looked up yet (``None`` means the type has none).
_UNKNOWN = object()

_UNORDERABLE_TYPES = (sa.JSON, sa.LargeBinary, sa.ARRAY)


def valid_ids(ids) -> tuple[int, ...]:
    """The ids among ``ids`` (strings from a form), as integers; the rest is dropped."""
    return tuple(number for number in map(parse_id, ids) if number is not None)


def _guard_filter(flt) -> None:
    """Make ``flt.validate`` also refuse values whose cleaned form the database refuses."""
    validate = flt.validate

    def guarded(value) -> bool:
        if not isinstance(value, str) or not clean_value(value) or not validate(value):
            return False
        try:
            return clean_value(flt.clean(value))
        except (ValueError, TypeError, ArithmeticError):
            return False

    flt.validate = guarded


class AdminOnlyModelView(CircleModelView):
    """Administration of city-wide tables (organisation, reference data, accounts, tokens).

    Not row-scoped: whoever holds the view's capability sees every row. Each subclass names
    its capability; the default is :attr:`~circle.permissions.Cap.ADMINISTER_ORGANISATION`.
    """

    capability = Cap.ADMINISTER_ORGANISATION


class ReferenceDataView(AdminOnlyModelView):
    """A list of names an administrator keeps (categories, sources, department kinds)."""

    capability = Cap.ADMINISTER_REFERENCE_DATA

    column_list = ("name", "sort_order", "active")
    column_default_sort = ("sort_order", False)
    form_columns = ("name", "sort_order", "active")
    column_labels = {"name": _l("Name"), "sort_order": _l("Sort order"), "active": _l("Active")}


class ScopedModelView(CircleModelView):
    """Rows limited to the signed-in user's business circles or community.

    Applied to the list, its count, every single-row load (details, edit, delete — Flask-Admin
    loads those by primary key, bypassing ``get_query``) and bulk actions, which go through
    ``get_query``. A row outside the scope answers 404, as if it did not exist.
    """

    #: Name of the column holding the row's business circle (or override ``scope_clause``
    #: and ``circle_id_of``). A name, not the attribute: a mapped attribute stored on the view
    #: class would act as a descriptor on the view itself.
    scope_column: str = "circle_id"

    def scope_clause(self, circles):
        return getattr(self.model, self.scope_column).in_(circles)

    def circle_id_of(self, obj) -> int | None:
        return getattr(obj, self.scope_column)

    def _scoped(self, query):
        circles = circle_ids_subquery(current_user)
        return query if circles is None else query.filter(self.scope_clause(circles))

    def get_query(self):
        return self._scoped(super().get_query())

    def get_count_query(self):
        return self._scoped(super().get_count_query())

    def get_one(self, id):
        obj = super().get_one(id)
        if obj is not None and not circle_in_scope(current_user, self.circle_id_of(obj)):
            abort(404)
        return obj


class ReadOnlyModelView(CircleModelView):
    """Records listed and shown, never edited by hand (whatever the capabilities)."""

    can_create = False
    can_edit = False
    can_delete = False


class IssueRecordView(ScopedModelView):
    """Read-only records of an issue (visits, symposiums, callbacks, timeline events),
    scoped by the issue's circle."""

    capability = Cap.SEE_ISSUES
    can_create = False
    can_edit = False
    can_delete = False

    def scope_clause(self, circles):
        from circle.issues.models import Issue

        return self.model.issue_id.in_(sa.select(Issue.id).where(Issue.circle_id.in_(circles)))

    def circle_id_of(self, obj):
        return obj.issue.circle_id

    def get_query(self):
        # Each row shows its issue, which names its merchant: joined to the page's rows
        # (read by their keys, see circle/biglists.py, so an OFFSET never joins).
        from circle.issues.models import Issue

        return super().get_query().options(
            joinedload(self.model.issue).joinedload(Issue.merchant))


class CircleBaseView(AccessMixin, BaseView):
    """Base for custom (non-model) admin pages; each names its ``capability``."""


class CircleIndexView(AccessMixin, AdminIndexView):
    """The landing page after login (:attr:`~circle.permissions.Cap.SEE_DASHBOARD`)."""
