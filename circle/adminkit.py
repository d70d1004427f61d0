"""Shared building blocks for the admin views: access control, formatting, form checks."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import abort, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterConverter, FilterEqual
from flask_admin.model.filters import convert
from flask_admin.model import typefmt
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms.validators import ValidationError

from circle.accounts.models import Role
from circle.audit.recording import audit_context
from circle.biglists import BigListMixin
from circle.extensions import db
from circle.org.models import BusinessCircle
from circle.timeutil import format_local, local_zone
from circle.permissions import (
    circle_ids_subquery,
    circle_in_scope,
    may_see_full_phone,
    scope_by_circle,
    scope_communities,
)
from circle.validators import (
    InvalidValue,
    mask_phone,
    normalise_credit_code,
    normalise_phone,
)


def _datetime_formatter(view, value, name):
    return format_local(value)


LIST_FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime_formatter}
DETAIL_FORMATTERS = {**typefmt.DETAIL_FORMATTERS, datetime: _datetime_formatter}
EXPORT_FORMATTERS = {**typefmt.EXPORT_FORMATTERS, datetime: _datetime_formatter}


def phone_link(view, context, model, name):
    """A phone number as a ``tel:`` link (one tap dials it), masked for roles that don't
    telephone merchants."""
    phone = getattr(model, name)
    if not phone:
        return ""
    if not may_see_full_phone(current_user):
        return mask_phone(phone)
    return Markup('<a href="tel:{0}">{0}</a>').format(phone)


def label_formatter(labels: dict):
    """A column formatter showing the translated label of a coded value."""

    def formatter(view, context, model, name):
        value = getattr(model, name)
        return labels.get(value, value if value is not None else "")

    return formatter


def _as_local(value):
    """Attach the configured zone to naive datetimes typed into a filter."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=local_zone())
    if isinstance(value, (list, tuple)):
        return type(value)(_as_local(item) for item in value)
    return value


class CircleFilterConverter(FilterConverter):
    """Filters for :class:`~circle.timeutil.UTCDateTime` columns.

    People type local times into date filters; the column stores UTC, so the typed value is
    read in the configured zone before it is compared.
    """

    @convert("utcdatetime")
    def conv_utc_datetime(self, column, name, **kwargs):
        filters = self.conv_datetime(column, name, **kwargs)
        for flt in filters:
            flt.clean = (lambda clean: lambda value: _as_local(clean(value)))(flt.clean)
        return filters


class _RowsAsOptions:
    """Filter options read from a (small) reference table each time a list page renders.

    Flask-Admin caches filter options when the view is built, before any database exists;
    an iterable that queries on iteration keeps the dropdown current — and limited to what
    the signed-in user may see.
    """

    def __init__(self, model, order_by):
        self.model, self.order_by = model, order_by

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        stmt = restrict_to_user(sa.select(self.model), self.model, current_user)
        rows = db.session.scalars(stmt.order_by(self.order_by))
        return iter([(str(row.id), str(row)) for row in rows])


def restrict_to_user(stmt, model, user):
    """Limit a query on circles or communities to those the user works in."""
    from circle.org.models import Community

    if model is BusinessCircle:
        return scope_by_circle(stmt, BusinessCircle.id, user)
    if model is Community:
        return scope_communities(stmt, Community.id, user)
    return stmt


_rows_as_options = _RowsAsOptions


class IdEqualFilter(FilterEqual):
    """Equality on an integer column; anything but digits is ignored, never a 500."""

    def validate(self, value) -> bool:
        return str(value).isdigit()

    def clean(self, value) -> int:
        return int(value)


def related_filter(column, name, model, order_by=None):
    """A dropdown filter on a foreign key, offering the related rows by name."""
    return IdEqualFilter(column, name,
                         options=_rows_as_options(model, order_by or model.name))


def choice_filter(column, name, labels: dict):
    """A dropdown filter on a coded column, offering the translated labels."""
    options = [(str(value), label) for value, label in labels.items()]
    if all(isinstance(value, int) for value in labels):
        return IdEqualFilter(column, name, options=options)

    class ChoiceEqualFilter(FilterEqual):
        def validate(self, value) -> bool:
            return value in labels

    return ChoiceEqualFilter(column, name, options=options)


class CommunityFilter(BaseSQLAFilter):
    """Rows whose circle belongs to the chosen community (no join, so no repeated rows)."""

    def __init__(self, circle_column, name):
        from circle.org.models import Community

        super().__init__(circle_column, name,
                         options=_rows_as_options(Community, Community.name))

    def validate(self, value) -> bool:
        return str(value).isdigit()

    def clean(self, value) -> int:
        return int(value)

    def apply(self, query, value, alias=None):
        circles = sa.select(BusinessCircle.id).where(BusinessCircle.community_id == value)
        return query.filter(self.get_column(alias).in_(circles))

    def operation(self):
        return admin_lazy_gettext("equals")


