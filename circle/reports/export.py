"""The satisfaction export page: a GET filter form (so the URL can be shared) and the
streamed CSV or XLSX file.

The rows are read by :mod:`circle.reports.export_rows`; the files and the rules behind them
are in :mod:`circle.reports.exporting`. This module checks the filters against what the user
may see, audits the export and streams it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, request, stream_with_context, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional, ValidationError

from circle.accounts.models import User
from circle.adminkit import CircleBaseView, restrict_to_user
from circle.audit.models import AuditAction
from circle.audit.recording import record
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.issues.models import IssueCategory
from circle.labels import SEVERITY_LABELS
from circle.org.models import BusinessCircle, Community
from circle.permissions import Cap
from circle.reports import export_rows, exporting
from circle.timeutil import local_zone, utcnow

# Dates outside these years are typing mistakes (and 9999-12-31 + 1 day overflows).
MIN_YEAR, MAX_YEAR = 2000, 2100


class LocalDateField(DateField):
    """An optional ``YYYY-MM-DD`` day (what a browser's date input sends), with our message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter the date as YYYY-MM-DD, e.g. 2024-06-30.")) from None

    def pre_validate(self, form):
        if self.data and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise ValidationError(_("Choose a date between %(first)d and %(last)d.",
                                    first=MIN_YEAR, last=MAX_YEAR))


def _options(pairs) -> list[tuple[str, str]]:
    """Select options as strings, with "any" first."""
    return [("", _("Any"))] + [(str(value), str(label)) for value, label in pairs]


class ExportForm(FlaskForm):
    """The export filters, read from the query string.

    Every choice is checked against the options offered to this user (communities and
    circles in their scope), each with its own message; anything else is refused, never
    silently widened to "any".
    """

    class Meta:
        # A GET that only reads (and logs that it read): a shareable URL has no token.
        csrf = False

    date_basis = SelectField(_l("Date range applies to"), validate_choice=False,
                             choices=[(exporting.BY_CALLBACK, _l("Callback date")),
                                      (exporting.BY_FIRST_RATING, _l("First rating date")),
                                      (exporting.BY_FINAL_RATING, _l("Final rating date")),
                                      (exporting.BY_REPORTED, _l("Reported date"))],
                             default=exporting.BY_CALLBACK)
    date_from = LocalDateField(_l("From"), validators=[Optional()])
    date_to = LocalDateField(_l("To"), validators=[Optional()])
    community = SelectField(_l("Community"), validate_choice=False)
    circle = SelectField(_l("Business circle"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    severity = SelectField(_l("Severity"), validate_choice=False)
    level = SelectField(_l("Highest level"), validate_choice=False)
    # The final rating (the one in effect), or "unreachable".
    rating = SelectField(_l("Final rating"), validate_choice=False)
    format = SelectField(_l("Format"), validate_choice=False,
                         choices=[("csv", "CSV"), ("xlsx", "XLSX")], default="csv")

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        communities = db.session.scalars(
            restrict_to_user(sa.select(Community), Community, user).order_by(Community.name)
        ).all()
        circles = db.session.execute(
            restrict_to_user(sa.select(BusinessCircle, Community.name), BusinessCircle, user)
            .join(Community, Community.id == BusinessCircle.community_id)
            .order_by(Community.name, BusinessCircle.name)
        ).all()
        categories = db.session.scalars(
            sa.select(IssueCategory).order_by(IssueCategory.sort_order, IssueCategory.name)
        ).all()
        self._circle_community = {str(circle.id): circle.community_id for circle, _n in circles}
        self.community.choices = _options((row.id, row.name) for row in communities)
        # Each circle names its community: two communities may both have a "东街商圈". The
        # page's script shows only the chosen community's circles.
        self.circle.choices = [("", _("Any"))] + [
            (str(circle.id), f"{community_name} · {circle.name}",
             {"data-community": str(circle.community_id)})
            for circle, community_name in circles
        ]
        self.category.choices = _options((row.id, row.name) for row in categories)
        self.severity.choices = _options(SEVERITY_LABELS.items())
        self.level.choices = _options(exporting.level_choices().items())
        self.rating.choices = _options(exporting.rating_choices().items())

    @staticmethod
    def _check_choice(field, message) -> None:
        allowed = {str(choice[0]) for choice in field.choices}
        if (field.data or "") not in allowed:
            raise ValidationError(message)

    def validate_date_basis(self, field):
        self._check_choice(field, _("Choose whether the dates are callback or reported dates."))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date cannot be before the start date."))

    def validate_community(self, field):
        self._check_choice(field, _("Choose a community from the list."))

    def validate_circle(self, field):
        self._check_choice(field, _("Choose a business circle from the list."))
        community = self.community.data
        if field.data and community and str(self._circle_community[field.data]) != community:
            raise ValidationError(_("This business circle is not in the chosen community."))

    def validate_category(self, field):
        self._check_choice(field, _("Choose a category from the list."))

    def validate_severity(self, field):
        self._check_choice(field, _("Choose a severity from the list."))

    def validate_level(self, field):
        self._check_choice(field, _("Choose a level from the list."))

    def validate_rating(self, field):
        self._check_choice(field, _("Choose a rating from the list."))

    def validate_format(self, field):
        if field.data not in exporting.FORMATS:
            raise ValidationError(_("Choose CSV or XLSX."))

    def filters(self) -> exporting.ExportFilters:
        """The validated choices as export filters."""

        def number(field):
            return int(field.data) if field.data else None

        return exporting.ExportFilters(
            date_basis=self.date_basis.data,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            community_id=number(self.community),
            circle_id=number(self.circle),
            category_id=number(self.category),
            severity=self.severity.data or None,
            level=number(self.level),
            rating=self.rating.data or None,
        )


class SatisfactionExportView(CircleBaseView):
    """满意度回访导出 (``Cap.EXPORT``: callback staff and administrators), scoped to what
    the user may see."""

    capability = Cap.EXPORT

    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="reports.js")]

    @expose("/")
    def index(self):
        """The filter form; with ``download`` in the query string, the file itself.

        Invalid filters, or no matching rows, show the form again with a message (200, no
        file). A download is audited before the first byte is sent.
        """
        user = current_user._get_current_object()
        form = ExportForm(request.args, user=user)
        notice = None
        if "download" in request.args and form.validate():
            filters = form.filters()
            zone = local_zone()
            total = export_rows.count_rows(user, filters, zone)
            if not total:
                notice = _("No callbacks match these filters: nothing to export.")
            else:
                return self._download(user, filters, form.format.data, total, zone)
        return self.render("circle/export.html", form=form, notice=notice,
                           zone=str(local_zone()))

    def _download(self, user, filters, file_format, total, zone) -> Response:
        """Audit the export, then stream the file.

        The statement is built and the audit record committed before streaming starts; the
        generator then reads only through :func:`export_rows.iter_rows`'s own connections, so
        the request's session holds no connection while the client downloads.
        """
        stmt = export_rows.export_statement(user, filters, zone)
        record(AuditAction.EXPORT, "satisfaction_export", actor=user,
               remote_addr=request.remote_addr or "",
               object_repr=file_format.upper(),
               changes={"filters": filters.for_audit(), "format": file_format,
                        "rows": total})
        db.session.commit()
        labels = exporting.build_labels()
        batch_size = current_app.config["CIRCLE_EXPORT_BATCH_SIZE"]
        rows = export_rows.iter_rows(stmt, batch_size=batch_size)
        if file_format == "xlsx":
            chunks = exporting.xlsx_chunks(rows, labels, zone)
        else:
            chunks = exporting.csv_chunks(rows, labels, zone, rows_per_chunk=batch_size)
        name, ascii_name = exporting.export_filename(filters, utcnow().astimezone(zone).date(),
                                                     file_format)
        response = Response(stream_with_context(chunks),
                            content_type=exporting.CONTENT_TYPES[file_format])
        response.headers.set("Content-Disposition", "attachment",
                             **exporting.content_disposition(name, ascii_name))
        # Personal data: no shared cache keeps a copy.
        response.headers["Cache-Control"] = "no-store"
        return response