class Normalised:
    """WTForms validator that replaces the field's data by its normalised form.

    ``normalise`` raises :class:`~circle.validators.InvalidValue` with a translated message;
    an empty value becomes ``empty`` when the field is optional.
    """

    normalise = staticmethod(lambda value: value)

    def __init__(self, optional: bool = False, empty=""):
        self.optional, self.empty = optional, empty

    def __call__(self, form, field):
        if self.optional and not (field.data or "").strip():
            field.data = self.empty
            return
        try:
            field.data = self.normalise(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc.args[0])) from None


class PhoneNumber(Normalised):
    """A mainland mobile or landline number, stored in its canonical form."""

    normalise = staticmethod(normalise_phone)


class CreditCode(Normalised):
    """An optional unified social credit code (empty means none: NULL, not "")."""

    normalise = staticmethod(normalise_credit_code)

    def __init__(self):
        super().__init__(optional=True, empty=None)


class AccessMixin:
    """Login required for every admin page; ``allowed_roles`` narrows it further.

    Anonymous visitors go to the login page; signed-in users without the role get 403.
    """

    allowed_roles: tuple[str, ...] = Role.ALL

    def is_accessible(self) -> bool:
        return (
            current_user.is_authenticated
            and current_user.is_active
            and current_user.role in self.allowed_roles
        )

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class CircleModelView(AccessMixin, BigListMixin, ModelView):
    """Base model view: newest first, local times, details page, fluid pages of 50.

    Lists scale with :class:`~circle.biglists.BigListMixin` (capped counts, lean pages).
    """

    page_size = 50
    can_view_details = True
    can_set_page_size = True
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
    # Which roles may change rows (all roles that may open the view, unless narrowed).
    create_roles: tuple[str, ...] = Role.ALL
    edit_roles: tuple[str, ...] = Role.ALL
    delete_roles: tuple[str, ...] = Role.ALL

    def _role_in(self, roles) -> bool:
        return (has_request_context() and current_user.is_authenticated
                and current_user.role in roles)

    @property
    def can_create(self) -> bool:
        return self._role_in(self.create_roles)

    @property
    def can_edit(self) -> bool:
        return self._role_in(self.edit_roles)

    @property
    def can_delete(self) -> bool:
        return self._role_in(self.delete_roles)

    # Every change made through a model view is written to the audit log, as the signed-in
    # user, including inline rows (emergency contacts) and many-to-many links.
    def _audited(self):
        return audit_context(current_user._get_current_object(), request.remote_addr or "")

    def create_model(self, form):
        with self._audited():
            return super().create_model(form)

    def update_model(self, form, model):
        with self._audited():
            return super().update_model(form, model)

    def delete_model(self, model):
        with self._audited():
            return super().delete_model(model)

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        """Bulk delete, with the row ids made integers first.

        They arrive as strings, and PostgreSQL refuses ``integer IN (varchar)``.
        """
        with self._audited():
            return super().action_delete(tuple(int(i) for i in ids if str(i).isdigit()))


class AdminOnlyModelView(CircleModelView):
    """Reference data and accounts: administrators only."""

    allowed_roles = (Role.ADMIN,)


class ReferenceDataView(AdminOnlyModelView):
    """A list of names an administrator keeps (categories, sources, department kinds)."""

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
        obj = super().get_one(id) if str(id).isdigit() else None
        if obj is not None and not circle_in_scope(current_user, self.circle_id_of(obj)):
            abort(404)
        return obj


class ReadOnlyModelView(CircleModelView):
    """Records written by the workflow: listed and shown, never edited by hand."""

    can_create = False
    can_edit = False
    can_delete = False


class IssueRecordView(ScopedModelView):
    """Read-only records of an issue (visits, symposiums, callbacks), scoped by the issue."""

    can_create = False
    can_edit = False
    can_delete = False

    def scope_clause(self, circles):
        from circle.issues.models import Issue

        return self.model.issue_id.in_(sa.select(Issue.id).where(Issue.circle_id.in_(circles)))

    def circle_id_of(self, obj):
        return obj.issue.circle_id

    def get_query(self):
        # Each row shows its issue, which names its merchant: load both with the page.
        from circle.issues.models import Issue

        return super().get_query().options(
            selectinload(self.model.issue).joinedload(Issue.merchant))


class CircleBaseView(AccessMixin, BaseView):
    """Base for custom (non-model) admin pages."""


class CircleIndexView(AccessMixin, AdminIndexView):
    """The landing page after login."""
